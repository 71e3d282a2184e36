"""panel_bid: report, readiness, convening, votes until quorum, decision, informing the child.

The panel binds (issue 12): a panel below config/panel_bid.toml's minimum is refused, members are
identified users with their authority, the chair's decision follows the votes unless the chair
records reasons (and the dissent is kept), and the BID facts are marked by panel_bid alone.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tests.route.driver import Driver, form_example
from workflows import FormValidationError, RouteEngine
from workflows.errors import SpecError
from workflows.panel_bid import AjustesPanelBid

PROCESS = "panel_bid"


def start(engine: RouteEngine | None = None) -> Driver:
    return Driver(
        process_id=PROCESS,
        variables={"situacion_acompanamiento": "no_acompanado", "requiere_bid": True},
        engine=engine,
    )


def members(d: Driver, extra: list[dict] | None = None) -> list[dict]:
    listed = form_example(d.engine, "convocar_panel.schema.json")["miembros"]
    return listed + (extra or [])


def member(organizacion: str, conflicto: bool = False) -> dict:
    m = {
        "usuario": f"ts.{organizacion.lower()}",
        "autoridad": "OSC",
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


def vote_all(d: Driver, *each: dict, **vote) -> list[int]:
    """Record votes while vote tasks are offered (``each[i]`` for the i-th member, else ``vote``);
    return the order of the members who voted."""
    voted = []
    while d.ready() == ["votar_panel_bid"]:
        voted.append(d.task("votar_panel_bid").context["miembro"]["orden"])
        d.complete("votar_panel_bid", **(each[len(voted) - 1] if len(each) >= len(voted) else vote))
    return voted


RECHAZO = {"voto": "rechazar", "razonamiento": "La madre no puede recibirlo todavía."}


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


def test_a_panel_below_the_configured_minimum_is_refused():
    d = start()
    to_convening(d)
    two = members(d)[:2]
    with pytest.raises(FormValidationError) as err:
        d.complete("convocar_panel", miembros=two, quorum=3)
    paths = {e["path"] for e in err.value.errors}
    assert paths == {"$.miembros", "$.quorum"}
    assert "panel_bid_integrado" in err.value.errors[0]["message"]
    # A recused member does not count towards the minimum either.
    with pytest.raises(FormValidationError):
        d.complete("convocar_panel", miembros=[*two, member("Albergue", conflicto=True)])
    # Nor can a case lower the quorum below the configured minimum.
    with pytest.raises(FormValidationError) as err:
        d.complete("convocar_panel", quorum=2)
    assert [e["path"] for e in err.value.errors] == ["$.quorum"]
    assert d.ready() == ["convocar_panel"]  # nothing was written


def test_panel_size_and_quorum_come_from_config():
    small = RouteEngine(start().engine.library, panel_bid=AjustesPanelBid(2, 2))
    d = start(small)
    to_convening(d)
    d.complete("convocar_panel", miembros=members(d)[:2], quorum=2)
    assert vote_all(d) == [1, 2]
    assert d.ready() == ["registrar_decision_bid"]
    shipped = AjustesPanelBid.cargar()
    assert (shipped.miembros_minimo, shipped.quorum_minimo) == (3, 3)


@pytest.mark.parametrize(
    "tabla",
    [
        {"miembros_minimo": 3, "quorum_minimo": 4},
        {"miembros_minimo": 0, "quorum_minimo": 0},
        {"miembros_minimo": "3", "quorum_minimo": 3},
        {"miembros_minimo": 3},
        {"miembros_minimo": 3, "quorum_minimo": 3, "quorum": 3},
    ],
)
def test_bad_panel_settings_stop_the_service(tabla):
    with pytest.raises(SpecError, match=r"\[panel_bid\]"):
        AjustesPanelBid.desde_dict(tabla)


def test_panel_needs_one_chair_and_distinct_identified_members():
    d = start()
    to_convening(d)
    listed = members(d)
    no_chair = [dict(m, funcion="integrante") for m in listed]
    with pytest.raises(FormValidationError) as err:
        d.complete("convocar_panel", miembros=no_chair)
    assert [e["path"] for e in err.value.errors] == ["$.miembros"]
    twice = [*listed[:2], dict(listed[2], usuario=listed[1]["usuario"])]
    with pytest.raises(FormValidationError) as err:
        d.complete("convocar_panel", miembros=twice)
    assert listed[1]["usuario"] in err.value.errors[0]["message"]
    anonymous = [{k: v for k, v in m.items() if k != "usuario"} for m in listed]
    with pytest.raises(FormValidationError) as err:
        d.complete("convocar_panel", miembros=anonymous)
    assert {e["path"] for e in err.value.errors} == {f"$.miembros[{i}].usuario" for i in range(3)}


def test_each_vote_keeps_its_member_and_authority():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d, {}, RECHAZO, {})
    votos = d.task("registrar_decision_bid").context["votos"]
    assert [(v["usuario"], v["autoridad"], v["voto"]) for v in votos] == [
        ("presidencia.pepnna", "PROCURADURIA", "aprobar"),
        ("psicologia.pepnna", "PROCURADURIA", "rechazar"),
        ("proteccion.acnur", "ACNUR", "aprobar"),
    ]
    assert d.variables["mayoria_bid"] == "aprobar"
    assert d.variables["votos_bid"] == "aprobar: 2, rechazar: 1"
    assert d.variables["unanimidad_bid"] is False


def test_chair_who_departs_from_the_votes_records_reasons_and_the_dissent_is_kept():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d, {}, RECHAZO, RECHAZO)  # the chair approves, two members reject
    assert d.variables["mayoria_bid"] == "rechazar"
    with pytest.raises(FormValidationError) as err:
        d.complete("registrar_decision_bid", decision="aprobar")
    errors = {e["path"]: e["message"] for e in err.value.errors}
    assert set(errors) == {"$.razones_apartarse_mayoria", "$.hay_disenso"}
    assert "decision_bid_sigue_votos" in errors["$.razones_apartarse_mayoria"]
    assert "decision_bid" not in d.variables  # nothing was written
    d.complete(
        "registrar_decision_bid",
        decision="aprobar",
        razones_apartarse_mayoria="La madre ya acreditó vivienda después de la sesión.",
        hay_disenso=True,
        disenso="psicologia.pepnna y proteccion.acnur votaron rechazar: vivienda no acreditada.",
    )
    assert d.variables["decision_bid"] == "aprobar"
    assert d.ready() == ["informar_nna_decision"]


def test_decision_that_follows_a_split_majority_still_keeps_the_dissent():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d, RECHAZO, {}, {})
    with pytest.raises(FormValidationError) as err:
        d.complete("registrar_decision_bid", decision="aprobar", hay_disenso=False)
    assert [e["path"] for e in err.value.errors] == ["$.hay_disenso"]
    d.complete("registrar_decision_bid", hay_disenso=True, disenso="La presidencia votó rechazar.")
    assert d.variables["decision_bid"] == "aprobar"


def test_without_a_majority_the_chair_decides_with_reasons():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    defer = {"voto": "diferir", "razonamiento": "Falta.", "informacion_solicitada": "Visita"}
    vote_all(d, {}, RECHAZO, defer)
    assert d.variables["mayoria_bid"] == "sin_mayoria"
    with pytest.raises(FormValidationError) as err:
        d.complete("registrar_decision_bid", hay_disenso=True, disenso="Votos divididos.")
    assert [e["path"] for e in err.value.errors] == ["$.razones_apartarse_mayoria"]
    d.complete(
        "registrar_decision_bid",
        hay_disenso=True,
        disenso="Votos divididos.",
        razones_apartarse_mayoria="La opinión de la NNA inclina la decisión.",
    )
    assert d.variables["decision_bid"] == "aprobar"


def test_bid_on_a_return_recommendation_decides_whether_a_return_may_be_planned():
    for decision, votes, admitted in (("rechazar", RECHAZO, False), ("aprobar", {}, True)):
        d = start()
        d.complete("compilar_informe_bid", recomendacion="retorno_asistido")
        d.complete("verificar_preparacion_bid")
        d.complete("convocar_panel")
        vote_all(d, **votes)
        d.complete("registrar_decision_bid", decision=decision)
        assert d.variables["retorno_admitido_bid"] is admitted


def test_only_the_bid_panel_marks_the_bid_facts():
    """No subprocess can reset what the panel decided: only panel_bid.bpmn marks these."""
    facts = (
        "decision_bid",
        "mayoria_bid",
        "unanimidad_bid",
        "votos_bid",
        "retorno_admitido_bid",
        "presidencia_bid",
    )
    bpmn = Path(__file__).resolve().parents[2] / "bpmn"
    marking = {
        path.name
        for path in bpmn.glob("*.bpmn")
        for fact in facts
        if re.search(rf"marcar\(\s*[\"']{fact}[\"']", path.read_text(encoding="utf-8"))
    }
    assert marking == {"panel_bid.bpmn"}


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
    if decision["decision"] == "rechazar":
        vote_all(d, **RECHAZO)
    else:
        vote_all(d, voto=decision["decision"], modificaciones_propuestas="Visita domiciliaria")
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


REVIEW = {
    "solicita_revision": True,
    "motivo_revision": "La NNA no fue escuchada sobre su tío en Jalisco.",
    "quien_solicita_revision": "representacion_legal",
}


def test_the_decision_can_be_reviewed_once_by_a_panel_chaired_by_someone_else():
    d = start()
    to_convening(d)
    d.complete("convocar_panel")
    vote_all(d)
    d.complete("registrar_decision_bid")
    assert d.variables["presidencia_bid"] == "presidencia.pepnna"
    with pytest.raises(FormValidationError) as err:
        d.complete("informar_nna_decision", solicita_revision=True)
    assert {e["path"] for e in err.value.errors} == {
        "$.motivo_revision",
        "$.quien_solicita_revision",
    }
    d.complete("informar_nna_decision", **REVIEW)
    assert d.ready() == ["convocar_panel"]
    with pytest.raises(FormValidationError) as err:
        d.complete("convocar_panel")  # the same chair
    assert [e["path"] for e in err.value.errors] == ["$.miembros"]
    assert "revision_bid" in err.value.errors[0]["message"]
    listed = members(d)
    listed[0] = dict(listed[0], usuario="jefatura.sndif", autoridad="DIF_CAS")
    d.complete("convocar_panel", miembros=listed)
    vote_all(d, **RECHAZO)
    d.complete("registrar_decision_bid", decision="rechazar")
    assert d.variables["decision_bid"] == "rechazar"
    assert d.variables["presidencia_bid"] == "jefatura.sndif"
    with pytest.raises(FormValidationError) as err:
        d.complete("informar_nna_decision", **REVIEW)  # once per decision
    assert [e["path"] for e in err.value.errors] == ["$.solicita_revision"]
    d.complete("informar_nna_decision", solicita_revision=False)
    assert d.end_state == "fin_bid_decidida"
