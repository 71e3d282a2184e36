"""Browser tests in headless Chromium (Debian's /usr/bin/chromium driven by Playwright's Python
package; never ``playwright install``), against a real server on 127.0.0.1 with demo data.

Run ``bash tests/web/setup.sh`` once, then ``pytest -m browser``. Screenshots, the downloaded CSV
and the accessibility (axe-core) results go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app.helpers import PASSWORD

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("CAREROUTE_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules_axe" / "node_modules" / "axe-core" / "axe.min.js"
SETUP = "run `bash tests/web/setup.sh` (apt chromium, pip playwright, npm axe-core)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db_file = tmp_path_factory.mktemp("browser") / "careroute.db"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CAREROUTE_DB")}
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, str(Path(__file__).parent / "serve_demo.py"), str(db_file), str(port),
         PASSWORD],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line, "the demo server exited before printing its folios"
        folios = json.loads(line)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the demo server did not answer /healthz")
        yield {"base": base, **folios}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: {SETUP}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"the playwright Python package is missing: {SETUP}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        yield browser
        browser.close()


class Session:
    def __init__(self, browser, base: str, *, bypass_csp: bool = False):
        self.context = browser.new_context(
            base_url=base, locale="es-MX", accept_downloads=True, bypass_csp=bypass_csp
        )
        self.page = self.context.new_page()
        self.csp_errors: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.csp_errors.append(m.text) if "Content Security Policy" in m.text else None
            ),
        )

    def login(self, username: str) -> None:
        p = self.page
        p.goto("/login")
        p.get_by_label("Usuario").fill(username)
        p.get_by_label("Contraseña").fill(PASSWORD)
        p.get_by_role("button", name="Entrar").click()
        p.wait_for_load_state()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        assert not self.csp_errors, self.csp_errors
        self.context.close()


def test_officer_completes_a_task_after_a_spanish_error(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-07.officer")
    assert p.url.endswith("/inbox")
    assert p.locator("html").get_attribute("lang") == "es"
    s.shot("01-inbox")
    p.locator(f"tr:has-text('{server['detect']}') a[href^='/tasks/']").first.click()
    p.wait_for_load_state()
    assert p.get_by_role("heading", level=1).inner_text().startswith("Registrar")
    p.get_by_label("Fecha y hora de detección").fill("2026-03-02T11:00")
    p.get_by_label("Tipo de lugar").select_option("punto_revision")
    p.get_by_label("Municipio de detección").fill("Tapachula")
    for name in ("duda_edad", "riesgo_inminente"):
        p.locator(f"input[name='{name}'][value='false']").check()
    p.locator("input[name='informado_derechos'][value='true']").check()
    # the detection channel is left empty on purpose
    p.get_by_role("button", name="Completar la tarea").click()
    p.wait_for_load_state()
    error = p.locator("#f-canal_deteccion-error")
    assert error.inner_text() == "Este campo es obligatorio."
    assert p.get_by_label("Municipio de detección").input_value() == "Tapachula"
    assert p.locator("#f-canal_deteccion").get_attribute("aria-invalid") == "true"
    s.shot("02-task-with-error")
    p.get_by_label("Canal de detección").select_option("revision_migratoria")
    p.get_by_role("button", name="Completar la tarea").click()
    p.wait_for_load_state()
    assert p.url.endswith(f"/cases/{server['detect']}?ok=task_done")
    assert "Tarea completada." in p.inner_text("main")
    assert p.locator("svg.route").count() >= 1
    s.shot("03-case-after-completion")
    s.close()


def test_officer_opens_a_case_from_the_page(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-07.officer")
    p.get_by_role("link", name="Abrir caso").click()
    p.wait_for_load_state()
    assert p.get_by_role("heading", level=1).inner_text() == "Abrir un caso"
    assert p.get_by_label("Entidad federativa (clave INEGI)").input_value() == "07"
    p.get_by_label("Canal de ingreso").select_option("rescate_inm")
    p.locator("#f-municipio").fill("Tapachula")
    p.get_by_label("Sexo").select_option("hombre")
    p.get_by_label("Nacionalidad (ISO 3166 alfa-3)").fill("GTM")
    p.get_by_label("Idioma principal").select_option("kiche")
    p.get_by_label("Acompañamiento declarado").select_option("no_acompanado")
    # the child's given name is left empty on purpose
    p.get_by_role("button", name="Abrir caso").click()
    p.wait_for_load_state()
    assert p.locator("#f-identidad-nombres-error").inner_text() == "Este campo es obligatorio."
    assert p.get_by_label("Idioma principal").input_value() == "kiche"
    s.shot("11-new-case-with-error")
    p.locator("#f-identidad-nombres").fill("Kevin")
    p.get_by_role("button", name="Abrir caso").click()
    p.wait_for_load_state()
    assert "/cases/CHIS-" in p.url, p.locator(".field-error").all_inner_texts()
    assert p.url.endswith("?ok=case_opened")
    assert "Caso abierto. La primera tarea ya está turnada." in p.inner_text("main")
    assert "Kevin" not in p.inner_text("main")
    p.get_by_role("link", name="Ver datos de identidad").click()
    p.wait_for_load_state()
    assert "Kevin" in p.inner_text("main")
    s.shot("12-identity-read-audited")
    s.close()


def test_shelter_staff_admission_changes_occupancy(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("cas-07-tapachula.shelter-staff")
    p.goto("/shelters")
    s.shot("04-shelters")
    p.get_by_role("link", name="CAS DIF Chiapas, Tapachula").click()
    p.wait_for_load_state()
    before = int(p.locator("#occupancy").inner_text())
    p.get_by_label("Folio").fill(server["admit"])
    p.get_by_role("button", name="Registrar ingreso").click()
    p.wait_for_load_state()
    assert "Ingreso registrado." in p.inner_text("main")
    assert int(p.locator("#occupancy").inner_text()) == before + 1
    assert p.get_by_role("link", name=server["admit"]).count() == 1
    s.shot("05-shelter-after-admission")
    s.close()


def test_oversight_searches_the_audit_and_downloads_csv(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("cndh.oversight")
    assert p.url.endswith("/audit")
    p.get_by_label("Folio del caso").fill(server["detect"])
    p.get_by_role("button", name="Buscar").click()
    p.wait_for_load_state()
    assert "Caso abierto" in p.inner_text("main")  # the action in words (its code in the title)
    assert p.locator("span[title='case.opened']").count() >= 1
    s.shot("06-audit-search")
    with p.expect_download() as info:
        p.get_by_role("link", name="Descargar CSV").click()
    target = ARTIFACTS / "audit-export.csv"
    info.value.save_as(str(target))
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # a byte-order mark, for Excel
    text = target.read_text(encoding="utf-8-sig")
    assert text.startswith("id,at,actor_user_id")
    assert server["detect"] in text and "case.opened" in text
    p.goto("/audit/verify")
    assert "La cadena de auditoría está íntegra." in p.inner_text("main")
    s.shot("07-audit-verify")
    p.goto("/compliance")
    assert p.locator("svg.chart").count() >= 3
    s.shot("08-compliance")
    s.close()


def test_officer_of_another_state_cannot_open_the_case(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-27.officer")
    response = p.goto(f"/cases/{server['detect']}")
    assert response.status == 404
    assert "No encontrado" in p.inner_text("main")
    s.shot("09-other-state-404")
    s.close()


def test_language_switch_persists(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-07.officer")
    p.get_by_role("link", name="English").click()
    p.wait_for_load_state()
    assert p.locator("html").get_attribute("lang") == "en"
    p.goto("/shelters")
    assert p.get_by_role("heading", level=1).inner_text() == "Shelters (CAS)"
    s.shot("10-shelters-en")
    s.close()


def test_officer_finds_a_case_by_name_and_folio_and_reads_a_form(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-07.officer")
    p.get_by_role("link", name="Casos").click()
    p.wait_for_load_state()
    assert p.get_by_role("heading", level=1).inner_text() == "Casos"
    p.get_by_label("Nombre de la NNA").fill("ximena quetzal")  # no accents, lower case
    p.get_by_role("button", name="Buscar").click()
    p.wait_for_load_state()
    rows = p.locator("table.cases tbody tr")
    assert rows.count() == 1
    assert "Ximena Quetzal" in rows.first.inner_text()
    assert "queda registrada en la auditoría" in p.inner_text("main")
    s.shot("13-cases-name-search")
    p.get_by_role("link", name=server["named"]).click()
    p.wait_for_load_state()
    assert p.url.endswith(f"/cases/{server['named']}")
    links = p.locator(f"a[href^='/cases/{server['named']}/formularios/']")
    links.filter(has_text="Registrar").first.click()  # INM's detection record
    p.wait_for_load_state()
    text = p.inner_text("main")
    assert "Registrado por" in text and "INM-07" in text
    assert "Canal de detección" in text and "Revisión migratoria" in text  # in words
    assert "revision_migratoria" not in text
    s.shot("14-completed-form")
    p.get_by_role("link", name="Casos").click()
    p.wait_for_load_state()
    p.get_by_label("Folio").fill(server["named"].rsplit("-", 1)[1])  # part of the folio
    p.get_by_role("button", name="Buscar").click()
    p.wait_for_load_state()
    assert p.get_by_role("link", name=server["named"]).count() == 1
    assert "Ximena" not in p.inner_text("main")  # no name unless a name search
    s.close()


def test_supervisor_sees_the_assessment_while_approving_it(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("procuraduria-07.supervisor")
    p.goto(f"/cases/{server['bia']}")
    p.get_by_role("link", name="Aprobar la evaluación del interés superior").click()
    p.wait_for_load_state()
    record = p.locator("section.approved-record")
    assert record.is_visible()
    assert "Lo que se aprueba" in record.inner_text()
    assert "Consolidar la evaluación del interés superior (BIA)" in record.inner_text()
    assert "Nivel de riesgo" in record.inner_text()
    decision = p.locator(".approval .decision form.task-form")
    assert decision.is_visible()
    # beside: on a wide screen the record and the decision form share the row
    box_record, box_form = record.bounding_box(), decision.bounding_box()
    assert box_form["x"] > box_record["x"] + box_record["width"] / 2
    s.shot("15-approval-beside-assessment")
    s.close()


def test_case_file_prints_without_menus_and_with_forms(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-07.officer")
    p.goto(f"/cases/{server['named']}")
    p.emulate_media(media="print")
    assert not p.locator("header.top").is_visible()
    width = p.evaluate("document.documentElement.clientWidth")
    for box in [f.bounding_box() for f in p.locator("figure.route-fig svg").all()]:
        assert box["x"] + box["width"] <= width + 1  # diagrams fit the page
    p.goto(f"/cases/{server['named']}/expediente")
    assert not p.locator("header.top").is_visible()
    text = p.inner_text("main")
    assert "Expediente del caso" in text and "Apertura del caso" in text
    assert "Canal de detección" in text
    p.pdf(path=str(ARTIFACTS / "expediente.pdf"))
    s.close()


AXE_PAGES = [
    ("login", None, "/login"),
    ("inbox", "inm-07.officer", "/inbox"),
    ("task", "inm-07.officer", "task"),
    ("case", "inm-07.officer", "case"),
    ("shelters", "cas-07-tapachula.shelter-staff", "/shelters"),
    ("shelter", "cas-07-tapachula.shelter-staff", "shelter"),
    ("audit", "cndh.oversight", "/audit"),
    ("verify", "cndh.oversight", "/audit/verify"),
    ("compliance", "cndh.oversight", "/compliance"),
    ("new-case", "inm-07.officer", "new_case_errors"),
    ("notifications", "inm-07.supervisor", "/notifications"),
    ("identity", "inm-07.officer", "identity"),
    ("case-files-error", "inm-07.officer", "fake_pdf"),
    ("compliance-rows", "cndh.oversight", "/compliance/rows?status=running"),
    ("compliance-cases", "cndh.oversight", "/compliance/cases?since="),
    ("cases", "inm-07.officer", "/cases?nombre=ximena"),
    ("form-record", "inm-07.officer", "form_record"),
    ("case-file", "inm-07.officer", "case_file"),
    ("approval", "procuraduria-07.supervisor", "approval"),
    ("cases-list", "inm-07.officer", "/cases"),
    ("cases-oversight-list", "cndh.oversight", "/cases"),
    ("compliance-period", "cndh.oversight", "/compliance?since=&estado=07"),
]


FAKE_PDF = {"name": "acta.pdf", "mimeType": "application/pdf",
            "buffer": b"<html><script>alert(1)</script></html>"}  # fmt: skip
REAL_PDF = {"name": "acta_canalización.pdf", "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"}  # fmt: skip


def test_attachment_uploaded_listed_downloaded_and_fake_pdf_refused(server, chromium):
    s = Session(chromium, server["base"])
    p = s.page
    s.login("inm-07.officer")
    p.goto(f"/cases/{server['admit']}")
    p.locator("#attachment-file").set_input_files(REAL_PDF)
    p.get_by_role("button", name="Subir documento").click()
    p.wait_for_load_state()
    assert "Documento agregado." in p.inner_text("main")
    link = p.get_by_role("link", name="acta_canalización.pdf")
    assert link.count() == 1
    with p.expect_download() as info:
        link.click()
    download = info.value
    target = ARTIFACTS / "attachment.pdf"
    download.save_as(str(target))
    assert target.read_bytes() == REAL_PDF["buffer"]
    assert download.suggested_filename == "acta_canalización.pdf"
    s.shot("13-attachment-listed")
    p.locator("#attachment-file").set_input_files(FAKE_PDF)
    p.get_by_role("button", name="Subir documento").click()
    p.wait_for_load_state()
    assert "no es un PDF, JPEG ni PNG" in p.locator("#file-error").inner_text()
    assert p.get_by_role("link", name="acta.pdf").count() == 0
    s.shot("14-fake-pdf-refused")
    s.close()


def test_oversight_filters_by_period_and_drills_down_to_a_case(server, chromium):
    import csv
    import io
    import re
    from datetime import date, timedelta

    s = Session(chromium, server["base"])
    p = s.page
    s.login("cndh.oversight")
    p.goto("/compliance")
    today = date.today()
    p.get_by_label("Periodo: desde").fill(str(today - timedelta(days=3)))
    p.get_by_label("Periodo: hasta").fill(str(today + timedelta(days=1)))
    p.get_by_role("button", name="Buscar").click()
    p.wait_for_load_state()
    assert f"since={today - timedelta(days=3)}" in p.url
    s.shot("15-dashboard-period")
    detected = p.locator("#funnel-table a[href*='stage=deteccion']")
    n = int(detected.inner_text())
    assert n >= 3  # the demo server's cases, detected in these days
    detected.click()
    p.wait_for_load_state()
    assert "/compliance/cases?" in p.url and "since=" in p.url
    rows = p.locator("#case-rows tbody tr")
    assert rows.count() == n  # the count is the rows it counts
    rows.first.locator("a").click()
    p.wait_for_load_state()
    assert re.search(r"/cases/[A-Z]{4}-\d{4}-\d{6}$", p.url)
    assert p.get_by_role("heading", level=1).inner_text().startswith("Caso")
    s.shot("16-drilled-down-case")
    p.goto("/compliance")
    with p.expect_download() as info:
        p.get_by_role("link", name="Descargar cifras públicas (CSV anonimizado)").click()
    target = ARTIFACTS / "public-export.csv"
    info.value.save_as(str(target))
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table and list(table[0]) == ["tabla", "valor", "cifra"]
    for row in table:
        joined = (row["tabla"] + row["valor"]).lower()
        assert not any(w in joined for w in ("nombre", "apellido", "documento", "folio")), row
        assert not re.search(r"[A-Z]{4}-\d{4}-\d{6}", row["valor"])
        if "pct" not in row["tabla"] and "mediana" not in row["tabla"]:
            assert row["cifra"] == "<5" or int(row["cifra"]) >= 5, row
    s.close()


#: pages only the phone test visits (besides every page of AXE_PAGES): the other states of the
#: list, the case page with notes and attachments, the dashboard's default and period views
PHONE_ONLY = [
    ("cases-all", "inm-07.officer", "/cases"),
    ("cases-folio", "inm-07.officer", "cases_by_folio"),
    ("cases-oversight", "cndh.oversight", "/cases?sort=updated"),
    ("case-with-files", "inm-07.officer", "case_with_files"),
    ("case-oversight", "cndh.oversight", "case_admit"),
    ("compliance-all-time", "cndh.oversight", "/compliance?since="),
    ("compliance-breaches", "cndh.oversight", "/compliance/rows?status=breached&since="),
    ("compliance-stage", "cndh.oversight", "/compliance/cases?since=&stage=deteccion"),
    ("task-plain", "inm-07.officer", "task_plain"),
]
LONG_NOTE = (
    "Nota de prueba con una palabra muy larga sin espacios "
    "https://ejemplo.gob.mx/expedientes/documentos/anexos/informe_medico_y_psicologico_completo"
)
LONG_PDF = {"name": "informe_médico_psicológico_y_de_trabajo_social_de_la_nna_completo.pdf",
            "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"}  # fmt: skip


def goto(p, path: str, server: dict) -> None:
    """Open a page of AXE_PAGES or PHONE_ONLY: a URL, or a name for a page reached by clicks
    (with a form's errors shown where the name says so)."""
    if path in ("task", "task_plain"):
        p.goto("/inbox")
        p.locator("a[href^='/tasks/']").first.click()
        p.wait_for_load_state()
        if path == "task":
            p.get_by_role("button", name="Completar la tarea").click()  # with errors shown
    elif path == "case":
        p.goto("/inbox")
        p.locator("table a[href^='/cases/']").first.click()
    elif path == "identity":
        p.goto("/inbox")
        p.locator("table a[href^='/cases/']").first.click()
        p.wait_for_load_state()
        p.get_by_role("link", name="Ver datos de identidad").click()
    elif path == "fake_pdf":  # the case page with the attachment form's error shown
        p.goto("/inbox")
        p.locator("table a[href^='/cases/']").first.click()
        p.wait_for_load_state()
        p.locator("#attachment-file").set_input_files(FAKE_PDF)
        p.get_by_role("button", name="Subir documento").click()
    elif path == "case_with_files":  # a note and a document with long unbroken names
        p.goto(f"/cases/{server['named']}")
        p.locator("#note-body").fill(LONG_NOTE)
        p.get_by_role("button", name="Agregar nota").click()
        p.wait_for_load_state()
        p.locator("#attachment-file").set_input_files(LONG_PDF)
        p.get_by_role("button", name="Subir documento").click()
        p.wait_for_load_state()
        assert LONG_NOTE in p.inner_text("main")
    elif path == "new_case_errors":
        p.goto("/cases/new")
        p.get_by_role("button", name="Abrir caso").click()  # with errors shown
    elif path == "form_record":
        p.goto(f"/cases/{server['named']}")
        p.locator(f"a[href^='/cases/{server['named']}/formularios/']").first.click()
    elif path == "case_file":
        p.goto(f"/cases/{server['named']}/expediente")
    elif path == "cases_by_folio":
        p.goto("/cases?folio=" + server["named"].rsplit("-", 1)[1])
    elif path == "approval":
        p.goto(f"/cases/{server['bia']}")
        p.get_by_role("link", name="Aprobar la evaluación del interés superior").click()
    elif path == "shelter":
        p.goto("/shelters")
        p.get_by_role("link", name="CAS DIF Chiapas, Tapachula").click()
    elif path == "case_admit":
        p.goto(f"/cases/{server['admit']}")
    else:
        p.goto(path)
    p.wait_for_load_state()


def test_every_page_fits_a_phone_at_390px(server, chromium):
    """No page is wider than a 390 px phone screen (no sideways scrolling): every page the
    accessibility test checks, and the other states of the case list, the case page with notes
    and attachments, the dashboard over all time and its drill-downs."""
    wide = []
    contexts = {}
    for name, user, path in AXE_PAGES + PHONE_ONLY:
        if user not in contexts:
            ctx = chromium.new_context(
                base_url=server["base"], locale="es-MX", viewport={"width": 390, "height": 844}
            )
            page = ctx.new_page()
            if user:
                page.goto("/login")
                page.get_by_label("Usuario").fill(user)
                page.get_by_label("Contraseña").fill(PASSWORD)
                page.get_by_role("button", name="Entrar").click()
                page.wait_for_load_state()
            contexts[user] = (ctx, page)
        p = contexts[user][1]
        goto(p, path, server)
        if user:  # still logged in: the page itself was measured
            assert p.url.split("?")[0] != server["base"] + "/login", (name, p.url)
        width = p.evaluate("() => document.documentElement.scrollWidth")
        if width > 390:
            offenders = p.evaluate(
                "() => [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > 391)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"
            )
            wide.append((name, width, offenders))
        p.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=False)
    for ctx, _ in contexts.values():
        ctx.close()
    assert len(AXE_PAGES + PHONE_ONLY) >= 28
    assert not wide, wide


