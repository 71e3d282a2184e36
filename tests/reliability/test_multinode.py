"""Several app nodes: three ``careroute serve`` processes on one database, clients spread over
them. Conflicting completions and claims: exactly one wins each, the others get 409. Random load
over all nodes: no lost update. Deadline workers running in all three servers fire each timer once.

PostgreSQL is the multi-node deployment (row locks, an advisory lock on the audit chain head).
On SQLite the same three processes share one file: docs/api.md says to run one server there, and
what makes even three safe is that every write is a ``BEGIN IMMEDIATE`` transaction, so writers
from different processes are serialised by the file lock. The tests assert the same outcome on
both engines (one winner, nothing lost, each timer once), and show the lock at work on each: a
node's write waits while another connection holds it (SQLite: the file's write lock; PostgreSQL:
the case's workflow row), then succeeds.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from app.clock import utcnow
from app.route_engine import form_example
from app.services import auth, cases, tasks
from app.tables import AuditEvent, Case, Task, WorkflowState
from tests.app.helpers import opening_form
from tests.reliability.load import (
    LoadResult,
    Tokens,
    check_acknowledged,
    check_consistent,
    drive,
    open_cases,
)
from tests.reliability.procs import Server, run_cli
from tests.reliability.stats import STATS, count_sync_response

pytestmark = pytest.mark.reliability

NODES = 3
RACES = 8  # tasks raced for completion, and as many for claims


@pytest.fixture
def nodes(db_env, tmp_path):
    servers = [Server(db_env, tmp_path).start() for _ in range(NODES)]
    yield servers
    for s in servers:
        s.stop()


def race(bases: list[str], calls: list[tuple[str, dict[str, str], dict | None]]) -> list[int]:
    """Send one request per node at the same instant (a barrier); return the status codes."""
    barrier = threading.Barrier(len(calls))
    codes: list[int] = [0] * len(calls)

    def one(i: int) -> None:
        url, headers, body = calls[i]
        with httpx.Client(
            base_url=bases[i % len(bases)],
            timeout=60,
            event_hooks={"response": [count_sync_response]},
        ) as c:
            barrier.wait(timeout=30)
            codes[i] = c.post(url, headers=headers, json=body).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return codes


async def test_conflicting_completions_and_claims_one_winner_each(nodes, db_kind):
    bases = [s.base for s in nodes]
    tokens = Tokens()
    users = ["inm-07.officer", "inm-07.supervisor", "inm-07.head"]
    with httpx.Client(base_url=bases[0], timeout=30) as c:
        heads = [tokens.headers(c, u) for u in users]
    folios = await asyncio.to_thread(open_cases, bases[0], tokens, 2 * RACES)
    first = {}
    for folio in folios:
        case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
        row = await Task.select(Task.task_id).where(
            (Task.case == case_id) & (Task.status == "open")
        )
        first[folio] = (case_id, row[0]["task_id"])
    data = {"data": form_example("registrar_deteccion.schema.json")}
    outcomes = []
    for folio in folios[:RACES]:
        case_id, task_id = first[folio]
        url = f"/api/v1/tasks/{task_id}/complete"
        codes = await asyncio.to_thread(race, bases, [(url, h, data) for h in heads])
        outcomes.append(("complete", folio, sorted(codes)))
        version = await WorkflowState.select(WorkflowState.version).where(
            WorkflowState.case == case_id
        )
        completed = await AuditEvent.count().where(
            (AuditEvent.task_id == task_id) & (AuditEvent.action == "task.completed")
        )
        assert sorted(codes) == [200, 409, 409], (folio, codes)
        assert version[0]["version"] == 2 and completed == 1, (folio, version, completed)
    for folio in folios[RACES:]:
        case_id, task_id = first[folio]
        url = f"/api/v1/tasks/{task_id}/claim"
        codes = await asyncio.to_thread(race, bases, [(url, h, None) for h in heads])
        outcomes.append(("claim", folio, sorted(codes)))
        assert sorted(codes) == [200, 409, 409], (folio, codes)
        row = await Task.select(Task.assignee.username.as_alias("who")).where(
            Task.task_id == task_id
        )
        winner = users[codes.index(200)]
        assert row[0]["who"] == winner
        claims = await AuditEvent.count().where(
            (AuditEvent.task_id == task_id) & (AuditEvent.action == "task.claimed")
        )
        assert claims == 1
    STATS.add("acked_checked", 2 * RACES)
    print(f"multi-node ({db_kind}, {NODES} nodes): {2 * RACES} races, one winner each")


async def test_load_over_three_nodes_loses_no_update(nodes, db_env, db_kind):
    bases = [s.base for s in nodes]
    tokens = Tokens()
    folios = await asyncio.to_thread(open_cases, bases[1], tokens, 6)
    result = LoadResult()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=drive,
            args=(bases, tokens, folios, result, stop, 500 + i),
            kwargs={"max_requests": 40, "deadline_s": 60},
        )
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        await asyncio.to_thread(t.join, 90)
        assert not t.is_alive()
    lost = await check_acknowledged(result.acked)
    problems = await check_consistent(folios)
    STATS.add("acked_checked", len(result.acked))
    STATS.add("lost", len(lost))
    print(
        f"multi-node load ({db_kind}): {len(result.acked)} acknowledged, "
        f"{result.conflicts} conflicts, {len(lost)} lost"
    )
    assert result.acked and not result.server_errors and result.errors == 0, result.server_errors
    assert not lost, lost[:5]
    assert not problems, problems[:5]
    verify = await asyncio.to_thread(run_cli, db_env, "audit", "verify")
    assert verify.returncode == 0, verify.stderr


async def test_a_write_waits_for_the_lock_held_elsewhere(nodes, db_env, db_kind):
    """The mechanism behind "one winner": while another connection holds the lock (SQLite: a
    ``BEGIN IMMEDIATE`` on the file, i.e. any other process writing; PostgreSQL: the case's
    workflow row ``FOR UPDATE``), a node's completion waits instead of writing, then succeeds."""
    tokens = Tokens()
    (folio,) = await asyncio.to_thread(open_cases, nodes[0].base, tokens, 1)
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    task_id = (await Task.select(Task.task_id).where(Task.case == case_id).first())["task_id"]
    with httpx.Client(base_url=nodes[2].base, timeout=60) as c:
        headers = tokens.headers(c, "inm-07.officer")
    data = {"data": form_example("registrar_deteccion.schema.json")}
    done: list[int] = []

    def complete() -> None:
        with httpx.Client(base_url=nodes[2].base, timeout=60) as c:
            r = c.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=data)
            done.append(r.status_code)
            STATS.response(r.status_code)

    if db_kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(db_env["CAREROUTE_DB"], timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        release = conn.rollback
    else:
        import asyncpg

        conn = await asyncpg.connect(db_env["DATABASE_URL"])
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT id FROM workflow_state WHERE case_id = $1 FOR UPDATE", case_id)
        release = None
    worker = threading.Thread(target=complete)
    worker.start()
    await asyncio.sleep(1.5)
    assert done == [], "the node wrote while another connection held the lock"
    if release is not None:
        release()
        conn.close()
    else:
        await tx.rollback()
        await conn.close()
    await asyncio.to_thread(worker.join, 60)
    assert done == [200]
    version = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == case_id)
    assert version[0]["version"] == 2


