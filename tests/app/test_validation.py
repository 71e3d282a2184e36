"""Bad input: 422 naming each field by JSON path and writing nothing; malformed / oversized
bodies get 4xx."""

from __future__ import annotations

from app.route_engine import form_example
from app.tables import AuditEvent, Case, Task, WorkflowState


async def _snapshot(folio: str) -> tuple:
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    state = await WorkflowState.select(WorkflowState.version, WorkflowState.state).where(
        WorkflowState.case == case_id
    )
    tasks = await Task.select(Task.task_id, Task.status, Task.assignee).where(Task.case == case_id)
    events = await AuditEvent.count()
    return state, tasks, events


async def test_invalid_form_gives_422_with_paths_and_writes_nothing(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    before = await _snapshot(folio)
    data = form_example("registrar_deteccion.schema.json")
    data.pop("canal_deteccion")
    data["duda_edad"] = "no"
    data["riesgo_inminente"] = 3
    r = await api.post(
        "inm-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json={"data": data}
    )
    assert r.status_code == 422, r.text
    paths = {e["path"] for e in r.json()["errors"]}
    assert {"$.data.canal_deteccion", "$.data.duda_edad", "$.data.riesgo_inminente"} <= paths
    assert all(e["message"] for e in r.json()["errors"])
    assert await _snapshot(folio) == before


async def test_invalid_opening_form_names_fields(api):
    form = form_example("inicio_caso.schema.json")
    form["sexo"] = "otro"
    form["jurisdiccion"] = "7"
    r = await api.post(
        "inm-07.officer", "/api/v1/cases", json={"form": form, "identidad": {"nombres": "A"}}
    )
    assert r.status_code == 422
    assert {"$.form.sexo", "$.form.jurisdiccion"} <= {e["path"] for e in r.json()["errors"]}


async def test_body_type_errors_name_the_field(api):
    r = await api.post(
        "inm-07.officer",
        "/api/v1/cases",
        json={"form": form_example("inicio_caso.schema.json"), "identidad": {"nombres": 5}},
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "$.identidad.nombres"
    r = await api.post(
        "inm-07.officer",
        "/api/v1/cases",
        json={"form": {}, "identidad": {"nombres": "A"}, "extra": 1},
    )
    assert r.status_code == 400


async def test_malformed_and_oversized_bodies(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    before = await _snapshot(folio)
    url = f"/api/v1/tasks/{task['task_id']}/complete"
    headers = {**await api.headers("inm-07.officer"), "Content-Type": "application/json"}
    r = await api.client.post(url, content=b'{"data": {"a": ', headers=headers)
    assert r.status_code == 400
    r = await api.client.post(url, content=b"[1, 2]", headers=headers)
    assert r.status_code == 400
    big = b'{"data": {"observaciones": "' + b"x" * (600 * 1024) + b'"}}'
    r = await api.client.post(url, content=big, headers=headers)
    assert r.status_code == 413
    r = await api.get("inm-07.officer", "/api/v1/inbox", params={"limit": "many"})
    assert r.status_code == 400
    r = await api.get("inm-07.officer", "/api/v1/inbox", params={"risk": "extremo"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.risk"
    r = await api.get("inm-07.officer", "/api/v1/inbox", params={"cursor": "%%%"})
    assert r.status_code == 422
    assert await _snapshot(folio) == before
