"""medidas_urgentes (LGDNNA art. 122): the Procuraduría asks the MP, who decrees in 3 h of
receiving the request (fr. VI), or orders the measure itself (fr. VII); either way the judge rules
within 24 h of the imposition.

Start events are recorded after they happen (an order at 20:00 is entered at 23:00), so each
deadline is asserted against the instant of its event, not the instant it was recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.route.driver import DEFAULT_NOW, Driver
from workflows import FormValidationError

PROCESS = "medidas_urgentes"


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


#: The order is made at 14:00 and received by the MP at 14:30, both before the Procuraduría
#: records it (DEFAULT_NOW is 17:00).
ORDEN_AT = DEFAULT_NOW - timedelta(hours=3)
RECIBIDA_AT = DEFAULT_NOW - timedelta(hours=2, minutes=30)


def order(d: Driver, **overrides) -> None:
    d.complete(
        "ordenar_medida_urgente",
        fecha_hora_orden=iso(ORDEN_AT),
        fecha_hora_recepcion_mp=iso(RECIBIDA_AT),
        **overrides,
    )


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
    order(d)
    task = d.task("decretar_medida_urgente")
    assert task.lane == "FISCALIA"
    assert task.deadline_id == "D5_decreto_mp"
    # 3 h from the MP's receipt of the request (14:30), not from when the order was entered
    assert task.due_at == RECIBIDA_AT + timedelta(hours=3)
    assert "122 fr. VI" in task.legal_source
    assert "siguientes 3" in task.legal_source


def test_decree_deadline_runs_from_receipt_recorded_hours_later():
    d = start()
    d.now += timedelta(hours=2)  # the order is entered at 19:00; the MP got it at 14:30
    order(d)
    events = d.events_of("deadline_escalated")
    # 14:30 + 3 h = 17:30 already passed: level 1 (17:30) and 2 (18:30) are reported at once
    assert [(e.data["level"], e.data["level_due_at"]) for e in events] == [
        (1, (RECIBIDA_AT + timedelta(hours=3)).isoformat()),
        (2, (RECIBIDA_AT + timedelta(hours=4)).isoformat()),
    ]
    assert all(e.data["plazo_id"] == "D5_decreto_mp" for e in events)


@pytest.mark.parametrize(
    "ruling",
    [
        {"resolucion": "ratificada"},
        {"resolucion": "modificada", "medida_modificada": "Solo alojamiento"},
    ],
)
def test_ratified_or_modified_measure_ends_in_force(ruling):
    d = start()
    order(d)
    decreed_at = DEFAULT_NOW - timedelta(hours=1)
    d.now += timedelta(hours=1)  # the decree of 16:00 is entered at 18:00
    d.complete("decretar_medida_urgente", fecha_hora_decreto=iso(decreed_at))
    task = d.task("resolver_medida_urgente")
    assert task.lane == "JUZGADO"
    assert task.deadline_id == "D6_ratificacion_judicial"
    # 24 h from the imposition (the decree), not from when the judge's task opened
    assert task.due_at == decreed_at + timedelta(hours=24)
    assert "imposición de la medida" in task.legal_source
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
            "fecha_hora_decreto": "2026-03-02T17:00:00Z",
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
    d.complete("ordenar_medida_urgente", fecha_hora_recepcion_mp=iso(DEFAULT_NOW))
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
    order(d)
    d.complete("decretar_medida_urgente", fecha_hora_decreto=iso(DEFAULT_NOW))
    d.advance(timedelta(hours=24, minutes=30))
    assert escalations(d, "D6_ratificacion_judicial") == [1]
    assert escalations(d, "D5_decreto_mp") == []
    d.complete("resolver_medida_urgente")
    assert d.end_state == "fin_medida_urgente_vigente"


# ------------------------------------------------------------------ fr. VII: the Procuraduría's own order
DIRECTA = {
    "via": "orden_directa",
    "organo_jurisdiccional": "Juzgado de Control, Tapachula",
}


def test_procuraduria_orders_the_measure_itself_and_the_judge_rules_in_24_hours_of_the_order():
    d = start()
    order(d, **DIRECTA)
    # no 3 h step for the prosecutor, who was told at once: straight to the judge
    assert d.ready() == ["resolver_medida_urgente"]
    task = d.task("resolver_medida_urgente")
    assert task.lane == "JUZGADO"
    assert task.deadline_id == "D6_ratificacion_judicial"
    assert task.due_at == ORDEN_AT + timedelta(hours=24)  # from the order, recorded 3 h later
    assert "fr. VII" in task.legal_source
    d.advance(timedelta(hours=21, minutes=1))  # 14:00 + 24 h has passed
    assert [e.data["plazo_id"] for e in d.events_of("deadline_escalated")] == [
        "D6_ratificacion_judicial"
    ]
    assert not any(e.data.get("bpmn_id") == "decretar_medida_urgente" for e in d.events)
    d.complete("resolver_medida_urgente")
    assert d.end_state == "fin_medida_urgente_vigente"


def test_own_order_cancelled_by_the_judge_can_be_followed_by_a_request_to_the_mp():
    d = start()
    order(d, **DIRECTA)
    d.complete("resolver_medida_urgente", resolucion="cancelada")
    d.complete("reevaluar_medida_urgente", decision="nueva_medida", riesgo_persiste=True)
    order(d)  # this time through the prosecutor (fr. VI)
    assert d.ready() == ["decretar_medida_urgente"]
    decreed_at = DEFAULT_NOW + timedelta(minutes=30)
    d.advance(timedelta(minutes=40))  # recorded 10 minutes after the decree
    d.complete("decretar_medida_urgente", fecha_hora_decreto=iso(decreed_at))
    assert d.task("resolver_medida_urgente").due_at == decreed_at + timedelta(hours=24)


@pytest.mark.parametrize(
    ("via", "missing"),
    [("orden_directa", "$.organo_jurisdiccional"), ("solicitud_mp", "$.fecha_hora_recepcion_mp")],
)
def test_each_path_needs_its_own_record(via, missing):
    d = start()
    data = {
        "via": via,
        "tipo_riesgo": ["vida"],
        "descripcion_riesgo": "x",
        "medidas": ["alojamiento_emergencia"],
        "fundamentacion_motivacion": "LGDNNA art. 122",
        "fecha_hora_orden": iso(ORDEN_AT),
        "ministerio_publico": "Fiscalía",
    }
    with pytest.raises(FormValidationError) as err:
        d.complete("ordenar_medida_urgente", data)
    assert {e["path"] for e in err.value.errors} == {missing}


def test_an_order_or_decree_in_the_future_is_refused_naming_the_field():
    """D5 and D6 count from the instants these forms record: they must already have happened."""
    d = start()
    later = iso(DEFAULT_NOW + timedelta(hours=2))
    with pytest.raises(FormValidationError) as refused:
        d.complete("ordenar_medida_urgente", fecha_hora_orden=later)
    assert "$.fecha_hora_orden" in str(refused.value)
    d.complete("ordenar_medida_urgente")
    with pytest.raises(FormValidationError) as refused:
        d.complete("decretar_medida_urgente", fecha_hora_decreto=later)
    assert "$.fecha_hora_decreto" in str(refused.value)
