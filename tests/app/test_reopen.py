"""Reopening a closed case through the API (issue 12, item 5): who may, the reason's free text
kept out of the audit trail, the old run's deadline register left as it was, and the one command
path (one transaction; two concurrent reopenings: one wins, the other 409)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from app.demo import Driver
from app.services import personal_data
from app.tables import AuditEvent, Case, DeadlineRegister, Task, WorkflowState

REASON = "La familia con la que se reunificó ya no puede cuidarla; la escuela avisó."
BODY = {"categoria": "reunificacion_fallida", "motivo": REASON}
SUPERVISOR = "procuraduria-07.supervisor"


async def closed_case(name: str = "Reabrir") -> str:
    """A case opened and walked to its closure through the services, as the demo does (the
    users of each authority complete each task with its form's example; waits are fired)."""
    driver = Driver()
    await driver.load()
    real_now = datetime.now(UTC).replace(microsecond=0)
    start = real_now - timedelta(days=150)
    folio = await driver.open("inm-07.officer", start, "07", "Tapachula", name)
    await driver.drive(folio, start, None, real_now)
    row = await Case.select(Case.status).where(Case.folio == folio).first()
    assert row["status"] == "closed", folio
    return folio


async def case_row(folio: str) -> dict:
    row = await Case.select().where(Case.folio == folio).first().output(load_json=True)
    # the variables are encrypted with the case's key (app/datakeys.py)
    opener = await personal_data.Opener.of(row["id"])
    return row | {"variables": opener.variables(row["variables"])}


async def test_a_supervisor_of_the_procuraduria_reopens_a_closed_case(api):
    folio = await closed_case()
    case = await case_row(folio)
    register_before = await DeadlineRegister.select().where(DeadlineRegister.case == case["id"])
    assert register_before, "the first run's deadlines are in the register"
    state_before = await WorkflowState.select(WorkflowState.version).where(
        WorkflowState.case == case["id"]
    )

    r = await api.post(SUPERVISOR, f"/api/v1/cases/{folio}/reopen", json=BODY)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["status"], out["run"]) == ("open", 2)
    assert [(t["bpmn_id"], t["authority"]) for t in out["next_tasks"]] == [
        ("determinar_acompanamiento", "PROCURADURIA-07")
    ]
    reopened = await case_row(folio)
    assert (reopened["status"], reopened["closed_at"], reopened["end_state"]) == (
        "open",
        None,
        None,
    )
    assert reopened["variables"]["canal_ingreso"] == "reapertura"
    after = await WorkflowState.select(WorkflowState.version).where(
        WorkflowState.case == case["id"]
    )
    assert after[0]["version"] == state_before[0]["version"] + 1
    # the first run's deadlines (breaches included) stay exactly as they were
    register_after = await DeadlineRegister.select().where(
        DeadlineRegister.deadline_key.is_in([r["deadline_key"] for r in register_before])
    )
    assert sorted(register_after, key=lambda r: r["id"]) == sorted(
        register_before, key=lambda r: r["id"]
    )
    # the audit trail: the act, the category, the run and who; never the reason's text
    events = await AuditEvent.select().where(
        (AuditEvent.case_id == case["id"]) & (AuditEvent.action == "case.reopened")
    )
    assert len(events) == 1
    event = events[0]
    assert event["actor_username"] == SUPERVISOR
    assert json.loads(event["changes"]) == {"categoria": "reunificacion_fallida", "run": 2}
    all_text = json.dumps(
        await AuditEvent.select(AuditEvent.changes).where(AuditEvent.case_id == case["id"])
    )
    assert "escuela" not in all_text
    # the reason lives in the case record; the first run's forms stay readable
    detail = (await api.get(SUPERVISOR, f"/api/v1/cases/{folio}")).json()
    assert [(r["numero"], r["canal_ingreso"]) for r in detail["runs"]] == [
        (1, "revision_migratoria_inm"),
        (2, "reapertura"),
    ]
    assert detail["runs"][0]["end_state"] == "fin_caso_cerrado"
    assert detail["runs"][1]["motivo"] == REASON
    completed = {t["bpmn_id"] for t in detail["tasks"] if t["status"] == "completed"}
    assert {"registrar_deteccion", "proponer_cierre"} <= completed
    open_tasks = [t for t in detail["tasks"] if t["status"] == "open"]
    assert [t["bpmn_id"] for t in open_tasks] == ["determinar_acompanamiento"]


