"""Deadlines: escalations (oversight breaches at level 3), in-app notifications, the outgoing
notification outbox and term suspensions (issue 4).

Hand-written DDL that runs on SQLite and PostgreSQL alike; the audit trigger is not touched.
``deadline_escalation`` has a unique key on (task_id, plazo_id, level): a replayed sweep can never
escalate the same level of the same deadline twice.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T04:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "deadlines"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"  # Piccolo converts it on SQLite by the declared type
    return [
        f"""CREATE TABLE IF NOT EXISTS deadline_escalation (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            case_folio VARCHAR(32) NOT NULL,
            task_id VARCHAR(36) NOT NULL,
            task_bpmn_id VARCHAR(100),
            plazo_id VARCHAR(100) NOT NULL,
            level INTEGER NOT NULL,
            authority_id INTEGER REFERENCES authority (id) ON DELETE RESTRICT,
            estado VARCHAR(2),
            due_at {ts} NOT NULL,
            level_due_at {ts} NOT NULL,
            fired_at {ts} NOT NULL,
            legal_source VARCHAR(500)
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS deadline_escalation_once"
        " ON deadline_escalation (task_id, plazo_id, level)",
        "CREATE INDEX IF NOT EXISTS deadline_escalation_by_level"
        " ON deadline_escalation (level, authority_id)",
        "CREATE INDEX IF NOT EXISTS deadline_escalation_by_case ON deadline_escalation (case_id)",
        f"""CREATE TABLE IF NOT EXISTS notification (
            id {pk},
            user_id INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
            kind VARCHAR(40) NOT NULL,
            escalation_id INTEGER REFERENCES deadline_escalation (id) ON DELETE CASCADE,
            case_folio VARCHAR(32),
            task_id VARCHAR(36),
            task_bpmn_id VARCHAR(100),
            plazo_id VARCHAR(100),
            level INTEGER,
            due_at {ts},
            created_at {ts} NOT NULL,
            read_at {ts}
        )""",
        "CREATE INDEX IF NOT EXISTS notification_by_user ON notification (user_id, read_at, id)",
        f"""CREATE TABLE IF NOT EXISTS notification_outbox (
            id {pk},
            kind VARCHAR(40) NOT NULL,
            payload TEXT NOT NULL,
            created_at {ts} NOT NULL,
            sent_at {ts},
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error VARCHAR(500)
        )""",
        "CREATE INDEX IF NOT EXISTS notification_outbox_pending"
        " ON notification_outbox (sent_at, id)",
        f"""CREATE TABLE IF NOT EXISTS term_suspension (
            id {pk},
            jurisdiccion VARCHAR(2) NOT NULL,
            desde DATE NOT NULL,
            hasta DATE NOT NULL,
            motivo VARCHAR(500) NOT NULL,
            fuente VARCHAR(500) NOT NULL,
            created_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            created_at {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS task_compliance ON task (deadline_id, status, authority_id)",
        "CREATE INDEX IF NOT EXISTS nna_case_open_by_estado ON nna_case (status, estado)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
