"""Opening a case by an entry channel other than INM, through the API (issue 12, item 5): who may
open by which channel, where the receiving authority's notice goes, and who may read the case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.route_engine import form_example
from tests.app.helpers import opening_form

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def channel_form(canal: str, **overrides) -> dict:
    # received two hours ago; every later fact an hour ago
    return opening_form(
        canal_ingreso=canal, fecha_deteccion=iso(NOW - timedelta(hours=2)), **overrides
    )


async def open_by(api, username: str, canal: str, **overrides):
    body = {"form": channel_form(canal, **overrides), "identidad": {"nombres": "Canal"}}
    return await api.post(username, "/api/v1/cases", json=body)


def facts(form_name: str, **overrides) -> dict:
    return form_example(form_name, facts_at=NOW - timedelta(hours=1)) | overrides


@pytest.mark.parametrize(
    ("username", "canal"),
    [
        ("inm-07.officer", "autopresentacion_dif"),
        ("inm-07.officer", "canalizacion_albergue_osc"),
        ("cas-07-tapachula.shelter-staff", "revision_migratoria_inm"),
        ("comar-07.officer", "autopresentacion_dif"),
        ("procuraduria-07.officer", "autopresentacion_comar"),
        ("fiscalia-07.officer", "otro"),
    ],
)
async def test_an_authority_opens_a_case_only_by_a_channel_it_receives(api, username, canal):
    r = await open_by(api, username, canal)
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.form.canal_ingreso"]


async def test_a_child_at_a_dif_shelter_reaches_the_procuraduria_without_inm(api):
    """The shelter that received the child (not the one routing would pick) notifies; the
    Procuraduría sees the case once notified and records the reception; INM reads it only once
    the Procuraduría informs it, and never gets a task before protection starts."""
    r = await open_by(api, "cas-07-tuxtla.shelter-staff", "autopresentacion_dif")
    assert r.status_code == 201, r.text
    folio = r.json()["folio"]
    [routed] = r.json()["next_tasks"]
    assert routed["bpmn_id"] == "notificar_recepcion_dif"
    assert routed["authority"] == "CAS-07-TUXTLA"
    assert routed["routing_rule"] == "opener"
    for outsider in ("procuraduria-07.officer", "inm-07.officer"):
        assert (await api.get(outsider, f"/api/v1/cases/{folio}")).status_code == 404
    await api.complete(
        folio, "notificar_recepcion_dif", facts("notificar_recepcion_dif.schema.json")
    )
    assert (await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")).status_code == 200
    [task] = await api.open_tasks(folio)
    assert (task["bpmn_id"], task["authority"]) == ("registrar_recepcion", "PROCURADURIA-07")
    await api.complete(folio, "registrar_recepcion", facts("registrar_recepcion.schema.json"))
    open_now = {t["bpmn_id"]: t["authority"] for t in await api.open_tasks(folio)}
    assert open_now == {
        "determinar_acompanamiento": "PROCURADURIA-07",
        "informar_inm_recepcion": "PROCURADURIA-07",
    }
    assert (await api.get("inm-07.officer", f"/api/v1/cases/{folio}")).status_code == 404
    await api.complete(folio, "informar_inm_recepcion", facts("informar_inm_recepcion.schema.json"))
    detail = await api.get("inm-07.officer", f"/api/v1/cases/{folio}")
    assert detail.status_code == 200
    case = detail.json()
    assert case["case"]["variables"]["autoridad_receptora"] == "DIF_CAS"
    assert not [t for t in case["tasks"] if t["lane"] == "INM"]
    assert [run["canal_ingreso"] for run in case["runs"]] == ["autopresentacion_dif"]
    opened = [e for e in case["timeline"] if e["action"] == "case.opened"]
    assert opened[0]["changes"]["autoridad_receptora"] == "DIF_CAS"
    assert "111" in opened[0]["legal_basis"]


async def test_comar_and_the_procuraduria_open_by_their_channels(api):
    r = await open_by(api, "comar-07.officer", "autopresentacion_comar")
    assert r.status_code == 201, r.text
    [routed] = r.json()["next_tasks"]
    assert (routed["bpmn_id"], routed["authority"]) == ("notificar_recepcion_comar", "COMAR-07")
    r = await open_by(api, "procuraduria-07.officer", "canalizacion_albergue_osc")
    assert r.status_code == 201, r.text
    [routed] = r.json()["next_tasks"]
    assert (routed["bpmn_id"], routed["authority"]) == ("registrar_recepcion", "PROCURADURIA-07")
