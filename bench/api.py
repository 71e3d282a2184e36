"""API benchmark: task completions through the HTTP API (in-process) against the engine alone,
and inbox latency with many open cases.

1. Completions: opens cases and completes ``--n`` tasks through ``POST /tasks/{id}/complete``
   (httpx ASGI transport, same process, one request at a time, bearer tokens of the right users),
   walking each case along the first ``--steps`` tasks of the route with each form's example.
   Prints median / p95 latency and completions per second. The baseline is the same completions
   through the engine alone (restore + complete + dump, which every request also does), and the
   ratio shows what the service adds (transaction, locking, task index, routing, audit chain).
2. Inbox: seeds ``--cases`` open cases (default 100,000) directly into the case and task tables
   (bulk SQL: the inbox reads only the index), spread over the demo authorities, then times
   ``GET /inbox`` pages for a Procuraduría officer, with and without filters and cursors.

3. PostgreSQL only: completions per second through 2 real ``careroute serve`` processes
   (``--processes``) with 8 concurrent clients (``--clients``), beside 1 process.

Usage:
    python bench/api.py [--n 300] [--cases 100000] [--db /tmp/bench.db]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python bench/api.py --reset
(On PostgreSQL --reset drops careroute's tables in that database first.)
Goals (2 cores): completion p95 < 50 ms, inbox p95 < 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSWORD = "bench-password-123"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fmt(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:6.1f} ms   p95 {pct(values, 95) * 1000:6.1f} ms"
    )


async def prepare(reset: bool) -> None:
    from app import db, demo
    from app.tables import Authority

    await db.startup(pool_size=4)
    if not db.is_sqlite():
        exists = await db.engine().run_ddl(
            "SELECT to_regclass('public.authority') IS NOT NULL AS e"
        )
        if exists and exists[0]["e"]:
            if not reset:
                raise SystemExit("careroute tables exist in this database; pass --reset to drop")
            await db.drop_everything()
    await db.migrate()
    if await Authority.count() == 0:
        await demo.seed_accounts(PASSWORD)


async def bench_completions(
    client, n: int, steps: int
) -> tuple[list[float], float, list, list[int]]:
    """Complete n tasks over HTTP; returns latencies, wall time and the replay script."""
    from app.route_engine import form_example
    from tests.app.helpers import opening_form, user_for

    tokens: dict[str, str] = {}

    async def headers(user: str) -> dict[str, str]:
        if user not in tokens:
            r = await client.post(
                "/api/v1/auth/login", json={"username": user, "password": PASSWORD, "mode": "api"}
            )
            tokens[user] = r.json()["token"]
        return {"Authorization": f"Bearer {tokens[user]}"}

    from app.db import engine as db_engine
    from tests.app.helpers import Api

    class BenchApi(Api):  # the tests' helper, with this benchmark's logins
        async def token(self, username: str) -> str:
            return (await headers(username))["Authorization"].split()[1]

    api = BenchApi(client)

    latencies: list[float] = []
    statements: list[int] = []
    script: list[list[str]] = []  # per case: bpmn ids completed, for the engine replay
    wall = 0.0
    while len(latencies) < n:
        r = await client.post(
            "/api/v1/cases",
            headers=await headers("inm-07.officer"),
            json={"form": opening_form(), "identidad": {"nombres": "Bench"}},
        )
        folio = r.json()["folio"]
        done: list[str] = []
        for _ in range(steps):
            if len(latencies) >= n:
                break
            detail = await client.get(
                f"/api/v1/cases/{folio}", headers=await headers("cndh.oversight")
            )
            open_tasks = sorted(
                (t for t in detail.json()["tasks"] if t["status"] == "open"),
                key=lambda t: t["bpmn_id"],
            )
            if not open_tasks:
                break
            task = open_tasks[0]
            user = user_for(task["authority"], task["rol"])
            h = await headers(user)
            body = {"data": form_example(f"{task['bpmn_id']}.schema.json")}
            # a task that shares data needs the consent on file (issue 16): recorded untimed,
            # as its own commands, before the timed completion
            await api.consent_to_share(folio, task["bpmn_id"], body["data"])
            queries_before = db_engine().query_id
            t0 = time.perf_counter()
            r = await client.post(f"/api/v1/tasks/{task['task_id']}/complete", headers=h, json=body)
            elapsed = time.perf_counter() - t0
            assert r.status_code == 200, r.text
            latencies.append(elapsed)
            statements.append(db_engine().query_id - queries_before)
            wall += elapsed
            done.append(task["bpmn_id"])
        script.append(done)
    return latencies, wall, script, statements


def bench_engine(script: list[list[str]]) -> list[float]:
    """The same completions through the engine alone: restore + complete + dump each."""
    from app.route_engine import form_example, route_engine
    from tests.app.helpers import opening_form

    engine = route_engine()
    now = datetime.now(UTC)
    latencies = []
    for steps in script:
        state = engine.start_case(opening_form(), now).dump()
        for bpmn_id in steps:
            t0 = time.perf_counter()
            case = engine.restore(state)
            task = sorted(
                (t for t in case.ready_tasks() if t.bpmn_id == bpmn_id), key=lambda t: t.task_id
            )[0]
            case.complete_task(task.task_id, form_example(f"{bpmn_id}.schema.json"), now)
            state = case.dump()
            latencies.append(time.perf_counter() - t0)
    return latencies


async def seed_open_cases(count: int) -> float:
    """Bulk-insert ``count`` open cases with one open task each (inbox load)."""
    from app.db import write_tx
    from app.tables import Authority, Case, CaseAccess, Task

    t0 = time.perf_counter()
    authorities = {r["code"]: r["id"] for r in await Authority.select(Authority.id, Authority.code)}
    # where open tasks sit in a real caseload: mostly the Procuraduría, then INM and shelters
    spread = [
        ("PROCURADURIA-07", "PROCURADURIA", "07", 40),
        ("INM-07", "INM", "07", 15),
        ("CAS-07-TAPACHULA", "DIF_CAS", "07", 10),
        ("PROCURADURIA-27", "PROCURADURIA", "27", 15),
        ("INM-27", "INM", "27", 5),
        ("COMAR-07", "COMAR", "07", 10),
        ("SRE-00", "SRE_CONSULADO", "07", 5),
    ]
    weights = [w for *_, w in spread]
    rng = random.Random(7)
    now = datetime.now(UTC)
    processes = [
        "ruta_proteccion_nna",
        "colocacion",
        "evaluacion_interes_superior",
        "plan_restitucion",
    ]
    batch = 500
    for start in range(0, count, batch):
        size = min(batch, count - start)
        async with write_tx():
            cases = []
            for i in range(start, start + size):
                cases.append(
                    Case(
                        folio=f"BENCH-{i:07d}",
                        estado="07",
                        municipio="Tapachula",
                        status="open",
                        risk=rng.choice(["alto", "medio", "bajo", None]),
                        summary={},
                        variables={},
                        opened_at=now,
                        updated_at=now,
                        spec_version="bench",
                    )
                )
            ids = [r["id"] for r in await Case.insert(*cases).returning(Case.id)]
            tasks, access = [], []
            for case_id in ids:
                code, lane, estado, _ = rng.choices(spread, weights)[0]
                due = now + timedelta(hours=rng.randint(-240, 720)) if rng.random() < 0.8 else None
                tasks.append(
                    Task(
                        task_id=f"bench-{case_id:012d}",
                        case=case_id,
                        bpmn_id="determinar_acompanamiento",
                        name="Determinar situación de acompañamiento",
                        name_en="Determine accompaniment status",
                        process_id=rng.choice(processes),
                        lane=lane,
                        rol=rng.choices(["officer", "supervisor", "head"], [8, 2, 1])[0],
                        authority=authorities[code],
                        routing_rule="estatal",
                        status="open",
                        due_at=due,
                        sort_due=due or datetime(9999, 12, 31, tzinfo=UTC),
                        risk=rng.choice(["alto", "medio", "bajo", None]),
                        context={},
                        created_at=now,
                    )
                )
                access.append(
                    CaseAccess(
                        case=case_id,
                        authority=authorities[code],
                        reason="bench",
                        active=True,
                        granted_at=now,
                    )
                )
            await Task.insert(*tasks)
            await CaseAccess.insert(*access)
    return time.perf_counter() - t0


async def bench_inbox(client, requests: int) -> dict[str, list[float]]:
    r = await client.post(
        "/api/v1/auth/login",
        json={"username": "procuraduria-07.officer", "password": PASSWORD, "mode": "api"},
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    variants = {
        "first page (scope=all, 50)": {},
        "filtered (risk=alto, process)": {"risk": "alto", "process": "colocacion"},
        "overdue": {"state": "overdue"},
    }
    out: dict[str, list[float]] = {}
    for label, params in variants.items():
        times = []
        cursor = None
        for i in range(requests):
            q = dict(params, limit=50)
            if cursor and i % 5:  # four of five requests follow the cursor: deep pages too
                q["cursor"] = cursor
            t0 = time.perf_counter()
            resp = await client.get("/api/v1/inbox", headers=h, params=q)
            times.append(time.perf_counter() - t0)
            assert resp.status_code == 200, resp.text
            cursor = resp.json()["next_cursor"]
        out[label] = times
    return out


def _serve(port: int) -> subprocess.Popen:
    """``careroute serve`` on ``port`` with this process's database, no in-server worker."""
    env = {**os.environ, "CAREROUTE_WORKER": "0"}
    root = Path(__file__).resolve().parents[1]
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def bench_servers(processes: int, n: int, clients: int) -> float:
    """Completions per second through ``processes`` real server processes on this database,
    ``clients`` concurrent clients spread over them, each walking its own cases along the route
    from what the completions answer (``next_tasks``). Returns completions/s."""
    import httpx

    from app.route_engine import form_example
    from tests.app.helpers import opening_form, user_for

    ports = [_free_port() for _ in range(processes)]
    procs = [_serve(port) for port in ports]
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            for port in ports:  # wait until each answers
                for _ in range(600):
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            tokens: dict[str, str] = {}

            async def headers(base: str, user: str) -> dict[str, str]:
                if user not in tokens:
                    r = await http.post(
                        f"{base}/api/v1/auth/login",
                        json={"username": user, "password": PASSWORD, "mode": "api"},
                    )
                    tokens[user] = r.json()["token"]
                return {"Authorization": f"Bearer {tokens[user]}"}

            done = 0

            async def client(i: int, n: int) -> None:
                nonlocal done
                base = f"http://127.0.0.1:{ports[i % processes]}"
                while done < n:
                    r = await http.post(
                        f"{base}/api/v1/cases",
                        headers=await headers(base, "inm-07.officer"),
                        json={"form": opening_form(), "identidad": {"nombres": "Bench"}},
                    )
                    queue = list(r.json()["next_tasks"])
                    for _ in range(12):
                        if not queue or done >= n:
                            break
                        task = queue.pop(0)
                        user = user_for(task["authority"], task["rol"])
                        body = {"data": form_example(f"{task['bpmn_id']}.schema.json")}
                        r = await http.post(
                            f"{base}/api/v1/tasks/{task['task_id']}/complete",
                            headers=await headers(base, user),
                            json=body,
                        )
                        if r.status_code == 200:
                            done += 1
                            queue += r.json()["next_tasks"]
                        elif r.status_code != 409:  # a task the route cancelled meanwhile
                            raise RuntimeError(f"{r.status_code}: {r.text[:300]}")

            await client(0, 3 * 12)  # warm up: every user logs in once (argon2), untimed
            done = 0
            t0 = time.perf_counter()
            await asyncio.gather(*(client(i, n) for i in range(clients)))
            return done / (time.perf_counter() - t0)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def main_async(args: argparse.Namespace) -> None:
    import httpx

    from app import db
    from app.main import create_app

    await prepare(args.reset)
    print(f"database: {db.database_url().split('@')[-1]}   cores: {os.cpu_count()}")
    app = create_app(manage_db=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        await client.get("/healthz")
        latencies, wall, script, statements = await bench_completions(client, args.n, args.steps)
        engine = bench_engine(script)
        print(
            f"\ncompletions via HTTP API  (n={len(latencies)}): {fmt(latencies)}   "
            f"{len(latencies) / wall:6.1f} completions/s"
        )
        print(
            f"same completions, engine  (n={len(engine)}): {fmt(engine)}   "
            f"{len(engine) / sum(engine):6.1f} completions/s"
        )
        print(
            f"SQL statements per completion (Piccolo queries, BEGIN/COMMIT not counted): "
            f"median {statistics.median(statements):.0f}, mean {statistics.mean(statements):.1f}, "
            f"max {max(statements)}"
        )
        ratio = statistics.median(latencies) / statistics.median(engine)
        ratio95 = pct(latencies, 95) / pct(engine, 95)
        print(
            f"API / engine ratio: median x{ratio:.2f}, p95 x{ratio95:.2f}   "
            f"(goal: p95 < 50 ms -> {'OK' if pct(latencies, 95) < 0.05 else 'MISSED'})"
        )

        if args.processes and not db.is_sqlite():
            print()
            rates = {}
            for procs in sorted({1, args.processes}):
                rates[procs] = await bench_servers(procs, args.n, args.clients)
                print(
                    f"{procs} server process(es), {args.clients} concurrent clients: "
                    f"{rates[procs]:6.1f} completions/s"
                )
            if len(rates) > 1:
                print(
                    f"{args.processes} processes / 1 process: x{rates[args.processes] / rates[1]:.2f}"
                )

        if args.cases:
            seconds = await seed_open_cases(args.cases)
            print(f"\nseeded {args.cases} open cases in {seconds:.1f} s")
            for label, times in (await bench_inbox(client, args.inbox_requests)).items():
                verdict = "OK" if pct(times, 95) < 0.03 else "MISSED"
                print(f"inbox {label:32s}: {fmt(times)}   (goal p95 < 30 ms: {verdict})")
    await db.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="task completions to time")
    parser.add_argument("--steps", type=int, default=12, help="tasks completed per case")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases for the inbox test")
    parser.add_argument(
        "--inbox-requests", type=int, default=200, help="inbox requests per variant"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="PostgreSQL: also measure completions/s through this many `careroute serve` "
        "processes (and 1, the baseline); 0 skips it",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for that")
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
    from app import keys

    # the servers and workers it starts refuse to run without keys (app/keys.py): a throwaway set
    os.environ.setdefault(keys.DIR_ENV, tempfile.mkdtemp(prefix="careroute-bench-keys-"))
    keys.init()

    for noisy in ("spiff", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