async def _overdue_cases(n: int) -> list[int]:
    """Cases whose notificar_procuraduria deadline (24 h, then 3 hourly levels) passed long ago."""
    inm = await auth.principal_for_user("inm-07.officer")
    past = utcnow() - timedelta(hours=40)
    ids = []
    for i in range(n):
        form = opening_form(fecha_deteccion=past.strftime("%Y-%m-%dT%H:%M:%SZ"))
        opened = await cases.open_case(inm, form, {"nombres": f"Plazo {i}"}, now=past)
        row = await Task.select(Task.task_id).where(
            (Task.case == opened["case_id"]) & (Task.status == "open")
        )
        data = form_example("registrar_deteccion.schema.json")
        await tasks.complete(inm, row[0]["task_id"], data, now=past + timedelta(minutes=5))
        ids.append(opened["case_id"])
    return ids


async def test_deadline_workers_on_three_nodes_fire_each_timer_once(db_env, tmp_path, db_kind):
    case_ids = await _overdue_cases(6)
    due = await WorkflowState.count().where(
        WorkflowState.case.is_in(case_ids) & (WorkflowState.next_due_at <= utcnow())
    )
    assert due == len(case_ids)
    servers = [Server(db_env, tmp_path, tick=0.2).start() for _ in range(NODES)]
    try:
        for _ in range(150):  # bounded: up to ~30 s for the workers to catch up
            left = await WorkflowState.count().where(
                WorkflowState.case.is_in(case_ids) & (WorkflowState.next_due_at <= utcnow())
            )
            if left == 0:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # a few more ticks on every node: nothing may fire twice
    finally:
        for s in servers:
            s.stop()
    assert left == 0, f"{left} cases still have due timers"
    events = await AuditEvent.select(
        AuditEvent.case_id, AuditEvent.action, AuditEvent.task_id, AuditEvent.changes
    ).where(
        AuditEvent.case_id.is_in(case_ids)
        & AuditEvent.action.is_in(["deadline.escalated", "timer.fired"])
    )
    counts = Counter((e["case_id"], e["action"], e["task_id"], e["changes"]) for e in events)
    duplicates = [k for k, v in counts.items() if v > 1]
    per_case = Counter(e["case_id"] for e in events if e["action"] == "deadline.escalated")
    print(
        f"deadline workers ({db_kind}, {NODES} nodes): {len(events)} timer events "
        f"for {len(case_ids)} cases, {len(duplicates)} duplicates"
    )
    assert not duplicates, duplicates[:5]
    assert all(per_case[c] >= 3 for c in case_ids), per_case  # levels 1..3 of D1, each once
    levels = Counter(
        (e["case_id"], e["changes"]) for e in events if e["action"] == "deadline.escalated"
    )
    assert max(levels.values()) == 1
