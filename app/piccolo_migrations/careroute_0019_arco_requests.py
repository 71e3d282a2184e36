"""ARCO requests (issue 16, item 3; LGPDPPSO arts. 37-50): ``arco_request``, one row per request
to access, rectify, cancel or oppose the processing of a child's data, with its deadline on the
answering authority's working-day calendar (art. 45), its one extension and its answer. The free
text is sealed with the case's data key by the service, so erasure makes it unreadable.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ARCO requests"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"
    user = "INTEGER REFERENCES app_user (id) ON DELETE RESTRICT"
    return [
        f"""CREATE TABLE IF NOT EXISTS arco_request (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            case_folio VARCHAR(32) NOT NULL,
            authority_id INTEGER NOT NULL REFERENCES authority (id) ON DELETE RESTRICT,
            derecho VARCHAR(20) NOT NULL,
            solicitante_relacion VARCHAR(30) NOT NULL,
            solicitante_nombre TEXT NOT NULL,
            verificacion VARCHAR(40) NOT NULL,
            verificacion_detalle TEXT NOT NULL,
            descripcion TEXT,
            recibida_en {ts} NOT NULL,
            vence_en {ts} NOT NULL,
            jurisdiccion VARCHAR(2) NOT NULL,
            calendario VARCHAR(20) NOT NULL,
            ampliada_en {ts},
            ampliacion_razones TEXT,
            estado VARCHAR(12) NOT NULL DEFAULT 'abierta',
            resultado VARCHAR(20),
            causa VARCHAR(40),
            razones TEXT,
            respondida_en {ts},
            respondida_por_id {user},
            vencida_en {ts},
            registrada_por_id {user},
            registrada_en {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS arco_request_by_authority"
        " ON arco_request (authority_id, estado, vence_en)",
        "CREATE INDEX IF NOT EXISTS arco_request_by_case ON arco_request (case_id, id)",
        "CREATE INDEX IF NOT EXISTS arco_request_due ON arco_request (estado, vencida_en, vence_en)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
