"""Case notes and attachments (issue 14, item 5): through the case command path, audited with
digests (never the note's text or the file's name), files checked by content, stored under their
hash outside the database, always downloaded, and seen only by who sees the case."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from app.tables import AuditEvent, Case, CaseAttachment, CaseNote
from tests.web.conftest import CSRF_INPUT

OFFICER = "inm-07.officer"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n\x00\x01binary\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


async def _upload(b, folio: str, name: str, data: bytes, ctype: str = "application/pdf"):
    return await b.client.post(
        f"/cases/{folio}/attachments",
        data={"csrf_token": b.csrf()},
        files={"file": (name, data, ctype)},
    )


async def _audit(folio: str, action: str) -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == action)
    )
    return [json.loads(r["changes"]) for r in rows]


async def test_upload_list_download_with_hash_in_audit(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    r = await _upload(b, folio, "acta_canalización.pdf", PDF)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/cases/{folio}?ok=attachment_added")
    page = await b.get(f"/cases/{folio}")
    assert "Documento agregado." not in page.text  # only after the redirect's ?ok
    assert "acta_canalización.pdf" in page.text
    row = await CaseAttachment.select().where(CaseAttachment.case.folio == folio).first()
    digest = hashlib.sha256(PDF).hexdigest()
    assert row["sha256"] == digest and row["content_type"] == "application/pdf"
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    stored = Path(os.environ["CAREROUTE_ATTACHMENTS_DIR"]) / digest[:2] / f"{digest}.{case_id}"
    assert PDF not in stored.read_bytes()  # encrypted with the case's data key (issue 16)
    assert "acta" not in row["filename"]  # the file name too
    [event] = await _audit(folio, "case.attachment_added")
    assert event["sha256"] == digest and event["size"] == len(PDF)
    assert "acta" not in json.dumps(event)  # the file name identifies: never in the trail
    r = await b.get(f"/cases/{folio}/attachments/{row['id']}")
    assert r.status_code == 200
    assert r.content == PDF
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''acta_canalizaci%C3%B3n.pdf" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("application/pdf")
    assert await _audit(folio, "case.attachment_read") == [
        {"attachment_id": row["id"], "sha256": digest}
    ]
    # oversight sees the case, so it reads the file too
    o = await browser("cndh.oversight")
    assert (await o.get(f"/cases/{folio}/attachments/{row['id']}")).content == PDF


async def test_a_file_claiming_to_be_pdf_but_html_is_refused(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    r = await _upload(b, folio, "acta.pdf", HTML)
    assert r.status_code == 422
    assert "no es un PDF, JPEG ni PNG" in r.text
    assert 'id="file-error"' in r.text
    # a real PNG named .pdf, an empty file: refused as well
    r = await _upload(b, folio, "informe.pdf", PNG, "application/pdf")
    assert r.status_code == 422 and "indica otro tipo" in r.text
    assert (await _upload(b, folio, "vacio.png", b"", "image/png")).status_code == 422
    assert await CaseAttachment.count().where(CaseAttachment.case.folio == folio) == 0
    assert await _audit(folio, "case.attachment_added") == []
    # the right names for the right contents pass
    assert (await _upload(b, folio, "foto.png", PNG, "image/png")).status_code == 303
    assert (await _upload(b, folio, "foto.JPG", JPEG, "image/jpeg")).status_code == 303
    types = await CaseAttachment.select(CaseAttachment.content_type).where(
        CaseAttachment.case.folio == folio
    )
    assert sorted(t["content_type"] for t in types) == ["image/jpeg", "image/png"]


async def test_larger_than_10_mb_is_refused(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    big = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    r = await _upload(b, folio, "grande.pdf", big)
    assert r.status_code == 422 and "pasa de 10 MB" in r.text
    assert await CaseAttachment.count().where(CaseAttachment.case.folio == folio) == 0


async def test_other_authority_gets_404_and_oversight_cannot_write(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    assert (await _upload(b, folio, "acta.pdf", PDF)).status_code == 303
    att = (
        await CaseAttachment.select(CaseAttachment.id)
        .where(CaseAttachment.case.folio == folio)
        .first()
    )
    other = await browser("inm-27.officer")
    assert (await other.get(f"/cases/{folio}/attachments/{att['id']}")).status_code == 404
    assert (await _upload(other, folio, "x.pdf", PDF)).status_code == 404
    r = await other.post(f"/cases/{folio}/notes", {"body": "intrusa"})
    assert r.status_code == 404
    # an attachment id under another case's folio is not found either
    folio2 = await json_api.open_case(OFFICER)
    assert (await b.get(f"/cases/{folio2}/attachments/{att['id']}")).status_code == 404
    oversight = await browser("cndh.oversight")
    assert (await _upload(oversight, folio, "x.pdf", PDF)).status_code == 403
    assert await CaseAttachment.count().where(CaseAttachment.case.folio == folio) == 1


async def test_note_is_audited_by_digest_and_visible_to_who_sees_the_case(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    text = "La NNA refiere que viajó con su tía desde Quetzaltenango."
    r = await b.post(f"/cases/{folio}/notes", {"body": text})
    assert r.status_code == 303, r.text
    [note] = await CaseNote.select().where(CaseNote.case.folio == folio)
    assert text not in note["body"] and note["body"].startswith("enc1:")  # the case's key
    page = await b.get(f"/cases/{folio}")
    assert "Quetzaltenango" in page.text  # decrypted for who may read the case
    [event] = await _audit(folio, "case.note_added")
    assert event == {
        "note_id": note["id"],
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "chars": len(text),
    }
    trail = await AuditEvent.select(AuditEvent.changes).where(AuditEvent.case_folio == folio)
    assert not any("Quetzaltenango" in r["changes"] for r in trail)
    # visible to oversight and to the supervisor of the authority; not to another state
    assert text in (await (await browser("cndh.oversight")).get(f"/cases/{folio}")).text
    assert text in (await (await browser("inm-07.supervisor")).get(f"/cases/{folio}")).text
    assert (await (await browser("inm-27.officer")).get(f"/cases/{folio}")).status_code == 404


async def test_a_refused_note_keeps_what_was_typed(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    r = await b.post(f"/cases/{folio}/notes", {"body": "   "})
    assert r.status_code == 422 and 'id="note-error"' in r.text
    long = "á" * 10_001
    r = await b.post(f"/cases/{folio}/notes", {"body": long})
    assert r.status_code == 422 and "pasa de 10 000 caracteres" in r.text
    assert long in r.text  # the text comes back in the textarea
    assert CSRF_INPUT.search(r.text)
    assert await CaseNote.count().where(CaseNote.case.folio == folio) == 0
