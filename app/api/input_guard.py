"""Refuse NUL characters in request input (400) before any handler runs.

PostgreSQL text cannot hold U+0000 and refuses the whole statement (a 500 before this guard);
SQLite would store it and truncate it in some tools. No legitimate careroute input contains it, so
a NUL anywhere in the query string or in a JSON or form body is a malformed request. The one
exception is the body of a file upload (``POST /cases/{folio}/attachments``, multipart): files
are binary.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response

_QUERY_NUL = (b"%00", b"\x00")
_BODY_NUL = (b"\\u0000", b"\x00")


def _refuse(where: str) -> Response[Any]:
    return Response(
        {"status_code": 400, "detail": "NUL characters are not allowed", "errors": [
            {"path": where, "message": "contains a NUL (U+0000) character"}
        ]},
        status_code=400,
        media_type=MediaType.JSON,
    )  # fmt: skip


async def reject_nul(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Litestar ``before_request`` hook: a response here short-circuits the handler."""
    query = request.scope.get("query_string", b"") or b""
    if any(marker in query for marker in _QUERY_NUL) or "\x00" in request.url.path:
        return _refuse("query")
    if request.method in ("POST", "PUT", "PATCH"):
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data") and request.url.path.endswith("/attachments"):
            # an uploaded PDF or image is binary (NUL bytes are normal in it); the upload
            # handler reads no text from the other parts but the CSRF token
            return None
        body = await request.body()  # cached: the handler reads the same bytes
        markers = _BODY_NUL
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            markers += (b"%00",)
        if any(marker in body for marker in markers):
            return _refuse("$")
    return None
