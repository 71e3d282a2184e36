"""Server time. Every command takes ``now`` from here once, so one command has one instant,
and tests can move time forward to fire deadlines without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests, demo); ``None`` restores the wall clock."""
    global _source
    _source = source or (lambda: datetime.now(UTC))
