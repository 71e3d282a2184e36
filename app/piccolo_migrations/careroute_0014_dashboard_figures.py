"""The oversight dashboard at scale (issue 14).

- ``case_figure``: one narrow row per case with what the dashboard counts (the opening form's
  non-identifying characteristics, the instants of detection and of the first notification of
  the Procuraduría, the first instant each funnel stage was reached), kept in the command's
  transaction by the handlers of app/cases/handlers/figures.py.
- ``register_day``: the deadline register counted per day due (central Mexico), deadline,
  authority, state, status and open/closed, kept by the statements that write the register
  (app/cases/register_counts.py).
- indexes for the report's other aggregates (open breaches, open tasks, cases by status and
  risk).

Both tables are back-filled here from the rows they summarise, with the rules of those modules
at the time of this migration, copied (a migration stays as it was written). Hand-written DDL
that runs on SQLite and PostgreSQL alike.
"""

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "dashboard figures and aggregate indexes"

LOCAL_TZ = ZoneInfo("America/Mexico_City")
STAGES = ("medida", "albergue", "bia", "bid", "solucion")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMPTZ"
    stages = ", ".join(f"{s}_at {ts} NULL" for s in STAGES)
    return [
        f"""CREATE TABLE IF NOT EXISTS case_figure (
            id {pk},
            case_id INTEGER NOT NULL REFERENCES nna_case (id) ON DELETE CASCADE,
            opened_at {ts} NOT NULL,
            detected_at {ts} NULL,
            sexo VARCHAR(40) NULL,
            edad VARCHAR(8) NULL,
            nacionalidad VARCHAR(8) NULL,
            acompanamiento VARCHAR(40) NULL,
            notified_at {ts} NULL,
            {stages}
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS case_figure_case ON case_figure (case_id)",
        f"""CREATE TABLE IF NOT EXISTS register_day (
            id {pk},
            day DATE NOT NULL,
            plazo_id VARCHAR(100) NOT NULL,
            authority_id INTEGER NOT NULL DEFAULT 0,
            estado VARCHAR(2) NOT NULL DEFAULT '',
            status VARCHAR(12) NOT NULL,
            open INTEGER NOT NULL DEFAULT 0,
            n INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS register_day_key ON register_day"
        " (day, plazo_id, authority_id, estado, status, open)",
        "CREATE INDEX IF NOT EXISTS case_figure_by_opened ON case_figure (opened_at)",
        # compliance: the period's register rows, read from the index alone
        "CREATE INDEX IF NOT EXISTS deadline_register_report ON deadline_register"
        " (due_at, plazo_id, authority_id, estado, status, closed_at)",
        # lateness of the period's breaches
        "CREATE INDEX IF NOT EXISTS deadline_register_breach ON deadline_register"
        " (due_at, plazo_id, authority_id, estado, closed_at) WHERE status = 'breached'",
        "CREATE INDEX IF NOT EXISTS deadline_register_open_breach ON deadline_register (due_at)"
        " WHERE status = 'breached' AND closed_at IS NULL",
        # open work per authority now
        "CREATE INDEX IF NOT EXISTS task_open_work ON task"
        " (authority_id, due_at, escalation_level) WHERE status = 'open'",
        # detection to the notification of the Procuraduría
        "CREATE INDEX IF NOT EXISTS task_notified ON task (bpmn_id, status, created_at)",
        # cases by status and risk
        "CREATE INDEX IF NOT EXISTS nna_case_status_risk ON nna_case (status, risk)",
    ]


def _age_band(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        age = int(value)
    except (TypeError, ValueError):
        return None
    for top, band in ((5, "0-5"), (11, "6-11"), (14, "12-14"), (17, "15-17")):
        if age <= top:
            return band
    return "18+"


def _text(value) -> str | None:
    return None if value in (None, "") else str(value)[:40]


def _detected(variables: dict, opened_at: datetime) -> datetime | None:
    raw = variables.get("fecha_deteccion")
    if raw is None:
        return opened_at
    if not isinstance(raw, str) or not _INSTANT.match(raw):
        return None
    return datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T"))


def _load(value) -> dict:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def _qs(sql: str, *args):
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)


async def _backfill(db) -> None:
    last = 0
    while True:
        rows = await db.run_querystring(
            _qs(
                "SELECT id, opened_at, summary, variables FROM nna_case c WHERE id > {}"
                " AND NOT EXISTS (SELECT 1 FROM case_figure f WHERE f.case_id = c.id)"
                " ORDER BY id LIMIT 2000",
                last,
            )
        )
        if not rows:
            return
        for r in rows:
            summary, variables = _load(r["summary"]), _load(r["variables"])
            opened = r["opened_at"]
            if isinstance(opened, str):
                opened = datetime.fromisoformat(opened)
            await db.run_querystring(
                _qs(
                    "INSERT INTO case_figure (case_id, opened_at, detected_at, sexo, edad,"
                    " nacionalidad, acompanamiento) VALUES ({}, {}, {}, {}, {}, {}, {})",
                    r["id"],
                    opened,
                    _detected(variables, opened),
                    _text(summary.get("sexo")),
                    _age_band(summary.get("edad")),
                    _text(summary.get("nacionalidad")),
                    _text(summary.get("acompanamiento_declarado")),
                )
            )
        last = rows[-1]["id"]


async def _backfill_register(db, pg: bool) -> None:
    """The register's rows counted per day due in central Mexico (PostgreSQL converts with its
    time zone database; SQLite has none, so Python does)."""
    if pg:
        await db.run_ddl(
            "INSERT INTO register_day (day, plazo_id, authority_id, estado, status, open, n)"
            " SELECT CAST(due_at AT TIME ZONE 'America/Mexico_City' AS date), plazo_id,"
            " COALESCE(authority_id, 0), COALESCE(estado, ''), status,"
            " CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END, COUNT(*) FROM deadline_register"
            " GROUP BY 1, 2, 3, 4, 5, 6"
        )
        return
    counts: dict[tuple, int] = {}
    rows = await db.run_querystring(
        _qs(
            "SELECT due_at, plazo_id, authority_id, estado, status, closed_at FROM deadline_register"
        )
    )
    for r in rows:
        due = r["due_at"]
        if isinstance(due, str):
            due = datetime.fromisoformat(due)
        k = (due.astimezone(LOCAL_TZ).date(), r["plazo_id"], r["authority_id"] or 0,
             r["estado"] or "", r["status"], 1 if r["closed_at"] is None else 0)  # fmt: skip
        counts[k] = counts.get(k, 0) + 1
    for k, n in counts.items():
        await db.run_querystring(
            _qs(
                "INSERT INTO register_day (day, plazo_id, authority_id, estado, status, open, n)"
                " VALUES ({}, {}, {}, {}, {}, {}, {})",
                *k,
                n,
            )
        )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _statements(pg):
            await db.run_ddl(statement)
        await _backfill(db)
        await _backfill_register(db, pg)
        for stage in STAGES:  # constants of this module
            await db.run_ddl(
                f"UPDATE case_figure SET {stage}_at = (SELECT m.reached_at FROM case_milestone m"  # noqa: S608
                f" WHERE m.case_id = case_figure.case_id AND m.stage = '{stage}')"
                f" WHERE {stage}_at IS NULL"
            )

        await db.run_ddl(
            "UPDATE case_figure SET notified_at = (SELECT MIN(t.completed_at) FROM task t"
            " WHERE t.case_id = case_figure.case_id AND t.bpmn_id = 'notificar_procuraduria'"
            " AND t.status = 'completed') WHERE notified_at IS NULL"
        )

    manager.add_raw(run)
    return manager
