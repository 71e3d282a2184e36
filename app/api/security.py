"""Authentication middleware: bearer token or session cookie, plus CSRF for cookie sessions."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app import security
from app.services import auth

SESSION_COOKIE = "careroute_session"
CSRF_COOKIE = "careroute_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
            sent = connection.headers.get(CSRF_HEADER, "")
            if not sent or not security.same_digest(sent, resolved.csrf_hash):
                raise PermissionDeniedException("CSRF token missing or invalid (X-CSRF-Token)")
        return AuthenticationResult(user=resolved.principal, auth=via)
