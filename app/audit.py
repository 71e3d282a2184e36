"""The audit trail: append-only, SHA-256 hash-chained events, written inside each command.

Each event's hash covers a canonical encoding of every column (UTF-8 JSON, sorted keys, no
whitespace, UTC time with microseconds) plus the previous event's hash, so changing, deleting,
inserting or reordering a row breaks verification from that row on. Events are appended at the end
of the command's transaction: on PostgreSQL a transaction-scoped advisory lock serialises the read
of the chain head (two transactions must not chain onto the same head); on SQLite the process
write lock plus BEGIN IMMEDIATE already does.

What goes into ``changes`` is the caller's job (app/services): actions, enums, ids and field
names; never names, documents or free text, which can identify a child (and cannot be erased
from an append-only trail). Form data and free text appear only as field names plus a keyed
digest (``keyed_digest``, ``text_digests``): HMAC-SHA256 with a key kept outside the database
(app/keys.py), so whoever holds the key can confirm what was submitted, and nobody else can
recover it by guessing, however few the possible values (an unkeyed SHA-256 of a needs-screening
form was reversed in under a second). The text itself lives in the case record
(app/cases/texts.py), where it can be erased.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app import keys
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


def keyed_digest(value: Any) -> str:
    """HMAC-SHA256 of a value's canonical JSON with the audit key (app/keys.py)."""
    return keys.hmac_key().digest(canonical_json(value).encode())


def form_digest(form: dict[str, Any]) -> dict[str, Any]:
    """What an event says about submitted form data: its field names and a keyed digest."""
    return {
        "form_fields": sorted(form),
        "form_hmac": keyed_digest(form),
        "hmac_key": keys.hmac_key().key_id,
    }


def text_digests(**texts: str) -> dict[str, Any]:
    """What an event says about free text: the field names and a keyed digest of each."""
    return {
        "texts": {name: keyed_digest(text) for name, text in texts.items()},
        "hmac_key": keys.hmac_key().key_id,
    }


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


@dataclass(frozen=True)
class Checkpoint:
    """What a signed checkpoint states about the chain (app/services/checkpoints.py): it had
    ``event_count`` events, the last one ``event_id`` with hash ``head_hash``."""

    at: datetime
    event_id: int
    event_count: int
    head_hash: str


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_hash: str
    first_bad_id: int | None = None
    reason: str | None = None
    #: checkpoints the chain was compared with and matched
    checkpoints: int = 0


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


async def verify(checkpoints: Iterable[Checkpoint] = ()) -> VerifyResult:
    """Recompute the chain; report the first event whose link or content does not match.

    With ``checkpoints`` (already known to be authentic: app/services/checkpoints.py), the
    chain must also pass through each of them: the event at each checkpoint's position has its
    id and hash, and the chain is at least that long. This detects what the chain alone cannot:
    a history rewritten with every later hash recomputed, and a deleted tail."""
    pending = sorted(checkpoints, key=lambda c: c.event_count)
    matched = 0
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
                matched,
            )
        if event_hash(row) != row["hash"]:
            return VerifyResult(
                False,
                checked,
                prev,
                row["id"],
                "content does not match its hash (row altered)",
                matched,
            )
        prev = row["hash"]
        checked += 1
        while matched < len(pending) and pending[matched].event_count <= checked:
            cp = pending[matched]
            if cp.event_count != checked or cp.event_id != row["id"] or cp.head_hash != prev:
                return VerifyResult(
                    False,
                    checked,
                    prev,
                    row["id"],
                    f"event {checked} of the chain (id {row['id']}) is not the one the checkpoint "
                    f"of {utc_iso(cp.at)} signed (id {cp.event_id}): the history up to it was "
                    "rewritten (events changed, inserted or deleted, later hashes recomputed)",
                    matched,
                )
            matched += 1
    if matched < len(pending):
        cp = pending[-1]
        return VerifyResult(
            False,
            checked,
            prev,
            cp.event_id,
            f"the chain has {checked} events, but the checkpoint of {utc_iso(cp.at)} signed "
            f"{cp.event_count} (up to id {cp.event_id}): events were deleted from its end",
            matched,
        )
    return VerifyResult(True, checked, prev, checkpoints=matched)
