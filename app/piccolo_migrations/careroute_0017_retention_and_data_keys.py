"""Retention and erasure (issue 16, items 1 and 2): per-case data keys, the name search's blind
index, each closed case's retention clock and legal holds, and ``nna_case.retention``.

Existing rows are NOT encrypted here: the migration runs without the master key (it lives outside
the database, app/keys.py). Old plaintext rows stay readable and are encrypted on their next
write (an identity on its next correction); erasure deletes them as well as destroying the key.
A batch backfill of old rows is not written yet; docs/data-protection.md says what that leaves
in older backups.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "retention, legal holds, data keys, name blind index"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    case_fk = "INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE"
    widen = ["ALTER TABLE case_attachment ALTER COLUMN filename TYPE TEXT"] if pg else []
    return widen + [
        "ALTER TABLE nna_case ADD COLUMN retention VARCHAR(10) NOT NULL DEFAULT 'active'",
        f"""CREATE TABLE IF NOT EXISTS case_data_key (
            id {pk},
            case_id {case_fk} UNIQUE,
            key_id VARCHAR(16) NOT NULL,
            wrapped TEXT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            destroyed_at TIMESTAMPTZ NULL
        )""",
        f"""CREATE TABLE IF NOT EXISTS case_name_token (
            id {pk},
            case_id {case_fk},
            token VARCHAR(64) NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS case_name_token_token ON case_name_token (token, case_id)",
        "CREATE INDEX IF NOT EXISTS case_name_token_case ON case_name_token (case_id)",
        f"""CREATE TABLE IF NOT EXISTS case_retention (
            id {pk},
            case_id {case_fk} UNIQUE,
            closed_at TIMESTAMPTZ NOT NULL,
            counted_from TIMESTAMPTZ NOT NULL,
            block_at TIMESTAMPTZ NOT NULL,
            erase_at TIMESTAMPTZ NOT NULL,
            blocked_at TIMESTAMPTZ NULL,
            erased_at TIMESTAMPTZ NULL,
            held_seconds BIGINT NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX IF NOT EXISTS case_retention_block ON case_retention (block_at)"
        " WHERE blocked_at IS NULL",
        "CREATE INDEX IF NOT EXISTS case_retention_erase ON case_retention (erase_at)"
        " WHERE erased_at IS NULL",
        f"""CREATE TABLE IF NOT EXISTS legal_hold (
            id {pk},
            case_id {case_fk},
            motivo VARCHAR(30) NOT NULL,
            referencia VARCHAR(200) NOT NULL,
            set_at TIMESTAMPTZ NOT NULL,
            set_by VARCHAR(100) NOT NULL,
            lifted_at TIMESTAMPTZ NULL,
            lifted_by VARCHAR(100) NULL
        )""",
        "CREATE INDEX IF NOT EXISTS legal_hold_active ON legal_hold (case_id)"
        " WHERE lifted_at IS NULL",
        # closed cases the worker has not enrolled yet (app/services/retention.py enroll)
        "CREATE INDEX IF NOT EXISTS nna_case_closed_retention ON nna_case (closed_at)"
        " WHERE status = 'closed' AND retention = 'active'",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
