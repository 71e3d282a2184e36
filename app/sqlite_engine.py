"""Piccolo's SQLite engine, with its connections kept open and reused.

Piccolo opens a new aiosqlite connection for every transaction and for every query outside one,
and an aiosqlite connection is a thread of its own: starting it and opening the file cost about
1 ms, twice per request (the session lookup, then the command's transaction), more than most of
the statements themselves. This engine keeps idle connections in a small pool instead; each is
used by one transaction or query at a time, as before. It also sets the per-connection pragmas
once (``foreign_keys``, and ``synchronous = NORMAL``, which is safe with WAL: a power cut can
lose the last commits, never corrupt the file) instead of Piccolo's ``PRAGMA foreign_keys``
before every statement of a transaction.

Pooled connections run on daemon threads, so a process that never closes the pool can still exit;
``db.shutdown()`` closes them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

#: Idle connections kept open; more are opened when needed and closed when given back.
MAX_IDLE = 8


class PooledConnection:
    """An aiosqlite connection whose ``close()`` gives it back to the engine's pool."""

    def __init__(self, connection: aiosqlite.Connection, engine: TunedSQLiteEngine):
        self._connection = connection
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def close(self) -> None:
        await self._engine.give_back(self._connection)

    async def discard(self) -> None:
        """Close it for good, never pool it again. After a cancel or an error its thread may
        still run a statement that nobody will read to the end; such a statement keeps a read
        snapshot open, and a later user of the connection would read stale data (or BEGIN
        inside a transaction). Closing waits for the queue and rolls everything back."""
        await self._connection.close()


class TunedSQLiteEngine(SQLiteEngine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []

    async def _open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.connection_kwargs)
        connection._thread.daemon = True  # noqa: SLF001 (not started yet; see the docstring)
        await connection
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    async def get_connection(self) -> Any:
        """A connection for a transaction (Piccolo closes it at the end: back to the pool)."""
        connection = self._idle.pop() if self._idle else await self._open()
        return PooledConnection(connection, self)

    async def give_back(self, connection: aiosqlite.Connection) -> None:
        if connection.in_transaction:  # a transaction that failed to commit or roll back
            await connection.rollback()
        if len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            await connection.close()

    async def close_pool(self) -> None:
        while self._idle:
            await self._idle.pop().close()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        """A statement outside any transaction, on a pooled connection."""
        if sqlite3.sqlite_version_info < (3, 35):  # no RETURNING: Piccolo's path reads the pk
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self.get_connection()
        try:
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                rows = await cursor.fetchall()
        except BaseException:
            await connection.discard()  # see PooledConnection.discard
            raise
        await connection.close()
        return rows

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        """A statement inside a transaction, without Piccolo's ``PRAGMA foreign_keys`` before
        each one (the connection has it; tests/app/test_db.py checks foreign keys still hold)."""
        if sqlite3.sqlite_version_info < (3, 35):
            return await super()._run_in_existing_connection(
                connection, query, args, query_type, table
            )
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()
