"""Log in and out; resolve a session cookie or bearer token to a Principal.

Browser sessions (cookie, 12 h) carry a per-session CSRF token that every unsafe request must echo
in ``X-CSRF-Token``; API clients use bearer tokens (90 days by default), which browsers never send
on their own, so they need no CSRF token. Tokens are stored hashed (app/security.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app import security, throttle
from app.audit import text_digests
from app.clock import utcnow
from app.command import command
from app.errors import InvalidInput
from app.principal import SYSTEM, Actor, Principal
from app.tables import AuthToken, User

SESSION_TTL = timedelta(hours=12)
API_TOKEN_TTL = timedelta(days=90)


@dataclass
class LoginResult:
    token: str
    csrf_token: str | None
    expires_at: datetime
    principal: Principal


class LoginFailed(Exception):
    """Wrong user name or password (deliberately not saying which)."""


_PRINCIPAL_COLUMNS = (
    AuthToken.id,
    AuthToken.kind,
    AuthToken.csrf_hash,
    AuthToken.expires_at,
    AuthToken.revoked_at,
    AuthToken.user.id.as_alias("user_id"),
    AuthToken.user.username.as_alias("username"),
    AuthToken.user.display_name.as_alias("display_name"),
    AuthToken.user.role.as_alias("role"),
    AuthToken.user.active.as_alias("user_active"),
    AuthToken.user.created_at.as_alias("user_created_at"),
    AuthToken.user.approved_at.as_alias("user_approved_at"),
    AuthToken.user.authority.id.as_alias("authority_id"),
    AuthToken.user.authority.code.as_alias("authority_code"),
    AuthToken.user.authority.name.as_alias("authority_name"),
    AuthToken.user.authority.tipo.as_alias("authority_tipo"),
    AuthToken.user.authority.nivel.as_alias("authority_nivel"),
    AuthToken.user.authority.estado.as_alias("authority_estado"),
    AuthToken.user.authority.municipio.as_alias("authority_municipio"),
    AuthToken.user.authority.active.as_alias("authority_active"),
)


def _principal(row: dict[str, Any]) -> Principal:
    return Principal(
        user_id=row["user_id"],
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        authority_id=row["authority_id"],
        authority_code=row["authority_code"],
        authority_name=row["authority_name"],
        authority_tipo=row["authority_tipo"],
        authority_nivel=row["authority_nivel"],
        authority_estado=row["authority_estado"],
        authority_municipio=row["authority_municipio"],
        token_id=row["id"],
        token_kind=row["kind"],
        account_since=row.get("user_approved_at") or row.get("user_created_at"),
    )


@dataclass
class Resolved:
    principal: Principal
    csrf_hash: str | None


async def resolve(token: str, now: datetime | None = None) -> Resolved | None:
    """The principal behind a token, or None if unknown, expired, revoked or disabled."""
    now = now or utcnow()
    row = (
        await AuthToken.select(*_PRINCIPAL_COLUMNS)
        .where(AuthToken.token_hash == security.token_digest(token))
        .first()
    )
    if (
        row is None
        or row["revoked_at"] is not None
        or row["expires_at"] <= now
        or not row["user_active"]
        or not row["authority_active"]
    ):
        return None
    return Resolved(_principal(row), row["csrf_hash"])


async def login(
    username: str, password: str, kind: str = "session", address: str | None = None
) -> LoginResult:
    """``address``: the client's IP, for the per-address budgets (app/throttle.py)."""
    if kind not in ("session", "api"):
        raise InvalidInput("bad mode", [{"path": "$.mode", "message": "session or api"}])
    # Counted, and committed, before any password work: 429 here costs no argon2 and no audit
    # row, and concurrent attempts (any process) each take their own place in the budgets.
    reservation = await throttle.reserve(username, address)
    user = (
        await User.select(User.id, User.password_hash, User.active)
        .where(User.username == username)
        .first()
    )
    ok = await asyncio.to_thread(
        security.verify_password, user["password_hash"] if user else None, password
    )
    if not ok or user is None or not user["active"]:
        async with command(SYSTEM) as cmd:  # the reservation stays: this failure counts
            cmd.audit("auth.login_failed", changes=failed_login(username, user))
        raise LoginFailed
    await throttle.LOGIN_THROTTLE.succeeded(reservation)
    token = security.new_token()
    csrf = security.new_token() if kind == "session" else None
    async with command(SYSTEM) as cmd:
        ttl = SESSION_TTL if kind == "session" else API_TOKEN_TTL
        expires = cmd.now + ttl
        await AuthToken.insert(
            AuthToken(
                token_hash=security.token_digest(token),
                kind=kind,
                user=user["id"],
                csrf_hash=security.token_digest(csrf) if csrf else None,
                created_at=cmd.now,
                expires_at=expires,
            )
        )
        if security.needs_rehash(user["password_hash"]):
            await User.update({User.password_hash: security.hash_password(password)}).where(
                User.id == user["id"]
            )
    resolved = await resolve(token)
    assert resolved is not None
    async with command(resolved.principal.actor) as cmd:
        cmd.audit("auth.login", changes={"kind": kind})
    return LoginResult(token, csrf, expires, resolved.principal)


async def logout(principal: Principal) -> None:
    async with command(principal.actor) as cmd:
        await AuthToken.update({AuthToken.revoked_at: cmd.now}).where(
            AuthToken.id == principal.token_id
        )
        cmd.audit("auth.logout", changes={"kind": principal.token_kind})


def failed_login(username: str, user: dict[str, Any] | None) -> dict[str, Any]:
    """What a failed login records: the account tried, when the name typed is one (oversight
    needs to see who is being guessed), and a keyed digest of whatever was typed, never the
    text: a password typed in the wrong box would otherwise stay in the trail for ever."""
    return {"account": username if user else None, **text_digests(username=username)}


def actor_of(principal: Principal | None) -> Actor:
    return principal.actor if principal else SYSTEM


async def principal_for_user(username: str) -> Principal:
    """A principal without a token, for in-process callers (CLI, demo, bench)."""
    row = (
        await User.select(
            User.id.as_alias("user_id"),
            User.username.as_alias("username"),
            User.display_name.as_alias("display_name"),
            User.role.as_alias("role"),
            User.active.as_alias("user_active"),
            User.created_at.as_alias("user_created_at"),
            User.approved_at.as_alias("user_approved_at"),
            User.authority.id.as_alias("authority_id"),
            User.authority.code.as_alias("authority_code"),
            User.authority.name.as_alias("authority_name"),
            User.authority.tipo.as_alias("authority_tipo"),
            User.authority.nivel.as_alias("authority_nivel"),
            User.authority.estado.as_alias("authority_estado"),
            User.authority.municipio.as_alias("authority_municipio"),
        )
        .where(User.username == username)
        .first()
    )
    if row is None:
        raise LookupError(f"no user {username}")
    return _principal({**row, "id": 0, "kind": "internal"})
