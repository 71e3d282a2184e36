"""Erasure benchmark (issue 16): the retention worker erases ``--cases`` closed cases (default
10,000) past their term, against a baseline measured in the same run.

Seeds 2 x ``--cases`` closed cases in bulk SQL, each as the services store it: a data key wrapped
by the master key, the identity encrypted and its blind name index, two forms as submitted and a
note and a free text (encrypted), an engine state row, an access row, closed ten years ago (so
every term has passed). Then:

- **worker**: the first half goes through the worker's steps as ``careroute worker`` runs them
  (app/services/retention.py): enroll (the clock), block, then erase (destroy the keys, delete the
  rows, audit ``case.erased``), one transaction per batch of ``CAREROUTE_RETENTION_BATCH`` (200);
- **baseline**: the second half's same rows deleted by bare ``DELETE ... WHERE case_id IN (...)``
  statements in batches of the same size, no key, no audit: the floor of any erasure.

Prints, for each: total seconds, and median / p95 of the time per case (each batch's time divided
by its cases), and whether the worker met the goal. Then verifies the audit chain.

Usage:
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_retention python bench/erasure.py --reset
    python bench/erasure.py --cases 2000             # SQLite (a new temp file)
Goal (2 cores, PostgreSQL, 10,000 cases): the worker erases them in under 60 s.
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

from bench.api import pct, prepare  # noqa: E402

CASE_COLUMNS = ("folio", "estado", "municipio", "status", "summary", "variables", "opened_at",
                "updated_at", "closed_at", "end_state", "spec_version")  # fmt: skip
TABLES = ("case_name_token", "case_identity", "task_submission", "case_note", "case_text",
          "workflow_state")  # fmt: skip


async def seed(count: int, prefix: str, closed: datetime) -> tuple[float, list[int]]:
    """``count`` closed cases with encrypted personal data; returns seconds and their ids."""
    from app import datakeys, keys
    from app.db import insert_rows, write_tx
    from app.services.case_search import search_name
    from app.services.personal_data import IDENTITY, NOTE, SUBMISSION, TEXT
    from app.tables import Authority

    keys.init()
    key_id = keys.master_key().key_id
    proc = (await Authority.select(Authority.id).where(Authority.code == "PROCURADURIA-07"))[0]
    rng = random.Random(16)
    t0 = time.perf_counter()
    ids: list[int] = []
    state = json.dumps({"format": "bench", "state": {"forms": {"x": "y" * 2000}}})
    for start in range(0, count, 1000):
        size = min(1000, count - start)
        cases = [
            (f"{prefix}-{i:06d}", "07", "Tapachula", "closed", '{"sexo": "mujer"}',
             '{"fecha_nacimiento": "2010-01-01"}', closed - timedelta(days=200),
             closed, closed, "fin_reunificacion", "bench")
            for i in range(start, start + size)
        ]  # fmt: skip
        async with write_tx():
            rows = await insert_rows("nna_case", CASE_COLUMNS, cases, " RETURNING id")
            dks, idents, tokens, forms, notes, texts, states, access = ([] for _ in range(8))
            for row in rows:
                cid = row["id"]
                ids.append(cid)
                dk = os.urandom(32)
                dks.append((cid, key_id, datakeys.wrap(dk, cid), closed))
                data = {"nombres": rng.choice(["Ana", "Kevin"]), "apellidos": f"Bench {cid}"}
                idents.append(
                    (cid, json.dumps(datakeys.seal_json(dk, cid, IDENTITY, data)), "", closed)
                )
                tokens += [(cid, t) for t in datakeys.name_tokens(search_name(data))]
                for n in range(2):
                    form = datakeys.seal(dk, cid, SUBMISSION, json.dumps({"relato": "x" * 400}))
                    forms.append((cid, f"bench-{cid}-{n}", "inicio_caso", form, closed))
                notes.append((cid, datakeys.seal(dk, cid, NOTE, "nota " * 40), closed))
                texts.append((cid, "case.relocated", "reason",
                              datakeys.seal(dk, cid, TEXT, "motivo"), closed))  # fmt: skip
                states.append((cid, state, 3, "bench", None, closed))
                access.append((cid, proc["id"], "bench", True, closed))
            await insert_rows("case_data_key", ("case_id", "key_id", "wrapped", "created_at"), dks)
            await insert_rows(
                "case_identity", ("case_id", "data", "search_name", "updated_at"), idents
            )
            await insert_rows("case_name_token", ("case_id", "token"), tokens)
            await insert_rows(
                "task_submission",
                ("case_id", "task_id", "bpmn_id", "data", "submitted_at"),
                forms,
            )
            await insert_rows("case_note", ("case_id", "body", "created_at"), notes)
            await insert_rows(
                "case_text", ("case_id", "action", "field", "text", "created_at"), texts
            )
            await insert_rows(
                "workflow_state",
                ("case_id", "state", "version", "spec_version", "next_due_at", "updated_at"),
                states,
            )
            await insert_rows(
                "case_access", ("case_id", "authority_id", "reason", "active", "granted_at"), access
            )
    from app import db

    if not db.is_sqlite():
        await db.engine().run_ddl("ANALYZE")
    return time.perf_counter() - t0, ids


async def worker(now: datetime, batch: int) -> tuple[dict[str, float], list[float], int]:
    """The worker's steps, timed: seconds per step, seconds per case of each erase batch."""
    from app.services import erasure, retention

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    while await retention.enroll(now, batch * 5):  # as retention.sweep does
        pass
    seconds["enroll"] = time.perf_counter() - t0
    blocked_at = now + timedelta(days=365 * 8)  # past every block_at (5 years from majority)
    t0 = time.perf_counter()
    while await retention.block_due(blocked_at, batch):
        pass
    seconds["block"] = time.perf_counter() - t0
    erase_at = blocked_at + timedelta(days=365 * 2)
    per_case: list[float] = []
    erased = 0
    t0 = time.perf_counter()
    while True:
        t1 = time.perf_counter()
        n = await erasure.erase_due(erase_at, batch)
        if not n:
            break
        erased += n
        per_case += [(time.perf_counter() - t1) / n] * n
    seconds["erase"] = time.perf_counter() - t0
    return seconds, per_case, erased


