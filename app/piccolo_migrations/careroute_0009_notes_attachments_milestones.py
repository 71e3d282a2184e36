"""Case notes, attachments and funnel milestones (issue 14): ``case_note``, ``case_attachment``
(the file itself is stored outside the database under its SHA-256) and ``case_milestone`` (the
first instant a case reached a stage of the oversight funnel), back-filled from the task index
and the placements for cases opened before this migration.

Hand-written DDL that runs on SQLite and PostgreSQL alike.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T19:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notes, attachments, milestones"

#: the funnel's stages and the tasks whose first completion reaches them (the same mapping as
#: app/services/dashboard.py STAGE_TASKS at the time of this migration)
STAGE_TASKS = {
    "medida": ("emitir_medida_proteccion", "decretar_medida_urgente", "ordenar_medida_urgente"),
    "bia": ("aprobar_bia",),
    "bid": ("registrar_decision_bid",),
    "solucion": (
        "verificar_entrega_familiar",
        "regularizar_estancia",
        "coordinar_reasentamiento_acnur",
        "acompanar_retorno",
    ),
}


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"
    out = [
        f"""CREATE TABLE IF NOT EXISTS case_note (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            body TEXT NOT NULL,
            author_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            author_authority_id INTEGER REFERENCES authority (id) ON DELETE RESTRICT,
            created_at {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS case_note_by_case ON case_note (case_id, id)",
        f"""CREATE TABLE IF NOT EXISTS case_attachment (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            sha256 VARCHAR(64) NOT NULL,
            filename VARCHAR(200) NOT NULL,
            content_type VARCHAR(40) NOT NULL,
            size INTEGER NOT NULL,
            uploaded_by_id INTEGER REFERENCES app_user (id) ON DELETE RESTRICT,
            uploaded_by_authority_id INTEGER REFERENCES authority (id) ON DELETE RESTRICT,
            created_at {ts} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS case_attachment_by_case ON case_attachment (case_id, id)",
        f"""CREATE TABLE IF NOT EXISTS case_milestone (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            stage VARCHAR(20) NOT NULL,
            reached_at {ts} NOT NULL
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS case_milestone_once ON case_milestone (case_id, stage)",
        "CREATE INDEX IF NOT EXISTS case_milestone_by_stage ON case_milestone (stage, case_id)",
        # the dashboard's period filter (cases detected in the period)
        "CREATE INDEX IF NOT EXISTS nna_case_by_opened ON nna_case (opened_at)",
    ]
    for stage, tasks in STAGE_TASKS.items():
        names = ", ".join(f"'{t}'" for t in tasks)
        # the constants of this module, no input
        insert = (
            f"INSERT INTO case_milestone (case_id, stage, reached_at) SELECT case_id, '{stage}'"  # noqa: S608
        )
        out.append(
            f"{insert}, MIN(completed_at) FROM task"
            f" WHERE status = 'completed' AND completed_at IS NOT NULL AND bpmn_id IN ({names})"
            " GROUP BY case_id ON CONFLICT (case_id, stage) DO NOTHING"
        )
    out.append(
        "INSERT INTO case_milestone (case_id, stage, reached_at)"
        " SELECT case_id, 'albergue', MIN(admitted_at) FROM placement GROUP BY case_id"
        " ON CONFLICT (case_id, stage) DO NOTHING"
    )
    return out


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _statements(pg):
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
