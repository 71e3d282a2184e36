"""Oversight access to the audit trail: filtered pages, CSV / JSON Lines export, verification.

The trail contains no identity data, but exports are still audited (who took a copy, with which
filters), because they describe children's cases.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from app import audit
from app.audit import utc_iso
from app.command import command
from app.errors import Forbidden, field_error
from app.principal import Principal
from app.services import checkpoints
from app.services.cases import BIGINT_MAX, cursor_id, decode_cursor, encode_cursor
from app.tables import AuditEvent

EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_authority_id",
    "actor_authority_code",
    "action",
    "case_id",
    "case_folio",
    "task_id",
    "authority_id",
    "changes",
    "legal_basis",
    "prev_hash",
    "hash",
)


@dataclass
class AuditFilter:
    case: str | None = None  # folio
    actor: str | None = None  # username
    authority: str | None = None  # actor's authority code
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "task.")
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> Any:
        where = AuditEvent.id > 0
        if self.case:
            where &= AuditEvent.case_folio == self.case
        if self.actor:
            where &= AuditEvent.actor_username == self.actor
        if self.authority:
            where &= AuditEvent.actor_authority_code == self.authority
        if self.action:
            if self.action.endswith("."):
                where &= AuditEvent.action.like(self.action + "%")
            else:
                where &= AuditEvent.action == self.action
        if self.since:
            where &= AuditEvent.at >= self.since
        if self.until:
            where &= AuditEvent.at < self.until
        return where


def require_reader(principal: Principal) -> None:
    if not (principal.is_oversight or principal.is_admin):
        raise Forbidden("the audit trail is for oversight bodies")


def _out(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["at"] = utc_iso(row["at"])
    row["changes"] = json.loads(row["changes"] or "{}")
    return row


async def page(
    principal: Principal, flt: AuditFilter, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Newest first."""
    require_reader(principal)
    where = flt.where()
    if cursor:
        (last,) = decode_cursor(cursor, 1)
        where &= AuditEvent.id < cursor_id(last, BIGINT_MAX)
    rows = (
        await AuditEvent.select()
        .where(where)
        .order_by(AuditEvent.id, ascending=False)
        .limit(limit + 1)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_out(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1]["id"]) if more and rows else None,
    }


async def start_export(principal: Principal, flt: AuditFilter, fmt: str) -> None:
    require_reader(principal)
    if fmt not in ("csv", "jsonl"):
        raise field_error("$.format", "csv or jsonl")
    filters = {k: (utc_iso(v) if isinstance(v, datetime) else v) for k, v in asdict(flt).items()}
    async with command(principal.actor) as cmd:
        cmd.audit("audit.exported", changes={"format": fmt, "filters": filters})


async def export_rows(flt: AuditFilter, fmt: str, batch: int = 2000) -> AsyncIterator[bytes]:
    """Oldest first, streamed in keyset batches so an export never sits whole in memory."""
    where = flt.where()
    last = 0
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # a byte-order mark: spreadsheet programs then read the accents
        csv.writer(buf).writerow(EXPORT_COLUMNS)
        yield buf.getvalue().encode()
    while True:
        rows = (
            await AuditEvent.select()
            .where(where & (AuditEvent.id > last))
            .order_by(AuditEvent.id)
            .limit(batch)
        )
        if not rows:
            return
        last = rows[-1]["id"]
        buf = io.StringIO()
        if fmt == "csv":
            writer = csv.writer(buf)
            for row in rows:
                row["at"] = utc_iso(row["at"])
                writer.writerow([row[c] for c in EXPORT_COLUMNS])
        else:
            for row in rows:
                buf.write(audit.canonical_json(_out(row)) + "\n")
        yield buf.getvalue().encode()


async def verify(principal: Principal) -> dict[str, Any]:
    """The chain, and the stored checkpoints whose signature verifies (app/services/checkpoints.py:
    the strong check is against an exported copy, with the CLI)."""
    require_reader(principal)
    result, _ = await checkpoints.verify()
    return asdict(result)
