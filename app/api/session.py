"""Login, logout, current user, and API tokens."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.params import JSONBody

from app.api.deps import AppRequest
from app.api.responses import LoginOperation, errors, reads, writes
from app.api.schemas import LoginIn, LoginOut, LogoutOut, MeOut
from app.principal import Principal
from app.services import auth
from app.session_cookies import clear_session, session_cookies
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
        cookies = session_cookies(result.token, result.csrf_token, max_age)
        return Response(body, cookies=cookies)

    @post("/logout", status_code=200, responses=writes())
    async def logout(self, request: AppRequest) -> Response[LogoutOut]:
        """Revoke the session or token in use."""
        await auth.logout(request.user)
        response = Response(LogoutOut(logged_out=True))
        clear_session(response)
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
