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
class CaseWrites:
    """What one command (one case, or a worker's batch of cases) still has to write."""

    states: list[StateWrite] = field(default_factory=list)
    task_rows: list[tuple[Any, ...]] = field(default_factory=list)
    task_row_suffix: str = ""
    levels: list[tuple[str, int]] = field(default_factory=list)  # (task_id, level)
    escalations: list[PendingEscalation] = field(default_factory=list)
    #: case id -> escalations actually recorded by the last flush
    recorded: dict[int, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.states or self.task_rows or self.levels or self.escalations)

    async def flush(self, events: list[audit.PendingEvent]) -> None:
        """Write everything pending, in foreign-key order; ``events`` is the command's audit
        list (a replayed escalation's event is removed from it). Raises ``Conflict`` when a
        case's state changed under the command."""
        states, self.states = self.states, []
        task_rows, self.task_rows = self.task_rows, []
        levels, self.levels = self.levels, []
        escalations, self.escalations = self.escalations, []
        if states:
            await _write_states(states)
        if task_rows:
            await insert_rows("task", _task_columns(), task_rows, self.task_row_suffix)
        if levels:
            await _raise_levels(levels)
        if escalations:
            await self._record_escalations(escalations, events)

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
                " updated_at = {} WHERE case_id = {} AND version = {} RETURNING id",
                s.state,
                s.version,
                s.next_due_at,
                s.updated_at,
                s.case_id,
                s.version - 1,
            )
            updated += len(rows)
    else:
        rows = await WorkflowState.raw(
            "UPDATE workflow_state AS w SET state = v.state, version = v.version,"
            " next_due_at = v.next_due_at, updated_at = v.updated_at"
            " FROM unnest({}::integer[], {}::text[], {}::integer[], {}::timestamptz[],"
            " {}::timestamptz[]) AS v(case_id, state, version, next_due_at, updated_at)"
            " WHERE w.case_id = v.case_id AND w.version = v.version - 1 RETURNING w.id",
            [s.case_id for s in states],
            [s.state for s in states],
            [s.version for s in states],
            [s.next_due_at for s in states],
            [s.updated_at for s in states],
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
