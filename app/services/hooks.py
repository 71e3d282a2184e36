"""What completing certain route tasks means for the service's own records.

The engine knows the route; the service knows shelters and locations. These are the only task ids
the service reacts to:
- ``admitir_en_cas`` / ``alojar_familia_junta`` completed by a shelter with a place: the child is
  admitted there (a placement row, capacity checked; a full shelter answers 409 so the officer
  records ``hay_cupo: false`` instead).
- ``gestionar_cupo_otro_estado``: the child is taken to another state (``entidad_destino``), so the
  case relocates there and the next admission task routes to that state's shelter.
"""

from __future__ import annotations

from typing import Any

from app.principal import Principal
from app.services import placements, relocation
from app.services.context import Command
from app.services.workflow import LoadedCase

ADMISSION_TASKS = frozenset({"admitir_en_cas", "alojar_familia_junta"})


async def after_completion(
    cmd: Command, loaded: LoadedCase, principal: Principal, bpmn_id: str, data: dict[str, Any]
) -> None:
    if bpmn_id in ADMISSION_TASKS and principal.authority_tipo == "DIF_CAS":
        if data.get("hay_cupo", True):
            await placements.admit_in_command(cmd, loaded, principal.authority_id, principal)
    elif bpmn_id == "gestionar_cupo_otro_estado" and data.get("entidad_destino"):
        await relocation.relocate_in_command(
            cmd, loaded, str(data["entidad_destino"]), None, "no capacity: placed in another state"
        )
