"""The one test database of a session, shared by every package that needs one (tests/app,
tests/web): SQLite in a temp dir unless DATABASE_URL is set (then PostgreSQL, every table of that
database dropped and re-created). The ``database`` fixture migrates it and seeds the demo
authorities and users (app/demo.py) exactly once per session, whichever package runs first, so
the suite passes in any order (CI runs it shuffled with pytest-randomly).

Tests never rely on what other tests left behind: each opens its own cases and asserts on the
rows it created, not on global counts.
"""

from __future__ import annotations

import asyncio
import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="careroute-test-")
if not os.environ.get("DATABASE_URL"):
    os.environ["CAREROUTE_DB"] = os.path.join(_TMP, "test.db")
# The keys (app/keys.py) of this run, outside the repository; subprocesses inherit the setting.
os.environ["CAREROUTE_KEYS_DIR"] = os.path.join(_TMP, "keys")
# case attachments are files outside the database (app/services/case_files.py): a temp folder
os.environ.setdefault("CAREROUTE_ATTACHMENTS_DIR", os.path.join(_TMP, "attachments"))

import pytest  # noqa: E402

import app  # noqa: E402,F401  (sets PICCOLO_CONF before Piccolo looks for it)
from app import keys  # noqa: E402
from tests.app.helpers import PASSWORD  # noqa: E402

keys.init()

#: Seconds the PostgreSQL pool may take to close at the end of the session.
POOL_CLOSE_TIMEOUT_S = 30
#: Lines for the end of the run (problems found while tearing the database down).
_TEARDOWN_NOTES: list[str] = []


async def _shutdown() -> None:
    """db.shutdown(), bounded: asyncpg's pool.close() waits for every connection to come back.
    write_tx gives back the connection of a cancelled transaction (test_deadlines cancels a
    sweep); should a connection still leak, terminate the pool and say so at the end of the run
    instead of hanging until CI's time limit."""
    from app import db

    pool = getattr(db.engine(), "pool", None)
    busy = pool.get_size() - pool.get_idle_size() if pool is not None else 0
    try:
        await asyncio.wait_for(db.shutdown(), POOL_CLOSE_TIMEOUT_S)
    except TimeoutError:
        if pool is not None:
            pool.terminate()
            db.engine().pool = None
        _TEARDOWN_NOTES.append(
            f"database teardown: the connection pool did not close in {POOL_CLOSE_TIMEOUT_S} s; "
            f"{busy} connection(s) were never released, so the pool was terminated"
        )


@pytest.fixture(scope="session")
async def database():
    """A fresh, migrated database with the demo accounts (password ``PASSWORD``)."""
    from app import db, demo

    await db.startup()
    if not db.is_sqlite():
        await db.drop_everything()
    await db.migrate()
    await demo.seed_accounts(PASSWORD)
    yield
    await _shutdown()


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001
    """Teardown notes; then pytest-randomly's seed again (``-q`` hides the header that shows
    it), so a failure in a shuffled run can be reproduced in the same order."""
    for note in _TEARDOWN_NOTES:
        terminalreporter.write_line(note, yellow=True)
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(
            f"Test order: --randomly-seed={seed} (pytest -p randomly --randomly-seed={seed} "
            "repeats it; -p no:randomly runs the file order)"
        )
