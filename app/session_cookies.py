"""The browser session: its cookies and its CSRF check, shared by the JSON API and the pages.

A login in ``session`` mode sets two cookies: the HttpOnly session token and a readable CSRF
token. Every unsafe request made with the session cookie must echo the CSRF token (synchronizer
token: only its digest is stored with the session): API clients send it in ``X-CSRF-Token``,
HTML forms as the ``csrf_token`` field. Secure cookies need HTTPS: set
``CAREROUTE_SECURE_COOKIES=1`` behind TLS (production).
"""

from __future__ import annotations

import os

from litestar import Response
from litestar.datastructures import Cookie

from app import security

SESSION_COOKIE = "careroute_session"
CSRF_COOKIE = "careroute_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secure_cookies() -> bool:
    return os.environ.get("CAREROUTE_SECURE_COOKIES", "0") == "1"


def session_cookies(token: str, csrf_token: str | None, max_age: int) -> list[Cookie]:
    """The two cookies a session login sets."""
    secure = secure_cookies()
    return [
        Cookie(key=SESSION_COOKIE, value=token, httponly=True, samesite="lax", secure=secure,
               max_age=max_age, path="/"),
        Cookie(key=CSRF_COOKIE, value=csrf_token or "", httponly=False, samesite="lax",
               secure=secure, max_age=max_age, path="/"),
    ]  # fmt: skip


def clear_session(response: Response) -> None:
    """Remove both cookies (logout)."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def csrf_ok(sent: str | None, csrf_hash: str | None) -> bool:
    """Whether the CSRF token a request carried is its session's."""
    return bool(sent) and bool(csrf_hash) and security.same_digest(sent or "", csrf_hash or "")
