"""Deadlines: fire every case timer that is due (escalations, follow-up waits, 18th birthday).

The engine never reads the clock; this worker finds cases whose ``next_due_at`` has passed and
runs each in its own command (as the ``system`` actor), so one broken case cannot block the rest.
"""

from __future__ import annotations

import logging
from datetime import datetime

from app.clock import utcnow
from app.errors import ServiceError
from app.principal import SYSTEM
from app.services.context import command
from app.services.task_index import sync_tasks
from app.services.workflow import audit_engine_events, load_for_update, save
from app.tables import WorkflowState
from workflows import EngineError

log = logging.getLogger("careroute.timers")


async def fire_due(now: datetime | None = None, limit: int = 200) -> int:
    """Fire due timers of up to ``limit`` cases; returns how many cases were processed."""
    now = now or utcnow()
    due = (
        await WorkflowState.select(WorkflowState.case)
        .where(WorkflowState.next_due_at <= now)
        .order_by(WorkflowState.next_due_at)
        .limit(limit)
    )
    done = 0
    for row in due:
        try:
            async with command(SYSTEM, now) as cmd:
                loaded = await load_for_update(row["case_id"])
                loaded.events = list(loaded.engine_case.fire_timers(now))
                await save(cmd, loaded)
                audit_engine_events(cmd, loaded, loaded.events)
                await sync_tasks(cmd, loaded)
            done += 1
        except (ServiceError, EngineError):
            log.exception("firing timers of case %s failed", row["case_id"])
    return done
