"""Database engine selection and the one write-transaction helper every command goes through.

Embedded SQLite (WAL, busy timeout) is the default so the service runs with no server; with
``DATABASE_URL=postgresql://...`` the same code runs on PostgreSQL. The SQLite trap documented in
shared/engineering/litestar-piccolo-notes.md (DEFERRED read-then-write fails with "database is
locked" under concurrency) is avoided by taking one per-process ``asyncio.Lock`` and a ``BEGIN
IMMEDIATE`` transaction for every write. On PostgreSQL, writes use a pooled plain transaction and
lock the rows they read-modify-write (``lock_rows``), and the audit chain head is serialised with a
transaction-scoped advisory lock (app/audit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sqlite3
import sys
import warnings
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from app.sqlite_engine import TunedSQLiteEngine

#: Default embedded database file, relative to the working directory.
DEFAULT_SQLITE_PATH = "careroute.db"
#: The owner's URL for migrations when DATABASE_URL is the runtime role (app/db_roles.py).
MIGRATION_URL_ENV = "CAREROUTE_MIGRATION_URL"
#: Seconds a SQLite connection waits for a lock held by another process (e.g. the CLI).
SQLITE_BUSY_TIMEOUT_S = 30
#: What opening a database raises when the database (server, file, folder, URL), not our code, is
#: the problem. Only ``startup`` catches these: later, the same errors are bugs or outages.
_CANNOT_OPEN = (OSError, sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError)


class DatabaseUnavailable(Exception):
    """The configured database cannot be opened or reached: the operator's to fix, not a bug.

    The message is one line naming the database and what to do; the CLI prints it as it is.
    """


def database_url() -> str:
    """DATABASE_URL, else CAREROUTE_DB (a file path), else ./careroute.db."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    path = os.environ.get("CAREROUTE_DB", DEFAULT_SQLITE_PATH)
    return f"sqlite:///{path}"


def make_engine(url: str | None = None) -> Engine:
    """Build the Piccolo engine for ``url`` (see database_url)."""
    url = url or database_url()
    if url.startswith(("postgres://", "postgresql://")):
        # Piccolo connects once here to read the server version and warns if it cannot; startup()
        # reports that failure as DatabaseUnavailable, so the warning would only say it twice.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Unable to (connect|fetch server version)")
            return PostgresEngine(config={"dsn": url})
    if url.startswith("sqlite:///"):
        # The folder is made by startup(), where a failure becomes DatabaseUnavailable: this runs
        # when app.piccolo_conf is imported, wherever that happens.
        return TunedSQLiteEngine(path=url[len("sqlite:///") :], timeout=SQLITE_BUSY_TIMEOUT_S)
    raise DatabaseUnavailable(
        f"unsupported DATABASE_URL {redact(url)!r}: use sqlite:///path or postgresql://..."
    )


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def engine() -> Engine:
    """The process-wide engine (Piccolo's, from app.piccolo_conf)."""
    from app.piccolo_conf import DB

    return DB


def is_sqlite() -> bool:
    return engine().engine_type == "sqlite"


def sqlite_path() -> Path | None:
    """Path of the SQLite file, or None on PostgreSQL."""
    db = engine()
    return Path(db.path).resolve() if isinstance(db, SQLiteEngine) else None


