"""Path tests for protocolo_no_localizado (child left placement: report, alert, search, result)."""

from __future__ import annotations

from datetime import timedelta

from tests.route.driver import DEFAULT_NOW, Driver

PID = "protocolo_no_localizado"


def searched(**variables) -> Driver:
    d = Driver(process_id=PID, variables=variables)
    # missing from the moment the departure is known, before the shelter files its report
    assert d.variables["nna_no_localizado"] is True
    assert d.ready() == ["reportar_salida_colocacion"]
    assert d.task("reportar_salida_colocacion").lane == "DIF_CAS"
    d.complete("reportar_salida_colocacion")
    assert d.variables["nna_no_localizado"] is True
    assert d.ready() == ["denunciar_ante_mp"]
    d.complete("denunciar_ante_mp")
    assert d.ready() == ["registrar_reporte_no_localizado"]
    assert d.task("registrar_reporte_no_localizado").lane == "FISCALIA"
    d.complete("registrar_reporte_no_localizado")
    assert d.ready() == ["resultado_busqueda"]
    return d


def test_located_child_with_imminent_risk():
    d = searched(riesgo_inminente=False, nna_no_localizado=False)
    d.complete("resultado_busqueda", riesgo_inminente=True)
    assert d.completed and d.end_state == "fin_nl_localizada"
    assert d.variables["nna_no_localizado"] is False
    assert d.variables["riesgo_inminente"] is True


def test_located_child_without_risk():
    d = searched(riesgo_inminente=True)
    d.complete("resultado_busqueda")  # example: located, no imminent risk
    assert d.end_state == "fin_nl_localizada"
    assert d.variables["riesgo_inminente"] is False


def test_child_not_located():
    d = searched(riesgo_inminente=True)
    d.complete(
        "resultado_busqueda",
        {
            "localizado": False,
            "acciones_busqueda_realizadas": "Alerta Amber; albergues; hospitales.",
        },
    )
    assert d.completed and d.end_state == "fin_nl_no_localizada"
    assert d.variables["nna_no_localizado"] is True
    assert d.variables["riesgo_inminente"] is True  # unchanged: not re-assessed


def test_report_to_prosecutor_is_a_two_hour_deadline():
    d = Driver(process_id=PID, variables={})
    d.complete("reportar_salida_colocacion")
    task = d.task("denunciar_ante_mp")
    assert task.deadline_id == "reporte_nna_no_localizado"
    assert task.due_at == DEFAULT_NOW + timedelta(hours=2)
    d.advance(timedelta(hours=3, minutes=1))
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1, 2]
    assert d.ready() == ["denunciar_ante_mp"]
