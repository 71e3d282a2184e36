"""The audit trail: append-only, SHA-256 hash-chained events, written inside each command.

Each event's hash covers a canonical encoding of every column (UTF-8 JSON, sorted keys, no
whitespace, UTC time with microseconds) plus the previous event's hash, so changing, deleting,
inserting or reordering a row breaks verification from that row on. Events are appended at the end
of the command's transaction: on PostgreSQL a transaction-scoped advisory lock serialises the read
of the chain head (two transactions must not chain onto the same head); on SQLite the process
write lock plus BEGIN IMMEDIATE already does.

What goes into ``changes`` is the caller's job (app/services): never names or documents, and form
data only as field names plus one digest, because free-text fields can identify a child.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.db import engine, insert_rows
from app.principal import Actor
from app.tables import AuditEvent

GENESIS_HASH = "0" * 64
#: Key of the PostgreSQL advisory lock that serialises appends to the chain.
_CHAIN_LOCK_KEY = (
    0x43415245  # "CARE" (= 1128354373, taken by careroute_audit_head(), migration 0004)
)
CANONICAL_VERSION = 1


def canonical_json(value: Any) -> str:
    """The one JSON encoding used for hashing: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest_of(value: Any) -> str:
    """SHA-256 of a value's canonical JSON (used for form data kept out of the trail)."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def utc_iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class PendingEvent:
    """An event a command has decided to record; hashed and inserted at commit time."""

    actor: Actor
    action: str
    at: datetime
    case_id: int | None = None
    case_folio: str | None = None
    task_id: str | None = None
    authority_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    legal_basis: str | None = None


def _material(row: dict[str, Any]) -> bytes:
    doc = {
        "v": CANONICAL_VERSION,
        "at": utc_iso(row["at"]),
        "actor_user_id": row["actor_user_id"],
        "actor_username": row["actor_username"],
        "actor_role": row["actor_role"],
        "actor_authority_id": row["actor_authority_id"],
        "actor_authority_code": row["actor_authority_code"],
        "action": row["action"],
        "case_id": row["case_id"],
        "case_folio": row["case_folio"],
        "task_id": row["task_id"],
        "authority_id": row["authority_id"],
        "changes": row["changes"],
        "legal_basis": row["legal_basis"],
        "prev_hash": row["prev_hash"],
    }
    return canonical_json(doc).encode()


def event_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(_material(row)).hexdigest()


_COLUMNS = (
    "at", "actor_user_id", "actor_username", "actor_role", "actor_authority_id",
    "actor_authority_code", "action", "case_id", "case_folio", "task_id", "authority_id",
    "changes", "legal_basis", "prev_hash", "hash",
)  # fmt: skip


def _row(event: PendingEvent, prev_hash: str) -> dict[str, Any]:
    row = {
        # Microsecond precision is what both engines store, so the hash survives a round trip.
        "at": event.at.astimezone(UTC),
        "actor_user_id": event.actor.user_id,
        "actor_username": event.actor.username,
        "actor_role": event.actor.role,
        "actor_authority_id": event.actor.authority_id,
        "actor_authority_code": event.actor.authority_code,
        "action": event.action,
        "case_id": event.case_id,
        "case_folio": event.case_folio,
        "task_id": event.task_id,
        "authority_id": event.authority_id,
        "changes": canonical_json(event.changes),
        "legal_basis": event.legal_basis,
        "prev_hash": prev_hash,
    }
    row["hash"] = event_hash(row)
    return row


async def append(events: Iterable[PendingEvent]) -> list[str]:
    """Chain and insert ``events``; must run inside the command's write transaction."""
    events = list(events)
    if not events:
        return []
    prev = await _locked_head()
    rows = []
    for event in events:
        row = _row(event, prev)
        rows.append(tuple(row[c] for c in _COLUMNS))
        prev = row["hash"]
    await insert_rows("audit_event", _COLUMNS, rows)
    return [r[-1] for r in rows]


async def _locked_head() -> str:
    """The chain head, read after taking the chain lock. PostgreSQL: one call of
    ``careroute_audit_head()`` (migration 0004) takes the advisory lock and reads the head with a
    fresh snapshot. SQLite: BEGIN IMMEDIATE already made this transaction the only writer."""
    if engine().engine_type != "sqlite":
        rows = await AuditEvent.raw("SELECT careroute_audit_head() AS hash")
        return rows[0]["hash"] or GENESIS_HASH
    head = (
        await AuditEvent.select(AuditEvent.hash)
        .order_by(AuditEvent.id, ascending=False)
        .limit(1)
        .first()
    )
    return head["hash"] if head else GENESIS_HASH


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_hash: str
    first_bad_id: int | None = None
    reason: str | None = None


async def iter_events(batch: int = 2000) -> AsyncIterator[dict[str, Any]]:
    """Every event in chain order, fetched in keyset batches."""
    last_id = 0
    while True:
        rows = (
            await AuditEvent.select()
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        if not rows:
            return
        for row in rows:
            yield row
        last_id = rows[-1]["id"]


async def verify() -> VerifyResult:
    """Recompute the chain; report the first event whose link or content does not match."""
    prev = GENESIS_HASH
    checked = 0
    async for row in iter_events():
        if row["prev_hash"] != prev:
            return VerifyResult(
                False,
                checked,
                prev,
                row["id"],
                "prev_hash does not match the previous event's hash "
                "(an event was deleted, inserted or reordered before this one)",
            )
        if event_hash(row) != row["hash"]:
            return VerifyResult(
                False, checked, prev, row["id"], "content does not match its hash (row altered)"
            )
        prev = row["hash"]
        checked += 1
    return VerifyResult(True, checked, prev)
