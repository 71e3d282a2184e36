"""Placements: admission through the route, capacity, transfer to another state (re-routing),
the child leaving the placement (missing-child protocol), discharge, occupancy."""

from __future__ import annotations

from app.tables import Placement


async def _shelter_id(api, code: str) -> int:
    shelters = (await api.get("procuraduria-07.officer", "/api/v1/shelters")).json()
    return next(s["id"] for s in shelters if s["code"] == code)


async def _placed_case(api, name: str = "Colocada") -> tuple[str, int]:
    folio = await api.open_case("inm-07.officer", name=name)
    await api.drive_until(folio, "admitir_en_cas")
    await api.complete(folio, "admitir_en_cas")
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    placement = detail["placements"][0]
    assert placement["shelter"] == "CAS-07-TAPACHULA" and placement["status"] == "admitted"
    return folio, placement["id"]


async def test_capacity_is_enforced(api):
    r = await api.post(
        "sistema.admin",
        "/api/v1/authorities",
        json={
            "code": "CAS-07-COMITAN",
            "name": "CAS municipal de Comitán",
            "tipo": "DIF_CAS",
            "nivel": "municipal",
            "estado": "07",
            "municipio": "Comitán",
            "capacidad": 1,
        },
    )
    assert r.status_code == 201, r.text
    mini = r.json()["id"]
    first = await api.open_case("inm-07.officer")
    second = await api.open_case("inm-07.officer")
    for folio in (first, second):
        await api.drive_until(folio, "determinar_acompanamiento")
    who = "procuraduria-07.officer"
    r = await api.post(who, "/api/v1/placements", json={"folio": first, "shelter_id": mini})
    assert r.status_code == 201, r.text
    r = await api.post(who, "/api/v1/placements", json={"folio": second, "shelter_id": mini})
    assert r.status_code == 409 and "full" in r.json()["detail"]
    shelters = (await api.get(who, "/api/v1/shelters")).json()
    comitan = next(s for s in shelters if s["id"] == mini)
    assert (comitan["occupancy"], comitan["available"]) == (1, 0)
    # the same child cannot be admitted twice
    r = await api.post(who, "/api/v1/placements", json={"folio": first, "shelter_id": mini})
    assert r.status_code == 201  # idempotent: already there
    tap = await _shelter_id(api, "CAS-07-TAPACHULA")
    r = await api.post(who, "/api/v1/placements", json={"folio": first, "shelter_id": tap})
    assert r.status_code == 409 and "transfer" in r.json()["detail"]
    # INM may not place children; shelter staff cannot place into another shelter
    r = await api.post(
        "inm-07.officer", "/api/v1/placements", json={"folio": second, "shelter_id": tap}
    )
    assert r.status_code == 403


async def test_transfer_to_another_state_reroutes_and_moves_access(api):
    folio, placement_id = await _placed_case(api, "Trasladada")
    open_before = await api.open_tasks(folio)
    assert {t["authority"] for t in open_before} == {"PROCURADURIA-07"}
    vhs = await _shelter_id(api, "CAS-27-VILLAHERMOSA")
    r = await api.post(
        "procuraduria-07.officer",
        f"/api/v1/placements/{placement_id}/transfer",
        json={"to_shelter_id": vhs, "reason": "cupo"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["shelter_code"] == "CAS-27-VILLAHERMOSA"
    open_after = await api.open_tasks(folio)
    assert {t["authority"] for t in open_after} == {"PROCURADURIA-27"}
    assert (
        await api.get("cas-27-villahermosa.shelter-staff", f"/api/v1/cases/{folio}")
    ).status_code == 200
    assert (
        await api.get("cas-07-tapachula.shelter-staff", f"/api/v1/cases/{folio}")
    ).status_code == 404
    assert (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).status_code == 404
    assert (await api.get("procuraduria-27.officer", f"/api/v1/cases/{folio}")).status_code == 200
    audit = (
        await api.get("cndh.oversight", "/api/v1/audit", params={"case": folio, "limit": 200})
    ).json()["items"]
    actions = [e["action"] for e in audit]
    assert "placement.transferred" in actions and "case.relocated" in actions
    rerouted = [e for e in audit if e["action"] == "task.rerouted"]
    assert rerouted and rerouted[0]["changes"]["authority"] == "PROCURADURIA-27"
    detail = (await api.get("procuraduria-27.officer", f"/api/v1/cases/{folio}")).json()
    assert detail["case"]["estado"] == "27"
    assert [p["status"] for p in detail["placements"]] == ["transferred", "admitted"]


async def test_child_left_placement_starts_missing_child_protocol(api):
    folio, placement_id = await _placed_case(api, "Salió")
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        f"/api/v1/placements/{placement_id}/left",
        json={
            "fecha_hora_salida": "2026-03-02T08:00:00-06:00",
            "circunstancias": "salida_voluntaria",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "left" and r.json()["route_notified"] is True
    tasks = await api.open_tasks(folio)
    assert any(t["process_id"] == "protocolo_no_localizado" for t in tasks), tasks
    row = await Placement.select(Placement.status).where(Placement.id == placement_id).first()
    assert row["status"] == "left"
    again = await api.post(
        "cas-07-tapachula.shelter-staff",
        f"/api/v1/placements/{placement_id}/left",
        json={"fecha_hora_salida": "2026-03-02T08:00:00-06:00", "circunstancias": "otra"},
    )
    assert again.status_code in (404, 409)


async def test_discharge_ends_the_shelters_access(api):
    folio, placement_id = await _placed_case(api, "Egresada")
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        f"/api/v1/placements/{placement_id}/discharge",
        json={"reason": "acogimiento familiar"},
    )
    assert r.status_code == 200 and r.json()["status"] == "discharged"
    assert (
        await api.get("cas-07-tapachula.shelter-staff", f"/api/v1/cases/{folio}")
    ).status_code == 404
    r = await api.post(
        "cndh.oversight",
        f"/api/v1/placements/{placement_id}/discharge",
        json={"reason": "x"},
    )
    assert r.status_code == 403
