"""The deadline register (issue 11): every deadline instance of every case, never deleted.

One row per deadline the route starts (the engine's ``deadline_started``), keyed by the
engine's timer id. Escalations, recomputes after a suspension of terms and the stop (task done,
or the route went another way) update it; nothing deletes it. Compliance is counted from it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "deadline_register"


def _statements(pg: bool) -> list[str]:
    ts = "TIMESTAMPTZ"
    serial = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        f"""CREATE TABLE IF NOT EXISTS deadline_register (
            id {serial},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            case_folio VARCHAR(32) NOT NULL,
            deadline_key VARCHAR(80) NOT NULL UNIQUE,
            plazo_id VARCHAR(100) NOT NULL,
            task_id VARCHAR(36),
            task_bpmn_id VARCHAR(100),
            authority_id INTEGER REFERENCES authority (id) ON DELETE RESTRICT,
            estado VARCHAR(2),
            legal_source VARCHAR(500),
            start_event VARCHAR(300),
            started_at {ts},
            armed_at {ts},
            backdated BOOLEAN NOT NULL DEFAULT FALSE,
            due_at {ts} NOT NULL,
            calendario VARCHAR(20),
            status VARCHAR(12) NOT NULL,
            breached_at {ts},
            closed_at {ts},
            outcome VARCHAR(12),
            cancel_reason VARCHAR(120),
            levels_reached INTEGER NOT NULL DEFAULT 0,
            updated_at {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS deadline_register_due ON deadline_register (due_at)",
        "CREATE INDEX IF NOT EXISTS deadline_register_case ON deadline_register (case_id)",
        "CREATE INDEX IF NOT EXISTS deadline_register_status ON deadline_register (status, due_at)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
