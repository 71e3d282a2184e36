"""A period filter, one shape for every report and list (D8): ``since`` <= instant < ``until``,
either end open, as SQL over an instant column; and, for the kept per-day counts, the same
period as days in central Mexico when both ends are local midnights (the pages' periods).

Used by the compliance report (app/services/register_report.py: deadlines *due* in the
period), the dashboard's case figures (app/services/dashboard.py: cases *detected*, i.e.
opened, in it), the notification times (app/services/oversight.py) and the case list
(app/services/case_search.py: opened between).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from app.cases.register_counts import LOCAL_TZ, local_day


def between(
    column: str, since: datetime | None, until: datetime | None
) -> tuple[list[str], list[Any]]:
    """``column`` (a constant of the caller) in [since, until): the conditions (Piccolo's ``{}``
    placeholders) and their values."""
    parts: list[str] = []
    args: list[Any] = []
    if since is not None:
        parts.append(f"{column} >= {{}}")
        args.append(since)
    if until is not None:
        parts.append(f"{column} < {{}}")
        args.append(until)
    return parts, args


def local_midnight(instant: datetime | None) -> bool:
    """An open end, or a midnight in central Mexico."""
    if instant is None:
        return True
    local = instant.astimezone(LOCAL_TZ)
    return local.time() == time(0) and local.tzinfo is not None


def whole_days(since: datetime | None, until: datetime | None) -> bool:
    """Whether the per-day counts answer this period exactly."""
    return local_midnight(since) and local_midnight(until)


def days_between(
    column: str, since: datetime | None, until: datetime | None
) -> tuple[list[str], list[Any]]:
    """The same period over a column of days in central Mexico (``whole_days`` periods)."""
    return between(
        column,
        local_day(since) if since is not None else None,
        local_day(until) if until is not None else None,
    )
