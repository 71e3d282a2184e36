"""Calendars per authority and year (issue 11): the non-working days each authority type
declares by acuerdo (LFPA art. 28), stored by ``careroute calendario declarar``.

A declaration is a recompute job like a suspension of terms (``term_suspension``): the worker
recomputes the open cases in batches and records how far it got; withdrawing one queues the
recompute again.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "calendar_declarations"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"
    return [
        f"""CREATE TABLE IF NOT EXISTS calendar_declaration (
            id {pk},
            autoridad VARCHAR(20) NOT NULL,
            dias TEXT NOT NULL,
            fuente VARCHAR(500) NOT NULL,
            motivo VARCHAR(500) NOT NULL,
            created_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            created_at {ts} NOT NULL,
            withdrawn_at {ts},
            recompute_total INTEGER,
            recompute_done INTEGER NOT NULL DEFAULT 0,
            recompute_changed INTEGER NOT NULL DEFAULT 0,
            recompute_failed INTEGER NOT NULL DEFAULT 0,
            recompute_cursor INTEGER NOT NULL DEFAULT 0,
            recompute_finished_at {ts}
        )""",
        "CREATE INDEX IF NOT EXISTS calendar_declaration_pending"
        " ON calendar_declaration (recompute_finished_at, id)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _statements(pg):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
