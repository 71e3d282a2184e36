"""Authorities and users (admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import JSONBody

from app.api.deps import AppRequest
from app.api.schemas import AuthorityIn, UserIn
from app.services import users


class AuthorityController(Controller):
    path = "/api/v1/authorities"
    tags = ["admin"]

    @get("/")
    async def authorities(self) -> list[dict[str, Any]]:
        return await users.list_authorities()

    @post("/", status_code=201)
    async def create(self, request: AppRequest, data: JSONBody[AuthorityIn]) -> dict[str, Any]:
        return await users.create_authority(
            request.user.actor,
            request.user,
            code=data.code,
            name=data.name,
            tipo=data.tipo,
            nivel=data.nivel,
            estado=data.estado,
            municipio=data.municipio,
            capacidad=data.capacidad,
        )


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["admin"]

    @get("/")
    async def list_users(self, request: AppRequest) -> list[dict[str, Any]]:
        return await users.list_users(request.user)

    @post("/", status_code=201)
    async def create(self, request: AppRequest, data: JSONBody[UserIn]) -> dict[str, Any]:
        return await users.create_user(
            request.user.actor,
            request.user,
            username=data.username,
            display_name=data.display_name,
            role=data.role,
            authority_code=data.authority,
            password=data.password,
        )
