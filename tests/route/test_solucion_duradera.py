"""Path tests for solucion_duradera and retorno_asistido (LM art. 112 fr. III–IV; RLM art. 169).

Each durable solution, and the non-refoulement guard: assisted return never starts while an
asylum claim is pending, after protection was granted, or when the plan did not find return in
the child's best interests; the Procuraduría then reviews the solution.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PID = "solucion_duradera"
RETORNO_TASKS = {"informar_nna_retorno", "coordinar_autoridad_origen", "acompanar_retorno"}
RETORNO_OK = {
    "solucion_duradera": "retorno_asistido",
    "retorno_en_interes_superior": True,
    "asilo_pendiente": False,
    "contacto_consular_bloqueado": False,
    "estatus_proteccion": None,
}


def completed_ids(d: Driver) -> set[str]:
    return {e.data["bpmn_id"] for e in d.events_of("task_completed")}


def review(d: Driver, nueva: str, motivo: str) -> None:
    assert d.ready() == ["revisar_solucion_duradera"]
    assert d.task("revisar_solucion_duradera").rol == "head"
    d.complete("revisar_solucion_duradera", nueva_solucion=nueva, motivo_revision=motivo)
    assert d.variables["solucion_duradera"] == nueva


# ------------------------------------------------------------------ reunification
def test_reunification_in_mexico_with_follow_up():
    d = Driver(process_id=PID, variables={"solucion_duradera": "reunificacion"})
    assert d.ready() == ["verificar_entrega_familiar"]
    d.complete("verificar_entrega_familiar")  # example: Mexico, follow-up required
    assert d.ready() == []
    d.advance(timedelta(days=31))  # seguimiento_post_reunificacion: 30 natural days
    assert d.ready() == ["seguimiento_post_reunificacion"]
    assert [e.data["bpmn_id"] for e in d.events_of("timer_fired")] == [
        "esperar_seguimiento_reunificacion"
    ]
    d.complete("seguimiento_post_reunificacion")
    assert d.completed and d.end_state == "fin_sd_reunificado"


def test_reunification_without_follow_up():
    d = Driver(process_id=PID, variables={"solucion_duradera": "reunificacion"})
    d.complete("verificar_entrega_familiar", requiere_seguimiento=False)
    assert d.completed and d.end_state == "fin_sd_reunificado"


def test_reunification_in_a_third_country_is_recorded():
    d = Driver(process_id=PID, variables={"solucion_duradera": "reunificacion"})
    d.complete(
        "verificar_entrega_familiar",
        lugar_reunificacion="tercer_pais",
        pais_familia="USA",
        observaciones="Madre en Houston; fuera del control de las autoridades mexicanas.",
    )
    assert d.completed and d.end_state == "fin_sd_reunificacion_extranjero"


def test_no_reunification_abroad_while_the_asylum_claim_is_pending():
    """Leaving Mexico for a family in a third country while COMAR has not decided abandons the
    claim's protection (non-refoulement): the solution goes back to review, not to the end."""
    d = Driver(
        process_id=PID, variables={"solucion_duradera": "reunificacion", "asilo_pendiente": True}
    )
    d.complete(
        "verificar_entrega_familiar",
        lugar_reunificacion="tercer_pais",
        pais_familia="USA",
        observaciones="Madre en Houston.",
    )
    assert not d.completed
    assert d.ready() == ["revisar_solucion_duradera"]


def test_failed_reunification_is_reviewed():
    d = Driver(process_id=PID, variables={"solucion_duradera": "reunificacion"})
    d.complete("verificar_entrega_familiar")
    d.advance(timedelta(days=31))
    d.complete(
        "seguimiento_post_reunificacion",
        situacion="reunificacion_fallida",
        acciones="Reingreso al CAS.",
    )
    review(d, "integracion", "reunificacion_fallida")
    assert d.ready() == ["regularizar_estancia"]


def test_reunification_in_country_of_origin_with_pending_claim_is_blocked():
    d = Driver(
        process_id=PID,
        variables={
            "solucion_duradera": "reunificacion",
            "retorno_en_interes_superior": True,
            "asilo_pendiente": True,
            "contacto_consular_bloqueado": True,
        },
    )
    d.complete("verificar_entrega_familiar", lugar_reunificacion="pais_origen", pais_familia="HND")
    assert d.ready() == ["revisar_solucion_duradera"]
    assert not RETORNO_TASKS & completed_ids(d)


