"""Authorities and users (admin)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from app.api.deps import AppRequest, typed
from app.api.responses import reads, writes
from app.api.schemas import (
    AuthorityCreatedOut,
    AuthorityIn,
    AuthorityOut,
    UserCreatedOut,
    UserDecidedOut,
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
        """Admin only; passwords of at least 12 characters. The account is created
        ``pending`` and inactive: it can log in once a second admin approves it
        (``POST /users/{username}/approve``); ``careroute users create`` on the server creates
        approved accounts."""
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

    @post(
        "/{username:str}/approve",
        status_code=200,
        responses=writes(
            (403, "Admin only; the admin who asked for the account may not approve it."),
            (404, "No such user."),
            (409, "The account is not pending (approved, rejected, or decided meanwhile)."),
        ),
    )
    async def approve(self, request: AppRequest, username: FromPath[str]) -> UserDecidedOut:
        """A second admin approves a pending account: it becomes active (audited)."""
        return typed(UserDecidedOut, await users.decide(request.user, username, approve=True))

    @post(
        "/{username:str}/reject",
        status_code=200,
        responses=writes(
            (403, "Admin only."),
            (404, "No such user."),
            (409, "The account is not pending (approved, rejected, or decided meanwhile)."),
        ),
    )
    async def reject(self, request: AppRequest, username: FromPath[str]) -> UserDecidedOut:
        """Reject (or withdraw) a pending account: it stays inactive (audited)."""
        return typed(UserDecidedOut, await users.decide(request.user, username, approve=False))
