"""Accounts and authorities (admin work; the CLI bootstraps the first admin).

Separation of duties (issue 15): an admin sees no case, but an account an admin creates could
(an oversight account reads every child's identity, an officer its authority's). So an account
an admin creates through the API for a role in ``APPROVAL_ROLES`` (default: every role, admin
included, or one admin could make a second to approve their own requests) is created *pending*
and inactive; it works only once a *different* admin approves it. The CLI on the server
(``careroute users create``: whoever runs it already holds the database) and the demo create
approved accounts. Oversight sees every account as it is created (``new_accounts``), and an
account's identity reads in its first ``NEW_ACCOUNT_DAYS`` days are flagged in the audit trail
(app/services/cases.py).
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from typing import Any

from piccolo.query.functions.aggregate import Count

from app import directory, inegi, security
from app.command import command
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.principal import SYSTEM, WORKER_ROLES, Actor, Principal
from app.tables import (
    AUTHORITY_TYPES,
    NIVELES,
    NON_LANE_TYPES,
    ROLES,
    AuditEvent,
    Authority,
    User,
)


def _approval_roles() -> frozenset[str]:
    raw = os.environ.get("CAREROUTE_APPROVAL_ROLES")
    if raw is None:
        return frozenset(ROLES)
    return frozenset(r.strip() for r in raw.split(",") if r.strip())


#: Roles whose accounts, created by an admin through the API, wait for a second admin.
APPROVAL_ROLES = _approval_roles()
#: An account's identity reads are flagged during its first days (CAREROUTE_NEW_ACCOUNT_DAYS).
NEW_ACCOUNT_DAYS = float(os.environ.get("CAREROUTE_NEW_ACCOUNT_DAYS", "7"))


def account_is_new(since: datetime | None, now: datetime) -> bool:
    """Whether an account that became usable at ``since`` is still in its first days."""
    return since is not None and now - since < timedelta(days=NEW_ACCOUNT_DAYS)


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
    via: str | None = None,
) -> dict[str, Any]:
    """``principal`` None: the CLI or the demo (``via``), on the server: approved at once. An
    admin through the API: pending until another admin approves, for ``APPROVAL_ROLES``."""
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
    pending = principal is not None and role in APPROVAL_ROLES
    approval = "pending" if pending else "approved"
    via = "api" if principal is not None else (via or "cli")
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
                    active=not pending,
                    created_at=cmd.now,
                    approval=approval,
                    requested_by_id=principal.user_id if principal else None,
                    approved_at=None if pending else cmd.now,
                    created_via=via,
                )
            ).returning(User.id)
        )[0]
        cmd.audit(
            "user.created",
            authority_id=authority["id"],
            changes={
                "username": username,
                "role": role,
                "authority": authority_code,
                "approval": approval,
                "via": via,
            },
        )
    return {
        "id": row["id"],
        "username": username,
        "role": role,
        "authority": authority_code,
        "approval": approval,
    }


async def decide(principal: Principal | None, username: str, approve: bool) -> dict[str, Any]:
    """A second admin approves (the account becomes active) or rejects a pending account;
    ``principal`` None: ``careroute users approve`` on the server.

    The admin who asked for it may reject (withdraw) it, never approve it: 403. One conditional
    UPDATE decides, so of two admins deciding at once one wins and the other gets 409."""
    _require_admin(principal)
    row = (
        await User.select(User.id, User.role, User.approval, User.requested_by_id)
        .where(User.username == username)
        .first()
    )
    if row is None:
        raise NotFound(f"user {username} not found")
    if approve and principal is not None and row["requested_by_id"] == principal.user_id:
        raise Forbidden("a second admin must approve an account you asked for")
    if row["approval"] != "pending":
        raise Conflict(f"user {username} is not pending approval (it is {row['approval']})")
    async with command(principal.actor if principal else SYSTEM) as cmd:
        decided = (
            await User.update(
                {
                    User.approval: "approved" if approve else "rejected",
                    User.active: approve,
                    User.approved_by_id: principal.user_id if principal else None,
                    User.approved_at: cmd.now,
                }
            )
            .where((User.id == row["id"]) & (User.approval == "pending"))
            .returning(User.id)
        )
        if not decided:
            raise Conflict(f"user {username} was decided meanwhile")
        cmd.audit(
            "user.approved" if approve else "user.rejected",
            changes={"username": username, "role": row["role"]},
        )
    return {"username": username, "approval": "approved" if approve else "rejected"}


async def list_users(principal: Principal) -> list[dict[str, Any]]:
    _require_admin(principal)
    return await User.select(
        User.id,
        User.username,
        User.display_name,
        User.role,
        User.active,
        User.authority.code.as_alias("authority"),
        User.approval,
        User.created_via,
        User.created_at,
    ).order_by(User.id)


async def new_accounts(
    principal: Principal, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """For oversight: every account, newest first (``since``: created from then on), with who
    asked for it, who approved it, and how many children's identities it read while new."""
    if not principal.is_oversight:
        raise Forbidden("the list of new accounts is for oversight bodies")
    query = User.select(
        User.id,
        User.username,
        User.role,
        User.authority.code.as_alias("authority"),
        User.active,
        User.approval,
        User.created_via,
        User.created_at,
        User.requested_by_id,
        User.approved_by_id,
        User.approved_at,
    )
    if since is not None:
        query = query.where(User.created_at >= since)
    rows = await query.order_by(User.id, ascending=False).limit(limit)
    ids = {r["requested_by_id"] for r in rows} | {r["approved_by_id"] for r in rows}
    names = {
        u["id"]: u["username"]
        for u in await User.select(User.id, User.username).where(
            User.id.is_in(sorted(i for i in ids if i is not None) or [0])
        )
    }
    flagged = {
        r["actor_user_id"]: r["count"]
        for r in await AuditEvent.select(AuditEvent.actor_user_id, Count(AuditEvent.id))
        .where(
            (AuditEvent.action == "case.identity_read")
            & AuditEvent.actor_user_id.is_in([r["id"] for r in rows] or [0])
            & AuditEvent.changes.like('%"new_account":true%')
        )
        .group_by(AuditEvent.actor_user_id)
    }
    out = []
    for r in rows:
        r["requested_by"] = names.get(r.pop("requested_by_id"))
        r["approved_by"] = names.get(r.pop("approved_by_id"))
        r["identity_reads_while_new"] = flagged.get(r.pop("id"), 0)
        out.append(r)
    return out


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
