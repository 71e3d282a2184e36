"""Task commands (claim, unclaim, reassign, complete) and the audited task detail read.

Access: a task is visible to the workers of the authority it is routed to (and to oversight,
read-only); anything else answers 404. Each command runs on the case command path
(app/cases/unit_of_work.py): the case is locked and loaded with its open task rows, so two racing
completions give one success and one 409. Pages and API call these same functions; ``permissions``
is the one place that says what a user may do with a task.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.audit import form_digest
from app.cases.handlers.audit_trail import variable_changes
from app.cases.unit_of_work import CaseSession, task_command
from app.command import command
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.principal import Principal, role_may_do
from app.route_engine import form_schema, legal_basis_of, library
from app.services import case_record, users
from app.tables import Case, Task, User
from workflows import EngineEvent


# --------------------------------------------------------------------------- lookups
@dataclass(frozen=True)
class TaskRef:
    """A task index row as its reader may know it (read without locking the case)."""

    row: dict[str, Any]

    @property
    def case_id(self) -> int:
        return self.row["case_id"]


def _authorize(principal: Principal, task: dict[str, Any]) -> None:
    """404 unless the caller may see the task: oversight sees every task, a worker only those
    routed to their authority, on a case their authority may see."""
    if task.get("retention", "active") != "active":  # blocked or erased: no casework reads it
        raise NotFound("task not found")
    if principal.is_oversight:
        return
    if not (principal.is_worker and task["visible"]):
        raise NotFound("task not found")
    if task["authority_id"] != principal.authority_id:
        raise NotFound("task not found")


async def _lookup(principal: Principal, task_id: str) -> TaskRef:
    """The task for a read (one statement); 404 if it does not exist or is not visible."""
    rows = await Task.raw(
        "SELECT t.id, t.task_id, t.case_id, t.bpmn_id, t.rol, t.status, t.authority_id,"
        " t.assignee_id, t.legal_source, c.folio, c.retention,"
        " EXISTS (SELECT 1 FROM case_access ca WHERE ca.case_id = t.case_id"
        " AND ca.authority_id = {} AND ca.active) AS visible"
        " FROM task t JOIN nna_case c ON c.id = t.case_id WHERE t.task_id = {}",
        principal.authority_id,
        task_id,
    )
    if not rows:
        raise NotFound("task not found")
    _authorize(principal, rows[0])
    return TaskRef(rows[0])


@asynccontextmanager
async def _command(
    principal: Principal, task_id: str, now: datetime | None = None
) -> AsyncIterator[tuple[CaseSession, dict[str, Any]]]:
    """A command on a task, for a caseworker who may see it; the task's row is read under the
    case lock, so a racing command shows here: 409 if it is no longer open."""
    async with task_command(principal.actor, task_id, principal.authority_id, now) as (s, task):
        _authorize(principal, task)
        if not principal.is_worker:
            raise Forbidden(f"role {principal.role} is read-only")
        open_task = s.case.open_tasks.get(task_id)
        if open_task is None:
            raise Conflict(f"task is already {task['status']}")
        yield s, task


def permissions(principal: Principal, task: dict[str, Any]) -> dict[str, bool]:
    """What ``principal`` may do with a task row (the rule the commands enforce)."""
    mine = task["authority_id"] == principal.authority_id and principal.is_worker
    open_ = task["status"] == "open"
    free_or_mine = task["assignee_id"] in (None, principal.user_id)
    return {
        "complete": open_ and mine and principal.may_do(task["rol"]) and free_or_mine,
        "claim": open_ and mine and principal.may_do(task["rol"]) and task["assignee_id"] is None,
        "unclaim": open_
        and mine
        and task["assignee_id"] is not None
        and (task["assignee_id"] == principal.user_id or principal.supervises),
        "reassign": open_ and mine and principal.supervises,
    }


# --------------------------------------------------------------------------- commands
async def claim(principal: Principal, task_id: str) -> dict[str, Any]:
    async with _command(principal, task_id) as (s, task):
        if not principal.may_do(task["rol"]):
            raise Forbidden(f"this task needs role {task['rol']}")
        if task["assignee_id"] == principal.user_id:
            return await _row(task_id)
        if task["assignee_id"] is not None:
            raise Conflict("task is claimed by someone else")
        await Task.update({Task.assignee: principal.user_id, Task.claimed_at: s.now}).where(
            Task.id == task["id"]
        )
        s.audit(
            "task.claimed",
            task_id=task_id,
            changes={"task": task["bpmn_id"], "assignee": principal.username},
        )
    return await _row(task_id)


async def unclaim(principal: Principal, task_id: str) -> dict[str, Any]:
    async with _command(principal, task_id) as (s, task):
        if task["assignee_id"] is None:
            return await _row(task_id)
        if task["assignee_id"] != principal.user_id and not principal.supervises:
            raise Forbidden("only the assignee or a supervisor may release this task")
        await Task.update({Task.assignee: None, Task.claimed_at: None}).where(Task.id == task["id"])
        s.audit(
            "task.unclaimed",
            task_id=task_id,
            changes={"task": task["bpmn_id"], "previous_assignee_id": task["assignee_id"]},
        )
    return await _row(task_id)


async def reassign(principal: Principal, task_id: str, username: str) -> dict[str, Any]:
    async with _command(principal, task_id) as (s, task):
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
        await Task.update({Task.assignee: target["id"], Task.claimed_at: s.now}).where(
            Task.id == task["id"]
        )
        s.audit(
            "task.reassigned",
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
    async with _command(principal, task_id, now) as (s, task):
        if not principal.may_do(task["rol"]):
            raise Forbidden(f"this task needs role {task['rol']}")
        if task["assignee_id"] not in (None, principal.user_id):
            raise Conflict("task is claimed by someone else; ask a supervisor to reassign it")
        s.case.complete_task(task_id, data, s.now)
        s.audit(
            "task.completed",
            task_id=task_id,
            authority_id=principal.authority_id,
            changes={
                "task": task["bpmn_id"],
                **form_digest(data),
                "variables": variable_changes(s.case.events),
            },
            legal_basis=legal_basis_of(task["bpmn_id"], task["legal_source"]),
        )
        s.results["variables_audited"] = True
    case = s.case
    return {
        "task_id": task_id,
        "status": "completed",
        "case": {"folio": case.folio, "status": case.row["status"], "version": case.version},
        "events": [
            {"kind": e.kind, **_event_data(e.data)}
            for e in case.events
            if isinstance(e, EngineEvent)
        ],
        "next_tasks": s.results.get("routed", []),
    }


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("name") in ("fecha_nacimiento",):
        return {"name": data["name"]}
    return {k: v for k, v in data.items() if k not in ("old",)}


async def _row(task_id: str) -> dict[str, Any]:
    row = await Task.select().where(Task.task_id == task_id).first()
    if row is None:
        raise NotFound("task not found")
    return row


# --------------------------------------------------------------------------- reading
async def detail(principal: Principal, task_id: str, *, audited: bool = True) -> dict[str, Any]:
    """Task with its form schema and a case summary; an audited read of a child's record.

    ``audited=False`` only when the same user's form comes back to them after a rejected
    submission (the page they submitted from was an audited read)."""
    ref = await _lookup(principal, task_id)
    task = await _row(task_id)
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
        .where(Case.id == ref.case_id)
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
    approved = await approved_forms(principal, case["id"], task["bpmn_id"])
    if audited:
        read = {"task": task["bpmn_id"]}
        if approved:  # the record it approves is read with it (which forms, not what they say)
            read["forms"] = sorted({f["bpmn_id"] for f in approved})
        async with command(principal.actor) as cmd:
            cmd.audit(
                "task.read",
                case_id=case["id"],
                case_folio=case["folio"],
                task_id=task_id,
                changes=read,
            )
    return {
        "task": task,
        "case": case,
        "form": form_of(task["bpmn_id"]),
        "permissions": permissions(principal, task),
        "approved_forms": approved,
    }


async def approved_forms(principal: Principal, case_id: int, bpmn_id: str) -> list[dict]:
    """For an approval or decision task (BPMN ``aprueba``): the forms it decides on."""
    info = library().tasks.get(bpmn_id)
    if info is None or not info.approves:
        return []
    forms = await case_record.submissions(principal, case_id, bpmn_ids=(*info.approves, bpmn_id))
    return case_record.for_approval(forms, bpmn_id, info.approves)


async def assignable(principal: Principal, task: dict[str, Any]) -> list[dict[str, Any]]:
    """Whom a supervisor may hand an open task to: active colleagues of the task's authority
    whose role may do it (the assignee excluded)."""
    if not permissions(principal, task)["reassign"]:
        return []
    return [
        u
        for u in await users.colleagues(principal)
        if role_may_do(u["role"], principal.authority_tipo, task["rol"])
        and u["id"] != task["assignee_id"]
    ]


async def form_for(principal: Principal, task_id: str) -> dict[str, Any]:
    """The JSON Schema of a task's form, for a user who may see the task (404 otherwise).

    Not an audited read: a form is the same for every child. Pages use it to read a posted form
    before completing, so a completion writes no read event."""
    ref = await _lookup(principal, task_id)
    return form_of(ref.row["bpmn_id"])


def form_of(bpmn_id: str) -> dict[str, Any]:
    try:
        return form_schema(f"{bpmn_id}.schema.json")
    except KeyError:
        return {}
