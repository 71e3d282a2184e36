"""Composite indexes the inbox, access checks and audit filters rely on, and the audit guard.

The audit trail is append-only on both engines: a trigger refuses UPDATE and DELETE on
``audit_event`` (and TRUNCATE on PostgreSQL). Hash-chain verification (``careroute audit verify``)
still catches changes made by someone who drops the trigger.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T03:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes_and_audit_guard"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS task_inbox_authority ON task (authority_id, status, sort_due, id)",
    "CREATE INDEX IF NOT EXISTS task_inbox_assignee ON task (assignee_id, status, sort_due, id)",
    "CREATE INDEX IF NOT EXISTS task_by_case ON task (case_id, status)",
    "CREATE UNIQUE INDEX IF NOT EXISTS case_access_pair ON case_access (case_id, authority_id)",
    "CREATE INDEX IF NOT EXISTS case_access_by_authority"
    " ON case_access (authority_id, active, case_id)",
    "CREATE INDEX IF NOT EXISTS placement_by_shelter ON placement (shelter_id, status)",
    "CREATE INDEX IF NOT EXISTS placement_by_case ON placement (case_id, status)",
    "CREATE INDEX IF NOT EXISTS audit_by_case ON audit_event (case_id, id)",
    "CREATE INDEX IF NOT EXISTS audit_by_at ON audit_event (at, id)",
    "CREATE INDEX IF NOT EXISTS auth_token_by_user ON auth_token (user_id)",
]

SQLITE_GUARD = [
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
]

POSTGRES_GUARD = [
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        guard = SQLITE_GUARD if db.engine_type == "sqlite" else POSTGRES_GUARD
        for statement in INDEXES + guard:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
