"""Database engine settings careroute relies on."""

from __future__ import annotations

import pytest

from app import db
from app.tables import CaseIdentity


async def test_foreign_keys_hold_inside_a_transaction(api):
    """app/db.py skips Piccolo's per-statement PRAGMA on SQLite: the connection's own setting
    must still refuse a row that points nowhere (PostgreSQL always does)."""
    with pytest.raises(Exception, match="(?i)foreign key"):
        async with db.write_tx():
            await CaseIdentity.insert(CaseIdentity(case=2_000_000_000, data={}))


async def test_a_transaction_cancelled_at_any_point_gives_its_connection_back(api):
    """Piccolo's transaction awaits BEGIN after taking a connection; a cancel there (a client
    gone, a worker stopped) kept the connection "idle in transaction" for ever on PostgreSQL,
    and db.shutdown() then hung. Cancel 60 transactions at every await point: none is left
    open, and the next write goes through at once."""
    import asyncio

    from piccolo.querystring import QueryString

    async def one() -> None:
        async with db.write_tx():
            await db.engine().run_querystring(QueryString("SELECT 1"))

    for i in range(60):
        task = asyncio.create_task(one())
        for _ in range(i % 12):
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    await asyncio.sleep(0.05)
    if not db.is_sqlite():
        pool = db.engine().pool
        assert pool.get_size() - pool.get_idle_size() == 0
        stuck = await db.engine().run_querystring(
            QueryString(
                "SELECT count(*) AS n FROM pg_stat_activity"
                " WHERE datname = current_database() AND state = 'idle in transaction'"
            )
        )
        assert stuck[0]["n"] == 0
    await asyncio.wait_for(one(), 5)  # nothing holds a lock or the write lock
