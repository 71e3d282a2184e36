"""Placements: admission through the route, capacity, transfer to another state (re-routing),
the child leaving the placement (missing-child protocol), discharge, occupancy."""

from __future__ import annotations

import json

from app.tables import AuditEvent, Authority, Case, Placement
from tests.app.helpers import user_for


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
        await api.drive_until(folio, "admitir_en_cas")  # the protection measure is issued
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


async def test_no_admission_without_a_protection_measure_through_the_api_either(api):
    """The route admits only after the Procuraduría issued a measure; the placement API, which
    could go around the route, answers 409 naming the guarantee, and writes nothing."""
    folio = await api.open_case("inm-07.officer", name="Sin medida")
    await api.drive_until(folio, "determinar_acompanamiento")
    tap = await _shelter_id(api, "CAS-07-TAPACHULA")
    r = await api.post(
        "procuraduria-07.officer", "/api/v1/placements", json={"folio": folio, "shelter_id": tap}
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["guarantee"] == "medida_de_proteccion_antes_del_ingreso"
    assert "SNDIF" in body["legal_source"] and "LGDNNA" in body["legal_source"]
    # the shelter does not even know the child yet
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        "/api/v1/placements",
        json={"folio": folio, "shelter_id": tap},
    )
    assert r.status_code == 404
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    assert detail["placements"] == []
    audit = (
        await api.get("cndh.oversight", "/api/v1/audit", params={"case": folio, "limit": 200})
    ).json()["items"]
    assert "placement.admitted" not in [e["action"] for e in audit]
    await api.drive_until(folio, "admitir_en_cas")  # now the measure exists
    r = await api.post(
        "procuraduria-07.officer", "/api/v1/placements", json={"folio": folio, "shelter_id": tap}
    )
    assert r.status_code == 201, r.text


async def test_only_the_procuraduria_transfers_a_child(api):
    """Where the child lives is the Procuraduría's measure: the shelter may not move the child
    to another shelter on its own (403); the Procuraduría may."""
    folio, placement_id = await _placed_case(api, "Traslado propio")
    tux = await _shelter_id(api, "CAS-07-TUXTLA")
    body = {"to_shelter_id": tux, "reason": "decisión del albergue"}
    r = await api.post(
        "cas-07-tapachula.shelter-staff", f"/api/v1/placements/{placement_id}/transfer", json=body
    )
    assert r.status_code == 403, r.text
    row = await Placement.select(Placement.status).where(Placement.id == placement_id).first()
    assert row["status"] == "admitted"
    r = await api.post(
        "procuraduria-07.officer", f"/api/v1/placements/{placement_id}/transfer", json=body
    )
    assert r.status_code == 200, r.text


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


RIESGO = {
    "riesgo_inminente": True,
    "descripcion_riesgo": "Un adulto no familiar la obliga a trabajar.",
}
ASILO = {
    "indicadores_proteccion_internacional": True,
    "motivos_proteccion": ["violencia_pandillas_reclutamiento"],
    "expresa_deseo_solicitar_asilo": True,
}


async def _judge_and_comar_pending(api) -> tuple[str, int, dict[str, str]]:
    """A placed child with an urgent measure awaiting the judge's ratification and an asylum
    claim whose next step is COMAR's; returns folio, placement id and {lane: open task id}."""
    folio = await api.open_case("inm-07.officer", name="Salió con trámites")
    await api.complete(folio, "registrar_deteccion", **RIESGO)
    for bpmn_id in (
        "notificar_procuraduria",
        "emitir_acta_canalizacion",
        "ordenar_medida_urgente",
        "decretar_medida_urgente",
    ):
        await api.complete(folio, bpmn_id)
    for _ in range(30):
        tasks = await api.open_tasks(folio)
        if any(t["lane"] == "COMAR" for t in tasks):
            break
        todo = sorted(t["bpmn_id"] for t in tasks if t["lane"] != "JUZGADO")
        assert todo, tasks
        await api.complete(folio, todo[0], **(ASILO if todo[0] == "detectar_necesidades" else {}))
    pending = {t["lane"]: t["task_id"] for t in tasks if t["lane"] in ("JUZGADO", "COMAR")}
    assert set(pending) == {"JUZGADO", "COMAR"}, tasks
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    [placement] = [p for p in detail["placements"] if p["status"] == "admitted"]
    return folio, placement["id"], pending


