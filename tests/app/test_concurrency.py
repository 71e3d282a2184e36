"""Two concurrent completions of one task: one 200, one 409, state intact."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from app import audit
from app.route_engine import form_example, route_engine
from app.services.personal_data import engine_state
from app.tables import AuditEvent, Case, Task, WorkflowState


async def test_concurrent_completions_one_wins(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    before = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == case_id)
    data = {"data": form_example("registrar_deteccion.schema.json")}
    url = f"/api/v1/tasks/{task['task_id']}/complete"
    results = await asyncio.gather(
        api.post("inm-07.officer", url, json=data), api.post("inm-07.supervisor", url, json=data)
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert "already completed" in loser.json()["detail"]

    after = await WorkflowState.select(WorkflowState.version, WorkflowState.state).where(
        WorkflowState.case == case_id
    )
    assert after[0]["version"] == before[0]["version"] + 1
    restored = route_engine().restore(await engine_state(case_id))
    assert [t.bpmn_id for t in restored.ready_tasks()] == ["notificar_procuraduria"]
    completed = await AuditEvent.count().where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "task.completed")
    )
    assert completed == 1
    rows = await Task.select(Task.bpmn_id, Task.status).where(Task.case == case_id)
    assert sorted((r["bpmn_id"], r["status"]) for r in rows) == [
        ("notificar_procuraduria", "open"),
        ("registrar_deteccion", "completed"),
    ]


async def test_many_concurrent_commands_on_different_cases(api):
    """On PostgreSQL these really run at once: each appends to the one audit chain after
    careroute_audit_head() took the chain lock and read the head, so the chain stays whole."""
    folios = [await api.open_case("inm-07.officer") for _ in range(12)]
    tasks = [(await api.open_tasks(f))[0]["task_id"] for f in folios]
    data = {"data": form_example("registrar_deteccion.schema.json")}
    results = await asyncio.gather(
        *(api.post("inm-07.officer", f"/api/v1/tasks/{t}/complete", json=data) for t in tasks)
    )
    assert [r.status_code for r in results] == [200] * 12
    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)


async def _rewrite_route_version(folio: str, rename_task: str | None = None) -> None:
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    row = await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id)
    assert row
    envelope = json.loads(await engine_state(case_id))
    envelope["spec_version"] = "0000000000000000"
    for task in envelope["state"]["tasks"].values():
        if rename_task and task["task_spec"] == rename_task:
            task["task_spec"] = "elemento_eliminado"
    await WorkflowState.update({WorkflowState.state: json.dumps(envelope)}).where(
        WorkflowState.case == case_id
    )


async def test_state_from_a_compatible_older_route_version_keeps_working(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    await _rewrite_route_version(folio)
    data = {"data": form_example("registrar_deteccion.schema.json")}
    r = await api.post("inm-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json=data)
    assert r.status_code == 200, r.text


async def test_state_from_an_incompatible_route_version_is_refused_cleanly(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    await _rewrite_route_version(folio, rename_task="registrar_deteccion")
    data = {"data": form_example("registrar_deteccion.schema.json")}
    r = await api.post("inm-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json=data)
    assert r.status_code == 409 and "route version" in r.json()["detail"]


async def test_concurrent_replacements_of_the_representative_keep_both(api):
    """Two replacements of the child's representative at once (a read-then-write of the
    appointment history): the case row lock serialises them, so neither is lost; the history
    keeps the first appointment and both replacements, and the state's version moved twice."""
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "designar_representante")
    await api.complete(folio, "designar_representante")
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    before = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == case_id)
    url = f"/api/v1/cases/{folio}/representative"

    def body(user: str) -> dict:
        data = form_example("designar_representante.schema.json", datetime.now(UTC))
        return {
            "data": data | {"representante_usuario": user, "motivo_sustitucion": f"Asume {user}."}
        }

    results = await asyncio.gather(
        api.post("procuraduria-07.officer", url, json=body("procuraduria-07.supervisor")),
        api.post("procuraduria-07.supervisor", url, json=body("procuraduria-07.head")),
    )
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    after = await WorkflowState.select(WorkflowState.version, WorkflowState.state).where(
        WorkflowState.case == case_id
    )
    assert after[0]["version"] == before[0]["version"] + 2
    history = route_engine().restore(await engine_state(case_id)).representation
    assert [a["representante_usuario"] for a in history][0] == "procuraduria-07.officer"
    assert sorted(a["representante_usuario"] for a in history[1:]) == [
        "procuraduria-07.head",
        "procuraduria-07.supervisor",
    ]
    appointed = await AuditEvent.count().where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "case.representative_designated")
    )
    assert appointed == 3
