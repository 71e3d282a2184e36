"""Placements: a child admitted to a shelter (CAS), transferred, discharged, or who left.

Who may act: the shelter's own people, or the Procuraduría handling the case (it orders
placements). Both must be able to see the case (else 404); oversight is read-only (403).
Capacity is enforced on admission and transfer: a full shelter answers 409. A child who left the
placement is recorded even if the route is not at a point that expects it, because the fact must
never be lost; the engine is sent ``nna_salio_colocacion`` whenever it waits for it, which starts
the missing-child protocol.
"""

from __future__ import annotations

from typing import Any

from app import access, routing
from app.errors import Conflict, Forbidden, NotFound, field_error
from app.principal import Principal
from app.services import deadlines, relocation
from app.services.context import Command, command
from app.services.task_index import sync_tasks
from app.services.workflow import LoadedCase, audit_engine_events, load_for_update, save
from app.tables import Authority, Case, Placement
from workflows import TaskNotReadyError

LEFT_MESSAGE = "nna_salio_colocacion"


async def _shelter(shelter_id: int) -> dict[str, Any]:
    row = (
        await Authority.select()
        .where((Authority.id == shelter_id) & (Authority.tipo == "DIF_CAS"))
        .first()
    )
    if row is None or not row["active"]:
        raise field_error("$.shelter_id", "no active shelter (DIF_CAS authority) with this id")
    return row


async def _check_manager(principal: Principal, case_id: int, shelter_id: int | None) -> None:
    if not await access.can_see_case(principal, case_id):
        raise NotFound("case not found")
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    if principal.authority_id != shelter_id and principal.authority_tipo != "PROCURADURIA":
        raise Forbidden("only the shelter or the Procuraduría handling the case may do this")


async def admit_in_command(
    cmd: Command, loaded: LoadedCase, shelter_id: int, principal: Principal
) -> dict[str, Any]:
    """Admit the child to a shelter inside a running command (capacity checked)."""
    shelter = await _shelter(shelter_id)
    current = await routing.current_shelter(loaded.case_id)
    if current is not None:
        if current["shelter_id"] == shelter_id:
            return {"placement_id": current["id"], "shelter": shelter["code"]}
        raise Conflict(
            f"the child is placed at {current['shelter_code']}; transfer instead of admitting"
        )
    await _check_capacity(shelter)
    row = (
        await Placement.insert(
            Placement(
                case=loaded.case_id,
                shelter=shelter_id,
                status="admitted",
                admitted_at=cmd.now,
                created_by=principal.user_id,
            )
        ).returning(Placement.id)
    )[0]
    if await access.grant(loaded.case_id, shelter_id, "placement", cmd.now):
        cmd.audit(
            "access.granted",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=shelter_id,
            changes={"reason": "placement"},
        )
    cmd.audit(
        "placement.admitted",
        case_id=loaded.case_id,
        case_folio=loaded.folio,
        authority_id=shelter_id,
        changes={"placement_id": row["id"], "shelter": shelter["code"]},
        legal_basis="LGDNNA art. 108; convenio SNDIF–SEDIF (2021)",
    )
    if shelter["estado"] not in ("00", loaded.case["estado"]):
        await relocation.relocate_in_command(
            cmd, loaded, shelter["estado"], shelter["municipio"], "admitted to a shelter"
        )
    return {"placement_id": row["id"], "shelter": shelter["code"]}


async def _check_capacity(shelter: dict[str, Any]) -> None:
    if shelter["capacidad"] is None:
        return
    used = (await routing.occupancy([shelter["id"]])).get(shelter["id"], 0)
    if used >= shelter["capacidad"]:
        raise Conflict(f"shelter {shelter['code']} is full ({used}/{shelter['capacidad']})")


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


async def _finish(cmd: Command, loaded: LoadedCase) -> None:
    await save(cmd, loaded)
    audit_engine_events(cmd, loaded, loaded.events)
    await sync_tasks(cmd, loaded, reroute=True)
    await deadlines.record_escalations(cmd, loaded)
    if loaded.moved:
        await relocation.revoke_after_move(cmd, loaded)


async def admit(principal: Principal, folio: str, shelter_id: int) -> dict[str, Any]:
    case_id = await _case_id(folio)
    await _check_manager(principal, case_id, shelter_id)
    async with command(principal.actor) as cmd:
        loaded = await load_for_update(case_id)
        if loaded.case["status"] != "open":
            raise Conflict("the case is closed")
        result = await admit_in_command(cmd, loaded, shelter_id, principal)
        await _finish(cmd, loaded)
    return await placement_view(result["placement_id"])


