"""Case notes and attachments: written through the case command path, read like the case.

Who: caseworkers (officers, supervisors, heads, shelter staff) of an authority that sees the case
add notes and files; everyone who sees the case (oversight too) reads them; a case one may not
see answers 404 (docs/api.md "Who sees what"), also for a file of it.

Attachments: PDF, JPEG or PNG, at most 10 MiB. The type is what the first bytes say (magic
numbers), and a name that claims another type is refused: an HTML page named ``acta.pdf`` must
never reach a browser as a document. The bytes are stored outside the database, in the folder
``CAREROUTE_ATTACHMENTS_DIR`` (default ``var/attachments``), under their SHA-256 and the case
(``ab/abcd….<case id>``), encrypted with the case's data key (app/services/personal_data.py). The file is written before the command's transaction and is
immutable, so a rolled-back command leaves at most an unreferenced file, never a row without
its file. Downloads are always ``Content-Disposition: attachment`` (app/web/case_files_pages.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from app import access, datakeys
from app.cases.unit_of_work import case_command
from app.command import command
from app.errors import Forbidden, NotFound, field_error
from app.principal import Principal
from app.services import cases, personal_data
from app.tables import CaseAttachment, CaseNote

MAX_BYTES = 10 * 1024 * 1024
#: content type -> (magic prefix, file name endings that may claim it)
TYPES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
}
#: field messages (stable: the pages translate them, app/web/forms.py)
NOT_ALLOWED = "is not a PDF, JPEG or PNG file"
NAME_MISMATCH = "its name says another type than its content"
TOO_LARGE = "is larger than 10 MB"
EMPTY = "is empty"


def storage_dir() -> Path:
    """The attachments folder (configurable; created on first use)."""
    return Path(os.environ.get("CAREROUTE_ATTACHMENTS_DIR", "var/attachments"))


def blob_path(sha256: str, case_id: int | None = None) -> Path:
    """Where a file's bytes are: ``ab/<sha256>.<case id>`` encrypted with the case's data key
    (erasing the case makes it unreadable, and the worker deletes it), or ``ab/<sha256>`` for a
    file stored in plain before migration 0017."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a SHA-256")
    name = sha256 if case_id is None else f"{sha256}.{int(case_id)}"
    return storage_dir() / sha256[:2] / name


def sniff(data: bytes) -> str | None:
    """The content type the first bytes prove, or None."""
    for content_type, (magic, _) in TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


def safe_filename(name: str) -> str:
    """The uploader's file name without folders or control characters, at most 200 chars."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1])
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*').strip(" .")
    return base[-200:] or "archivo"


def check_file(filename: str, data: bytes) -> str:
    """The file's content type, or a 422 naming ``$.file``."""
    if not data:
        raise field_error("$.file", EMPTY)
    if len(data) > MAX_BYTES:
        raise field_error("$.file", TOO_LARGE)
    content_type = sniff(data)
    if content_type is None:
        raise field_error("$.file", NOT_ALLOWED)
    lower = filename.lower()
    claims = [t for t, (_, ends) in TYPES.items() if lower.endswith(ends)]
    if not claims or content_type not in claims:
        raise field_error("$.file", NAME_MISMATCH)
    return content_type


