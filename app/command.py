"""The command context: one write transaction, one instant, and the audit events to chain.

Every state-changing service runs inside ``command()``: workflow state, task index, placements and
the audit events all commit together, or none of them does (an exception anywhere rolls back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import audit
from app.clock import utcnow
from app.db import write_tx
from app.principal import Actor


@dataclass
class Command:
    actor: Actor
    now: datetime
    events: list[audit.PendingEvent] = field(default_factory=list)

    def audit(
        self,
        action: str,
        *,
        case_id: int | None = None,
        case_folio: str | None = None,
        task_id: str | None = None,
        authority_id: int | None = None,
        changes: dict[str, Any] | None = None,
        legal_basis: str | None = None,
    ) -> None:
        self.events.append(
            audit.PendingEvent(
                actor=self.actor,
                action=action,
                at=self.now,
                case_id=case_id,
                case_folio=case_folio,
                task_id=task_id,
                authority_id=authority_id,
                changes=changes or {},
                legal_basis=legal_basis,
            )
        )


@asynccontextmanager
async def command(actor: Actor, now: datetime | None = None) -> AsyncIterator[Command]:
    async with write_tx():
        cmd = Command(actor, now or utcnow())
        yield cmd
        await audit.append(cmd.events)
