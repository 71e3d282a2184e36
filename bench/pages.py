"""Case list and search benchmark (issue 14): ``GET /api/v1/cases`` and the ``/cases`` page with
100,000 cases, against the inbox's first page measured in the same run (the baseline: an indexed
query every officer runs all day, goal p95 < 30 ms).

Seeds ``--cases`` cases (default 100,000) in bulk SQL: spread over every state (most in Chiapas
and Tabasco, where the demo authorities are), each with its identity (names from a list of given
names and surnames, folded for search as the service stores them), one open task (or none when
closed), the access rows of the authorities that hold it (the identity encrypted with the case's
data key and its blind name index, as app/services/personal_data.py stores them), and a placement for some of the
Chiapas children in the Tapachula shelter. Then times each variant ``--requests`` times in
process (httpx ASGI transport, one request at a time), four of five requests following the
cursor (deep pages too), and prints median, p95 and the ratio of p95 to the baseline's p95.
Name searches are audited reads: each one also appends an audit event, as in production.

Usage:
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web1 python bench/pages.py --reset
    python bench/pages.py --cases 20000              # SQLite (a new temp file)
Goal (2 cores, PostgreSQL, 100,000 cases): p95 < 100 ms for every list and search variant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import PASSWORD, fmt, pct, prepare  # noqa: E402

GIVEN = (
    "Ana José María Luis Karla Brenda Josué Eva Dulce Kevin Ángel Sofía Mateo Valentina Diego "
    "Camila Santiago Ximena Emiliano Regina Daniel Fernanda Jesús Guadalupe Ángela Wilmer Yesenia "
    "Edwin Heidy Marvin Dayana Brayan Keyla Óscar Nayeli Erick Jennifer Byron Maritza Élmer"
).split()
SURNAMES = (
    "García Hernández López Martínez González Pérez Rodríguez Sánchez Ramírez Cruz Flores Gómez "
    "Morales Vázquez Reyes Jiménez Torres Díaz Gutiérrez Ruiz Mendoza Aguilar Ortiz Moreno "
    "Castillo Romero Álvarez Méndez Chávez Rivera Juárez Ramos Domínguez Herrera Medina Castro "
    "Vargas Guzmán Velázquez Muñoz Rojas Contreras Salazar Luna Ortega Santiago Guerrero Estrada "
    "Bautista Cortés Soto Alvarado Espinoza Lara Ávila Ríos Cervantes Silva Delgado Vega Márquez "
    "Sandoval Fernández León Carrillo Mejía Solís Núñez Rosas Valdez Ibarra Campos Maldonado "
    "Navarro Acosta Rosales Pineda Orellana Quiñónez Escobar Portillo Zelaya Aguirre Girón"
).split()
PROCESSES = ("ruta_proteccion_nna", "colocacion", "evaluacion_interes_superior",
             "plan_restitucion", "panel_bid", "referencia_comar", "cierre")  # fmt: skip
CASE_COLUMNS = ("folio", "estado", "municipio", "family_group", "status", "risk", "summary",
                "variables", "opened_at", "updated_at", "closed_at", "spec_version")  # fmt: skip
IDENTITY_COLUMNS = ("case_id", "data", "search_name", "updated_at")
KEY_COLUMNS = ("case_id", "key_id", "wrapped", "created_at")
TOKEN_COLUMNS = ("case_id", "token")
ACCESS_COLUMNS = ("case_id", "authority_id", "reason", "active", "granted_at")
PLACEMENT_COLUMNS = ("case_id", "shelter_id", "status", "admitted_at")


def _states(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        return "07"
    if r < 0.75:
        return "27"
    return f"{rng.randint(1, 32):02d}"


async def seed(count: int) -> tuple[float, list[tuple[str, str]], list[str]]:
    """Bulk-insert ``count`` cases; returns seconds, some (given, surname) pairs and folios."""
    from app import datakeys, keys
    from app.cases.handlers.task_index import NO_DUE, ROW_COLUMNS
    from app.db import insert_rows, write_tx
    from app.services.case_search import search_name
    from app.services.personal_data import IDENTITY
    from app.tables import Authority

    keys.init()  # the master key that wraps each case's data key (app/keys.py)
    key_id = keys.master_key().key_id

    t0 = time.perf_counter()
    ids = {r["code"]: r["id"] for r in await Authority.select(Authority.id, Authority.code)}
    holders = {
        "07": [("PROCURADURIA-07", "PROCURADURIA", 50), ("INM-07", "INM", 20),
               ("CAS-07-TAPACHULA", "DIF_CAS", 15), ("COMAR-07", "COMAR", 10),
               ("SRE-00", "SRE_CONSULADO", 5)],
        "27": [("PROCURADURIA-27", "PROCURADURIA", 70), ("INM-27", "INM", 30)],
    }  # fmt: skip
    rng = random.Random(14)
    now = datetime.now(UTC).replace(microsecond=0)
    names: list[tuple[str, str]] = []
    folios: list[str] = []
    batch = 1000
    for start in range(0, count, batch):
        size = min(batch, count - start)
        cases, meta = [], []
        for i in range(start, start + size):
            estado = _states(rng)
            opened = now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
            closed = rng.random() < 0.2
            folio = f"B{estado}-{2025 + (i % 2)}-{i:06d}"
            given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
            summary = {"sexo": rng.choice(["mujer", "hombre"]), "nacionalidad": "GTM"}
            cases.append((
                folio, estado, "Tapachula" if estado == "07" else None,
                f"FG-{i // 3}" if rng.random() < 0.3 else None,
                "closed" if closed else "open", rng.choice(["alto", "medio", "bajo", None]),
                json.dumps(summary), "{}", opened,
                opened + timedelta(minutes=rng.randint(0, 60 * 24 * 30)),
                opened + timedelta(days=90) if closed else None, "bench",
            ))  # fmt: skip
            meta.append((estado, closed, given, surname, opened))
            if i % 97 == 0:
                names.append((given, surname))
                folios.append(folio)
        async with write_tx():
            rows = await insert_rows("nna_case", CASE_COLUMNS, cases, " RETURNING id")
            identities, tasks, access, placements, data_keys, tokens = [], [], [], [], [], []
            for row, (estado, closed, given, surname, opened) in zip(rows, meta, strict=True):
                case_id = row["id"]
                second = rng.choice(SURNAMES)
                data = {"nombres": given, "apellidos": f"{surname} {second}"}
                # as the service stores it: encrypted with the case's key, plus the blind index
                dk = os.urandom(32)
                data_keys.append((case_id, key_id, datakeys.wrap(dk, case_id), opened))
                sealed = datakeys.seal_json(dk, case_id, IDENTITY, data)
                identities.append((case_id, json.dumps(sealed), "", opened))
                tokens += [(case_id, t) for t in datakeys.name_tokens(search_name(data))]
                options = holders.get(estado)
                if options is None:
                    continue  # no demo authority in that state: only oversight sees it
                code, lane, _ = rng.choices(options, [w for *_, w in options])[0]
                access.append((case_id, ids[code], "bench", True, opened))
                if code != "PROCURADURIA-" + estado and rng.random() < 0.6:
                    access.append((case_id, ids["PROCURADURIA-" + estado], "bench", True, opened))
                if code == "CAS-07-TAPACHULA" and rng.random() < 0.8:
                    placements.append((case_id, ids[code], "admitted", opened))
                if closed:
                    continue
                due = (
                    opened + timedelta(hours=rng.randint(1, 24 * 60))
                    if rng.random() < 0.8
                    else None
                )
                tasks.append((
                    f"bp-{case_id:012d}", case_id, "determinar_acompanamiento",
                    "Determinar situación de acompañamiento", "Determine accompaniment status",
                    rng.choice(PROCESSES), lane, "officer", ids[code], "estatal", None, "open",
                    due, due or NO_DUE, None, None, None, 0, "{}", opened, None, None, None,
                ))  # fmt: skip
            await insert_rows("case_data_key", KEY_COLUMNS, data_keys)
            await insert_rows("case_identity", IDENTITY_COLUMNS, identities)
            await insert_rows("case_name_token", TOKEN_COLUMNS, tokens)
            if tasks:
                await insert_rows("task", ROW_COLUMNS, tasks)
            if access:
                await insert_rows("case_access", ACCESS_COLUMNS, access)
            if placements:
                await insert_rows("placement", PLACEMENT_COLUMNS, placements)
    from app import db

    if not db.is_sqlite():
        await db.engine().run_ddl("ANALYZE")
    return time.perf_counter() - t0, names, folios


async def sample() -> tuple[list[tuple[str, str]], list[str]]:
    """Names and folios of every 97th seeded case (``--reuse``)."""
    from app.services.personal_data import read_identities
    from app.tables import Case

    rows = await Case.raw(
        "SELECT c.folio, ci.case_id, ci.data FROM nna_case c"
        " JOIN case_identity ci ON ci.case_id = c.id WHERE c.folio LIKE 'B%' AND c.id % 97 = 0"
    )
    plain = await read_identities(rows)
    names, folios = [], []
    for row in rows:
        data = plain[row["case_id"]]
        names.append((data["nombres"], data["apellidos"].split()[0]))
        folios.append(row["folio"])
    return names, folios


async def _token(client, username: str) -> dict[str, str]:
    r = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD, "mode": "api"}
    )
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def timed(client, url: str, headers: dict, params_for, requests: int) -> list[float]:
    times: list[float] = []
    cursor = None
    for i in range(requests):
        params = dict(params_for(i))
        if cursor and i % 5:
            params["cursor"] = cursor
        t0 = time.perf_counter()
        r = await client.get(url, headers=headers, params=params)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, (url, params, r.status_code, r.text[:300])
        cursor = r.json().get("next_cursor") if url.startswith("/api/") else None
    return times


async def main_async(args: argparse.Namespace) -> None:
    import httpx

    from app import db
    from app.main import create_app

    if args.reuse:  # the cases a previous run seeded: sample the names and folios to search
        await db.startup(pool_size=4)
        names, folios = await sample()
        print(f"reusing {len(folios)} sampled cases of the database's seeded ones")
    else:
        await prepare(args.reset)
        seconds, names, folios = await seed(args.cases)
        print(
            f"seeded {args.cases} cases (identity, open task, access, placements) in {seconds:.1f} s"
        )
    print(f"database: {db.database_url().split('@')[-1]}   cores: {os.cpu_count()}")
    app = create_app(manage_db=False)
    rng = random.Random(15)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        officer = await _token(client, "procuraduria-07.officer")
        oversight = await _token(client, "cndh.oversight")
        shelter = await _token(client, "cas-07-tapachula.shelter-staff")
        n = args.requests
        baseline = await timed(client, "/api/v1/inbox", officer, lambda i: {"limit": 50}, n)
        variants = {
            "oversight, every case (50)": (oversight, lambda i: {}),
            "oversight, estado+risk+overdue": (
                oversight, lambda i: {"estado": "07", "risk": "alto", "overdue": "true"}),
            "oversight, stage, by last change": (
                oversight, lambda i: {"stage": "colocacion", "sort": "updated"}),
            "officer, every case of mine": (officer, lambda i: {}),
            "officer, responsible+overdue": (
                officer, lambda i: {"authority": "PROCURADURIA-07", "overdue": "true"}),
            "officer, opened in a period, asc": (
                officer, lambda i: {"opened_from": "2025-06-01T00:00:00Z",
                                    "opened_to": "2026-01-01T00:00:00Z", "order": "asc"}),
            "shelter, children placed here": (shelter, lambda i: {}),
            "officer, name search (audited)": (
                officer, lambda i: {"nombre": " ".join(rng.choice(names))}),
            "oversight, surname search (audited)": (
                oversight, lambda i: {"nombre": rng.choice(names)[1]}),
            "officer, folio search (part)": (
                officer, lambda i: {"folio": rng.choice(folios).rsplit("-", 1)[1]}),
        }  # fmt: skip
        print(f"\nbaseline: inbox first page, procuraduria-07.officer: {fmt(baseline)}")
        worst = 0.0
        for label, (headers, params_for) in variants.items():
            times = await timed(client, "/api/v1/cases", headers, params_for, n)
            worst = max(worst, pct(times, 95))
            print(
                f"GET /api/v1/cases  {label:36s}: {fmt(times)}   "
                f"p95 / baseline p95 x{pct(times, 95) / pct(baseline, 95):5.2f}   "
                f"{'OK' if pct(times, 95) < 0.1 else 'MISSED'}"
            )
        r = await client.post(
            "/api/v1/auth/login",
            json={"username": "procuraduria-07.officer", "password": PASSWORD, "mode": "session"},
        )
        assert r.status_code == 200, r.text
        page = await timed(
            client, "/cases", {}, lambda i: {"nombre": " ".join(rng.choice(names))}, n
        )
        worst = max(worst, pct(page, 95))
        print(
            f"GET /cases page    {'officer, name search (HTML)':36s}: {fmt(page)}   "
            f"p95 / baseline p95 x{pct(page, 95) / pct(baseline, 95):5.2f}   "
            f"{'OK' if pct(page, 95) < 0.1 else 'MISSED'}"
        )
        print(
            f"\nworst p95 {worst * 1000:.1f} ms (goal < 100 ms: {'OK' if worst < 0.1 else 'MISSED'})"
        )
        print(f"median of medians: {statistics.median(baseline) * 1000:.1f} ms baseline")
    await db.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed")
    parser.add_argument("--requests", type=int, default=100, help="requests per variant")
    parser.add_argument(
        "--reuse", action="store_true", help="time the cases a previous run seeded (no seeding)"
    )
    parser.add_argument("--db", help="SQLite file (default: a new temp file)")
    parser.add_argument(
        "--reset", action="store_true", help="PostgreSQL: drop careroute tables first"
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        path = args.db or os.path.join(tempfile.mkdtemp(prefix="careroute-bench-"), "bench.db")
        os.environ["CAREROUTE_DB"] = path
    import logging

    import app  # noqa: F401  (PICCOLO_CONF)

    for noisy in ("spiff", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
