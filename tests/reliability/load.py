"""Load drivers and state checks shared by the crash and multi-node tests.

Clients are threads with their own httpx client (127.0.0.1 only). Each loop is bounded in count
and time. A completion is *acknowledged* when the server answered 200; the checks then prove that
every acknowledged completion is in the database, and that nothing is half-applied: for every case
the open task rows are exactly the engine's ready tasks, and every completed row has exactly one
``task.completed`` audit event (and no such event exists without its row).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.route_engine import form_example, route_engine
from app.services import personal_data
from app.tables import AuditEvent, Case, Task
from tests.app.helpers import PASSWORD, user_for
from tests.reliability.stats import count_sync_response


@dataclass
class Ack:
    folio: str
    task_id: str
    bpmn_id: str
    username: str


@dataclass
class LoadResult:
    acked: list[Ack] = field(default_factory=list)
    conflicts: int = 0
    errors: int = 0  # connection errors (the server was killed mid-request)
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Tokens:
    """Bearer tokens per user, shared by all clients (tokens live in the database, so they stay
    valid across server restarts and on every node)."""

    def __init__(self) -> None:
        self._tokens: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def get(self, client: httpx.Client, username: str) -> str | None:
        # One login per user, under the lock: clients starting together would otherwise log the
        # same user in at once from one address, and the login throttle counts every attempt
        # until its password is checked (app/throttle.py).
        with self._lock:
            if username not in self._tokens:
                r = client.post(
                    "/api/v1/auth/login",
                    json={"username": username, "password": PASSWORD, "mode": "api"},
                )
                self._tokens[username] = r.json()["token"] if r.status_code == 200 else None
            return self._tokens[username]

    def headers(self, client: httpx.Client, username: str) -> dict[str, str] | None:
        token = self.get(client, username)
        return {"Authorization": f"Bearer {token}"} if token else None


def open_cases(base: str, tokens: Tokens, n: int) -> list[str]:
    folios = []
    with httpx.Client(
        base_url=base, timeout=30, event_hooks={"response": [count_sync_response]}
    ) as c:
        headers = tokens.headers(c, "inm-07.officer")
        for i in range(n):
            from tests.app.helpers import opening_form

            r = c.post(
                "/api/v1/cases",
                headers=headers,
                json={"form": opening_form(), "identidad": {"nombres": f"Carga {i}"}},
            )
            assert r.status_code == 201, r.text
            folios.append(r.json()["folio"])
    return folios


def drive(
    bases: list[str],
    tokens: Tokens,
    folios: list[str],
    result: LoadResult,
    stop: threading.Event,
    seed: int,
    max_requests: int = 400,
    deadline_s: float = 60,
) -> None:
    """One client: pick a case, complete its first open task as the right user; repeat."""
    rng = random.Random(seed)  # noqa: S311 (test load, not crypto)
    end = time.monotonic() + deadline_s
    clients = [
        httpx.Client(base_url=b, timeout=30, event_hooks={"response": [count_sync_response]})
        for b in bases
    ]
    try:
        for _ in range(max_requests):
            if stop.is_set() or time.monotonic() > end:
                return
            client = rng.choice(clients)
            folio = rng.choice(folios)
            try:
                _complete_one(client, tokens, folio, result, rng)
            except httpx.HTTPError:
                with result.lock:
                    result.errors += 1
                if len(clients) == 1:
                    time.sleep(0.05)
    finally:
        for c in clients:
            c.close()


def _complete_one(
    client: httpx.Client, tokens: Tokens, folio: str, result: LoadResult, rng: random.Random
) -> None:
    oversight = tokens.headers(client, "cndh.oversight")
    r = client.get(f"/api/v1/cases/{folio}", headers=oversight)
    if r.status_code >= 500:
        result.server_errors.append(f"GET case {r.status_code} {r.text[:200]}")
    if r.status_code != 200:
        return
    open_tasks = [t for t in r.json()["tasks"] if t["status"] == "open" and t["authority"]]
    if not open_tasks:
        return
    task = rng.choice(open_tasks)
    username = user_for(task["authority"], task["rol"])
    headers = tokens.headers(client, username)
    if headers is None:
        return
    data = form_example(f"{task['bpmn_id']}.schema.json")
    r = client.post(
        f"/api/v1/tasks/{task['task_id']}/complete", headers=headers, json={"data": data}
    )
    with result.lock:
        if r.status_code == 200:
            result.acked.append(Ack(folio, task["task_id"], task["bpmn_id"], username))
        elif r.status_code == 409:
            result.conflicts += 1
        elif r.status_code >= 500:
            result.server_errors.append(f"complete {r.status_code} {r.text[:200]}")


async def check_acknowledged(acked: list[Ack]) -> list[str]:
    """Every acknowledged completion is in the task index and the audit trail, exactly once."""
    lost = []
    for ack in acked:
        row = await Task.select(Task.status).where(Task.task_id == ack.task_id).first()
        events = await AuditEvent.count().where(
            (AuditEvent.task_id == ack.task_id) & (AuditEvent.action == "task.completed")
        )
        if row is None or row["status"] != "completed" or events != 1:
            lost.append(f"{ack}: row={row} completed_events={events}")
    return lost


async def check_consistent(folios: list[str]) -> list[str]:
    """Per case: open task rows == engine ready tasks; completed rows <-> completion events."""
    problems = []
    engine = route_engine()
    for folio in folios:
        case = await Case.select(Case.id).where(Case.folio == folio).first()
        if case is None:
            problems.append(f"{folio}: case missing")
            continue
        state = await personal_data.engine_state(case["id"])  # encrypted with the case's key
        ready = {t.task_id for t in engine.restore(state or "").ready_tasks()}
        rows = await Task.select(Task.task_id, Task.status).where(Task.case == case["id"])
        open_rows = {r["task_id"] for r in rows if r["status"] == "open"}
        if ready != open_rows:
            problems.append(
                f"{folio}: engine ready {sorted(ready)} != open rows {sorted(open_rows)}"
            )
        completed = {r["task_id"] for r in rows if r["status"] == "completed"}
        events: list[dict[str, Any]] = await AuditEvent.select(AuditEvent.task_id).where(
            (AuditEvent.case_id == case["id"]) & (AuditEvent.action == "task.completed")
        )
        ids = [e["task_id"] for e in events]
        if sorted(ids) != sorted(completed):
            problems.append(f"{folio}: completion events {sorted(ids)} != rows {sorted(completed)}")
    return problems
