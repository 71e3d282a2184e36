"""Per-day counts of the deadline register (``register_day``), kept in the command's
transaction by the same statements that write the register (app/cases/writes.py).

A row counts the register rows of one key: the day their deadline is due (a day in central
Mexico, as the pages' periods), deadline, authority (0: none), state ('': none), status and
whether it is still open (``closed_at`` empty). Every statement that inserts or changes register
rows returns them as they were and as they are; the difference is added here, summed per key
and written in one upsert, keys in sorted order (two commands never wait for each other's rows
in opposite orders). The compliance report then reads a period's counts from at most a few rows
per day (app/services/register_report.py); a recount from the register rows gives the same
counts (tests/app/test_dashboard_figures.py). Breaches stay counted: a breached row moves from
open to closed, never out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("America/Mexico_City")
#: the columns a statement returns so that its change can be counted
COLUMNS = ("due_at", "plazo_id", "authority_id", "estado", "status", "closed_at")

Key = tuple[date, str, int, str, str, int]


def local_day(instant: datetime) -> date:
    return instant.astimezone(LOCAL_TZ).date()


def key(row: dict[str, Any], prefix: str = "") -> Key:
    """The counting key of a register row (``prefix``: the returned columns' prefix)."""
    due = row[prefix + "due_at"]
    if isinstance(due, str):
        due = datetime.fromisoformat(due)
    return (
        local_day(due),
        row[prefix + "plazo_id"],
        row[prefix + "authority_id"] or 0,
        row[prefix + "estado"] or "",
        row[prefix + "status"],
        1 if row[prefix + "closed_at"] is None else 0,
    )


class Deltas:
    """The changes of one flush, summed per key."""

    def __init__(self) -> None:
        self.n: dict[Key, int] = {}

    def add(self, k: Key, n: int) -> None:
        self.n[k] = self.n.get(k, 0) + n

    def inserted(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.add(key(row), 1)

    def changed(self, old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> None:
        before, after = key(old, prefix), key(new)
        if before != after:
            self.add(before, -1)
            self.add(after, 1)

    async def write(self) -> None:
        """One upsert of every key that changed, in key order."""
        from app.tables import RegisterDay

        changes = sorted((k, n) for k, n in self.n.items() if n)
        self.n = {}
        if not changes:
            return
        one = "({}, {}, {}, {}, {}, {}, {})"
        await RegisterDay.raw(
            "INSERT INTO register_day (day, plazo_id, authority_id, estado, status, open, n)"  # noqa: S608 (constants)
            " VALUES "
            + ", ".join(one for _ in changes)
            + " ON CONFLICT (day, plazo_id, authority_id, estado, status, open)"
            " DO UPDATE SET n = register_day.n + excluded.n",
            *(v for k, n in changes for v in (*k, n)),
        )