# ------------------------------------------------------------------ integration, resettlement
def test_integration_regularises_the_stay():
    d = Driver(process_id=PID, variables={"solucion_duradera": "integracion"})
    assert d.ready() == ["regularizar_estancia"]
    assert d.task("regularizar_estancia").lane == "INM"
    d.complete("regularizar_estancia")
    assert d.completed and d.end_state == "fin_sd_integrado"


@pytest.mark.parametrize("decision", ["aprobar", "aprobar_con_modificacion"])
def test_resettlement_with_approved_bid(decision):
    d = Driver(
        process_id=PID, variables={"solucion_duradera": "reasentamiento", "decision_bid": decision}
    )
    assert d.ready() == ["coordinar_reasentamiento_acnur"]
    d.complete("coordinar_reasentamiento_acnur")
    assert d.completed and d.end_state == "fin_sd_reasentado"


@pytest.mark.parametrize("decision", [None, "diferir", "rechazar"])
def test_resettlement_without_approved_bid_goes_back_to_review(decision):
    variables = {"solucion_duradera": "reasentamiento"}
    if decision:
        variables["decision_bid"] = decision
    d = Driver(process_id=PID, variables=variables)
    review(d, "integracion", "bid_no_aprobada")
    d.complete("regularizar_estancia")
    assert d.end_state == "fin_sd_integrado"


def test_no_resettlement_while_the_asylum_claim_is_pending():
    """Even with an approved BID, resettlement waits for COMAR's decision: review first."""
    d = Driver(
        process_id=PID,
        variables={
            "solucion_duradera": "reasentamiento",
            "decision_bid": "aprobar",
            "asilo_pendiente": True,
        },
    )
    assert d.ready() == ["revisar_solucion_duradera"]
    assert "coordinar_reasentamiento_acnur" not in completed_ids(d)


def test_resettlement_not_accepted_goes_back_to_review():
    d = Driver(
        process_id=PID, variables={"solucion_duradera": "reasentamiento", "decision_bid": "aprobar"}
    )
    d.complete(
        "coordinar_reasentamiento_acnur",
        resultado="no_aceptado",
        observaciones="El país de destino no aceptó el caso.",
    )
    assert d.ready() == ["revisar_solucion_duradera"]


def test_no_solution_set_goes_to_review():
    d = Driver(process_id=PID, variables={})
    review(d, "reunificacion", "sin_solucion_definida")
    assert d.ready() == ["verificar_entrega_familiar"]


# ------------------------------------------------------------------ assisted return
def test_assisted_return_with_all_safeguards():
    d = Driver(process_id=PID, variables=RETORNO_OK)
    assert d.ready() == ["informar_nna_retorno"]
    task = d.task("informar_nna_retorno")
    assert (task.process_id, task.lane) == ("retorno_asistido", "PROCURADURIA")
    assert task.deadline_id == "consentimiento_informado_retorno"
    d.complete("informar_nna_retorno")
    assert d.ready() == ["coordinar_autoridad_origen"]
    assert d.task("coordinar_autoridad_origen").lane == "SRE_CONSULADO"
    d.complete("coordinar_autoridad_origen")
    assert d.ready() == ["acompanar_retorno"]
    assert d.task("acompanar_retorno").lane == "DIF_CAS"
    d.complete("acompanar_retorno")
    assert d.completed and d.end_state == "fin_sd_retornado"
    assert d.variables["solucion_duradera"] == "retorno_asistido"


@pytest.mark.parametrize(
    ("blocking", "motivo"),
    [
        (
            {"asilo_pendiente": True, "contacto_consular_bloqueado": True},
            "retorno_solicitud_asilo_pendiente",
        ),
        (
            {"estatus_proteccion": "refugiado", "contacto_consular_bloqueado": True},
            "retorno_proteccion_reconocida",
        ),
        ({"estatus_proteccion": "complementaria"}, "retorno_proteccion_reconocida"),
        ({"retorno_en_interes_superior": False}, "retorno_no_interes_superior"),
        ({"contacto_consular_bloqueado": True}, "otro"),
    ],
    ids=[
        "asilo_pendiente",
        "refugiado",
        "complementaria",
        "no_interes_superior",
        "bloqueo_consular",
    ],
)
def test_blocked_return_never_starts_and_is_reviewed(blocking, motivo):
    d = Driver(process_id=PID, variables={**RETORNO_OK, **blocking})
    assert d.ready() == ["revisar_solucion_duradera"]
    assert not RETORNO_TASKS & completed_ids(d)
    review(d, "integracion", motivo)
    d.complete("regularizar_estancia")
    assert d.end_state == "fin_sd_integrado"
    assert not RETORNO_TASKS & completed_ids(d)


