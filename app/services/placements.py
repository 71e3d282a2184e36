"""Placements: a child admitted to a shelter (CAS) or placed in family-based care (kinship,
foster, pre-adoptive, family of origin: the route's formalizar_acogimiento_familiar), transferred,
discharged (with where the child goes), or who left.

Who may act: the shelter's own people, or the Procuraduría handling the case (it orders
placements); a transfer only the Procuraduría (where the child lives is part of its protection
measure); on a family placement only the Procuraduría (it reports a child who left the family). Both must be able to see the case (else 404); oversight is read-only (403). No child is
admitted without a protection measure (409 naming the guarantee: app/cases/placement.py).
Capacity is enforced on admission and transfer: a full shelter answers 409. A child who left the
placement is recorded even if the route is not at a point that expects it, because the fact must
never be lost; the engine is sent ``nna_salio_colocacion`` whenever it waits for it, which starts
the missing-child protocol.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app import access, routing
from app.audit import text_digests
from app.cases import placement as stay
from app.cases.unit_of_work import case_command
from app.clock import utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from app.principal import Principal
from app.tables import Authority, Case, Placement
from workflows.forms import FECHA_MINIMA, TOLERANCIA_FUTURO

LEFT_MESSAGE = "nna_salio_colocacion"
#: Where a child goes when a placement ends (the pages offer these).
DESTINOS = stay.DESTINOS
#: Longest description of how the child left (the route's form keeps the rest).
MAX_CIRCUMSTANCES = 100


async def _check_manager(
    principal: Principal, case_id: int, shelter_id: int | None, kind: str = stay.CAS
) -> None:
    if not await access.can_see_case(principal, case_id):
        raise NotFound("case not found")
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    if kind != stay.CAS and principal.authority_tipo != "PROCURADURIA":
        raise Forbidden("only the Procuraduría handling the case acts on a family placement")
    if principal.authority_id != shelter_id and principal.authority_tipo != "PROCURADURIA":
        raise Forbidden("only the shelter or the Procuraduría handling the case may do this")


async def _case_id(folio: str) -> int:
    row = await Case.select(Case.id).where(Case.folio == folio).first()
    if row is None:
        raise NotFound("case not found")
    return row["id"]


async def _placement(placement_id: int) -> dict[str, Any]:
    row = await Placement.select().where(Placement.id == placement_id).first()
    if row is None:
        raise NotFound("placement not found")
    return row


async def admit(principal: Principal, folio: str, shelter_id: int) -> dict[str, Any]:
    case_id = await _case_id(folio)
    await _check_manager(principal, case_id, shelter_id)
    async with case_command(principal.actor, case_id) as s:
        s.case.require_open()
        placement_id = await stay.admit(s, shelter_id, principal.user_id)
    return await placement_view(placement_id)


async def transfer(
    principal: Principal, placement_id: int, to_shelter_id: int, reason: str
) -> dict[str, Any]:
    placement = await _placement(placement_id)
    await _check_manager(principal, placement["case_id"], placement["shelter_id"])
    if placement["kind"] != stay.CAS:
        raise Conflict("a family placement is not transferred: end it and place the child again")
    if principal.authority_tipo != "PROCURADURIA":
        # where the child lives is part of the protection measure, the Procuraduría's decision
        raise Forbidden("only the Procuraduría handling the case orders a transfer")
    async with case_command(principal.actor, placement["case_id"]) as s:
        placement = await _placement(placement_id)  # under the lock
        if to_shelter_id == placement["shelter_id"]:
            raise field_error("$.to_shelter_id", "the child is already in this shelter")
        target = stay.shelter(s, to_shelter_id)
        await stay.check_capacity(target)
        await stay.end(s, placement, "transferred", reason)
        s.audit(
            "placement.transferred",
            authority_id=placement["shelter_id"],
            changes={"placement_id": placement_id, "to_shelter": target.code},
        )
        new_id = await stay.admit(s, to_shelter_id, principal.user_id)
    return await placement_view(new_id)


def destino_of(value: Any) -> str:
    """Where the child goes when a placement ends (required: no child leaves a placement
    without a recorded destination); a 422 naming ``$.destino`` otherwise."""
    if value in (None, ""):
        raise field_error("$.destino", "is required")
    if value not in stay.DESTINOS:
        raise field_error("$.destino", f"must be one of {', '.join(stay.DESTINOS)}")
    return str(value)


async def discharge(
    principal: Principal, placement_id: int, reason: str, destino: Any = None
) -> dict[str, Any]:
    destino = destino_of(destino)
    placement = await _placement(placement_id)
    await _check_manager(
        principal, placement["case_id"], placement["shelter_id"], placement["kind"]
    )
    async with case_command(principal.actor, placement["case_id"]) as s:
        placement = await _placement(placement_id)
        await stay.end(s, placement, "discharged", reason, destino)
        s.audit(
            "placement.discharged",
            authority_id=placement["shelter_id"],
            # the destination is a value of a list, never text about the child
            changes={"placement_id": placement_id, "kind": placement["kind"], "destino": destino},
        )
    return await placement_view(placement_id)


def left_payload(
    fecha_hora_salida: Any, circunstancias: Any, indicios_riesgo: Any, now: datetime | None = None
) -> dict:
    """Validate what is recorded when a child leaves a placement (API and pages alike): an
    instant with its zone, not in the future nor before ``FECHA_MINIMA`` (the missing-child
    protocol's deadlines count from it), and a short description; every bad field at once."""
    now = now or utcnow()
    errors = []
    when = fecha_hora_salida
    if isinstance(when, str) and when.strip():
        try:
            when = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
        except ValueError:
            when = None
    if when in (None, ""):
        errors.append({"path": "$.fecha_hora_salida", "message": "is required"})
    elif not isinstance(when, datetime) or when.tzinfo is None:
        errors.append({"path": "$.fecha_hora_salida", "message": "is not a 'date-time'"})
    elif when > now + TOLERANCIA_FUTURO:
        errors.append({"path": "$.fecha_hora_salida", "message": "is in the future"})
    elif when.date() < FECHA_MINIMA:
        errors.append(
            {"path": "$.fecha_hora_salida", "message": f"is before {FECHA_MINIMA.isoformat()}"}
        )
    text = str(circunstancias or "").strip()
    if not text:
        errors.append({"path": "$.circunstancias", "message": "is required"})
    elif len(text) > MAX_CIRCUMSTANCES:
        errors.append({"path": "$.circunstancias", "message": f"'{text}' is too long"})
    if errors:
        raise InvalidInput("the departure is not valid", errors)
    assert isinstance(when, datetime)
    return {
        "fecha_hora_salida": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "circunstancias": text,
        "indicios_riesgo": bool(indicios_riesgo),
    }


async def left(principal: Principal, placement_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The child left the placement: record it, and start the missing-child protocol."""
    payload = left_payload(
        payload.get("fecha_hora_salida"),
        payload.get("circunstancias"),
        payload.get("indicios_riesgo"),
    )
    placement = await _placement(placement_id)
    await _check_manager(
        principal, placement["case_id"], placement["shelter_id"], placement["kind"]
    )
    async with case_command(principal.actor, placement["case_id"]) as s:
        placement = await _placement(placement_id)
        await stay.end(s, placement, "left", payload["circunstancias"])
        notified = s.case.send_message(LEFT_MESSAGE, payload, s.now)
        s.audit(
            "placement.left",
            authority_id=placement["shelter_id"],
            changes={
                "placement_id": placement_id,
                "kind": placement["kind"],
                "route_notified": notified,
                # the text is the placement's end reason (and the route's message)
                **text_digests(circunstancias=payload["circunstancias"]),
            },
        )
    view = await placement_view(placement_id)
    view["route_notified"] = notified
    return view


async def placement_view(placement_id: int) -> dict[str, Any]:
    row = (
        await Placement.select(
            Placement.id,
            Placement.case.folio.as_alias("folio"),
            Placement.shelter.id.as_alias("shelter_id"),
            Placement.shelter.code.as_alias("shelter_code"),
            Placement.kind,
            Placement.status,
            Placement.admitted_at,
            Placement.ended_at,
            Placement.destino,
        )
        .where(Placement.id == placement_id)
        .first()
    )
    assert row is not None
    return row


async def shelters(principal: Principal) -> list[dict[str, Any]]:
    """Every shelter with capacity and occupancy (counts only, no child data)."""
    rows = await Authority.select(
        Authority.id,
        Authority.code,
        Authority.name,
        Authority.estado,
        Authority.municipio,
        Authority.capacidad,
    ).where((Authority.tipo == "DIF_CAS") & (Authority.active.eq(True)))
    used = await routing.occupancy([r["id"] for r in rows])
    for row in rows:
        row["occupancy"] = used.get(row["id"], 0)
        cap = row["capacidad"]
        row["available"] = None if cap is None else max(cap - row["occupancy"], 0)
    return rows


async def children(principal: Principal, shelter_id: int) -> list[dict[str, Any]]:
    """Children currently in a shelter: its own people, oversight, or a Procuraduría (only the
    cases it handles)."""
    row = await Authority.select(Authority.id).where(
        (Authority.id == shelter_id) & (Authority.tipo == "DIF_CAS") & Authority.active.eq(True)
    )
    if not row:  # a resource named by the path: it does not exist (404), not a bad field
        raise NotFound("shelter not found")
    rows = await Placement.select(
        Placement.id,
        Placement.case.id.as_alias("case_id"),
        Placement.case.folio.as_alias("folio"),
        Placement.case.risk.as_alias("risk"),
        Placement.admitted_at,
    ).where(
        (Placement.shelter == shelter_id)
        & (Placement.status == "admitted")
        & (Placement.kind == stay.CAS)
    )
    if principal.is_oversight or principal.authority_id == shelter_id:
        return rows
    return [r for r in rows if await access.can_see_case(principal, r["case_id"])]