async def test_child_leaving_keeps_the_judges_and_comars_tasks_open(api):
    folio, placement_id, pending = await _judge_and_comar_pending(api)
    open_before = {t["task_id"] for t in await api.open_tasks(folio)}
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        f"/api/v1/placements/{placement_id}/left",
        json={"fecha_hora_salida": "2026-03-02T08:00:00-06:00", "circunstancias": "no_regreso"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["route_notified"] is True
    detail = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
    status = {t["task_id"]: t["status"] for t in detail["tasks"]}
    # the judge's and COMAR's tasks (and every other open one) are still open, none cancelled
    assert {status[task_id] for task_id in pending.values()} == {"open"}
    assert {status[task_id] for task_id in open_before} == {"open"}
    assert "cancelled" not in status.values()
    opened = [t for t in detail["tasks"] if t["status"] == "open"]
    assert any(t["bpmn_id"] == "reportar_salida_colocacion" for t in opened), opened

    async def audit(**params):
        r = await api.get(
            "cndh.oversight", "/api/v1/audit", params={"case": folio, "limit": 200, **params}
        )
        assert r.status_code == 200, r.text
        return r.json()["items"]

    assert await audit(action="task.cancelled") == []
    by_shelter = await audit(actor="cas-07-tapachula.shelter-staff")
    assert "placement.left" in [e["action"] for e in by_shelter]
    assert not [e for e in by_shelter if e["task_id"] in pending.values()]


async def test_located_child_is_placed_again_and_a_second_departure_is_caught(api):
    folio, placement_id = await _placed_case(api, "Localizada")
    left = {"fecha_hora_salida": "2026-03-02T08:00:00-06:00", "circunstancias": "no_regreso"}
    staff = "cas-07-tapachula.shelter-staff"
    r = await api.post(staff, f"/api/v1/placements/{placement_id}/left", json=left)
    assert r.json()["route_notified"] is True
    for bpmn_id in (
        "reportar_salida_colocacion",
        "denunciar_ante_mp",
        "registrar_reporte_no_localizado",
        "resultado_busqueda",  # example: located in Chiapas, no imminent risk
    ):
        await api.complete(folio, bpmn_id)
    # the Procuraduría places the located child again through the placement flow
    await api.complete(folio, "emitir_medida_proteccion")
    await api.complete(folio, "admitir_en_cas")
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    assert [p["status"] for p in detail["placements"]] == ["left", "admitted"]
    assert detail["case"]["status"] == "open"
    again = detail["placements"][1]["id"]
    r = await api.post(staff, f"/api/v1/placements/{again}/left", json=left)
    assert r.status_code == 200, r.text
    assert r.json()["route_notified"] is True
    tasks = await api.open_tasks(folio)
    assert "reportar_salida_colocacion" in [t["bpmn_id"] for t in tasks]


async def test_discharge_ends_the_shelters_access(api):
    folio, placement_id = await _placed_case(api, "Egresada")
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        f"/api/v1/placements/{placement_id}/discharge",
        json={"reason": "acogimiento familiar", "destino": "familia_acogida"},
    )
    assert r.status_code == 200 and r.json()["status"] == "discharged"
    assert r.json()["destino"] == "familia_acogida"
    assert (
        await api.get("cas-07-tapachula.shelter-staff", f"/api/v1/cases/{folio}")
    ).status_code == 404
    r = await api.post(
        "cndh.oversight",
        f"/api/v1/placements/{placement_id}/discharge",
        json={"reason": "x", "destino": "otro"},
    )
    assert r.status_code == 403


