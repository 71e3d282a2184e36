"""Erasure of blocked cases past their blocking period (issue 16, item 2).

Per batch, one transaction: the cases' data keys are destroyed (``wrapped`` = NULL: every copy of
their encrypted rows, in this database and in its backups, becomes unreadable), and their personal
rows are deleted too, so nothing lingers in plain (rows written before migration 0017 were plain):
identity and name index, consents and privacy notices, forms as submitted, notes, free text, attachment rows, the engine state
(it repeats the forms), the case's variables and task context, a placement's end reason. What is
kept: the case row (folio, state, dates, status, the non-identifying summary for statistics),
the task index without context, placements and custody records without free text, the deadline
register, and the audit trail, untouched, so ``careroute audit verify`` still passes. Attachment
files are removed after the commit (a crash in between leaves ciphertext whose key is gone).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from app.command import command
from app.db import is_sqlite
from app.principal import SYSTEM
from app.services import retention
from app.tables import Case

log = logging.getLogger("careroute.erasure")

#: (table, what is done to the case's rows), in order
_DELETES = (
    "data_consent",  # consents and privacy notices hold what was said about the child
    "privacy_notice",  # (after data_consent, which references it)
    "case_name_token",
    "case_identity",
    "task_submission",
    "case_note",
    "case_text",
    "workflow_state",
)


async def erase_due(now: datetime, size: int, cases: list[int] | None = None) -> int:
    """Erase up to ``size`` blocked cases past ``erase_at`` and not on hold; audited per case."""
    from app.services.case_files import blob_path

    files: list[Path] = []
    async with command(SYSTEM, now) as cmd:
        lock = "" if is_sqlite() else " FOR UPDATE OF c SKIP LOCKED"
        rows = await Case.raw(
            "SELECT c.id, c.folio FROM nna_case c JOIN case_retention r ON r.case_id = c.id"  # noqa: S608
            " WHERE c.retention = 'blocked' AND r.erased_at IS NULL AND r.erase_at <= {}"
            f" AND {retention.NOT_HELD}{retention.only(cases)[0]}"
            f" ORDER BY r.erase_at, c.id LIMIT {{}}{lock}",
            now,
            *retention.only(cases)[1],
            size,
        )
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        marks = ", ".join("{}" for _ in ids)
        counts: dict[int, dict[str, int]] = {i: {} for i in ids}
        await Case.raw(
            f"UPDATE case_data_key SET wrapped = NULL, destroyed_at = {{}} WHERE case_id IN ({marks})",  # noqa: S608
            now,
            *ids,
        )
        attachments = await Case.raw(
            f"DELETE FROM case_attachment WHERE case_id IN ({marks}) RETURNING case_id, sha256",  # noqa: S608
            *ids,
        )
        for a in attachments:
            counts[a["case_id"]]["case_attachment"] = (
                counts[a["case_id"]].get("case_attachment", 0) + 1
            )
            files.append(blob_path(a["sha256"], a["case_id"]))
        for table in _DELETES:
            deleted = await Case.raw(
                f"DELETE FROM {table} WHERE case_id IN ({marks}) RETURNING case_id",  # noqa: S608
                *ids,
            )
            for d in deleted:
                counts[d["case_id"]][table] = counts[d["case_id"]].get(table, 0) + 1
        await Case.raw(
            f"UPDATE task SET context = {{}} WHERE case_id IN ({marks})",  # noqa: S608
            "{}",
            *ids,
        )
        await Case.raw(
            "UPDATE placement SET end_reason = NULL"  # noqa: S608
            f" WHERE case_id IN ({marks}) AND end_reason IS NOT NULL",
            *ids,
        )
        await Case.raw(
            f"UPDATE nna_case SET retention = 'erased', variables = {{}} WHERE id IN ({marks})",  # noqa: S608
            "{}",
            *ids,
        )
        await Case.raw(
            f"UPDATE case_retention SET erased_at = {{}} WHERE case_id IN ({marks})",  # noqa: S608
            now,
            *ids,
        )
        for r in rows:
            cmd.audit(
                "case.erased",
                case_id=r["id"],
                case_folio=r["folio"],
                # what was erased (row counts per table), never what it said
                changes={"data_key": "destroyed", "rows": dict(sorted(counts[r["id"]].items()))},
                legal_basis="LGPDPPSO 2025: supresión tras el bloqueo [U]",
            )
    for path in files:  # after the commit: a rolled-back erasure keeps its files
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not remove the erased file %s", path)
    return len(rows)
