"""The error responses each operation declares in the OpenAPI document.

Every operation lists the statuses it can really answer, each with the body app/api/errors.py
really sends (``ErrorBody``). ``reads(...)`` and ``writes(...)`` add the statuses every
authenticated GET or POST/PUT shares; a handler names only its own (403 role, 404, 409, 422),
optionally with a description of when:

    @post("/{task_id:str}/claim", responses=writes(404, (409, "someone else holds the task")))

Declaring 400 here also replaces Litestar's generated ``ValidationException`` schema, which puts
the field errors under ``extra`` while app/api/errors.py sends them under ``errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIHeader, OpenAPIType, Operation, Schema

from app.api.errors import ErrorBody

#: When each status is answered, for every operation that declares it.
DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request: a body that is not JSON, a wrong JSON type, an unknown or missing "
    "field, a bad query or path parameter, a NUL character anywhere, JSON nested too deeply or "
    "a number out of range. `errors` names each field it can (`path`, `source`).",
    401: "Not logged in: no bearer token or session cookie, or it is unknown, expired or revoked.",
    403: "Your role (or authority) may not do this.",
    404: "Not found, or not visible to you: another authority's record answers 404, never 403.",
    409: "The record is not in a state that allows this (it changed under you).",
    413: "Request body too large (over 512 KiB).",
    422: "The request parsed but is not acceptable: `errors` names each bad field by JSON path "
    "into the request (`$.data.motivo`). Nothing was written.",
    429: "Too many failed logins for the account or from the address: retry after the number of "
    "seconds in the `Retry-After` header.",
}
CSRF = "With a session cookie: the X-CSRF-Token header is missing or wrong."

#: Examples where the body has more than ``status_code`` and ``detail``.
EXAMPLES: dict[int, Example] = {
    400: Example(
        summary="a body field of the wrong type",
        value={
            "status_code": 400,
            "detail": "Validation failed for POST /api/v1/cases",
            "errors": [
                {
                    "path": "$.identidad.nombres",
                    "message": "Expected `str`, got `int`",
                    "source": "body",
                }
            ],
        },
    ),
    422: Example(
        summary="an invalid form",
        value={
            "status_code": 422,
            "detail": "form registrar_deteccion is invalid",
            "errors": [
                {"path": "$.data.canal_deteccion", "message": "is required"},
                {"path": "$.data.duda_edad", "message": "'no' is not of type 'boolean'"},
            ],
        },
    ),
}

Status = int | tuple[int, str]


def errors(*statuses: Status, csrf: bool = False) -> dict[int, ResponseSpec]:
    """The error responses for ``statuses``: an int takes the generic description, a
    ``(status, description)`` pair says when this operation answers it. ``csrf``: 403 also
    covers a cookie session without its CSRF token."""
    said: dict[int, str] = {}
    for status in statuses:
        code, text = status if isinstance(status, tuple) else (status, DESCRIPTIONS[status])
        said[code] = text
    if csrf:
        said[403] = f"{said[403]} {CSRF}" if 403 in said else CSRF
    return {
        code: ResponseSpec(
            ErrorBody,
            description=said[code],
            generate_examples=False,
            examples=[EXAMPLES[code]] if code in EXAMPLES else None,
        )
        for code in sorted(said)
    }


def reads(*statuses: Status) -> dict[int, ResponseSpec]:
    """An authenticated GET: 400 (bad parameter, NUL) and 401, plus ``statuses``."""
    return errors(400, 401, *statuses)


def writes(*statuses: Status) -> dict[int, ResponseSpec]:
    """An authenticated POST/PUT: 400, 401, 403 (CSRF, and role where given), 413 (the body is
    read for the NUL check even where the handler takes none), plus ``statuses``."""
    return errors(400, 401, 413, *statuses, csrf=True)


@dataclass
class LoginOperation(Operation):
    """Login needs no credentials (``security: []`` overrides the document's default), and its
    429 carries ``Retry-After`` (``ResponseSpec`` has no headers)."""

    def __post_init__(self) -> None:
        self.security = []
        limited = (self.responses or {}).get("429")
        if limited is not None and hasattr(limited, "headers"):
            limited.headers = {
                "Retry-After": OpenAPIHeader(
                    schema=Schema(type=OpenAPIType.INTEGER),
                    description="seconds until a login may be tried again",
                    required=True,
                )
            }
