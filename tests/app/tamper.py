"""What someone who can write the database does to the audit trail, for tests (issue 15, item 6):
switch the append-only guard off, rewrite an event and recompute every later hash, delete a
middle event and re-chain the rest, delete the tail. Always inside a transaction that is rolled
back, so the suite's shared database keeps its real history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app import audit, db
from app.tables import AuditCheckpoint, AuditEvent


class _Rollback(Exception):
    pass


@asynccontextmanager
async def tampering(commit: bool = False) -> AsyncIterator[None]:
    """A write transaction with the guards of the trail and its checkpoints off; rolled back at
    the end whatever happens, unless ``commit`` (a throwaway copy of a database)."""
    try:
        async with db.write_tx():
            for table in ("audit_event", "audit_checkpoint"):
                if db.is_sqlite():
                    await db.engine().run_ddl(f"DROP TRIGGER {table}_no_update")
                    await db.engine().run_ddl(f"DROP TRIGGER {table}_no_delete")
                else:  # what the table owner may do without being superuser
                    await db.engine().run_ddl(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield
            if not commit:
                raise _Rollback
    except _Rollback:
        pass


async def forget_checkpoints() -> None:
    """Delete the checkpoints stored in the database (they would give the attack away)."""
    await AuditCheckpoint.delete(force=True)


async def _rechain(from_id: int, edit: dict[int, dict[str, Any]] | None = None) -> int:
    """Recompute ``prev_hash`` and ``hash`` of every event from ``from_id`` on (applying
    ``edit``: column values per event id first), as an attacker would; returns rows rewritten."""
    before = (
        await AuditEvent.select(AuditEvent.hash)
        .where(AuditEvent.id < from_id)
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    prev = before["hash"] if before else audit.GENESIS_HASH
    rows = await AuditEvent.select().where(AuditEvent.id >= from_id).order_by(AuditEvent.id)
    for row in rows:
        row.update((edit or {}).get(row["id"], {}))
        row["prev_hash"] = prev
        new = audit.event_hash(row)
        await AuditEvent.update(
            {AuditEvent.prev_hash: prev, AuditEvent.hash: new, AuditEvent.changes: row["changes"]}
        ).where(AuditEvent.id == row["id"])
        prev = new
    return len(rows)


async def rewrite(event_id: int, recompute: bool = True) -> None:
    """Change what event ``event_id`` says (its ``changes``), then recompute the later hashes."""
    row = await AuditEvent.select(AuditEvent.changes).where(AuditEvent.id == event_id).first()
    changes = json.loads(row["changes"]) | {"rewritten": True}
    new = audit.canonical_json(changes)
    if recompute:
        await _rechain(event_id, {event_id: {"changes": new}})
    else:
        await AuditEvent.update({AuditEvent.changes: new}).where(AuditEvent.id == event_id)


async def delete_one(event_id: int) -> None:
    """Delete one event and re-chain the ones after it."""
    await AuditEvent.delete().where(AuditEvent.id == event_id)
    after = (
        await AuditEvent.select(AuditEvent.id)
        .where(AuditEvent.id > event_id)
        .order_by(AuditEvent.id)
        .first()
    )
    if after:
        await _rechain(after["id"])


async def truncate(from_id: int) -> None:
    """Delete every event from ``from_id`` on: what remains still chains."""
    await AuditEvent.delete().where(AuditEvent.id >= from_id)
