"""One error shape for every 4xx: ``{"status_code", "detail", "errors": [{"path", "message"}]}``.

``path`` is a JSON path into the request body (``$.data.motivo``) or the query parameter name, so
a client can put the message next to the right field. ``ErrorBody`` below is that shape as the
OpenAPI document publishes it (app/api/responses.py); the handlers here build the same dicts.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.errors import GuaranteeViolation, InvalidInput, ServiceError
from app.services.auth import LoginFailed

log = logging.getLogger("careroute")

try:  # PostgreSQL driver (always installed with piccolo[postgres])
    from asyncpg.exceptions import DataError as AsyncpgDataError
except ImportError:  # pragma: no cover
    AsyncpgDataError = None  # type: ignore[assignment,misc]

_AT = re.compile(r" - at `(\$[^`]*)`$")


class ErrorItem(msgspec.Struct):
    """One bad field. Items may carry more keys than these."""

    path: Annotated[
        str,
        msgspec.Meta(
            description="JSON path into the request body (`$.data.motivo`), a query or path "
            "parameter name, or `query` / `$` for a NUL anywhere in the query / body"
        ),
    ]
    message: str
    #: the guarantee a field of a refused form would break (409)
    guarantee: (
        Annotated[str, msgspec.Meta(description="the guarantee's name (409)")] | msgspec.UnsetType
    ) = msgspec.UNSET
    #: Litestar's own 400s say where the bad value was
    source: (
        Annotated[str, msgspec.Meta(description="body, query, path, header or cookie (400 only)")]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class ErrorBody(msgspec.Struct):
    """The body of every 4xx answer of the JSON API."""

    status_code: int
    detail: str
    #: present on field errors (400, 422) and on a refused form (409); absent on the others
    errors: (
        Annotated[
            list[ErrorItem],
            msgspec.Meta(
                description="each bad field (400, 422), or each field of a form that "
                "would break a guarantee (409, each item naming it in `guarantee`)"
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    #: present when a command would break a legal guarantee of the child (409)
    guarantee: (
        Annotated[str, msgspec.Meta(description="the guarantee's name (409)")] | msgspec.UnsetType
    ) = msgspec.UNSET
    legal_source: (
        Annotated[str, msgspec.Meta(description="the article it comes from (409)")]
        | msgspec.UnsetType
    ) = msgspec.UNSET


def _body(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    content: dict[str, Any] = {"status_code": status, "detail": detail}
    if errors is not None:
        content["errors"] = errors
    content.update(extra or {})
    return Response(content, status_code=status, media_type=MediaType.JSON)


def service_error(_: Request, exc: ServiceError) -> Response:
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    if isinstance(exc, GuaranteeViolation) and exc.errors:
        errors = exc.errors
    extra = (
        {"guarantee": exc.guarantee, "legal_source": exc.legal_source}
        if isinstance(exc, GuaranteeViolation)
        else None
    )
    return _body(exc.status_code, exc.detail, errors, extra)


def login_failed(_: Request, __: LoginFailed) -> Response:
    return _body(401, "wrong user name or password")


def validation_error(_: Request, exc: ValidationException) -> Response:
    """Litestar's 400 for a body or parameter that does not parse or has the wrong type."""
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        source = item.get("source")
        key = item.get("key")
        match = _AT.search(message)
        if source == "body":
            path = match.group(1) if match else (f"$.{key}" if key else "$")
            message = _AT.sub("", message)
        else:
            path = str(key or "$")
        errors.append({"path": path, "message": message, "source": source or "body"})
    return _body(exc.status_code, exc.detail or "invalid request", errors)


def too_deep(_: Request, exc: RecursionError) -> Response:
    """msgspec refuses JSON nested deeper than it can decode with RecursionError; that is the
    client's malformed body (400), any other RecursionError stays a 500."""
    if "deserializing" in str(exc):
        return _body(400, "JSON is nested too deeply")
    return _body(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")


def out_of_range(request: Request, exc: Exception) -> Response:
    """Safety net: a value the database driver cannot represent (an id beyond the integer
    column, a NUL in text) is bad input, not a server fault. Bounds on the inputs themselves
    (schemas, path parameters, app/api/input_guard.py) normally catch it first."""
    log.warning("input refused by the database driver on %s: %s", request.url.path, exc)
    return _body(400, "a value in the request is out of range")


def http_error(_: Request, exc: HTTPException) -> Response:
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        return _body(exc.status_code, "internal server error")
    return _body(exc.status_code, exc.detail)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServiceError: service_error,
    LoginFailed: login_failed,
    ValidationException: validation_error,
    HTTPException: http_error,
    RecursionError: too_deep,
    OverflowError: out_of_range,  # SQLite: int too large
    **({AsyncpgDataError: out_of_range} if AsyncpgDataError else {}),  # PostgreSQL: int32, NUL
}