async def test_who_may_not_reopen(api):
    folio = await closed_case("Reabrir no")
    url = f"/api/v1/cases/{folio}/reopen"
    # an officer of the Procuraduría holding the case: only supervisors and heads
    assert (await api.post("procuraduria-07.officer", url, json=BODY)).status_code == 403
    # INM opened the case and still sees it: not the Procuraduría
    assert (await api.post("inm-07.supervisor", url, json=BODY)).status_code == 403
    # another state's Procuraduría does not see it at all
    assert (await api.post("procuraduria-27.supervisor", url, json=BODY)).status_code == 404
    # oversight reads every case but acts on none
    assert (await api.post("cndh.oversight", url, json=BODY)).status_code == 403
    row = await case_row(folio)
    assert row["status"] == "closed"
    assert (
        await AuditEvent.count().where(
            (AuditEvent.case_id == row["id"]) & (AuditEvent.action == "case.reopened")
        )
        == 0
    )


async def test_a_reopening_needs_a_valid_reason_and_writes_nothing_without(api):
    folio = await closed_case("Reabrir motivo")
    url = f"/api/v1/cases/{folio}/reopen"
    r = await api.post(SUPERVISOR, url, json={"categoria": "otro", "motivo": "   "})
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.motivo"]
    r = await api.post(SUPERVISOR, url, json={**BODY, "riesgo_inminente": True})
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.descripcion_riesgo"]
    r = await api.post(SUPERVISOR, url, json={"motivo": REASON})
    assert r.status_code == 400
    assert "`categoria`" in r.json()["errors"][0]["message"]
    r = await api.post(SUPERVISOR, url, json={**BODY, "categoria": "capricho"})
    assert r.status_code == 400
    assert (await case_row(folio))["status"] == "closed"


async def test_an_open_case_cannot_be_reopened(api):
    folio = await api.open_case("inm-07.officer")
    await api.complete(folio, "registrar_deteccion")
    await api.complete(folio, "notificar_procuraduria")
    r = await api.post(SUPERVISOR, f"/api/v1/cases/{folio}/reopen", json=BODY)
    assert r.status_code == 409, r.text
    assert "open" in r.json()["detail"]


async def test_imminent_risk_at_reopening_starts_urgent_measures(api):
    folio = await closed_case("Reabrir riesgo")
    body = {**BODY, "riesgo_inminente": True, "descripcion_riesgo": "La busca su agresor."}
    r = await api.post("procuraduria-07.head", f"/api/v1/cases/{folio}/reopen", json=body)
    assert r.status_code == 200, r.text
    assert {t["bpmn_id"] for t in r.json()["next_tasks"]} == {
        "determinar_acompanamiento",
        "ordenar_medida_urgente",
    }


async def test_two_concurrent_reopenings_one_wins(api):
    """On PostgreSQL both really run at once: the workflow_state row lock makes the second wait
    and then find the case open (409); nothing is written twice."""
    folio = await closed_case("Reabrir a la vez")
    case_id = (await case_row(folio))["id"]
    before = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == case_id)
    url = f"/api/v1/cases/{folio}/reopen"
    results = await asyncio.gather(
        api.post(SUPERVISOR, url, json=BODY), api.post("procuraduria-07.head", url, json=BODY)
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    after = await WorkflowState.select(WorkflowState.version, WorkflowState.state).where(
        WorkflowState.case == case_id
    )
    assert after[0]["version"] == before[0]["version"] + 1
    assert (
        await AuditEvent.count().where(
            (AuditEvent.case_id == case_id) & (AuditEvent.action == "case.reopened")
        )
        == 1
    )
    opened = await Task.select(Task.bpmn_id).where((Task.case == case_id) & (Task.status == "open"))
    assert [t["bpmn_id"] for t in opened] == ["determinar_acompanamiento"]


def test_the_api_offers_the_form_s_categories():
    from typing import get_args

    from app.api.schemas import ReopenCategory
    from app.route_engine import form_schema

    form = form_schema("reabrir_caso.schema.json")["properties"]["categoria"]
    assert list(get_args(ReopenCategory)) == form["enum"]
