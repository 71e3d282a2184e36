"""Path tests for plan_restitucion (LGDNNA art. 123; LM art. 112 fr. II).

Plan drafted (deadline by risk level), returned and approved by the head, case variables set,
presented to INM, INM resolves, then one parallel follow-up instance per measure with periodic
waits of plazo("seguimiento_medida").
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from tests.route.driver import Driver, form_example
from workflows import FormValidationError

PID = "plan_restitucion"
SEGUIMIENTO = "dar_seguimiento_medida"


def complete_measure(d: Driver, numero: int, **overrides) -> None:
    """Complete the follow-up task of one measure (the MI instances share a bpmn id)."""
    d.complete(SEGUIMIENTO, where=lambda t: t.context["medida"]["numero"] == numero, **overrides)


def measures_ready(d: Driver) -> list[int]:
    return sorted(
        t.context["medida"]["numero"] for t in d.ready_tasks() if t.bpmn_id == SEGUIMIENTO
    )


def approved(variables: dict | None = None, **plan) -> Driver:
    d = Driver(process_id=PID, variables=variables or {"nivel_riesgo": "medio"})
    d.complete("elaborar_plan_restitucion", **plan)
    d.complete("aprobar_plan_restitucion")
    return d


def test_plan_deadline_depends_on_risk_level():
    alto = Driver(process_id=PID, variables={"nivel_riesgo": "alto"})
    bajo = Driver(process_id=PID, variables={"nivel_riesgo": "bajo"})
    task_alto, task_bajo = (
        alto.task("elaborar_plan_restitucion"),
        bajo.task("elaborar_plan_restitucion"),
    )
    assert task_alto.deadline_id == task_bajo.deadline_id == "plan_caso"
    # 2 March 2026 + 3 / 14 natural days, end of day in Mexico City.
    assert task_alto.due_at == datetime(2026, 3, 6, 5, 59, 59, 999999, tzinfo=timezone.utc)
    assert task_bajo.due_at == datetime(2026, 3, 17, 5, 59, 59, 999999, tzinfo=timezone.utc)
    sin_nivel = Driver(process_id=PID, variables={})
    assert sin_nivel.task("elaborar_plan_restitucion").due_at == datetime(
        2026, 3, 10, 5, 59, 59, 999999, tzinfo=timezone.utc
    )  # "medio" (7 days) when no risk level was set


def test_plan_returned_then_approved():
    d = Driver(process_id=PID, variables={"nivel_riesgo": "medio"})
    d.complete("elaborar_plan_restitucion")
    assert d.ready() == ["aprobar_plan_restitucion"]
    assert d.task("aprobar_plan_restitucion").rol == "head"
    d.complete("aprobar_plan_restitucion", decision="devolver", observaciones="Falta salud.")
    assert d.ready() == ["elaborar_plan_restitucion"]
    assert "solucion_duradera" not in d.variables

    d.complete("elaborar_plan_restitucion", solucion_duradera_propuesta="integracion")
    d.complete("aprobar_plan_restitucion")
    assert d.variables["solucion_duradera"] == "integracion"
    assert d.variables["retorno_en_interes_superior"] is False
    assert d.ready() == ["presentar_plan_inm"]
    assert d.task("presentar_plan_inm").deadline_id == "presentar_plan_inm"
    d.complete("presentar_plan_inm")
    assert d.ready() == ["resolver_pam_conforme_plan"]
    assert d.task("resolver_pam_conforme_plan").lane == "INM"


def test_return_in_best_interests_is_recorded():
    d = approved(
        solucion_duradera_propuesta="retorno_asistido",
        retorno_en_interes_superior=True,
        razonamiento_retorno="Madre localizada y protectora; la NNA desea volver.",
    )
    assert d.variables["solucion_duradera"] == "retorno_asistido"
    assert d.variables["retorno_en_interes_superior"] is True


def test_return_proposal_requires_reasoning():
    d = Driver(process_id=PID, variables={"nivel_riesgo": "medio"})
    with pytest.raises(FormValidationError) as err:
        d.complete("elaborar_plan_restitucion", solucion_duradera_propuesta="retorno_asistido")
    assert "$.razonamiento_retorno" in [e["path"] for e in err.value.errors]


def test_each_measure_is_followed_up_until_done():
    d = approved()
    d.complete("presentar_plan_inm")
    d.complete("resolver_pam_conforme_plan")
    assert measures_ready(d) == [1, 2]
    assert {t.lane for t in d.ready_tasks()} == {"PROCURADURIA"}

    complete_measure(d, 1)  # example: cumplida
    assert measures_ready(d) == [2]
    complete_measure(d, 2, estatus="en_curso", proxima_accion="Cita en el Registro Civil")
    assert d.ready() == []
    assert not d.completed

    # seguimiento_medida: 30 natural days, ending 1 April 2026 at 23:59:59 Mexico City.
    d.advance(timedelta(days=30))
    assert d.ready() == []
    d.advance(timedelta(days=1))
    assert measures_ready(d) == [2]
    [fired] = d.events_of("timer_fired")
    assert fired.data["bpmn_id"] == "esperar_periodicidad_medida"
    assert fired.data["due_at"] == "2026-04-02T05:59:59.999999+00:00"

    complete_measure(d, 2, estatus="en_curso", proxima_accion="Entrega del documento")
    d.advance(timedelta(days=31))
    assert measures_ready(d) == [2]
    complete_measure(d, 2, estatus="cumplida")
    assert d.completed and d.end_state == "fin_plan_restitucion"
    assert len(d.events_of("timer_fired")) == 2


def test_unfeasible_measure_ends_its_instance():
    plan = form_example(
        Driver(process_id=PID, variables={}).engine, "elaborar_plan_restitucion.schema.json"
    )
    medidas = copy.deepcopy(plan["medidas"][:1])
    d = approved(medidas=medidas)
    d.complete("presentar_plan_inm")
    d.complete("resolver_pam_conforme_plan")
    assert measures_ready(d) == [1]
    complete_measure(d, 1, estatus="no_viable", motivo_no_viable="Servicio inexistente")
    assert d.completed
