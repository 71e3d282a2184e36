"""Free text about a child's case, kept in the case record instead of the audit trail.

The audit trail is permanent and append-only; what a person types about a child (a relocation
reason: where the child went and why, names, a phone number) must be erasable with the case
(issue 16). So a command that takes such text stores it here, in ``case_text`` (owned by the
case), and its audit event carries only the field names and keyed digests (app/audit.py
``text_digests``). The text is encrypted with the case's data key (app/services/personal_data.py). Text that already has a home in the case record (a placement's end reason, a
custody record's station name) stays there; its event gets the digests the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.audit import text_digests
from app.services import personal_data
from app.tables import CaseText

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def keep(session: CaseSession, action: str, **texts: str) -> dict[str, Any]:
    """Store ``texts`` (field name -> text) for the case of ``session`` under ``action``;
    returns what the audit event says about them instead."""
    rows = [
        CaseText(
            case=session.case.id,
            action=action,
            field=name,
            text=await personal_data.seal_in(session, personal_data.TEXT, text),
            created_at=session.now,
            created_by=session.actor.user_id,
        )
        for name, text in texts.items()
    ]
    if rows:
        await CaseText.insert(*rows)
    return text_digests(**texts)


async def of_case(case_id: int) -> list[dict[str, Any]]:
    """The case's texts, oldest first (for those who may read the case)."""
    rows = await (
        CaseText.select(
            CaseText.created_at.as_alias("at"),
            CaseText.action,
            CaseText.field,
            CaseText.text,
            CaseText.created_by.username.as_alias("author"),
        )
        .where(CaseText.case == case_id)
        .order_by(CaseText.id)
    )
    if not rows:
        return rows
    opener = await personal_data.Opener.of(case_id)
    for row in rows:
        row["text"] = opener.text(personal_data.TEXT, row["text"])
    return rows
