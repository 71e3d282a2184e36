"""Outgoing notifications (webhook): written with the command, delivered after commit.

A command writes an outbox row in its own transaction (``queue``), so a notification exists if
and only if the escalation it announces committed. The worker delivers rows later: each row is
*claimed* in a short transaction (a lease, ``lease_until``), sent with no transaction and no lock
held, then marked sent in another short transaction. A slow or hanging webhook therefore never
holds the database's write lock (on SQLite, every writer would wait behind it). A row is marked
sent only after the sender returned: delivery is at least once, never lost on a crash; a crashed
deliverer's lease expires and another one sends the row again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from app.clock import utcnow
from app.db import is_sqlite, write_tx
from app.tables import NotificationOutbox

log = logging.getLogger("careroute.outbox")

#: How long a claimed row stays with its deliverer before another one may send it.
LEASE = timedelta(seconds=60)
#: After this many failed attempts a row is left for an operator (``last_error`` says why).
MAX_ATTEMPTS = 10


class NotificationSender(Protocol):
    """Delivers one outgoing notification; raises on failure (the row is retried later)."""

    async def send(self, kind: str, payload: dict[str, Any]) -> None: ...


@dataclass
class FakeSender:
    """Test sender: records what it was asked to send; ``fail`` makes every send raise;
    ``delay`` makes each send take that long (a slow webhook)."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False
    delay: float = 0.0

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
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


def webhook_url() -> str:
    return os.environ.get("CAREROUTE_WEBHOOK_URL", "").strip()


#: Set by a worker given an explicit sender (tests, tools): write rows even with no webhook.
_forced: ContextVar[bool] = ContextVar("careroute_outbox_forced", default=False)


def enabled() -> bool:
    """Outbox rows are written only when something will deliver them (a webhook is set, or the
    running worker was given a sender)."""
    return _forced.get() or bool(webhook_url())


@contextmanager
def forced(on: bool) -> Iterator[None]:
    token = _forced.set(on)
    try:
        yield
    finally:
        _forced.reset(token)


def default_sender() -> NotificationSender | None:
    url = webhook_url()
    return WebhookSender(url) if url else None


async def queue(kind: str, payload_json: str, now: datetime) -> None:
    """Add a row inside the running command's transaction."""
    await NotificationOutbox.insert(
        NotificationOutbox(
            kind=kind,
            payload=payload_json,
            created_at=now,
            sent_at=None,
            attempts=0,
            last_error=None,
            lease_until=None,
        )
    )


async def deliver(sender: NotificationSender, now: datetime | None = None) -> int:
    """Send pending rows one by one until none is left or one fails; returns how many were
    sent. Each send runs outside any transaction."""
    import json

    sent = 0
    while True:
        at = now or utcnow()
        row = await _claim(at)
        if row is None:
            return sent
        try:
            await sender.send(row["kind"], json.loads(row["payload"]))
        except Exception as exc:  # any failure: keep the row pending, try again later
            error = f"{type(exc).__name__}: {exc}"[:500]
            async with write_tx():
                await NotificationOutbox.update(
                    {NotificationOutbox.last_error: error, NotificationOutbox.lease_until: None}
                ).where(NotificationOutbox.id == row["id"])
            log.warning("outgoing notification %s failed: %s", row["id"], error)
            return sent  # stop this round; the next sweep retries
        async with write_tx():
            await NotificationOutbox.update(
                {NotificationOutbox.sent_at: now or utcnow(), NotificationOutbox.lease_until: None}
            ).where(NotificationOutbox.id == row["id"])
        sent += 1


async def _claim(now: datetime) -> dict[str, Any] | None:
    """Lease the oldest pending row (PostgreSQL: rows another deliverer is claiming are
    skipped); the attempt is counted when it is claimed."""
    async with write_tx():
        query = (
            NotificationOutbox.select()
            .where(
                NotificationOutbox.sent_at.is_null()
                & (NotificationOutbox.attempts < MAX_ATTEMPTS)
                & (
                    NotificationOutbox.lease_until.is_null()
                    | (NotificationOutbox.lease_until < now)
                )
            )
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
        await NotificationOutbox.update(
            {
                NotificationOutbox.lease_until: now + LEASE,
                NotificationOutbox.attempts: row["attempts"] + 1,
            }
        ).where(NotificationOutbox.id == row["id"])
        return row
