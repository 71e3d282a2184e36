"""Custody in a migration station (LM art. 99): the row and its audit event, and the policy that
turns the channelling record's answer "the child was in a migration station" into a custody.

``custody_started`` and ``custody_ended`` are recorded by the aggregate
(``CaseAggregate.start_custody`` / ``end_custody``). ``write_started`` must run first for
``custody_started``: it inserts the row and gives the event its ``custody_id``, which the
handlers after it (the audit event here; the breach register) read.

``record_from_channelling`` (a policy on ``task_completed``): INM's ``emitir_acta_canalizacion``
records where the child was until placed at the DIF's disposal. A migration station or a place
set up as one (``lugar_antes_canalizacion``) is a custody from ``estancia_desde`` until the
hand-over (``fecha_hora_puesta_disposicion_dif``), at the INM authority that completes the task.
A custody already recorded for that stay is ended at the hand-over instead of recorded twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.audit import text_digests
from app.cases.aggregate import Event, instant
from app.errors import InvalidInput
from app.tables import StationCustody

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


CHANNELLING_TASK = "emitir_acta_canalizacion"
STATION_PLACES = frozenset({"estacion_migratoria", "lugar_habilitado"})
#: a custody's fields as the channelling form names them, for its 422s
FORM_PATHS = {
    "$.started_at": "$.data.estancia_desde",
    "$.ended_at": "$.data.fecha_hora_puesta_disposicion_dif",
    "$.station_name": "$.data.estacion_nombre",
    "$.station_authority_id": "$.data.lugar_antes_canalizacion",
}


async def records(case_id: int) -> list[dict[str, Any]]:
    """A case's custody rows as the aggregate checks them (read under the case's lock)."""
    return await StationCustody.select(
        StationCustody.id,
        StationCustody.station.id.as_alias("station_authority_id"),
        StationCustody.station_name,
        StationCustody.started_at,
        StationCustody.ended_at,
    ).where(StationCustody.case == case_id)


async def record_from_channelling(session: CaseSession, event: Event) -> None:
    if event.data.get("bpmn_id") != CHANNELLING_TASK:
        return
    form = session.case.engine.forms.get(CHANNELLING_TASK) or {}
    if form.get("lugar_antes_canalizacion") not in STATION_PLACES:
        return
    started = instant(form.get("estancia_desde"))
    ended = instant(form.get("fecha_hora_puesta_disposicion_dif"))
    if started is None or ended is None:  # the form's schema requires both, with their zone
        return
    existing = await records(session.case.id)
    same = [
        c
        for c in existing
        if c["started_at"] <= started and (c["ended_at"] is None or c["ended_at"] >= started)
    ]
    try:
        if same and same[0]["ended_at"] is None:
            session.case.end_custody(same[0], ended, session.now, session.actor.user_id)
        elif not same:
            session.case.start_custody(
                station_id=session.actor.authority_id,
                station_name=str(form.get("estacion_nombre") or ""),
                started_at=started,
                ended_at=ended,
                now=session.now,
                recorded_by=session.actor.user_id,
                recorded_by_authority=session.actor.authority_id,
                custodies=existing,
                source=CHANNELLING_TASK,
            )
    except InvalidInput as exc:
        errors = [e | {"path": FORM_PATHS.get(e["path"], e["path"])} for e in exc.errors]
        raise InvalidInput(f"form {CHANNELLING_TASK} is invalid", errors) from exc


async def write_started(session: CaseSession, event: Event) -> None:
    data = event.data
    row = (
        await StationCustody.insert(
            StationCustody(
                case=session.case.id,
                station=data["station_authority_id"],
                station_name=data["station_name"],
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                recorded_by=data["recorded_by"],
                recorded_by_authority=data["recorded_by_authority_id"],
                recorded_at=session.now,
                ended_by=data["recorded_by"] if data["ended_at"] is not None else None,
                end_recorded_at=session.now if data["ended_at"] is not None else None,
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
            # the name as typed stays in the custody record
            **text_digests(station_name=data["station_name"]),
            "started_at": _iso(data["started_at"]),
            "ended_at": _iso(data["ended_at"]),
            "source": data.get("source", "record"),
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
