"""The task index follows the engine: one row per ready user task, what inboxes query.

After the state is saved, the index's open rows (loaded with the case) are compared with the
engine's ready tasks: tasks the engine completed are closed as completed by the actor, tasks no
longer ready are cancelled, new ones are routed and inserted (one statement for all the cases
of a command, at its end: app/cases/writes.py), and when
the child moved, open tasks are routed again. Due dates, risk and escalation levels follow the
events that change them. Every routing decision is audited; the access handler grants from the
final index.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import routing
from app.cases.aggregate import CaseAggregate, Event, OpenTask
from app.route_engine import legal_basis
from app.tables import Task
from workflows import ReadyTask

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: sort key for tasks without a legal due date: after every dated task.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


async def sync(session: CaseSession, _: Event) -> None:
    case = session.case
    ready = {t.task_id: t for t in case.ready_tasks()}
    completed = [
        e.data["task_id"]
        for e in case.events
        if e.kind == "task_completed" and e.data.get("task_id") in case.open_tasks
    ]
    await _complete(session, completed)
    gone = [tid for tid in case.open_tasks if tid not in ready and tid not in completed]
    await _cancel(session, gone)
    for tid in completed + gone:
        case.open_tasks.pop(tid, None)
    if case.moved or case.reroute:
        await _reroute(session, [ready[tid] for tid in case.open_tasks if tid in ready])
    new = [t for tid, t in ready.items() if tid not in case.open_tasks]
    session.results["routed"] = await _insert(session, new)
    # Deadline levels that already fired in this command: a task inserted just now carries
    # them in its row (escalation_level below skips it), the others get one UPDATE each.
    session.results["inserted_levels"] = {t.task_id for t in new}


async def _complete(session: CaseSession, task_ids: list[str]) -> None:
    if not task_ids:
        return
    user_id = session.actor.user_id
    await Task.raw(
        "UPDATE task SET status = 'completed', completed_at = {}, completed_by_id = {},"  # noqa: S608
        " assignee_id = {} WHERE task_id IN (" + ", ".join("{}" for _ in task_ids) + ")",
        session.now,
        user_id,
        user_id,
        *task_ids,
    )


async def _cancel(session: CaseSession, task_ids: list[str]) -> None:
    if not task_ids:
        return
    await Task.update({Task.status: "cancelled", Task.completed_at: session.now}).where(
        Task.task_id.is_in(task_ids)
    )
    for tid in task_ids:
        session.audit(
            "task.cancelled",
            task_id=tid,
            authority_id=session.case.open_tasks[tid].authority_id,
            changes={"reason": "no longer ready in the route"},
        )


async def _route(case: CaseAggregate, task: ReadyTask) -> routing.RoutingDecision:
    return await routing.route(
        case.directory,
        task.lane,
        case.estado,
        case.municipio,
        case.shelter_id,
        opener_id=case.opened_by if task.to_opener else None,
    )


async def _reroute(session: CaseSession, tasks: list[ReadyTask]) -> None:
    case = session.case
    for task in tasks:
        row = case.open_tasks[task.task_id]
        decision = await _route(case, task)
        if decision.authority_id == row.authority_id:
            continue
        await Task.update(
            {
                Task.authority: decision.authority_id,
                Task.routing_rule: decision.rule,
                Task.assignee: None,
                Task.claimed_at: None,
            }
        ).where(Task.task_id == task.task_id)
        session.audit(
            "task.rerouted",
            task_id=task.task_id,
            authority_id=decision.authority_id,
            changes={"task": task.bpmn_id, "from_authority_id": row.authority_id}
            | decision.audit_changes(),
            legal_basis=legal_basis(task),
        )
        case.open_tasks[task.task_id] = OpenTask(decision.authority_id, None)


async def _insert(session: CaseSession, tasks: list[ReadyTask]) -> list[dict[str, Any]]:
    """Route and insert newly ready tasks in one statement (a task that is ready again after a
    loop reopens its row)."""
    if not tasks:
        return []
    case = session.case
    rows, routed = [], []
    levels = _levels(case.events)
    for task in tasks:
        decision = await _route(case, task)
        rows.append(_row(session, task, decision, levels.get(task.task_id, 0)))
        case.open_tasks[task.task_id] = OpenTask(decision.authority_id, None)
        session.audit(
            "task.routed",
            task_id=task.task_id,
            authority_id=decision.authority_id,
            changes={
                "task": task.bpmn_id,
                "lane": task.lane,
                "estado": case.estado,
                "due_at": task.due_at.isoformat() if task.due_at else None,
            }
            | decision.audit_changes(),
            legal_basis=legal_basis(task),
        )
        routed.append(
            {
                "task_id": task.task_id,
                "bpmn_id": task.bpmn_id,
                "name": task.name,
                "lane": task.lane,
                "rol": task.rol,
                "authority": decision.authority_code,
                "routing_rule": decision.rule,
                "due_at": task.due_at,
            }
        )
    session.writes.task_rows += rows  # written at the end of the command, with the batch's
    session.writes.task_row_suffix = REOPEN
    return routed


ROW_COLUMNS = (
    "task_id", "case_id", "bpmn_id", "name", "name_en", "process_id", "lane", "rol",
    "authority_id", "routing_rule", "assignee_id", "status", "due_at", "sort_due", "deadline_id",
    "legal_source", "risk", "escalation_level", "context", "created_at", "claimed_at",
    "completed_at", "completed_by_id",
)  # fmt: skip


#: a task that is ready again after a loop reopens its row
REOPEN = " ON CONFLICT (task_id) DO UPDATE SET " + ", ".join(
    f"{c} = EXCLUDED.{c}" for c in ROW_COLUMNS if c != "task_id"
)


def _levels(events: list[Event]) -> dict[str, int]:
    """Task id -> the highest deadline level these events fired for it."""
    out: dict[str, int] = {}
    for e in events:
        if e.kind == "deadline_escalated" and e.data.get("task_id"):
            out[e.data["task_id"]] = max(out.get(e.data["task_id"], 0), int(e.data["level"]))
    return out


def _row(
    session: CaseSession, task: ReadyTask, decision: routing.RoutingDecision, level: int
) -> tuple[Any, ...]:
    """A new (or reopened) index row, in ROW_COLUMNS order."""
    return (
        task.task_id,
        session.case.id,
        task.bpmn_id,
        task.name[:300],
        task.name_en[:300],
        task.process_id,
        task.lane,
        task.rol,
        decision.authority_id,
        decision.rule,
        None,
        "open",
        task.due_at,
        task.due_at or NO_DUE,
        task.deadline_id,
        (task.legal_source or "")[:500] or None,  # the column holds 500 (PostgreSQL checks)
        session.case.row["risk"],
        level,
        json.dumps(task.context),
        session.now,
        None,
        None,
        None,
    )


async def escalation_level(session: CaseSession, event: Event) -> None:
    """A deadline level fired: the task shows its escalation level (never lowered)."""
    task_id, level = event.data.get("task_id"), int(event.data.get("level") or 0)
    if task_id in session.results.get("inserted_levels", ()):
        return  # inserted by this command with its level already
    if task_id and task_id in session.case.open_tasks:
        session.writes.levels.append((task_id, level))


async def due_date(session: CaseSession, event: Event) -> None:
    """A deadline was recomputed (suspension of terms): the task's due date follows."""
    task_id = event.data.get("task_id")
    if task_id and task_id in session.case.open_tasks:
        due = datetime.fromisoformat(event.data["due_at"])
        await Task.update({Task.due_at: due, Task.sort_due: due}).where(Task.task_id == task_id)


async def risk(session: CaseSession, event: Event) -> None:
    """The case's risk level changed: its open tasks sort and filter by the new one."""
    await Task.update({Task.risk: event.data["risk"]}).where(
        (Task.case == session.case.id) & (Task.status == "open")
    )
