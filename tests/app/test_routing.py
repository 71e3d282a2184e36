"""Routing rules: most local covering authority, federal fallback, placement, relocation."""

from __future__ import annotations

from app import routing
from app.directory import directory


async def test_rules(api):
    d = await directory()
    inm = await routing.route(d, "INM", "07", "Tapachula")
    assert (inm.authority_code, inm.rule) == ("INM-07", "estatal")
    fallback = await routing.route(d, "INM", "30", None)
    assert (fallback.authority_code, fallback.rule) == ("INM-00", "federal_fallback")
    sre = await routing.route(d, "SRE_CONSULADO", "07", None)
    assert (sre.authority_code, sre.rule) == ("SRE-00", "federal_fallback")
    nowhere = await routing.route(d, "DIF_CAS", "30", None)
    assert (nowhere.authority_id, nowhere.rule) == (None, "unroutable")
    shelter = await routing.route(d, "DIF_CAS", "27", "Centro")
    assert shelter.authority_code == "CAS-27-VILLAHERMOSA"
    placed = await routing.route(d, "DIF_CAS", "27", "Centro", shelter.authority_id)
    assert (placed.authority_id, placed.rule) == (shelter.authority_id, "placement")


async def test_a_new_authority_is_routed_to_at_once(api):
    """The directory is cached per process; creating an authority bumps its version, which the
    next command reads with the case, so routing never uses a stale directory."""
    before = await directory()
    r = await api.post(
        "sistema.admin",
        "/api/v1/authorities",
        json={
            "code": "INM-07-SUCHIATE",
            "name": "INM Suchiate",
            "tipo": "INM",
            "nivel": "municipal",
            "estado": "07",
            "municipio": "Suchiate",
        },
    )
    assert r.status_code == 201, r.text
    after = await directory()
    assert after.version == before.version + 1
    folio = await api.open_case("inm-07.officer", municipio="Suchiate")
    tasks = await api.open_tasks(folio)
    assert [t["authority"] for t in tasks] == ["INM-07-SUCHIATE"]


async def test_relocation_reroutes_open_tasks_and_is_audited(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "determinar_acompanamiento")
    r = await api.post(
        "procuraduria-07.officer",
        f"/api/v1/cases/{folio}/relocate",
        json={"estado": "27", "municipio": "Centro", "reason": "traslado"},
    )
    assert r.status_code == 200, r.text
    tasks = await api.open_tasks(folio)
    assert [t["authority"] for t in tasks] == ["PROCURADURIA-27"]
    audit = (
        await api.get("cndh.oversight", "/api/v1/audit", params={"case": folio, "limit": 200})
    ).json()["items"]
    rerouted = next(e for e in audit if e["action"] == "task.rerouted")
    assert rerouted["changes"]["rule"] == "estatal"
    assert {"access.revoked", "case.relocated"} <= {e["action"] for e in audit}
    inbox = (
        await api.get("procuraduria-27.officer", "/api/v1/inbox", params={"limit": 200})
    ).json()
    assert folio in [i["folio"] for i in inbox["items"]]
    bad = await api.post(
        "procuraduria-27.officer", f"/api/v1/cases/{folio}/relocate", json={"estado": "99"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "$.estado"


async def test_inbox_filters_and_cursor(api):
    folios = [await api.open_case("inm-07.officer") for _ in range(3)]
    who = "inm-07.officer"
    r = await api.get(who, "/api/v1/inbox", params={"scope": "unclaimed", "limit": 2})
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    r = await api.get(
        who,
        "/api/v1/inbox",
        params={"scope": "unclaimed", "limit": 2, "cursor": page["next_cursor"]},
    )
    seen = {i["task_id"] for i in page["items"]}
    assert not seen & {i["task_id"] for i in r.json()["items"]}
    r = await api.get(
        who, "/api/v1/inbox", params={"process": "ruta_proteccion_nna", "estado": "07"}
    )
    assert r.status_code == 200 and r.json()["items"]
    r = await api.get(who, "/api/v1/inbox", params={"state": "claimed", "scope": "mine"})
    assert r.status_code == 200
    r = await api.get(who, "/api/v1/inbox", params={"estado": "27"})
    assert all(i["estado"] == "27" for i in r.json()["items"])
    assert folios  # the cases exist for the queries above


async def test_claim_unclaim_reassign(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    url = f"/api/v1/tasks/{task['task_id']}"
    assert (await api.post("inm-07.officer", url + "/claim")).status_code == 200
    assert (await api.post("inm-07.supervisor", url + "/claim")).status_code == 409
    r = await api.post("inm-07.officer", url + "/reassign", json={"username": "inm-07.head"})
    assert r.status_code == 403
    r = await api.post("inm-07.supervisor", url + "/reassign", json={"username": "inm-27.officer"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.username"
    r = await api.post("inm-07.supervisor", url + "/reassign", json={"username": "inm-07.head"})
    assert r.status_code == 200
    data = {"data": {}}
    r = await api.post("inm-07.officer", url + "/complete", json=data)
    assert r.status_code == 409  # claimed by the head now
    assert (await api.post("inm-07.head", url + "/unclaim")).status_code == 200
    mine = (await api.get("inm-07.head", "/api/v1/inbox", params={"scope": "mine"})).json()
    assert task["task_id"] not in [i["task_id"] for i in mine["items"]]
