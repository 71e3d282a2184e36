"""Placement kinds and destinations (issue 12, item 5): a placement is a stay in a shelter (CAS)
or a family-based placement (family of origin, kinship, foster, pre-adoptive), so the
missing-child protocol can start for a child in family care; a placement that ends records where
the child goes.

- ``placement.kind``: ``cas`` (the only kind before), ``familia_origen``, ``familia_extensa``,
  ``acogimiento``, ``preadoptivo``. For a family placement ``shelter_id`` is the DIF authority
  that formalised it and follows it up; only ``cas`` rows count against a shelter's capacity.
- ``placement.destino``: where the child goes when the placement ends by discharge or closure.

Hand-written DDL that runs on SQLite and PostgreSQL alike (ADD COLUMN with a constant default).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "placement kind and destino"

STATEMENTS = [
    "ALTER TABLE placement ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'cas'",
    "ALTER TABLE placement ADD COLUMN destino VARCHAR(32) NULL",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in STATEMENTS:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
