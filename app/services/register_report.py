"""Compliance counted from the deadline register: one query for the counts, one for the breaches.

Every figure is a count of register rows (``deadline_register``) chosen by the same filter:
deadlines *due* in the period (``since`` <= due_at < ``until``), of one deadline id, authority
or state if asked. A row counts by its status: running, met, breached (open while not closed),
cancelled. On time % = met / (met + breached): deadlines already decided, running and cancelled
ones left out. Lateness: due instant to the closing instant, or to now while still open.
The API (`GET /api/v1/oversight/compliance`, ``/oversight/deadlines``) and the page call these
functions, so they show the same numbers.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from app import db
from app.cases import register_counts
from app.services import periods
from app.tables import Authority, DeadlineRegister

STATUSES = ("running", "met", "breached", "cancelled")
#: the authority filter's value for rows with no authority (unroutable): the drill-down of that
#: row of the report
NO_AUTHORITY = "-"
#: open breaches listed in the report (the longest late first); the listing has them all
OPEN_BREACHES_SHOWN = 100


@dataclass(frozen=True)
class RegisterFilter:
    since: datetime | None = None
    until: datetime | None = None
    plazo_id: str | None = None
    authority: str | None = None  # authority code
    estado: str | None = None
    status: str | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """The same filter as ``where()``, as SQL over ``deadline_register r`` (Piccolo's
        ``{}`` placeholders) and its values, for the aggregate statements."""
        parts, args = periods.between("r.due_at", self.since, self.until)
        parts.insert(0, "1 = 1")
        if self.plazo_id:
            parts.append("r.plazo_id = {}")
            args.append(self.plazo_id)
        if self.authority == NO_AUTHORITY:
            parts.append("r.authority_id IS NULL")
        elif self.authority:
            parts.append("r.authority_id IN (SELECT a.id FROM authority a WHERE a.code = {})")
            args.append(self.authority)
        if self.estado:
            parts.append("r.estado = {}")
            args.append(self.estado)
        if self.status == "breached_open":
            parts.append("r.status = 'breached' AND r.closed_at IS NULL")
        elif self.status:
            parts.append("r.status = {}")
            args.append(self.status)
        return " AND ".join(parts), args

    def where(self) -> Any:
        clause = DeadlineRegister.id.is_not_null()
        if self.since is not None:
            clause &= DeadlineRegister.due_at >= self.since
        if self.until is not None:
            clause &= DeadlineRegister.due_at < self.until
        if self.plazo_id:
            clause &= DeadlineRegister.plazo_id == self.plazo_id
        if self.authority == NO_AUTHORITY:
            clause &= DeadlineRegister.authority.is_null()
        elif self.authority:
            clause &= DeadlineRegister.authority.code == self.authority
        if self.estado:
            clause &= DeadlineRegister.estado == self.estado
        if self.status == "breached_open":
            clause &= (DeadlineRegister.status == "breached") & DeadlineRegister.closed_at.is_null()
        elif self.status:
            clause &= DeadlineRegister.status == self.status
        return clause


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _empty() -> dict[str, Any]:
    return {
        "deadlines": 0,
        **dict.fromkeys(STATUSES, 0),
        "breached_open": 0,
        "on_time_pct": None,
        "median_hours_late": None,
    }


async def _codes() -> dict[int, str]:
    return {r["id"]: r["code"] for r in await Authority.select(Authority.id, Authority.code)}


def weighted_median(values: list[tuple[float, int]]) -> float | None:
    """The median of values each counted ``n`` times (the mean of the two middle ones when
    the count is even, as ``statistics.median`` and ``percentile_cont(0.5)``)."""
    total = sum(n for _, n in values)
    if total <= 0:
        return None
    ordered = sorted(v for v in values if v[1] > 0)
    lo, hi = (total - 1) // 2, total // 2  # the middle positions (0-based)
    seen, low, high = 0, None, None
    for value, n in ordered:
        if low is None and lo < seen + n:
            low = value
        if hi < seen + n:
            high = value
            break
        seen += n
    return (low + high) / 2


def _groups(p: str, a: int, e: str) -> tuple[tuple[int, str, int, str], ...]:
    return ((0, p, a, e), (3, p, 0, ""), (5, "", a, ""), (6, "", 0, e), (7, "", 0, ""))


async def _late_histogram(
    flt: RegisterFilter, now: datetime
) -> dict[tuple[int, str, int, str], float]:
    """The medians of ``_late_seconds`` from the kept lateness histogram (``register_late``,
    app/cases/register_counts.py): a closed breach's whole hours late, an open breach's due
    hour in its day. Each value stands for the middle of its hour, so each median is within
    half an hour of the exact one (docs/oversight.md)."""
    parts, args = _day_sql(flt)
    # a closed breach's lateness does not depend on its day: summed over the period's days in
    # the database, so Python reads one row per (deadline, authority, state, hour); an open
    # breach's lateness does (now minus its due instant): kept per day
    day = "CASE WHEN r.open = 1 THEN r.day END"
    rows = await DeadlineRegister.raw(
        f"SELECT {day} AS day, r.plazo_id, r.authority_id, r.estado, r.open, r.hours,"  # noqa: S608
        f" SUM(r.n) AS n FROM register_late r WHERE {' AND '.join(parts)} AND r.n <> 0"
        f" GROUP BY r.plazo_id, r.authority_id, r.estado, r.open, {day}, r.hours",
        *args,
    )
    groups: dict[tuple[int, str, int, str], list[tuple[float, int]]] = {}
    midnights: dict[Any, datetime] = {}
    for r in rows:
        if int(r["open"]):
            day = r["day"]
            if day not in midnights:
                if isinstance(day, str):
                    day = date.fromisoformat(day)
                midnights[r["day"]] = datetime.combine(day, time(0), register_counts.LOCAL_TZ)
            due = midnights[r["day"]] + timedelta(hours=int(r["hours"]) + 0.5)
            seconds = (now - due).total_seconds()
        else:
            seconds = (int(r["hours"]) + 0.5) * 3600
        for key in _groups(r["plazo_id"], r["authority_id"] or 0, r["estado"] or ""):
            groups.setdefault(key, []).append((seconds, int(r["n"])))
    out = {}
    for key, values in groups.items():
        median = weighted_median(values)
        if median is not None:
            out[key] = median
    return out


async def _late_seconds(
    flt: RegisterFilter, now: datetime
) -> dict[tuple[int, str, str, str], float]:
    """Median lateness (seconds) of the filter's breaches, per (grouping, deadline, authority id,
    state): grouping 0 = the three together, 3 = per deadline, 5 = per authority, 6 = per state,
    7 = all. A period of whole days: from the kept histogram (to within half an hour);
    else exact, from the rows: PostgreSQL in one aggregate, SQLite in Python."""
    if whole_days(flt):
        return await _late_histogram(flt, now)
    where, args = flt.sql()
    where += " AND r.status = 'breached'"
    out: dict[tuple[int, str, str, str], float] = {}
    if not db.is_sqlite():
        rows = await DeadlineRegister.raw(
            "SELECT GROUPING(r.plazo_id, r.authority_id, r.estado) AS g, r.plazo_id,"  # noqa: S608
            " r.authority_id, r.estado, percentile_cont(0.5) WITHIN GROUP"
            " (ORDER BY EXTRACT(EPOCH FROM (COALESCE(r.closed_at, {}) - r.due_at))) AS late"
            f" FROM deadline_register r WHERE {where} GROUP BY GROUPING SETS"
            " ((r.plazo_id, r.authority_id, r.estado), (r.plazo_id), (r.authority_id),"
            " (r.estado), ())",
            now,
            *args,
        )
        for r in rows:
            if r["late"] is not None:
                key = (int(r["g"]), r["plazo_id"] or "", r["authority_id"] or 0, r["estado"] or "")
                out[key] = float(r["late"])
        return out
    rows = await DeadlineRegister.raw(
        "SELECT r.plazo_id, r.authority_id, r.estado, r.due_at, r.closed_at"  # noqa: S608
        f" FROM deadline_register r WHERE {where}",
        *args,
    )
    groups: dict[tuple[int, str, int, str], list[float]] = {}
    for r in rows:
        seconds = ((r["closed_at"] or now) - r["due_at"]).total_seconds()
        p, a, e = r["plazo_id"] or "", r["authority_id"] or 0, r["estado"] or ""
        for key in _groups(p, a, e):
            groups.setdefault(key, []).append(seconds)
    return {k: statistics.median(v) for k, v in groups.items()}


def whole_days(flt: RegisterFilter) -> bool:
    """Whether the per-day counts answer this filter exactly: a period of whole days in
    central Mexico (the pages' periods; open ends too) and no status asked."""
    return flt.status is None and periods.whole_days(flt.since, flt.until)


def _day_sql(flt: RegisterFilter) -> tuple[list[str], list[Any]]:
    """The filter over a per-day table ``r`` (``register_day``, ``register_late``)."""
    parts, args = periods.days_between("r.day", flt.since, flt.until)
    parts.insert(0, "1 = 1")
    if flt.plazo_id:
        parts.append("r.plazo_id = {}")
        args.append(flt.plazo_id)
    if flt.authority == NO_AUTHORITY:
        parts.append("r.authority_id = 0")
    elif flt.authority:
        parts.append("r.authority_id IN (SELECT a.id FROM authority a WHERE a.code = {})")
        args.append(flt.authority)
    if flt.estado:
        parts.append("r.estado = {}")
        args.append(flt.estado)
    return parts, args


async def counted(flt: RegisterFilter) -> list[dict[str, Any]]:
    """The filter's register rows counted per (deadline, authority, state, status, open), from
    the per-day counts (``register_day``, app/cases/register_counts.py): a few rows per day."""
    parts, args = _day_sql(flt)
    rows = await DeadlineRegister.raw(
        "SELECT r.plazo_id, r.authority_id, r.estado, r.status, r.open, SUM(r.n) AS n"  # noqa: S608
        f" FROM register_day r WHERE {' AND '.join(parts)}"
        " GROUP BY r.plazo_id, r.authority_id, r.estado, r.status, r.open",
        *args,
    )
    return [r for r in rows if int(r["n"])]


async def recount(flt: RegisterFilter) -> list[dict[str, Any]]:
    """The same counts from the register rows themselves (any period; and the check of the
    per-day counts: tests compare the two)."""
    where, args = flt.sql()
    return await DeadlineRegister.raw(
        "SELECT r.plazo_id, r.authority_id, r.estado, r.status,"  # noqa: S608 (constants)
        " CASE WHEN r.closed_at IS NULL THEN 1 ELSE 0 END AS open, COUNT(*) AS n"
        f" FROM deadline_register r WHERE {where} GROUP BY r.plazo_id, r.authority_id,"
        " r.estado, r.status, CASE WHEN r.closed_at IS NULL THEN 1 ELSE 0 END",
        *args,
    )


async def compliance(flt: RegisterFilter, now: datetime) -> dict[str, Any]:
    """Counts per (deadline, authority, state), summed per deadline, per authority, per state
    and overall; open breaches with their lateness; median lateness of every breach.

    The counts come from the per-day counts when the period is whole days (the pages' periods),
    else from the rows; the lateness medians from the period's breached rows
    (``deadline_register_report`` holds every column they read), the open breaches shown from
    ``deadline_register_open_breach`` in lateness order."""
    where, args = flt.sql()
    rows = await (counted(flt) if whole_days(flt) else recount(flt))
    codes = await _codes()
    late = await _late_seconds(flt, now)
    shown = await DeadlineRegister.raw(
        "SELECT r.case_folio, r.plazo_id, r.authority_id, r.estado, r.task_bpmn_id,"  # noqa: S608
        " r.due_at, r.closed_at, r.levels_reached FROM deadline_register r"
        f" WHERE {where} AND r.status = 'breached' AND r.closed_at IS NULL"
        f" ORDER BY r.due_at, r.id LIMIT {OPEN_BREACHES_SHOWN}",
        *args,
    )
    groups: dict[tuple[str, int, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["plazo_id"], r["authority_id"] or 0, r["estado"] or "")
        g = groups.setdefault(key, _empty())
        n = int(r["n"])
        g["deadlines"] += n
        g[r["status"]] += n
        if r["status"] == "breached" and int(r["open"]):
            g["breached_open"] += n
    open_breaches = []
    for b in shown:
        authority_id = b.pop("authority_id")
        b["authority"] = codes.get(authority_id) if authority_id else None
        b["hours_late"] = _hours((now - b["due_at"]).total_seconds())
        open_breaches.append(b)

    def finish(group: dict[str, Any], key: tuple[int, str, int, str]) -> dict[str, Any]:
        decided = group["met"] + group["breached"]
        group["on_time_pct"] = round(100 * group["met"] / decided, 1) if decided else None
        seconds = late.get(key)
        group["median_hours_late"] = _hours(seconds) if seconds is not None else None
        return group

    def summed(index: int | None) -> list[dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = {}
        for key, g in groups.items():
            name = "" if index is None else key[index]
            s = out.setdefault(name, _empty())
            for field in ("deadlines", *STATUSES, "breached_open"):
                s[field] += g[field]
        result = []
        for name in out:
            if index == 0:
                key, label = (3, name, 0, ""), name
            elif index == 1:
                key, label = (5, "", name, ""), codes.get(name, "") if name else ""
            elif index == 2:
                key, label = (6, "", 0, name), name
            else:
                key, label = (7, "", 0, ""), ""
            result.append(finish({"key": label} | out[name], key))
        return sorted(result, key=lambda r: r["key"])

    totals = summed(None)
    detail = [
        finish(
            {"deadline_id": k[0], "authority": codes.get(k[1]) if k[1] else None,
             "estado": k[2] or None} | g,
            (0, *k),
        )
        for k, g in groups.items()
    ]  # fmt: skip
    detail.sort(key=lambda r: (r["deadline_id"], r["authority"] or "", r["estado"] or ""))
    return {
        "rows": detail,
        "totals": _strip_key(totals[0]) if totals else finish(_empty(), (7, "", 0, "")),
        "by_deadline": summed(0),
        "by_authority": summed(1),
        "by_state": summed(2),
        "open_breaches": open_breaches,
        # the medians' precision: from the kept histogram to within half an hour, else exact
        "median_within_hours": 0.5 if whole_days(flt) else 0.0,
    }


def _strip_key(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k != "key"}


async def rows(flt: RegisterFilter, *, limit: int, after: int | None) -> list[dict[str, Any]]:
    """The register rows the filter selects, by id (keyset: the ids after ``after``)."""
    where = flt.where()
    if after is not None:
        where &= DeadlineRegister.id > after
    return await (
        DeadlineRegister.select(
            DeadlineRegister.id,
            DeadlineRegister.case_folio,
            DeadlineRegister.plazo_id,
            DeadlineRegister.task_id,
            DeadlineRegister.task_bpmn_id,
            DeadlineRegister.authority.code.as_alias("authority"),
            DeadlineRegister.estado,
            DeadlineRegister.legal_source,
            DeadlineRegister.start_event,
            DeadlineRegister.started_at,
            DeadlineRegister.armed_at,
            DeadlineRegister.backdated,
            DeadlineRegister.due_at,
            DeadlineRegister.calendario,
            DeadlineRegister.status,
            DeadlineRegister.breached_at,
            DeadlineRegister.closed_at,
            DeadlineRegister.outcome,
            DeadlineRegister.cancel_reason,
            DeadlineRegister.levels_reached,
        )
        .where(where)
        .order_by(DeadlineRegister.id)
        .limit(limit)
    )
