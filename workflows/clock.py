"""Injected clock for SpiffWorkflow timers.

SpiffWorkflow 3.2 reads ``datetime.now(timezone.utc)`` inside its timer module, so timers would
follow the server's wall clock. Legal deadlines must be computed and fired from the time the caller
passes (tests, deadline workers replaying a sweep), so every engine call runs inside
``engine_clock(now)`` and the timer module's ``datetime`` is replaced by a subclass whose ``now()``
returns that instant. Outside an engine call, asking for the time is an error, never a silent
wall-clock read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer

from .errors import ClockNotSetError

_current_now: ContextVar[datetime | None] = ContextVar("careroute_engine_now", default=None)


class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` is the engine clock instead of the wall clock."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        current = _current_now.get()
        if current is None:
            raise ClockNotSetError("the engine clock is not set: pass now= to the engine call")
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


def require_aware(now: datetime, name: str = "now") -> datetime:
    """Reject naive datetimes: SpiffWorkflow would read them in server-local time."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return now.astimezone(timezone.utc)


@contextmanager
def engine_clock(now: datetime) -> Iterator[datetime]:
    """Run the enclosed engine work as if the time were ``now``."""
    aware = require_aware(now)
    token = _current_now.set(aware)
    try:
        yield aware
    finally:
        _current_now.reset(token)


def current_now() -> datetime:
    """The engine clock, for expression functions that compute deadlines."""
    current = _current_now.get()
    if current is None:
        raise ClockNotSetError("the engine clock is not set: pass now= to the engine call")
    return current


def install() -> None:
    """Point SpiffWorkflow's timer module at the engine clock (idempotent)."""
    _spiff_timer.datetime = _EngineDatetime


install()
