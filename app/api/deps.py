"""Small helpers shared by the controllers."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.params import Parameter

from app.api.schemas import MAX_DB_ID
from app.principal import Principal

AppRequest = Request[Principal, str, Any]
#: Page size bounds for every list endpoint.
MAX_LIMIT = 200

T = TypeVar("T")


def principal(request: AppRequest) -> Principal:
    return request.user


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def typed(out: type[T], result: Any) -> T:
    """A service result (dicts and lists) as its response Struct (app/api/schemas.py), so what is
    sent is what the OpenAPI document says. Keys the Struct does not know are dropped; a missing
    key or a wrong type raises (a 500 that a test catches, not a silent change of contract)."""
    return msgspec.convert(result, out, from_attributes=False)


#: Path ids beyond the database integer range answer 400 instead of a driver error (500).
PathId = Annotated[int, Parameter(ge=1, le=MAX_DB_ID)]