async def baseline(ids: list[int], batch: int) -> tuple[float, list[float]]:
    """Bare deletes of the same kinds of rows, same batch size, no key and no audit."""
    from app.db import write_tx
    from app.tables import Case

    per_case: list[float] = []
    t0 = time.perf_counter()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        marks = ", ".join("{}" for _ in chunk)
        t1 = time.perf_counter()
        async with write_tx():
            for table in TABLES:
                await Case.raw(f"DELETE FROM {table} WHERE case_id IN ({marks})", *chunk)  # noqa: S608
        per_case += [(time.perf_counter() - t1) / len(chunk)] * len(chunk)
    return time.perf_counter() - t0, per_case


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, p95 {pct(values, 95) * 1000:.2f} ms"


async def main_async(args: argparse.Namespace) -> None:
    from app import audit, db
    from app.services import retention

    await prepare(args.reset)
    batch = args.batch or retention._batch()
    now = datetime.now(UTC).replace(microsecond=0)
    closed = now - timedelta(days=365 * 10)
    seeded, _ = await seed(args.cases, "ERA", closed)
    seeded2, base_ids = await seed(args.cases, "BASE", closed)
    # the baseline's cases must not be erased by the worker: hold them
    from app.tables import Case

    await Case.update({Case.retention: "bench"}).where(Case.id.is_in(base_ids))
    print(f"database: {db.database_url().split('@')[-1]}   cores: {os.cpu_count()}   batch {batch}")
    print(f"seeded 2 x {args.cases} closed cases with encrypted data in {seeded + seeded2:.1f} s")
    base_total, base_per_case = await baseline(base_ids, batch)
    steps, per_case, erased = await worker(now, batch)
    total = sum(steps.values())
    print(
        f"baseline (bare DELETEs, no key, no audit): {args.cases} cases in {base_total:.2f} s; "
        f"per case {_ms(base_per_case)}"
    )
    print(
        f"worker: enroll {steps['enroll']:.2f} s, block {steps['block']:.2f} s, "
        f"erase {steps['erase']:.2f} s ({erased} cases); total {total:.2f} s"
    )
    print(
        f"worker erase per case {_ms(per_case)}; erase / baseline x{steps['erase'] / base_total:.2f}"
    )
    print(f"goal: {args.cases} cases erased by the worker in < 60 s: "
          f"{'OK' if total < 60 and erased == args.cases else 'MISSED'}")  # fmt: skip
    t0 = time.perf_counter()
    result = await audit.verify()
    print(
        f"audit chain after the erasure: {'OK' if result.ok else 'BROKEN'} "
        f"({result.checked} events, {time.perf_counter() - t0:.1f} s)"
    )
    await db.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--reset", action="store_true", help="drop the careroute tables first")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["CAREROUTE_DB"] = os.path.join(tempfile.mkdtemp(), "bench.db")
    os.environ.setdefault("CAREROUTE_KEYS_DIR", os.path.join(tempfile.mkdtemp(), "keys"))
    import app  # noqa: F401  (sets PICCOLO_CONF)

    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
