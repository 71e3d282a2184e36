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


async def _backfill_submissions(db, batch: int = 200) -> None:
    """Cases opened before this migration: their opening form and the latest submission of each
    completed task, from the engine state (the only copy until now), attributed to the task row
    that completed it. Earlier loops and other instances of a multi-instance task were not kept
    anywhere and stay missing. A case that has submissions already is left alone."""
    last = 0
    while True:
        states = await db.run_querystring(
            _qs(
                "SELECT w.case_id, w.state, c.opened_at, c.opened_by_id, c.opened_by_authority_id"
                " FROM workflow_state w JOIN nna_case c ON c.id = w.case_id"
                " WHERE w.case_id > {} AND NOT EXISTS"
                " (SELECT 1 FROM task_submission s WHERE s.case_id = w.case_id)"
                " ORDER BY w.case_id LIMIT {}",
                last,
                batch,
            )
        )
        if not states:
            return
        last = states[-1]["case_id"]
        ids = [r["case_id"] for r in states]
        marks = ", ".join("{}" for _ in ids)
        done = await db.run_querystring(
            _qs(
                "SELECT t.case_id, t.task_id, t.bpmn_id, t.completed_at, t.completed_by_id,"  # noqa: S608
                " u.authority_id FROM task t LEFT JOIN app_user u ON u.id = t.completed_by_id"
                f" WHERE t.status = 'completed' AND t.case_id IN ({marks})"
                " ORDER BY t.completed_at, t.id",
                *ids,
            )
        )
        latest = {(r["case_id"], r["bpmn_id"]): r for r in done}  # the newest wins
        for row in states:
            try:
                forms = json.loads(row["state"]).get("meta", {}).get("forms", {})
            except ValueError:
                continue
            for bpmn_id, data in forms.items():
                if bpmn_id == "inicio_caso":
                    values = (f"inicio-{row['case_id']}", row["opened_at"], row["opened_by_id"],
                              row["opened_by_authority_id"])  # fmt: skip
                else:
                    task = latest.get((row["case_id"], bpmn_id))
                    if task is None or task["completed_at"] is None:
                        continue
                    values = (task["task_id"], task["completed_at"], task["completed_by_id"],
                              task["authority_id"])  # fmt: skip
                await db.run_querystring(
                    _qs(
                        "INSERT INTO task_submission (case_id, task_id, bpmn_id, data,"
                        " submitted_at, submitted_by_id, submitted_by_authority_id)"
                        " VALUES ({}, {}, {}, {}, {}, {}, {})",
                        row["case_id"],
                        values[0],
                        bpmn_id,
                        json.dumps(data, ensure_ascii=False),
                        values[1],
                        values[2],
                        values[3],
                    )  # fmt: skip
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
        await _backfill_submissions(db)
        if pg:
            await _trigram_index(db)

    manager.add_raw(run)
    return manager
