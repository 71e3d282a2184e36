"""Signed checkpoints of the audit chain: tamper evidence against whoever can write the database.

The hash chain (app/audit.py) catches a row changed by someone who does not recompute the hashes
after it. Someone who can write the database can: change an event and recompute every later hash
(``verify`` then says OK), or delete the last events (what remains still chains). A checkpoint
states "the chain had N events, the last one id I with hash H" at an instant, signed with an
Ed25519 key kept outside the database (app/keys.py). Against a checkpoint, a rewritten event up
to it changes the hash at its position, and a deleted tail leaves the chain shorter than signed:
``careroute audit verify --checkpoint FILE`` reports both.

- The deadline worker writes one every ``CAREROUTE_CHECKPOINT_INTERVAL`` seconds (default 3600;
  0: never) when the chain grew (``maybe_write``); ``careroute audit checkpoint export FILE``
  writes one of the current head and exports them all; oversight also reads them at
  ``GET /api/v1/audit/checkpoints``. What protects is a copy *outside* the database: the rows
  here can be deleted by the same writer (they are append-only like the trail, and the runtime
  database role cannot delete them: ``careroute db roles``), never forged.
- Not protected: events after the last checkpoint oversight holds (the chain alone covers them),
  and anything signed by someone who has the signing key (the server host): a checkpoint is
  evidence about the database, not about the host that signs.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app import audit, keys
from app.audit import Checkpoint, VerifyResult, canonical_json, utc_iso
from app.clock import utcnow
from app.db import insert_rows
from app.errors import Forbidden
from app.principal import Principal
from app.tables import AuditCheckpoint, AuditEvent

log = logging.getLogger("careroute.checkpoints")

FORMAT = "careroute-audit-checkpoints/1"
INTERVAL_ENV = "CAREROUTE_CHECKPOINT_INTERVAL"
DEFAULT_INTERVAL_S = 3600.0


class CheckpointFileError(Exception):
    """A checkpoint file that cannot be used (unreadable, another format, a key that is not
    the trusted one, a bad signature): verification fails, naming why."""


@dataclass(frozen=True)
class Signed:
    at: datetime
    event_id: int
    event_count: int
    head_hash: str
    key_id: str
    signature: str

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.at, self.event_id, self.event_count, self.head_hash)

    def material(self) -> bytes:
        """The bytes signed: canonical JSON of what the checkpoint states."""
        return canonical_json(
            {
                "format": FORMAT,
                "at": utc_iso(self.at),
                "event_id": self.event_id,
                "event_count": self.event_count,
                "head_hash": self.head_hash,
            }
        ).encode()

    def verifies(self, public: Ed25519PublicKey) -> bool:
        try:
            public.verify(base64.b64decode(self.signature), self.material())
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"at": utc_iso(self.at)}


def interval() -> float:
    """Seconds between the worker's checkpoints (``CAREROUTE_CHECKPOINT_INTERVAL``; 0: never)."""
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


async def _head() -> tuple[int, int, str] | None:
    """(last event id, number of events, its hash), read in one statement (one snapshot)."""
    rows = await AuditEvent.raw(
        "SELECT id, hash, (SELECT COUNT(*) FROM audit_event) AS n "
        "FROM audit_event ORDER BY id DESC LIMIT 1"
    )
    if not rows:
        return None
    return rows[0]["id"], rows[0]["n"], rows[0]["hash"]


async def latest() -> Signed | None:
    row = (
        await AuditCheckpoint.select()
        .order_by(AuditCheckpoint.id, ascending=False)
        .limit(1)
        .first()
    )
    return _signed(row) if row else None


def _signed(row: dict[str, Any]) -> Signed:
    return Signed(
        row["at"],
        row["event_id"],
        row["event_count"],
        row["head_hash"],
        row["key_id"],
        row["signature"],
    )


