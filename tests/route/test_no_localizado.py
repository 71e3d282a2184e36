"""Path tests for protocolo_no_localizado (child left placement: report, alert, search, result)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.route.driver import DEFAULT_NOW, Driver
from workflows import FormValidationError

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


NO_LOCALIZADA = {"localizado": False, "acciones_busqueda_realizadas": "Alerta Amber; albergues."}
MEXICO = ZoneInfo("America/Mexico_City")


def end_of_local_day(instant: datetime, days: int = 0) -> datetime:
    """Day deadlines end at 23:59:59.999999 local time of their last day."""
    day = instant.astimezone(MEXICO).date() + timedelta(days=days)
    return datetime.combine(day, time.max, tzinfo=MEXICO)


def test_not_located_in_the_first_round_stays_open_and_gets_a_next_round():
    """LGMDFP arts. 7 and 89: the search does not end with one 'not located' result; it is
    repeated in rounds, each with its own deadline for the result (configurable, [U])."""
    d = searched(riesgo_inminente=True)
    assert d.variables["nl_busqueda"] == 1
    first = d.task("resultado_busqueda")
    assert first.deadline_id == "ronda_busqueda_no_localizada"
    assert first.due_at == end_of_local_day(d.now, 7)
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert not d.completed
    assert d.ready() == ["resultado_busqueda"]  # the next round
    assert d.variables["nl_busqueda"] == 2
    assert d.variables["nna_no_localizado"] is True
    assert d.variables["riesgo_inminente"] is True  # unchanged: not re-assessed
    assert "decidir_cierre_no_localizada" not in d.ready()
    # a late round is escalated like any deadline, and the round stays open
    d.advance(timedelta(days=8))
    assert [e.data["level"] for e in d.events_of("deadline_escalated")][:1] == [1]
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert d.variables["nl_busqueda"] == 3 and not d.completed
    d.complete("resultado_busqueda")  # located in round 3
    assert d.end_state == "fin_nl_localizada"
    assert d.variables["nna_no_localizado"] is False


def rounds_until_the_period(d: Driver) -> None:
    """Weekly 'not located' rounds until the configured period (three months [U]) passed."""
    available = datetime.fromisoformat(d.variables["nl_cierre_disponible"])
    while d.now <= available:
        assert "decidir_cierre_no_localizada" not in d.ready()
        d.complete("resultado_busqueda", NO_LOCALIZADA)
        d.advance(timedelta(days=7))
    assert d.variables["nl_periodo_cumplido"] is True


def test_after_the_configured_period_the_closure_decision_appears():
    salida = DEFAULT_NOW - timedelta(hours=2)
    d = searched(fecha_salida_colocacion=salida.isoformat())
    available = datetime.fromisoformat(d.variables["nl_cierre_disponible"])
    # three months [U] from the departure, to the end of that local day
    assert available == end_of_local_day(datetime(2026, 6, 2, 12, tzinfo=MEXICO))
    rounds_until_the_period(d)
    assert d.variables["nl_busqueda"] > 12
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert d.ready() == ["decidir_cierre_no_localizada"]
    decision = d.task("decidir_cierre_no_localizada")
    assert decision.lane == "PROCURADURIA" and decision.rol == "supervisor"
    with pytest.raises(FormValidationError) as refused:  # the Fiscalía's search stays open
        d.complete(
            "decidir_cierre_no_localizada", decision="cerrar", reporte_fiscalia_abierto=False
        )
    assert "$.reporte_fiscalia_abierto" in str(refused.value)
    d.complete("decidir_cierre_no_localizada", decision="cerrar")
    assert d.completed and d.end_state == "fin_nl_no_localizada"
    assert d.variables["cierre_no_localizada_decidido"] is True
    assert d.variables["busqueda_fiscalia_abierta"] is True  # the record says so
    assert d.variables["nna_no_localizado"] is True


def test_keep_searching_counts_a_new_period():
    d = searched()
    rounds_until_the_period(d)
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    d.complete("decidir_cierre_no_localizada")  # example: keep searching
    assert d.ready() == ["resultado_busqueda"]
    assert d.variables["cierre_no_localizada_decidido"] is False
    assert d.variables["nl_periodo_cumplido"] is False
    assert datetime.fromisoformat(d.variables["nl_cierre_disponible"]) > d.now + timedelta(days=80)
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert d.ready() == ["resultado_busqueda"]  # no new decision before the new period


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
