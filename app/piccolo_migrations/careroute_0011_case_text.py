"""Free text out of the audit trail (issue 15): ``case_text`` keeps what a person typed about a
child's case that had no other home (a relocation reason), owned by the case so it can be
erased with it; ``calendar_declaration.withdrawn_reason`` keeps why days were withdrawn. The
audit events keep only the field names and keyed digests (app/audit.py).

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case_text"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        f"""CREATE TABLE IF NOT EXISTS case_text (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            action VARCHAR(60) NOT NULL,
            field VARCHAR(60) NOT NULL,
            text TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            created_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT
        )""",
        "CREATE INDEX IF NOT EXISTS case_text_by_case ON case_text (case_id, id)",
        "ALTER TABLE calendar_declaration ADD COLUMN withdrawn_reason VARCHAR(500)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
