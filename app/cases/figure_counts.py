"""Kept counts of the case figures (migration 0021), written in the command's transaction by
the statements that write what they count, so the oversight dashboard reads a few rows per day
instead of sorting the period's cases (app/services/dashboard.py):

- ``case_day``: per day of opening (central Mexico, the pages' periods), ``figure`` and
  ``value``: ``casos`` (value ''), each disaggregation dimension (``sexo``, ``edad``,
  ``nacionalidad``, ``acompanamiento``; value '' when unknown), each funnel stage (value: the
  whole hours from the opening to reaching it) and ``notificada`` (value: the whole hours from
  detection to the first notification of the Procuraduría) with ``notificada_24h`` (value '':
  within 24 hours, exactly). Written by app/cases/handlers/figures.py with ``case_figure``.
  The hour histograms give medians to within half an hour (each value is known to its whole
  hour; the middle of the hour stands for it: docs/oversight.md).
- ``case_count``: cases per status and risk ('' : none), now. The opening adds one
  (app/services/cases.py), ``save_case_row`` (app/cases/repository.py) moves one when the
  status or the risk changes.

``tests/app/test_dashboard_figures.py`` recounts all of it from ``nna_case``,
``case_milestone`` and the task index after random activity.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from app.cases.register_counts import LOCAL_TZ, local_day, upsert_counts

#: the hour histograms' figures (funnel stages, notification)
NOTIFIED = "notificada"
NOTIFIED_24H = "notificada_24h"
CASES = "casos"

DayKey = tuple[date, str, str]


def instant(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value


def whole_hours(seconds: float) -> int:
    """The whole hours of a duration (floor: -0.5 h is hour -1)."""
    return int(seconds // 3600)


def middle_hours(bucket: int) -> float:
    """What a histogram's hour stands for: its middle (the value is within half an hour)."""
    return bucket + 0.5


async def add_days(counts: dict[DayKey, int]) -> None:
    """One upsert of ``case_day``, keys in sorted order."""
    await upsert_counts("case_day", ("day", "figure", "value"), counts)


def opening(opened_at: datetime, values: dict[str, Any]) -> dict[DayKey, int]:
    """What one case's opening counts (its row of ``case_figure``: ``values``)."""
    day = local_day(opened_at)
    out: dict[DayKey, int] = {(day, CASES, ""): 1}
    for dim in ("sexo", "edad", "nacionalidad", "acompanamiento"):
        out[(day, dim, values.get(dim) or "")] = 1
    return out


def stage(opened_at: Any, stage_name: str, at: datetime) -> dict[DayKey, int]:
    opened = instant(opened_at)
    hours = whole_hours((instant(at) - opened).total_seconds())
    return {(local_day(opened), stage_name, str(hours)): 1}


def notified(opened_at: Any, detected_at: Any, at: datetime) -> dict[DayKey, int]:
    detected = instant(detected_at)
    if detected is None:
        return {}
    day = local_day(instant(opened_at))
    seconds = (instant(at) - detected).total_seconds()
    out = {(day, NOTIFIED, str(whole_hours(seconds))): 1}
    if seconds <= 24 * 3600:
        out[(day, NOTIFIED_24H, "")] = 1
    return out


async def status_changed(
    before: tuple[str, str | None] | None, after: tuple[str, str | None] | None
) -> None:
    """A case's (status, risk) changed (None: no case): move it in ``case_count``."""
    if before == after:
        return
    changes: dict[tuple[str, str], int] = {}
    for key, n in ((before, -1), (after, 1)):
        if key is not None:
            k = (key[0], key[1] or "")
            changes[k] = changes.get(k, 0) + n
    await add_counts(changes)


async def add_counts(changes: dict[tuple[str, str], int]) -> None:
    """One upsert of ``case_count``: (status, risk '' for none) -> cases to add, keys in sorted
    order. For the opening and closing of one case, and for whoever stores many cases at once
    (the benches' seeding, tests' retiring of seeded cases) without the command path."""
    await upsert_counts("case_count", ("status", "risk"), changes)


__all__ = ["LOCAL_TZ", "add_counts", "add_days", "notified", "opening", "stage", "status_changed"]
