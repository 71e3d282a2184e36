"""Late reports through the API (issue 12, item 5): imminent risk and fear of return recorded at
any moment of protection, and the bypasses they close: consular tracing, a return under way and
consular information for accompaniment are refused once fear of return is recorded."""

from __future__ import annotations

import asyncio
import json

from app import audit
from app.tables import AuditEvent, Case, Task
from tests.app.helpers import form_example, user_for

SHELTER = "cas-07-tapachula.shelter-staff"
PROCURADURIA = "procuraduria-07.officer"
RISK = {"tipo_riesgo": ["integridad", "libertad"], "descripcion": "Un adulto intentó sacarla."}
FEAR = {"motivos": ["temor_retorno"]}
RETURN = {
    "solucion_duradera_propuesta": "retorno_asistido",
    "retorno_en_interes_superior": True,
    "razonamiento_retorno": "La madre fue localizada en el país de origen.",
}


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def _audit_count(folio: str) -> int:
    return await AuditEvent.count().where(AuditEvent.case_id == await _case_id(folio))


async def _open(api, folio: str, bpmn_id: str) -> list[dict]:
    return [t for t in await api.open_tasks(folio) if t["bpmn_id"] == bpmn_id]


async def _refused(api, folio: str, bpmn_id: str, **overrides) -> list[dict]:
    """Submit ``bpmn_id`` with its example and ``overrides``: 422, nothing written."""
    [task] = await _open(api, folio, bpmn_id)
    before = await _audit_count(folio)
    data = form_example(f"{bpmn_id}.schema.json") | overrides
    r = await api.post(
        user_for(task["authority"], task["rol"]),
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={"data": data},
    )
    assert r.status_code == 422, r.text
    assert await _audit_count(folio) == before
    assert [t["task_id"] for t in await _open(api, folio, bpmn_id)] == [task["task_id"]]
    return r.json()["errors"]


# ------------------------------------------------------------------ A: imminent risk
async def test_a_shelter_reports_imminent_risk_and_the_procuraduria_gets_the_assessment(api):
    folio = await api.open_case()
    await api.drive_until(folio, "detectar_necesidades")  # the child is in the Tapachula CAS
    url = f"/api/v1/cases/{folio}/imminent-risk"
    before = await _audit_count(folio)
    for who, body, status in (
        ("cndh.oversight", RISK, 403),
        ("procuraduria-27.officer", RISK, 404),  # another state's: not its case
        (SHELTER, RISK | {"descripcion": "   "}, 422),
        (SHELTER, RISK | {"tipo_riesgo": ["vida", "vida"]}, 422),
        (SHELTER, RISK | {"tipo_riesgo": ["hambre"]}, 400),
    ):
        r = await api.post(who, url, json=body)
        assert r.status_code == status, (who, r.text)
    assert await _audit_count(folio) == before  # nothing written by a refusal
    r = await api.post(SHELTER, url, json=RISK)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reported_by"] == "DIF_CAS"
    assert body["next_step"] == "procuraduria_assessment"
    [routed] = body["next_tasks"]
    assert routed["bpmn_id"] == "valorar_reporte_riesgo_inminente"
    assert routed["authority"] == "PROCURADURIA-07"
    [task] = await _open(api, folio, "valorar_reporte_riesgo_inminente")
    assert task["due_at"] is not None
    assert not await _open(api, folio, "ordenar_medida_urgente")
    # the audit trail names who and what, never the child's story
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.changes).where(
        AuditEvent.case_id == await _case_id(folio)
    )
    [reported] = [e for e in events if e["action"] == "case.imminent_risk_reported"]
    assert json.loads(reported["changes"])["tipo_riesgo"] == ["integridad", "libertad"]
    assert not any(RISK["descripcion"] in e["changes"] for e in events)
    await api.complete(folio, "valorar_reporte_riesgo_inminente")  # confirmed
    assert await _open(api, folio, "ordenar_medida_urgente")
    assert await _open(api, folio, "detectar_necesidades")  # the route's work goes on


async def test_the_procuraduria_s_report_starts_urgent_measures_at_once(api):
    folio = await api.open_case()
    await api.drive_until(folio, "consolidar_bia")
    r = await api.post(PROCURADURIA, f"/api/v1/cases/{folio}/imminent-risk", json=RISK)
    assert r.status_code == 200, r.text
    assert r.json()["next_step"] == "urgent_measures"
    [task] = await _open(api, folio, "ordenar_medida_urgente")
    assert task["authority"] == "PROCURADURIA-07"
    assert not await _open(api, folio, "valorar_reporte_riesgo_inminente")


async def test_a_report_outside_protection_is_refused_and_writes_nothing(api):
    folio = await api.open_case()  # INM has not channelled the child yet
    before = await _audit_count(folio)
    r = await api.post("inm-07.officer", f"/api/v1/cases/{folio}/imminent-risk", json=RISK)
    assert r.status_code == 409, r.text
    assert "not in protection" in r.json()["detail"]
    r = await api.post("inm-07.officer", f"/api/v1/cases/{folio}/fear-of-return", json=FEAR)
    assert r.status_code == 409, r.text
    assert await _audit_count(folio) == before


async def test_concurrent_risk_reports_each_start_their_own_run(api):
    folio = await api.open_case()
    await api.drive_until(folio, "determinar_acompanamiento")
    url = f"/api/v1/cases/{folio}/imminent-risk"
    results = await asyncio.gather(
        api.post(PROCURADURIA, url, json=RISK),
        api.post("procuraduria-07.supervisor", url, json=RISK),
    )
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    assert len(await _open(api, folio, "ordenar_medida_urgente")) == 2


