"""Load case aggregates under a lock, and save them with an optimistic version check.

One statement loads everything a command needs about a case: the engine state and its version,
the case row, its open task index rows, the authorities holding access, the shelter where the
child is, and the authority directory's version (and, for a task command, the task's row and
whether the caller's authority may see the case).

Locking: on SQLite the process write lock plus ``BEGIN IMMEDIATE`` already made this transaction
the only writer, so the load runs alone. On PostgreSQL a first statement locks the
``workflow_state`` row (``FOR UPDATE``; the worker adds ``SKIP LOCKED``) and the load follows as
a second statement: in READ COMMITTED each statement reads a fresh snapshot, so the load sees
everything the transaction it waited for committed. (Loading in the locking statement itself
would read the task index and access rows from a snapshot taken *before* the wait.) ``save``
also checks ``version``: if the row changed since it was read, the command fails with 409 and
rolls back instead of overwriting someone's work.

Encryption (issue 16, item 2): the engine state (it repeats every form's answers) and the case
variables are stored encrypted with the case's data key (app/datakeys.py). The load statement
reads the wrapped key with the rest, so a command unwraps it once and decrypts the state and
the variables with it; ``save`` seals them again with the same key. A row written before they
were encrypted (no ``enc1:``) is read as it is and sealed at its next write.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app import datakeys
from app.cases import figure_counts
from app.cases.aggregate import Access, CaseAggregate, OpenTask
from app.cases.writes import CaseWrites, StateWrite
from app.db import is_sqlite
from app.directory import directory
from app.errors import NotFound
from app.route_engine import state_version
from app.services import route_versions
from app.tables import Case, WorkflowState

_CASE_COLUMNS = (
    "c.id, c.folio, c.estado, c.municipio, c.family_group, c.status, c.risk, c.variables,"
    " c.opened_by_authority_id"
)


def _agg(expr: str) -> str:
    return f"group_concat({expr}, ',')" if is_sqlite() else f"string_agg({expr}, ',')"


def _select(where: str, *, task: bool = False) -> str:
    tasks = _agg(
        "t.task_id || ':' || COALESCE(CAST(t.authority_id AS TEXT), '')"
        " || ':' || COALESCE(CAST(t.assignee_id AS TEXT), '')"
    )
    access = _agg(
        "CAST(ca.authority_id AS TEXT) || ':' || (CASE WHEN ca.active THEN '1' ELSE '0' END)"
        " || ':' || ca.reason"
    )
    task_columns = task_join = ""
    if task:  # the task a command acts on, and whether the caller's authority sees the case
        task_columns = (
            ", tt.id AS task_row_id, tt.task_id AS task_task_id, tt.bpmn_id AS task_bpmn_id,"
            " tt.rol AS task_rol, tt.status AS task_status,"
            " tt.authority_id AS task_authority_id, tt.assignee_id AS task_assignee_id,"
            " tt.legal_source AS task_legal_source, c.retention AS task_retention,"
            " EXISTS (SELECT 1 FROM case_access cv WHERE cv.case_id = ws.case_id"
            " AND cv.authority_id = {} AND cv.active) AS task_visible"
        )
        task_join = " JOIN task tt ON tt.case_id = ws.case_id"
    # Only constant fragments are formatted in; every value is a bound parameter.
    return (
        f"SELECT ws.case_id, ws.state, ws.version, {_CASE_COLUMNS},"  # noqa: S608
        f" (SELECT {tasks} FROM task t WHERE t.case_id = ws.case_id AND t.status = 'open')"
        " AS open_tasks,"
        f" (SELECT {access} FROM case_access ca WHERE ca.case_id = ws.case_id) AS access,"
        " (SELECT p.shelter_id FROM placement p WHERE p.case_id = ws.case_id"
        " AND p.status = 'admitted' ORDER BY p.id DESC LIMIT 1) AS shelter_id,"
        " (SELECT dv.n FROM directory_version dv WHERE dv.id = 1) AS directory_version,"
        " (SELECT k.wrapped FROM case_data_key k WHERE k.case_id = ws.case_id) AS data_key"
        f"{task_columns}"
        f" FROM workflow_state ws JOIN nna_case c ON c.id = ws.case_id{task_join}"
        f" WHERE {where}"
    )


async def _lock(where: str, *args: Any) -> list[int]:
    """PostgreSQL: lock the matching workflow_state rows; returns their case ids."""
    rows = await WorkflowState.raw(
        f"SELECT ws.case_id FROM workflow_state ws WHERE {where}",  # noqa: S608 (constant)
        *args,
    )
    return [r["case_id"] for r in rows]


async def load_for_update(case_id: int) -> CaseAggregate:
    """The case, locked for this transaction (404 if it does not exist)."""
    if not is_sqlite():
        await _lock("ws.case_id = {} FOR UPDATE", case_id)
    rows = await WorkflowState.raw(_select("ws.case_id = {}"), case_id)
    if not rows:
        raise NotFound("case not found")
    return await _aggregate(rows[0])


async def load_for_task(task_id: str, viewer_authority_id: int) -> tuple[dict, CaseAggregate]:
    """The case of a task, locked, with the task's index row (``visible``: whether
    ``viewer_authority_id`` holds access to the case). 404 if the task does not exist."""
    if is_sqlite():
        where, args = "tt.task_id = {}", [viewer_authority_id, task_id]
    else:
        locked = await _lock(
            "ws.case_id = (SELECT t2.case_id FROM task t2 WHERE t2.task_id = {}) FOR UPDATE",
            task_id,
        )
        if not locked:
            raise NotFound("task not found")
        where, args = (
            "ws.case_id = {} AND tt.task_id = {}",
            [viewer_authority_id, locked[0], task_id],
        )
    rows = await WorkflowState.raw(_select(where, task=True), *args)
    if not rows:
        raise NotFound("task not found")
    row = rows[0]
    task = {
        "id": row["task_row_id"],
        "task_id": row["task_task_id"],
        "case_id": row["case_id"],
        "bpmn_id": row["task_bpmn_id"],
        "rol": row["task_rol"],
        "status": row["task_status"],
        "authority_id": row["task_authority_id"],
        "assignee_id": row["task_assignee_id"],
        "legal_source": row["task_legal_source"],
        "folio": row["folio"],
        "visible": bool(row["task_visible"]),
        "retention": row["task_retention"],
    }
    return task, await _aggregate(row)


async def claim_due(now: datetime, size: int, exclude: list[int]) -> list[dict[str, Any]]:
    """Up to ``size`` cases with a timer due before ``now``, locked (PostgreSQL: rows another
    worker holds are skipped, never waited for). Rows, not aggregates: each case is restored in
    its own savepoint so one bad state fails alone."""
    where = "ws.next_due_at < {}"
    args: list[Any] = [now]
    if exclude:
        where += " AND ws.case_id NOT IN (" + ", ".join("{}" for _ in exclude) + ")"
        args += exclude
    args.append(size)
    if is_sqlite():
        return await WorkflowState.raw(_select(where + " ORDER BY ws.next_due_at LIMIT {}"), *args)
    ids = await _lock(where + " ORDER BY ws.next_due_at LIMIT {} FOR UPDATE SKIP LOCKED", *args)
    if not ids:
        return []
    rows = await WorkflowState.raw(
        _select("ws.case_id IN (" + ", ".join("{}" for _ in ids) + ")"), *ids
    )
    order = {case_id: i for i, case_id in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r["case_id"]])


async def aggregate_from(row: dict[str, Any]) -> CaseAggregate:
    """A claimed row (``claim_due``) as an aggregate."""
    return await _aggregate(row)


async def _aggregate(row: dict[str, Any]) -> CaseAggregate:
    case_id = row["case_id"]
    try:  # the key unwrapped once for the whole command
        key = datakeys.unwrap_row(row.get("data_key"), case_id)
        state = datakeys.open_state(key, case_id, row["state"])
        variables = datakeys.open_json(key, case_id, datakeys.VARIABLES, _json(row["variables"]))
    except datakeys.DataErased as exc:  # an erased case: as if it did not exist
        raise NotFound("case not found") from exc
    # the case runs on its own route version: its engine is loaded before the command needs it
    await route_versions.ensure_loaded(state_version(state))
    case_row = {
        k: row[k]
        for k in ("id", "folio", "estado", "municipio", "family_group", "opened_by_authority_id")
    }
    case_row.update(status=row["status"], risk=row["risk"], variables=variables or {})
    # as counted in ``case_count`` (app/cases/figure_counts.py): what the row holds
    case_row["counted"] = (row["status"], row["risk"])
    return CaseAggregate(
        row=case_row,
        version=row["version"],
        state=state,
        data_key=key,
        directory=await directory(row["directory_version"]),
        open_tasks=_open_tasks(row["open_tasks"]),
        access=_access(row["access"]),
        shelter_id=row["shelter_id"],
    )


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value or "{}")
    return value or {}


def _int(text: str) -> int | None:
    return int(text) if text else None


def _open_tasks(text: str | None) -> dict[str, OpenTask]:
    out: dict[str, OpenTask] = {}
    for item in (text or "").split(","):
        if item:
            task_id, authority, assignee = item.split(":")
            out[task_id] = OpenTask(_int(authority), _int(assignee))
    return out


def _access(text: str | None) -> dict[int, Access]:
    out: dict[int, Access] = {}
    for item in (text or "").split(","):
        if item:
            authority, active, reason = item.split(":", 2)
            out[int(authority)] = Access(active == "1", reason or None)
    return out


async def save(case: CaseAggregate, now: datetime, writes: CaseWrites) -> None:
    """Stage the new engine state (version + 1, written with the command's other rows by
    ``writes``, checked against the version loaded) and refresh the case row's derived columns
    when they changed (variables, risk, status, location)."""
    engine_case = case.engine
    key = await case.key(now)
    case.version += 1
    writes.states.append(
        StateWrite(
            case.id,
            datakeys.seal_state(key, case.id, engine_case.dump()),
            case.version,
            engine_case.next_due_at(),
            now,
            engine_case.engine.library.version,
        )
    )
    await save_case_row(case, now)


async def save_case_row(case: CaseAggregate, now: datetime) -> None:
    """Refresh the case row from the engine, writing only if something in it changed."""
    variables = case.engine.variables
    values: dict[Any, Any] = {}
    before = case.row.get("counted")
    status = before[0] if before else case.row["status"]
    if variables != case.row["variables"]:
        key = await case.key(now)
        values[Case.variables] = datakeys.seal_json(key, case.id, datakeys.VARIABLES, variables)
        case.row["variables"] = variables
    risk = variables.get("nivel_riesgo")
    if risk != case.row["risk"]:
        values[Case.risk] = risk
        case.row["risk"] = risk
        case.record("risk_changed", risk=risk)
    if case.moved:
        values[Case.estado] = case.estado
        values[Case.municipio] = case.municipio
    if case.engine.is_completed and case.is_open and not case.reopened:
        values.update(
            {
                Case.status: "closed",
                Case.closed_at: now,
                Case.end_state: case.engine.end_state,
            }
        )
        case.row["status"] = status = "closed"
    elif case.reopened and not case.engine.is_completed:
        # a new run of the route: open again; when and how it closed stays in the audit trail
        # and in the engine's list of runs
        from app.route_engine import library

        values.update(
            {
                Case.status: "open",
                Case.closed_at: None,
                Case.end_state: None,
                Case.spec_version: library().version,  # the new run's route definition
            }
        )
        case.row["status"] = status = "open"
    if values:
        values[Case.updated_at] = now
        await Case.update(values).where(Case.id == case.id)
        # cases per status and risk now (app/cases/figure_counts.py), in the same transaction
        after = (status, case.row["risk"])
        if before is not None and after != before:
            await figure_counts.status_changed(before, after)
            case.row["counted"] = after
