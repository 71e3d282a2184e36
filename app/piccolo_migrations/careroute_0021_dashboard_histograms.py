"""The oversight dashboard without sorting rows per request (issue 14, the last goal).

- ``case_day``: the case figures of ``case_figure`` counted per day of opening (central Mexico):
  cases, each value of sex / age band / nationality / accompaniment, and histograms in whole
  hours of the time from opening to each funnel stage and from detection to the first
  notification of the Procuraduría (app/cases/figure_counts.py).
- ``register_late``: the deadline register's breaches counted per day due, deadline, authority,
  state, open or closed and hour: a closed breach's lateness in whole hours (fixed once
  closed), an open breach's due hour in its day (its lateness follows from it and now)
  (app/cases/register_counts.py).
- ``case_count``: cases per status and risk now (app/cases/figure_counts.py).

All three are back-filled here from the rows they summarise, with the rules of those modules at
the time of this migration, copied (a migration stays as it was written). Hand-written DDL that
runs on SQLite and PostgreSQL alike.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "dashboard histograms and counts now"

LOCAL_TZ = ZoneInfo("America/Mexico_City")
STAGES = ("medida", "albergue", "bia", "bid", "solucion")
DIMENSIONS = ("sexo", "edad", "nacionalidad", "acompanamiento")


def _statements(pg: bool) -> list[str]:
    pk = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        f"""CREATE TABLE IF NOT EXISTS case_day (
            id {pk},
            day DATE NOT NULL,
            figure VARCHAR(20) NOT NULL,
            value VARCHAR(40) NOT NULL DEFAULT '',
            n INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS case_day_key ON case_day (day, figure, value)"
        + (" INCLUDE (n)" if pg else ""),
        f"""CREATE TABLE IF NOT EXISTS register_late (
            id {pk},
            day DATE NOT NULL,
            plazo_id VARCHAR(100) NOT NULL,
            authority_id INTEGER NOT NULL DEFAULT 0,
            estado VARCHAR(2) NOT NULL DEFAULT '',
            open INTEGER NOT NULL DEFAULT 0,
            hours INTEGER NOT NULL,
            n INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS register_late_key ON register_late"
        " (day, plazo_id, authority_id, estado, open, hours)" + (" INCLUDE (n)" if pg else ""),
        f"""CREATE TABLE IF NOT EXISTS case_count (
            id {pk},
            status VARCHAR(12) NOT NULL,
            risk VARCHAR(20) NOT NULL DEFAULT '',
            n INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX IF NOT EXISTS case_count_key ON case_count (status, risk)",
    ]


def _qs(sql: str, *args):
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)


def _instant(value) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _hours(seconds: float) -> int:
    return int(seconds // 3600)


async def _upsert(db, table: str, columns: tuple[str, ...], counts: dict[tuple, int]) -> None:
    items = sorted((k, n) for k, n in counts.items() if n)
    one = "(" + ", ".join("{}" for _ in range(len(columns) + 1)) + ")"
    for i in range(0, len(items), 500):
        chunk = items[i : i + 500]
        await db.run_querystring(
            _qs(
                f"INSERT INTO {table} ({', '.join(columns)}, n) VALUES "  # noqa: S608 (constants)
                + ", ".join(one for _ in chunk)
                + f" ON CONFLICT ({', '.join(columns)}) DO UPDATE SET n = {table}.n + excluded.n",
                *(v for k, n in chunk for v in (*k, n)),
            )
        )


async def _backfill_cases(db) -> None:
    counts: dict[tuple, int] = {}
    last = 0
    stages = ", ".join(f"{s}_at" for s in STAGES)
    while True:
        rows = await db.run_querystring(
            _qs(
                "SELECT id, opened_at, detected_at, notified_at, sexo, edad, nacionalidad,"  # noqa: S608
                f" acompanamiento, {stages} FROM case_figure WHERE id > {{}} ORDER BY id"
                " LIMIT 5000",
                last,
            )
        )
        if not rows:
            break
        last = rows[-1]["id"]
        for r in rows:
            opened = _instant(r["opened_at"])
            day = opened.astimezone(LOCAL_TZ).date()

            def add(figure: str, value: str, day=day) -> None:
                counts[(day, figure, value)] = counts.get((day, figure, value), 0) + 1

            add("casos", "")
            for d in DIMENSIONS:
                add(d, "" if r[d] in (None, "") else str(r[d]))
            for s in STAGES:
                at = _instant(r[f"{s}_at"])
                if at is not None:
                    add(s, str(_hours((at - opened).total_seconds())))
            notified, detected = _instant(r["notified_at"]), _instant(r["detected_at"])
            if notified is not None and detected is not None:
                seconds = (notified - detected).total_seconds()
                add("notificada", str(_hours(seconds)))
                if seconds <= 24 * 3600:
                    add("notificada_24h", "")
    await _upsert(db, "case_day", ("day", "figure", "value"), counts)


async def _backfill_register(db) -> None:
    counts: dict[tuple, int] = {}
    last = 0
    while True:
        rows = await db.run_querystring(
            _qs(
                "SELECT id, due_at, closed_at, plazo_id, authority_id, estado"
                " FROM deadline_register WHERE status = 'breached' AND id > {}"
                " ORDER BY id LIMIT 5000",
                last,
            )
        )
        if not rows:
            break
        last = rows[-1]["id"]
        for r in rows:
            due, closed = _instant(r["due_at"]), _instant(r["closed_at"])
            local = due.astimezone(LOCAL_TZ)
            if closed is None:
                midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
                hours = _hours((local - midnight).total_seconds())
            else:
                hours = _hours((closed - due).total_seconds())
            k = (local.date(), r["plazo_id"], r["authority_id"] or 0, r["estado"] or "",
                 1 if closed is None else 0, hours)  # fmt: skip
            counts[k] = counts.get(k, 0) + 1
    await _upsert(
        db,
        "register_late",
        ("day", "plazo_id", "authority_id", "estado", "open", "hours"),
        counts,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="careroute", description=DESCRIPTION)

    async def run():
        db = engine_finder()
        pg = db.engine_type != "sqlite"
        for statement in _statements(pg):
            await db.run_ddl(statement)
        await _backfill_cases(db)
        await _backfill_register(db)
        await db.run_ddl(
            "INSERT INTO case_count (status, risk, n) SELECT status, COALESCE(risk, ''),"
            " COUNT(*) FROM nna_case GROUP BY status, COALESCE(risk, '')"
        )

    manager.add_raw(run)
    return manager