# ------------------------------------------------------------------ B: fear of return
async def test_fear_of_return_reported_late_starts_one_referral_and_blocks_the_consulate(api):
    folio = await api.open_case()
    await api.drive_until(folio, "consolidar_bia")
    url = f"/api/v1/cases/{folio}/fear-of-return"
    for who, body, status in (
        ("cndh.oversight", FEAR, 403),
        (SHELTER, {"motivos": ["temor_retorno", "temor_retorno"]}, 422),
        (SHELTER, FEAR | {"fecha_conocimiento": "2999-01-01"}, 422),
        (SHELTER, FEAR | {"fecha_conocimiento": "2001-01-01"}, 422),
    ):
        r = await api.post(who, url, json=body)
        assert r.status_code == status, (who, r.text)
    r = await api.post(SHELTER, url, json=FEAR)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["consular_contact_blocked"] is True
    assert first["comar_referral_started"] is True
    assert [t["bpmn_id"] for t in first["next_tasks"]] == ["apoyar_solicitud_asilo"]
    # a second report while the referral runs: recorded, no second referral, no error
    r = await api.post("inm-07.officer", url, json={"motivos": ["desea_solicitar_refugio"]})
    assert r.status_code == 200, r.text
    assert r.json()["comar_referral_started"] is False
    assert r.json()["no_referral_because"] == "referral_under_way"
    assert len(await _open(api, folio, "apoyar_solicitud_asilo")) == 1
    await api.complete(folio, "apoyar_solicitud_asilo")  # filed: a claim is pending
    r = await api.post(PROCURADURIA, url, json=FEAR)
    assert r.json()["no_referral_because"] == "claim_pending"
    actions = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == await _case_id(folio))
        & (AuditEvent.action == "case.fear_of_return_recorded")
    )
    assert len(actions) == 3


async def test_consular_tracing_stops_and_the_consulate_loses_the_case_after_a_late_report(api):
    folio = await api.open_case()
    [tracing] = [await api.drive_until(folio, "localizar_via_consular")]
    consulate = user_for(tracing["authority"], tracing["rol"])
    assert (await api.get(consulate, f"/api/v1/cases/{folio}")).status_code == 200
    r = await api.post(
        consulate, f"/api/v1/cases/{folio}/fear-of-return", json=FEAR
    )  # the consulate is the contact the record blocks
    assert r.status_code == 403, r.text
    r = await api.post(SHELTER, f"/api/v1/cases/{folio}/fear-of-return", json=FEAR)
    assert r.status_code == 200, r.text
    row = await Task.select(Task.status).where(Task.task_id == tracing["task_id"]).first()
    assert row["status"] == "cancelled"  # consular tracing under way stops
    # the bypass: the consulate can no longer read nor complete its tracing task
    assert (await api.get(consulate, f"/api/v1/cases/{folio}")).status_code == 404
    r = await api.post(
        consulate,
        f"/api/v1/tasks/{tracing['task_id']}/complete",
        json={"data": form_example("localizar_via_consular.schema.json")},
    )
    assert r.status_code in (404, 409), r.text
    assert await _open(api, folio, "localizar_otras_vias")  # the other channels go on


async def test_a_return_under_way_is_refused_after_a_late_report(api):
    folio = await api.open_case()
    await api.drive_until(folio, "elaborar_plan_restitucion")
    await api.complete(folio, "elaborar_plan_restitucion", **RETURN)
    await api.drive_until(folio, "informar_nna_retorno")
    r = await api.post(PROCURADURIA, f"/api/v1/cases/{folio}/fear-of-return", json=FEAR)
    assert r.status_code == 200, r.text
    errors = await _refused(api, folio, "informar_nna_retorno")
    assert [e["path"] for e in errors] == ["$.data.proceder_retorno"]
    assert "no devolución" in errors[0]["message"]
    await api.complete(
        folio, "informar_nna_retorno", proceder_retorno=False, motivo_no_proceder="Pide refugio."
    )
    assert not await _open(api, folio, "coordinar_autoridad_origen")


async def test_concurrent_fear_of_return_reports_start_one_referral(api):
    """Read-then-write: each report reads whether a referral is under way, then starts one.
    Under the case lock they serialize: both are recorded (200), exactly one referral starts."""
    folio = await api.open_case()
    await api.drive_until(folio, "consolidar_bia")
    url = f"/api/v1/cases/{folio}/fear-of-return"
    results = await asyncio.gather(
        api.post(SHELTER, url, json=FEAR), api.post("inm-07.officer", url, json=FEAR)
    )
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    started = sorted(r.json()["comar_referral_started"] for r in results)
    assert started == [False, True]
    assert len(await _open(api, folio, "apoyar_solicitud_asilo")) == 1
    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)


# ------------------------------------------------------------------ C: accompaniment
async def test_consular_information_for_accompaniment_is_refused_through_the_api(api):
    folio = await api.open_case()
    detection = form_example("registrar_deteccion.schema.json")
    await api.complete(
        folio, "registrar_deteccion", detection, indicadores_observados=["temor_retorno"]
    )
    await api.drive_until(folio, "determinar_acompanamiento")
    errors = await _refused(
        api,
        folio,
        "determinar_acompanamiento",
        evidencias=["declaracion_nna", "informacion_consular"],
    )
    assert [e["path"] for e in errors] == ["$.data.evidencias"]
    assert "sin_informacion_consular_con_temor_de_retorno" in errors[0]["message"]
    await api.complete(folio, "determinar_acompanamiento", evidencias=["declaracion_nna"])
