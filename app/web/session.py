"""Browser sessions for the pages: the API's login service and session cookie, CSRF as a hidden
form field, a re-login page when the session expired, and the security headers.

The JSON API's middleware checks ``X-CSRF-Token`` against the session's CSRF digest; forms cannot
send headers, so the pages check the same per-session token sent as the ``csrf_token`` field
(synchronizer token; the plain token is the readable ``careroute_csrf`` cookie the login set).
The login form itself is protected by a double-submit cookie (there is no session yet).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.principal import Principal
from app.services import auth
from app.session_cookies import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    csrf_ok,
)
from app.web.i18n import COOKIE as LANG_COOKIE
from app.web.i18n import norm

LOGIN_CSRF_COOKIE = "careroute_login_csrf"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class LoginRequired(Exception):
    def __init__(self, expired: bool):
        super().__init__("login required")
        self.expired = expired


class CsrfFailed(Exception):
    """A form post without the session's CSRF token."""


@dataclass
class WebUser:
    principal: Principal
    csrf: str  # the plain token to embed in forms


def lang_of(request: Request) -> str:
    return norm(request.cookies.get(LANG_COOKIE))


def safe_next(target: str | None, default: str = "/inbox") -> str:
    """Only local paths: never ``//host`` or ``https://...`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


async def current_user(request: Request) -> WebUser:
    """The logged-in user; a form post must also carry the session's CSRF token."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise LoginRequired(expired=False)
    resolved = await auth.resolve(token)
    if resolved is None:
        raise LoginRequired(expired=True)
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if request.method not in SAFE_METHODS:
        form = await request.form()
        sent = str(form.get(CSRF_FIELD, "")) or request.headers.get(CSRF_HEADER, "")
        if not csrf_ok(sent, resolved.csrf_hash):
            raise CsrfFailed
    return WebUser(resolved.principal, csrf)


def login_csrf_ok(request: Request, sent: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie, sent)


def login_url(request: Request, expired: bool) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    flag = "&expired=1" if expired else ""
    return f"/login?next={quote(target, safe='')}{flag}"


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware for every page and static file: CSP, no framing, no sniffing."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra: list[Any] = [
                    (k, v)
                    for k, v in SECURITY_HEADERS
                    if k not in names and not (k == b"cache-control" and static)
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