# One lock per event loop: tests may drive the app from more than one loop, and an asyncio.Lock
# belongs to the loop that first waits on it.
_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _write_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _write_locks.get(loop)
    if lock is None:
        lock = _write_locks[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def write_tx() -> AsyncIterator[None]:
    """One write transaction: everything inside commits together or not at all."""
    db = engine()
    if db.engine_type == "sqlite":
        async with (
            _write_lock(),
            _safely(db.transaction(transaction_type=TransactionType.immediate)),
        ):
            yield
    else:
        async with _safely(db.transaction()):
            yield


@asynccontextmanager
async def _safely(tx: Any) -> AsyncIterator[None]:
    """Piccolo's transaction, safe to cancel at any point.

    Piccolo's transaction takes a connection, then awaits BEGIN; cancelled during that await (a
    request whose client went away, a worker stopped at shutdown), it never gives the connection
    back: on PostgreSQL it stayed "idle in transaction" and ``db.shutdown()`` waited for it for
    ever; on SQLite it would hold the write lock. The same holds for a cancel during COMMIT or
    ROLLBACK. Here a transaction that fails to start or to end gives its connection back: the
    asyncpg pool resets it (waiting for a cancelled query, rolling back) or closes it; on SQLite
    it is closed (which waits for a statement still queued on its thread and rolls back)."""
    try:
        await tx.__aenter__()
    except BaseException:
        await _abandon(tx)
        raise
    try:
        yield
    except Exception as exc:  # the transaction's own statements all finished: roll back, reuse
        try:
            await tx.__aexit__(type(exc), exc, exc.__traceback__)
        except BaseException:
            await _abandon(tx)
        raise
    except BaseException:  # cancelled: a statement may still be running on the connection
        await _abandon(tx)
        raise
    try:
        await tx.__aexit__(None, None, None)
    except BaseException:
        await _abandon(tx)
        raise


async def _abandon(tx: Any) -> None:
    connection = getattr(tx, "connection", None)
    context = getattr(tx, "context", None)
    if context is not None:
        with contextlib.suppress(ValueError, RuntimeError):
            tx.engine.current_transaction.reset(context)
    if connection is None:
        return
    if isinstance(tx.engine, TunedSQLiteEngine):
        await connection.discard()
        return
    pool = getattr(tx.engine, "pool", None)
    try:
        if pool is not None:
            # asyncpg waits for a cancelled query, rolls back, resets, or closes the connection
            await pool.release(connection)
        else:
            connection.terminate()
    except (asyncpg.InterfaceError, asyncpg.InternalClientError):
        pass  # already given back (asyncpg shields the release itself)


async def startup(pool_size: int = 10) -> None:
    """Per-process start: WAL for SQLite (persists in the file), a connection pool for PG.

    Raises DatabaseUnavailable, naming the database and what to do, when it cannot be opened.
    """
    db = engine()
    try:
        if isinstance(db, SQLiteEngine):
            Path(db.path).resolve().parent.mkdir(parents=True, exist_ok=True)
            await db.run_ddl("PRAGMA journal_mode=WAL")
        elif getattr(db, "pool", None) is None:  # one pool per process, however many callers
            await db.start_connection_pool(min_size=1, max_size=pool_size)
    except _CANNOT_OPEN as exc:
        raise DatabaseUnavailable(_cannot_open(db, exc)) from exc


def _cannot_open(db: Engine, exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(db, SQLiteEngine):
        return (
            f"cannot open {_describe(db)} ({reason}): "
            "choose another file with --db (a careroute database, or a new file in a folder "
            "you can write), or set DATABASE_URL"
        )
    return (
        f"cannot connect to {_describe(db)} ({reason}): "
        "start the server or fix DATABASE_URL (host, port, database, user)"
    )


def _describe(db: Engine) -> str:
    if isinstance(db, SQLiteEngine):
        return f"the SQLite database {Path(db.path).resolve()}"
    return f"PostgreSQL at {redact(database_url())}"


async def require_schema() -> None:
    """For commands that only read (audit verify): a database never migrated is a wrong path,
    not an empty audit trail; say so instead of failing on a missing table."""
    from app.tables import AuditEvent

    if not await AuditEvent.table_exists():
        raise DatabaseUnavailable(
            f"{_describe(engine())} has no careroute tables: check --db or DATABASE_URL, "
            "or run careroute migrate first"
        )


async def shutdown() -> None:
    db = engine()
    if isinstance(db, TunedSQLiteEngine):
        await db.close_pool()
    elif db.engine_type != "sqlite":
        await db.close_connection_pool()


def migration_url() -> str | None:
    """``CAREROUTE_MIGRATION_URL``: the database owner's URL, when DATABASE_URL is a runtime role
    that may not change the schema (app/db_roles.py)."""
    return os.environ.get(MIGRATION_URL_ENV, "").strip() or None


async def migrate() -> None:
    """Run every pending Piccolo migration (idempotent): as the owner of CAREROUTE_MIGRATION_URL
    when it is set (in a ``careroute migrate`` process of its own), else on this connection."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    owner = migration_url()
    if owner and owner != database_url():
        await _migrate_as(owner)
        return
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints progress with emoji
            result = await run_forwards("careroute")
    except asyncpg.InsufficientPrivilegeError as exc:
        raise DatabaseUnavailable(_may_not_migrate(exc)) from exc
    if not result.success:
        if "permission denied" in str(result.message) or "must be owner" in str(result.message):
            raise DatabaseUnavailable(_may_not_migrate(result.message))
        raise RuntimeError(f"migration failed: {result.message}")


def _may_not_migrate(reason: object) -> str:
    return (
        f"the role of {redact(database_url())} may not migrate the database "
        f"({' '.join(str(reason).split())}): set {MIGRATION_URL_ENV} to the owner's URL, "
        "or run careroute migrate as the owner"
    )


async def _migrate_as(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != MIGRATION_URL_ENV} | {"DATABASE_URL": url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await proc.communicate()
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines() or ["no message"]
        raise DatabaseUnavailable(
            f"migrating as the owner ({MIGRATION_URL_ENV}={redact(url)}) failed: {lines[-1]}"
        )


async def drop_everything() -> None:
    """PostgreSQL only: drop every table of the database and the audit guard, so migrations
    start from scratch (the test suites and benchmarks use throwaway databases)."""
    from piccolo.querystring import QueryString

    db = engine()
    if db.engine_type == "sqlite":
        raise RuntimeError("drop_everything is for a throwaway PostgreSQL database")
    rows = await db.run_querystring(
        QueryString("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    if rows:
        names = ", ".join(f'"{r["tablename"]}"' for r in rows)
        await db.run_ddl(f"DROP TABLE IF EXISTS {names} CASCADE")
    await db.run_ddl("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE")
    await db.run_ddl("DROP FUNCTION IF EXISTS careroute_audit_head()")


async def insert_rows(
    table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], suffix: str = ""
) -> list[dict[str, Any]]:
    """One multi-row ``INSERT`` in plain SQL (``suffix``: ``ON CONFLICT ...``, ``RETURNING``).

    For the hot paths of a command (task index rows, audit events), where building the statement
    through Piccolo's query objects cost more than running it. ``table`` and ``columns`` are
    constants of the caller; every value is a bound parameter."""
    from app.tables import AuditEvent

    one = "(" + ", ".join("{}" for _ in columns) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 (constants)
        + ", ".join(one for _ in rows)
        + suffix
    )
    return await AuditEvent.raw(sql, *(value for row in rows for value in row))
