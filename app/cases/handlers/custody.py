"""Custody in a migration station (LM art. 99): the row and its audit event.

``custody_started`` and ``custody_ended`` are recorded by the aggregate
(``CaseAggregate.start_custody`` / ``end_custody``). ``write_started`` must run first for
``custody_started``: it inserts the row and gives the event its ``custody_id``, which the
handlers after it (the audit event here; the breach register) read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event
from app.tables import StationCustody

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def write_started(session: CaseSession, event: Event) -> None:
    data = event.data
    row = (
        await StationCustody.insert(
            StationCustody(
                case=session.case.id,
                station=data["station_authority_id"],
                station_name=data["station_name"],
                started_at=data["started_at"],
                ended_at=None,
                recorded_by=data["recorded_by"],
                recorded_by_authority=data["recorded_by_authority_id"],
                recorded_at=session.now,
            )
        ).returning(StationCustody.id)
    )[0]
    data["custody_id"] = row["id"]
    session.results["custody_id"] = row["id"]


async def write_ended(session: CaseSession, event: Event) -> None:
    data = event.data
    await StationCustody.update(
        {
            StationCustody.ended_at: data["ended_at"],
            StationCustody.ended_by: data["ended_by"],
            StationCustody.end_recorded_at: session.now,
        }
    ).where(StationCustody.id == data["custody_id"])
    session.results["custody_id"] = data["custody_id"]


def _iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat() if value is not None else None


async def audit_started(session: CaseSession, event: Event) -> None:
    data = event.data
    session.audit(
        "custody.started",
        authority_id=data["station_authority_id"],
        changes={
            "custody_id": data["custody_id"],
            "station": data["station_code"],
            "station_name": data["station_name"],
            "started_at": _iso(data["started_at"]),
        },
        legal_basis=data["legal_source"],
    )


async def audit_ended(session: CaseSession, event: Event) -> None:
    data = event.data
    held = (data["ended_at"] - data["started_at"]).total_seconds() / 3600
    session.audit(
        "custody.ended",
        authority_id=data["station_authority_id"],
        changes={
            "custody_id": data["custody_id"],
            "started_at": _iso(data["started_at"]),
            "ended_at": _iso(data["ended_at"]),
            "hours_held": round(held, 2),
        },
        legal_basis=data["legal_source"],
    )
