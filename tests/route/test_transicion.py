"""Path tests for transicion_vida_adulta (Care Route stage 5: turning 18)."""

from __future__ import annotations

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PID = "transicion_vida_adulta"


@pytest.mark.parametrize(
    "modalidad", ["servicios_adultos", "proteccion_continua", "vida_independiente"]
)
def test_transition_plan_then_hand_over(modalidad):
    d = Driver(process_id=PID, variables={"fecha_nacimiento": "2008-03-02"})
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


def test_ongoing_protection_names_the_receiving_institution():
    d = Driver(process_id=PID, variables={})
    d.complete("elaborar_plan_transicion")
    with pytest.raises(FormValidationError) as err:
        d.complete(
            "entregar_servicios_adultos",
            {"modalidad": "proteccion_continua", "fecha_entrega": "2026-03-02"},
        )
    assert "$.institucion_receptora" in [e["path"] for e in err.value.errors]
