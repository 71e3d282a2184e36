"""Authorities and users (admin)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from app.api.deps import AppRequest, typed
from app.api.responses import reads, writes
from app.api.schemas import (
    AuthorityCreatedOut,
    AuthorityIn,
    AuthorityOut,
    UserCreatedOut,
    UserIn,
    UserOut,
)
from app.services import users


class AuthorityController(Controller):
    path = "/api/v1/authorities"
    tags = ["admin"]

    @get("/", responses=reads())
    async def authorities(self) -> list[AuthorityOut]:
        return typed(list[AuthorityOut], await users.list_authorities())

    @post(
        "/",
        status_code=201,
        responses=writes(403, (409, "An authority with this code exists."), 422),
    )
    async def create(self, request: AppRequest, data: JSONBody[AuthorityIn]) -> AuthorityCreatedOut:
        """Admin only."""
        result = await users.create_authority(
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
        return typed(AuthorityCreatedOut, result)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["admin"]

    @get("/", responses=reads(403))
    async def list_users(self, request: AppRequest) -> list[UserOut]:
        """Admin only."""
        return typed(list[UserOut], await users.list_users(request.user))

    @post("/", status_code=201, responses=writes(403, (409, "The user name is taken."), 422))
    async def create(self, request: AppRequest, data: JSONBody[UserIn]) -> UserCreatedOut:
        """Admin only; passwords of at least 12 characters."""
        result = await users.create_user(
            request.user.actor,
            request.user,
            username=data.username,
            display_name=data.display_name,
            role=data.role,
            authority_code=data.authority,
            password=data.password,
        )
        return typed(UserCreatedOut, result)