def test_accessibility_axe_core(server, chromium):
    """axe-core (injected; the test context bypasses CSP only to inject it): no violation of
    any impact on the main pages."""
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: {SETUP}")
    results, bad = {}, []
    sessions: dict[str | None, Session] = {}
    for name, user, path in AXE_PAGES:
        if user not in sessions:
            sessions[user] = Session(chromium, server["base"], bypass_csp=True)
            if user:
                sessions[user].login(user)
        p = sessions[user].page
        goto(p, path, server)
        p.add_script_tag(path=str(AXE))
        found = p.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,"
            " targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
        )
        results[name] = {"url": p.url, "violations": found}
        bad += [(name, v) for v in found]  # 0 violations of any impact
    for s in sessions.values():
        s.context.close()
    (ARTIFACTS / "axe-results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    assert not bad, json.dumps(bad, indent=2)


def test_case_page_route_at_1366_px_highlights_the_current_step(server, chromium):
    """Issue 13: at a 1366 px wide window each diagram fits the page's column, every label is
    11 px or more on screen, the case's place is highlighted on every level, and a plain link
    shows the whole diagram. The screenshot is kept as a test artifact."""
    s = Session(chromium, server["base"])
    p = s.page
    p.set_viewport_size({"width": 1366, "height": 900})
    s.login("cndh.oversight")
    p.goto(f"/cases/{server['admit']}#ruta")  # waits for the shelter's admission (colocacion)
    main_box = p.locator("main").bounding_box()
    figures = p.locator("figure.route-fig")
    assert figures.count() >= 3  # main route, the protection stage, the placement process
    for i in range(figures.count()):
        fig = figures.nth(i)
        box = fig.locator("svg.route").bounding_box()
        assert (
            box["x"] >= main_box["x"]
            and box["x"] + box["width"] <= main_box["x"] + main_box["width"] + 1
        )
        assert fig.locator("svg.route .current").count() >= 1, fig.locator(
            "figcaption"
        ).inner_text()
        smallest = fig.locator("svg.route").evaluate(
            """svg => Math.min(...[...svg.querySelectorAll('text')].map(t =>
                   parseFloat(getComputedStyle(t).fontSize)
                       * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b)))"""
        )
        assert smallest >= 11, (fig.locator("figcaption").inner_text(), smallest)
    captions = [figures.nth(i).locator("figcaption").inner_text() for i in range(figures.count())]
    assert captions[0].startswith("Ruta principal:") and "aquí está el caso" in captions[0]
    assert any(c.startswith("Proceso en curso:") for c in captions)
    p.locator("figure.route-fig .current").first.scroll_into_view_if_needed()
    s.shot("16-case-route-1366-current-step")
    stage = p.locator("figure.route-fig", has=p.locator("nav.zoom")).first
    stage.get_by_role("link", name="Ver todo el diagrama").click()
    p.wait_for_load_state()
    assert p.locator("figure.route-fig nav.zoom a[aria-current='true']").count() >= 1
    s.close()
