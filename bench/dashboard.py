"""Dashboard benchmark: the oversight dashboard (``GET /compliance``) and its drill-downs with
100,000 cases on PostgreSQL.

Seeds ``--cases`` cases (default 100,000) in bulk SQL (``generate_series``), detected over the
last year and spread over the states: the non-identifying summary the dashboard disaggregates
(sex, age, nationality, accompaniment), the funnel's milestones (fewer cases at each later
stage), three deadline register rows per case (met, breached (some still open), running,
cancelled), an open task per case in three of ten, the completed notification of the
Procuraduría per case and a few custody records. Then times, one request at a time through the
app in the same process (httpx ASGI transport, a logged-in oversight session):

- the dashboard as it opens (the last 30 days), with a 30-day period asked for, and all time
  (``since=`` empty: every register row and case, the worst case);
- a case drill-down (one stage and one sex) and a register drill-down (open breaches);
- the anonymised public export;
- the baseline: the shelters page (same session, template and headers, a small query), so the
  ratio shows what the dashboard's figures cost on this machine in this run.

Usage (PostgreSQL only: the seeding is PostgreSQL SQL):
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web2 python bench/dashboard.py --reset
    (--no-seed times again the cases a previous run seeded)
Goal (2 cores): p95 < 100 ms for the dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import PASSWORD, fmt, pct, prepare  # noqa: E402

NATIONALITIES = ("GTM", "HND", "SLV", "VEN", "HTI", "NIC", "CUB", "ECU", "COL", "MEX")


async def seed(count: int) -> float:
    """Bulk SQL: cases, milestones, register rows, tasks, custody (PostgreSQL)."""
    from app.db import write_tx
    from app.tables import Authority, Case

    t0 = time.perf_counter()
    auth = {r["code"]: r["id"] for r in await Authority.select(Authority.id, Authority.code)}
    inm, proc = auth["INM-07"], auth["PROCURADURIA-07"]
    nats = "ARRAY[" + ",".join(f"'{n}'" for n in NATIONALITIES) + "]"
    now = datetime.now(UTC)
    async with write_tx():
        await Case.raw(
            "INSERT INTO nna_case (folio, estado, municipio, status, risk, summary, variables,"
            " opened_at, updated_at, spec_version)"
            " SELECT 'DASH-' || lpad(i::text, 7, '0'),"
            " lpad((1 + i % 32)::text, 2, '0'), 'Municipio',"
            " CASE WHEN i % 3 = 0 THEN 'closed' ELSE 'open' END,"
            " (ARRAY['alto','medio','bajo'])[1 + i % 3],"
            " json_build_object('sexo', (ARRAY['mujer','hombre','hombre','mujer','intersexual',"
            "'no_especificado'])[1 + i % 6], 'edad', i % 19,"
            f" 'nacionalidad', ({nats})[1 + (i * 7) % 10],"
            " 'acompanamiento_declarado', (ARRAY['acompanado','separado','no_acompanado',"
            "'desconocido'])[1 + (i * 3) % 4]),"
            " json_build_object('fecha_deteccion', to_char((CAST({} AS timestamptz) - (i % 365) * interval '1 day')"
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')),"
            " CAST({} AS timestamptz) - (i % 365) * interval '1 day', {}, 'bench'"
            " FROM generate_series(1, {}) AS i",
            now,
            now,
            now,
            count,
        )
        ids = "SELECT id, opened_at, row_number() OVER (ORDER BY id) AS i FROM nna_case"
        stages = [("medida", 2, 90), ("albergue", 5, 70), ("bia", 20, 50), ("bid", 40, 30),
                  ("solucion", 60, 15)]  # fmt: skip
        for stage, days, percent in stages:
            await Case.raw(
                "INSERT INTO case_milestone (case_id, stage, reached_at)"
                f" SELECT id, '{stage}', opened_at + ({days} + i % 7) * interval '1 day'"  # noqa: S608
                f" FROM ({ids}) c WHERE i % 100 < {percent}"
            )
        # the dashboard's figures of each case, as the opening and the milestone handler
        # write them (app/cases/handlers/figures.py)
        band = (
            "CASE WHEN CAST(c.summary->>'edad' AS INTEGER) <= 5 THEN '0-5'"
            " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 11 THEN '6-11'"
            " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 14 THEN '12-14'"
            " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 17 THEN '15-17' ELSE '18+' END"
        )
        reached = ", ".join(
            f"(SELECT m.reached_at FROM case_milestone m WHERE m.case_id = c.id"
            f" AND m.stage = '{stage}')"
            for stage, *_ in stages
        )
        await Case.raw(
            "INSERT INTO case_figure (case_id, opened_at, detected_at, sexo, edad, nacionalidad,"
            " acompanamiento, medida_at, albergue_at, bia_at, bid_at, solucion_at)"
            " SELECT c.id, c.opened_at, CAST(c.variables->>'fecha_deteccion' AS timestamptz),"
            f" c.summary->>'sexo', {band}, c.summary->>'nacionalidad',"  # noqa: S608
            f" c.summary->>'acompanamiento_declarado', {reached} FROM nna_case c"
            " ON CONFLICT (case_id) DO NOTHING"
        )
        plazos = ("D1_notificacion_procuraduria", "D2_acta_canalizacion", "D5_decreto_mp")
        for k, plazo in enumerate(plazos):
            await Case.raw(
                "INSERT INTO deadline_register (case_id, case_folio, deadline_key, plazo_id,"
                " task_id, task_bpmn_id, authority_id, estado, due_at, status, closed_at,"
                " breached_at, levels_reached, updated_at)"
                f" SELECT c.id, c.folio, c.folio || ':{plazo}', '{plazo}', NULL,"  # noqa: S608
                " 'notificar_procuraduria',"
                f" CASE WHEN c.id % 2 = 0 THEN {inm} ELSE {proc} END, c.estado,"
                f" c.opened_at + interval '{k + 1} day',"
                " CASE WHEN c.id % 10 < 6 THEN 'met' WHEN c.id % 10 < 8 THEN 'breached'"
                " WHEN c.id % 10 < 9 THEN 'running' ELSE 'cancelled' END,"
                " CASE WHEN c.id % 10 = 6 THEN NULL"
                f" ELSE c.opened_at + interval '{k + 2} day' END,"
                f" CASE WHEN c.id % 10 IN (6, 7) THEN c.opened_at + interval '{k + 1} day' END,"
                " CASE WHEN c.id % 10 IN (6, 7) THEN 3 ELSE 0 END, {}"
                " FROM nna_case c",
                now,
            )
        # the register's per-day counts, as its writers keep them (app/cases/register_counts.py)
        await Case.raw(
            "INSERT INTO register_day (day, plazo_id, authority_id, estado, status, open, n)"
            " SELECT CAST(due_at AT TIME ZONE 'America/Mexico_City' AS date), plazo_id,"
            " COALESCE(authority_id, 0), COALESCE(estado, ''), status,"
            " CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END, COUNT(*) FROM deadline_register"
            " GROUP BY 1, 2, 3, 4, 5, 6"
        )
        await Case.raw(
            "INSERT INTO task (task_id, case_id, bpmn_id, name, name_en, process_id, lane, rol,"
            " authority_id, status, due_at, sort_due, escalation_level, context, created_at,"
            " completed_at)"
            " SELECT 'dash-n-' || c.id, c.id, 'notificar_procuraduria', 'Notificar', 'Notify',"
            f" 'ruta_proteccion_nna', 'INM', 'officer', {inm}, 'completed', NULL,"
            " '9999-12-31', 0, '{{}}', c.opened_at,"
            " c.opened_at + (c.id % 48) * interval '1 hour' FROM nna_case c"
        )
        await Case.raw(
            "INSERT INTO task (task_id, case_id, bpmn_id, name, name_en, process_id, lane, rol,"
            " authority_id, status, due_at, sort_due, escalation_level, context, created_at)"
            " SELECT 'dash-o-' || c.id, c.id, 'determinar_acompanamiento', 'Determinar',"
            f" 'Determine', 'ruta_proteccion_nna', 'PROCURADURIA', 'officer', {proc}, 'open',"
            " CAST({} AS timestamptz) + (c.id % 40 - 10) * interval '1 day',"
            " CAST({} AS timestamptz) + (c.id % 40 - 10) * interval '1 day',"
            " c.id % 2, '{{}}', c.opened_at FROM nna_case c WHERE c.id % 10 < 3",
            now,
            now,
        )
        await Case.raw(
            "UPDATE case_figure f SET notified_at = t.completed_at FROM task t"
            " WHERE t.case_id = f.case_id AND t.bpmn_id = 'notificar_procuraduria'"
            " AND t.status = 'completed'"
        )
        # the kept histograms and counts of migration 0021, as their writers keep them
        # (app/cases/figure_counts.py, app/cases/register_counts.py)
        day = "CAST(f.opened_at AT TIME ZONE 'America/Mexico_City' AS date)"
        parts = [f"SELECT {day} AS day, 'casos' AS figure, '' AS value FROM case_figure f"]
        parts += [
            f"SELECT {day}, '{dim}', COALESCE(f.{dim}, '') FROM case_figure f"
            for dim in ("sexo", "edad", "nacionalidad", "acompanamiento")
        ]
        parts += [
            f"SELECT {day}, '{stage}', CAST(FLOOR(EXTRACT(EPOCH FROM (f.{stage}_at"
            f" - f.opened_at)) / 3600) AS INTEGER)::text FROM case_figure f"
            f" WHERE f.{stage}_at IS NOT NULL"
            for stage, *_ in stages
        ]
        hours = "EXTRACT(EPOCH FROM (f.notified_at - f.detected_at)) / 3600"
        notified = "f.notified_at IS NOT NULL AND f.detected_at IS NOT NULL"
        parts += [
            f"SELECT {day}, 'notificada', CAST(FLOOR({hours}) AS INTEGER)::text"
            f" FROM case_figure f WHERE {notified}",
            f"SELECT {day}, 'notificada_24h', '' FROM case_figure f"
            f" WHERE {notified} AND {hours} <= 24",
        ]
        await Case.raw(
            "INSERT INTO case_day (day, figure, value, n) SELECT day, figure, value, COUNT(*)"  # noqa: S608
            f" FROM ({' UNION ALL '.join(parts)}) x GROUP BY day, figure, value"
        )
        due = "r.due_at AT TIME ZONE 'America/Mexico_City'"
        await Case.raw(
            "INSERT INTO register_late (day, plazo_id, authority_id, estado, open, hours, n)"
            f" SELECT CAST({due} AS date), r.plazo_id, COALESCE(r.authority_id, 0),"
            " COALESCE(r.estado, ''), CASE WHEN r.closed_at IS NULL THEN 1 ELSE 0 END,"
            f" CASE WHEN r.closed_at IS NULL THEN CAST(EXTRACT(HOUR FROM {due}) AS INTEGER)"
            " ELSE CAST(FLOOR(EXTRACT(EPOCH FROM (r.closed_at - r.due_at)) / 3600) AS INTEGER)"
            " END, COUNT(*) FROM deadline_register r WHERE r.status = 'breached'"
            " GROUP BY 1, 2, 3, 4, 5, 6"
        )
        await Case.raw(
            "INSERT INTO case_count (status, risk, n) SELECT status, COALESCE(risk, ''), COUNT(*)"
            " FROM nna_case GROUP BY status, COALESCE(risk, '')"
        )
        await Case.raw(
            "INSERT INTO station_custody (case_id, station_authority_id, station_name,"
            " started_at, ended_at, recorded_at)"
            f" SELECT c.id, {inm}, 'Estación', c.opened_at,"
            " CASE WHEN c.id % 2 = 0 THEN c.opened_at + interval '30 hour' END, c.opened_at"
            " FROM nna_case c WHERE c.id % 1000 = 0"
        )
    # as autovacuum leaves a table soon after a bulk load (visibility map for index-only scans)
    await Case.raw("VACUUM ANALYZE")
    return time.perf_counter() - t0


async def timed(client, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get(url)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, (url, r.status_code, r.text[:500])
    return out


async def main_async(args: argparse.Namespace) -> None:
    import httpx

    from app import db
    from app.main import create_app

    if not args.no_seed:
        await prepare(args.reset)
    else:
        await db.startup(pool_size=4)
    if db.is_sqlite():
        raise SystemExit("bench/dashboard.py seeds with PostgreSQL SQL: set DATABASE_URL")
    load = os.getloadavg()[0]
    print(
        f"database: {db.database_url().split('@')[-1]}   cores: {os.cpu_count()}   load: {load:.1f}"
    )
    if not args.no_seed:
        seconds = await seed(args.cases)
        print(f"seeded {args.cases} cases (milestones, 3 register rows, tasks) in {seconds:.1f} s")
    app = create_app(manage_db=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
        r = await client.post(
            "/login",
            data={"username": "cndh.oversight", "password": PASSWORD, "csrf_token": token},
        )
        assert r.status_code == 303, r.text
        today = datetime.now(UTC).date()
        month = f"since={today - timedelta(days=30)}&until={today}"
        variants = {
            "baseline: shelters page": "/shelters",
            "dashboard (default: last 30 days)": "/compliance",
            "dashboard, 30-day period asked": f"/compliance?{month}",
            "dashboard, all time": "/compliance?since=",
            "drill-down: cases (stage, sex)": "/compliance/cases?stage=bia&sexo=mujer",
            "drill-down: open breaches": "/compliance/rows?status=breached_open",
            "public export (CSV)": "/compliance/export.csv",
        }
        for url in variants.values():  # warm-up
            await timed(client, url, 2)
        results = {
            label: await timed(client, url, args.requests) for label, url in variants.items()
        }
    base = results["baseline: shelters page"]
    for label, times in results.items():
        ratio = statistics.median(times) / statistics.median(base)
        goal = ""
        if label.startswith("dashboard") and "all time" not in label:
            goal = f"   (goal p95 < 100 ms: {'OK' if pct(times, 95) < 0.1 else 'MISSED'})"
        print(f"{label:34s}: {fmt(times)}   x{ratio:5.1f} baseline{goal}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    await db.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50, help="requests per variant")
    parser.add_argument(
        "--slow-requests", type=int, default=5, help="requests for all time and the export"
    )
    parser.add_argument(
        "--no-seed", action="store_true", help="reuse the cases a previous run seeded"
    )
    parser.add_argument("--reset", action="store_true", help="drop careroute tables first")
    args = parser.parse_args()
    import app  # noqa: F401  (PICCOLO_CONF)

    for noisy in ("spiff", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
