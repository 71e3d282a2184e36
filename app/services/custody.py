"""Custody in a migration station: a child held by the INM in an estación migratoria (or a place
set up as one) is a fact to record, never a box to tick (LM art. 99, reform DOF 11-11-2020: "En
ningún caso, el Instituto presentará ni alojará a niñas, niños o adolescentes migrantes en
estaciones migratorias ni en lugares habilitados para ello"; LM art. 112 fr. I: the INM puts the
child at the disposal of the DIF at once).

Who records it: officers (supervisors, heads) of an INM authority whose jurisdiction covers the
child's location, and of a Procuraduría that sees the case. A case one may not see answers 404
(docs/api.md "Who sees what"); oversight and other authorities that see the case get 403.

Each command goes through the case command path: the aggregate records ``custody_started`` /
``custody_ended``; the handlers (app/cases/handlers/custody.py) write the row and the audit
event, and the breach follows from the event. Hours held count to now while the child is held.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from app import access
from app.cases.handlers import custody as handler
from app.cases.unit_of_work import CaseSession, case_command
from app.clock import utcnow
from app.directory import Directory, directory
from app.errors import Forbidden, NotFound, field_error
from app.principal import Principal
from app.services import cases
from app.tables import Authority, Case, StationCustody

RECORDERS = ("INM", "PROCURADURIA")


def _check_recorder(principal: Principal, session: CaseSession) -> None:
    """May this caller record custody on this (visible) case? 403 if not."""
    _may_record(principal, session.case.directory, session.case.estado, session.case.municipio)


async def check_recorder(principal: Principal, folio: str) -> None:
    """The same checks before a page reads its form: 404 if the case is not visible, 403 if the
    caller may not record custody on it (so a refused caller never learns which field was bad)."""
    case_id = await cases.case_id_for(principal, folio)
    row = await Case.select(Case.estado, Case.municipio).where(Case.id == case_id).first()
    _may_record(principal, await directory(), row["estado"], row["municipio"])


def _may_record(principal: Principal, known: Directory, estado: str, municipio: str | None):
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    if principal.authority_tipo not in RECORDERS:
        raise Forbidden(
            "only the INM of the child's location or the Procuraduría handling the case "
            "records custody in a migration station"
        )
    if principal.authority_tipo == "INM":
        own = known.get(principal.authority_id)
        if own is None or not own.covers(estado, municipio):
            raise Forbidden("the child is outside your INM authority's jurisdiction")


async def start(
    principal: Principal,
    folio: str,
    *,
    station_authority_id: int | None,
    station_name: str,
    started_at: datetime,
    ended_at: datetime | None = None,
) -> dict[str, Any]:
    """Record that the child was held in a station from ``started_at`` (and until ``ended_at``,
    when the stay is learnt after it ended)."""
    case_id = await cases.case_id_for(principal, folio)
    if station_authority_id is None and principal.authority_tipo == "INM":
        station_authority_id = principal.authority_id  # an INM officer records its own station
    async with case_command(principal.actor, case_id) as s:
        _check_recorder(principal, s)
        s.case.start_custody(
            station_id=station_authority_id,
            station_name=station_name,
            started_at=started_at,
            ended_at=ended_at,
            now=s.now,
            recorded_by=principal.user_id,
            recorded_by_authority=principal.authority_id,
            custodies=await handler.records(case_id),  # under the lock
        )
    return await view(s.results["custody_id"])


async def end(
    principal: Principal,
    custody_id: int,
    ended_at: datetime | None = None,
    folio: str | None = None,
) -> dict[str, Any]:
    """Record that the child left the station at ``ended_at`` (default: now); ``folio``, when
    given, must be the record's case (the pages name both)."""
    row = (
        await StationCustody.select(
            StationCustody.case, StationCustody.case.folio.as_alias("folio")
        )
        .where(StationCustody.id == custody_id)
        .first()
    )
    if row is None or folio not in (None, row["folio"]):
        raise NotFound("custody record not found")
    if not await access.can_see_case(principal, row["case_id"]):
        raise NotFound("custody record not found")
    async with case_command(principal.actor, row["case_id"]) as s:
        _check_recorder(principal, s)
        custody = next(c for c in await handler.records(row["case_id"]) if c["id"] == custody_id)
        s.case.end_custody(custody, ended_at or s.now, s.now, principal.user_id)
    return await view(custody_id)


