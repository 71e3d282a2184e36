"""The deadline worker: fire due timers, escalate, notify, and deliver outgoing notifications.

How a sweep works (docs/deadlines.md):

- Cases are fired in batches, one write transaction per batch (``command``). The transaction
  first *claims* up to ``CAREROUTE_SWEEP_BATCH`` due cases (default 20): ``SELECT case_id, state,
  version FROM workflow_state WHERE next_due_at < now ORDER BY next_due_at LIMIT n`` — on
  PostgreSQL ``FOR UPDATE SKIP LOCKED``, so concurrent workers never claim the same case and
  never wait for each other; on SQLite the process write lock plus ``BEGIN IMMEDIATE`` serialise
  everything (run one worker). Each case then runs in its own savepoint: the engine fires its
  timers with ``now``; its new state (and ``next_due_at``), task index rows, escalation rows,
  in-app notifications and outbox rows are written, and its audit events are chained at commit.
  A case that fails rolls back to its savepoint alone. A worker killed mid-sweep loses only the
  batch in flight, which rolls back whole: those cases are still due and the next sweep fires
  them.
- Escalation rows are unique by (task_id, plazo_id, level), so even a replay cannot escalate twice.
- Outgoing notifications (webhook, e-mail) are written to ``notification_outbox`` in the same
  transaction and delivered after commit by a ``NotificationSender``; a row is marked sent only
  after the sender returned, so delivery is at least once and never lost on a crash.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from app.clock import utcnow
from app.db import engine, is_sqlite, write_tx
from app.principal import SYSTEM
from app.services.context import Command, command
from app.services.task_index import sync_tasks
from app.services.workflow import LoadedCase, audit_engine_events, restore_case, save
from app.tables import (
    Case,
    DeadlineEscalation,
    Notification,
    NotificationOutbox,
    Task,
    User,
    WorkflowState,
)

log = logging.getLogger("careroute.deadlines")

#: Who is notified at each escalation level (roles of the authority the task is routed to;
#: level 3 notifies every oversight user and is the oversight breach record).
LEVEL_ROLES = {1: ("supervisor",), 2: ("head",)}
BREACH_LEVEL = 3


# ----------------------------------------------------------------------------- outgoing senders
class NotificationSender(Protocol):
    """Delivers one outgoing notification; raises on failure (the row is retried later)."""

    async def send(self, kind: str, payload: dict[str, Any]) -> None: ...


@dataclass
class FakeSender:
    """Test sender: records what it was asked to send; ``fail`` makes every send raise."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("fake sender is down")
        self.sent.append((kind, payload))


