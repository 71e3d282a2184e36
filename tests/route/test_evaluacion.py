"""evaluacion_interes_superior: parallel diagnosis, BIA with risk level, supervisor approval."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PROCESS = "evaluacion_interes_superior"
PARALLEL = [
    "entrevista_juridica",
    "estudio_trabajo_social",
    "opinion_nna",
    "valoracion_psicologica",
]


MEXICO = ZoneInfo("America/Mexico_City")


def end_of_day_in(d: Driver, days: int) -> datetime:
    """Day deadlines end at the last instant of the N-th calendar day, Mexico City time."""
    local = d.now.astimezone(MEXICO).date() + timedelta(days=days)
    return datetime(local.year, local.month, local.day, 23, 59, 59, 999999, tzinfo=MEXICO)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=MEXICO)


def start() -> Driver:
    return Driver(process_id=PROCESS, variables={"situacion_acompanamiento": "no_acompanado"})


def diagnose(d: Driver) -> None:
    for task in PARALLEL:
        d.complete(task)


def test_four_assessments_run_in_parallel_before_consolidation():
    d = start()
    assert d.ready() == PARALLEL
    assert {d.task(t).lane for t in PARALLEL} == {"PROCURADURIA"}
    for done, task in enumerate(PARALLEL[:-1], start=1):
        d.complete(task)
        assert d.ready() == PARALLEL[done:]
    d.complete(PARALLEL[-1])
    assert d.ready() == ["consolidar_bia"]


def test_bia_deadline_defaults_to_medium_risk():
    d = start()
    diagnose(d)
    task = d.task("consolidar_bia")
    assert task.deadline_id == "bia"
    assert task.due_at == end_of_day_in(d, 7)


@pytest.mark.parametrize(
    ("nivel", "dias_plan"),
    [("alto", 3), ("medio", 7), ("bajo", 14)],
)
def test_risk_level_is_marked_and_sets_the_case_plan_deadline(nivel, dias_plan):
    d = start()
    diagnose(d)
    # the assessment was concluded yesterday (1 March) and is recorded today (2 March)
    d.complete("consolidar_bia", nivel_riesgo=nivel, fecha_evaluacion="2026-03-01")
    assert d.variables["nivel_riesgo"] == nivel
    assert d.variables["riesgo_maximo"] == nivel
    assert d.variables["requiere_bid"] is False
    task = d.task("aprobar_bia")
    assert task.rol == "supervisor"
    assert task.deadline_id == "plan_caso"
    # counted from the assessment: alto is due at the end of 4 March, not of 5 March
    assert task.due_at == end_of(date(2026, 3, 1) + timedelta(days=dias_plan))
    d.complete("aprobar_bia")
    assert d.end_state == "fin_bia_aprobada"


def test_bid_required_is_marked_and_needs_a_direction():
    d = start()
    diagnose(d)
    with pytest.raises(FormValidationError) as err:
        d.complete("consolidar_bia", requiere_bid=True)
    assert {e["path"] for e in err.value.errors} == {"$.direccion_bid"}
    d.complete(
        "consolidar_bia", requiere_bid=True, direccion_bid="soluciones_duraderas_no_acompanada"
    )
    assert d.variables["requiere_bid"] is True


def test_supervisor_returns_the_bia_with_comments_then_approves():
    d = start()
    diagnose(d)
    d.complete("consolidar_bia", nivel_riesgo="bajo")
    with pytest.raises(FormValidationError):
        d.complete("aprobar_bia", {"decision": "devolver", "fecha": "2026-03-06"})
    d.complete("aprobar_bia", decision="devolver", comentarios="Falta la opinión de la madre.")
    assert d.ready() == ["consolidar_bia"]
    # the second pass uses the risk level already known
    assert d.task("consolidar_bia").due_at == end_of_day_in(d, 30)
    d.complete("consolidar_bia", nivel_riesgo="alto")
    assert d.variables["nivel_riesgo"] == "alto"
    d.complete("aprobar_bia")
    assert d.end_state == "fin_bia_aprobada"


def test_child_not_seen_alone_needs_a_reason_and_interpreter_needs_a_language():
    d = start()
    with pytest.raises(FormValidationError) as err:
        d.complete("opinion_nna", nna_vista_a_solas=False, interprete_utilizado=True)
    # not alone: why, whether the child chose the company, and who (LGDNNA art. 83 fr. X)
    assert {e["path"] for e in err.value.errors} == {
        "$.motivo_no_a_solas",
        "$.nna_eligio_compania",
        "$.persona_acompanante",
        "$.idioma_interprete",
    }
    d.complete("opinion_nna", interprete_utilizado=True, idioma_interprete="mam")
    assert "opinion_nna" not in d.ready()


def test_late_bia_escalates():
    d = start()
    diagnose(d)
    d.advance(timedelta(days=8, hours=12))
    events = d.events_of("deadline_escalated")
    assert [(e.data["plazo_id"], e.data["level"]) for e in events] == [("bia", 1)]
    assert events[0].data["task_bpmn_id"] == "consolidar_bia"


@pytest.mark.parametrize(
    ("recorded", "dias"), [({"riesgo_maximo": "alto"}, 2), ({"riesgo_maximo": "bajo"}, 30)]
)
def test_bia_deadline_uses_the_highest_risk_recorded_before_it(recorded, dias):
    d = Driver(
        process_id=PROCESS, variables={"situacion_acompanamiento": "no_acompanado", **recorded}
    )
    diagnose(d)
    assert d.task("consolidar_bia").due_at == end_of_day_in(d, dias)


def test_a_lower_assessment_never_lowers_the_recorded_risk():
    d = Driver(
        process_id=PROCESS,
        variables={"situacion_acompanamiento": "no_acompanado", "riesgo_maximo": "alto"},
    )
    diagnose(d)
    d.complete("consolidar_bia", nivel_riesgo="bajo", fecha_evaluacion="2026-03-02")
    assert d.variables["nivel_riesgo"] == "bajo"
    assert d.variables["riesgo_maximo"] == "alto"
    # the case plan is due on the high-risk clock: 3 days after the assessment
    assert d.task("aprobar_bia").due_at == end_of(date(2026, 3, 5))