async def test_a_blank_departure_is_refused_naming_the_field(api):
    """Whitespace passes the body's length check; the service trims it and answers 422."""
    r = await api.post(
        "cas-07-tapachula.shelter-staff",
        "/api/v1/placements/999999/left",
        json={"fecha_hora_salida": "2026-03-05T20:30:00Z", "circunstancias": " \f "},
    )
    # the body is checked before the placement is looked up: nothing about it is revealed
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.circunstancias"]


async def test_no_shelter_admission_of_an_adult_through_the_api(api):
    """A CAS is for children (LGDNNA art. 4 fr. V, art. 95): a presumed adolescent is admitted;
    once the age assessment finds an adult, no command moves the person into a CAS (409 naming
    the guarantee, nothing written)."""
    folio = await api.open_case("inm-07.officer", name="Duda de edad")
    await api.complete(
        folio, "registrar_deteccion", duda_edad=True, motivo_duda_edad="Documento ilegible."
    )
    for _ in range(40):  # the age assessment stays pending: the person is presumed a child
        ready = sorted(t["bpmn_id"] for t in await api.open_tasks(folio))
        if "admitir_en_cas" in ready:
            break
        await api.complete(folio, next(t for t in ready if t != "determinar_edad"))
    await api.complete(folio, "admitir_en_cas")  # presumed an adolescent: admitted
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    placement = detail["placements"][0]
    adult = {
        "edad_minima": 19,
        "edad_maxima": 23,
        "resultado": "mayor_de_edad",
        "fundamentacion": "Rango de 19 a 23 años; aun con el beneficio de la duda es mayor.",
    }
    await api.complete(folio, "determinar_edad", **adult)
    tux = await _shelter_id(api, "CAS-07-TUXTLA")
    r = await api.post(
        "procuraduria-07.officer",
        f"/api/v1/placements/{placement['id']}/transfer",
        json={"to_shelter_id": tux, "reason": "traslado"},
    )
    assert r.status_code == 409, r.text
    assert r.json()["guarantee"] == "cas_solo_para_nna"
    assert "art. 95" in r.json()["legal_source"]
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    assert [(p["shelter"], p["status"]) for p in detail["placements"]] == [
        ("CAS-07-TAPACHULA", "admitted")
    ]


# ------------------------------------------------ family placements (issue 12, item 5)
def _json(value):
    """A JSON column as read (a string on SQLite, a dict on PostgreSQL)."""
    return json.loads(value) if isinstance(value, str) else value


async def _in_kinship_care(api, name: str = "Acogida") -> tuple[str, dict]:
    """A child the DIF placed with extended family through the route's
    formalizar_acogimiento_familiar: the placement of that kind."""
    folio = await api.open_case("inm-07.officer", name=name)
    await api.drive_until(folio, "emitir_medida_proteccion")
    await api.complete(folio, "emitir_medida_proteccion", opcion_cuidado="familia_extensa")
    task = next(
        t for t in await api.open_tasks(folio) if t["bpmn_id"] == "formalizar_acogimiento_familiar"
    )
    await api.complete(folio, "formalizar_acogimiento_familiar", tipo_colocacion="familia_extensa")
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    [placement] = detail["placements"]
    assert (placement["kind"], placement["status"]) == ("familia_extensa", "admitted")
    placement["dif"] = task["authority"]
    return folio, placement


async def _occupancy(api) -> dict[str, int]:
    shelters = (await api.get("procuraduria-07.officer", "/api/v1/shelters")).json()
    return {s["code"]: s["occupancy"] for s in shelters}


