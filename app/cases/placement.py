"""Placements inside a case command: admit the child to a shelter, end a stay.

Used by the placement commands (app/services/placements.py) and by the route's policies (a
shelter completing its admission task admits the child). Capacity is checked on admission: a full
shelter answers 409. A shelter in another state moves the case there. The placement row is
written here; its audit, the shelter's access and the re-routing of shelter tasks are handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app import routing
from app.directory import AuthorityRef
from app.errors import Conflict, GuaranteeViolation, field_error
from app.tables import Placement
from workflows.guarantees import CAS_SOLO_NNA, MEDIDA_ANTES_DEL_INGRESO, protection_measure

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


def shelter(session: CaseSession, shelter_id: int) -> AuthorityRef:
    """An active shelter (a DIF_CAS authority), or a 422 naming ``shelter_id``."""
    ref = session.case.directory.get(shelter_id)
    if ref is None or ref.tipo != "DIF_CAS" or not ref.active:
        raise field_error("$.shelter_id", "no active shelter (DIF_CAS authority) with this id")
    return ref


async def check_capacity(ref: AuthorityRef) -> None:
    if ref.capacidad is None:
        return
    used = (await routing.occupancy([ref.id])).get(ref.id, 0)
    if used >= ref.capacidad:
        raise Conflict(f"shelter {ref.code} is full ({used}/{ref.capacidad})")


async def admit(session: CaseSession, shelter_id: int, created_by: int | None) -> int:
    """Admit the child (capacity checked); returns the placement id. Admitting to the shelter
    the child is already in is a no-op; another one answers 409 (transfer instead). No child is
    admitted without a protection measure: the route's gate and the placement API both come
    here (409 naming the guarantee). Nor is an adult: a person the age assessment found an adult,
    or who turned 18 (a CAS is for children; a presumed adolescent is a child)."""
    case = session.case
    ref = shelter(session, shelter_id)
    adult = case.adult_by_law(session.now)
    if adult is not None:
        rule = CAS_SOLO_NNA
        why = (
            "the age assessment found this person an adult"
            if adult == "edad_adulta_determinada"
            else "this person has turned 18"
        )
        raise GuaranteeViolation(
            rule.name,
            rule.legal_source,
            f"{why}: a Centro de Asistencia Social admits children only ({adult})",
        )
    if protection_measure(case.engine.forms) is None:
        rule = MEDIDA_ANTES_DEL_INGRESO
        raise GuaranteeViolation(
            rule.name,
            rule.legal_source,
            "no protection measure has been issued for this child: the Procuraduría issues one "
            "(or an urgent measure is imposed) before any shelter admits the child",
        )
    if case.shelter_id is not None:
        current = await routing.current_shelter(case.id)
        if current is not None and current["shelter_id"] == shelter_id:
            return current["id"]
        placed = case.directory.get(case.shelter_id)
        raise Conflict(
            f"the child is placed at {placed.code if placed else case.shelter_id}; "
            "transfer instead of admitting"
        )
    await check_capacity(ref)
    row = (
        await Placement.insert(
            Placement(
                case=case.id,
                shelter=shelter_id,
                status="admitted",
                admitted_at=session.now,
                created_by=created_by,
            )
        ).returning(Placement.id)
    )[0]
    case.shelter_id = shelter_id
    case.reroute = True  # shelter tasks follow the child to this shelter
    case.record("placement_admitted", placement_id=row["id"], shelter_id=ref.id, shelter=ref.code)
    if ref.estado not in ("00", case.estado):
        case.relocate(ref.estado, ref.municipio, "admitted to a shelter", session.now)
    return row["id"]


async def end(session: CaseSession, placement: dict[str, Any], status: str, reason: str) -> None:
    """End an admitted stay (transferred, discharged, left); 409 if it already ended."""
    if placement["status"] != "admitted":
        raise Conflict(f"placement is already {placement['status']}")
    await Placement.update(
        {Placement.status: status, Placement.ended_at: session.now, Placement.end_reason: reason}
    ).where(Placement.id == placement["id"])
    if session.case.shelter_id == placement["shelter_id"]:
        session.case.shelter_id = None
    session.case.reroute = True
    session.case.record(
        "placement_ended",
        placement_id=placement["id"],
        shelter_id=placement["shelter_id"],
        status=status,
    )
