"""Privacy notices, consents to share a child's data with third parties, and the security
incident log (issue 16, items 4 and 5; LGPDPPSO arts. 14-16, 20-22, 32-35, 59, 64):
``privacy_notice`` and ``data_consent`` (owned by the case, erased with it),
``security_incident`` with ``security_incident_case`` (the folio stays when a case is erased)
and ``security_incident_notice``.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "privacy notices, data consents, security incidents"


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"
    json = "JSON"
    user = "INTEGER REFERENCES app_user (id) ON DELETE RESTRICT"
    authority = "INTEGER REFERENCES authority (id) ON DELETE RESTRICT"
    return [
        f"""CREATE TABLE IF NOT EXISTS privacy_notice (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            version VARCHAR(40) NOT NULL,
            modalidad VARCHAR(20) NOT NULL,
            idioma VARCHAR(40) NOT NULL,
            forma_explicacion VARCHAR(40) NOT NULL,
            interprete BOOLEAN NOT NULL DEFAULT FALSE,
            entregado_a VARCHAR(30) NOT NULL,
            nna_comprende VARCHAR(20) NOT NULL,
            observaciones TEXT,
            explicado_por_id {user},
            explicado_en {ts} NOT NULL,
            recorded_by_id {user},
            recorded_by_authority_id {authority},
            recorded_at {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS privacy_notice_by_case ON privacy_notice (case_id, id)",
        f"""CREATE TABLE IF NOT EXISTS data_consent (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            destinatario VARCHAR(30) NOT NULL,
            destinatario_nombre VARCHAR(200) NOT NULL,
            finalidad VARCHAR(40) NOT NULL,
            decision VARCHAR(20) NOT NULL,
            otorgado_por VARCHAR(30),
            forma VARCHAR(30),
            opinion_nna VARCHAR(30),
            opinion_nna_texto TEXT,
            opinion_representante VARCHAR(30),
            representante_usuario VARCHAR(150),
            razones TEXT,
            base_legal VARCHAR(40),
            referencia_documento VARCHAR(300),
            privacy_notice_id INTEGER REFERENCES privacy_notice (id) ON DELETE RESTRICT,
            expresado_en {ts} NOT NULL,
            recorded_by_id {user},
            recorded_by_authority_id {authority},
            recorded_at {ts} NOT NULL,
            withdrawn_at {ts},
            withdrawn_by_id {user},
            retirado_por VARCHAR(30),
            motivo_retiro TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS data_consent_by_case ON data_consent (case_id, destinatario, id)",
        f"""CREATE TABLE IF NOT EXISTS security_incident (
            id {pk},
            tipo VARCHAR(40) NOT NULL,
            descripcion TEXT NOT NULL,
            motivo TEXT,
            ocurrio_en {ts} NOT NULL,
            detectado_en {ts} NOT NULL,
            datos_comprometidos {json} NOT NULL DEFAULT '[]',
            afectacion_significativa BOOLEAN NOT NULL DEFAULT FALSE,
            acciones_inmediatas TEXT,
            acciones_definitivas TEXT,
            recorded_by_id {user},
            recorded_at {ts} NOT NULL
        )""",
        f"""CREATE TABLE IF NOT EXISTS security_incident_case (
            id {pk},
            incident_id INTEGER NOT NULL REFERENCES security_incident (id) ON DELETE CASCADE,
            case_id INTEGER REFERENCES nna_case (id) ON DELETE SET NULL,
            folio VARCHAR(40) NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS security_incident_case_by_incident"
        " ON security_incident_case (incident_id)",
        "CREATE INDEX IF NOT EXISTS security_incident_case_by_case"
        " ON security_incident_case (case_id)",
        f"""CREATE TABLE IF NOT EXISTS security_incident_notice (
            id {pk},
            incident_id INTEGER NOT NULL REFERENCES security_incident (id) ON DELETE CASCADE,
            destinatario VARCHAR(30) NOT NULL,
            medio VARCHAR(30) NOT NULL,
            enviado_en {ts} NOT NULL,
            personas_notificadas INTEGER,
            recorded_by_id {user},
            recorded_at {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS security_incident_notice_by_incident"
        " ON security_incident_notice (incident_id)",
    ]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        for statement in _statements(db.engine_type != "sqlite"):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