async def write(now: datetime | None = None) -> Signed | None:
    """Sign and store a checkpoint of the current head (None: the trail is empty, or the
    latest checkpoint already covers this head)."""
    head = await _head()
    if head is None:
        return None
    previous = await latest()
    if previous is not None and (previous.event_id, previous.head_hash) == (head[0], head[2]):
        return None
    at = now or utcnow()
    unsigned = Signed(at, head[0], head[1], head[2], keys.public_key_id(), "")
    signature = base64.b64encode(keys.signing_key().sign(unsigned.material())).decode()
    signed = Signed(at, head[0], head[1], head[2], unsigned.key_id, signature)
    columns = ("at", "event_id", "event_count", "head_hash", "key_id", "signature")
    await insert_rows("audit_checkpoint", columns, [tuple(getattr(signed, c) for c in columns)])
    return signed


async def maybe_write(now: datetime | None = None) -> Signed | None:
    """The worker's periodic checkpoint: when the interval has passed since the latest one and
    the chain grew. Never raises: a failed checkpoint is logged and tried next time."""
    seconds = interval()
    if not seconds:
        return None
    now = now or utcnow()
    try:
        previous = await latest()
        if previous is not None and now - previous.at < timedelta(seconds=seconds):
            return None
        return await write(now)
    except Exception:
        log.exception("writing a checkpoint of the audit chain failed")
        return None


async def stored() -> list[Signed]:
    rows = await AuditCheckpoint.select().order_by(AuditCheckpoint.id)
    return [_signed(r) for r in rows]


def document(checkpoints: list[Signed], now: datetime | None = None) -> dict[str, Any]:
    """The export: the checkpoints and the public key they verify with. Whoever checks them
    must trust the key from elsewhere (``careroute keys public`` on the server), never from
    the file alone."""
    return {
        "format": FORMAT,
        "exported_at": utc_iso(now or utcnow()),
        "key_id": keys.public_key_id(),
        "public_key": keys.public_key_text(),
        "checkpoints": [c.as_json() for c in checkpoints],
    }


async def export(path: Path) -> dict[str, Any]:
    """Sign a checkpoint of the current head, then write every checkpoint to ``path``."""
    await write()
    doc = document(await stored())
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


async def for_oversight(principal: Principal) -> dict[str, Any]:
    if not (principal.is_oversight or principal.is_admin):
        raise Forbidden("the audit trail is for oversight bodies")
    return document(await stored())


def load(path: Path, public: Ed25519PublicKey) -> list[Signed]:
    """The checkpoints of an exported file, each checked against ``public`` (the trusted key)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT:
            raise CheckpointFileError(f"{path} is not a careroute checkpoint file ({FORMAT})")
        items = [
            Signed(
                datetime.fromisoformat(c["at"].replace("Z", "+00:00")),
                int(c["event_id"]),
                int(c["event_count"]),
                str(c["head_hash"]),
                str(c["key_id"]),
                str(c["signature"]),
            )
            for c in doc["checkpoints"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CheckpointFileError(f"cannot read the checkpoint file {path}: {exc}") from exc
    if doc.get("public_key") != keys.public_key_text(public):
        raise CheckpointFileError(
            f"{path} was signed with key {doc.get('key_id')}, not the trusted key "
            f"{keys.public_key_id(public)}"
        )
    for item in items:
        if not item.verifies(public):
            raise CheckpointFileError(
                f"the checkpoint of {utc_iso(item.at)} (event {item.event_count}) in {path} "
                "does not verify with the trusted key: it was altered or forged"
            )
    return items


async def verify(
    path: Path | None = None, public: Ed25519PublicKey | None = None
) -> tuple[VerifyResult, int]:
    """The chain, checked against the checkpoints of ``path`` (exported: the strong check), or
    else against those stored in the database whose signature verifies. Returns the result and
    the number of stored checkpoints ignored because their signature failed (forged rows)."""
    public = public or keys.signing_key().public_key()
    if path is not None:
        return await audit.verify([c.checkpoint for c in load(path, public)]), 0
    good, forged = [], 0
    for item in await stored():
        if item.verifies(public):
            good.append(item.checkpoint)
        else:
            forged += 1
    result = await audit.verify(good)
    if result.ok and forged:
        result.ok = False
        result.reason = (
            f"{forged} stored checkpoint(s) do not verify with the signing key: "
            "rows of audit_checkpoint were forged or altered"
        )
    return result, forged
