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
    and db.shutdown() then hung. On SQLite a connection given back to the pool while a
    cancelled statement still ran kept a stale read snapshot. Cancel 60 transactions at every
    await point: none is left open, the next write goes through at once, and every reader sees
    it."""
    import asyncio

    from piccolo.querystring import QueryString

    async def one() -> None:
        async with db.write_tx():
            await db.engine().run_querystring(QueryString("SELECT 1"))

    cancelled = []  # kept, as a traceback or a log record may keep them: nothing is finalized
    for i in range(60):
        task = asyncio.create_task(one())
        cancelled.append(task)
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
    # No connection kept a read snapshot from a cancelled statement: a row just written is
    # seen by every reader at once (SQLite: readers run on the pooled connections).
    from app.tables import FolioCounter

    marker = f"CANCEL-{id(task) % 10**6}"
    async with db.write_tx():
        await FolioCounter.insert(FolioCounter(prefix=marker, last=1))
    seen = await asyncio.gather(
        *(FolioCounter.exists().where(FolioCounter.prefix == marker) for _ in range(8))
    )
    assert seen == [True] * 8
