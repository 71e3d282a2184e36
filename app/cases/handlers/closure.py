"""A closed case has no child in a placement: end any placement still open (a shelter or
family-based care), recording where the child goes (the closure proposal's ``destino_nna``, a
required field), so no child leaves a placement without a recorded destination (issue 12)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event
from app.tables import Placement

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def discharge_on_close(session: CaseSession, _: Event) -> None:
    if session.case.shelter_id is None:
        return
    proposal = session.case.engine.forms.get("proponer_cierre") or {}
    destino = proposal.get("destino_nna") or "sin_registrar"
    reason = f"case closed; destino: {destino}"
    detail = (proposal.get("destino_detalle") or "").strip()
    ended = (
        await Placement.update(
            {
                Placement.status: "discharged",
                Placement.ended_at: session.now,
                Placement.end_reason: f"{reason} ({detail})"[:500] if detail else reason,
                Placement.destino: None if destino == "sin_registrar" else destino,
            }
        )
        .where((Placement.case == session.case.id) & (Placement.status == "admitted"))
        .returning(Placement.id, Placement.shelter, Placement.kind)
    )
    session.case.shelter_id = None
    for row in ended:
        session.audit(
            "placement.discharged",
            authority_id=row["shelter_id"],
            changes={
                "placement_id": row["id"],
                "kind": row["kind"],
                "reason": "case closed",
                "destino": destino,
            },
        )
