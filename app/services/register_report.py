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
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Count

from app.tables import DeadlineRegister

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


def _finish(group: dict[str, Any], late: list[float]) -> dict[str, Any]:
    decided = group["met"] + group["breached"]
    group["on_time_pct"] = round(100 * group["met"] / decided, 1) if decided else None
    group["median_hours_late"] = _hours(statistics.median(late)) if late else None
    return group


async def compliance(flt: RegisterFilter, now: datetime) -> dict[str, Any]:
    """Counts per (deadline, authority, state), summed per deadline, per authority, per state
    and overall; open breaches with their lateness; median lateness of every breach."""
    rows = await (
        DeadlineRegister.select(
            DeadlineRegister.plazo_id,
            DeadlineRegister.authority.code.as_alias("authority"),
            DeadlineRegister.estado,
            DeadlineRegister.status,
            Count(alias="n"),
        )
        .where(flt.where())
        .group_by(
            DeadlineRegister.plazo_id,
            DeadlineRegister.authority.code,
            DeadlineRegister.estado,
            DeadlineRegister.status,
        )
    )
    breaches = await DeadlineRegister.select(
        DeadlineRegister.case_folio,
        DeadlineRegister.plazo_id,
        DeadlineRegister.authority.code.as_alias("authority"),
        DeadlineRegister.estado,
        DeadlineRegister.task_bpmn_id,
        DeadlineRegister.due_at,
        DeadlineRegister.closed_at,
        DeadlineRegister.levels_reached,
    ).where(flt.where() & (DeadlineRegister.status == "breached"))
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["plazo_id"], r["authority"] or "", r["estado"] or "")
        g = groups.setdefault(key, _empty())
        g["deadlines"] += r["n"]
        g[r["status"]] += r["n"]
    late: dict[tuple[str, str, str], list[float]] = {}
    open_breaches = []
    for b in breaches:
        key = (b["plazo_id"], b["authority"] or "", b["estado"] or "")
        seconds = ((b["closed_at"] or now) - b["due_at"]).total_seconds()
        late.setdefault(key, []).append(seconds)
        if b["closed_at"] is None:
            # setdefault: a row breached between the two reads still counts once, here
            groups.setdefault(key, _empty())["breached_open"] += 1
            open_breaches.append(b | {"hours_late": _hours(seconds)})
    open_breaches.sort(key=lambda b: -b["hours_late"])

    def summed(index: int | None) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        lates: dict[str, list[float]] = {}
        for key, g in groups.items():
            name = "" if index is None else key[index]
            s = out.setdefault(name, _empty())
            for field in ("deadlines", *STATUSES, "breached_open"):
                s[field] += g[field]
            lates.setdefault(name, []).extend(late.get(key, []))
        return [_finish({"key": k} | out[k], lates[k]) for k in sorted(out)]

    totals = summed(None)
    return {
        "rows": [
            _finish(
                {"deadline_id": k[0], "authority": k[1] or None, "estado": k[2] or None} | g,
                late.get(k, []),
            )
            for k, g in sorted(groups.items())
        ],
        "totals": _strip_key(totals[0]) if totals else _finish(_empty(), []),
        "by_deadline": summed(0),
        "by_authority": summed(1),
        "by_state": summed(2),
        "open_breaches": open_breaches[:OPEN_BREACHES_SHOWN],
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
