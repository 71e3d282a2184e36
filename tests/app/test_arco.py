"""ARCO requests (issue 16, item 3), the data protection view (item 5), legal holds through the
API, and the data protection officer in the security incident register.

An access request produces the child's data and the list of reads within its deadline; the
deadline is 20 working days on the authority's calendar, extendable once; an overdue one
escalates on the injected clock; rectification goes through the identity correction; a
cancellation is decided with reasons; another authority's request is 404; two extensions at
once: one wins."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from app import audit
from app.route_engine import calendario
from app.services import arco, auth, case_files, deadlines, retention
from app.tables import (
    ArcoRequest,
    AuditEvent,
    Case,
    CaseRetention,
    Notification,
    User,
)
from tests.app.test_reopen import closed_case

DPO = "inm-07.proteccion-datos"
OTHER_DPO = "procuraduria-27.proteccion-datos"
REQUESTER = "Marisol Quetzalli Pérez (tía)"
NOTE = "La niña dijo que su madre está en Chicago."
S = timedelta(seconds=1)


def body(folio: str, **kw) -> dict:
    return {
        "folio": folio,
        "derecho": "acceso",
        "solicitante_relacion": "representante_legal",
        "solicitante_nombre": REQUESTER,
        "verificacion": "documento_representacion",
        "verificacion_detalle": "Acta de tutela 44/2026 cotejada con INE",
    } | kw


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def _events(case_id: int, prefix: str = "arco.") -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & AuditEvent.action.like(prefix + "%")
    )
    return [r | {"changes": json.loads(r["changes"])} for r in rows]


async def _register(api, folio: str, user: str = DPO, **kw) -> dict:
    r = await api.post(user, "/api/v1/arco-requests", json=body(folio, **kw))
    assert r.status_code == 201, r.text
    return r.json()


async def test_an_access_request_produces_the_data_and_the_reads_within_its_deadline(api):
    folio = await api.open_case("inm-07.officer", name="Itzel")
    officer = await auth.principal_for_user("inm-07.officer")
    await case_files.add_note(officer, folio, NOTE)
    assert (await api.get("inm-07.officer", f"/api/v1/cases/{folio}/identity")).status_code == 200
    assert (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).status_code == 200

    # the identity verification is required, and nothing is written without it
    r = await api.post(DPO, "/api/v1/arco-requests", json=body(folio, verificacion="otra"))
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.verificacion"
    r = await api.post(DPO, "/api/v1/arco-requests", json=body(folio, verificacion_detalle=" "))
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.verificacion_detalle"
    assert await ArcoRequest.count().where(ArcoRequest.case_folio == folio) == 0

    made = await _register(api, folio)
    received = datetime.fromisoformat(made["recibida_en"])
    # 20 working days from the day after reception, on INM's calendar in Chiapas
    expected = calendario().sumar_dias_habiles(received, 20, "07", "INM")
    assert datetime.fromisoformat(made["vence_en"]) == expected
    assert expected - received >= timedelta(days=26)  # four weeks of working days, at least

    r = await api.post(DPO, f"/api/v1/arco-requests/{made['id']}/access")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["en_plazo"] is True
    data = out["datos"]
    assert data["identidad"]["nombres"] == "Itzel"
    assert [n["body"] for n in data["notas"]] == [NOTE]
    assert [f["bpmn_id"] for f in data["formularios"]] == ["inicio_caso"]
    reads = [(x["usuario"], x["rol"], x["autoridad"], x["accion"]) for x in out["lecturas"]]
    assert ("inm-07.officer", "officer", "INM-07", "case.identity_read") in reads
    assert ("cndh.oversight", "oversight", "CNDH", "case.read") in reads

    detail = (await api.get(DPO, f"/api/v1/arco-requests/{made['id']}")).json()
    assert (detail["estado"], detail["resultado"]) == ("respondida", "entregada")
    assert detail["solicitante_nombre"] == REQUESTER
    assert datetime.fromisoformat(detail["respondida_en"]) <= expected

    # the CSV (with BOM) is the same export; producing it is audited again and so is listed
    r = await api.post(DPO, f"/api/v1/arco-requests/{made['id']}/access.csv")
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    text = r.content.decode("utf-8-sig")
    assert "Itzel" in text and "inm-07.proteccion-datos" in text

    case_id = await _case_id(folio)
    events = await _events(case_id)
    assert [e["action"] for e in events] == [
        "arco.registered", "arco.access_exported", "arco.read", "arco.access_exported",
    ]  # fmt: skip
    assert events[1]["changes"]["answers"] is True and events[3]["changes"]["answers"] is False
    # the audit trail holds codes and keyed digests, never the requester's name
    raw = json.dumps([e["changes"] for e in events], ensure_ascii=False)
    assert "Marisol" not in raw and "tutela" not in raw
    assert sorted(events[0]["changes"]["texts"]) == ["solicitante_nombre", "verificacion_detalle"]
    # at rest the requester's name is sealed with the case's data key
    stored = await ArcoRequest.select(ArcoRequest.solicitante_nombre).first()
    assert stored["solicitante_nombre"].startswith("enc1:")
    assert (await audit.verify()).ok


async def test_the_deadline_extends_once_only(api):
    folio = await api.open_case("inm-07.officer")
    made = await _register(api, folio, derecho="oposicion", descripcion="Que no se comparta")
    url = f"/api/v1/arco-requests/{made['id']}/extend"
    r = await api.post(DPO, url, json={"razones": " "})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.razones"
    r = await api.post(DPO, url, json={"razones": "Se requiere información de otra área"})
    assert r.status_code == 200, r.text
    due = datetime.fromisoformat(made["vence_en"])
    assert datetime.fromisoformat(r.json()["vence_en"]) == calendario().sumar_dias_habiles(
        due, 10, "07", "INM"
    )
    r = await api.post(DPO, url, json={"razones": "Otra vez"})
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.ampliada_en"]
    assert [e["action"] for e in await _events(await _case_id(folio))] == [
        "arco.registered",
        "arco.extended",
    ]


async def test_an_overdue_request_escalates_once_on_the_clock(api):
    folio = await api.open_case("inm-07.officer")
    made = await _register(api, folio)
    due = datetime.fromisoformat(made["vence_en"])
    before = await Notification.count().where(Notification.kind == arco.OVERDUE_KIND)
    await deadlines.sweep(due - S)
    assert await Notification.count().where(Notification.kind == arco.OVERDUE_KIND) == before
    listed = (await api.get(DPO, "/api/v1/arco-requests", params={"vencidas": True})).json()
    assert made["id"] not in [i["id"] for i in listed["items"]]

    await deadlines.sweep(due + S)
    await deadlines.sweep(due + 2 * S)  # a replayed sweep escalates nothing twice
    rows = await Notification.select(Notification.user.username.as_alias("u")).where(
        (Notification.kind == arco.OVERDUE_KIND) & (Notification.case_folio == folio)
    )
    told = sorted(r["u"] for r in rows)
    heads = await User.select(User.username).where(
        (User.authority.code == "INM-07") & (User.role.is_in(["head", "proteccion_datos"]))
    )
    assert told == sorted(h["username"] for h in heads)
    assert "inm-07.proteccion-datos" in told and "inm-07.head" in told
    events = [e for e in await _events(await _case_id(folio)) if e["action"] == "arco.overdue"]
    assert len(events) == 1 and events[0]["changes"]["recipients"] == len(told)
    row = await ArcoRequest.select().where(ArcoRequest.id == made["id"]).first()
    assert row["vencida_en"] is not None
    # the request shows as overdue, with its working days late
    listed = await arco.list_requests(
        await auth.principal_for_user(DPO), vencidas=True, now=due + timedelta(days=7)
    )
    mine = next(i for i in listed if i["id"] == made["id"])
    assert mine["vencida"] is True and mine["dias_habiles"] < 0


async def test_rectification_goes_through_the_identity_correction(api):
    folio = await api.open_case("inm-07.officer", name="Yaretzi")
    made = await _register(api, folio, derecho="rectificacion", descripcion="Apellido mal")
    url = f"/api/v1/arco-requests/{made['id']}/rectify"
    r = await api.post(DPO, url, json={"identidad": {"nombres": "Yaretzi", "apellidos": "Cruz"}})
    assert r.status_code == 200, r.text
    assert r.json()["changed_fields"] == ["apellidos"]
    ident = (await api.get("inm-07.officer", f"/api/v1/cases/{folio}/identity")).json()
    assert ident["identidad"]["apellidos"] == "Cruz"
    case_id = await _case_id(folio)
    updated = await _events(case_id, "case.identity_updated")
    assert updated[-1]["changes"] == {"fields": ["apellidos"], "arco_request_id": made["id"]}
    assert (await api.post(DPO, url, json={"identidad": {"nombres": "X"}})).status_code == 409
    # an access request is not answered by a correction
    other = await _register(api, folio)
    r = await api.post(DPO, f"/api/v1/arco-requests/{other['id']}/rectify",
                       json={"identidad": {"nombres": "X"}})  # fmt: skip
    assert r.status_code == 409


async def test_a_cancellation_is_decided_with_reasons_and_blocks_a_closed_case(api):
    folio = await closed_case("Cancelar")
    case_id = await _case_id(folio)
    dpo = "procuraduria-07.proteccion-datos"
    refused = await _register(api, folio, dpo, derecho="cancelacion", descripcion="Borrar todo")
    url = f"/api/v1/arco-requests/{refused['id']}/decide"
    r = await api.post(dpo, url, json={"resultado": "improcedente", "razones": "En litigio"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.causa"
    r = await api.post(dpo, url, json={"resultado": "improcedente", "causa": "actuaciones",
                                       "razones": "Hay un amparo en trámite"})  # fmt: skip
    assert r.status_code == 200 and r.json()["efecto"] == "ninguno"

    granted = await _register(api, folio, dpo, derecho="cancelacion", descripcion="Ya soy mayor")
    r = await api.post(dpo, f"/api/v1/arco-requests/{granted['id']}/decide",
                       json={"resultado": "procedente", "razones": "Concluyó la protección"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["efecto"] == "bloqueo_adelantado"
    decided = [e for e in await _events(case_id) if e["action"] == "arco.decided"]
    assert [(e["changes"]["resultado"], e["changes"]["causa"]) for e in decided] == [
        ("improcedente", "actuaciones"),
        ("procedente", None),
    ]
    assert "amparo" not in json.dumps(decided)
    # the worker blocks it at its next sweep; erasure follows one blocking period later
    await retention.sweep(datetime.now(UTC) + S, cases=[case_id])
    assert (await Case.select(Case.retention).where(Case.id == case_id).first())[
        "retention"
    ] == "blocked"
    clock = await CaseRetention.select().where(CaseRetention.case == case_id).first()
    assert clock["erase_at"] == retention.add_duration(
        clock["block_at"], retention.schedule().bloqueo
    )


async def test_another_authority_gets_404_and_caseworkers_403(api):
    folio = await api.open_case("inm-07.officer")
    r = await api.post(OTHER_DPO, "/api/v1/arco-requests", json=body(folio))
    assert r.status_code == 404
    assert (
        await api.post("inm-07.officer", "/api/v1/arco-requests", json=body(folio))
    ).status_code == 403
    made = await _register(api, folio)
    for user in (OTHER_DPO, "fiscalia-07.proteccion-datos"):
        assert (await api.get(user, f"/api/v1/arco-requests/{made['id']}")).status_code == 404
        r = await api.post(
            user, f"/api/v1/arco-requests/{made['id']}/extend", json={"razones": "x"}
        )
        assert r.status_code == 404
        r = await api.post(user, f"/api/v1/arco-requests/{made['id']}/access")
        assert r.status_code == 404
        listed = (await api.get(user, "/api/v1/arco-requests")).json()["items"]
        assert made["id"] not in [i["id"] for i in listed]
    # oversight reads every request and writes none
    assert (
        await api.get("cndh.oversight", f"/api/v1/arco-requests/{made['id']}")
    ).status_code == 200
    r = await api.post("cndh.oversight", f"/api/v1/arco-requests/{made['id']}/access")
    assert r.status_code == 403
    assert (await api.get("inm-07.officer", "/api/v1/arco-requests")).status_code == 403
    assert await ArcoRequest.count().where(ArcoRequest.case_folio == folio) == 1


async def test_two_extensions_at_once_one_wins(api, monkeypatch):
    """Both read the request before either writes (a barrier): the conditional update lets one
    through; the other is a 409 and nothing of it is written (SQLite and PostgreSQL)."""
    folio = await api.open_case("inm-07.officer")
    made = await _register(api, folio)
    both_read = asyncio.Barrier(2)
    real_row = arco._row

    async def row_then_wait(principal, request_id):
        row = await real_row(principal, request_id)
        await both_read.wait()
        return row

    monkeypatch.setattr(arco, "_row", row_then_wait)
    url = f"/api/v1/arco-requests/{made['id']}/extend"
    results = await asyncio.gather(
        api.post(DPO, url, json={"razones": "primera"}),
        api.post(DPO, url, json={"razones": "segunda"}),
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    due = datetime.fromisoformat(made["vence_en"])
    row = await ArcoRequest.select().where(ArcoRequest.id == made["id"]).first()
    assert row["vence_en"] == calendario().sumar_dias_habiles(due, 10, "07", "INM")
    events = [e for e in await _events(await _case_id(folio)) if e["action"] == "arco.extended"]
    assert len(events) == 1
    assert (await audit.verify()).ok


async def test_the_view_counts_equal_the_rows_they_summarise(api):
    folio = await api.open_case("inm-07.officer")
    before = {}
    for user in (DPO, "cndh.oversight", OTHER_DPO):
        view = await api.get(user, "/api/v1/data-protection/overview")
        before[user] = view.json()["totales"]
    await _register(api, folio)
    await _register(api, folio, derecho="oposicion", descripcion="No compartir")
    r = await api.post(DPO, f"/api/v1/cases/{folio}/legal-holds",
                       json={"motivo": "queja", "referencia": "Queja CNDH 12/2026"})  # fmt: skip
    assert r.status_code == 201, r.text
    for user in (DPO, "cndh.oversight", OTHER_DPO):
        view = await api.get(user, "/api/v1/data-protection/overview")
        assert view.status_code == 200, view.text
        totals = view.json()["totales"]
        for name, count in totals.items():
            rows = (await api.get(user, f"/api/v1/data-protection/overview/{name}")).json()
            assert len(rows["items"]) == count, (user, name)
        added = {k: totals[k] - before[user][k] for k in ("arco_abiertas", "retenciones")}
        if user == OTHER_DPO:
            assert added == {"arco_abiertas": 0, "retenciones": 0}
        else:
            assert added == {"arco_abiertas": 2, "retenciones": 1}
        grouped = view.json()["consentimientos_por_destinatario"]
        assert sum(g["total"] for g in grouped) == totals["consentimientos"]
    assert (await api.get("inm-07.officer", "/api/v1/data-protection/overview")).status_code == 403
    r = await api.get(DPO, "/api/v1/data-protection/overview/nada")
    assert r.status_code == 404


async def test_legal_holds_through_the_api(api):
    folio = await api.open_case("inm-07.officer")
    hold = {"motivo": "litigio", "referencia": "Amparo 77/2026"}
    url = f"/api/v1/cases/{folio}/legal-holds"
    assert (await api.post("inm-07.officer", url, json=hold)).status_code == 403
    assert (await api.post(OTHER_DPO, url, json=hold)).status_code == 404
    r = await api.post(DPO, url, json=hold | {"motivo": "capricho"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.motivo"
    r = await api.post(DPO, url, json=hold)
    assert r.status_code == 201, r.text
    hold_id = r.json()["id"]
    listed = (await api.get(DPO, "/api/v1/data-protection/legal-holds")).json()["items"]
    mine = [(h["id"], h["motivo"]) for h in listed if h["folio"] == folio]
    assert mine == [(hold_id, "litigio")]
    lift = f"/api/v1/data-protection/legal-holds/{hold_id}/lift"
    assert (await api.post(OTHER_DPO, lift)).status_code == 404
    r = await api.post("cndh.oversight", lift)
    assert r.status_code == 200, r.text
    assert (await api.post(DPO, lift)).status_code == 404
    actions = [e["action"] for e in await _events(await _case_id(folio), "case.legal_hold")]
    assert actions == ["case.legal_hold_set", "case.legal_hold_lifted"]
    events = await _events(await _case_id(folio), "case.legal_hold_set")
    assert "Amparo" not in json.dumps(events)


async def test_the_data_protection_officer_records_security_incidents(api):
    incident = {
        "tipo": "uso_acceso_no_autorizado",
        "descripcion": "Una cuenta consultó expedientes ajenos",
        "ocurrio_en": "2026-11-01T10:00:00Z",
        "detectado_en": "2026-11-01T11:00:00Z",
    }
    r = await api.post(DPO, "/api/v1/security-incidents", json=incident)
    assert r.status_code == 201, r.text
    assert (await api.get(DPO, "/api/v1/security-incidents")).status_code == 200
    r = await api.post("inm-07.officer", "/api/v1/security-incidents", json=incident)
    assert r.status_code == 403


async def test_two_decisions_at_once_one_wins(api, monkeypatch):
    """A granted and a refused decision on one cancellation, both read before either writes:
    the conditional update lets one through, the other is a 409; one decision is audited and
    the request holds that one's result (SQLite and PostgreSQL)."""
    folio = await closed_case("Decidir Dos Veces")
    dpo = "procuraduria-07.proteccion-datos"
    made = await _register(api, folio, dpo, derecho="cancelacion", descripcion="Borrar")
    both_read = asyncio.Barrier(2)
    real_row = arco._row

    async def row_then_wait(principal, request_id):
        row = await real_row(principal, request_id)
        await both_read.wait()
        return row

    monkeypatch.setattr(arco, "_row", row_then_wait)
    url = f"/api/v1/arco-requests/{made['id']}/decide"
    granted = {"resultado": "procedente", "razones": "Concluyó la protección"}
    refused = {"resultado": "improcedente", "causa": "actuaciones", "razones": "Amparo"}
    results = await asyncio.gather(
        api.post(dpo, url, json=granted), api.post(dpo, url, json=refused)
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    winner = (granted, refused)[[r.status_code for r in results].index(200)]
    row = await ArcoRequest.select().where(ArcoRequest.id == made["id"]).first()
    assert (row["estado"], row["resultado"]) == ("respondida", winner["resultado"])
    decided = [e for e in await _events(await _case_id(folio)) if e["action"] == "arco.decided"]
    assert [e["changes"]["resultado"] for e in decided] == [winner["resultado"]]
    assert (await audit.verify()).ok
