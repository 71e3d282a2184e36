"""Cases: open, list, detail (audited), identity (audited), relocate; forms."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.deps import AppRequest, clamp
from app.api.schemas import Identidad, OpenCaseIn, RelocateIn
from app.route_engine import library
from app.services import cases


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]

    @post("/", status_code=201)
    async def open_case(self, request: AppRequest, data: JSONBody[OpenCaseIn]) -> dict[str, Any]:
        """Open a child's case from the ``inicio_caso`` form and start the route."""
        return await cases.open_case(
            request.user, data.form, msgspec.to_builtins(data.identidad), data.family_of
        )

    @get("/")
    async def list_cases(
        self,
        request: AppRequest,
        estado: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        family_group: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> dict[str, Any]:
        """Cases visible to the caller, newest first; no identity data."""
        return await cases.list_cases(
            request.user,
            estado=estado,
            status=status,
            family_group=family_group,
            cursor=cursor,
            limit=clamp(limit),
        )

    @get("/{folio:str}")
    async def detail(self, request: AppRequest, folio: FromPath[str]) -> dict[str, Any]:
        """Case, tasks, placements, family links and timeline (audited read)."""
        return await cases.detail(request.user, folio)

    @get("/{folio:str}/identity")
    async def identity(self, request: AppRequest, folio: FromPath[str]) -> dict[str, Any]:
        """The child's identity data (audited read)."""
        return await cases.identity(request.user, folio)

    @put("/{folio:str}/identity")
    async def update_identity(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[Identidad]
    ) -> dict[str, Any]:
        return await cases.update_identity(request.user, folio, msgspec.to_builtins(data))

    @post("/{folio:str}/relocate", status_code=200)
    async def relocate(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[RelocateIn]
    ) -> dict[str, Any]:
        """The child is now in another state/municipality: open tasks re-route."""
        return await cases.relocate(request.user, folio, data.estado, data.municipio, data.reason)


class FormController(Controller):
    path = "/api/v1/forms"
    tags = ["forms"]

    @get("/{name:str}")
    async def form(self, name: FromPath[str]) -> dict[str, Any]:
        """A form's JSON Schema (e.g. ``inicio_caso``)."""
        schema = library().forms.schemas.get(f"{name}.schema.json")
        if schema is None:
            raise NotFoundException(f"form {name} not found")
        return schema
