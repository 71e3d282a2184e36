"""The one test database of a session, shared by every package that needs one (tests/app,
tests/web): SQLite in a temp dir unless DATABASE_URL is set (then PostgreSQL, every table of that
database dropped and re-created). The ``database`` fixture migrates it and seeds the demo
authorities and users (app/demo.py) exactly once per session, whichever package runs first, so
the suite passes in any order (CI runs it shuffled with pytest-randomly).

Tests never rely on what other tests left behind: each opens its own cases and asserts on the
rows it created, not on global counts.
"""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="careroute-test-")
if not os.environ.get("DATABASE_URL"):
    os.environ["CAREROUTE_DB"] = os.path.join(_TMP, "test.db")

import pytest  # noqa: E402
from piccolo.querystring import QueryString  # noqa: E402

import app  # noqa: E402,F401  (sets PICCOLO_CONF before Piccolo looks for it)
from tests.app.helpers import PASSWORD  # noqa: E402


async def _reset_postgres() -> None:
    """Drop every table of the test database (also those of migrations added later)."""
    from app import db

    engine = db.engine()
    rows = await engine.run_querystring(
        QueryString("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    if rows:
        names = ", ".join(f'"{r["tablename"]}"' for r in rows)
        await engine.run_ddl(f"DROP TABLE IF EXISTS {names} CASCADE")
    await engine.run_ddl("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE")


@pytest.fixture(scope="session")
async def database():
    """A fresh, migrated database with the demo accounts (password ``PASSWORD``)."""
    from app import db, demo

    await db.startup()
    if not db.is_sqlite():
        await _reset_postgres()
    await db.migrate()
    await demo.seed_accounts(PASSWORD)
    yield
    await db.shutdown()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001
    """Repeat pytest-randomly's seed at the end (``-q`` hides the header that shows it), so a
    failure in a shuffled run can be reproduced in the same order."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(
            f"Test order: --randomly-seed={seed} (pytest -p randomly --randomly-seed={seed} "
            "repeats it; -p no:randomly runs the file order)"
        )
