"""Authentication middleware: bearer token or session cookie, plus CSRF for cookie sessions."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.services import auth
from app.session_cookies import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_ok


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            token, via = header[7:].strip(), "bearer"
        else:
            token, via = connection.cookies.get(SESSION_COOKIE, ""), "cookie"
        if not token:
            raise NotAuthorizedException("authentication required")
        resolved = await auth.resolve(token)
        if resolved is None:
            raise NotAuthorizedException("invalid or expired credentials")
        if via == "cookie" and connection.scope.get("method", "GET") not in SAFE_METHODS:
            if not csrf_ok(connection.headers.get(CSRF_HEADER), resolved.csrf_hash):
                raise PermissionDeniedException("CSRF token missing or invalid (X-CSRF-Token)")
        return AuthenticationResult(user=resolved.principal, auth=via)
