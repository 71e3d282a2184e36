"""What completing certain route tasks means for the service's own records (policies: they change
the case, before it is saved).

The engine knows the route; the service knows shelters and locations. These are the only task ids
the service reacts to:
- ``admitir_en_cas`` / ``alojar_familia_junta`` completed by a shelter with a place: the child is
  admitted there (a placement row, capacity checked; a full shelter answers 409 so the shelter
  records ``hay_cupo: false`` instead).
- ``formalizar_acogimiento_familiar`` completed by the DIF: the child is placed with the family, a
  placement of the kind the form records (``tipo_colocacion``: kinship, foster, pre-adoptive,
  family of origin), so a departure from it starts the missing-child protocol too.
- ``gestionar_cupo_otro_estado``: the child is taken to another state (``entidad_destino``), so the
  case relocates there and the next admission task routes to that state's shelter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases import placement
from app.cases.aggregate import Event

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

ADMISSION_TASKS = frozenset({"admitir_en_cas", "alojar_familia_junta"})
FAMILY_CARE_TASK = "formalizar_acogimiento_familiar"
OTHER_STATE_TASK = "gestionar_cupo_otro_estado"


async def admit_on_admission_task(session: CaseSession, event: Event) -> None:
    if event.data.get("bpmn_id") not in ADMISSION_TASKS:
        return
    actor = session.case.directory.get(session.actor.authority_id)
    if actor is None or actor.tipo != "DIF_CAS":
        return
    form = session.case.engine.forms.get(event.data["bpmn_id"]) or {}
    if form.get("hay_cupo", True):
        await placement.admit(session, actor.id, session.actor.user_id)


async def place_on_family_care_task(session: CaseSession, event: Event) -> None:
    if event.data.get("bpmn_id") != FAMILY_CARE_TASK:
        return
    actor = session.case.directory.get(session.actor.authority_id)
    if actor is None or actor.tipo != "DIF_CAS":
        return
    form = session.case.engine.forms.get(FAMILY_CARE_TASK) or {}
    kind = str(form.get("tipo_colocacion") or "familia_extensa")
    await placement.place_in_family(session, actor.id, kind, session.actor.user_id)


async def move_on_other_state(session: CaseSession, event: Event) -> None:
    if event.data.get("bpmn_id") != OTHER_STATE_TASK:
        return
    form = session.case.engine.forms.get(OTHER_STATE_TASK) or {}
    if form.get("entidad_destino"):
        session.case.relocate(
            str(form["entidad_destino"]), None, "no capacity: placed in another state", session.now
        )
