"""The child moved (relocation, transfer to a shelter in another state): tell the engine, move
the case, re-route its open tasks, and withdraw access from authorities left behind."""

from __future__ import annotations

from app import access, inegi
from app.errors import field_error
from app.services.context import Command
from app.services.workflow import LoadedCase
from app.tables import Case


async def relocate_in_command(
    cmd: Command, loaded: LoadedCase, estado: str, municipio: str | None, reason: str
) -> None:
    """Move the case; callers then run ``sync_tasks(reroute=True)`` and ``revoke_after_move``."""
    if not inegi.is_valid(estado) or estado == inegi.FEDERAL:
        raise field_error("$.estado", "must be an INEGI state code 01..32")
    before = (loaded.case["estado"], loaded.case["municipio"])
    if before == (estado, municipio):
        return
    loaded.events.extend(loaded.engine_case.relocate(estado, cmd.now))
    await Case.update({Case.estado: estado, Case.municipio: municipio}).where(
        Case.id == loaded.case_id
    )
    loaded.case["estado"], loaded.case["municipio"] = estado, municipio
    loaded.moved = True
    cmd.audit(
        "case.relocated",
        case_id=loaded.case_id,
        case_folio=loaded.folio,
        changes={
            "from_estado": before[0],
            "to_estado": estado,
            "municipio_changed": before[1] != municipio,
            "reason": reason,
        },
    )


async def revoke_after_move(cmd: Command, loaded: LoadedCase) -> None:
    for authority_id in await access.revoke_out_of_reach(
        loaded.case_id, loaded.case["estado"], loaded.case["municipio"]
    ):
        cmd.audit(
            "access.revoked",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=authority_id,
            changes={"reason": "child left the authority's jurisdiction"},
        )
