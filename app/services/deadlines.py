"""The deadline worker: fire due timers, escalate, notify, and deliver outgoing notifications.

How a sweep works (docs/deadlines.md):

- Cases are fired in batches, one write transaction per batch (``command``). The transaction
  first *claims* up to ``CAREROUTE_SWEEP_BATCH`` due cases (default 20): ``SELECT case_id, state,
  version FROM workflow_state WHERE next_due_at < now ORDER BY next_due_at LIMIT n`` — on
  PostgreSQL ``FOR UPDATE SKIP LOCKED``, so concurrent workers never claim the same case and
  never wait for each other; on SQLite the process write lock plus ``BEGIN IMMEDIATE`` serialise
  everything (run one worker). Each case then runs in its own savepoint: the engine fires its
  timers with ``now``; its new state (and ``next_due_at``), task index rows, escalation rows,
  in-app notifications and outbox rows are written (one statement per kind for the whole batch,
  app/cases/writes.py), and its audit events are chained at commit.
  A case that fails rolls back to its savepoint alone. A worker killed mid-sweep loses only the
  batch in flight, which rolls back whole: those cases are still due and the next sweep fires
  them.
- Escalation rows are unique by (task_id, plazo_id, level), so even a replay cannot escalate twice.
- Each case goes through the same command path as an officer's command (app/cases): the engine
  fires, then the handlers save it, sync its task index, record and notify escalations, audit.
- Then the worker recomputes, in batches, the open cases of a suspension of terms added since
  (app/services/suspensions.py), and delivers the outbox (app/outbox.py): each
  outgoing notification is sent outside any transaction, so a slow webhook holds no lock.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import outbox
from app.cases import repository
from app.cases.unit_of_work import CaseSession
from app.cases.writes import CaseWrites
from app.clock import utcnow
from app.command import command
from app.db import engine
from app.outbox import FakeSender, NotificationSender  # noqa: F401  (re-exported)
from app.principal import SYSTEM
from app.services import arco, calendars, suspensions

log = logging.getLogger("careroute.deadlines")

_DEFAULT = object()


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
    recomputed: int = 0
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
    case), recompute the cases of new suspensions of terms, then deliver the outbox.

    ``limit`` bounds the number of cases fired (None: until nothing is due). A case whose firing
    fails is rolled back to its savepoint, logged and skipped for the rest of this sweep (it stays
    due, so the next sweep retries it); the other cases of its batch commit. ``sender``: who
    delivers outgoing notifications (default: the configured webhook, if any).
    """
    now = now or utcnow()
    out_sender = outbox.default_sender() if sender is _DEFAULT else sender
    size = batch_size or _batch_size()
    recipients: RecipientCache = {}
    result = SweepResult()
    with outbox.forced(sender is not _DEFAULT and sender is not None):
        while limit is None or result.cases < limit:
            take = size if limit is None else min(size, limit - result.cases)
            batch = await fire_batch(
                now, size=take, exclude=result.failed + result.stuck, recipients=recipients
            )
            if batch is None:
                break
            result.failed += batch.failed
            for fired in batch.fired:
                result.cases += 1
                result.escalations += fired.escalations
                if fired.still_due:  # the engine fired nothing more: do not spin on it
                    result.stuck.append(fired.case_id)
        # ARCO requests past their legal deadline escalate on the same sweep (app/services/arco.py)
        result.escalations += await arco.escalate_overdue(now)
        result.recomputed = await suspensions.recompute_pending(now, size)
        result.recomputed += await calendars.recompute_pending(now, size)
    if out_sender is not None:
        result.delivered = await outbox.deliver(out_sender, now)
    try:  # a year without an authority's declared days: logged, never flooding (calendars.py)
        await calendars.log_warnings(now)
    except Exception:  # a warning must never stop the worker
        log.exception("checking the calendars' declared days failed")
    return result


class _CaseFailed(Exception):
    """A case failed in a batch fired without savepoints: the batch rolls back and is fired
    again, case by case."""


async def fire_batch(
    now: datetime, *, size: int, exclude: list[int], recipients: RecipientCache
) -> Batch | None:
    """Claim up to ``size`` due cases and fire them in one write transaction; None if none is due.

    The claim locks the cases' states with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so another
    worker claims other cases and never waits. A batch first runs without savepoints (two
    statements fewer per case); if any case fails, the whole batch rolls back and runs again
    with a savepoint per case, so the failing case rolls back alone and its audit events are
    dropped, while the others commit with their state, task index and audit events.
    """
    try:
        return await _fire(now, size, exclude, recipients, savepoints=False)
    except _CaseFailed:
        return await _fire(now, size, exclude, recipients, savepoints=True)


async def _fire(
    now: datetime,
    size: int,
    exclude: list[int],
    recipients: RecipientCache,
    *,
    savepoints: bool,
) -> Batch | None:
    async with command(SYSTEM, now) as cmd:
        rows = await repository.claim_due(now, size, exclude)
        if not rows:
            return None
        transaction = engine().current_transaction.get()
        batch = Batch()
        # Without savepoints the cases' rows are written together at the end of the batch (one
        # statement per kind); with them, each case writes its own inside its savepoint.
        writes = CaseWrites()
        fired: list[tuple[int, bool]] = []
        for row in rows:
            case_id = row["case_id"]
            mark = len(cmd.events)
            savepoint = await transaction.savepoint() if savepoints else None
            try:
                case = await repository.aggregate_from(row)
                session = CaseSession(
                    cmd,
                    case,
                    results={"recipient_cache": recipients},
                    writes=writes,
                    own_writes=savepoints,
                )
                case.fire_timers(now)
                await session.commit()
            except Exception as exc:  # one bad case must not stop the others' deadlines
                if savepoint is None:
                    raise _CaseFailed(case_id) from exc
                log.exception("firing timers of case %s failed", case_id)
                await savepoint.rollback_to()
                del cmd.events[mark:]
                writes = CaseWrites(recorded=writes.recorded)
                batch.failed.append(case_id)
                continue
            if savepoint is not None:
                await savepoint.release()
            next_due = case.engine.next_due_at()
            fired.append((case_id, next_due is not None and next_due < now))
        if not savepoints:
            try:
                await writes.flush(cmd.events)
            except Exception as exc:
                raise _CaseFailed(None) from exc
        batch.fired = [Fired(cid, writes.recorded.get(cid, 0), due) for cid, due in fired]
        return batch
