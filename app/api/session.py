"""Login, logout, current user, and API tokens."""

from __future__ import annotations

import os

from litestar import Controller, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody

from app.api.deps import AppRequest
from app.api.responses import LoginOperation, errors, reads, writes
from app.api.schemas import LoginIn, LoginOut, LogoutOut, MeOut
from app.api.security import CSRF_COOKIE, SESSION_COOKIE
from app.principal import Principal
from app.services import auth
from app.throttle import TooManyAttempts


def me_out(p: Principal) -> MeOut:
    return MeOut(
        username=p.username,
        display_name=p.display_name,
        role=p.role,
        authority=p.authority_code,
        authority_name=p.authority_name,
        authority_tipo=p.authority_tipo,
        nivel=p.authority_nivel,
        estado=p.authority_estado,
        municipio=p.authority_municipio,
        auth=p.token_kind,
    )


def _secure_cookies() -> bool:
    """Secure cookies need HTTPS; set CAREROUTE_SECURE_COOKIES=1 behind TLS (production)."""
    return os.environ.get("CAREROUTE_SECURE_COOKIES", "0") == "1"


class SessionController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        exclude_from_auth=True,
        status_code=200,
        operation_class=LoginOperation,
        responses=errors(
            400, (401, "Wrong user name or password (the same answer for both)."), 413, 429
        ),
    )
    async def login(self, request: AppRequest, data: JSONBody[LoginIn]) -> Response[LoginOut]:
        """Session mode sets an HttpOnly session cookie and returns the CSRF token to echo in
        ``X-CSRF-Token``; api mode returns a bearer token. Too many failed logins for the account
        or from the address answer 429 with ``Retry-After`` (docs/security.md)."""
        address = request.client.host if request.client else None
        try:
            result = await auth.login(data.username, data.password, data.mode, address)
        except TooManyAttempts as exc:
            return Response(  # type: ignore[return-value]
                {"status_code": 429, "detail": exc.detail},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        body = LoginOut(user=me_out(result.principal), expires_at=result.expires_at)
        if data.mode == "api":
            body.token = result.token
            return Response(body)
        body.csrf_token = result.csrf_token
        max_age = int(auth.SESSION_TTL.total_seconds())
        secure = _secure_cookies()
        cookies = [
            Cookie(
                key=SESSION_COOKIE,
                value=result.token,
                httponly=True,
                samesite="lax",
                secure=secure,
                max_age=max_age,
                path="/",
            ),
            Cookie(
                key=CSRF_COOKIE,
                value=result.csrf_token or "",
                httponly=False,
                samesite="lax",
                secure=secure,
                max_age=max_age,
                path="/",
            ),
        ]
        return Response(body, cookies=cookies)

    @post("/logout", status_code=200, responses=writes())
    async def logout(self, request: AppRequest) -> Response[LogoutOut]:
        """Revoke the session or token in use."""
        await auth.logout(request.user)
        response = Response(LogoutOut(logged_out=True))
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @get("/me", responses=reads())
    async def me(self, request: AppRequest) -> MeOut:
        return me_out(request.user)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["auth"]

    @get("/", responses=reads())
    async def me(self, request: AppRequest) -> MeOut:
        return me_out(request.user)
