"""Inbox and task commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app.api.deps import AppRequest, clamp, typed
from app.api.responses import reads, writes
from app.api.schemas import (
    CompleteIn,
    InboxPageOut,
    ReassignIn,
    TaskCompletedOut,
    TaskDetailOut,
    TaskOut,
)
from app.clock import utcnow
from app.services import inbox, tasks

#: 403 and 409 of every task command (the case is locked, then the task re-read)
MAY_NOT = (403, "Your role is read-only, or the task needs another role (`rol`).")
NOT_OPEN = (409, "The task is no longer open, or someone else holds it.")


class InboxController(Controller):
    path = "/api/v1/inbox"
    tags = ["tasks"]

    @get(
        "/",
        responses=reads(
            (403, "Oversight and admins have no inbox."),
            (422, "`scope`, `risk` or `state` is not one of its values, or the cursor is invalid."),
        ),
    )
    async def inbox(
        self,
        request: AppRequest,
        inbox_scope: Annotated[str, QueryParameter(name="scope")] = "all",
        due_before: FromQuery[datetime | None] = None,
        risk: FromQuery[str | None] = None,
        process: FromQuery[str | None] = None,
        task_state: Annotated[str | None, QueryParameter(name="state")] = None,
        estado: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> InboxPageOut:
        """Open tasks of my authority: ``scope`` all (mine + unclaimed I may do) / mine /
        unclaimed / authority; ``state`` claimed / unclaimed / overdue / escalated; ``estado``
        INEGI code of the child's state."""
        result = await inbox.inbox(
            request.user,
            now=utcnow(),
            scope=inbox_scope,
            due_before=due_before,
            risk=risk,
            process=process,
            state=task_state,
            estado=estado,
            cursor=cursor,
            limit=clamp(limit),
        )
        return typed(InboxPageOut, result)


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("/{task_id:str}", responses=reads(404))
    async def detail(self, request: AppRequest, task_id: FromPath[str]) -> TaskDetailOut:
        """Task, its form's JSON Schema and a case summary (audited read)."""
        return typed(TaskDetailOut, await tasks.detail(request.user, task_id))

    @post("/{task_id:str}/claim", status_code=200, responses=writes(MAY_NOT, 404, NOT_OPEN))
    async def claim(self, request: AppRequest, task_id: FromPath[str]) -> TaskOut:
        return typed(TaskOut, await tasks.claim(request.user, task_id))

    @post("/{task_id:str}/unclaim", status_code=200, responses=writes(403, 404, NOT_OPEN))
    async def unclaim(self, request: AppRequest, task_id: FromPath[str]) -> TaskOut:
        """The assignee, or a supervisor or head, releases the task."""
        return typed(TaskOut, await tasks.unclaim(request.user, task_id))

    @post(
        "/{task_id:str}/reassign",
        status_code=200,
        responses=writes(
            (403, "Only a supervisor or head may reassign."),
            404,
            NOT_OPEN,
            (422, "`$.username` is no active user of your authority, or may not do the task."),
        ),
    )
    async def reassign(
        self, request: AppRequest, task_id: FromPath[str], data: JSONBody[ReassignIn]
    ) -> TaskOut:
        """Supervisors and heads: give the task to another user of the authority."""
        return typed(TaskOut, await tasks.reassign(request.user, task_id, data.username))

    @post(
        "/{task_id:str}/complete",
        status_code=200,
        responses=writes(
            MAY_NOT,
            404,
            (409, "The task is no longer open, someone else holds it, or the shelter is full."),
            (422, "The form data is invalid: each bad field by JSON path (`$.data.motivo`)."),
        ),
    )
    async def complete(
        self, request: AppRequest, task_id: FromPath[str], data: JSONBody[CompleteIn]
    ) -> TaskCompletedOut:
        """Submit the task's form; 422 lists every bad field by JSON path, 409 if the task is
        no longer open."""
        return typed(TaskCompletedOut, await tasks.complete(request.user, task_id, data.data))
