"""Deadline worker benchmark: how long until 10,000 timers due at once have all fired.

Seeds ``--cases`` open cases (default 100,000): ``--due`` of them (default 10,000) wait on
``notificar_procuraduria`` with deadline D1 already past (a real engine state each, fresh task
UUIDs; bench/deadline_seed.py), the rest are due in 30 days (filler rows with a placeholder state:
the sweep only ever touches their indexed ``next_due_at``). Then:

1. idle: the cost of a sweep when nothing is due (median of 20);
2. one worker: ``careroute worker --once`` as a subprocess, wall time until every due case fired;
3. two workers: the same number of new due cases, two ``careroute worker --once`` processes at
   once; wall time until both exit, and a check that every timer fired exactly once.

Usage:
    python bench/deadlines.py [--cases 100000] [--due 10000] [--db /tmp/bench-deadlines.db]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench python bench/deadlines.py --reset
(On PostgreSQL --reset drops careroute's tables in that database first.)
Goal (issue 10): all 10,000 fired within 15 s with two workers on PostgreSQL, each writing its
escalation, notification and deadline register rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _workers(n: int, db_path: str | None) -> float:
    env = dict(os.environ)
    args = [sys.executable, "-m", "app.cli"]
    if db_path and not env.get("DATABASE_URL"):
        args += ["--db", db_path]
    args += ["worker", "--once"]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    outs = [p.communicate()[0].strip() for p in procs]
    elapsed = time.perf_counter() - start
    for i, out in enumerate(outs):
        print(f"    worker {i + 1}: {out}")
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--reset", action="store_true")
    args = parser.parse_args()
    db_path = None
    if not os.environ.get("DATABASE_URL"):
        db_path = args.db or os.path.join(tempfile.mkdtemp(prefix="bench-deadlines-"), "b.db")
        if os.path.exists(db_path):
            os.remove(db_path)
        os.environ["CAREROUTE_DB"] = db_path

    import app  # noqa: F401
    from app import keys

    # the servers and workers it starts refuse to run without keys (app/keys.py): a throwaway set
    os.environ.setdefault(keys.DIR_ENV, tempfile.mkdtemp(prefix="careroute-bench-keys-"))
    keys.init()
    from app import db, demo
    from app.services import deadlines
    from app.tables import DeadlineEscalation, DeadlineRegister, WorkflowState
    from bench.deadline_seed import seed_cases

    await db.startup()
    if args.reset and not db.is_sqlite():
        await db.drop_everything()
    await db.migrate()
    await demo.seed_accounts("bench-password-123")
    print(f"database: {db.database_url()}")

    now = datetime.now(UTC)
    t0 = now - timedelta(hours=24, minutes=10)  # D1 due 10 minutes ago; level 2 in 50 minutes
    filler = args.cases - 2 * args.due
    start = time.perf_counter()
    await seed_cases(
        filler,
        now,
        prefix="FILL",
        due_at=now + timedelta(days=30),
        real_state=False,
        batch=1000,
    )
    await seed_cases(args.due, t0, prefix="ONE", batch=500)
    print(
        f"seeded {filler + args.due:,} open cases ({args.due:,} due) "
        f"in {time.perf_counter() - start:.1f} s"
    )

    idle = []
    for _ in range(20):
        s = time.perf_counter()
        await deadlines.sweep(t0 + timedelta(hours=1), sender=None)
        idle.append((time.perf_counter() - s) * 1000)
    print(
        f"idle sweep (nothing due, {args.cases:,} cases): median {statistics.median(idle):.2f} ms"
    )
    await db.shutdown()

    print(f"1 worker, {args.due:,} due:")
    one = _workers(1, db_path)
    print(f"  all fired in {one:.1f} s ({args.due / one:.0f} cases/s, incl. process start)")

    await db.startup()
    await seed_cases(args.due, t0, prefix="TWO", batch=500)
    await db.shutdown()
    print(f"2 workers, {args.due:,} due:")
    two = _workers(2, db_path)
    print(f"  all fired in {two:.1f} s ({args.due / two:.0f} cases/s, incl. process start)")

    await db.startup()
    rows = await DeadlineEscalation.select(DeadlineEscalation.task_id).where(
        DeadlineEscalation.case_folio.like("TWO-%") | DeadlineEscalation.case_folio.like("ONE-%")
    )
    left = await WorkflowState.count().where(WorkflowState.next_due_at < datetime.now(UTC))
    breached = await DeadlineRegister.count().where(
        (DeadlineRegister.case_folio.like("TWO-%") | DeadlineRegister.case_folio.like("ONE-%"))
        & (DeadlineRegister.status == "breached")
    )
    print(
        f"check: {len(rows):,} escalations for {2 * args.due:,} due timers, "
        f"{len({r['task_id'] for r in rows}):,} distinct; still due: {left}; "
        f"deadline register rows breached: {breached:,}"
    )
    await db.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
