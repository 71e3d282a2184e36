"""The pages after retention (issue 16): a blocked case's page is the data protection officer's
alone, and once erased its page, identity page and files answer 404 to everyone."""

from __future__ import annotations

from datetime import timedelta

from app.services import auth, case_files, retention
from app.tables import Case, CaseAttachment
from tests.app.test_reopen import closed_case

PDF = b"%PDF-1.4 acta de Itzayana"
DPO = "procuraduria-07.proteccion-datos"
OTHERS = ("inm-07.officer", "procuraduria-07.supervisor", "cndh.oversight")


async def test_blocked_then_erased_case_pages(browser, json_api):
    folio = await closed_case("Itzayana")
    case = await Case.select(Case.id, Case.closed_at).where(Case.folio == folio).first()
    officer = await auth.principal_for_user("inm-07.officer")
    await case_files.add_note(officer, folio, "Itzayana dijo que su madre está en Tijuana.")
    await case_files.add_attachment(officer, folio, "acta_itzayana.pdf", PDF)
    (file_id,) = [
        r["id"]
        for r in await CaseAttachment.select(CaseAttachment.id).where(
            CaseAttachment.case == case["id"]
        )
    ]
    pages = (
        f"/cases/{folio}",
        f"/cases/{folio}/identidad",
        f"/cases/{folio}/attachments/{file_id}",
    )
    b = await browser("inm-07.officer")
    r = await b.get(pages[0])
    assert r.status_code == 200 and "Tijuana" in r.text  # decrypted for who may read it
    r = await b.get(pages[2])
    assert r.status_code == 200 and r.content == PDF

    await retention.sweep(case["closed_at"] + timedelta(minutes=1), cases=[case["id"]])
    clock = await retention_clock(case["id"])
    await retention.sweep(clock["block_at"] + timedelta(seconds=1), cases=[case["id"]])
    for who in OTHERS:
        b = await browser(who)
        for url in pages:
            assert (await b.get(url)).status_code == 404, (who, url)
    dpo = await browser(DPO)
    r = await dpo.get(pages[0])
    assert r.status_code == 200 and "Tijuana" in r.text

    await retention.sweep(clock["erase_at"] + timedelta(seconds=1), cases=[case["id"]])
    for who in (*OTHERS, DPO):
        b = await browser(who)
        for url in pages:
            r = await b.get(url)
            assert r.status_code == 404, (who, url, r.status_code)
            assert "Tijuana" not in r.text and "Itzayana" not in r.text


async def retention_clock(case_id: int) -> dict:
    from app.tables import CaseRetention

    return await CaseRetention.select().where(CaseRetention.case == case_id).first()
