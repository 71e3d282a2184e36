"""panel_bid: report, readiness, convening, votes until quorum, decision, informing the child."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.route.driver import Driver, form_example
from workflows import FormValidationError

PROCESS = "panel_bid"


def start() -> Driver:
    return Driver(
        process_id=PROCESS,
        variables={"situacion_acompanamiento": "no_acompanado", "requiere_bid": True},
    )


def members(d: Driver, extra: list[dict] | None = None) -> list[dict]:
    listed = form_example(d.engine, "convocar_panel.schema.json")["miembros"]
    return listed + (extra or [])


def member(organizacion: str, conflicto: bool = False) -> dict:
    m = {
        "funcion": "integrante",
        "perfil": "Trabajo social",
        "organizacion": organizacion,
        "declara_conflicto_interes": conflicto,
    }
    if conflicto:
        m["se_excusa"] = True
    return m


def to_convening(d: Driver) -> None:
    d.complete("compilar_informe_bid")
    d.complete("verificar_preparacion_bid")
    assert d.ready() == ["convocar_panel"]


def vote_all(d: Driver, **vote) -> list[int]:
    """Record votes while vote tasks are offered; return the order of the members who voted."""
    voted = []
    while d.ready() == ["votar_panel_bid"]:
        voted.append(d.task("votar_panel_bid").context["miembro"]["orden"])
        d.complete("votar_panel_bid", **vote)
    return voted


def test_approved_bid_is_recorded_and_explained_to_the_child():
    d = start()
    assert d.ready() == ["compilar_informe_bid"]
    d.complete("compilar_informe_bid")
    assert d.task("verificar_preparacion_bid").rol == "supervisor"
    d.complete("verificar_preparacion_bid")
    d.complete("convocar_panel")
    task = d.task("votar_panel_bid")
    assert task.context["miembro"]["funcion"] == "presidencia"
    assert vote_all(d) == [1, 2, 3]
    decision = d.task("registrar_decision_bid")
    assert decision.rol == "supervisor"
    assert decision.deadline_id == "bid_panel"
    d.complete("registrar_decision_bid")
    assert d.variables["decision_bid"] == "aprobar"
    assert d.ready() == ["informar_nna_decision"]
    d.complete("informar_nna_decision")
    assert d.end_state == "fin_bid_decidida"


def test_report_not_ready_goes_back_to_the_caseworker():
    d = start()
    d.complete("compilar_informe_bid")
    with pytest.raises(FormValidationError):
        d.complete("verificar_preparacion_bid", listo=False)
    d.complete("verificar_preparacion_bid", listo=False, observaciones="Falta la localización.")
    assert d.ready() == ["compilar_informe_bid"]


def test_voting_stops_when_the_quorum_is_reached():
    d = start()
    to_convening(d)
    d.complete("convocar_panel", miembros=members(d, [member("UNICEF"), member("OIM")]), quorum=3)
    assert vote_all(d) == [1, 2, 3]
    assert d.ready() == ["registrar_decision_bid"]


def test_quorum_is_configurable_per_case_and_recused_members_do_not_vote():
    d = start()
    to_convening(d)
    extra = [member("Albergue", conflicto=True), member("UNICEF")]
    d.complete("convocar_panel", miembros=members(d, extra), quorum=4)
    orgs = []
    while d.ready() == ["votar_panel_bid"]:
        orgs.append(d.task("votar_panel_bid").context["miembro"]["organizacion"])
        d.complete("votar_panel_bid")
    assert orgs == ["PEPNNA Chiapas", "PEPNNA Chiapas", "ACNUR", "UNICEF"]
    assert d.ready() == ["registrar_decision_bid"]


def test_conflict_of_interest_requires_recusal():
    d = start()
    to_convening(d)
    bad = member("Albergue")
    bad["declara_conflicto_interes"] = True
    with pytest.raises(FormValidationError):
        d.complete("convocar_panel", miembros=members(d, [bad]))


def test_without_quorum_the_panel_is_convened_again():
    d = start()
    to_convening(d)
    two = members(d)[:2]
    d.complete("convocar_panel", miembros=two, quorum=3)
    assert vote_all(d) == [1, 2]
    assert d.ready() == ["convocar_panel"]
    d.complete("convocar_panel")
    assert vote_all(d) == [1, 2, 3]
    assert d.ready() == ["registrar_decision_bid"]


def test_deferred_decision_goes_back_to_the_report_then_is_approved():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d, voto="diferir", informacion_solicitada="Resultado de la localización")
    with pytest.raises(FormValidationError):
        d.complete("registrar_decision_bid", decision="diferir")
    d.complete("registrar_decision_bid", decision="diferir", informacion_solicitada="Localización")
    assert d.variables["decision_bid"] == "diferir"
    assert d.ready() == ["compilar_informe_bid"]
    to_convening(d)
    d.complete("convocar_panel")
    assert vote_all(d) == [1, 2, 3]
    d.complete("registrar_decision_bid", decision="aprobar")
    assert d.variables["decision_bid"] == "aprobar"
    d.complete("informar_nna_decision")
    assert d.end_state == "fin_bid_decidida"


@pytest.mark.parametrize(
    "decision",
    [
        {
            "decision": "aprobar_con_modificacion",
            "modificaciones": "Reunificación tras visita domiciliaria",
        },
        {"decision": "rechazar"},
    ],
)
def test_modified_or_rejected_decision_is_also_explained_to_the_child(decision):
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d)
    d.complete("registrar_decision_bid", **decision)
    assert d.variables["decision_bid"] == decision["decision"]
    assert d.ready() == ["informar_nna_decision"]


def test_dissent_and_limited_weight_of_the_childs_views_must_be_explained():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d)
    with pytest.raises(FormValidationError) as err:
        d.complete("registrar_decision_bid", hay_disenso=True, peso_opinion_nna="limitado")
    assert {e["path"] for e in err.value.errors} == {"$.disenso", "$.explicacion_peso_opinion"}


def test_late_panel_decision_escalates():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d)
    d.advance(timedelta(days=31))
    events = d.events_of("deadline_escalated")
    assert [(e.data["plazo_id"], e.data["level"]) for e in events] == [("bid_panel", 1)]