def _store(target: Path, data: bytes) -> None:
    """Write the bytes (atomic rename; kept if already there)."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _may_write(principal: Principal) -> None:
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")


# ----------------------------------------------------------------------------- writing
async def add_note(principal: Principal, folio: str, body: str) -> dict[str, Any]:
    case_id = await cases.case_id_for(principal, folio)
    _may_write(principal)
    async with case_command(principal.actor, case_id) as s:
        s.case.add_note(body, author=principal.user_id, author_authority=principal.authority_id)
    return {"id": s.results["note_id"], "folio": folio}


async def add_attachment(
    principal: Principal, folio: str, filename: str, data: bytes
) -> dict[str, Any]:
    case_id = await cases.case_id_for(principal, folio)
    _may_write(principal)
    name = safe_filename(filename)
    content_type = check_file(name, data)
    sha256 = hashlib.sha256(data).hexdigest()
    async with command(principal.actor) as cmd:  # the case's key, made on first use
        sealed = await personal_data.seal_file(case_id, data, cmd.now)
    _store(blob_path(sha256, case_id), sealed)
    async with case_command(principal.actor, case_id) as s:
        s.case.add_attachment(
            sha256=sha256,
            filename=name,
            content_type=content_type,
            size=len(data),
            by=principal.user_id,
            by_authority=principal.authority_id,
        )
    return {
        "id": s.results["attachment_id"],
        "folio": folio,
        "sha256": sha256,
        "content_type": content_type,
        "size": len(data),
        "filename": name,
    }


# ----------------------------------------------------------------------------- reading
async def of_case(case_id: int) -> dict[str, list[dict[str, Any]]]:
    """A case's notes and attachments, oldest first (the caller checked it may see the case;
    part of the case page's audited read)."""
    notes = (
        await CaseNote.select(
            CaseNote.id,
            CaseNote.body,
            CaseNote.author.display_name.as_alias("author"),
            CaseNote.author_authority.code.as_alias("authority"),
            CaseNote.created_at,
        )
        .where(CaseNote.case == case_id)
        .order_by(CaseNote.id)
    )
    opener = await personal_data.Opener.of(case_id)
    for note in notes:
        note["body"] = opener.text(personal_data.NOTE, note["body"])
    files = (
        await CaseAttachment.select(
            CaseAttachment.id,
            CaseAttachment.filename,
            CaseAttachment.content_type,
            CaseAttachment.size,
            CaseAttachment.sha256,
            CaseAttachment.uploaded_by.display_name.as_alias("author"),
            CaseAttachment.uploaded_by_authority.code.as_alias("authority"),
            CaseAttachment.created_at,
        )
        .where(CaseAttachment.case == case_id)
        .order_by(CaseAttachment.id)
    )
    for f in files:
        f["filename"] = opener.text(personal_data.ATTACHMENT_NAME, f["filename"])
    return {"notes": notes, "attachments": files}


async def for_folio(principal: Principal, folio: str) -> dict[str, list[dict[str, Any]]]:
    return await of_case(await cases.case_id_for(principal, folio))


async def open_attachment(
    principal: Principal, folio: str, attachment_id: int
) -> tuple[dict[str, Any], bytes]:
    """An attachment of a case the caller may see, and its bytes, decrypted (404 otherwise:
    another authority's file, a file of another case, a missing blob). The read is audited."""
    row = (
        await CaseAttachment.select(
            CaseAttachment.id,
            CaseAttachment.case.id.as_alias("case_id"),
            CaseAttachment.case.folio.as_alias("folio"),
            CaseAttachment.filename,
            CaseAttachment.content_type,
            CaseAttachment.size,
            CaseAttachment.sha256,
        )
        .where(CaseAttachment.id == attachment_id)
        .first()
    )
    if row is None or row["folio"] != folio:
        raise NotFound("attachment not found")
    if not await access.can_see_case(principal, row["case_id"]):
        raise NotFound("attachment not found")
    opener = await personal_data.Opener.of(row["case_id"])
    path = blob_path(row["sha256"], row["case_id"])
    try:
        if path.is_file():
            data = opener.file(path.read_bytes())
        elif blob_path(row["sha256"]).is_file():  # stored in plain before migration 0017
            data = blob_path(row["sha256"]).read_bytes()
        else:
            raise NotFound("attachment not found")
    except datakeys.DataErased as exc:
        raise NotFound("attachment not found") from exc
    row["filename"] = opener.text(personal_data.ATTACHMENT_NAME, row["filename"])
    async with command(principal.actor) as cmd:
        cmd.audit(
            "case.attachment_read",
            case_id=row["case_id"],
            case_folio=folio,
            changes={"attachment_id": row["id"], "sha256": row["sha256"]},
        )
    return row, data
