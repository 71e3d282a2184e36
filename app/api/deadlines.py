"""Deadlines: my notifications, suspensions of terms, oversight breaches and compliance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.deps import AppRequest, clamp
from app.api.schemas import Estado, ShortText
from app.services import oversight, suspensions


class SuspensionIn(msgspec.Struct, forbid_unknown_fields=True):
    jurisdiccion: Estado
    desde: date
    hasta: date
    motivo: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    fuente: ShortText


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["deadlines"]

    @get("/")
    async def mine(
        self, request: AppRequest, unread: FromQuery[bool] = False, limit: FromQuery[int] = 100
    ) -> list[dict[str, Any]]:
        """My notifications, newest first (``unread=true``: only unread ones)."""
        return await oversight.my_notifications(request.user, unread=unread, limit=clamp(limit))

    @post("/{notification_id:int}/read", status_code=200)
    async def read(self, request: AppRequest, notification_id: FromPath[int]) -> dict[str, Any]:
        return await oversight.mark_read(request.user, notification_id)


class SuspensionController(Controller):
    path = "/api/v1/suspensions"
    tags = ["deadlines"]

    @get("/")
    async def list_all(self, request: AppRequest) -> list[dict[str, Any]]:
        return await suspensions.list_suspensions(request.user)

    @get("/{suspension_id:int}")
    async def one(self, request: AppRequest, suspension_id: FromPath[int]) -> dict[str, Any]:
        """A suspension and the progress of the recompute of its open cases (``recompute``:
        status queued / running / done, cases done of total)."""
        return await suspensions.get_suspension(request.user, suspension_id)

    @post("/", status_code=201)
    async def add(self, request: AppRequest, data: JSONBody[SuspensionIn]) -> dict[str, Any]:
        """Admin, or the head of a Procuraduría (own jurisdiction; federal: any). Answers at
        once; the deadline worker recomputes the open cases it touches (see ``GET /{id}``)."""
        return await suspensions.add_suspension(
            request.user,
            jurisdiccion=data.jurisdiccion,
            desde=data.desde,
            hasta=data.hasta,
            motivo=data.motivo,
            fuente=data.fuente,
        )


class OversightController(Controller):
    path = "/api/v1/oversight"
    tags = ["deadlines"]

    @get("/breaches")
    async def breaches(
        self,
        request: AppRequest,
        open: FromQuery[bool] = False,  # noqa: A002
    ) -> list[dict[str, Any]]:
        return await oversight.breaches(request.user, open_only=open)

    @get("/compliance")
    async def compliance(
        self,
        request: AppRequest,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        format: FromQuery[str] = "json",  # noqa: A002
    ) -> Response[Any]:
        """``format=csv``: the per-authority, per-deadline rows as CSV."""
        report = await oversight.compliance(request.user, since=since, until=until)
        if format == "csv":
            return Response(
                oversight.compliance_csv(report),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="careroute-compliance.csv"'},
            )
        return Response(report)
