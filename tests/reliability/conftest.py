"""Reliability suite setup (``pytest -m reliability tests/reliability``).

One database per session, as in tests/app: SQLite in a temp dir unless DATABASE_URL is set (then
PostgreSQL, our tables dropped and re-created). The same database serves the in-process app (httpx
ASGI transport) and the real ``careroute serve`` processes the crash and multi-node tests start, so
every check reads exactly what the servers wrote.

Counts (requests sent, crashes survived, acknowledged writes checked, lost writes, matrix cells,
schemathesis operations and cases, 5xx, concurrent login bursts and logins past the limit)
accumulate in ``STATS`` and are printed as the last line
of the run by ``pytest_terminal_summary``.
"""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="careroute-reliability-")
if not os.environ.get("DATABASE_URL") and not os.environ.get("CAREROUTE_DB"):
    os.environ["CAREROUTE_DB"] = os.path.join(_TMP, "reliability.db")

import httpx  # noqa: E402
import pytest  # noqa: E402

import app  # noqa: E402,F401  (sets PICCOLO_CONF before Piccolo looks for it)
from tests.app.helpers import PASSWORD, Api  # noqa: E402
from tests.reliability.stats import STATS, count_response  # noqa: E402


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001
    if STATS.used:
        terminalreporter.write_line(STATS.line())


@pytest.fixture(scope="session")
async def database():
    from app import db, demo
    from app.tables import Authority

    await db.startup()
    if not db.is_sqlite():
        await db.drop_everything()
    await db.migrate()
    if await Authority.count() == 0:
        await demo.seed_accounts(PASSWORD)
    yield db.database_url()
    await db.shutdown()


@pytest.fixture(scope="session")
async def api(database):
    """The app in this event loop through httpx's ASGI transport; every response is counted."""
    from app.main import create_app

    asgi = create_app(manage_db=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi),
        base_url="http://testserver",
        event_hooks={"response": [count_response]},
    ) as client:
        yield Api(client)


@pytest.fixture
def asgi_app(database):
    from app.main import create_app

    return create_app(manage_db=False)


@pytest.fixture(scope="session")
def db_env(database) -> dict[str, str]:
    """Environment for ``careroute`` subprocesses: the same database as this session."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CAREROUTE_DB")}
    if database.startswith("sqlite:///"):
        env["CAREROUTE_DB"] = database[len("sqlite:///") :]
    else:
        env["DATABASE_URL"] = database
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def db_kind(database) -> str:
    return "sqlite" if database.startswith("sqlite") else "postgres"


@pytest.fixture(autouse=True)
async def fresh_login_budgets(database):
    """Every test starts with empty login budgets. They live in the database (app/throttle.py),
    shared by every server process: without this, one test's guesses from 127.0.0.1 (or
    schemathesis' random logins) would slow the next test's logins from the same address."""
    from app.throttle import LOGIN_THROTTLE

    await LOGIN_THROTTLE.reset()
    yield
    await LOGIN_THROTTLE.reset()


@pytest.fixture(scope="session", autouse=True)
def zero_lost_writes_and_no_5xx():
    """The suite's promises, checked over everything any of its clients saw."""
    yield
    assert STATS.lost == 0, STATS.line()
    assert STATS.server_errors == 0, STATS.line()
    assert STATS.logins_past_limit == 0, STATS.line()
