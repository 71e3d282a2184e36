"""Deadlines: fire every case timer that is due (escalations, follow-up waits, 18th birthday).

Kept for its callers (``careroute tick``); the worker itself is app/services/deadlines.py.
"""

from __future__ import annotations

from datetime import datetime

from app.services import deadlines


async def fire_due(now: datetime | None = None, limit: int | None = None) -> int:
    """Fire due timers (up to ``limit`` cases, default all due); returns how many cases fired."""
    result = await deadlines.sweep(now, limit=limit)
    return result.cases
