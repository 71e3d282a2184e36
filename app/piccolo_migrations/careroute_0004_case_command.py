"""The one case-command path (issue 10): what it needs from the schema.

- ``directory_version``: one row whose ``n`` grows whenever an authority is created or changed.
  Every command reads it in the same statement that locks the case, so each process keeps the
  authority directory in memory and reloads it only when it changed (routing costs no query).
- ``notification_outbox.lease_until``: delivery claims a row for a while in a short transaction,
  sends it outside any transaction, then marks it sent; a webhook never holds the write lock.
- ``term_suspension`` progress: adding a suspension queues the recompute of open cases; the worker
  does it in batches and records how far it got (``GET /api/v1/suspensions/{id}``).
- PostgreSQL: ``careroute_audit_head()`` takes the audit chain's advisory lock and then reads the
  chain head, in one statement. The function is VOLATILE, so its SELECT runs with a snapshot
  taken after the lock was granted (a single plain statement would read the head from a snapshot
  taken before it waited, and could chain onto a stale head).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "case_command"


def _statements(pg: bool) -> list[str]:
    ts = "TIMESTAMPTZ"
    return [
        "CREATE TABLE IF NOT EXISTS directory_version (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
        "INSERT INTO directory_version (id, n) VALUES (1, 1) ON CONFLICT (id) DO NOTHING",
        f"ALTER TABLE notification_outbox ADD COLUMN lease_until {ts}",
        "ALTER TABLE term_suspension ADD COLUMN recompute_total INTEGER",
        "ALTER TABLE term_suspension ADD COLUMN recompute_done INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE term_suspension ADD COLUMN recompute_changed INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE term_suspension ADD COLUMN recompute_failed INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE term_suspension ADD COLUMN recompute_cursor INTEGER NOT NULL DEFAULT 0",
        f"ALTER TABLE term_suspension ADD COLUMN recompute_finished_at {ts}",
        # Suspensions added before this migration were recomputed in their request: done.
        "UPDATE term_suspension SET recompute_total = 0, recompute_finished_at = created_at",
        "CREATE INDEX IF NOT EXISTS term_suspension_pending"
        " ON term_suspension (recompute_finished_at, id)",
    ]


AUDIT_HEAD_FUNCTION = """
CREATE OR REPLACE FUNCTION careroute_audit_head() RETURNS varchar
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1128354373);  -- app/audit.py _CHAIN_LOCK_KEY ("CARE")
  RETURN (SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1);
END $$
"""


#: PostgreSQL: the engine state (tens of KB per case, rewritten by every command) is compressed
#: with lz4 instead of pglz, several times cheaper in CPU for a little more space; servers built
#: without lz4 keep pglz.
STATE_LZ4 = """
DO $$ BEGIN
  ALTER TABLE workflow_state ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
END $$
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _statements(pg) + ([AUDIT_HEAD_FUNCTION, STATE_LZ4] if pg else []):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
