"""Path tests for cierre (case closure: proposal, supervisor approval, post-closure follow-up)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PID = "cierre"


def test_closure_rejected_then_approved_with_follow_up():
    d = Driver(process_id=PID, variables={"solucion_duradera": "reunificacion"})
    assert d.ready() == ["proponer_cierre"]
    d.complete("proponer_cierre")
    assert d.ready() == ["aprobar_cierre"]
    assert d.task("aprobar_cierre").rol == "supervisor"
    d.complete("aprobar_cierre", decision="rechazar", observaciones="Falta constancia escolar.")
    assert d.ready() == ["proponer_cierre"]
    assert "motivo_cierre" not in d.variables

    d.complete("proponer_cierre")
    d.complete("aprobar_cierre")
    assert d.variables["motivo_cierre"] == "reunificado"
    assert ("motivo_cierre", "reunificado") in [
        (e.data["name"], e.data["new"]) for e in d.events_of("case_variable_set")
    ]
    assert d.ready() == [] and not d.completed  # waiting for the post-closure follow-up
    d.advance(timedelta(days=31))
    assert d.ready() == ["seguimiento_posterior_cierre"]
    d.complete("seguimiento_posterior_cierre")
    assert d.completed and d.end_state == "fin_ci_caso_cerrado"


@pytest.mark.parametrize("motivo", ["no_localizado", "mayoria_edad", "fallecimiento"])
def test_closure_without_follow_up(motivo):
    # closing for majority needs an adult (workflows/guarantees.py CIERRE_COMO_ADULTO)
    # closing as not located needs the Procuraduría's decision after the search period
    # (workflows/guarantees.py CIERRE_NO_LOCALIZADA)
    d = Driver(
        process_id=PID,
        variables={
            "mayoria_edad_cumplida": motivo == "mayoria_edad",
            "cierre_no_localizada_decidido": motivo == "no_localizado",
        },
    )
    d.complete(
        "proponer_cierre",
        motivo=motivo,
        seguimiento_posterior=False,
        solucion_duradera_implementada=False,
        justificacion_pendientes="No aplica por el motivo del cierre.",
    )
    d.complete("aprobar_cierre")
    assert d.completed and d.end_state == "fin_ci_caso_cerrado"
    assert d.variables["motivo_cierre"] == motivo
    assert d.events_of("timer_fired") == []


@pytest.mark.parametrize(
    ("overrides", "missing"),
    [
        ({"motivo": "otro"}, "$.motivo_otro"),
        ({"medidas_plan_concluidas": False}, "$.justificacion_pendientes"),
        ({"solucion_duradera_implementada": False}, "$.justificacion_pendientes"),
    ],
)
def test_closure_form_requires_explanations(overrides, missing):
    d = Driver(process_id=PID, variables={})
    with pytest.raises(FormValidationError) as err:
        d.complete("proponer_cierre", **overrides)
    assert missing in [e["path"] for e in err.value.errors]
    assert d.ready() == ["proponer_cierre"]
