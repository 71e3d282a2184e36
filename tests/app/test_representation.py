"""The child's representative, heard alone in a language the child understands, and closing as an
adult, through the API (issue 12, item 6): the task-completion endpoint answers 409 naming the
guarantee and its legal source, with each field, and writes nothing; a malformed form stays 422.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from app.route_engine import form_example, route_engine
from app.tables import AuditEvent, Authority, Case, CaseAccess, Task
from tests.app.helpers import opening_form, store_case, user_for
from workflows.guarantees import GUARANTEE_BY_NAME

REPRESENTACION = "representacion_de_la_nna"


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def _audit_count(case_id: int) -> int:
    return await AuditEvent.count().where(AuditEvent.case_id == case_id)


async def _refused(api, folio: str, bpmn_id: str, guarantee: str, **overrides: Any) -> dict:
    """Completing ``bpmn_id`` (its example with ``overrides``) answers 409 naming ``guarantee``
    and its legal source; no audit event, the task still open."""
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == bpmn_id)
    case_id = await _case_id(folio)
    before = await _audit_count(case_id)
    data = form_example(f"{bpmn_id}.schema.json") | overrides
    r = await api.post(
        user_for(task["authority"], task["rol"]),
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={"data": data},
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["guarantee"] == guarantee
    assert body["legal_source"] == GUARANTEE_BY_NAME[guarantee].legal_source
    assert body["errors"] and all(e["guarantee"] == guarantee for e in body["errors"])
    assert await _audit_count(case_id) == before
    row = await Task.select(Task.status).where(Task.task_id == task["task_id"]).first()
    assert row["status"] == "open"
    return body


async def _open(api, **form: Any) -> str:
    body = {"form": opening_form() | form, "identidad": {"nombres": "Prueba", "apellidos": "R"}}
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["folio"]


async def test_the_representative_can_be_replaced_and_must_be_a_procuraduria_user(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "designar_representante")
    # an unaccompanied child: suplencia, never coadyuvante (LGDNNA art. 106)
    body = await _refused(
        api, folio, "designar_representante", REPRESENTACION,
        tipo="coadyuvante", representacion_originaria="madre",
    )  # fmt: skip
    assert [e["path"] for e in body["errors"]] == ["$.data.tipo"]
    # the representative is an identified user of a Procuraduría: 422, nothing written
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "designar_representante")
    wrong = form_example("designar_representante.schema.json") | {
        "representante_usuario": "inm-07.officer"
    }
    r = await api.post(
        "procuraduria-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json={"data": wrong}
    )
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.data.representante_usuario"]
    await api.complete(folio, "designar_representante")

    url = f"/api/v1/cases/{folio}/representative"
    new = form_example("designar_representante.schema.json", datetime.now(UTC)) | {
        "representante_usuario": "procuraduria-07.supervisor",
        "representante_nombre": "Lic. Beatriz Ruiz",
    }
    r = await api.post("inm-07.officer", url, json={"data": new})
    assert r.status_code == 403, r.text
    r = await api.post("procuraduria-07.officer", url, json={"data": new})
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.data.motivo_sustitucion"]
    new["motivo_sustitucion"] = "La abogada designada cambió de adscripción."
    r = await api.post("procuraduria-07.officer", url, json={"data": new})
    assert r.status_code == 200, r.text
    first, second = r.json()["representacion"]
    assert (first["representante_usuario"], second["representante_usuario"]) == (
        "procuraduria-07.officer",
        "procuraduria-07.supervisor",
    )
    assert second["motivo_sustitucion"] == new["motivo_sustitucion"]
    shown = await api.get("cndh.oversight", url)
    assert shown.status_code == 200, shown.text
    assert shown.json()["representacion"] == [first, second]
    audit = (
        await api.get("cndh.oversight", "/api/v1/audit", params={"case": folio, "limit": 500})
    ).json()["items"]
    appointed = [e for e in audit if e["action"] == "case.representative_designated"]
    assert sorted(e["changes"]["sustitucion"] for e in appointed) == [False, True]
    assert {e["changes"]["representante_usuario"] for e in appointed} == {
        "procuraduria-07.officer",
        "procuraduria-07.supervisor",
    }
    assert all("motivo" not in str(e["changes"]) for e in appointed)  # no free text audited


async def _in_flight(
    process_id: str, until: str, variables: dict[str, Any], folio: str | None = None
) -> str:
    """A case whose route reached ``until`` without anyone appointing a representative, as a
    case in flight before this version of the route did: its engine state, its task index
    routed in Chiapas, and the authorities' access."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    base = {"jurisdiccion": "07", "fecha_deteccion": now.isoformat()}
    case = route_engine().start_case(None, now, process_id=process_id, variables=base | variables)
    for _ in range(20):
        ready = sorted(t.bpmn_id for t in case.ready_tasks())
        if until in ready:
            break
        task = next(t for t in case.ready_tasks() if t.bpmn_id == ready[0])
        case.complete_task(task.task_id, form_example(task.form_name, now), now)
    folio = folio or f"REPR-CHIS-{process_id[:6].upper()}"
    case_id = await store_case(folio, "07", case, index_tasks_at=now)
    codes = {"PROCURADURIA": "PROCURADURIA-07", "COMAR": "COMAR-07", "INM": "INM-07"}
    ids = {
        r["tipo"]: r["id"]
        for r in await Authority.select(Authority.id, Authority.tipo).where(
            Authority.code.is_in(list(codes.values()))
        )
    }
    for t in case.ready_tasks():
        await Task.update({Task.authority: ids[t.lane]}).where(Task.task_id == t.task_id)
    for authority_id in ids.values():
        await CaseAccess.insert(CaseAccess(case=case_id, authority=authority_id, reason="ruta"))
    return folio


