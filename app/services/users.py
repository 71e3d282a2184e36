"""Accounts and authorities (admin work; the CLI bootstraps the first admin)."""

from __future__ import annotations

import asyncio
from typing import Any

from app import directory, inegi, security
from app.command import command
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.principal import WORKER_ROLES, Actor, Principal
from app.tables import AUTHORITY_TYPES, NIVELES, NON_LANE_TYPES, ROLES, Authority, User


def _require_admin(principal: Principal | None) -> None:
    if principal is not None and not principal.is_admin:
        raise Forbidden("only an admin may manage accounts and authorities")


async def create_authority(
    actor: Actor,
    principal: Principal | None,
    *,
    code: str,
    name: str,
    tipo: str,
    nivel: str,
    estado: str,
    municipio: str | None = None,
    capacidad: int | None = None,
) -> dict[str, Any]:
    _require_admin(principal)
    errors = []
    if tipo not in AUTHORITY_TYPES + NON_LANE_TYPES:
        allowed = ", ".join(AUTHORITY_TYPES + NON_LANE_TYPES)
        errors.append({"path": "$.tipo", "message": f"must be one of {allowed}"})
    if nivel not in NIVELES:
        errors.append({"path": "$.nivel", "message": f"must be one of {', '.join(NIVELES)}"})
    if not inegi.is_valid(estado):
        errors.append({"path": "$.estado", "message": "unknown INEGI state code"})
    elif (nivel == "federal") != (estado == inegi.FEDERAL):
        errors.append({"path": "$.estado", "message": "federal authorities (only) use '00'"})
    if nivel == "municipal" and not municipio:
        errors.append({"path": "$.municipio", "message": "required for a municipal authority"})
    if capacidad is not None and (tipo != "DIF_CAS" or capacidad < 0):
        errors.append({"path": "$.capacidad", "message": "only shelters (DIF_CAS) have a capacity"})
    if errors:
        raise InvalidInput("invalid authority", errors)
    async with command(actor) as cmd:
        if await Authority.exists().where(Authority.code == code):
            raise Conflict(f"authority {code} already exists")
        row = (
            await Authority.insert(
                Authority(
                    code=code,
                    name=name,
                    tipo=tipo,
                    nivel=nivel,
                    estado=estado,
                    municipio=municipio,
                    capacidad=capacidad,
                    active=True,
                    created_at=cmd.now,
                )
            ).returning(Authority.id)
        )[0]
        await directory.bump()  # every process reloads its authority directory
        cmd.audit(
            "authority.created",
            authority_id=row["id"],
            changes={"code": code, "tipo": tipo, "nivel": nivel, "estado": estado},
        )
    return {"id": row["id"], "code": code}


async def create_user(
    actor: Actor,
    principal: Principal | None,
    *,
    username: str,
    display_name: str,
    role: str,
    authority_code: str,
    password: str,
) -> dict[str, Any]:
    _require_admin(principal)
    errors = []
    if role not in ROLES:
        errors.append({"path": "$.role", "message": f"must be one of {', '.join(ROLES)}"})
    if len(password) < security.MIN_PASSWORD_LENGTH:
        errors.append(
            {
                "path": "$.password",
                "message": f"at least {security.MIN_PASSWORD_LENGTH} characters",
            }
        )
    authority = (
        await Authority.select(Authority.id, Authority.tipo)
        .where(Authority.code == authority_code)
        .first()
    )
    if authority is None:
        errors.append({"path": "$.authority", "message": "unknown authority code"})
    elif role == "shelter_staff" and authority["tipo"] != "DIF_CAS":
        errors.append({"path": "$.role", "message": "shelter staff belong to a DIF_CAS shelter"})
    if errors:
        raise InvalidInput("invalid user", errors)
    assert authority is not None
    password_hash = await asyncio.to_thread(security.hash_password, password)
    async with command(actor) as cmd:
        if await User.exists().where(User.username == username):
            raise Conflict(f"user {username} already exists")
        row = (
            await User.insert(
                User(
                    username=username,
                    display_name=display_name,
                    password_hash=password_hash,
                    role=role,
                    authority=authority["id"],
                    active=True,
                    created_at=cmd.now,
                )
            ).returning(User.id)
        )[0]
        cmd.audit(
            "user.created",
            authority_id=authority["id"],
            changes={"username": username, "role": role, "authority": authority_code},
        )
    return {"id": row["id"], "username": username, "role": role, "authority": authority_code}


async def list_users(principal: Principal) -> list[dict[str, Any]]:
    _require_admin(principal)
    return await User.select(
        User.id,
        User.username,
        User.display_name,
        User.role,
        User.active,
        User.authority.code.as_alias("authority"),
    ).order_by(User.id)


async def list_authorities() -> list[dict[str, Any]]:
    return await Authority.select(
        Authority.id,
        Authority.code,
        Authority.name,
        Authority.tipo,
        Authority.nivel,
        Authority.estado,
        Authority.municipio,
        Authority.capacidad,
        Authority.active,
    ).order_by(Authority.id)


async def authority_by_code(code: str) -> dict[str, Any]:
    row = await Authority.select().where(Authority.code == code).first()
    if row is None:
        raise NotFound(f"authority {code} not found")
    return row


async def colleagues(principal: Principal) -> list[dict[str, Any]]:
    """Active caseworkers of my authority: whom a supervisor may reassign a task to."""
    if not principal.supervises:
        return []
    return await (
        User.select(User.id, User.username, User.display_name, User.role)
        .where(
            (User.authority == principal.authority_id)
            & User.active.eq(True)
            & User.role.is_in(sorted(WORKER_ROLES))
        )
        .order_by(User.username)
    )
