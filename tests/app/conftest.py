"""App tests: the session's database and demo accounts come from tests/conftest.py (shared with
tests/web, seeded once whichever package runs first). One app per session; each test opens its
own cases and asserts on the rows it created, so tests do not depend on order (CI shuffles them).
"""

from __future__ import annotations

import httpx
import pytest

from app.tables import Case
from tests.app.helpers import Api, retire_cases


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


@pytest.fixture
async def cleanup(database):
    """Needs the migrated, seeded database (tests that seed cases directly use no ``api``, but
    the sweep needs the tables and notifies demo users). Afterwards, retire the cases a test
    seeded (tasks cancelled, nothing due, case closed), so 1,000 extra INM-07 tasks do not crowd
    other tests' inboxes. Never deleted: SQLite would reuse their ids, and the append-only audit
    trail refers to cases by id."""
    prefixes: list[str] = []
    yield prefixes
    for prefix in prefixes:
        rows = await Case.select(Case.id).where(Case.folio.like(f"{prefix}%"))
        await retire_cases([r["id"] for r in rows])
