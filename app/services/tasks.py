"""Task commands (claim, unclaim, reassign, complete) and the audited task detail read.

Access: a task is visible to the workers of the authority it is routed to (and to oversight,
read-only); anything else answers 404. Each command locks the case's workflow row first and
re-reads the task after the lock, so two racing completions give one success and one 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import access
from app.audit import digest_of
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.principal import Principal, role_may_do
from app.route_engine import form_schema, legal_basis
from app.services import deadlines, hooks, relocation
from app.services.context import command
from app.services.task_index import form_errors, sync_tasks
from app.services.workflow import (
    audit_engine_events,
    load_for_update,
    save,
    variable_changes,
)
from app.tables import Case, Task, User
from workflows import FormValidationError, TaskNotReadyError


# --------------------------------------------------------------------------- lookups
@dataclass
class TaskRef:
    id: int
    case_id: int


async def _ref(task_id: str) -> TaskRef:
    row = await Task.select(Task.id, Task.case).where(Task.task_id == task_id).first()
    if row is None:
        raise NotFound("task not found")
    return TaskRef(row["id"], row["case_id"])


async def _row(task_id: str) -> dict[str, Any]:
    row = await Task.select().where(Task.task_id == task_id).first()
    if row is None:
        raise NotFound("task not found")
    return row


async def _check_actor(principal: Principal, task: dict[str, Any]) -> None:
    """404 unless the caller can see the case; 403 if they see it but may not act on the task."""
    if not await access.can_see_case(principal, task["case_id"]):
        raise NotFound("task not found")
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    if task["authority_id"] != principal.authority_id:
        raise NotFound("task not found")


def _require_open(task: dict[str, Any]) -> None:
    if task["status"] != "open":
        raise Conflict(f"task is already {task['status']}")


# --------------------------------------------------------------------------- commands
async def claim(principal: Principal, task_id: str) -> dict[str, Any]:
    ref = await _ref(task_id)
    async with command(principal.actor) as cmd:
        await load_for_update(ref.case_id)
        task = await _row(task_id)
        await _check_actor(principal, task)
        _require_open(task)
        if not principal.may_do(task["rol"]):
            raise Forbidden(f"this task needs role {task['rol']}")
        if task["assignee_id"] == principal.user_id:
            return task
        if task["assignee_id"] is not None:
            raise Conflict("task is claimed by someone else")
        await Task.update({Task.assignee: principal.user_id, Task.claimed_at: cmd.now}).where(
            Task.id == task["id"]
        )
        cmd.audit(
            "task.claimed",
            case_id=task["case_id"],
            case_folio=await _folio(task["case_id"]),
            task_id=task_id,
            changes={"task": task["bpmn_id"], "assignee": principal.username},
        )
    return await _row(task_id)


async def unclaim(principal: Principal, task_id: str) -> dict[str, Any]:
    ref = await _ref(task_id)
    async with command(principal.actor) as cmd:
        await load_for_update(ref.case_id)
        task = await _row(task_id)
        await _check_actor(principal, task)
        _require_open(task)
        if task["assignee_id"] is None:
            return task
        if task["assignee_id"] != principal.user_id and not principal.supervises:
            raise Forbidden("only the assignee or a supervisor may release this task")
        await Task.update({Task.assignee: None, Task.claimed_at: None}).where(Task.id == task["id"])
        cmd.audit(
            "task.unclaimed",
            case_id=task["case_id"],
            case_folio=await _folio(task["case_id"]),
            task_id=task_id,
            changes={"task": task["bpmn_id"], "previous_assignee_id": task["assignee_id"]},
        )
    return await _row(task_id)


async def reassign(principal: Principal, task_id: str, username: str) -> dict[str, Any]:
    ref = await _ref(task_id)
    async with command(principal.actor) as cmd:
        await load_for_update(ref.case_id)
        task = await _row(task_id)
        await _check_actor(principal, task)
        _require_open(task)
        if not principal.supervises:
            raise Forbidden("only a supervisor or head may reassign tasks")
        target = (
            await User.select(User.id, User.role, User.authority, User.active)
            .where(User.username == username)
            .first()
        )
        if (
            target is None
            or target["authority_id"] != principal.authority_id
            or not target["active"]
        ):
            raise InvalidInput(
                "unknown assignee",
                [{"path": "$.username", "message": "no active user of your authority"}],
            )
        if not role_may_do(target["role"], principal.authority_tipo, task["rol"]):
            raise InvalidInput(
                "assignee may not do this task",
                [{"path": "$.username", "message": f"this task needs role {task['rol']}"}],
            )
        await Task.update({Task.assignee: target["id"], Task.claimed_at: cmd.now}).where(
            Task.id == task["id"]
        )
        cmd.audit(
            "task.reassigned",
            case_id=task["case_id"],
            case_folio=await _folio(task["case_id"]),
            task_id=task_id,
            changes={
                "task": task["bpmn_id"],
                "previous_assignee_id": task["assignee_id"],
                "assignee": username,
            },
        )
    return await _row(task_id)


async def complete(
    principal: Principal, task_id: str, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Validate and complete a task; workflow, index and audit commit in one transaction."""
    ref = await _ref(task_id)
    async with command(principal.actor, now) as cmd:
        loaded = await load_for_update(ref.case_id)
        task = await _row(task_id)  # re-read after the lock: a racing completion shows here
        await _check_actor(principal, task)
        _require_open(task)
        if not principal.may_do(task["rol"]):
            raise Forbidden(f"this task needs role {task['rol']}")
        if task["assignee_id"] not in (None, principal.user_id):
            raise Conflict("task is claimed by someone else; ask a supervisor to reassign it")
        ready = {t.task_id: t for t in loaded.engine_case.ready_tasks()}
        try:
            events = loaded.engine_case.complete_task(task_id, data, cmd.now)
        except FormValidationError as exc:
            raise form_errors(exc, "$.data") from exc
        except TaskNotReadyError as exc:
            raise Conflict(str(exc)) from exc
        loaded.events = list(events)
        await hooks.after_completion(cmd, loaded, principal, task["bpmn_id"], data)
        await save(cmd, loaded)
        await Task.update(
            {
                Task.status: "completed",
                Task.completed_at: cmd.now,
                Task.completed_by: principal.user_id,
                Task.assignee: principal.user_id,
            }
        ).where(Task.id == task["id"])
        engine_task = ready.get(task_id)
        cmd.audit(
            "task.completed",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            task_id=task_id,
            authority_id=principal.authority_id,
            changes={
                "task": task["bpmn_id"],
                "form_fields": sorted(data),
                "form_sha256": digest_of(data),
                "variables": variable_changes(loaded.events),
            },
            legal_basis=legal_basis(engine_task) if engine_task else task["legal_source"],
        )
        audit_engine_events(cmd, loaded, loaded.events)
        routed = await sync_tasks(cmd, loaded, completed=task_id, reroute=loaded.moved)
        await deadlines.record_escalations(cmd, loaded)
        if loaded.moved:
            await relocation.revoke_after_move(cmd, loaded)
        case_status = loaded.case["status"]
        version = loaded.version
    return {
        "task_id": task_id,
        "status": "completed",
        "case": {"folio": loaded.folio, "status": case_status, "version": version},
        "events": [{"kind": e.kind, **_event_data(e.data)} for e in loaded.events],
        "next_tasks": routed,
    }


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("name") in ("fecha_nacimiento",):
        return {"name": data["name"]}
    return {k: v for k, v in data.items() if k not in ("old",)}


