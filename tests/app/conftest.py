"""App tests: the session's database and demo accounts come from tests/conftest.py (shared with
tests/web, seeded once whichever package runs first). One app per session; each test opens its
own cases and asserts on the rows it created, so tests do not depend on order (CI shuffles them).
"""

from __future__ import annotations

import httpx
import pytest

from tests.app.helpers import Api


@pytest.fixture(scope="session")
async def api(database):
    """The app served in this event loop through httpx's ASGI transport, so concurrent requests
    really run concurrently (Litestar's AsyncTestClient runs the app in a portal thread)."""
    from app.main import create_app

    asgi = create_app(manage_db=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi), base_url="http://testserver"
    ) as client:
        yield Api(client)