async def test_no_eligibility_interview_without_a_representative_through_the_api(api):
    folio = await _in_flight("referencia_comar", "entrevista_elegibilidad", {})
    body = await _refused(api, folio, "entrevista_elegibilidad", REPRESENTACION)
    assert [e["path"] for e in body["errors"]] == ["$.data"]
    # the Procuraduría appoints one (the same command replaces it later); then COMAR interviews
    data = form_example("designar_representante.schema.json", datetime.now(UTC))
    r = await api.post(
        "procuraduria-07.officer", f"/api/v1/cases/{folio}/representative", json={"data": data}
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["representacion"]) == 1
    await api.complete(folio, "entrevista_elegibilidad")


async def test_closing_a_presumed_child_as_an_adult_is_refused_through_the_api(api):
    folio = await _in_flight(
        "cierre", "proponer_cierre", {"presuncion_minoria_edad": True, "fecha_nacimiento": None}
    )
    body = await _refused(
        api, folio, "proponer_cierre", "cierre_como_adulto_solo_con_mayoria",
        motivo="mayoria_edad", destino_nna="vida_independiente",
    )  # fmt: skip
    assert {e["path"] for e in body["errors"]} == {"$.data.motivo", "$.data.destino_nna"}
    await api.complete(folio, "proponer_cierre")


async def test_an_interview_without_the_child_s_language_is_refused_through_the_api(api):
    folio = await _open(api, idioma="Mam")  # free text as before the catalog: loaded into it
    await api.drive_until(folio, "entrevista_juridica")
    guarantee = "interprete_en_lengua_de_la_nna"
    body = await _refused(api, folio, "entrevista_juridica", guarantee)
    assert [e["path"] for e in body["errors"]] == ["$.data.interprete_utilizado"]
    body = await _refused(
        api, folio, "entrevista_juridica", guarantee,
        interprete_utilizado=True, idioma_interprete="kiche",
    )  # fmt: skip
    assert [e["path"] for e in body["errors"]] == ["$.data.idioma_interprete"]
    await api.complete(
        folio, "entrevista_juridica", interprete_utilizado=True, idioma_interprete="mam"
    )


async def test_the_child_s_opinion_with_company_it_did_not_choose_is_refused(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "opinion_nna")
    company = {
        "nna_vista_a_solas": False,
        "motivo_no_a_solas": "El tío quiso estar presente.",
        "persona_acompanante": "Tío materno",
    }
    body = await _refused(
        api, folio, "opinion_nna", "nna_escuchada_a_solas", nna_eligio_compania=False, **company
    )
    assert [e["path"] for e in body["errors"]] == ["$.data.nna_eligio_compania"]
    # a missing answer is malformed input: 422, not a guarantee
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "opinion_nna")
    data = copy.deepcopy(form_example("opinion_nna.schema.json")) | company
    r = await api.post(
        "procuraduria-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json={"data": data}
    )
    assert r.status_code == 422, r.text
    await api.complete(folio, "opinion_nna", nna_eligio_compania=True, **company)
