"""The task index: one row per ready user task, kept in step with the engine after each command.

``sync_tasks`` closes rows whose task is no longer ready, routes and inserts new ones (auditing
every routing decision and the access it grants), re-routes open tasks when the child moved, and
refreshes due dates, risk and escalation levels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app import access, routing
from app.errors import InvalidInput
from app.route_engine import legal_basis
from app.services.context import Command
from app.services.workflow import LoadedCase, escalations
from app.tables import Task
from workflows import FormValidationError, ReadyTask

#: sort key for tasks without a legal due date: after every dated task.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)


def form_errors(exc: FormValidationError, prefix: str) -> InvalidInput:
    """The engine reports JSON paths from the form root (``$.campo``); prefix the body field."""
    errors = [
        {"path": prefix + e["path"][1:] if e["path"].startswith("$") else e["path"], **_msg(e)}
        for e in exc.errors
    ]
    return InvalidInput(f"form {exc.form} is invalid", errors)


def _msg(error: dict[str, str]) -> dict[str, str]:
    return {"message": error["message"]}


async def sync_tasks(
    cmd: Command, loaded: LoadedCase, *, completed: str | None = None, reroute: bool = False
) -> list[dict[str, Any]]:
    """Bring the case's task index in line with the engine; return newly routed tasks."""
    case = loaded.case
    ready = {t.task_id: t for t in loaded.engine_case.ready_tasks()}
    levels = escalations(loaded.events)
    open_rows = await Task.select(
        Task.id,
        Task.task_id,
        Task.authority,
        Task.due_at,
        Task.risk,
        Task.lane,
        Task.bpmn_id,
        Task.escalation_level,
    ).where((Task.case == loaded.case_id) & (Task.status == "open"))
    for row in open_rows:
        task = ready.get(row["task_id"])
        loaded.task_authority[row["task_id"]] = row["authority_id"]
        if task is None:
            if row["task_id"] != completed:
                await Task.update({Task.status: "cancelled", Task.completed_at: cmd.now}).where(
                    Task.id == row["id"]
                )
                cmd.audit(
                    "task.cancelled",
                    case_id=loaded.case_id,
                    case_folio=loaded.folio,
                    task_id=row["task_id"],
                    authority_id=row["authority_id"],
                    changes={"task": row["bpmn_id"], "reason": "no longer ready in the route"},
                )
            continue
        values: dict[Any, Any] = {}
        if task.due_at != row["due_at"]:
            values.update(
                {
                    Task.due_at: task.due_at,
                    Task.sort_due: task.due_at or NO_DUE,
                    Task.deadline_id: task.deadline_id,
                    Task.legal_source: task.legal_source,
                }
            )
        if case.get("risk") != row["risk"]:
            values[Task.risk] = case.get("risk")
        if levels.get(row["task_id"], 0) > row["escalation_level"]:
            values[Task.escalation_level] = levels[row["task_id"]]
        if reroute:
            decision = await routing.route(task.lane, case["estado"], case["municipio"], case["id"])
            if decision.authority_id != row["authority_id"]:
                loaded.task_authority[task.task_id] = decision.authority_id
                values.update(
                    {
                        Task.authority: decision.authority_id,
                        Task.routing_rule: decision.rule,
                        Task.assignee: None,
                        Task.claimed_at: None,
                    }
                )
                await _grant(cmd, loaded, decision.authority_id, "task_routed")
                cmd.audit(
                    "task.rerouted",
                    case_id=loaded.case_id,
                    case_folio=loaded.folio,
                    task_id=task.task_id,
                    authority_id=decision.authority_id,
                    changes={"task": task.bpmn_id, "from_authority_id": row["authority_id"]}
                    | decision.audit_changes(),
                    legal_basis=legal_basis(task),
                )
        if values:
            await Task.update(values).where(Task.id == row["id"])
    known = {r["task_id"] for r in open_rows} | {completed}
    routed = []
    for task in ready.values():
        if task.task_id in known:
            continue
        routed.append(await _insert_task(cmd, loaded, task))
    return routed


async def _insert_task(cmd: Command, loaded: LoadedCase, task: ReadyTask) -> dict[str, Any]:
    case = loaded.case
    decision = await routing.route(task.lane, case["estado"], case["municipio"], case["id"])
    values = {
        "case": loaded.case_id,
        "bpmn_id": task.bpmn_id,
        "name": task.name[:300],
        "name_en": task.name_en[:300],
        "process_id": task.process_id,
        "lane": task.lane,
        "rol": task.rol,
        "authority": decision.authority_id,
        "routing_rule": decision.rule,
        "assignee": None,
        "status": "open",
        "due_at": task.due_at,
        "sort_due": task.due_at or NO_DUE,
        "deadline_id": task.deadline_id,
        "legal_source": task.legal_source,
        "risk": case.get("risk"),
        "escalation_level": 0,
        "context": task.context,
        "created_at": cmd.now,
        "claimed_at": None,
        "completed_at": None,
        "completed_by": None,
    }
    existing = await Task.select(Task.id).where(Task.task_id == task.task_id).first()
    if existing is None:
        await Task.insert(Task(task_id=task.task_id, **values))
    else:  # an engine task that became ready again (a loop): reopen its row
        await Task.update({getattr(Task, k): v for k, v in values.items()}).where(
            Task.id == existing["id"]
        )
    loaded.task_authority[task.task_id] = decision.authority_id
    await _grant(cmd, loaded, decision.authority_id, "task_routed")
    cmd.audit(
        "task.routed",
        case_id=loaded.case_id,
        case_folio=loaded.folio,
        task_id=task.task_id,
        authority_id=decision.authority_id,
        changes={
            "task": task.bpmn_id,
            "lane": task.lane,
            "estado": case["estado"],
            "due_at": task.due_at.isoformat() if task.due_at else None,
        }
        | decision.audit_changes(),
        legal_basis=legal_basis(task),
    )
    return {
        "task_id": task.task_id,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "lane": task.lane,
        "authority": decision.authority_code,
        "routing_rule": decision.rule,
        "due_at": task.due_at,
    }


async def _grant(cmd: Command, loaded: LoadedCase, authority_id: int | None, reason: str) -> None:
    if authority_id is None:
        return
    if await access.grant(loaded.case_id, authority_id, reason, cmd.now):
        cmd.audit(
            "access.granted",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=authority_id,
            changes={"reason": reason},
        )