def test_return_still_blocked_if_review_picks_it_again_with_claim_pending():
    d = Driver(
        process_id=PID,
        variables={**RETORNO_OK, "asilo_pendiente": True, "contacto_consular_bloqueado": True},
    )
    review(d, "retorno_asistido", "otro")
    assert d.ready() == ["revisar_solucion_duradera"]
    assert not RETORNO_TASKS & completed_ids(d)


def test_child_heard_and_return_no_longer_in_best_interests():
    d = Driver(process_id=PID, variables=RETORNO_OK)
    d.complete(
        "informar_nna_retorno",
        opinion_nna="en_desacuerdo",
        opinion_nna_detalle="Teme a su padrastro.",
        proceder_retorno=False,
        motivo_no_proceder="Riesgo de violencia en el hogar.",
    )
    assert d.variables["retorno_en_interes_superior"] is False
    assert d.ready() == ["revisar_solucion_duradera"]
    assert "coordinar_autoridad_origen" not in completed_ids(d)


def test_return_not_feasible_is_reviewed():
    d = Driver(process_id=PID, variables=RETORNO_OK)
    d.complete("informar_nna_retorno")
    d.complete(
        "coordinar_autoridad_origen",
        retorno_viable=False,
        autoridad_acepta_recepcion=False,
        motivo_no_viable="Sin autoridad receptora.",
    )
    assert d.ready() == ["revisar_solucion_duradera"]
    assert d.variables["retorno_en_interes_superior"] is True


def test_hand_over_not_done_is_reviewed():
    d = Driver(process_id=PID, variables=RETORNO_OK)
    d.complete("informar_nna_retorno")
    d.complete("coordinar_autoridad_origen")
    d.complete("acompanar_retorno", entrega_realizada=False, incidencias="Vuelo cancelado.")
    assert d.ready() == ["revisar_solucion_duradera"]


def test_informing_the_child_is_a_deadline():
    d = Driver(process_id=PID, variables=RETORNO_OK)
    d.advance(timedelta(days=4))  # consentimiento_informado_retorno: 3 natural days
    [event] = d.events_of("deadline_escalated")
    assert event.data["plazo_id"] == "consentimiento_informado_retorno"
    assert event.data["task_bpmn_id"] == "informar_nna_retorno"


# ------------------------------------------------------------------ retorno_asistido alone
def test_assisted_return_process_guards_itself():
    d = Driver(process_id="retorno_asistido", variables={**RETORNO_OK, "asilo_pendiente": True})
    assert d.completed and d.end_state == "fin_ra_bloqueado"
    assert not RETORNO_TASKS & completed_ids(d)


def test_assisted_return_process_alone():
    d = Driver(process_id="retorno_asistido", variables=RETORNO_OK)
    for task_id in ("informar_nna_retorno", "coordinar_autoridad_origen", "acompanar_retorno"):
        assert d.ready() == [task_id]
        d.complete(task_id)
    assert d.end_state == "fin_ra_retornado"


@pytest.mark.parametrize(
    ("via", "estatus"),
    [
        ("residencia_permanente_refugiado", None),
        ("residencia_permanente_refugiado", "complementaria"),
        ("residencia_permanente_complementaria", "negado"),
    ],
)
def test_refugee_based_residency_only_with_that_status(via, estatus):
    """LM art. 54 fr. I: residency as a refugee (or under complementary protection) only once
    COMAR recognised it; the form names the field and nothing is recorded."""
    d = Driver(
        process_id=PID,
        variables={"solucion_duradera": "integracion", "estatus_proteccion": estatus},
    )
    with pytest.raises(FormValidationError) as refused:
        d.complete("regularizar_estancia", via_regularizacion=via)
    assert "$.via_regularizacion" in str(refused.value)
    assert d.ready() == ["regularizar_estancia"]
