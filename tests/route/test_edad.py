"""Age on the route: the presumption of childhood (LGDNNA art. 5), the age assessment, the
provisional majority date from an estimated age, planning for adult life six months before 18,
and a pending COMAR claim at 18 (issue 12, item 2)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.route.driver import Driver, form_example, route_engine
from tests.route.test_main_route import ASILO, walk
from workflows import FormValidationError
from workflows.clock import engine_clock
from workflows.expressions import (
    FECHA_MAYORIA_DESCONOCIDA,
    CaseContext,
    DeadlineCalculator,
    evaluate,
)

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

DUDA = {"duda_edad": True, "motivo_duda_edad": "Su acta dice 2005; aparenta 15 años."}


def start(**inicio: Any) -> Driver:
    data = form_example(route_engine(), "inicio_caso.schema.json")
    for key, value in inicio.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return Driver(start_data=data)


def channel(d: Driver, **deteccion: Any) -> None:
    d.complete("registrar_deteccion", **deteccion)
    d.complete("notificar_procuraduria")
    d.complete("emitir_acta_canalizacion")


def in_transition(d: Driver) -> bool:
    return any(t.process_id == "transicion_vida_adulta" for t in d.ready_tasks())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def majority(**variables: Any) -> str:
    """``fecha_mayoria_edad()`` for a case with these variables, on the route's calendar."""
    lib = route_engine().library
    calc = DeadlineCalculator(lib.plazos, lib.plazos.calendario_desde_config())
    with engine_clock(at("2026-03-02T17:00:00+00:00")):
        return evaluate(CaseContext(dict(variables), calc), "fecha_mayoria_edad()", {})


# ------------------------------------------------------------------ the majority date
def test_majority_date_from_birth_estimate_or_presumption():
    # a birth date: 00:00 of the 18th birthday in Mexico City
    assert majority(fecha_nacimiento="2010-05-01") == "2028-05-01T06:00:00+00:00"
    # an estimated age: the local day it was given (21:00 on 2 March in Tapachula is 03:00 UTC
    # on the 3rd), plus 18 - age years, with the benefit of the doubt
    assert (
        majority(edad_estimada=17, fecha_deteccion="2026-03-03T03:00:00Z")
        == "2027-03-02T06:00:00+00:00"
    )
    # an age assessment's day replaces detection as the day of the estimate
    assert (
        majority(
            edad_estimada=15,
            fecha_estimacion_edad="2026-05-10",
            fecha_deteccion="2026-03-02T17:00:00Z",
        )
        == "2029-05-10T06:00:00+00:00"
    )
    # presumed a child: no majority date, whatever the doubted birth date says
    assert (
        majority(presuncion_minoria_edad=True, fecha_nacimiento="2005-01-10")
        == FECHA_MAYORIA_DESCONOCIDA
    )
    assert majority() == FECHA_MAYORIA_DESCONOCIDA


def test_only_the_route_derives_the_age_facts():
    """Each age fact is marked by the listed elements of the main route alone: no subprocess
    can reset the presumption or the majority (issue 12)."""
    owners = {
        "presuncion_minoria_edad": {
            "ruta_presumir_minoria_edad",
            "ruta_edad_sin_duda",
            "ve_registrar_edad",
        },
        "fecha_nacimiento": {"ve_registrar_edad"},
        "edad_estimada": {"ve_registrar_edad"},
        "fecha_estimacion_edad": {"ve_registrar_edad"},
        "mayoria_edad_cumplida": {"ve_marcar_mayoria_edad"},
    }
    found: dict[str, set[str]] = {fact: set() for fact in owners}
    for path in BPMN.glob("*.bpmn"):
        for script in etree.parse(str(path)).iter("{*}script"):
            element = script.getparent().get("id")
            for fact in owners:
                if re.search(rf"marcar\(\s*[\"']{fact}[\"']", script.text or ""):
                    found[fact].add(f"{path.name}:{element}")
    assert found == {
        fact: {f"ruta_proteccion_nna.bpmn:{e}" for e in elements}
        for fact, elements in owners.items()
    }


