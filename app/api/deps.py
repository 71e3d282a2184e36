"""Small helpers shared by the controllers."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.principal import Principal

AppRequest = Request[Principal, str, Any]
#: Page size bounds for every list endpoint.
MAX_LIMIT = 200


def principal(request: AppRequest) -> Principal:
    return request.user


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))
