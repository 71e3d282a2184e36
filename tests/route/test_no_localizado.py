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
    assert d.variables["riesgo_maximo"] == "alto"  # risk-dependent deadlines from now on


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


#: The child left at 15:30; the departure is recorded at 17:00 (DEFAULT_NOW).
SALIDA_AT = DEFAULT_NOW - timedelta(hours=1, minutes=30)


def levels(d: Driver, plazo_id: str) -> list[tuple[int, str]]:
    return [
        (e.data["level"], e.data["level_due_at"])
        for e in d.events_of("deadline_escalated")
        if e.data["plazo_id"] == plazo_id
    ]


def test_shelter_report_deadline_counts_from_the_departure():
    d = Driver(process_id=PID, variables={"fecha_salida_colocacion": SALIDA_AT.isoformat()})
    task = d.task("reportar_salida_colocacion")
    assert task.deadline_id == "aviso_salida_colocacion"
    assert task.due_at == SALIDA_AT + timedelta(hours=1)  # 16:30: already overdue at 17:00
    assert "LGMDFP art. 7" in task.legal_source
    # level 1 (16:30) passed before the departure was even recorded; level 2 is at 17:00
    assert levels(d, "aviso_salida_colocacion") == [
        (1, (SALIDA_AT + timedelta(hours=1)).isoformat())
    ]
    d.advance(timedelta(minutes=1))
    assert [lvl for lvl, _ in levels(d, "aviso_salida_colocacion")] == [1, 2]


def test_report_to_prosecutor_counts_from_the_departure_not_from_the_shelter_report():
    d = Driver(process_id=PID, variables={"fecha_salida_colocacion": SALIDA_AT.isoformat()})
    d.now += timedelta(minutes=20)
    d.complete("reportar_salida_colocacion", fecha_hora_salida=SALIDA_AT.isoformat())
    task = d.task("denunciar_ante_mp")
    assert task.deadline_id == "reporte_nna_no_localizado"
    assert task.due_at == SALIDA_AT + timedelta(hours=2)  # 17:30, not 17:20 + 2 h
    assert "LGMDFP art. 7" in task.legal_source and "art. 89" in task.legal_source
    d.advance(timedelta(minutes=11))  # 17:31
    assert levels(d, "reporte_nna_no_localizado") == [
        (1, (SALIDA_AT + timedelta(hours=2)).isoformat())
    ]
    d.advance(timedelta(hours=2))
    assert [lvl for lvl, _ in levels(d, "reporte_nna_no_localizado")] == [1, 2, 3]
    assert d.ready() == ["denunciar_ante_mp"]


def test_without_a_recorded_departure_the_shelter_report_sets_the_clock():
    # e.g. a case that was already searching when the route changed: the shelter's own record
    d = Driver(process_id=PID, variables={})
    assert d.task("reportar_salida_colocacion").due_at == DEFAULT_NOW + timedelta(hours=1)
    d.complete("reportar_salida_colocacion", fecha_hora_salida="2026-03-02T10:00:00-06:00")
    # 10:00 Mexico City = 16:00 UTC; + 2 h
    assert d.task("denunciar_ante_mp").due_at == DEFAULT_NOW + timedelta(hours=1)