async def _end(
    cmd: Command, loaded: LoadedCase, placement: dict[str, Any], status: str, reason: str
) -> None:
    if placement["status"] != "admitted":
        raise Conflict(f"placement is already {placement['status']}")
    await Placement.update(
        {Placement.status: status, Placement.ended_at: cmd.now, Placement.end_reason: reason}
    ).where(Placement.id == placement["id"])


async def _revoke_shelter(cmd: Command, loaded: LoadedCase, shelter_id: int) -> None:
    if await access.revoke_if_idle(loaded.case_id, shelter_id):
        cmd.audit(
            "access.revoked",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=shelter_id,
            changes={"reason": "child no longer in this shelter"},
        )


async def transfer(
    principal: Principal, placement_id: int, to_shelter_id: int, reason: str
) -> dict[str, Any]:
    placement = await _placement(placement_id)
    await _check_manager(principal, placement["case_id"], placement["shelter_id"])
    async with command(principal.actor) as cmd:
        loaded = await load_for_update(placement["case_id"])
        placement = await _placement(placement_id)
        if to_shelter_id == placement["shelter_id"]:
            raise field_error("$.to_shelter_id", "the child is already in this shelter")
        target = await _shelter(to_shelter_id)
        await _check_capacity(target)
        await _end(cmd, loaded, placement, "transferred", reason)
        cmd.audit(
            "placement.transferred",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=placement["shelter_id"],
            changes={"placement_id": placement_id, "to_shelter": target["code"]},
        )
        result = await admit_in_command(cmd, loaded, to_shelter_id, principal)
        await _finish(cmd, loaded)
        await _revoke_shelter(cmd, loaded, placement["shelter_id"])
    return await placement_view(result["placement_id"])


async def discharge(principal: Principal, placement_id: int, reason: str) -> dict[str, Any]:
    placement = await _placement(placement_id)
    await _check_manager(principal, placement["case_id"], placement["shelter_id"])
    async with command(principal.actor) as cmd:
        loaded = await load_for_update(placement["case_id"])
        placement = await _placement(placement_id)
        await _end(cmd, loaded, placement, "discharged", reason)
        cmd.audit(
            "placement.discharged",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=placement["shelter_id"],
            changes={"placement_id": placement_id},
        )
        await sync_tasks(cmd, loaded, reroute=True)
        await deadlines.record_escalations(cmd, loaded)
        await _revoke_shelter(cmd, loaded, placement["shelter_id"])
    return await placement_view(placement_id)


async def left(principal: Principal, placement_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The child left the placement: record it, and start the missing-child protocol."""
    placement = await _placement(placement_id)
    await _check_manager(principal, placement["case_id"], placement["shelter_id"])
    async with command(principal.actor) as cmd:
        loaded = await load_for_update(placement["case_id"])
        placement = await _placement(placement_id)
        await _end(cmd, loaded, placement, "left", str(payload.get("circunstancias", "")))
        try:
            loaded.events.extend(loaded.engine_case.send_message(LEFT_MESSAGE, payload, cmd.now))
            notified = True
        except TaskNotReadyError:
            notified = False
        cmd.audit(
            "placement.left",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=placement["shelter_id"],
            changes={
                "placement_id": placement_id,
                "route_notified": notified,
                "circunstancias": payload.get("circunstancias"),
            },
        )
        await save(cmd, loaded)
        audit_engine_events(cmd, loaded, loaded.events)
        await sync_tasks(cmd, loaded, reroute=True)
        await deadlines.record_escalations(cmd, loaded)
        await _revoke_shelter(cmd, loaded, placement["shelter_id"])
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
            Placement.status,
            Placement.admitted_at,
            Placement.ended_at,
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
    await _shelter(shelter_id)
    rows = await Placement.select(
        Placement.id,
        Placement.case.id.as_alias("case_id"),
        Placement.case.folio.as_alias("folio"),
        Placement.case.risk.as_alias("risk"),
        Placement.admitted_at,
    ).where((Placement.shelter == shelter_id) & (Placement.status == "admitted"))
    if principal.is_oversight or principal.authority_id == shelter_id:
        return rows
    return [r for r in rows if await access.can_see_case(principal, r["case_id"])]