async def _folio(case_id: int) -> str | None:
    row = await Case.select(Case.folio).where(Case.id == case_id).first()
    return row["folio"] if row else None


# --------------------------------------------------------------------------- reading
async def detail(principal: Principal, task_id: str) -> dict[str, Any]:
    """Task with its form schema and a case summary; an audited read of a child's record."""
    task = await _row(task_id)
    if not await access.can_see_case(principal, task["case_id"]):
        raise NotFound("task not found")
    if principal.is_worker and task["authority_id"] != principal.authority_id:
        raise NotFound("task not found")
    case = (
        await Case.select(
            Case.id,
            Case.folio,
            Case.estado,
            Case.municipio,
            Case.status,
            Case.risk,
            Case.summary,
            Case.family_group,
            Case.opened_at,
        )
        .where(Case.id == task["case_id"])
        .first()
        .output(load_json=True)
    )
    task["assignee_name"] = None
    if task["assignee_id"] is not None:
        user = (
            await User.select(User.username, User.display_name)
            .where(User.id == task["assignee_id"])
            .first()
        )
        task["assignee_name"] = (user["display_name"] or user["username"]) if user else None
        task["assignee_username"] = user["username"] if user else None
    form_name = f"{task['bpmn_id']}.schema.json"
    async with command(principal.actor) as cmd:
        cmd.audit(
            "task.read",
            case_id=case["id"],
            case_folio=case["folio"],
            task_id=task_id,
            changes={"task": task["bpmn_id"]},
        )
    return {"task": task, "case": case, "form": _form_or_empty(form_name)}


def _form_or_empty(form_name: str) -> dict[str, Any]:
    try:
        return form_schema(form_name)
    except KeyError:
        return {}
