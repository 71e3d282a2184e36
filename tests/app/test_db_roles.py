"""Owner and runtime roles on PostgreSQL (issue 15, item 7): the table owner may switch the audit
guard off, so the server and the worker run as a runtime role that only reads and appends to
the audit trail, while migrations run as the owner. Role names come from the test database's
name, so helpers sharing one PostgreSQL server never clash. On SQLite the command says it is for
PostgreSQL and writes nothing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import asyncpg

from app import db
from app.db_roles import _url_for

ROOT = Path(__file__).resolve().parents[2]
#: what someone holding the runtime role's credentials tries against the trail
REFUSED = [
    "UPDATE {t} SET {c} = {c} WHERE id = (SELECT min(id) FROM {t})",
    "DELETE FROM {t} WHERE id = (SELECT min(id) FROM {t})",
    "TRUNCATE {t}",
    "ALTER TABLE {t} DISABLE TRIGGER USER",
    "ALTER TABLE {t} DISABLE TRIGGER ALL",
    "DROP TABLE {t}",
]
APPEND_ONLY = {"audit_event": "action", "audit_checkpoint": "key_id"}
OTHER_REFUSED = [
    "CREATE TABLE sneaky (id int)",
    "UPDATE migration SET name = name",
    "ALTER TABLE nna_case DISABLE TRIGGER USER",
]


def _careroute(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CAREROUTE_DB")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=clean | {"PYTHONPATH": str(ROOT)} | env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


async def _refused(conn: asyncpg.Connection, sql: str) -> bool:
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(sql)
    except asyncpg.InsufficientPrivilegeError:
        return True
    finally:
        await tx.rollback()
    return False


async def test_the_runtime_role_may_only_read_and_append_to_the_audit_trail(database, tmp_path):
    if db.is_sqlite():
        path = tmp_path / "x.db"
        out = _careroute("--db", str(path), "db", "roles", env={}, cwd=tmp_path)
        assert out.returncode == 1 and "for PostgreSQL" in out.stderr, out
        assert not path.exists()
        return
    admin_url = db.database_url()
    admin = await asyncpg.connect(admin_url)
    name = await admin.fetchval("SELECT current_database()")
    owner, runtime = f"{name}_owner", f"{name}_runtime"
    passwords = {owner: secrets.token_urlsafe(16), runtime: secrets.token_urlsafe(16)}
    owner_url = _url_for(admin_url, owner, passwords[owner])
    runtime_url = _url_for(admin_url, runtime, passwords[runtime])
    try:
        out = _careroute(
            "db",
            "roles",
            env={
                "DATABASE_URL": admin_url,
                "CAREROUTE_OWNER_PASSWORD": passwords[owner],
                "CAREROUTE_RUNTIME_PASSWORD": passwords[runtime],
            },
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert f"DATABASE_URL={runtime_url}" in out.stdout
        again = _careroute("db", "roles", env={"DATABASE_URL": admin_url}, cwd=tmp_path)
        assert again.returncode == 0 and f"runtime role {runtime}: updated" in again.stdout

        conn = await asyncpg.connect(runtime_url)
        try:
            attempts = [
                sql.format(t=table, c=column)
                for table, column in APPEND_ONLY.items()
                for sql in REFUSED
            ] + OTHER_REFUSED
            allowed = [sql for sql in attempts if not await _refused(conn, sql)]
            assert allowed == [], f"the runtime role may: {allowed}"
            assert await conn.fetchval("SELECT count(*) FROM audit_event") > 0
        finally:
            await conn.close()

        # the owner could (that is why nothing runs as the owner but migrations)
        conn = await asyncpg.connect(owner_url)
        try:
            assert not await _refused(conn, "ALTER TABLE audit_event DISABLE TRIGGER USER")
        finally:
            await conn.close()
        owners = await admin.fetch(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        )
        assert [r["tableowner"] for r in owners] == [owner]

        # a command of the app as the runtime role: it appends to the chain; migrations (none
        # pending) run as the owner; the chain still verifies
        served = {"DATABASE_URL": runtime_url, "CAREROUTE_MIGRATION_URL": owner_url}
        user = f"roles.{secrets.token_hex(3)}"
        created = _careroute(
            "users", "create", user, "--role", "officer", "--authority", "INM-07",
            "--password", "a-long-enough-password", env=served, cwd=tmp_path,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        action = await admin.fetchval("SELECT action FROM audit_event ORDER BY id DESC LIMIT 1")
        assert action == "user.created"
        verified = _careroute("audit", "verify", env=served, cwd=tmp_path)
        assert verified.returncode == 0, verified.stderr
        migrated = _careroute("migrate", env=served, cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
    finally:
        for role in (owner, runtime):
            exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if exists:
                await admin.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
                await admin.execute(f'DROP OWNED BY "{role}"')
                await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()
