"""The whole route, driven through the HTTP API by the users of each authority it reaches."""

from __future__ import annotations

from datetime import timedelta

from app import audit, clock
from app.route_engine import form_example
from app.services import timers
from app.tables import Placement
from tests.app.helpers import user_for


async def _step(api, folio: str) -> str | None:
    """Do the first open task (alphabetical) as its authority's user, via inbox, detail, claim
    and complete. Returns the task's bpmn id, or None when nothing is open."""
    tasks = await api.open_tasks(folio)
    if not tasks:
        return None
    task = sorted(tasks, key=lambda t: t["bpmn_id"])[0]
    user = user_for(task["authority"], task["rol"])
    inbox = await api.get(user, "/api/v1/inbox", params={"scope": "unclaimed", "limit": 200})
    assert inbox.status_code == 200, inbox.text
    assert task["task_id"] in [i["task_id"] for i in inbox.json()["items"]], (user, task)
    detail = await api.get(user, f"/api/v1/tasks/{task['task_id']}")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["form"]["type"] == "object"
    assert body["case"]["folio"] == folio
    assert "identidad" not in body["case"]
    claim = await api.post(user, f"/api/v1/tasks/{task['task_id']}/claim")
    assert claim.status_code == 200 and claim.json()["assignee_id"] is not None
    mine = await api.get(user, "/api/v1/inbox", params={"scope": "mine", "limit": 200})
    assert task["task_id"] in [i["task_id"] for i in mine.json()["items"]]
    data = form_example(f"{task['bpmn_id']}.schema.json")
    await api.consent_to_share(folio, task["bpmn_id"], data)  # sharing needs it (issue 16)
    done = await api.post(user, f"/api/v1/tasks/{task['task_id']}/complete", json={"data": data})
    assert done.status_code == 200, done.text
    return task["bpmn_id"]


async def test_whole_route_through_http(api):
    real = clock.utcnow()
    folio = await api.open_case("inm-07.officer", name="Ruta Completa")
    done: list[str] = []
    users_seen: set[str] = set()
    try:
        offset = timedelta(0)
        for _ in range(200):
            bpmn_id = await _step(api, folio)
            if bpmn_id is not None:
                done.append(bpmn_id)
                continue
            detail = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
            if detail["case"]["status"] == "closed":
                break
            # nothing to do: a follow-up wait; move the server clock past it and run the worker
            offset += timedelta(days=31)
            clock.set_clock(lambda o=offset: real + o)
            assert await timers.fire_due() >= 1
    finally:
        clock.set_clock(None)

    detail = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
    assert detail["case"]["status"] == "closed", done
    assert detail["case"]["end_state"]
    for t in detail["tasks"]:
        if t["status"] == "completed":
            users_seen.add(t["completed_by"])
    # INM, the Procuraduría (officer, supervisor, head), the shelter and the consulate all acted
    assert {"inm-07.officer", "procuraduria-07.officer", "procuraduria-07.supervisor"} <= users_seen
    assert "procuraduria-07.head" in users_seen
    assert "cas-07-tapachula.shelter-staff" in users_seen
    assert "sre-00.officer" in users_seen  # federal fallback: no SRE authority in Chiapas
    assert {"registrar_deteccion", "admitir_en_cas", "aprobar_bia", "aprobar_cierre"} <= set(done)
    # the shelter admission created a placement, discharged when the case closed
    assert [p["shelter"] for p in detail["placements"]] == ["CAS-07-TAPACHULA"]
    assert detail["placements"][0]["status"] == "discharged"
    # ... recording where the child went (the closure proposal's destination)
    discharged = (
        await Placement.select(Placement.end_reason).where(Placement.case.folio == folio).first()
    )
    assert discharged["end_reason"] == "case closed; destino: familia_extensa"
    actions = [e["action"] for e in detail["timeline"]]
    assert actions[0] == "case.opened"
    assert actions.count("task.completed") == len(done)
    assert "placement.admitted" in actions and "case.closed" in actions
    routed = [e for e in detail["timeline"] if e["action"] == "task.routed"]
    assert {e["changes"]["rule"] for e in routed} >= {"estatal", "federal_fallback"}
    assert all(e["changes"]["authority"] for e in routed)
    # every completion names its actor and authority; the chain verifies after the run
    result = await audit.verify()
    assert result.ok, result
