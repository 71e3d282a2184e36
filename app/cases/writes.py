"""Rows the handlers of a case command write at its end: one statement per kind, not per case.

The deadline worker fires 20 cases in one transaction. Written as each handler ran, every case
cost four round trips (engine state, task index row, escalation, notification), the larger part
of the worker's time per case. The handlers now add those rows here and the batch writes each
kind in one statement just before its audit events are chained: four statements per batch.
An officer's command writes its own at the end of its session (``CaseSession.commit``), so its
statement count is unchanged.

Only writes that nothing reads back inside the same command are deferred: the engine state (its
version check still fails the whole command with 409), new task index rows (the aggregate's
``open_tasks`` already holds them), escalation levels, escalation records with their notices,
and outbox rows. The order of the kinds follows the foreign keys: an escalation before the
notices that point to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import audit
from app.cases import register_counts
from app.db import insert_rows, is_sqlite
from app.errors import Conflict
from app.tables import Task, WorkflowState

ESCALATION_COLUMNS = (
    "case_id", "case_folio", "task_id", "task_bpmn_id", "plazo_id", "level",
    "authority_id", "estado", "due_at", "level_due_at", "fired_at", "legal_source",
)  # fmt: skip
NOTIFICATION_COLUMNS = (
    "user_id", "kind", "escalation_id", "case_folio", "task_id", "task_bpmn_id",
    "plazo_id", "level", "due_at", "created_at", "read_at",
)  # fmt: skip
OUTBOX_COLUMNS = ("kind", "payload", "created_at", "sent_at", "attempts", "last_error")


@dataclass
class StateWrite:
    case_id: int
    state: str
    version: int  # the new version; the row must still hold version - 1
    next_due_at: datetime | None
    updated_at: datetime
    #: the route version the state runs on (a migration changes it)
    spec_version: str = ""


@dataclass
class PendingEscalation:
    """A deadline level to record once. Its id is known only after the insert, so the notices,
    the audit event's ``escalation_id`` and the outbox payload are completed then; a replay
    (the row exists) records nothing and its audit event is dropped."""

    case_id: int
    row: tuple[Any, ...]  # ESCALATION_COLUMNS
    #: NOTIFICATION_COLUMNS without escalation_id, one per recipient
    notices: list[tuple[Any, ...]]
    event: audit.PendingEvent
    outbox_kind: str | None = None
    outbox_payload: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.row[2], self.row[4], self.row[5])


@dataclass
class RegisterRow:
    """A deadline register row to insert (``ON CONFLICT (deadline_key) DO NOTHING``)."""

    key: str
    case_id: int
    case_folio: str
    plazo_id: str
    task_id: str | None
    task_bpmn_id: str | None
    authority_id: int | None
    estado: str | None
    legal_source: str | None
    start_event: str | None
    started_at: datetime | None
    armed_at: datetime | None
    backdated: bool
    due_at: datetime
    calendario: str | None
    now: datetime

    def values(self) -> tuple[Any, ...]:  # REGISTER_COLUMNS
        return (
            self.case_id, self.case_folio, self.key, self.plazo_id, self.task_id,
            self.task_bpmn_id, self.authority_id, self.estado, self.legal_source,
            self.start_event, self.started_at, self.armed_at, self.backdated, self.due_at,
            self.calendario, "running", 0, self.now,
        )  # fmt: skip


REGISTER_COLUMNS = (
    "case_id", "case_folio", "deadline_key", "plazo_id", "task_id", "task_bpmn_id",
    "authority_id", "estado", "legal_source", "start_event", "started_at", "armed_at",
    "backdated", "due_at", "calendario", "status", "levels_reached", "updated_at",
)  # fmt: skip


@dataclass
class CaseWrites:
    """What one command (one case, or a worker's batch of cases) still has to write."""

    states: list[StateWrite] = field(default_factory=list)
    task_rows: list[tuple[Any, ...]] = field(default_factory=list)
    task_row_suffix: str = ""
    levels: list[tuple[str, int]] = field(default_factory=list)  # (task_id, level)
    escalations: list[PendingEscalation] = field(default_factory=list)
    #: the deadline register (app/cases/handlers/deadline_register.py)
    register_rows: list[RegisterRow] = field(default_factory=list)
    register_levels: list[tuple[str, int, int | None, datetime]] = field(default_factory=list)
    register_due: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    #: (key, at, outcome, reason, status if it was still running, due)
    register_stops: list[tuple[str, datetime, str, str | None, str, datetime | None]] = field(
        default_factory=list
    )
    #: case id -> escalations actually recorded by the last flush
    recorded: dict[int, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.states
            or self.task_rows
            or self.levels
            or self.escalations
            or self.register_rows
            or self.register_levels
            or self.register_due
            or self.register_stops
        )

    async def flush(self, events: list[audit.PendingEvent]) -> None:
        """Write everything pending, in foreign-key order; ``events`` is the command's audit
        list (a replayed escalation's event is removed from it). Raises ``Conflict`` when a
        case's state changed under the command."""
        states, self.states = self.states, []
        task_rows, self.task_rows = self.task_rows, []
        levels, self.levels = self.levels, []
        escalations, self.escalations = self.escalations, []
        rows, self.register_rows = self.register_rows, []
        reg_levels, self.register_levels = self.register_levels, []
        reg_due, self.register_due = self.register_due, []
        reg_stops, self.register_stops = self.register_stops, []
        if states:
            await _write_states(states)
        if task_rows:
            await insert_rows("task", _task_columns(), task_rows, self.task_row_suffix)
        if levels:
            await _raise_levels(levels)
        if escalations:
            await self._record_escalations(escalations, events)
        counts = register_counts.Deltas()
        if rows:
            first = {r.key: r for r in reversed(rows)}  # a key's first row wins
            counts.inserted(
                await insert_rows(
                    "deadline_register",
                    REGISTER_COLUMNS,
                    [r.values() for r in first.values()],
                    " ON CONFLICT (deadline_key) DO NOTHING RETURNING " + _RETURNED,
                )
            )
        if reg_levels:
            await _register_levels(reg_levels, counts)
        if reg_due:
            await _register_due(reg_due, counts)
        if reg_stops:
            await _register_stops(reg_stops, counts)
        await counts.write()

    async def _record_escalations(
        self, pending: list[PendingEscalation], events: list[audit.PendingEvent]
    ) -> None:
        inserted = await insert_rows(
            "deadline_escalation",
            ESCALATION_COLUMNS,
            [p.row for p in pending],
            " ON CONFLICT (task_id, plazo_id, level) DO NOTHING"
            " RETURNING id, task_id, plazo_id, level",
        )
        ids = {(r["task_id"], r["plazo_id"], int(r["level"])): r["id"] for r in inserted}
        notices, outgoing, dropped = [], [], set()
        for p in pending:
            escalation_id = ids.pop(p.key, None)  # pop: a key twice in one batch records once
            if escalation_id is None:  # a replay: already escalated, never twice
                dropped.add(id(p.event))
                continue
            self.recorded[p.case_id] = self.recorded.get(p.case_id, 0) + 1
            p.event.changes["escalation_id"] = escalation_id
            notices += [n[:2] + (escalation_id,) + n[2:] for n in p.notices]
            if p.outbox_kind and p.outbox_payload is not None:
                payload = {"escalation_id": escalation_id, **p.outbox_payload}
                outgoing.append(
                    (p.outbox_kind, json.dumps(payload, sort_keys=True), p.row[10], None, 0, None)
                )
        if dropped:
            events[:] = [e for e in events if id(e) not in dropped]
        if notices:
            await insert_rows("notification", NOTIFICATION_COLUMNS, notices)
        if outgoing:
            await insert_rows("notification_outbox", OUTBOX_COLUMNS, outgoing)


def _task_columns() -> tuple[str, ...]:
    from app.cases.handlers.task_index import ROW_COLUMNS

    return ROW_COLUMNS


async def _write_states(states: list[StateWrite]) -> None:
    """Each case's new state, only where the row still holds the version the command loaded."""
    if is_sqlite():  # in-process: a statement per case costs no round trip
        updated = 0
        for s in states:
            rows = await WorkflowState.raw(
                "UPDATE workflow_state SET state = {}, version = {}, next_due_at = {},"
                " updated_at = {}, spec_version = {} WHERE case_id = {} AND version = {}"
                " RETURNING id",
                s.state,
                s.version,
                s.next_due_at,
                s.updated_at,
                s.spec_version,
                s.case_id,
                s.version - 1,
            )
            updated += len(rows)
    else:
        rows = await WorkflowState.raw(
            "UPDATE workflow_state AS w SET state = v.state, version = v.version,"
            " next_due_at = v.next_due_at, updated_at = v.updated_at,"
            " spec_version = v.spec_version"
            " FROM unnest({}::integer[], {}::text[], {}::integer[], {}::timestamptz[],"
            " {}::timestamptz[], {}::text[])"
            " AS v(case_id, state, version, next_due_at, updated_at, spec_version)"
            " WHERE w.case_id = v.case_id AND w.version = v.version - 1 RETURNING w.id",
            [s.case_id for s in states],
            [s.state for s in states],
            [s.version for s in states],
            [s.next_due_at for s in states],
            [s.updated_at for s in states],
            [s.spec_version for s in states],
        )
        updated = len(rows)
    if updated != len(states):
        raise Conflict("the case changed while this command ran; reload and retry")


async def _raise_levels(levels: list[tuple[str, int]]) -> None:
    """Tasks show the highest deadline level fired for them (never lowered)."""
    if is_sqlite():
        for task_id, level in levels:
            await Task.raw(
                "UPDATE task SET escalation_level = {} WHERE task_id = {}"
                " AND escalation_level < {}",
                level,
                task_id,
                level,
            )
        return
    await Task.raw(
        "UPDATE task AS t SET escalation_level = v.level"
        " FROM (SELECT task_id, max(level) AS level FROM unnest({}::text[], {}::integer[])"
        " AS u(task_id, level) GROUP BY task_id) AS v"
        " WHERE t.task_id = v.task_id AND t.escalation_level < v.level",
        [t for t, _ in levels],
        [lv for _, lv in levels],
    )


# ----------------------------------------------------------------- the deadline register
# SQLite runs one statement per row (in-process, no round trip); PostgreSQL one per batch.
# Statuses are compared as strings only: the status a stop sets is decided by the handler,
# which knows the due instant.

_LEVEL_SET = (
    " levels_reached = CASE WHEN r.levels_reached < {lv} THEN {lv} ELSE r.levels_reached END,"
    " status = CASE WHEN r.status = 'running' THEN 'breached' ELSE r.status END,"
    " breached_at = COALESCE(r.breached_at, r.due_at),"
    " authority_id = COALESCE(r.authority_id, {auth}), updated_at = {at}"
)


async def _register_levels(
    levels: list[tuple[str, int, int | None, datetime]], counts: register_counts.Deltas
) -> None:
    """A level fired: breached from its due instant; the highest level reached."""
    top: dict[str, tuple[str, int, int | None, datetime]] = {}
    for key, level, authority, at in levels:  # one row per key (UPDATE ... FROM takes one)
        if key not in top or level > top[key][1]:
            top[key] = (key, level, authority, at)
    if is_sqlite():
        for key, level, authority, at in top.values():
            old = await _register_row(key)
            new = await Task.raw(
                "UPDATE deadline_register AS r SET"
                + _LEVEL_SET.format(lv="{}", auth="{}", at="{}")
                + " WHERE r.deadline_key = {} RETURNING "
                + _RETURNED_SQLITE,
                level,
                level,
                authority,
                at,
                key,
            )
            if old and new:
                counts.changed(old, new[0])
        return
    rows = list(top.values())
    changed = await Task.raw(
        "UPDATE deadline_register AS r SET"
        + _LEVEL_SET.format(lv="v.level", auth="v.authority_id", at="v.at")
        + " FROM unnest({}::text[], {}::integer[], {}::integer[], {}::timestamptz[])"
        " AS v(deadline_key, level, authority_id, at), deadline_register AS o"
        " WHERE r.deadline_key = v.deadline_key AND o.id = r.id RETURNING " + _RETURNED_OLD_AND_NEW,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    for row in changed:
        counts.changed(row, row, "o_")


async def _register_due(
    changes: list[tuple[str, datetime, datetime]], counts: register_counts.Deltas
) -> None:
    """A suspension of terms moved the due instant of a deadline still running."""
    for key, due, at in changes:  # rare: only the suspension recompute
        old = await _register_row(key)
        new = await Task.raw(
            "UPDATE deadline_register AS r SET due_at = {}, updated_at = {}"  # noqa: S608 (constants)
            " WHERE r.deadline_key = {} AND r.status = 'running' RETURNING " + _RETURNED_SQLITE,
            due,
            at,
            key,
        )
        if old and new:
            counts.changed(old, new[0])


async def _register_stops(
    stops: list[tuple[str, datetime, str, str | None, str, datetime | None]],
    counts: register_counts.Deltas,
) -> None:
    """The deadline closed. Still running: it takes the status the handler decided (met,
    cancelled, or breached when closed after its due instant); already breached: it stays so."""
    if is_sqlite():
        for key, at, outcome, reason, status, _due in stops:
            old = await _register_row(key)
            new = await Task.raw(
                "UPDATE deadline_register AS r SET closed_at = {}, outcome = {},"  # noqa: S608 (constants)
                " cancel_reason = {}, updated_at = {},"
                " breached_at = CASE WHEN r.status = 'running' AND {} = 'breached'"
                " THEN r.due_at ELSE r.breached_at END,"
                " status = CASE WHEN r.status = 'running' THEN {} ELSE r.status END"
                " WHERE r.deadline_key = {} AND r.closed_at IS NULL RETURNING " + _RETURNED_SQLITE,
                at,
                outcome,
                reason,
                at,
                status,
                status,
                key,
            )
            if old and new:
                counts.changed(old, new[0])
        return
    changed = await Task.raw(
        "UPDATE deadline_register AS r SET closed_at = v.at, outcome = v.outcome,"  # noqa: S608 (constants)
        " cancel_reason = v.reason, updated_at = v.at,"
        " breached_at = CASE WHEN r.status = 'running' AND v.status = 'breached'"
        " THEN r.due_at ELSE r.breached_at END,"
        " status = CASE WHEN r.status = 'running' THEN v.status ELSE r.status END"
        " FROM unnest({}::text[], {}::timestamptz[], {}::text[], {}::text[], {}::text[])"
        " AS v(deadline_key, at, outcome, reason, status), deadline_register AS o"
        " WHERE r.deadline_key = v.deadline_key AND r.closed_at IS NULL AND o.id = r.id"
        " RETURNING " + _RETURNED_OLD_AND_NEW,
        [s[0] for s in stops],
        [s[1] for s in stops],
        [s[2] for s in stops],
        [s[3] for s in stops],
        [s[4] for s in stops],
    )
    for row in changed:
        counts.changed(row, row, "o_")


# What a register statement returns so that its change is counted (app/cases/register_counts.py).
# On PostgreSQL an UPDATE joins the table to itself (``o``, read from the statement's snapshot:
# the row as it was) and returns both; the case's lock keeps other commands off its rows.
_RETURNED = ", ".join(register_counts.COLUMNS)
#: SQLite's RETURNING names the updated table's columns unqualified
_RETURNED_SQLITE = _RETURNED
_RETURNED_OLD_AND_NEW = ", ".join(
    [f"o.{c} AS o_{c}" for c in register_counts.COLUMNS]
    + [f"r.{c} AS {c}" for c in register_counts.COLUMNS]
)


async def _register_row(key: str) -> dict[str, Any] | None:
    """A register row as it is before a statement changes it (SQLite: in-process, and the
    writer lock keeps every other command out)."""
    rows = await Task.raw(
        "SELECT " + ", ".join(register_counts.COLUMNS) + " FROM deadline_register"  # noqa: S608 (constants)
        " WHERE deadline_key = {}",
        key,
    )
    return rows[0] if rows else None
