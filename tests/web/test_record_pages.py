"""Pages of issue 14 (no browser): the case list and search within scope (an audited name
search), completed forms rendered from their schema (an audited read, 404 outside scope), the
approval task beside what it approves, and the printable case file."""

from __future__ import annotations

import json
import re
import secrets
from html import unescape

from app.route_engine import form_example, form_schema
from app.services.inbox import CONTEXT_FIELDS
from app.tables import AuditEvent
from app.web import answers
from tests.app.helpers import user_for

OFFICER = "inm-07.officer"


def _unique(prefix: str) -> str:
    return prefix + "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


def _text(html: str) -> str:
    """The page's visible text, tags removed (for asserting what a reader sees)."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


async def _last(action: str, username: str) -> dict:
    row = (
        await AuditEvent.select()
        .where((AuditEvent.action == action) & (AuditEvent.actor_username == username))
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    assert row is not None
    row["changes"] = json.loads(row["changes"])
    return row


async def test_case_list_finds_by_name_and_folio_within_scope(browser, json_api):
    surname = _unique("Ramírez")
    folio = await json_api.open_case(OFFICER, name=f"Ángela {surname}")
    b = await browser(OFFICER)
    page = await b.get("/cases", params={"nombre": f"angela {surname}"})
    assert page.status_code == 200
    assert f'href="/cases/{folio}"' in page.text
    assert f"Ángela {surname} Prueba" in _text(page.text)  # a name search shows the name
    assert "queda registrada en la auditoría" in page.text
    event = await _last("case.searched", OFFICER)
    assert event["changes"]["results"] == [folio]
    assert surname.lower() not in json.dumps(event["changes"]).lower()
    # by folio: no name on the page, no audit event
    before = await AuditEvent.count().where(AuditEvent.action == "case.searched")
    page = await b.get("/cases", params={"folio": folio})
    assert f'href="/cases/{folio}"' in page.text and surname not in page.text
    assert await AuditEvent.count().where(AuditEvent.action == "case.searched") == before
    # the menu leads there; the filters are labelled (axe: every field has a label)
    assert '<a href="/cases">Casos</a>' in page.text
    assert '<label for="q-nombre">Nombre de la NNA</label>' in page.text
    # another state's officer: not listed under any filter
    other = await browser("inm-27.officer")
    for params in ({"nombre": surname}, {"folio": folio}, {}):
        assert f'href="/cases/{folio}"' not in (await other.get("/cases", params=params)).text


async def test_case_list_filter_error_keeps_what_was_typed(browser):
    b = await browser(OFFICER)
    page = await b.get("/cases", params={"nombre": "x", "municipio": "Huixtla"})
    assert page.status_code == 422
    assert "Nombre de la NNA: Escriba al menos 2 letras." in _text(page.text)
    assert 'value="Huixtla"' in page.text and 'value="x"' in page.text


async def test_completed_form_page_in_spanish_and_audited(browser, json_api):
    folio = await json_api.open_case(OFFICER, name=_unique("Forma"))
    data = form_example("registrar_deteccion.schema.json")
    data["adultos_presentes"] = [
        {"relacion_declarada": "otro_familiar", "presenta_documentos_vinculo": False}
    ]
    result = await json_api.complete(folio, "registrar_deteccion", data)
    task_id = result["task_id"]
    b = await browser(OFFICER)
    case = await b.get(f"/cases/{folio}")
    assert f'href="/cases/{folio}/formularios/{task_id}"' in case.text
    assert f'href="/cases/{folio}/expediente"' in case.text
    page = await b.get(f"/cases/{folio}/formularios/{task_id}")
    assert page.status_code == 200
    seen = _text(page.text)
    assert "Canal de detección Revisión migratoria" in seen  # an enum value in words
    assert "¿Hay duda sobre si es menor de 18 años? No" in seen  # a boolean in words
    assert "revision_migratoria" not in seen
    assert "Registrado por inm-07.officer" in seen or "Registrado por officer" in seen
    assert "Otro familiar No" in seen  # a row of the table of adults, in words
    event = await _last("case.forms_read", OFFICER)
    assert event["case_folio"] == folio and event["task_id"] == task_id
    assert event["changes"] == {"forms": ["registrar_deteccion"], "count": 1}
    # another authority: 404 for the form and the file, as for the case
    other = await browser("inm-27.officer")
    assert (await other.get(f"/cases/{folio}/formularios/{task_id}")).status_code == 404
    assert (await other.get(f"/cases/{folio}/expediente")).status_code == 404
    assert (await b.get(f"/cases/{folio}/formularios/no-such-task")).status_code == 404


async def test_printable_case_file_has_every_form_and_no_menu_in_print(browser, json_api):
    folio = await json_api.open_case(OFFICER, name=_unique("Expediente"))
    await json_api.complete(folio, "registrar_deteccion")
    b = await browser(OFFICER)
    page = await b.get(f"/cases/{folio}/expediente")
    assert page.status_code == 200
    seen = _text(page.text)
    assert f"Expediente del caso {folio}" in seen
    assert "Apertura del caso" in seen and "Registrar" in seen  # the opening form and the task
    assert "<svg" not in page.text  # diagrams are left out of the file
    assert "<form" not in page.text.split('<main id="main"', 1)[1]  # no action forms
    css = (await b.get("/static/app.css")).text
    print_rules = css.split("@media print", 1)[1]
    assert "header.top" in print_rules and "display: none" in print_rules
    event = await _last("case.forms_read", OFFICER)
    assert event["case_folio"] == folio and event["changes"]["count"] == 2


async def test_supervisor_sees_the_assessment_beside_the_approval_form(browser, json_api):
    folio = await json_api.open_case(OFFICER, name=_unique("Bia"))
    task = await json_api.drive_until(folio, "aprobar_bia", max_steps=80)
    sup = await browser("procuraduria-07.supervisor")
    page = await sup.get(f"/tasks/{task['task_id']}")
    assert page.status_code == 200
    assert 'class="approval"' in page.text
    seen = _text(page.text)
    assert "Lo que se aprueba" in seen
    assert "Consolidar la evaluación del interés superior (BIA)" in seen  # what is approved
    assert "Entrevista jurídica" in seen
    level = form_example("consolidar_bia.schema.json")["nivel_riesgo"]
    assert f"Nivel de riesgo {level.capitalize()}" in seen
    assert 'action="/tasks/' in page.text  # the decision form, on the same page
    event = await _last("task.read", "procuraduria-07.supervisor")
    assert "consolidar_bia" in event["changes"]["forms"]


def test_answers_render_enum_words_oneof_titles_booleans_and_tables():
    schema = {
        "properties": {
            "nivel": {"title": "Nivel", "enum": ["a"], "x-enum-labels": {"a": {"es": "Alto"}}},
            "via": {"title": "Vía", "oneOf": [{"const": "x", "title": "Por consulado"}]},
            "ok": {"title": "¿Listo?", "type": "boolean"},
            "vacio": {"title": "Vacío", "type": "string"},
            "filas": {
                "title": "Medidas",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "m": {"title": "Medida", "type": "string"},
                        "e": {
                            "title": "Estatus",
                            "enum": ["p"],
                            "x-enum-labels": {"p": {"es": "Pendiente"}},
                        },
                    },
                },
            },
        }
    }
    data = {
        "nivel": "a",
        "via": "x",
        "ok": True,
        "vacio": "",
        "filas": [{"m": "Salud", "e": "p"}],
        "extra": 3,
    }
    out = {a.key: a for a in answers.render(schema, data, "es")}
    assert out["nivel"].text == "Alto" and out["via"].text == "Por consulado"
    assert out["ok"].text == "Sí" and "vacio" not in out
    assert out["filas"].columns == ["Medida", "Estatus"]
    assert out["filas"].rows == [["Salud", "Pendiente"]]
    assert out["extra"].label == "extra" and out["extra"].text == "3"  # never hidden


async def test_inbox_items_say_which_measure_follow_up_and_deadline(browser, json_api):
    folio = await json_api.open_case(OFFICER, name=_unique("Plan"))
    await json_api.drive_until(folio, "dar_seguimiento_medida", max_steps=120)
    follow_ups = [t for t in await json_api.open_tasks(folio)
                  if t["bpmn_id"] == "dar_seguimiento_medida"]  # fmt: skip
    task = follow_ups[0]
    user = user_for(task["authority"], task["rol"])
    r = await json_api.get(
        user, "/api/v1/inbox", params={"scope": "authority", "process": "plan_restitucion",
                                       "limit": 200},
    )  # fmt: skip
    items = [i for i in r.json()["items"] if i["folio"] == folio]
    assert {i["task_id"] for i in items} >= {t["task_id"] for t in follow_ups}
    mine = next(i for i in items if i["task_id"] == task["task_id"])
    measure = mine["context"]["medida"]
    assert mine["repeat"] == 1 and isinstance(measure["numero"], int)
    # coded fields only: a measure's free-text description is read in the record (audited)
    assert set(measure) <= set(CONTEXT_FIELDS["medida"]) and "tipo_medida" in measure
    b = await browser(user)
    page = await b.get("/inbox", params={"scope": "authority"})
    for _ in range(40):
        if task["task_id"] in page.text:
            break
        more = re.search(r'href="(/inbox\?[^"]*cursor=[^"]+)"', page.text)
        assert more, "the follow-up is on an inbox page"
        page = await b.get(unescape(more.group(1)))
    row = page.text.split(f'href="/tasks/{task["task_id"]}"', 1)[1].split("</td>", 1)[0]
    seen = _text(row)
    assert f"Medida {measure['numero']}:" in seen
    assert "Seguimiento n.º 1" in seen
    kinds = form_schema("elaborar_plan_restitucion.schema.json")["properties"]["medidas"]["items"]
    words = kinds["properties"]["tipo_medida"]["x-enum-labels"][measure["tipo_medida"]]["es"]
    assert words in seen  # the kind of measure in words, not its code


def test_subject_names_the_panel_member_and_the_deadline():
    item = {
        "bpmn_id": "votar_panel_bid",
        "context": {"miembro": {"usuario": "ana.p", "funcion": "presidencia", "orden": 2}},
        "deadline_id": "D1_notificacion_procuraduria",
        "repeat": 1,
    }
    parts = answers.subject(item, "es")
    assert parts[0].startswith("Integrante 2 del panel: ana.p")
    assert parts[-1].startswith("Plazo: El INM notifica a la Procuraduría")
    again = answers.subject({**item, "context": {}, "repeat": 3}, "es")
    assert again[0] == "Vez n.º 3"
    follow = answers.subject(
        {"bpmn_id": "dar_seguimiento_medida", "repeat": 2,
         "context": {"medida": {"numero": 4, "tipo_medida": "x"}}}, "es",
    )  # fmt: skip
    assert follow == ["Medida 4: x", "Seguimiento n.º 2"]
