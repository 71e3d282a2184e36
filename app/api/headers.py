"""Security headers for every response the pages' router does not already dress: the JSON API
(a child's data: never cached, never sniffed as markup), the OpenAPI document and error answers.

The API answers JSON, CSV or JSON Lines, never a page, so its Content-Security-Policy allows
nothing at all: should a browser ever render one of its answers, no script, style, frame or form
could run from it. The pages' router sets its own, wider policy first (app/web/session.py); a
header already present is never replaced. Static files keep their caching.
"""

from __future__ import annotations

from typing import Any

from litestar.types import Message, Scope

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
API_HEADERS = [
    (b"content-security-policy", API_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def api_security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook, so it also dresses the answers Litestar's exception handling
    sends (a 401 from the token middleware never passes through a middleware's ``send``)."""
    if message["type"] != "http.response.start" or scope.get("path", "").startswith("/static/"):
        return
    headers = list(message.get("headers", []))
    names = {bytes(k).lower() for k, _ in headers}
    extra: list[Any] = [(k, v) for k, v in API_HEADERS if k not in names]
    message["headers"] = headers + extra
