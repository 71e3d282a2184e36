"""Crash: a real ``careroute serve`` on this session's database (SQLite or PostgreSQL), several
clients completing tasks, SIGKILL mid-load, restart; repeated. Afterwards every acknowledged
completion is present, nothing is half-applied, the task index matches the engine state, and
``careroute audit verify`` exits 0."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.reliability.load import (
    LoadResult,
    Tokens,
    check_acknowledged,
    check_consistent,
    drive,
    open_cases,
)
from tests.reliability.procs import Server, run_cli
from tests.reliability.stats import STATS

pytestmark = pytest.mark.reliability

ROUNDS = 3  # kill -9 this many times
CLIENTS = 6
CASES = 10


async def test_kill9_mid_load_loses_no_acknowledged_write(db_env, tmp_path):
    tokens = Tokens()
    result = LoadResult()
    server = Server(db_env, tmp_path).start()
    folios = await asyncio.to_thread(open_cases, server.base, tokens, CASES)
    try:
        for round_no in range(ROUNDS):
            if round_no:
                server = Server(db_env, tmp_path).start()  # restart after the crash
            stop = threading.Event()
            before = len(result.acked)
            threads = [
                threading.Thread(
                    target=drive,
                    args=([server.base], tokens, folios, result, stop, 1000 * round_no + i),
                    kwargs={"max_requests": 300, "deadline_s": 60},
                )
                for i in range(CLIENTS)
            ]
            for t in threads:
                t.start()
            # kill once completions are flowing (bounded wait), with requests in flight
            deadline = time.monotonic() + 30
            while len(result.acked) < before + 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            server.kill()
            STATS.add("crashes")
            stop.set()
            for t in threads:
                await asyncio.to_thread(t.join, 60)
                assert not t.is_alive()
            assert len(result.acked) > before, "no completion was acknowledged in this round"
        # final restart: the service works, then check everything it acknowledged
        server = Server(db_env, tmp_path).start()
        stop = threading.Event()
        await asyncio.to_thread(drive, [server.base], tokens, folios, result, stop, 99, 10, 30)
    finally:
        server.stop()
    lost = await check_acknowledged(result.acked)
    problems = await check_consistent(folios)
    verify = await asyncio.to_thread(run_cli, db_env, "audit", "verify")
    STATS.add("acked_checked", len(result.acked))
    STATS.add("lost", len(lost))
    print(
        f"crash: {ROUNDS} kills, {len(result.acked)} acknowledged completions checked, "
        f"{len(lost)} lost, {result.conflicts} conflicts (409), {result.errors} connection errors"
    )
    assert not result.server_errors, result.server_errors[:5]
    assert not lost, lost[:10]
    assert not problems, problems[:10]
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "audit chain OK" in verify.stdout


async def test_worker_process_killed_mid_sweep_loses_and_doubles_nothing(db_env):
    """``careroute worker --once`` as a real process, SIGKILLed while it fires 600 overdue
    deadlines (batches of 20, one transaction each): the batches it committed stay, the one in
    flight rolls back whole; a second worker finishes. Each case is escalated, notified and
    audited exactly once, nothing stays due, and the audit chain verifies."""
    import signal
    import subprocess
    from datetime import UTC, datetime, timedelta

    from app.tables import AuditEvent, DeadlineEscalation, Notification, WorkflowState
    from bench.deadline_seed import seed_cases
    from tests.reliability.procs import CAREROUTE, ROOT

    n = 600
    t0 = datetime.now(UTC) - timedelta(hours=24, minutes=10)  # D1 level 1 due 10 min ago
    prefix = f"KW{time.time_ns() % 10**6}"
    ids = await seed_cases(n, t0, prefix=prefix)

    async def fired() -> int:
        return await DeadlineEscalation.count().where(DeadlineEscalation.case.is_in(ids))

    proc = subprocess.Popen(
        [*CAREROUTE, "worker", "--once"],
        env=db_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(3000):  # up to ~60 s for the process to start and commit some batches
            if await fired() >= 60 or proc.poll() is not None:
                break
            await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = await fired()
    assert 0 < before < n, f"the worker was not killed mid-sweep ({before} of {n} fired)"
    STATS.add("crashes")

    done = await asyncio.to_thread(run_cli, db_env, "worker", "--once")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = await DeadlineEscalation.select(DeadlineEscalation.case, DeadlineEscalation.level).where(
        DeadlineEscalation.case.is_in(ids)
    )
    assert len(rows) == n and {r["case_id"] for r in rows} == set(ids)
    assert {r["level"] for r in rows} == {1}
    audited = await AuditEvent.count().where(
        AuditEvent.case_id.is_in(ids) & (AuditEvent.action == "deadline.escalated")
    )
    notified = await Notification.count().where(Notification.case_folio.like(f"{prefix}-%"))
    assert (audited, notified) == (n, n)
    still_due = await WorkflowState.count().where(
        WorkflowState.case.is_in(ids) & (WorkflowState.next_due_at < datetime.now(UTC))
    )
    assert still_due == 0
    STATS.add("acked_checked", before)  # escalations committed before the kill, all kept
    verify = await asyncio.to_thread(run_cli, db_env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
