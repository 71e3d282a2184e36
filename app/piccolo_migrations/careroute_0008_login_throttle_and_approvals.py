"""Issue 15: the login throttle moves into the database, and accounts get an approval.

- ``login_throttle``: one row per budget (app/throttle.py), so every server process counts the
  same attempts; keys are digests, times seconds since the epoch.
- ``app_user``: ``approval`` (approved / pending / rejected), who requested and who approved the
  account, and how it was created (``cli``, ``api``, ``demo``). Accounts that exist already are
  approved: they were made by the CLI, the demo, or an admin before this rule.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login_throttle_and_approvals"

USER_COLUMNS = [
    ("approval", "VARCHAR(10) NOT NULL DEFAULT 'approved'"),
    ("requested_by_id", "INTEGER"),
    ("approved_by_id", "INTEGER"),
    ("approved_at", "TIMESTAMPTZ"),
    ("created_via", "VARCHAR(10) NOT NULL DEFAULT 'cli'"),
]


def _throttle(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        f"""CREATE TABLE IF NOT EXISTS login_throttle (
            id {pk},
            key VARCHAR(80) NOT NULL UNIQUE,
            tat DOUBLE PRECISION NOT NULL,
            n INTEGER NOT NULL DEFAULT 0,
            w DOUBLE PRECISION NOT NULL DEFAULT 0,
            expires DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS login_throttle_expires ON login_throttle (expires)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _throttle(pg):
            await db.run_ddl(statement)
        if pg:
            for name, ddl in USER_COLUMNS:
                await db.run_ddl(f"ALTER TABLE app_user ADD COLUMN IF NOT EXISTS {name} {ddl}")
        else:
            have = {r["name"] for r in await db.run_ddl("PRAGMA table_info(app_user)")}
            for name, ddl in USER_COLUMNS:
                if name not in have:
                    await db.run_ddl(f"ALTER TABLE app_user ADD COLUMN {name} {ddl}")
        await db.run_ddl(
            "CREATE INDEX IF NOT EXISTS app_user_by_created ON app_user (created_at, id)"
        )

    manager.add_raw(run)
    return manager