# ------------------------------------------------------------------ presumption of childhood
def test_age_doubt_keeps_protection_until_the_assessment_decides():
    """A documented adult birth date in doubt: presumed a child, protected, no transition; the
    multidisciplinary assessment decides (an adult only if the lowest age is 18 or more)."""
    d = start(fecha_nacimiento="2005-01-10")
    channel(d, **DUDA)
    assert d.variables["presuncion_minoria_edad"] is True
    assert not in_transition(d)
    assert {"determinar_acompanamiento", "determinar_edad"} <= set(d.ready())
    assert d.task("determinar_edad").lane == "PROCURADURIA"
    d.advance(timedelta(days=400))  # no majority date runs while the presumption stands
    assert not in_transition(d) and not d.completed
    assert {"determinar_acompanamiento", "determinar_edad"} <= set(d.ready())
    d.complete(
        "determinar_edad",
        fecha_determinacion=d.now.date().isoformat(),
        edad_minima=19,
        edad_maxima=22,
        resultado="mayor_de_edad",
    )
    assert d.variables["presuncion_minoria_edad"] is False
    assert "determinar_acompanamiento" not in d.ready()  # protection as a child stops
    walk(d)
    assert d.end_state == "fin_edad_adulta"


def test_the_assessment_gives_the_benefit_of_the_doubt():
    d = start(fecha_nacimiento="2005-01-10")
    channel(d, **DUDA)
    example = form_example(route_engine(), "determinar_edad.schema.json")
    with pytest.raises(FormValidationError) as err:
        d.complete("determinar_edad", {**example, "edad_minima": 17, "resultado": "mayor_de_edad"})
    assert "$.edad_minima" in [e["path"] for e in err.value.errors]
    with pytest.raises(FormValidationError) as err:
        d.complete("determinar_edad", {**example, "equipo": ["medicina"]})
    assert "$.equipo" in [e["path"] for e in err.value.errors]
    with pytest.raises(FormValidationError) as err:
        d.complete("determinar_edad", {**example, "nna_informada": False})
    assert "$.nna_informada" in [e["path"] for e in err.value.errors]


def test_a_child_by_assessment_gets_a_majority_date_from_the_lowest_age():
    """Range 16-19 on 2 March 2026: the child is taken to have just turned 16, so majority is
    00:00 of 2 March 2028 in Mexico City (06:00 UTC), not the doubted 2005 birth date."""
    d = start(fecha_nacimiento="2005-01-10")
    channel(d, **DUDA)
    d.complete("determinar_edad")  # example: 16 to 19, resultado nna, 2026-03-02
    assert d.variables["fecha_nacimiento"] is None
    assert d.variables["edad_estimada"] == 16
    assert not in_transition(d)
    d.advance(at("2028-03-02T05:59:00+00:00") - d.now)
    assert "determinar_acompanamiento" in d.ready()
    d.advance(at("2028-03-02T06:00:01+00:00") - d.now)
    assert "determinar_acompanamiento" not in d.ready()
    assert in_transition(d)


# ------------------------------------------------------------------ estimated age
def test_estimated_age_17_gives_a_provisional_majority_date_and_the_case_moves_on():
    """No birth date, estimated 17 at detection (2 March 2026, Tapachula): majority on
    2 March 2027 at 00:00 local time; protection stops then and the transition follows."""
    d = start(fecha_nacimiento=None, edad_estimada=17)
    channel(d)
    walk(d, stop="detectar_necesidades")
    d.advance(at("2027-03-02T05:59:00+00:00") - d.now)
    assert "detectar_necesidades" in d.ready()
    assert "entregar_servicios_adultos" not in d.ready()
    d.advance(at("2027-03-02T06:00:01+00:00") - d.now)
    assert "detectar_necesidades" not in d.ready()
    assert d.variables["mayoria_edad_cumplida"] is True
    done = walk(d)
    assert "entregar_servicios_adultos" in done
    assert d.end_state == "fin_mayoria_edad"


