"""Case list and search (issue 14, item 1) and the record of completed forms (item 2).

- ``case_identity.search_name``: the child's names (given names, surnames, aliases) folded to
  lower case without accents, so a name search is one ``LIKE`` on one column
  (``app/services/case_search.py`` folds the query the same way). Existing rows are filled here.
  On PostgreSQL trigram indexes serve ``LIKE '%…%'`` (names, and folios) when the ``pg_trgm`` extension is there or
  can be created (a superuser runs the migration); without it the search scans the column.
- ``task_submission``: every completed form as it was submitted, who and when, append-only (the
  engine keeps only the latest submission of each task id; a multi-instance task such as a
  panel member's vote or a measure's follow-up has one row per instance here).
- Keyset indexes for the case list's sort orders (opened, updated) and its filters.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

import json
import unicodedata

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T19:14:07:000000"
VERSION = "1.38.0"
DESCRIPTION = "case_search_and_forms"

NAME_KEYS = ("nombres", "apellidos", "alias")


def fold(text: str) -> str:
    """Lower case, accents removed, single spaces (a copy of app/services/case_search.fold: a
    migration must not import the code it migrates for)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def search_name(data: dict) -> str:
    parts = []
    for key in NAME_KEYS:
        value = data.get(key)
        if isinstance(value, list):
            parts += [str(v) for v in value]
        elif value:
            parts.append(str(value))
    return fold(" ".join(parts))[:600]


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        "ALTER TABLE case_identity ADD COLUMN search_name VARCHAR(600) NOT NULL DEFAULT ''",
        f"""CREATE TABLE IF NOT EXISTS task_submission (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            task_id VARCHAR(36) NOT NULL,
            bpmn_id VARCHAR(100) NOT NULL,
            data TEXT NOT NULL,
            submitted_at TIMESTAMPTZ NOT NULL,
            submitted_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            submitted_by_authority_id INTEGER REFERENCES authority (id) ON DELETE RESTRICT
        )""",
        "CREATE INDEX IF NOT EXISTS task_submission_by_case ON task_submission (case_id, id)",
        "CREATE INDEX IF NOT EXISTS task_submission_by_task ON task_submission (task_id, id)",
        # the case list: newest first (or oldest, or by last change), keyset on (key, id)
        "CREATE INDEX IF NOT EXISTS nna_case_by_opened ON nna_case (opened_at, id)",
        "CREATE INDEX IF NOT EXISTS nna_case_by_updated ON nna_case (updated_at, id)",
        "CREATE INDEX IF NOT EXISTS nna_case_by_estado_opened ON nna_case (estado, opened_at, id)",
        # the open tasks of a case (stage, overdue, responsible authority), one probe per case
        "CREATE INDEX IF NOT EXISTS task_open_by_case ON task (case_id, status, process_id)",
        "CREATE INDEX IF NOT EXISTS case_identity_by_name ON case_identity (search_name)",
    ]


async def _trigram_index(db) -> None:
    """PostgreSQL: a trigram index for ``LIKE '%name%'`` when pg_trgm exists or may be created."""
    have = await db.run_querystring(
        _qs("SELECT 1 AS ok FROM pg_extension WHERE extname = 'pg_trgm'")
    )
    if not have:
        available = await db.run_querystring(
            _qs(
                "SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'pg_trgm'"
                " AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            )
        )
        if not available:
            return
        await db.run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    await db.run_ddl(
        "CREATE INDEX IF NOT EXISTS case_identity_name_trgm"
        " ON case_identity USING gin (search_name gin_trgm_ops)"
    )
    # a folio search matches any part of it ("000123")
    await db.run_ddl(
        "CREATE INDEX IF NOT EXISTS nna_case_folio_trgm ON nna_case USING gin (folio gin_trgm_ops)"
    )


def _qs(sql: str, *args):
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _statements(pg):
            await db.run_ddl(statement)
        rows = await db.run_querystring(_qs("SELECT id, data FROM case_identity"))
        for row in rows:
            data = row["data"]
            if isinstance(data, str):
                data = json.loads(data or "{}")
            name = search_name(data or {})
            if name:
                await db.run_querystring(
                    _qs("UPDATE case_identity SET search_name = {} WHERE id = {}", name, row["id"])
                )
        if pg:
            await _trigram_index(db)

    manager.add_raw(run)
    return manager