class WebhookSender:
    """POSTs ``{"kind", "payload"}`` as JSON to a URL (``CAREROUTE_WEBHOOK_URL``)."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(self.url, json={"kind": kind, "payload": payload})
            response.raise_for_status()


def default_sender() -> NotificationSender | None:
    """The configured outgoing sender: a webhook if ``CAREROUTE_WEBHOOK_URL`` is set, else none
    (then no outbox rows are written at all)."""
    url = os.environ.get("CAREROUTE_WEBHOOK_URL", "").strip()
    return WebhookSender(url) if url else None


_DEFAULT = object()


# ----------------------------------------------------------------------------- the sweep
def _batch_size() -> int:
    """Cases fired per write transaction (``CAREROUTE_SWEEP_BATCH``, default 20).

    Larger batches amortise the claim, the commit and the audit-chain lock over more cases; they
    also hold the claimed cases' row locks (PostgreSQL) or the write lock (SQLite) longer, so an
    officer's command on one of those cases waits up to one batch (about 0.1 s at 20).
    """
    try:
        return max(1, int(os.environ.get("CAREROUTE_SWEEP_BATCH", "20")))
    except ValueError:
        return 20


@dataclass
class SweepResult:
    cases: int = 0
    escalations: int = 0
    failed: list[int] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    delivered: int = 0


@dataclass
class Fired:
    case_id: int
    escalations: int
    still_due: bool


@dataclass
class Batch:
    fired: list[Fired] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


#: (level, authority id) -> user ids to notify; lives for one sweep (seconds), so a user
#: deactivated mid-sweep may still get that sweep's notifications, never a later one's.
RecipientCache = dict[tuple[int, int | None], list[int]]


async def sweep(
    now: datetime | None = None,
    *,
    limit: int | None = None,
    sender: Any = _DEFAULT,
    batch_size: int | None = None,
) -> SweepResult:
    """Fire every case due at ``now`` (one transaction per batch of cases, one savepoint per
    case), then deliver the outbox.

    ``limit`` bounds the number of cases fired (None: until nothing is due). A case whose firing
    fails is rolled back to its savepoint, logged and skipped for the rest of this sweep (it stays
    due, so the next sweep retries it); the other cases of its batch commit.
    """
    now = now or utcnow()
    out_sender = default_sender() if sender is _DEFAULT else sender
    size = batch_size or _batch_size()
    recipients: RecipientCache = {}
    result = SweepResult()
    while limit is None or result.cases < limit:
        take = size if limit is None else min(size, limit - result.cases)
        batch = await fire_batch(
            now,
            size=take,
            exclude=result.failed + result.stuck,
            outgoing=out_sender is not None,
            recipients=recipients,
        )
        if batch is None:
            break
        result.failed += batch.failed
        for fired in batch.fired:
            result.cases += 1
            result.escalations += fired.escalations
            if fired.still_due:  # the engine fired nothing more: do not spin on it in this sweep
                result.stuck.append(fired.case_id)
    if out_sender is not None:
        result.delivered = await deliver_outbox(out_sender, now)
    return result


async def fire_batch(
    now: datetime,
    *,
    size: int,
    exclude: list[int],
    outgoing: bool,
    recipients: RecipientCache,
) -> Batch | None:
    """Claim up to ``size`` due cases and fire them in one write transaction; None if none is due.

    The claim reads the cases' states with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so another
    worker claims other cases and never waits. Each case runs inside a savepoint: a case that
    fails rolls back alone and its audit events are dropped; the audit events of the cases that
    fired are chained once, at commit, with their state and task index.
    """
    async with command(SYSTEM, now) as cmd:
        query = (
            WorkflowState.select(WorkflowState.case, WorkflowState.state, WorkflowState.version)
            .where(WorkflowState.next_due_at < now)
            .order_by(WorkflowState.next_due_at)
            .limit(size)
        )
        if exclude:
            query = query.where(WorkflowState.case.not_in(list(exclude)))
        if not is_sqlite():
            query = query.lock_rows("UPDATE", skip_locked=True, of=(WorkflowState,))
        states = await query
        if not states:
            return None
        ids = [row["case_id"] for row in states]
        cases = {row["id"]: row for row in await Case.select().where(Case.id.is_in(ids))}
        transaction = engine().current_transaction.get()
        batch = Batch()
        for state in states:
            case_id = state["case_id"]
            mark = len(cmd.events)
            savepoint = await transaction.savepoint()
            try:
                loaded = restore_case(cases.get(case_id), state)
                loaded.events = list(loaded.engine_case.fire_timers(now))
                count = await apply_engine_events(
                    cmd, loaded, outgoing=outgoing, recipients=recipients
                )
            except Exception:  # one bad case must not stop the others' deadlines
                log.exception("firing timers of case %s failed", case_id)
                await savepoint.rollback_to()
                del cmd.events[mark:]
                batch.failed.append(case_id)
                continue
            await savepoint.release()
            next_due = loaded.engine_case.next_due_at()
            batch.fired.append(Fired(case_id, count, next_due is not None and next_due < now))
        return batch


async def apply_engine_events(
    cmd: Command,
    loaded: LoadedCase,
    *,
    outgoing: bool,
    recipients: RecipientCache | None = None,
) -> int:
    """Save the case, audit what the engine did, sync the task index and escalate."""
    await save(cmd, loaded)
    audit_engine_events(cmd, loaded, loaded.events)
    await sync_tasks(cmd, loaded)
    cache: RecipientCache = {} if recipients is None else recipients
    count = 0
    for event in loaded.events:
        if event.kind == "deadline_escalated":
            count += await escalate(cmd, loaded, event.data, outgoing=outgoing, recipients=cache)
    return count


async def record_escalations(cmd: Command, loaded: LoadedCase) -> int:
    """Escalations the engine reported during an officer's command (a deadline already past when
    its timer was armed: a case opened days after detection, an entry date weeks ago): recorded
    and notified in the same transaction, exactly as the worker would. Call after sync_tasks."""
    outgoing = default_sender() is not None
    count = 0
    for event in loaded.events:
        if event.kind == "deadline_escalated":
            count += await escalate(cmd, loaded, event.data, outgoing=outgoing)
    return count


async def escalate(
    cmd: Command,
    loaded: LoadedCase,
    data: dict[str, Any],
    *,
    outgoing: bool,
    recipients: RecipientCache | None = None,
) -> int:
    """Record one escalation level once; notify supervisor (1), head (2) or oversight (3).

    The unique key (task_id, plazo_id, level) makes the insert a no-op on a replay, so a level is
    recorded, notified and audited at most once whatever the sweeps do.
    """
    task_id = data.get("task_id") or f"case-{loaded.case_id}:{data.get('boundary_id')}"
    plazo_id = data["plazo_id"]
    level = int(data["level"])
    if task_id in loaded.task_authority:
        authority_id = loaded.task_authority[task_id]
    else:
        task = await Task.select(Task.authority).where(Task.task_id == task_id).first()
        authority_id = task["authority_id"] if task else None
    due_at = datetime.fromisoformat(data["due_at"])
    level_due_at = datetime.fromisoformat(data.get("level_due_at") or data["due_at"])
    inserted = (
        await DeadlineEscalation.insert(
            DeadlineEscalation(
                case=loaded.case_id,
                case_folio=loaded.folio,
                task_id=task_id,
                task_bpmn_id=data.get("task_bpmn_id"),
                plazo_id=plazo_id,
                level=level,
                authority=authority_id,
                estado=loaded.case.get("estado"),
                due_at=due_at,
                level_due_at=level_due_at,
                fired_at=cmd.now,
                legal_source=(data.get("legal_source") or "")[:500] or None,
            )
        )
        .on_conflict(
            target=(
                DeadlineEscalation.task_id,
                DeadlineEscalation.plazo_id,
                DeadlineEscalation.level,
            ),
            action="DO NOTHING",
        )
        .returning(DeadlineEscalation.id)
    )
    if not inserted:  # a replay: already escalated, never twice
        return 0
    escalation_id = inserted[0]["id"]
    cache: RecipientCache = {} if recipients is None else recipients
    if (level, authority_id) not in cache:
        cache[(level, authority_id)] = await _recipients(level, authority_id)
    users = cache[(level, authority_id)]
    kind = "deadline.breach" if level >= BREACH_LEVEL else "deadline.escalated"
    if users:
        await Notification.insert(
            *[
                Notification(
                    user=user_id,
                    kind=kind,
                    escalation=escalation_id,
                    case_folio=loaded.folio,
                    task_id=task_id,
                    task_bpmn_id=data.get("task_bpmn_id"),
                    plazo_id=plazo_id,
                    level=level,
                    due_at=due_at,
                    created_at=cmd.now,
                    read_at=None,
                )
                for user_id in users
            ]
        )
    cmd.audit(
        "deadline.breach_recorded" if level >= BREACH_LEVEL else "deadline.notified",
        case_id=loaded.case_id,
        case_folio=loaded.folio,
        task_id=task_id,
        authority_id=authority_id,
        changes={
            "deadline": plazo_id,
            "level": level,
            "escalation_id": escalation_id,
            "recipients": len(users),
        },
        legal_basis=(data.get("legal_source") or "")[:500] or None,
    )
    if outgoing:
        payload = {
            "escalation_id": escalation_id,
            "case_folio": loaded.folio,
            "task_id": task_id,
            "task_bpmn_id": data.get("task_bpmn_id"),
            "plazo_id": plazo_id,
            "level": level,
            "due_at": data["due_at"],
            "authority_id": authority_id,
            "recipients": users,
        }
        await NotificationOutbox.insert(
            NotificationOutbox(
                kind=kind,
                payload=json.dumps(payload, sort_keys=True),
                created_at=cmd.now,
                sent_at=None,
                attempts=0,
                last_error=None,
            )
        )
    return 1


async def _recipients(level: int, authority_id: int | None) -> list[int]:
    """Active users to notify: the authority's supervisors (1) or heads (2); oversight (3).

    Level 1 falls back to the heads when the authority has no supervisor, so nobody is skipped.
    """
    if level >= BREACH_LEVEL:
        rows = await User.select(User.id).where((User.role == "oversight") & (User.active.eq(True)))
        return [r["id"] for r in rows]
    if authority_id is None:  # unroutable task: nobody to tell locally, oversight learns at 3
        return []
    for role in (*LEVEL_ROLES[level], "head"):
        rows = await User.select(User.id).where(
            (User.authority == authority_id) & (User.role == role) & (User.active.eq(True))
        )
        if rows:
            return [r["id"] for r in rows]
    return []


# ----------------------------------------------------------------------------- outbox delivery
async def deliver_outbox(sender: NotificationSender, now: datetime | None = None) -> int:
    """Send pending outbox rows; mark each sent after the sender returned (at least once).

    On PostgreSQL each row is claimed with ``FOR UPDATE SKIP LOCKED`` while it is sent, so two
    workers do not send the same row; a failure increments ``attempts`` and keeps it pending.
    """
    sent = 0
    while True:
        now_ = now or utcnow()
        done = await _deliver_one(sender, now_)
        if done is None:
            return sent
        sent += done


async def _deliver_one(sender: NotificationSender, now: datetime) -> int | None:
    failed_id = None
    error = ""
    async with write_tx():
        query = (
            NotificationOutbox.select()
            .where(NotificationOutbox.sent_at.is_null() & (NotificationOutbox.attempts < 10))
            .order_by(NotificationOutbox.attempts)
            .order_by(NotificationOutbox.id)
            .limit(1)
        )
        if not is_sqlite():
            query = query.lock_rows("UPDATE", skip_locked=True, of=(NotificationOutbox,))
        rows = await query
        if not rows:
            return None
        row = rows[0]
        try:
            await sender.send(row["kind"], json.loads(row["payload"]))
        except Exception as exc:  # any failure: keep the row pending, try again later
            failed_id, error = row["id"], f"{type(exc).__name__}: {exc}"[:500]
        else:
            await NotificationOutbox.update(
                {NotificationOutbox.sent_at: now, NotificationOutbox.attempts: row["attempts"] + 1}
            ).where(NotificationOutbox.id == row["id"])
            return 1
    if failed_id is not None:
        async with write_tx():
            await NotificationOutbox.update(
                {
                    NotificationOutbox.attempts: NotificationOutbox.attempts + 1,
                    NotificationOutbox.last_error: error,
                }
            ).where(NotificationOutbox.id == failed_id)
        log.warning("outgoing notification %s failed: %s", failed_id, error)
        return None  # stop this round; the next sweep retries
    return 0
