"""Placements and shelter occupancy."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody, Parameter

from app.api.deps import AppRequest
from app.api.schemas import MAX_DB_ID, AdmitIn, DischargeIn, LeftIn, TransferIn
from app.services import placements

#: Path ids beyond the database integer range answer 400 instead of a driver error (500).
PathId = Annotated[int, Parameter(ge=1, le=MAX_DB_ID)]


class PlacementController(Controller):
    path = "/api/v1/placements"
    tags = ["placements"]

    @post("/", status_code=201)
    async def admit(self, request: AppRequest, data: JSONBody[AdmitIn]) -> dict[str, Any]:
        return await placements.admit(request.user, data.folio, data.shelter_id)

    @post("/{placement_id:int}/transfer", status_code=200)
    async def transfer(
        self, request: AppRequest, placement_id: PathId, data: JSONBody[TransferIn]
    ) -> dict[str, Any]:
        return await placements.transfer(
            request.user, placement_id, data.to_shelter_id, data.reason
        )

    @post("/{placement_id:int}/discharge", status_code=200)
    async def discharge(
        self, request: AppRequest, placement_id: PathId, data: JSONBody[DischargeIn]
    ) -> dict[str, Any]:
        return await placements.discharge(request.user, placement_id, data.reason)

    @post("/{placement_id:int}/left", status_code=200)
    async def left(
        self, request: AppRequest, placement_id: PathId, data: JSONBody[LeftIn]
    ) -> dict[str, Any]:
        """The child left the placement: starts the missing-child protocol."""
        payload = msgspec.to_builtins(data)
        return await placements.left(request.user, placement_id, payload)


class ShelterController(Controller):
    path = "/api/v1/shelters"
    tags = ["placements"]

    @get("/")
    async def shelters(self, request: AppRequest) -> list[dict[str, Any]]:
        """Every shelter with capacity, occupancy and free places."""
        return await placements.shelters(request.user)

    @get("/{shelter_id:int}/children")
    async def children(self, request: AppRequest, shelter_id: PathId) -> list[dict[str, Any]]:
        return await placements.children(request.user, shelter_id)
