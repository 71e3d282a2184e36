"""Case notes and attachments on the case page: add a note, upload a file, download a file.

The writes go through the case command path (app/services/case_files.py); the pages only read
the form. A note or file refused (empty note, a file that is not a PDF, JPEG or PNG by its
content, too large) brings the case page back with the message beside the form and the note's
text kept. A download is always a download (``Content-Disposition: attachment`` with the
stored name, ``X-Content-Type-Options: nosniff`` from the pages' headers), never shown inline.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect

from app.errors import InvalidInput
from app.services import case_files
from app.web import forms
from app.web.pages import case_view
from app.web.session import current_user, lang_of

#: the upload's multipart body: the file plus the form's few fields
UPLOAD_MAX_BODY = case_files.MAX_BYTES + 64 * 1024


def _messages(request: Request, exc: InvalidInput) -> str:
    lang = lang_of(request)
    return "; ".join(forms.message(lang, e["message"], {}) for e in exc.errors)


@post("/cases/{folio:str}/notes", include_in_schema=False, status_code=303)
async def note_submit(request: Request, folio: FromPath[str]) -> Response:
    user = await current_user(request)
    form = await request.form()
    body = str(form.get("body", ""))[: 2 * 10_000]
    try:
        await case_files.add_note(user.principal, folio, body)
    except InvalidInput as exc:
        return await case_view(
            request, user, folio, 422, note_error=_messages(request, exc), note_body=body
        )
    return Redirect(f"/cases/{folio}?ok=note_added#notes", status_code=303)


@post(
    "/cases/{folio:str}/attachments",
    include_in_schema=False,
    status_code=303,
    request_max_body_size=UPLOAD_MAX_BODY,
)
async def attachment_submit(request: Request, folio: FromPath[str]) -> Response:
    user = await current_user(request)  # checks the CSRF field of the multipart form
    form = await request.form()
    upload: Any = form.get("file")
    if not isinstance(upload, UploadFile):
        error = InvalidInput("no file", [{"path": "$.file", "message": "is required"}])
        return await case_view(request, user, folio, 422, file_error=_messages(request, error))
    data = await upload.read(case_files.MAX_BYTES + 1)
    try:
        await case_files.add_attachment(user.principal, folio, upload.filename or "", data)
    except InvalidInput as exc:
        return await case_view(request, user, folio, 422, file_error=_messages(request, exc))
    return Redirect(f"/cases/{folio}?ok=attachment_added#attachments", status_code=303)


@get("/cases/{folio:str}/attachments/{attachment_id:int}", include_in_schema=False)
async def attachment_download(
    request: Request, folio: FromPath[str], attachment_id: FromPath[int]
) -> Response:
    user = await current_user(request)
    row, data = await case_files.open_attachment(user.principal, folio, attachment_id)
    name = row["filename"]
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Response(
        content=data,
        media_type=row["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(name, safe='')}",
            "Cache-Control": "no-store",
        },
    )
