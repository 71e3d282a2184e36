"""The one path every change to a case takes: lock and load, apply, dispatch, save; one transaction.

    async with case_command(actor, case_id) as s:      # BEGIN; lock + load the aggregate
        s.case.complete_task(task_id, data, s.now)     # the command: engine and domain events
        s.audit("task.completed", ...)                 # the command's own audit event
    # on exit, CaseSession.commit():
    #   1. policies: handlers that react by changing the case (admission -> placement, ...)
    #   2. save the engine state and the case row (version check)
    #   3. projections: task index and routing, escalations and notifications, audit of the
    #      engine's events, closure; then access, reconciled once from the final state
    #   4. the rows the handlers staged are written, one statement per kind (app/cases/writes.py)
    #   5. the audit events are chained; COMMIT (app/command.py)

Entry points (API, pages, worker, CLI) only authorize and apply; every side effect is a handler
listed in app/cases/handlers/__init__.py. The worker runs many sessions in one transaction, each
in a savepoint (app/services/deadlines.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.cases import repository
from app.cases.aggregate import CaseAggregate, CaseEvent, Event
from app.cases.writes import CaseWrites
from app.command import Command, command
from app.principal import Actor


@dataclass
class CaseSession:
    cmd: Command
    case: CaseAggregate
    #: results handlers leave for the entry point (e.g. the tasks newly routed)
    results: dict[str, Any] = field(default_factory=dict)
    #: rows the handlers write at the end, one statement per kind (app/cases/writes.py); a
    #: worker's batch shares one across its cases and writes it once (``own_writes=False``)
    writes: CaseWrites = field(default_factory=CaseWrites)
    own_writes: bool = True
    _policy_cursor: int = 0

    @property
    def now(self) -> datetime:
        return self.cmd.now

    @property
    def actor(self) -> Actor:
        return self.cmd.actor

    def audit(self, action: str, **kw: Any) -> None:
        """Record an audit event about this case (chained at commit)."""
        kw.setdefault("case_id", self.case.id)
        kw.setdefault("case_folio", self.case.folio)
        self.cmd.audit(action, **kw)

    async def commit(self) -> None:
        """Run the handlers for everything the command did, then save; raises to roll back."""
        from app.cases import handlers

        if not self.case.touched:
            return  # e.g. a claim: its own audit event is all there is
        await self._run_policies(handlers.POLICIES)
        if self.case.changed:
            await repository.save(self.case, self.now, self.writes)
        await self._run_projections(handlers.PROJECTIONS, handlers.FINALIZERS)
        if self.own_writes:
            await self.writes.flush(self.cmd.events)

    async def _run_policies(self, policies: dict[str, list[Any]]) -> None:
        while self._policy_cursor < len(self.case.events):
            event = self.case.events[self._policy_cursor]
            self._policy_cursor += 1
            for handler in policies.get(event.kind, ()):
                await handler(self, event)

    async def _run_projections(
        self, projections: dict[str, list[Any]], finalizers: list[Any]
    ) -> None:
        queue: list[Event] = [CaseEvent("case_changed", {}), *self.case.events]
        self.case.events = queue  # handlers record more events; they are dispatched too
        index = 0
        while index < len(queue):
            event = queue[index]
            index += 1
            for handler in projections.get(event.kind, ()):
                await handler(self, event)
        for finalizer in finalizers:
            await finalizer(self)


@asynccontextmanager
async def case_command(
    actor: Actor, case_id: int, now: datetime | None = None
) -> AsyncIterator[CaseSession]:
    """One command on one existing case, in its own transaction."""
    async with command(actor, now) as cmd:
        session = CaseSession(cmd, await repository.load_for_update(case_id))
        yield session
        await session.commit()


@asynccontextmanager
async def task_command(
    actor: Actor, task_id: str, viewer_authority_id: int, now: datetime | None = None
) -> AsyncIterator[tuple[CaseSession, dict[str, Any]]]:
    """One command on the case of a task: the session, and the task's index row read under the
    lock (with ``visible``: whether the viewer's authority may see the case). The caller
    authorizes before it changes anything; raising rolls everything back."""
    async with command(actor, now) as cmd:
        task, case = await repository.load_for_task(task_id, viewer_authority_id)
        session = CaseSession(cmd, case)
        yield session, task
        await session.commit()
