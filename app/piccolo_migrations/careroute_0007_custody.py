"""Custody in a migration station (issue 11): ``station_custody``, one row per time a child was
held in an INM migration station (LM art. 99: none may be; each row is a breach from its start).

Hand-written DDL that runs on SQLite and PostgreSQL alike; only this table is created here.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T18:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "custody"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"  # Piccolo converts it on SQLite by the declared type
    return [
        f"""CREATE TABLE IF NOT EXISTS station_custody (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            station_authority_id INTEGER NOT NULL REFERENCES authority (id) ON DELETE RESTRICT,
            station_name VARCHAR(200) NOT NULL,
            started_at {ts} NOT NULL,
            ended_at {ts},
            recorded_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            recorded_by_authority_id INTEGER REFERENCES authority (id) ON DELETE RESTRICT,
            recorded_at {ts} NOT NULL,
            ended_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            end_recorded_at {ts}
        )""",
        "CREATE INDEX IF NOT EXISTS station_custody_by_case ON station_custody (case_id, id)",
        # oversight: who is held now, and the records of a period
        "CREATE INDEX IF NOT EXISTS station_custody_by_time"
        " ON station_custody (started_at, ended_at)",
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
