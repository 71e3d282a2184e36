"""Signed checkpoints of the audit chain's head (issue 15): ``audit_checkpoint``, append-only
like ``audit_event`` (the same guard: triggers refuse UPDATE and DELETE, and TRUNCATE on
PostgreSQL). The deadline worker writes one now and then (app/services/checkpoints.py); oversight
exports them and ``careroute audit verify --checkpoint FILE`` checks the chain against them.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T09:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit_checkpoint"


def _statements(pg: bool) -> list[str]:
    pk = "BIGSERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    table = [
        f"""CREATE TABLE IF NOT EXISTS audit_checkpoint (
            id {pk},
            at TIMESTAMPTZ NOT NULL,
            event_id BIGINT NOT NULL,
            event_count BIGINT NOT NULL,
            head_hash VARCHAR(64) NOT NULL,
            key_id VARCHAR(16) NOT NULL,
            signature VARCHAR(128) NOT NULL
        )""",
    ]
    if not pg:
        return table + [
            """CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_update
               BEFORE UPDATE ON audit_checkpoint
               BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
            """CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_delete
               BEFORE DELETE ON audit_checkpoint
               BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END""",
        ]
    return table + [
        # migration 0002's guard function, now naming the table it guards
        """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
               USING ERRCODE = 'insufficient_privilege';
           END $$""",
        "DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint",
        """CREATE TRIGGER audit_checkpoint_append_only
           BEFORE UPDATE OR DELETE ON audit_checkpoint
           FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
        "DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint",
        """CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
           FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
