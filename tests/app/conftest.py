"""App test setup: SQLite in a temp dir unless DATABASE_URL is set (then PostgreSQL, with our
tables dropped and re-created for the session). One app, one seeded set of demo authorities and
users (app/demo.py) per session; each test opens its own cases so tests do not depend on order."""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="careroute-test-")
if not os.environ.get("DATABASE_URL"):
    os.environ["CAREROUTE_DB"] = os.path.join(_TMP, "test.db")

import httpx  # noqa: E402
import pytest  # noqa: E402

import app  # noqa: E402,F401  (sets PICCOLO_CONF before Piccolo looks for it)
from tests.app.helpers import PASSWORD, Api  # noqa: E402


@pytest.fixture(scope="session")
async def database():
    from app import db, demo

    await db.startup()
    if not db.is_sqlite():
        await db.drop_everything()
    await db.migrate()
    await demo.seed_accounts(PASSWORD)
    yield
    await db.shutdown()


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
def tmp_dir():
    return _TMP