def parse_instant(text: str, path: str, *, required: bool) -> datetime | None:
    """An ISO instant typed in a page (already turned to UTC by the page), or a 422 naming
    ``path``; empty is None unless ``required``."""
    text = text.strip()
    if not text:
        if required:
            raise field_error(path, "is required")
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise field_error(path, f"'{text}' is not a 'date-time'") from exc


async def stations() -> list[dict[str, Any]]:
    """Active INM authorities: who may run a migration station."""
    return (
        await Authority.select(Authority.id, Authority.code, Authority.name)
        .where((Authority.tipo == "INM") & Authority.active.eq(True))
        .order_by(Authority.code)
    )


# ----------------------------------------------------------------------------- reading
def hours_held(started_at: datetime, ended_at: datetime | None, now: datetime) -> float:
    """Hours from the start to the end, or to ``now`` while the child is held."""
    return round(max(((ended_at or now) - started_at).total_seconds(), 0) / 3600, 2)


_COLUMNS = (
    StationCustody.id,
    StationCustody.case.folio.as_alias("folio"),
    StationCustody.station.id.as_alias("station_authority_id"),
    StationCustody.station.code.as_alias("station_code"),
    StationCustody.station_name,
    StationCustody.started_at,
    StationCustody.ended_at,
    StationCustody.recorded_by.username.as_alias("recorded_by"),
    StationCustody.recorded_by_authority.code.as_alias("recorded_by_authority"),
    StationCustody.recorded_at,
    StationCustody.ended_by.username.as_alias("ended_by"),
    StationCustody.end_recorded_at,
)


def _shaped(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    row["held"] = row["ended_at"] is None
    row["hours_held"] = hours_held(row["started_at"], row["ended_at"], now)
    row["legal_source"] = "LM art. 99"
    return row


async def view(custody_id: int, now: datetime | None = None) -> dict[str, Any]:
    row = await StationCustody.select(*_COLUMNS).where(StationCustody.id == custody_id).first()
    assert row is not None
    return _shaped(row, now or utcnow())


async def of_case(case_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """A case's custody records, oldest first (the caller has checked it may see the case)."""
    rows = (
        await StationCustody.select(*_COLUMNS)
        .where(StationCustody.case == case_id)
        .order_by(StationCustody.id)
    )
    now = now or utcnow()
    return [_shaped(r, now) for r in rows]


# ----------------------------------------------------------------------------- oversight
async def oversight_figures(
    since: datetime | None, until: datetime | None, now: datetime
) -> dict[str, Any]:
    """Children in migration stations (LM art. 99: every figure should be zero).

    ``held_now``: children held at ``now`` (custody records not ended, of any case). For the
    period [``since``, ``until``) (open ends: since the first record, until ``now``): the
    custody records that overlap it, the distinct children, and the hours held within the
    period (total, median and longest per record; a child still held counts to ``now``)."""
    held_rows = await StationCustody.select(StationCustody.case).where(
        StationCustody.ended_at.is_null()
    )
    held_now = len({r["case_id"] for r in held_rows})
    end = min(until, now) if until else now
    query = StationCustody.select(
        StationCustody.case, StationCustody.started_at, StationCustody.ended_at
    ).where(StationCustody.started_at < end)
    if since:
        query = query.where(StationCustody.ended_at.is_null() | (StationCustody.ended_at > since))
    hours = []
    children = set()
    for r in await query:
        start = max(r["started_at"], since) if since else r["started_at"]
        stop = min(r["ended_at"] or now, end)
        hours.append(max((stop - start).total_seconds(), 0) / 3600)
        children.add(r["case_id"])
    return {
        "held_now": held_now,
        "records": len(hours),
        "children": len(children),
        "hours_total": round(sum(hours), 2),
        "median_hours": round(statistics.median(hours), 2) if hours else None,
        "max_hours": round(max(hours), 2) if hours else None,
        "legal_source": "LM art. 99",
    }
