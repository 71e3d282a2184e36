"""Placements and shelter occupancy."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody

from app.api.deps import AppRequest, PathId, typed
from app.api.responses import reads, writes
from app.api.schemas import (
    AdmitIn,
    DischargeIn,
    LeftIn,
    PlacementLeftOut,
    PlacementOut,
    ShelterChildOut,
    ShelterOut,
    TransferIn,
)
from app.services import placements

MAY_NOT = (
    403,
    "Your role is read-only, or you are neither the shelter nor the Procuraduría handling the "
    "case.",
)
NOT_FOUND = (404, "No such placement (or case) that you may see.")
ENDED = (409, "The placement already ended, or the case changed under you.")


class PlacementController(Controller):
    path = "/api/v1/placements"
    tags = ["placements"]

    @post(
        "/",
        status_code=201,
        responses=writes(
            MAY_NOT,
            (404, "No case with this folio that you may see."),
            (
                409,
                "The shelter is full, the child is placed elsewhere, the case is closed, or no "
                "protection measure exists yet (`guarantee`: "
                "`medida_de_proteccion_antes_del_ingreso`, with its `legal_source`).",
            ),
            (422, "`$.shelter_id` is no active shelter."),
        ),
    )
    async def admit(self, request: AppRequest, data: JSONBody[AdmitIn]) -> PlacementOut:
        return typed(
            PlacementOut, await placements.admit(request.user, data.folio, data.shelter_id)
        )

    @post(
        "/{placement_id:int}/transfer",
        status_code=200,
        responses=writes(
            (403, "Only the Procuraduría handling the case orders a transfer (a shelter may not)."),
            NOT_FOUND,
            (409, "The placement already ended, the target shelter is full, or the case changed."),
            (422, "`$.to_shelter_id` is no active shelter, or the child is already there."),
        ),
    )
    async def transfer(
        self, request: AppRequest, placement_id: PathId, data: JSONBody[TransferIn]
    ) -> PlacementOut:
        result = await placements.transfer(
            request.user, placement_id, data.to_shelter_id, data.reason
        )
        return typed(PlacementOut, result)

    @post(
        "/{placement_id:int}/discharge",
        status_code=200,
        responses=writes(
            MAY_NOT,
            NOT_FOUND,
            ENDED,
            (422, "`$.destino` (where the child goes) is missing or not one of the list."),
        ),
    )
    async def discharge(
        self, request: AppRequest, placement_id: PathId, data: JSONBody[DischargeIn]
    ) -> PlacementOut:
        result = await placements.discharge(request.user, placement_id, data.reason, data.destino)
        return typed(PlacementOut, result)

    @post(
        "/{placement_id:int}/left",
        status_code=200,
        responses=writes(
            MAY_NOT,
            NOT_FOUND,
            ENDED,
            (422, "`circunstancias` is blank once trimmed, or longer than 100 characters."),
        ),
    )
    async def left(
        self, request: AppRequest, placement_id: PathId, data: JSONBody[LeftIn]
    ) -> PlacementLeftOut:
        """The child left the placement (a shelter, or family-based care: then only the
        Procuraduría reports it): starts the missing-child protocol."""
        payload = msgspec.to_builtins(data)
        return typed(PlacementLeftOut, await placements.left(request.user, placement_id, payload))


class ShelterController(Controller):
    path = "/api/v1/shelters"
    tags = ["placements"]

    @get("/", responses=reads())
    async def shelters(self, request: AppRequest) -> list[ShelterOut]:
        """Every shelter with capacity, occupancy and free places."""
        return typed(list[ShelterOut], await placements.shelters(request.user))

    @get(
        "/{shelter_id:int}/children",
        responses=reads((404, "No active shelter with this id, or the id is not an integer.")),
    )
    async def children(self, request: AppRequest, shelter_id: PathId) -> list[ShelterChildOut]:
        """Children now in the shelter: its own people and oversight see all; a Procuraduría
        only the cases it handles."""
        return typed(list[ShelterChildOut], await placements.children(request.user, shelter_id))
