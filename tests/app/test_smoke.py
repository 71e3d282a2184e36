async def test_health_and_login(api):
    r = await api.client.get("/healthz")
    assert r.status_code == 200
    r = await api.get("inm-07.officer", "/api/v1/me")
    assert r.status_code == 200
    assert r.json()["authority"] == "INM-07"


async def test_open_and_complete_first_task(api):
    folio = await api.open_case()
    assert folio.startswith("CHIS-")
    tasks = await api.open_tasks(folio)
    assert [t["bpmn_id"] for t in tasks] == ["registrar_deteccion"]
    assert tasks[0]["authority"] == "INM-07"
    out = await api.complete(folio, "registrar_deteccion")
    assert out["next_tasks"][0]["bpmn_id"] == "notificar_procuraduria"
