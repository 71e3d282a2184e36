"""Path tests for transicion_vida_adulta (Care Route stage 5: planning from six months before
18, hand-over at 18)."""

from __future__ import annotations

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PID = "transicion_vida_adulta"
#: called at 18: the age watch recorded majority before protection stopped
ADULT = {"fecha_nacimiento": "2008-03-02", "mayoria_edad_cumplida": True}


@pytest.mark.parametrize(
    "modalidad", ["servicios_adultos", "proteccion_continua", "vida_independiente"]
)
def test_transition_plan_then_hand_over(modalidad):
    d = Driver(process_id=PID, variables=dict(ADULT))
    assert d.ready() == ["elaborar_plan_transicion"]
    assert d.task("elaborar_plan_transicion").lane == "PROCURADURIA"
    d.complete("elaborar_plan_transicion")
    assert d.ready() == ["entregar_servicios_adultos"]
    d.complete("entregar_servicios_adultos", modalidad=modalidad)
    assert d.completed and d.end_state == "fin_transicion"
    assert [e.data["bpmn_id"] for e in d.events_of("task_completed")] == [
        "elaborar_plan_transicion",
        "entregar_servicios_adultos",
    ]


def test_before_18_only_the_plan_is_drafted_with_its_deadline():
    """Called six months before 18: the plan, under the plan_transicion deadline; the hand-over
    waits for majority."""
    d = Driver(process_id=PID, variables={"fecha_nacimiento": "2008-09-02"})
    plan = d.task("elaborar_plan_transicion")
    assert plan.deadline_id == "plan_transicion"
    d.complete("elaborar_plan_transicion")
    assert d.completed and d.end_state == "fin_plan_transicion"


def test_ongoing_protection_names_the_receiving_institution():
    d = Driver(process_id=PID, variables=dict(ADULT))
    d.complete("elaborar_plan_transicion")
    with pytest.raises(FormValidationError) as err:
        d.complete(
            "entregar_servicios_adultos",
            {"modalidad": "proteccion_continua", "fecha_entrega": "2026-03-02"},
        )
    assert "$.institucion_receptora" in [e["path"] for e in err.value.errors]
