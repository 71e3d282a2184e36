"""Pages added for the daily work around tasks: opening a case (identification form + identity
apart), reading a child's identity (audited), deadline notices, reassigning a task, and the case
timeline in words instead of audit codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from app.route_engine import form_example
from app.services import deadlines, personal_data
from app.tables import AuditEvent, Case, CaseIdentity
from bench.deadline_seed import seed_cases

OFFICER = "inm-07.officer"


def _field_error(html: str, field_id: str) -> str | None:
    m = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return unescape(m.group(1)) if m else None


def _opening_fields(**changes: str | None) -> dict[str, str]:
    """The ``inicio_caso`` example as the page posts it (local date-time, as typed)."""
    data = form_example("inicio_caso.schema.json")
    fields = {k: str(v) for k, v in data.items()}
    fields["fecha_deteccion"] = "2026-03-02T11:00"
    fields["identidad.nombres"] = "Dania"
    fields["identidad.apellidos"] = "Prueba Web"
    fields["identidad.alias"] = "Dani\nDanita"
    for key, value in changes.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


async def test_new_case_page_defaults_to_my_state(browser):
    b = await browser(OFFICER)
    r = await b.get("/cases/new")
    assert r.status_code == 200 and "Abrir un caso" in r.text
    assert re.search(r'<option value="07"\s+selected', r.text)
    assert 'name="identidad.nombres"' in r.text and 'for="f-identidad-nombres"' in r.text
    assert 'name="fecha_deteccion"' in r.text and 'type="datetime-local"' in r.text


async def test_open_a_case_with_errors_then_valid_and_read_identity(browser, json_api):
    b = await browser(OFFICER)
    before = await Case.count()
    bad = _opening_fields(**{"identidad.nombres": None, "sexo": None, "idioma": "x" * 500})
    r = await b.post("/cases/new", bad)
    assert r.status_code == 422
    assert _field_error(r.text, "f-identidad-nombres") == "Este campo es obligatorio."
    assert _field_error(r.text, "f-sexo") == "Este campo es obligatorio."
    assert _field_error(r.text, "f-idioma")
    assert 'value="Prueba Web"' in r.text  # entered values kept
    assert await Case.count() == before  # nothing written

    r = await b.post("/cases/new", _opening_fields())
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/cases/CHIS-\d{4}-\d{6}\?ok=case_opened", location)
    folio = location.split("/")[2].split("?")[0]
    page = await b.get(location)
    assert "Caso abierto. La primera tarea ya está turnada." in page.text
    assert "Dania" not in page.text  # identity is not on the case page
    assert "Caso abierto" in page.text and "Tarea turnada" in page.text  # timeline in words
    row = await Case.select(Case.id, Case.summary).where(Case.folio == folio).first()
    ident = await CaseIdentity.select().where(CaseIdentity.case == row["id"]).first()
    assert "Dania" not in str(ident["data"])  # encrypted at rest with the case's key (issue 16)
    plain = await personal_data.read_identities([{"case_id": row["id"], "data": ident["data"]}])
    assert plain[row["id"]]["nombres"] == "Dania"

    reads = AuditEvent.count().where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "case.identity_read")
    )
    assert await reads == 0
    shown = await b.get(f"/cases/{folio}/identidad")
    assert shown.status_code == 200
    assert "Dania" in shown.text and "Dani, Danita" in shown.text
    assert "quedó registrada en la auditoría" in shown.text
    assert await reads == 1

    other = await browser("inm-27.officer")
    assert (await other.get(f"/cases/{folio}/identidad")).status_code == 404


async def test_open_a_case_outside_my_jurisdiction_or_with_an_unknown_relative(browser):
    b = await browser("inm-27.officer")
    r = await b.post("/cases/new", _opening_fields(jurisdiccion="07"))
    assert r.status_code == 422
    assert _field_error(r.text, "f-jurisdiccion") == "Fuera de la jurisdicción de su autoridad."
    r = await b.post(
        "/cases/new", _opening_fields(jurisdiccion="27", municipio="Centro", family_of="CHIS-1")
    )
    assert r.status_code == 422
    assert _field_error(r.text, "f-family_of") == "No hay un caso visible con ese folio."


async def test_oversight_cannot_open_cases(browser):
    b = await browser("cndh.oversight")
    assert (await b.get("/cases/new")).status_code == 403
    r = await b.post("/cases/new", _opening_fields())
    assert r.status_code == 403


async def test_supervisor_reassigns_a_task_from_the_task_page(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    task = next(
        t for t in await json_api.open_tasks(folio) if t["bpmn_id"] == "registrar_deteccion"
    )
    officer = await browser(OFFICER)
    page = await officer.get(f"/tasks/{task['task_id']}")
    assert 'action="/tasks/' + task["task_id"] + '/reassign"' not in page.text
    forbidden = await officer.post(f"/tasks/{task['task_id']}/reassign", {"username": OFFICER})
    assert forbidden.status_code == 403

    sup = await browser("inm-07.supervisor")
    page = await sup.get(f"/tasks/{task['task_id']}")
    assert f'<option value="{OFFICER}">' in page.text
    bad = await sup.post(f"/tasks/{task['task_id']}/reassign", {"username": "inm-27.officer"})
    assert bad.status_code == 422
    assert "No es una persona activa de su autoridad." in bad.text
    r = await sup.post(f"/tasks/{task['task_id']}/reassign", {"username": OFFICER})
    assert r.status_code == 303 and r.headers["location"].endswith("ok=task_reassigned")
    detail = (await json_api.get(OFFICER, f"/api/v1/tasks/{task['task_id']}")).json()
    assert detail["task"]["assignee_username"] == OFFICER
    shown = await sup.get(f"/tasks/{task['task_id']}")
    assert f"<dd>officer · INM-07 ({OFFICER})</dd>" in unescape(shown.text)
    case_page = await sup.get(f"/cases/{folio}")
    assert "Tarea reasignada" in case_page.text


async def test_notices_page_lists_escalations_and_marks_them_read(browser):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    ids = await seed_cases(1, t0, prefix="WEBN")
    await deadlines.sweep(t0 + timedelta(hours=24, seconds=1), sender=None)
    folio = (await Case.select(Case.folio).where(Case.id == ids[0]).first())["folio"]

    sup = await browser("inm-07.supervisor")
    page = await sup.get("/notifications?unread=1")
    assert page.status_code == 200 and folio in page.text
    assert "Plazo vencido" in page.text and "Notificar a la Procuraduría" in page.text
    note_id = re.search(
        rf'href="/cases/{folio}">.*?action="/notifications/(\d+)/read"', page.text, re.S
    ).group(1)
    other = await browser("inm-07.head")
    assert (await other.post(f"/notifications/{note_id}/read", {})).status_code == 404
    assert (await sup.post("/notifications/99999999999/read", {})).status_code == 404
    r = await sup.post(f"/notifications/{note_id}/read", {})
    assert r.status_code == 303
    unread = await sup.get("/notifications?unread=1")
    assert f"/notifications/{note_id}/read" not in unread.text
    everything = await sup.get("/notifications")
    assert folio in everything.text and "Leído" in everything.text
    await sup.get("/lang/en")
    assert "Deadline notices" in (await sup.get("/notifications")).text


async def test_correct_a_childs_identity_from_its_page(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    page = await b.get(f"/cases/{folio}/identidad")
    assert page.status_code == 200 and 'action="/cases/' + folio + '/identidad"' in page.text
    bad = await b.post(
        f"/cases/{folio}/identidad", {"identidad.nombres": "", "identidad.apellidos": "x" * 300}
    )
    assert bad.status_code == 422
    assert _field_error(bad.text, "f-identidad-nombres") == "Este campo es obligatorio."
    assert _field_error(bad.text, "f-identidad-apellidos")
    unchanged = (await json_api.get("cndh.oversight", f"/api/v1/cases/{folio}/identity")).json()
    r = await b.post(
        f"/cases/{folio}/identidad",
        {"identidad.nombres": "Nombre Corregido", "identidad.lugar_origen": "San Pedro Sula"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{folio}?ok=identity_saved"
    now = (await json_api.get("cndh.oversight", f"/api/v1/cases/{folio}/identity")).json()
    assert now["identidad"]["nombres"] == "Nombre Corregido"
    assert now["identidad"]["lugar_origen"] == "San Pedro Sula"
    assert unchanged["identidad"]["nombres"] != "Nombre Corregido"
    event = await (
        AuditEvent.select(AuditEvent.changes)
        .where((AuditEvent.case_folio == folio) & (AuditEvent.action == "case.identity_updated"))
        .first()
    )
    assert "Nombre Corregido" not in event["changes"] and "nombres" in event["changes"]
    oversight = await browser("cndh.oversight")
    page = await oversight.get(f"/cases/{folio}/identidad")
    assert page.status_code == 200 and 'action="/cases/' not in page.text  # reads, no form
    r = await oversight.post(f"/cases/{folio}/identidad", {"identidad.nombres": "Otro"})
    assert r.status_code == 403


async def test_relocate_a_child_to_another_state_from_the_case_page(browser, json_api):
    folio = await json_api.open_case(OFFICER)
    b = await browser(OFFICER)
    page = await b.get(f"/cases/{folio}")
    assert 'action="/cases/' + folio + '/relocate"' in page.text
    missing = await b.post(f"/cases/{folio}/relocate", {"estado": "27", "municipio": "Centro"})
    assert missing.status_code == 422 and "Este campo es obligatorio." in missing.text
    bad = await b.post(f"/cases/{folio}/relocate", {"estado": "99", "reason": "x"})
    assert bad.status_code == 422
    assert "Debe ser la clave INEGI de un estado (01 a 32)." in bad.text
    tabasco = await browser("inm-27.officer")
    assert (await tabasco.get(f"/cases/{folio}")).status_code == 404
    r = await b.post(
        f"/cases/{folio}/relocate",
        {"estado": "27", "municipio": "Centro", "reason": "Trasladada con su madre"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/inbox?ok=case_relocated_away"
    assert (await b.get(f"/cases/{folio}")).status_code == 404  # INM-07 lost access
    moved = await tabasco.get(f"/cases/{folio}")
    assert moved.status_code == 200 and 'title="case.relocated"' in moved.text
    tasks = await json_api.open_tasks(folio, "cndh.oversight")
    assert {t["authority"] for t in tasks} == {"INM-27"}


async def test_record_a_custody_in_a_migration_station_from_the_case_page(browser, json_api):
    """LM art. 99: INM records the stay as it happened (not an attestation); hours show on the
    case page and the oversight dashboard; bad instants come back in Spanish with the label."""
    from app.tables import Authority, StationCustody
    from app.web.forms import LOCAL_TZ

    folio = await json_api.open_case(OFFICER)
    inm = (await Authority.select(Authority.id).where(Authority.code == "INM-07").first())["id"]
    b = await browser(OFFICER)
    page = await b.get(f"/cases/{folio}")
    assert f'action="/cases/{folio}/custody"' in page.text
    assert "Estancia en estación migratoria" in page.text

    def local(delta: timedelta) -> str:
        return (datetime.now(UTC) + delta).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")

    fields = {"station_authority_id": str(inm), "station_name": "Estación Siglo XXI"}
    missing = await b.post(f"/cases/{folio}/custody", fields)
    assert missing.status_code == 422
    assert "Ingreso a la estación: Este campo es obligatorio." in unescape(missing.text)
    future = await b.post(
        f"/cases/{folio}/custody", fields | {"started_at": local(timedelta(hours=2))}
    )
    assert future.status_code == 422
    assert "No puede ser posterior a este momento." in unescape(future.text)
    assert 'value="Estación Siglo XXI"' in future.text  # what was typed stays
    other = await browser("inm-27.officer")
    assert (await other.post(f"/cases/{folio}/custody", fields)).status_code == 404
    assert await StationCustody.count().where(StationCustody.case.folio == folio) == 0

    r = await b.post(f"/cases/{folio}/custody", fields | {"started_at": local(-timedelta(hours=3))})
    assert r.status_code == 303
    assert r.headers["location"] == f"/cases/{folio}?ok=custody_recorded#custody"
    page = await b.get(f"/cases/{folio}")
    assert "Sigue en la estación" in page.text and 'title="custody.started"' in page.text
    row = await StationCustody.select().where(StationCustody.case.folio == folio).first()
    assert row["ended_at"] is None and row["station_name"] == "Estación Siglo XXI"

    end = f"/cases/{folio}/custody/{row['id']}/end"
    early = await b.post(end, {"ended_at": local(-timedelta(hours=4))})
    assert early.status_code == 422
    assert "No puede ser anterior al ingreso a la estación." in unescape(early.text)
    r = await b.post(end, {"ended_at": local(-timedelta(hours=1))})
    assert r.status_code == 303 and r.headers["location"].endswith("ok=custody_ended_ok#custody")
    row = await StationCustody.select().where(StationCustody.id == row["id"]).first()
    assert (row["ended_at"] - row["started_at"]) == timedelta(hours=2)

    oversight = await browser("cndh.oversight")
    dashboard = await oversight.get("/compliance")
    assert dashboard.status_code == 200
    assert "NNA en estación migratoria ahora" in dashboard.text


async def test_the_opening_page_offers_only_the_channels_of_my_authority(browser):
    shelter = await browser("cas-07-tapachula.shelter-staff")
    page = await shelter.get("/cases/new")
    assert page.status_code == 200
    assert 'value="autopresentacion_dif"' in page.text
    assert 'value="revision_migratoria_inm"' not in page.text
    inm = await browser(OFFICER)
    page = await inm.get("/cases/new")
    assert 'value="revision_migratoria_inm"' in page.text
    assert 'value="autopresentacion_dif"' not in page.text
    prosecutor = await browser("fiscalia-07.officer")  # receives children by no channel
    assert (await prosecutor.get("/cases/new")).status_code == 403


async def test_reopen_a_closed_case_from_its_page(browser):
    """The Procuraduría's supervisor reopens from the case page: the form is Spanish, errors come
    back beside their field, the reason shows in the case's runs."""
    from tests.app.test_reopen import closed_case

    folio = await closed_case("Reabrir en página")
    officer = await browser("procuraduria-07.officer")
    assert f'action="/cases/{folio}/reopen"' not in (await officer.get(f"/cases/{folio}")).text
    b = await browser("procuraduria-07.supervisor")
    page = await b.get(f"/cases/{folio}")
    assert f'action="/cases/{folio}/reopen"' in page.text and "Reabrir el caso" in page.text
    assert "La reunificación o el cuidado familiar no funcionó" in page.text
    blank = await b.post(f"/cases/{folio}/reopen", {"categoria": "otro", "motivo": " "})
    assert blank.status_code == 422
    assert _field_error(blank.text, "f-motivo")
    r = await b.post(
        f"/cases/{folio}/reopen",
        {"categoria": "solicitud_nna", "motivo": "Pide volver a la casa hogar."},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{folio}?ok=case_reopened"
    page = await b.get(f"/cases/{folio}?ok=case_reopened")
    assert "Ejecuciones de la ruta" in page.text and "Pide volver a la casa hogar." in page.text
    assert 'title="case.reopened"' in page.text
    assert f'action="/cases/{folio}/reopen"' not in page.text  # open again: nothing to reopen
