"""Custody in a migration station (LM art. 99): record when a child was held, and when it ended."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import FromPath, JSONBody

from app.api.deps import AppRequest, PathId, typed
from app.api.responses import writes
from app.api.schemas import CustodyEndIn, CustodyOut, CustodyStartIn
from app.services import custody

MAY_NOT = (
    403,
    "Your role is read-only, or you are neither the INM of the child's location nor the "
    "Procuraduría handling the case.",
)


class CustodyController(Controller):
    path = "/api/v1"
    tags = ["custody"]

    @post(
        "/cases/{folio:str}/custody",
        status_code=201,
        responses=writes(
            MAY_NOT,
            (404, "No case with this folio that you may see."),
            (409, "A custody record of the case is still open, or the case changed under you."),
            (
                422,
                "`$.started_at` is in the future, before the detection, inside another custody "
                "record or has no zone; `$.ended_at` is in the future or before `started_at`; "
                "`$.station_authority_id` is missing (you are not of the INM) or no active INM "
                "authority; `$.station_name` is blank.",
            ),
        ),
    )
    async def start(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[CustodyStartIn]
    ) -> CustodyOut:
        """The child was held in a migration station from ``started_at``: recorded as it
        happened, and a breach of LM art. 99 at once."""
        result = await custody.start(
            request.user,
            folio,
            station_authority_id=data.station_authority_id,
            station_name=data.station_name,
            started_at=data.started_at,
            ended_at=data.ended_at,
        )
        return typed(CustodyOut, result)

    @post(
        "/custody/{custody_id:int}/end",
        status_code=200,
        responses=writes(
            MAY_NOT,
            (404, "No custody record of a case that you may see."),
            (409, "The record already ended, or the case changed under you."),
            (422, "`$.ended_at` is in the future, before the start, or has no zone."),
        ),
    )
    async def end(
        self, request: AppRequest, custody_id: PathId, data: JSONBody[CustodyEndIn]
    ) -> CustodyOut:
        """The child left the migration station at ``ended_at`` (default: now)."""
        return typed(CustodyOut, await custody.end(request.user, custody_id, data.ended_at))