async def test_formalised_kinship_care_is_a_placement_the_procuraduria_reports_left(api):
    before = await _occupancy(api)
    folio, placement = await _in_kinship_care(api)
    assert await _occupancy(api) == before  # a family placement takes no shelter place
    # nor is the child listed among the children in the DIF's shelter
    dif_id = (
        await Authority.select(Authority.id).where(Authority.code == placement["dif"]).first()
    )["id"]
    children = await api.get("cndh.oversight", f"/api/v1/shelters/{dif_id}/children")
    assert folio not in [c["folio"] for c in children.json()]
    pid = placement["id"]
    left = {
        "fecha_hora_salida": "2026-03-05T20:30:00Z",
        "circunstancias": "No volvió de la escuela",
        "indicios_riesgo": True,
    }
    # the DIF following the family may not report it: the Procuraduría does
    r = await api.post(
        user_for(placement["dif"], "officer"), f"/api/v1/placements/{pid}/left", json=left
    )
    assert r.status_code == 403, r.text
    r = await api.post("procuraduria-07.officer", f"/api/v1/placements/{pid}/left", json=left)
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["status"]) == ("familia_extensa", "left")
    assert r.json()["route_notified"] is True
    tasks = await api.open_tasks(folio)
    assert "reportar_salida_colocacion" in [t["bpmn_id"] for t in tasks]
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    [event] = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "placement.left")
    )
    changes = _json(event["changes"])
    assert changes["kind"] == "familia_extensa"
    assert "circunstancias" in changes["texts"]  # a keyed digest, never the text
    assert "escuela" not in json.dumps(changes)
    # a second record of the same departure is refused: the placement already ended
    r = await api.post("procuraduria-07.officer", f"/api/v1/placements/{pid}/left", json=left)
    assert r.status_code == 409


async def test_left_on_a_placement_of_another_authority_is_404(api):
    _folio, placement = await _in_kinship_care(api, "Ajena")
    left = {"fecha_hora_salida": "2026-03-05T20:30:00Z", "circunstancias": "salida"}
    for who in ("procuraduria-27.officer", "cas-27-villahermosa.shelter-staff"):
        r = await api.post(who, f"/api/v1/placements/{placement['id']}/left", json=left)
        assert r.status_code == 404, (who, r.text)
    row = await Placement.select(Placement.status).where(Placement.id == placement["id"]).first()
    assert row["status"] == "admitted"


async def test_a_discharge_records_where_the_child_goes(api):
    folio, placement = await _in_kinship_care(api, "Egreso familiar")
    url = f"/api/v1/placements/{placement['id']}/discharge"
    # the body names the missing or unknown field (400, like every malformed body)
    r = await api.post("procuraduria-07.officer", url, json={"reason": "reunificación"})
    assert r.status_code == 400 and "destino" in r.json()["errors"][0]["message"], r.text
    r = await api.post(
        "procuraduria-07.officer", url, json={"reason": "reunificación", "destino": "luna"}
    )
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "$.destino", r.text
    row = await Placement.select(Placement.status).where(Placement.id == placement["id"]).first()
    assert row["status"] == "admitted"  # nothing written
    r = await api.post(
        "procuraduria-07.officer",
        url,
        json={"reason": "reunificación", "destino": "familia_origen"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["destino"]) == ("discharged", "familia_origen")
    detail = (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).json()
    assert detail["placements"][0]["destino"] == "familia_origen"
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    [event] = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "placement.discharged")
    )
    assert _json(event["changes"])["destino"] == "familia_origen"


async def test_closing_as_not_located_before_the_period_is_refused_through_the_api(api):
    """The closure proposal with motivo 'no_localizado' before the search ran its period and
    the supervisor decided: 409 naming the guarantee, nothing written."""
    from tests.app.test_representation import _in_flight, _refused

    folio = await _in_flight("cierre", "proponer_cierre", {}, folio="NL-CHIS-CIERRE")
    body = await _refused(
        api,
        folio,
        "proponer_cierre",
        "cierre_por_no_localizacion_tras_la_busqueda",
        motivo="no_localizado",
        destino_nna="no_localizada",
    )
    assert {e["path"] for e in body["errors"]} == {"$.data.motivo", "$.data.destino_nna"}
    assert "LGMDFP" in body["legal_source"]
    await api.complete(folio, "proponer_cierre")
