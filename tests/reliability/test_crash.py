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
