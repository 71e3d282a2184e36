"""medidas_urgentes (LGDNNA art. 122): Procuraduría orders, MP decrees (3 h), judge rules (24 h)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PROCESS = "medidas_urgentes"


def start() -> Driver:
    d = Driver(process_id=PROCESS, variables={"riesgo_inminente": True})
    assert d.ready() == ["ordenar_medida_urgente"]
    return d


def escalations(d: Driver, plazo_id: str) -> list[int]:
    return [
        e.data["level"] for e in d.events_of("deadline_escalated") if e.data["plazo_id"] == plazo_id
    ]


def test_order_is_by_the_procuraduria_then_decreed_by_the_prosecutor():
    d = start()
    assert d.task("ordenar_medida_urgente").lane == "PROCURADURIA"
    d.complete("ordenar_medida_urgente")
    task = d.task("decretar_medida_urgente")
    assert task.lane == "FISCALIA"
    assert task.deadline_id == "D5_decreto_mp"
    assert task.due_at == d.now + timedelta(hours=3)
    assert "122" in task.legal_source


@pytest.mark.parametrize(
    "ruling",
    [
        {"resolucion": "ratificada"},
        {"resolucion": "modificada", "medida_modificada": "Solo alojamiento"},
    ],
)
def test_ratified_or_modified_measure_ends_in_force(ruling):
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    task = d.task("resolver_medida_urgente")
    assert task.lane == "JUZGADO"
    assert task.deadline_id == "D6_ratificacion_judicial"
    assert task.due_at == d.now + timedelta(hours=24)
    d.complete("resolver_medida_urgente", **ruling)
    assert d.completed
    assert d.end_state == "fin_medida_urgente_vigente"


def test_judge_cancels_then_procuraduria_decides_no_further_measure():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    d.complete("resolver_medida_urgente", resolucion="cancelada")
    assert d.ready() == ["reevaluar_medida_urgente"]
    assert d.task("reevaluar_medida_urgente").lane == "PROCURADURIA"
    d.complete("reevaluar_medida_urgente", decision="sin_nueva_medida", riesgo_persiste=False)
    assert d.end_state == "fin_sin_medida_urgente"


def test_judge_cancels_then_a_new_measure_is_ordered_and_ratified():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    d.complete("resolver_medida_urgente", resolucion="cancelada")
    d.complete("reevaluar_medida_urgente", decision="nueva_medida", riesgo_persiste=True)
    assert d.ready() == ["ordenar_medida_urgente"]
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    d.complete("resolver_medida_urgente", resolucion="ratificada")
    assert d.end_state == "fin_medida_urgente_vigente"


def test_prosecutor_declines_then_procuraduria_reassesses():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete(
        "decretar_medida_urgente",
        {
            "decision": "no_decretada",
            "fecha_hora_decreto": "2026-03-02T18:00:00Z",
            "motivacion": "x",
        },
    )
    assert d.ready() == ["reevaluar_medida_urgente"]
    d.complete("reevaluar_medida_urgente", decision="sin_nueva_medida", riesgo_persiste=False)
    assert d.end_state == "fin_sin_medida_urgente"


def test_persisting_risk_requires_a_new_measure():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    d.complete("resolver_medida_urgente", resolucion="cancelada")
    with pytest.raises(FormValidationError):
        d.complete("reevaluar_medida_urgente", decision="sin_nueva_medida", riesgo_persiste=True)


def test_modified_ruling_needs_the_modified_measure():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    with pytest.raises(FormValidationError) as err:
        d.complete("resolver_medida_urgente", resolucion="modificada")
    assert {e["path"] for e in err.value.errors} == {"$.medida_modificada"}


def test_missed_3_hour_decree_escalates_three_levels_and_no_more():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.advance(timedelta(hours=3, minutes=30))
    assert escalations(d, "D5_decreto_mp") == [1]
    [event] = d.events_of("deadline_escalated")
    assert event.data["task_bpmn_id"] == "decretar_medida_urgente"
    assert "122" in event.data["legal_source"]
    d.advance(timedelta(hours=2))
    assert escalations(d, "D5_decreto_mp") == [1, 2, 3]
    d.advance(timedelta(hours=12))
    assert escalations(d, "D5_decreto_mp") == [1, 2, 3]
    # the escalation never blocks the work: the prosecutor can still decree
    d.complete("decretar_medida_urgente")
    assert d.ready() == ["resolver_medida_urgente"]


def test_missed_24_hour_ruling_escalates():
    d = start()
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    d.advance(timedelta(hours=24, minutes=30))
    assert escalations(d, "D6_ratificacion_judicial") == [1]
    assert escalations(d, "D5_decreto_mp") == []
    d.complete("resolver_medida_urgente")
    assert d.end_state == "fin_medida_urgente_vigente"
