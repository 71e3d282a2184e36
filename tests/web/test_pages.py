"""Fast page tests (no browser): rendering in es/en, login and session expiry, CSRF, the task
form with errors beside fields, least privilege (404), shelters, audit, security headers."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.route_engine import form_example

OFFICER = "inm-07.officer"


def _field_error(html: str, field_id: str) -> str | None:
    m = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return unescape(m.group(1)) if m else None


async def _inbox_with(b, task_id: str, pages: int = 40) -> str:
    """The inbox page that lists ``task_id``, following "Página siguiente": other tests' open
    tasks of the same authority may come first (the inbox is sorted by legal due date)."""
    url = "/inbox"
    for _ in range(pages):
        page = await b.get(url)
        if f"/tasks/{task_id}" in page.text:
            return page.text
        more = re.search(r'href="(/inbox\?[^"]*cursor=[^"]+)"', page.text)
        if not more:
            break
        url = unescape(more.group(1))
    raise AssertionError(f"task {task_id} is on no inbox page")


async def _task_of(json_api, folio: str, bpmn_id: str) -> str:
    tasks = await json_api.open_tasks(folio)
    return next(t["task_id"] for t in tasks if t["bpmn_id"] == bpmn_id)


def _detection_form(**drop_or_set) -> list[tuple[str, str]]:
    data = form_example("registrar_deteccion.schema.json")
    fields = [
        ("fecha_hora_deteccion", "2026-03-02T11:00"),
        ("canal_deteccion", data["canal_deteccion"]),
        ("tipo_lugar", data["tipo_lugar"]),
        ("municipio_deteccion", "Tapachula"),
        ("adultos_presentes.__rows", "0"),
        ("documentos_nna", "ninguno"),
        ("duda_edad", "false"),
        ("riesgo_inminente", "false"),
        ("informado_derechos", "true"),
    ]
    out = []
    for k, v in fields:
        if k in drop_or_set:
            if drop_or_set[k] is None:
                continue
            v = drop_or_set[k]
        out.append((k, v))
    return out


async def test_login_page_spanish_by_default_with_security_headers(browser):
    b = await browser()
    r = await b.get("/login")
    assert r.status_code == 200
    assert '<html lang="es">' in r.text and "Iniciar sesión" in r.text
    assert 'for="username"' in r.text and 'id="username"' in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    css = await b.get("/static/app.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"


async def test_language_switch_persists(browser):
    b = await browser(OFFICER)
    r = await b.get("/lang/en?next=/inbox")
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    page = await b.get("/inbox")
    assert '<html lang="en">' in page.text and "Task inbox" in page.text
    assert (await b.get("/lang/es?next=//evil.example")).headers["location"] == "/"
    assert "Bandeja de tareas" in (await b.get("/inbox")).text


async def test_wrong_password_and_login_csrf(browser):
    b = await browser()
    r = await b.login(OFFICER, "not-the-password")
    assert r.status_code == 401 and "Usuario o contraseña incorrectos." in r.text
    r = await b.client.post("/login", data={"username": OFFICER, "password": "x"})
    assert r.status_code == 403


async def test_pages_need_a_session_and_expired_sessions_relogin(browser):
    b = await browser()
    r = await b.get("/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Finbox")
    b.client.cookies.set("careroute_session", "expired-or-revoked")
    r = await b.get("/inbox")
    assert r.status_code == 303 and r.headers["location"].endswith("expired=1")
    page = await b.get(r.headers["location"])
    assert "Su sesión expiró" in page.text


async def test_task_form_errors_beside_fields_then_complete(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, folio, "registrar_deteccion")
    b = await browser(OFFICER)
    inbox = await _inbox_with(b, task_id)
    assert folio in inbox
    page = await b.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert '<label for="f-municipio_deteccion">' in page.text
    assert '<select id="f-canal_deteccion" name="canal_deteccion"' in page.text
    assert 'type="datetime-local" id="f-fecha_hora_deteccion"' in page.text
    assert 'name="duda_edad" value="true"' in page.text  # required boolean: radio sí/no

    bad = _detection_form(canal_deteccion=None, municipio_deteccion="Huixtla")
    r = await b.post(f"/tasks/{task_id}", bad)
    assert r.status_code == 422
    assert _field_error(r.text, "f-canal_deteccion") == "Este campo es obligatorio."
    assert 'aria-invalid="true"' in r.text
    assert 'value="Huixtla"' in r.text  # what was entered is kept
    assert 'value="2026-03-02T11:00"' in r.text

    r = await b.post(f"/tasks/{task_id}", _detection_form())
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{folio}?ok=task_done"
    done = [t for t in (await json_api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()[
        "tasks"] if t["bpmn_id"] == "registrar_deteccion"][0]  # fmt: skip
    assert done["status"] == "completed"
    case = await b.get(f"/cases/{folio}?ok=task_done")
    assert "Tarea completada." in case.text and "<svg" in case.text
    assert 'class="userTask done"' in case.text  # the completed step is shaded


async def test_english_form_and_messages(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, folio, "registrar_deteccion")
    b = await browser(OFFICER)
    await b.get("/lang/en")
    r = await b.post(f"/tasks/{task_id}", _detection_form(canal_deteccion=None))
    assert "Detection channel" in r.text
    assert _field_error(r.text, "f-canal_deteccion") == "This field is required."


async def test_repeated_rows_without_javascript(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, folio, "registrar_deteccion")
    b = await browser(OFFICER)
    form = _detection_form() + [("_add", "adultos_presentes")]
    r = await b.post(f"/tasks/{task_id}", form)
    assert r.status_code == 200
    assert 'name="adultos_presentes.0.relacion_declarada"' in r.text
    assert 'name="adultos_presentes.__rows" value="1"' in r.text
    # a row left incomplete is an error beside that row's field
    form = [(k, "1" if k == "adultos_presentes.__rows" else v) for k, v in _detection_form()]
    r = await b.post(f"/tasks/{task_id}", form)
    assert r.status_code == 422
    assert _field_error(r.text, "f-adultos_presentes-0-relacion_declarada")


async def test_csrf_is_required_on_every_form(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, folio, "registrar_deteccion")
    b = await browser(OFFICER)
    r = await b.post(f"/tasks/{task_id}", _detection_form(), csrf=False)
    assert r.status_code == 403 and "El formulario caducó" in r.text
    r = await b.post(f"/tasks/{task_id}/claim", [("csrf_token", "forged")], csrf=False)
    assert r.status_code == 403
    r = await b.post("/logout", [], csrf=False)
    assert r.status_code == 403


async def test_officer_of_another_state_gets_404(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, folio, "registrar_deteccion")
    b = await browser("inm-27.officer")
    assert (await b.get(f"/cases/{folio}")).status_code == 404
    r = await b.get(f"/tasks/{task_id}")
    assert r.status_code == 404 and "No encontrado" in r.text
    assert r.headers["content-security-policy"]


async def test_shelter_admission_changes_occupancy(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    await json_api.drive_until(folio, "admitir_en_cas")
    shelters = (await json_api.get("cndh.oversight", "/api/v1/shelters")).json()
    cas = next(s for s in shelters if s["code"] == "CAS-07-TAPACHULA")
    b = await browser("cas-07-tapachula.shelter-staff")
    before = await b.get(f"/shelters/{cas['id']}")
    assert f'<dd id="occupancy">{cas["occupancy"]}</dd>' in before.text
    r = await b.post(f"/shelters/{cas['id']}/admit", {"folio": folio})
    assert r.status_code == 303
    after = await b.get(r.headers["location"])
    assert "Ingreso registrado." in after.text
    assert f'<dd id="occupancy">{cas["occupancy"] + 1}</dd>' in after.text
    assert folio in after.text
    # a mistyped folio: 404 like any record one may not see, but on the shelter page, with a
    # message and what was typed
    again = await b.post(f"/shelters/{cas['id']}/admit", {"folio": "NO-SUCH-1"})
    assert again.status_code == 404
    assert "NO-SUCH-1" in again.text and 'name="folio"' in again.text
    assert "No hay un caso visible con ese folio." in again.text


async def test_oversight_audit_search_export_verify_compliance(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser("cndh.oversight")
    r = await b.get(f"/audit?case={folio}")
    assert r.status_code == 200 and "case.opened" in r.text
    csv = await b.get(f"/audit/export?format=csv&case={folio}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")  # a byte-order mark, for Excel
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("id,at,") and any("case.opened" in ln for ln in lines[1:])
    assert "Content-Disposition".lower() in {k.lower() for k in csv.headers}
    v = await b.get("/audit/verify")
    assert v.status_code == 200 and "La cadena de auditoría está íntegra." in v.text
    c = await b.get("/compliance")
    assert c.status_code == 200 and 'class="chart"' in c.text
    case = await b.get(f"/cases/{folio}")
    assert case.status_code == 200


@pytest.mark.parametrize("path", ["/inbox", "/shelters", "/compliance", "/audit"])
async def test_pages_render_in_both_languages(browser, path):
    user = "cndh.oversight" if path in ("/compliance", "/audit") else OFFICER
    b = await browser(user)
    es = await b.get(path)
    assert es.status_code == 200 and '<html lang="es">' in es.text
    await b.get("/lang/en")
    en = await b.get(path)
    assert en.status_code == 200 and '<html lang="en">' in en.text


async def test_officer_may_not_read_the_audit(browser):
    b = await browser(OFFICER)
    r = await b.get("/audit")
    assert r.status_code == 403 and "No tiene permiso" in r.text


async def test_shelter_transfer_discharge_and_left_forms(browser, json_api):
    shelters = (await json_api.get("cndh.oversight", "/api/v1/shelters")).json()
    tapachula = next(s for s in shelters if s["code"] == "CAS-07-TAPACHULA")
    tuxtla = next(s for s in shelters if s["code"] == "CAS-07-TUXTLA")
    folios = []
    for _ in range(2):
        folio = await json_api.open_case(OFFICER)
        await json_api.drive_until(folio, "admitir_en_cas")
        await json_api.complete(folio, "admitir_en_cas")
        folios.append(folio)
    b = await browser("cas-07-tapachula.shelter-staff")

    async def placement_of(folio: str) -> int:
        d = (await json_api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
        return next(p["id"] for p in d["placements"] if p["status"] == "admitted")

    base = f"/shelters/{tapachula['id']}/placements"
    pid = await placement_of(folios[0])
    move = {"to_shelter_id": str(tuxtla["id"]), "reason": "x"}
    # the shelter sees no transfer form and may not transfer: that is the Procuraduría's
    page = await b.get(f"/shelters/{tapachula['id']}")
    assert f"{base}/{pid}/transfer" not in page.text
    assert (await b.post(f"{base}/{pid}/transfer", move)).status_code == 403
    procuraduria = await browser("procuraduria-07.officer")
    assert f"{base}/{pid}/transfer" in (await procuraduria.get(f"/shelters/{tapachula['id']}")).text
    r = await procuraduria.post(f"{base}/{pid}/transfer", move)
    assert r.status_code == 303 and r.headers["location"].endswith("ok=transferred_ok")
    pid = await placement_of(folios[1])
    bad = await b.post(f"{base}/{pid}/left", {"fecha_hora_salida": "", "circunstancias": ""})
    assert bad.status_code == 422 and "obligatorio" in bad.text
    r = await b.post(
        f"{base}/{pid}/left",
        {"fecha_hora_salida": "2026-03-05T20:30", "circunstancias": "No volvió de la escuela"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("ok=left_ok")
    d = (await json_api.get("cndh.oversight", f"/api/v1/cases/{folios[1]}")).json()
    assert [p["status"] for p in d["placements"]] == ["left"]


async def test_a_completion_from_the_page_writes_what_the_api_writes(browser, json_api):
    """The page calls the same service as the API: a completion adds the same audit events
    (no extra task.read, no extra transaction), whether or not the form was rejected first."""
    from app.tables import AuditEvent, Case

    async def actions(folio: str) -> list[str]:
        case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
        rows = (
            await AuditEvent.select(AuditEvent.action)
            .where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id)
        )
        return [r["action"] for r in rows]

    via_api = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, via_api, "registrar_deteccion")
    before = await actions(via_api)
    data = {"data": form_example("registrar_deteccion.schema.json")}
    r = await json_api.post(OFFICER, f"/api/v1/tasks/{task_id}/complete", json=data)
    assert r.status_code == 200, r.text
    api_added = (await actions(via_api))[len(before) :]

    via_page = await json_api.open_case(OFFICER)
    task_id = await _task_of(json_api, via_page, "registrar_deteccion")
    b = await browser(OFFICER)
    before = await actions(via_page)
    rejected = await b.post(f"/tasks/{task_id}", _detection_form(canal_deteccion=None))
    assert rejected.status_code == 422
    assert (await actions(via_page))[len(before) :] == []  # a rejected form writes nothing
    r = await b.post(f"/tasks/{task_id}", _detection_form())
    assert r.status_code == 303
    page_added = (await actions(via_page))[len(before) :]
    assert "task.read" not in page_added and "case.read" not in page_added

    def steps(added: list[str]) -> list[str]:  # the page's form dates the detection earlier,
        return [a for a in added if not a.startswith("deadline.")]  # so deadlines escalate

    assert steps(page_added) == steps(api_added) == ["task.completed", "task.routed"]


async def test_fear_of_return_and_imminent_risk_forms_on_the_case_page(browser, json_api):
    """The case page records the late reports with the API's service: fear of return (not by
    the consulate) and imminent risk; a mistake comes back with the field's label."""
    folio = await json_api.open_case(OFFICER)
    await json_api.drive_until(folio, "consolidar_bia")
    shelter = await browser("cas-07-tapachula.shelter-staff")
    page = await shelter.get(f"/cases/{folio}")
    assert f"/cases/{folio}/fear-of-return" in page.text
    assert f"/cases/{folio}/imminent-risk" in page.text
    bad = await shelter.post(f"/cases/{folio}/fear-of-return", {"fecha_conocimiento": "2999-01-01"})
    assert bad.status_code == 422 and "Qué expresó la NNA" in bad.text
    r = await shelter.post(
        f"/cases/{folio}/fear-of-return",
        [("motivos", "temor_retorno"), ("motivos", "desea_solicitar_refugio")],
    )
    assert r.status_code == 303 and "ok=fear_recorded_referral" in r.headers["location"]
    bad = await shelter.post(f"/cases/{folio}/imminent-risk", {"descripcion": "Amenazas."})
    assert bad.status_code == 422 and "Bien en riesgo" in bad.text
    r = await shelter.post(
        f"/cases/{folio}/imminent-risk", [("tipo_riesgo", "vida"), ("descripcion", "Amenazas.")]
    )
    assert r.status_code == 303 and r.headers["location"].endswith("ok=risk_reported#late-reports")
    tasks = [t["bpmn_id"] for t in await json_api.open_tasks(folio)]
    assert {"apoyar_solicitud_asilo", "valorar_reporte_riesgo_inminente"} <= set(tasks)
