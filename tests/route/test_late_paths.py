"""Fear of return and imminent risk appearing late (issue 12, item 5; item 1 for accompaniment).

Both can appear at any moment of protection, not only at detection or in the needs screening:

- imminent risk (LGDNNA art. 12 and art. 122 fr. VI and VII): the message
  ``riesgo_inminente_reportado`` starts urgent measures at once when the Procuraduría reports, or
  reaches the Procuraduría's inbox, with a deadline counted from the report, when another
  authority does; each report starts its own run while the route's work goes on;
- fear of return or the wish to apply for asylum (LRPCAP art. 21): the message
  ``temor_retorno_reportado`` blocks consular contact at once (consular tracing under way stops, a
  return under way is refused) and starts the COMAR referral unless one is running or a claim is
  pending or decided.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.route.driver import DEFAULT_NOW, Driver
from tests.route.test_main_route import ASILO, start, walk
from workflows import FormValidationError, TaskNotReadyError

RIESGO = "riesgo_inminente_reportado"
TEMOR = "temor_retorno_reportado"
RETURN = {
    "solucion_duradera_propuesta": "retorno_asistido",
    "retorno_en_interes_superior": True,
    "razonamiento_retorno": "La madre fue localizada en el país de origen.",
}
CONSULAR = {
    "situacion": "no_acompanado",
    "relacion_adulto": "ninguno",
    "evidencias": ["declaracion_nna", "informacion_consular"],
}


def risk(d: Driver, by: str = "PROCURADURIA", minutes_ago: int = 0) -> list[Any]:
    """An authority of type ``by`` reports an imminent risk, recorded ``minutes_ago``."""
    at = d.now - timedelta(minutes=minutes_ago)
    return d.send(
        RIESGO,
        {
            "reportado_por": by,
            "tipo_riesgo": ["integridad"],
            "descripcion": "Un adulto desconocido intentó sacarla del albergue.",
            "fecha_hora_reporte": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )


def fear(d: Driver, by: str = "DIF_CAS") -> list[Any]:
    return d.send(
        TEMOR,
        {
            "reportado_por": by,
            "motivos": ["temor_retorno", "desea_solicitar_refugio"],
            "fecha_conocimiento": d.now.date().isoformat(),
        },
    )


def in_protection(**inicio: Any) -> Driver:
    """A case just channelled to the Procuraduría: protection has started."""
    d = start(**inicio)
    walk(d, stop="determinar_acompanamiento")
    return d


def count(d: Driver, bpmn_id: str) -> int:
    return sum(1 for t in d.ready_tasks() if t.bpmn_id == bpmn_id)


# ------------------------------------------------------------------ A: imminent risk, late
def test_imminent_risk_reported_late_by_the_procuraduria_starts_urgent_measures_at_once():
    d = in_protection()
    walk(d, stop="consolidar_bia", keep={"consolidar_bia"})
    assert d.variables.get("riesgo_maximo") != "alto"
    before = set(d.ready())
    risk(d)
    assert set(d.ready()) == before | {"ordenar_medida_urgente"}  # the route's work goes on
    assert d.task("ordenar_medida_urgente").lane == "PROCURADURIA"
    assert d.variables["riesgo_inminente"] is True
    assert d.variables["riesgo_maximo"] == "alto"
    d.complete("ordenar_medida_urgente")
    decree = d.task("decretar_medida_urgente")
    assert decree.deadline_id == "D5_decreto_mp"  # the late run has the law's own clocks


def test_a_shelter_s_report_reaches_the_procuraduria_with_a_deadline_from_the_report():
    d = in_protection()
    risk(d, by="DIF_CAS", minutes_ago=20)
    assessment = d.task("valorar_reporte_riesgo_inminente")
    assert assessment.lane == "PROCURADURIA"
    assert assessment.deadline_id == "valoracion_riesgo_inminente"
    # one hour from the report (20 minutes ago), not from when the task reached the inbox
    assert assessment.due_at == DEFAULT_NOW - timedelta(minutes=20) + timedelta(hours=1)
    assert assessment.context["reporte_riesgo"]["reportado_por"] == "DIF_CAS"
    assert "ordenar_medida_urgente" not in d.ready()
    assert d.variables.get("riesgo_maximo") != "alto"  # not until the Procuraduría confirms
    d.advance(timedelta(minutes=41))
    assert [
        e.data["level"]
        for e in d.events_of("deadline_escalated")
        if e.data["plazo_id"] == "valoracion_riesgo_inminente"
    ] == [1]
    d.complete("valorar_reporte_riesgo_inminente")  # example: risk confirmed
    assert "ordenar_medida_urgente" in d.ready()
    assert d.variables["riesgo_maximo"] == "alto"


def test_a_report_the_procuraduria_does_not_confirm_records_its_reasons_only():
    d = in_protection()
    risk(d, by="INM")
    d.complete(
        "valorar_reporte_riesgo_inminente",
        riesgo_confirmado=False,
        fundamentacion="El adulto es su tío, ya valorado como idóneo.",
    )
    assert "ordenar_medida_urgente" not in d.ready()
    assert d.variables.get("riesgo_inminente") is False
    assert d.ready() == ["determinar_acompanamiento"]


def test_each_late_report_starts_its_own_run_and_protection_waits_for_them():
    d = in_protection()
    risk(d)
    risk(d, by="DIF_CAS")
    risk(d)
    assert count(d, "ordenar_medida_urgente") == 2
    assert count(d, "valorar_reporte_riesgo_inminente") == 1
    d.complete("valorar_reporte_riesgo_inminente")
    assert count(d, "ordenar_medida_urgente") == 3
    d.complete("ordenar_medida_urgente", via="orden_directa", organo_jurisdiccional="Juzgado 1")
    # the route's main work ends while two urgent measures are still waiting for their order
    no_follow_up = {"verificar_entrega_familiar": {"requiere_seguimiento": False}}
    walk(d, no_follow_up, keep={"ordenar_medida_urgente", "resolver_medida_urgente"})
    assert d.variables["proteccion_concluida"] is True
    assert not d.completed
    assert "proponer_cierre" not in d.ready()
    with pytest.raises(TaskNotReadyError):  # protection concluded: no new report is awaited
        risk(d)
    walk(d)
    assert d.end_state == "fin_caso_cerrado"
    completed = [e.data["bpmn_id"] for e in d.events_of("task_completed")]
    assert completed.count("ordenar_medida_urgente") == 3
    assert completed.count("resolver_medida_urgente") == 3


# ------------------------------------------------------------------ B: fear of return, late
def test_fear_of_return_recorded_late_blocks_consular_contact_and_starts_the_referral():
    d = in_protection()
    walk(d, stop="consolidar_bia", keep={"consolidar_bia"})
    assert not d.variables.get("contacto_consular_bloqueado")
    before = set(d.ready())
    fear(d)
    assert d.variables["temor_retorno"] is True
    assert d.variables["indicadores_proteccion_internacional"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert d.variables["referencia_comar_en_curso"] is True
    assert set(d.ready()) == before | {"apoyar_solicitud_asilo"}
    walk(d)
    assert d.end_state == "fin_caso_cerrado"
    assert d.variables["referencia_comar_en_curso"] is False


def test_a_second_report_starts_no_second_referral_while_one_runs_or_a_claim_is_pending():
    d = in_protection()
    fear(d)
    fear(d, by="INM")
    assert count(d, "apoyar_solicitud_asilo") == 1
    d.complete("apoyar_solicitud_asilo")  # example: filed by the child
    assert d.variables["asilo_pendiente"] is True
    fear(d, by="PROCURADURIA")
    completed = [e.data["bpmn_id"] for e in d.events_of("task_completed")]
    assert "apoyar_solicitud_asilo" not in d.ready()
    assert completed.count("apoyar_solicitud_asilo") == 1


def test_a_new_wish_to_apply_after_a_referral_without_a_claim_starts_a_new_referral():
    d = in_protection()
    fear(d)
    d.complete("apoyar_solicitud_asilo", presenta_solicitud=False, motivo_no_presenta="No desea.")
    assert d.variables["referencia_comar_en_curso"] is False
    assert d.variables["contacto_consular_bloqueado"] is True  # only COMAR's outcome lifts it
    fear(d, by="PROCURADURIA")
    assert "apoyar_solicitud_asilo" in d.ready()


def test_a_screening_after_a_late_report_starts_no_second_referral_nor_lowers_the_block():
    d = in_protection()
    fear(d)
    walk(d, stop="detectar_necesidades", keep={"apoyar_solicitud_asilo"})
    d.complete("detectar_necesidades")  # example: no indicators found
    assert d.variables["contacto_consular_bloqueado"] is True
    assert d.variables["temor_retorno"] is True
    assert count(d, "apoyar_solicitud_asilo") == 1


def test_late_fear_of_return_stops_consular_tracing_under_way():
    d = in_protection()
    walk(d, stop="localizar_via_consular", keep={"localizar_via_consular"})
    assert {"localizar_via_consular", "localizar_otras_vias"} <= set(d.ready())
    fear(d)
    assert "localizar_via_consular" not in d.ready()  # cancelled: the consulate is not told
    assert "localizar_otras_vias" in d.ready()  # the other channels go on
    d.complete("localizar_otras_vias")
    assert "verificar_vinculo_familiar" in d.ready()


def test_late_fear_of_return_refuses_a_return_under_way():
    d = in_protection()
    walk(d, {"elaborar_plan_restitucion": RETURN}, stop="informar_nna_retorno")
    fear(d)
    before = d.case().dump()
    with pytest.raises(FormValidationError) as refused:
        d.complete("informar_nna_retorno")  # example: return still in its best interests
    assert "$.proceder_retorno" in str(refused.value)
    assert "no devolución" in str(refused.value)
    assert d.case().dump() == before
    d.complete("informar_nna_retorno", proceder_retorno=False, motivo_no_proceder="Pide refugio.")
    assert "coordinar_autoridad_origen" not in d.ready()


def test_a_mexican_child_is_never_referred_to_comar_nor_blocked():
    d = start(nacionalidad="MEX", canal_ingreso="repatriacion_eua")
    walk(
        d,
        {
            "registrar_deteccion": {"canal_deteccion": "repatriacion_mexicana"},
            "emitir_acta_canalizacion": {"tvrh": "no_aplica_nacionalidad_mexicana"},
        },
        stop="determinar_acompanamiento",
    )
    fear(d)
    assert not d.variables.get("contacto_consular_bloqueado")
    assert "apoyar_solicitud_asilo" not in d.ready()


# ------------------------------------------------------------------ C: accompaniment
def test_inm_recorded_fear_of_return_blocks_consular_information_for_accompaniment():
    d = start()
    d.complete("registrar_deteccion", indicadores_observados=["temor_retorno"])
    assert d.variables["contacto_consular_bloqueado"] is True
    walk(d, stop="determinar_acompanamiento")
    before = d.case().dump()
    with pytest.raises(FormValidationError) as refused:
        d.complete("determinar_acompanamiento", **CONSULAR)
    assert "$.evidencias" in str(refused.value)
    assert "sin_informacion_consular_con_temor_de_retorno" in str(refused.value)
    assert d.case().dump() == before
    d.complete("determinar_acompanamiento", evidencias=["declaracion_nna"])
    # the screening finds no indicators: the block INM recorded stays, and COMAR is told
    walk(d, stop="detectar_necesidades")
    d.complete("detectar_necesidades")
    assert d.variables["contacto_consular_bloqueado"] is True
    assert "apoyar_solicitud_asilo" in d.ready()


def test_consular_information_is_refused_after_a_late_report_and_accepted_without_one():
    d = in_protection()
    fear(d)
    with pytest.raises(FormValidationError) as refused:
        d.complete("determinar_acompanamiento", **CONSULAR)
    assert "$.evidencias" in str(refused.value)
    other = in_protection()
    other.complete("determinar_acompanamiento", **CONSULAR)
    assert other.variables["situacion_acompanamiento"] == "no_acompanado"


def test_screening_with_asylum_indicators_still_refers_once():
    d = in_protection()
    walk(d, stop="detectar_necesidades")
    d.complete("detectar_necesidades", **ASILO)
    assert count(d, "apoyar_solicitud_asilo") == 1
    fear(d)
    assert count(d, "apoyar_solicitud_asilo") == 1
