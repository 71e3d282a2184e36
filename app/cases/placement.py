"""Placements inside a case command: admit the child to a shelter or place the child with a
family, end a placement.

Used by the placement commands (app/services/placements.py) and by the route's policies (a
shelter completing its admission task admits the child; the DIF formalising family-based care
places the child with the family). Capacity is checked on admission to a shelter: a full
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

#: A stay in a Centro de Asistencia Social (the only kind that counts against capacity).
CAS = "cas"
#: Family-based care (LGDNNA art. 26): the child lives with a family the DIF follows up.
FAMILY_KINDS = ("familia_origen", "familia_extensa", "acogimiento", "preadoptivo")
KINDS = (CAS, *FAMILY_KINDS)
#: Where a child goes when a placement ends by discharge or closure (the closure form's
#: ``destino_nna`` values; forms/proponer_cierre.schema.json).
DESTINOS = (
    "familia_origen",
    "familia_extensa",
    "familia_acogida",
    "vida_independiente",
    "otra_entidad_federativa",
    "otro_pais",
    "no_localizada",
    "otro",
)

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


def shelter(session: CaseSession, shelter_id: int) -> AuthorityRef:
    """An active shelter (a DIF_CAS authority), or a 422 naming ``shelter_id``."""
    ref = session.case.directory.get(shelter_id)
    if ref is None or ref.tipo != "DIF_CAS" or not ref.active:
        raise field_error("$.shelter_id", "no active shelter (DIF_CAS authority) with this id")
    return ref


async def check_capacity(ref: AuthorityRef) -> None:
    """A full shelter answers 409 (only stays in a CAS count: routing.occupancy)."""
    if ref.capacidad is None:
        return
    used = (await routing.occupancy([ref.id])).get(ref.id, 0)
    if used >= ref.capacidad:
        raise Conflict(f"shelter {ref.code} is full ({used}/{ref.capacidad})")


def _require_measure(session: CaseSession) -> None:
    """No placement without a protection measure (the route's gate and the API alike)."""
    if protection_measure(session.case.engine.forms) is None:
        rule = MEDIDA_ANTES_DEL_INGRESO
        raise GuaranteeViolation(
            rule.name,
            rule.legal_source,
            "no protection measure has been issued for this child: the Procuraduría issues one "
            "(or an urgent measure is imposed) before any shelter admits the child or a family "
            "receives the child",
        )


def _require_child(session: CaseSession) -> None:
    """A CAS is for children: not a person the age assessment found an adult, nor one who
    turned 18 (a presumed adolescent is a child)."""
    adult = session.case.adult_by_law(session.now)
    if adult is None:
        return
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


async def _already_placed(session: CaseSession, authority_id: int, kind: str) -> int | None:
    """The open placement if it is this one (a no-op), else 409: one placement at a time."""
    case = session.case
    if case.shelter_id is None:
        return None
    current = await routing.current_shelter(case.id)
    if current is not None and current["shelter_id"] == authority_id and current["kind"] == kind:
        return current["id"]
    placed = case.directory.get(case.shelter_id)
    raise Conflict(
        f"the child is placed at {placed.code if placed else case.shelter_id}; "
        "transfer instead of admitting"
    )


async def _insert(
    session: CaseSession, ref: AuthorityRef, kind: str, created_by: int | None
) -> int:
    case = session.case
    row = (
        await Placement.insert(
            Placement(
                case=case.id,
                shelter=ref.id,
                status="admitted",
                admitted_at=session.now,
                created_by=created_by,
                kind=kind,
            )
        ).returning(Placement.id)
    )[0]
    case.shelter_id = ref.id
    case.reroute = True  # DIF tasks follow the child to this shelter (or the DIF following it)
    case.record(
        "placement_admitted",
        placement_id=row["id"],
        shelter_id=ref.id,
        shelter=ref.code,
        placement_kind=kind,
    )
    return row["id"]


async def admit(session: CaseSession, shelter_id: int, created_by: int | None) -> int:
    """Admit the child to a shelter (capacity checked); returns the placement id. Admitting to
    the shelter the child is already in is a no-op; another one answers 409 (transfer instead).
    No child is admitted without a protection measure: the route's gate and the placement API
    both come here (409 naming the guarantee). Nor is an adult: a person the age assessment
    found an adult, or who turned 18 (a CAS is for children; a presumed adolescent is a child)."""
    case = session.case
    ref = shelter(session, shelter_id)
    _require_child(session)
    _require_measure(session)
    same = await _already_placed(session, shelter_id, CAS)
    if same is not None:
        return same
    await check_capacity(ref)
    placement_id = await _insert(session, ref, CAS, created_by)
    if ref.estado not in ("00", case.estado):
        case.relocate(ref.estado, ref.municipio, "admitted to a shelter", session.now)
    return placement_id


async def place_in_family(
    session: CaseSession, dif_id: int, kind: str, created_by: int | None
) -> int:
    """Place the child in family-based care of ``kind`` (FAMILY_KINDS), followed up by the DIF
    authority ``dif_id``; returns the placement id. The protection measure comes first, as for
    a shelter (LGDNNA art. 26: family care is itself a protection measure); a family placement
    takes no shelter place and does not move the case (the family lives where the child is)."""
    if kind not in FAMILY_KINDS:
        raise field_error("$.tipo_colocacion", f"must be one of {', '.join(FAMILY_KINDS)}")
    ref = shelter(session, dif_id)
    _require_measure(session)
    same = await _already_placed(session, dif_id, kind)
    if same is not None:
        return same
    return await _insert(session, ref, kind, created_by)


async def end(
    session: CaseSession,
    placement: dict[str, Any],
    status: str,
    reason: str,
    destino: str | None = None,
) -> None:
    """End an admitted placement (transferred, discharged, left), with where the child goes
    when known (``destino``); 409 if it already ended."""
    if placement["status"] != "admitted":
        raise Conflict(f"placement is already {placement['status']}")
    await Placement.update(
        {
            Placement.status: status,
            Placement.ended_at: session.now,
            Placement.end_reason: reason,
            Placement.destino: destino,
        }
    ).where(Placement.id == placement["id"])
    if session.case.shelter_id == placement["shelter_id"]:
        session.case.shelter_id = None
    session.case.reroute = True
    session.case.record(
        "placement_ended",
        placement_id=placement["id"],
        shelter_id=placement["shelter_id"],
        status=status,
        placement_kind=placement.get("kind", CAS),
    )
