"""Spanish pages say everything in Spanish (issue 14, item 7): no English status word, no
actor "system", no BPMN element id, no modelling note ("[sin confirmar]", "ISO-8601"), the
audit trail as readable changes (no raw JSON, no escaped accents), a refused command's reason
in Spanish, and no preselected colleague when reassigning."""

from __future__ import annotations

import re
from html import unescape

from app.route_engine import bpmn_dir

OFFICER = "inm-07.officer"
ENGLISH = re.compile(
    r"\b(admitted|transferred|discharged|left|open|completed|cancelled|running|met|breached"
    r"|system|transfer instead|is already|not found)\b",
    re.IGNORECASE,
)
NOTES = ("[sin confirmar]", "ISO-8601", "\\u00")


def visible_text(html: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def element_ids() -> set[str]:
    ids: set[str] = set()
    for path in bpmn_dir().glob("*.bpmn"):
        ids.update(re.findall(r'<bpmn:\w+ id="([^"]+)"', path.read_text(encoding="utf-8")))
    return {i for i in ids if "_" in i}


def check_spanish(name: str, html: str, ids: set[str]) -> list[str]:
    text = visible_text(html)
    bad = [f"{name}: English word {m.group(0)!r}" for m in ENGLISH.finditer(text)]
    words = set(re.findall(r"[A-Za-z0-9_]+", text))
    bad += [f"{name}: BPMN element id {i!r}" for i in sorted(ids & words)]
    bad += [f"{name}: modelling note {n!r}" for n in NOTES if n in html]
    return bad


async def test_spanish_pages_show_no_english_status_word_nor_element_id(browser, json_api):
    ids = element_ids()
    assert "aprobar_bia" in ids and "admitir_en_cas" in ids
    folio = await json_api.open_case(OFFICER)
    await json_api.drive_until(folio, "admitir_en_cas")
    shelters = (await json_api.get("cndh.oversight", "/api/v1/shelters")).json()
    cas = next(s for s in shelters if s["code"] == "CAS-07-TAPACHULA")
    staff = await browser("cas-07-tapachula.shelter-staff")
    assert (await staff.post(f"/shelters/{cas['id']}/admit", {"folio": folio})).status_code == 303
    officer = await browser(OFFICER)
    oversight = await browser("cndh.oversight")
    task = (await json_api.open_tasks(folio))[0]["task_id"]
    pages = {
        "case (officer)": await officer.get(f"/cases/{folio}"),
        "case (oversight)": await oversight.get(f"/cases/{folio}"),
        "inbox": await officer.get("/inbox"),
        "audit": await oversight.get(f"/audit?case={folio}"),
        "compliance": await oversight.get("/compliance"),
        "shelter": await staff.get(f"/shelters/{cas['id']}"),
        "shelters": await staff.get("/shelters"),
        "notifications": await oversight.get("/notifications"),
        "task": await oversight.get(f"/tasks/{task}"),
        "compliance rows": await oversight.get("/compliance/rows?status=running"),
        "compliance cases": await oversight.get("/compliance/cases"),
        "cases": await officer.get("/cases"),
        "cases (folio search)": await officer.get(f"/cases?folio={folio.rsplit('-', 1)[1]}"),
        "cases (oversight, overdue)": await oversight.get("/cases?overdue=true"),
        "case file (expediente)": await officer.get(f"/cases/{folio}/expediente"),
        "new case": await officer.get("/cases/new"),
    }
    # every completed form of the case, as its record page shows it
    for href in sorted(set(re.findall(rf'href="(/cases/{folio}/formularios/[^"]+)"',
                                      pages["case (officer)"].text))):  # fmt: skip
        pages[f"form {href.rsplit('/', 1)[1]}"] = await officer.get(href)
    assert any(name.startswith("form ") for name in pages)
    bad: list[str] = []
    for name, r in pages.items():
        assert r.status_code == 200, (name, r.status_code)
        bad += check_spanish(name, r.text, ids)
    assert not bad, "\n".join(bad)
    # the placement's status and the automatic actor, in words
    case_text = visible_text(pages["case (officer)"].text)
    assert "Alojada" in case_text


async def test_the_checker_catches_english_and_ids():
    """The check itself: it fails on what it must catch."""
    ids = element_ids()
    page = "<p>Estado: admitted</p><p>aprobar_bia</p><p title='admitted'>Alojada</p>"
    found = check_spanish("x", page, ids)
    assert any("admitted" in f for f in found) and any("aprobar_bia" in f for f in found)
    assert len(found) == 2  # attributes are not what a reader sees
    assert check_spanish("x", "<p>duración ISO-8601</p>", ids)
    # what the pages put instead: the automatic actor and a route element in words
    from app.web.pages import actor_label, task_label, value_label

    assert actor_label("es", "system") == "Sistema (automático)"
    assert value_label("es", "aprobar_bia") == task_label("es", "aprobar_bia") != "aprobar_bia"
    assert value_label("es", "case closed") == "caso cerrado"


async def test_audit_trail_is_readable_changes(browser, json_api):
    folio = await json_api.open_case(OFFICER, municipio="Tuxtla Gutiérrez")
    b = await browser("cndh.oversight")
    r = await b.get(f"/audit?case={folio}")
    assert "\\u00" not in r.text and '{"' not in visible_text(r.text)
    assert 'class="changes-list"' in r.text
    assert "Caso abierto" in visible_text(r.text) or "Canal de ingreso" in visible_text(r.text)


async def test_a_refused_admission_says_why_in_spanish(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    await json_api.drive_until(folio, "admitir_en_cas")
    shelters = (await json_api.get("cndh.oversight", "/api/v1/shelters")).json()
    first = next(s for s in shelters if s["code"] == "CAS-07-TAPACHULA")
    other = next(s for s in shelters if s["code"] != "CAS-07-TAPACHULA" and s["estado"] == "07")
    staff = await browser("cas-07-tapachula.shelter-staff")
    assert (await staff.post(f"/shelters/{first['id']}/admit", {"folio": folio})).status_code == 303
    head = await browser("procuraduria-07.officer")
    r = await head.post(f"/shelters/{other['id']}/admit", {"folio": folio})
    assert r.status_code == 409
    text = visible_text(r.text)
    assert "registre un traslado en lugar de un ingreso" in text
    assert "transfer instead" not in text
    assert folio in r.text  # what was typed stays in the form


async def test_no_colleague_is_preselected_for_reassignment(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task = (await json_api.open_tasks(folio))[0]["task_id"]
    sup = await browser("inm-07.supervisor")
    page = await sup.get(f"/tasks/{task}")
    select = re.search(r'<select id="reassign-username".*?</select>', page.text, re.S).group(0)
    options = re.findall(r"<option[^>]*>", select)
    assert 'value=""' in options[0] and "selected" in options[0]
    assert not any("selected" in o for o in options[1:])
    # sending the empty choice hands the task to nobody
    r = await sup.post(f"/tasks/{task}/reassign", {"username": ""})
    assert r.status_code == 422
