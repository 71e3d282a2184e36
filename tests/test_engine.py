"""Engine behaviour on a small fixture route: forms, timers, messages, serialization, errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.engine_fixture import FIXTURE, FixturePlazos
from tests.route.driver import Driver
from workflows import (
    EngineError,
    FormValidationError,
    RouteEngine,
    StateFormatError,
    TaskNotReadyError,
    load_library,
)

T0 = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
START = {
    "jurisdiccion": "07",
    "fecha_deteccion": "2026-03-02T10:00:00Z",
    "fecha_nacimiento": "2010-05-01",
}


@pytest.fixture(scope="module")
def engine() -> RouteEngine:
    return RouteEngine(load_library(FIXTURE / "bpmn", FIXTURE / "forms", FixturePlazos()))


def drive(engine: RouteEngine, **kw) -> Driver:
    return Driver(start_data=dict(START), now=T0, engine=engine, **kw)


def test_ready_task_has_lane_form_due_date_and_legal_source(engine):
    d = drive(engine)
    [task] = d.ready_tasks()
    assert task.bpmn_id == "registrar_deteccion"
    assert task.lane == "INM"
    assert task.name_en == "Record detection"
    assert task.form["required"] == ["riesgo", "lugar"]
    assert task.due_at == T0 + timedelta(hours=24)
    assert task.deadline_id == "D1"
    assert "24 horas" in task.legal_source


def test_start_form_is_validated(engine):
    with pytest.raises(FormValidationError) as err:
        engine.start_case({"jurisdiccion": "Chiapas"}, T0)
    paths = {e["path"] for e in err.value.errors}
    assert paths == {"$.jurisdiccion", "$.fecha_deteccion"}


def test_invalid_form_lists_every_error_with_path_and_changes_nothing(engine):
    d = drive(engine)
    case = d.case()
    before = case.dump()
    task = case.ready_tasks()[0]
    bad = {"riesgo": "sí", "extra": 1, "personas": [{"rol": "tío"}, {}], "_x": 1}
    with pytest.raises(FormValidationError) as err:
        case.complete_task(task.task_id, bad, T0)
    paths = sorted(e["path"] for e in err.value.errors)
    assert "$.lugar" in paths
    assert "$.riesgo" in paths
    assert "$.personas[0].rol" in paths
    assert "$.personas[1].rol" in paths
    assert "$._x" in paths
    assert any("extra" in e["message"] for e in err.value.errors)
    assert case.dump() == before


def test_form_data_cannot_overwrite_case_variables_or_gateway_inputs(engine):
    d = drive(engine)
    d.complete("registrar_deteccion", {"riesgo": False, "lugar": "Tapachula"})
    assert d.variables["riesgo_inminente"] is False
    assert d.ready() == ["revision"]
    case = d.case()
    [task] = case.workflow.get_tasks(spec_name="registrar_deteccion")
    assert not any(key.startswith("registrar") or key == "riesgo" for key in task.data)
    assert case.meta["forms"]["registrar_deteccion"] == {
        "riesgo": False,
        "lugar": "Tapachula",
    }
    assert "riesgo" not in task.data


def test_gateway_branch_on_form_value(engine):
    d = drive(engine)
    events = d.complete("registrar_deteccion", {"riesgo": True, "lugar": "Tapachula"})
    # its deadline stops with it (the deadline register records it met)
    assert [e.kind for e in events] == ["task_completed", "deadline_stopped", "case_variable_set"]
    assert events[1].data["outcome"] == "completed"
    assert d.ready() == ["atender_riesgo"]
    assert d.task("atender_riesgo").rol == "supervisor"


def test_deadline_escalates_level_by_level_and_never_beyond_the_last(engine):
    d = drive(engine)
    assert d.advance(timedelta(hours=23, minutes=59)) == []
    first = d.advance(timedelta(minutes=2))
    assert [(e.kind, e.data["level"]) for e in first] == [("deadline_escalated", 1)]
    assert first[0].data["due_at"] == (T0 + timedelta(hours=24)).isoformat()
    assert first[0].data["task_bpmn_id"] == "registrar_deteccion"
    later = d.advance(timedelta(days=3))
    assert [e.data["level"] for e in later] == [2, 3]
    assert d.advance(timedelta(days=30)) == []
    assert d.ready() == ["registrar_deteccion"]  # non-interrupting: the duty remains


def test_completing_on_time_cancels_the_deadline(engine):
    d = drive(engine)
    d.complete("registrar_deteccion", {"riesgo": False, "lugar": "x"})
    assert [e for e in d.advance(timedelta(days=5)) if e.kind == "deadline_escalated"] == []


def test_late_completion_still_reports_missed_levels_once(engine):
    d = drive(engine)
    d.now += timedelta(hours=30)
    events = d.complete("registrar_deteccion", {"riesgo": False, "lugar": "x"})
    assert [e.data["level"] for e in events if e.kind == "deadline_escalated"] == [1, 2, 3]


def test_a_deadline_reports_its_start_and_its_stop_once(engine):
    """The deadline register is built from these events: one start (with the instant the law
    counts from and when it falls due), escalations carrying the same key, one stop."""
    d = drive(engine)
    [started] = d.events_of("deadline_started")
    assert started.data["plazo_id"] == "D1"
    assert started.data["due_at"] == (T0 + timedelta(hours=24)).isoformat()
    assert started.data["task_bpmn_id"] == "registrar_deteccion"
    key = started.data["deadline_key"]
    d.advance(timedelta(hours=25))
    [level1] = d.events_of("deadline_escalated")
    assert level1.data["deadline_key"] == key
    d.complete("registrar_deteccion", {"riesgo": False, "lugar": "x"})
    [stopped] = d.events_of("deadline_stopped")
    assert stopped.data == {
        "deadline_key": key,
        "plazo_id": "D1",
        "task_id": started.data["task_id"],
        "due_at": started.data["due_at"],
        "outcome": "completed",
        "reason": None,
    }
    d.advance(timedelta(days=5))
    assert len(d.events_of("deadline_stopped")) == 1 and len(d.events_of("deadline_started")) == 1


def test_a_spent_deadline_stops_only_when_its_task_is_done(engine):
    """After the last escalation level the deadline keeps running (breached) until the task is
    done; the stop comes with the completion, days later."""
    d = drive(engine)
    d.advance(timedelta(days=10))
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1, 2, 3]
    assert d.events_of("deadline_stopped") == []
    d.complete("registrar_deteccion", {"riesgo": False, "lugar": "x"})
    [stopped] = d.events_of("deadline_stopped")
    assert stopped.data["outcome"] == "completed"
    assert stopped.data["deadline_key"] == d.events_of("deadline_started")[0].data["deadline_key"]


def test_message_interrupts_and_loop_reenters(engine):
    d = drive(engine)
    d.complete("registrar_deteccion", {"riesgo": False, "lugar": "x"})
    d.send("nna_salio_colocacion")
    assert d.ready() == ["buscar"]
    d.complete("buscar", {"localizado": True})
    assert d.ready() == ["revision"]
    d.send("nna_salio_colocacion")
    d.complete("buscar", {"localizado": False})
    assert d.completed and d.end_state == "fin_no_localizado"


def test_message_not_awaited_is_refused(engine):
    d = drive(engine)
    with pytest.raises(TaskNotReadyError):
        d.send("nna_salio_colocacion")


def test_eighteenth_birthday_timer_follows_injected_clock(engine):
    d = drive(engine)
    d.complete("registrar_deteccion", {"riesgo": False, "lugar": "x"})
    # Majority at 00:00 of the 18th birthday in central Mexico (UTC-6), not at midnight UTC,
    # which is 18:00 of the eve there.
    assert d.case().next_due_at() == datetime(2028, 5, 1, 6, tzinfo=timezone.utc)
    d.now = datetime(2028, 5, 1, 5, 59, tzinfo=timezone.utc)
    assert d.advance(timedelta(0)) == []
    fired = d.advance(timedelta(minutes=2))
    assert [(e.kind, e.data["bpmn_id"]) for e in fired] == [("timer_fired", "cumple18")]
    assert d.ready() == ["transicion"]
    d.complete("transicion", {})
    assert d.end_state == "fin_mayoria"


def test_completing_a_task_twice_or_unknown_task_is_refused(engine):
    d = drive(engine)
    case = d.case()
    task = case.ready_tasks()[0]
    case.complete_task(task.task_id, {"riesgo": False, "lugar": "x"}, T0)
    with pytest.raises(TaskNotReadyError):
        case.complete_task(task.task_id, {"riesgo": False, "lugar": "x"}, T0)
    with pytest.raises(TaskNotReadyError):
        case.complete_task("not-a-uuid", {}, T0)


def test_naive_datetime_is_refused(engine):
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.start_case(dict(START), datetime(2026, 3, 2, 10))


def test_state_excludes_the_process_definition_and_has_a_format_version(engine):
    d = drive(engine)
    envelope = json.loads(d.state)
    assert envelope["format"] == "careroute-case/1"
    assert envelope["spec_version"] == engine.library.version
    assert "spec" not in envelope["state"] and "subprocess_specs" not in envelope["state"]
    assert "registrar_deteccion" not in json.dumps(envelope["state"]).split('"task_spec"')[0]


def test_case_of_an_older_compatible_route_version_moves_to_the_current_one(engine):
    d = drive(engine)
    envelope = json.loads(d.state)
    envelope["spec_version"] = "0000"
    case = engine.restore(json.dumps(envelope))
    assert json.loads(case.dump())["spec_version"] == engine.library.version
    assert case.meta["migrations"] == [{"from": "0000", "to": engine.library.version}]
    assert [t.bpmn_id for t in case.ready_tasks()] == ["registrar_deteccion"]


def test_case_whose_route_element_was_removed_is_refused(engine):
    d = drive(engine)
    envelope = json.loads(d.state)
    envelope["spec_version"] = "0000"
    for task in envelope["state"]["tasks"].values():
        if task["task_spec"] == "registrar_deteccion":
            task["task_spec"] = "tarea_eliminada"
    with pytest.raises(StateFormatError, match="tarea_eliminada"):
        engine.restore(json.dumps(envelope))


def test_restore_refuses_garbage(engine):
    with pytest.raises(StateFormatError):
        engine.restore("{not json")
    with pytest.raises(StateFormatError):
        engine.restore(json.dumps({"format": "other"}))


def test_unknown_process_is_refused(engine):
    with pytest.raises(EngineError, match="unknown process"):
        engine.start_case(None, T0, process_id="nope")


def test_suspension_of_terms_recomputes_pending_working_day_deadline(tmp_path):
    """45 working days (D13) re-armed when a suspension is added for the child's state."""
    import shutil
    from datetime import date

    from workflows.calendario import Suspension
    from workflows.plazos import CatalogoPlazos

    route = tmp_path / "route"
    shutil.copytree(FIXTURE, route)
    main = route / "bpmn" / "ruta_proteccion_nna.bpmn"
    main.write_text(
        main.read_text().replace('plazo_ciclo("D1")', 'plazo_ciclo("D13_resolucion_comar")')
    )
    catalogo = CatalogoPlazos.cargar()
    engine = RouteEngine(load_library(route / "bpmn", route / "forms", catalogo))
    filed = datetime(2026, 10, 26, 18, tzinfo=timezone.utc)  # Monday 26 Oct 2026, 12:00 Chiapas
    case = engine.start_case(dict(START, jurisdiccion="07"), filed)
    # 45 working days from the next day skip 16 Nov (LFT art. 74) and 25 Dec: Wed 30 Dec 2026,
    # ending 23:59:59.999999 Mexico City time = 31 Dec 05:59:59.999999 UTC.
    assert case.ready_tasks()[0].due_at.isoformat() == "2026-12-31T05:59:59.999999+00:00"
    calendario = catalogo.calendario_desde_config().con_suspension(
        Suspension("07", date(2026, 11, 9), date(2026, 11, 13), "prueba", "acuerdo de prueba")
    )
    case = engine.restore(case.dump())
    events = case.recompute_deadlines(calendario, filed + timedelta(days=10))
    assert [e.kind for e in events] == ["deadline_recomputed"]
    # The five suspended working days push the end to Thu 7 Jan 2027.
    assert events[0].data["due_at"] == "2027-01-08T05:59:59.999999+00:00"
    case = engine.restore(case.dump())
    assert case.ready_tasks()[0].due_at.isoformat() == "2027-01-08T05:59:59.999999+00:00"
    assert case.fire_timers(datetime(2027, 1, 2, tzinfo=timezone.utc)) == []
    fired = case.fire_timers(datetime(2027, 1, 8, 6, tzinfo=timezone.utc))
    assert [(e.kind, e.data["level"]) for e in fired] == [("deadline_escalated", 1)]
    other_state = engine.start_case(dict(START, jurisdiccion="27"), filed)
    assert other_state.recompute_deadlines(calendario, filed) == []