# ------------------------------------------------------------------ planning for adult life
def test_transition_planning_starts_six_months_before_18_without_interrupting_protection():
    d = start(fecha_nacimiento="2008-09-10")  # 18 on 10 Sep 2026; planning from 10 Mar 2026
    channel(d)
    walk(d, stop="detectar_necesidades")
    d.advance(at("2026-03-10T05:59:00+00:00") - d.now)
    assert "elaborar_plan_transicion" not in d.ready()
    d.advance(at("2026-03-10T06:00:01+00:00") - d.now)
    assert {"detectar_necesidades", "elaborar_plan_transicion"} <= set(d.ready())
    plan = d.task("elaborar_plan_transicion")
    assert plan.lane == "PROCURADURIA"
    assert plan.deadline_id == "plan_transicion"
    # six months, counted as calendar days: the end of the 18th birthday in Mexico City
    assert plan.due_at == at("2026-09-11T05:59:59.999999+00:00")
    d.complete("elaborar_plan_transicion")
    assert "detectar_necesidades" in d.ready()  # protection goes on
    d.advance(at("2026-09-10T06:00:01+00:00") - d.now)
    assert "detectar_necesidades" not in d.ready()
    # the plan drafted before 18 is not asked again: the hand-over is next
    assert d.ready() == ["entregar_servicios_adultos"]
    walk(d)
    assert d.end_state == "fin_mayoria_edad"


# ------------------------------------------------------------------ COMAR claim at 18
def test_a_pending_comar_claim_keeps_being_tracked_after_18():
    d = start(fecha_nacimiento="2008-03-20")  # 18 on 20 March 2026
    channel(d)
    walk(d, {"detectar_necesidades": ASILO}, stop="entrevista_elegibilidad")
    assert d.variables["asilo_pendiente"] is True
    interview = d.task("entrevista_elegibilidad").task_id
    d.advance(at("2026-03-20T06:00:01+00:00") - d.now)
    # the claim's task is the same instance, its authority unchanged, no deadline cancelled
    assert interview in {t.task_id for t in d.ready_tasks()}
    assert d.task("entrevista_elegibilidad").lane == "COMAR"
    assert not [e for e in d.events_of("deadline_stopped") if e.data["outcome"] == "cancelled"]
    assert "entregar_servicios_adultos" not in d.ready()
    d.complete("entrevista_elegibilidad")
    resolution = d.task("resolver_solicitud")
    assert resolution.deadline_id == "D13_resolucion_comar" and resolution.due_at is not None
    d.advance(timedelta(days=3))
    assert "resolver_solicitud" in d.ready()  # still tracked, with its deadline
    assert d.variables["mayoria_edad_cumplida"] is True
    d.complete("resolver_solicitud")  # example: recognised as a refugee
    assert d.variables["asilo_pendiente"] is False
    done = walk(d)
    # adult now: the transition follows (the plan drafted before 18 is not asked again)
    assert done.count("elaborar_plan_transicion") == 0
    assert "entregar_servicios_adultos" in done
    assert d.end_state == "fin_mayoria_edad"


def test_protection_stops_the_day_after_a_claim_pending_at_18_is_resolved():
    """18 with the claim pending and the prosecutor still investigating: protection goes on
    while COMAR decides; once the claim is resolved, the daily check stops protection (the
    investigation task too) and the hand-over follows, without a second plan."""
    d = start(fecha_nacimiento="2008-12-01")  # 18 on 1 December 2026
    channel(d)
    delito = {**ASILO, "indicadores_delito": True, "tipos_delito": ["explotacion_laboral"]}
    pending = {"entrevista_elegibilidad", "resolver_solicitud", "iniciar_investigacion"}
    walk(d, {"detectar_necesidades": delito}, keep=pending)
    d.advance(at("2026-12-01T06:00:01+00:00") - d.now)
    walk(d, keep=pending)  # the plan (opened 1 June) and the other branches' follow-ups
    assert set(d.ready()) == pending
    assert d.variables["mayoria_edad_cumplida"] is True
    d.complete("entrevista_elegibilidad")
    d.complete("resolver_solicitud")
    assert d.ready() == ["iniciar_investigacion"]
    d.advance(timedelta(hours=23))
    assert d.ready() == ["iniciar_investigacion"]
    fired = d.advance(timedelta(hours=1, seconds=1))
    assert "ve_esperar_resolucion_asilo" in [
        e.data["bpmn_id"] for e in fired if e.kind == "timer_fired"
    ]
    assert d.ready() == ["entregar_servicios_adultos"]
    walk(d)
    assert d.end_state == "fin_mayoria_edad"
