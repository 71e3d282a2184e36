"""Case notes and attachments: the row and its audit event.

The audit event says that a note was added, by whom, with the SHA-256 of its text and its
length, never the text (children's free text stays out of the trail); an attachment's event
carries the content hash the file is stored under, its type and size, never its file name (a
name such as ``acta_de_Kevin.pdf`` identifies the child). Each ``write_*`` must run before the
``audit_*`` of its event: it gives the event its row id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event
from app.services import personal_data
from app.tables import CaseAttachment, CaseNote

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def write_note(session: CaseSession, event: Event) -> None:
    data = event.data
    row = (
        await CaseNote.insert(
            CaseNote(
                case=session.case.id,
                body=await personal_data.seal_in(session, personal_data.NOTE, data["body"]),
                author=data["author"],
                author_authority=data["author_authority_id"],
                created_at=session.now,
            )
        ).returning(CaseNote.id)
    )[0]
    data["note_id"] = row["id"]
    session.results["note_id"] = row["id"]


async def audit_note(session: CaseSession, event: Event) -> None:
    data = event.data
    session.audit(
        "case.note_added",
        authority_id=data["author_authority_id"],
        changes={"note_id": data["note_id"], "sha256": data["sha256"], "chars": data["chars"]},
    )


async def write_attachment(session: CaseSession, event: Event) -> None:
    data = event.data
    row = (
        await CaseAttachment.insert(
            CaseAttachment(
                case=session.case.id,
                sha256=data["sha256"],
                filename=await personal_data.seal_in(
                    session, personal_data.ATTACHMENT_NAME, data["filename"]
                ),
                content_type=data["content_type"],
                size=data["size"],
                uploaded_by=data["by"],
                uploaded_by_authority=data["by_authority_id"],
                created_at=session.now,
            )
        ).returning(CaseAttachment.id)
    )[0]
    data["attachment_id"] = row["id"]
    session.results["attachment_id"] = row["id"]


async def audit_attachment(session: CaseSession, event: Event) -> None:
    data = event.data
    session.audit(
        "case.attachment_added",
        authority_id=data["by_authority_id"],
        changes={
            "attachment_id": data["attachment_id"],
            "sha256": data["sha256"],
            "content_type": data["content_type"],
            "size": data["size"],
        },
    )
