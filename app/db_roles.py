"""PostgreSQL roles: an owner that migrates, a runtime role that serves (``careroute db roles``).

Append-only is enforced by triggers (migration 0002), and a table's owner may switch its triggers
off (``ALTER TABLE audit_event DISABLE TRIGGER USER``) without being superuser. So the server and
the worker must not connect as the owner. ``careroute db roles``, run once by a database admin
(and again after each upgrade: it is idempotent), migrates, then:

- the **owner** role owns every table, sequence and function of the schema and runs the
  migrations (``CAREROUTE_MIGRATION_URL``);
- the **runtime** role (``DATABASE_URL`` of the server and the worker) may SELECT, INSERT,
  UPDATE and DELETE rows, but on ``audit_event`` and ``audit_checkpoint`` only SELECT and
  INSERT; it owns nothing, so it can neither disable a trigger, truncate, alter nor drop a
  table; the Piccolo ``migration`` table it may only read.

Tables that later migrations create are granted to the runtime role by default privileges; run
``careroute db roles`` again after upgrading, so a new append-only table loses UPDATE and DELETE.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from piccolo.querystring import QueryString

from app import db

#: Tables the runtime role may only read and append to.
APPEND_ONLY = ("audit_event", "audit_checkpoint")
#: Piccolo's record of the migrations that ran: the owner's.
READ_ONLY = ("migration",)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RolesError(Exception):
    """``careroute db roles`` cannot run here (SQLite, a bad role name): one line, exit 1."""


@dataclass
class RolesResult:
    database: str
    owner: str
    runtime: str
    created: list[str]
    #: passwords set by this run (generated unless given), to hand to the operator once
    passwords: dict[str, str]
    owner_url: str
    runtime_url: str


def require_postgres() -> None:
    if not db.database_url().startswith(("postgres://", "postgresql://")):
        raise RolesError(
            "database roles are for PostgreSQL: set DATABASE_URL to the database, connected "
            "as an admin (SQLite has no roles: protect the file and its folder instead)"
        )


def _ident(name: str) -> str:
    if not _NAME.match(name):
        raise RolesError(f"bad role name {name!r}: lower-case letters, digits and _ only")
    return f'"{name}"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _url_for(base: str, user: str, password: str | None) -> str:
    parts = urlsplit(base)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


async def _rows(sql: str) -> list[dict]:
    return await db.engine().run_querystring(QueryString(sql))


async def create_roles(
    owner: str | None = None,
    runtime: str | None = None,
    owner_password: str | None = None,
    runtime_password: str | None = None,
) -> RolesResult:
    """Create or update both roles and their privileges; the caller is connected as a database
    admin (superuser, or CREATEROLE and owner of the schema's objects). Default role names:
    ``<database>_owner`` and ``<database>_runtime`` (roles are shared by every database of the
    server, so each database gets its own)."""
    require_postgres()
    await db.migrate()
    database = (await _rows("SELECT current_database() AS d"))[0]["d"]
    owner = owner or f"{database}_owner"
    runtime = runtime or f"{database}_runtime"
    if owner == runtime:
        raise RolesError("the owner and the runtime roles must differ")
    o, r = _ident(owner), _ident(runtime)
    existing = {x["rolname"] for x in await _rows("SELECT rolname FROM pg_roles")}
    created, passwords = [], {}
    statements: list[str] = []
    for name, given in ((owner, owner_password), (runtime, runtime_password)):
        password = given or (None if name in existing else secrets.token_urlsafe(24))
        verb = "ALTER" if name in existing else "CREATE"
        options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        if password:
            options += f" PASSWORD {_literal(password)}"
            passwords[name] = password
        statements.append(f"{verb} ROLE {_ident(name)} {options}")
        if verb == "CREATE":
            created.append(name)
    tables = [t["tablename"] for t in await _rows(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )]  # fmt: skip
    sequences = [s["relname"] for s in await _rows(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
        "WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')) ORDER BY c.relname"  # not a column's
    )]  # fmt: skip
    functions = [f["sig"] for f in await _rows(
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS sig "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e' "
        "WHERE n.nspname = 'public' AND d.objid IS NULL ORDER BY 1"
    )]  # fmt: skip
    statements += [
        f"REVOKE {o} FROM {r}",  # the runtime role never acts as the owner
        f'GRANT CONNECT ON DATABASE "{database}" TO {o}, {r}',
        f"GRANT USAGE, CREATE ON SCHEMA public TO {o}",
        f"REVOKE CREATE ON SCHEMA public FROM {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
        *(f'ALTER TABLE "{t}" OWNER TO {o}' for t in tables),
        *(f'ALTER SEQUENCE "{s}" OWNER TO {o}' for s in sequences),
        *(f"ALTER FUNCTION {f} OWNER TO {o}" for f in functions),
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
        *(f"REVOKE ALL ON {t} FROM PUBLIC" for t in APPEND_ONLY + READ_ONLY if t in tables),
        *(f"REVOKE UPDATE, DELETE ON {t} FROM {r}" for t in APPEND_ONLY if t in tables),
        *(f"REVOKE INSERT, UPDATE, DELETE ON {t} FROM {r}" for t in READ_ONLY if t in tables),
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {r}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {r}",
    ]
    async with db.write_tx():
        for statement in statements:
            await db.engine().run_ddl(statement)
    base = db.database_url()
    return RolesResult(
        database,
        owner,
        runtime,
        created,
        passwords,
        _url_for(base, owner, passwords.get(owner)),
        _url_for(base, runtime, passwords.get(runtime)),
    )
