"""Route versions (issue 13): ``route_version`` keeps the files of every route version a case
was started on or migrated to, so any server can run a case on its own version until it is
migrated explicitly (workflows/versions.py, app/services/route_versions.py). The number (``id``)
is what analysts and the CLI call a version; ``version`` is the content hash cases record.

``workflow_state.spec_version`` is indexed: the oversight view and ``careroute route versions``
count open cases per version.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "route_version"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        f"""CREATE TABLE IF NOT EXISTS route_version (
            id {pk},
            version VARCHAR(64) NOT NULL UNIQUE,
            files TEXT NOT NULL,
            file_count INTEGER NOT NULL,
            registered_at TIMESTAMPTZ NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS workflow_state_spec_version ON workflow_state (spec_version)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
