"""Routing: which authority a ready task goes to.

A task's lane is an authority type. Among active authorities of that type, the most local one
whose jurisdiction covers the child's current location wins: municipal (same state and
municipality), then state, then federal as the fallback. Shelter (DIF_CAS) tasks go to the shelter
where the child is placed, if any; otherwise to a covering shelter with free places first. Ties
break on the lowest id so routing is deterministic. A task the route gives to the authority that
received the child (BPMN ``asignacion="apertura"``: the DIF shelter or COMAR office where the
child presented notifies the Procuraduría) goes to the case's opener while it is active and of
the task's lane. The caller audits every decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from app.directory import Directory
from app.tables import Placement


@dataclass(frozen=True)
class RoutingDecision:
    authority_id: int | None
    authority_code: str | None
    rule: str  # opener | placement | municipal | estatal | federal_fallback | unroutable

    def audit_changes(self) -> dict[str, Any]:
        return {"authority": self.authority_code, "rule": self.rule}


_LEVEL_RANK = {"municipal": 0, "estatal": 1, "federal": 2}
_RULE = {"municipal": "municipal", "estatal": "estatal", "federal": "federal_fallback"}


async def occupancy(shelter_ids: list[int]) -> dict[int, int]:
    """Children currently admitted per shelter (stays in a CAS: a family placement the DIF
    follows takes no place)."""
    if not shelter_ids:
        return {}
    rows = (
        await Placement.select(Placement.shelter, Count(alias="n"))
        .where(
            (Placement.status == "admitted")
            & (Placement.kind == "cas")
            & Placement.shelter.is_in(shelter_ids)
        )
        .group_by(Placement.shelter)
    )
    return {r["shelter_id"]: r["n"] for r in rows}


async def current_shelter(case_id: int) -> dict[str, Any] | None:
    return (
        await Placement.select(
            Placement.id,
            Placement.shelter.id.as_alias("shelter_id"),
            Placement.shelter.code.as_alias("shelter_code"),
            Placement.kind,
        )
        .where((Placement.case == case_id) & (Placement.status == "admitted"))
        .first()
    )


async def route(
    directory: Directory,
    lane: str,
    estado: str,
    municipio: str | None,
    placed_shelter_id: int | None = None,
    opener_id: int | None = None,
) -> RoutingDecision:
    """Pick the authority for a task of ``lane``; only shelter tasks with no placement query
    the database (for occupancy). ``opener_id``: the task goes to the authority that opened the
    case, if it is still active and of this lane."""
    opener = directory.get(opener_id)
    if opener is not None and opener.active and opener.tipo == lane:
        return RoutingDecision(opener.id, opener.code, "opener")
    if lane == "DIF_CAS" and placed_shelter_id is not None:
        placed = directory.get(placed_shelter_id)
        if placed is not None:
            return RoutingDecision(placed.id, placed.code, "placement")
    candidates = [a for a in directory.active_of_type(lane) if a.covers(estado, municipio)]
    if not candidates:
        return RoutingDecision(None, None, "unroutable")
    free: dict[int, bool] = {}
    if lane == "DIF_CAS":
        used = await occupancy([a.id for a in candidates])
        free = {a.id: a.capacidad is None or used.get(a.id, 0) < a.capacidad for a in candidates}
    best = min(
        candidates,
        key=lambda a: (_LEVEL_RANK.get(a.nivel, 3), not free.get(a.id, True), a.id),
    )
    return RoutingDecision(best.id, best.code, _RULE.get(best.nivel, best.nivel))
