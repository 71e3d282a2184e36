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


async def upsert_counts(
    table: str, key_columns: tuple[str, ...], changes: dict[tuple, int]
) -> None:
    """Add ``n`` to each kept count keyed by ``key_columns`` in ``table``, one statement.

    Every kept-count table (``register_day``, ``register_late``, ``case_day``, ``case_count``)
    is written this way: keys in sorted order, so two commands that touch the same rows lock
    them in the same order and cannot deadlock; zero changes are not written."""
    from app.tables import RegisterDay

    items = sorted((k, n) for k, n in changes.items() if n)
    if not items:
        return
    columns = ", ".join((*key_columns, "n"))
    one = "(" + ", ".join("{}" for _ in range(len(key_columns) + 1)) + ")"
    await RegisterDay.raw(
        f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 (constants)
        + ", ".join(one for _ in items)
        + f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET n = {table}.n + excluded.n",
        *(v for k, n in items for v in (*k, n)),
    )


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


LateKey = tuple[date, str, int, str, int, int]


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def late_key(row: dict[str, Any], prefix: str = "") -> LateKey | None:
    """The lateness histogram's key of a register row (``register_late``, migration 0021), None
    unless it is a breach: day due, deadline, authority, state, open, and the hour: a closed
    breach's whole hours late (fixed once closed), an open breach's due hour in its day (its
    lateness is now minus its due instant: app/services/register_report.py)."""
    if row[prefix + "status"] != "breached":
        return None
    due, closed = _instant(row[prefix + "due_at"]), _instant(row[prefix + "closed_at"])
    local = due.astimezone(LOCAL_TZ)
    if closed is None:
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        hours = int((local - midnight).total_seconds() // 3600)
    else:
        hours = int((closed - due).total_seconds() // 3600)
    return (
        local.date(),
        row[prefix + "plazo_id"],
        row[prefix + "authority_id"] or 0,
        row[prefix + "estado"] or "",
        1 if closed is None else 0,
        hours,
    )


class Deltas:
    """The changes of one flush, summed per key (and per lateness key)."""

    def __init__(self) -> None:
        self.n: dict[Key, int] = {}
        self.late: dict[LateKey, int] = {}

    def add(self, k: Key, n: int) -> None:
        self.n[k] = self.n.get(k, 0) + n

    def add_late(self, k: LateKey | None, n: int) -> None:
        if k is not None:
            self.late[k] = self.late.get(k, 0) + n

    def inserted(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.add(key(row), 1)
            self.add_late(late_key(row), 1)

    def changed(self, old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> None:
        before, after = key(old, prefix), key(new)
        if before != after:
            self.add(before, -1)
            self.add(after, 1)
        late_before, late_after = late_key(old, prefix), late_key(new)
        if late_before != late_after:
            self.add_late(late_before, -1)
            self.add_late(late_after, 1)

    async def write(self) -> None:
        """One upsert of every key that changed, in key order (then the lateness keys)."""
        late, self.late = self.late, {}
        await upsert_counts(
            "register_late", ("day", "plazo_id", "authority_id", "estado", "open", "hours"), late
        )
        changes, self.n = self.n, {}
        await upsert_counts(
            "register_day", ("day", "plazo_id", "authority_id", "estado", "status", "open"), changes
        )
