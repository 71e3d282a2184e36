"""Path tests for plan_restitucion (LGDNNA art. 123; LM art. 112 fr. II).

Plan drafted (deadline by risk level, from the assessment), returned and approved by the head, case
variables set, presented to INM, INM resolves, then one parallel follow-up instance per measure,
each waiting the periodicity its row of the plan set (plazo("seguimiento_medida", ..., duracion)).
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


@pytest.mark.parametrize(
    "facts",
    [{"asilo_pendiente": True}, {"estatus_proteccion": "refugiado"}],
)
def test_inm_cannot_decide_a_return_while_a_claim_is_pending_or_protection_was_recognised(facts):
    """Non-refoulement (LRPCAP arts. 5 fr. I and 6): INM's resolution of the migration procedure
    may not be an assisted return while COMAR has not decided, or after it recognised the child;
    the form names the field, nothing is recorded."""
    d = approved({"nivel_riesgo": "medio", **facts})
    d.complete("presentar_plan_inm")
    with pytest.raises(FormValidationError) as refused:
        d.complete("resolver_pam_conforme_plan", resolucion="retorno_asistido")
    assert "$.resolucion" in str(refused.value) and "LRPCAP" in str(refused.value)
    assert "resolver_pam_conforme_plan" in d.ready()
    d.complete("resolver_pam_conforme_plan", resolucion="en_espera_resolucion_comar")


def test_return_proposal_requires_reasoning():
    d = Driver(process_id=PID, variables={"nivel_riesgo": "medio"})
    with pytest.raises(FormValidationError) as err:
        d.complete("elaborar_plan_restitucion", solucion_duradera_propuesta="retorno_asistido")
    assert "$.razonamiento_retorno" in [e["path"] for e in err.value.errors]


def end_of(day: str) -> datetime:
    """The last instant of a day in Mexico City (UTC-6 all year since 2022), in UTC."""
    d = datetime.fromisoformat(day)
    return datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=timezone.utc) + timedelta(
        hours=6
    )


def test_each_measure_is_followed_up_at_its_own_periodicity():
    d = approved()  # example plan: measure 1 "mensual", measure 2 "P15D"
    d.complete("presentar_plan_inm")
    d.complete("resolver_pam_conforme_plan")
    assert measures_ready(d) == [1, 2]
    assert {t.lane for t in d.ready_tasks()} == {"PROCURADURIA"}

    # both followed up, the second one yesterday (1 March) but recorded today (2 March)
    complete_measure(
        d, 1, estatus="en_curso", proxima_accion="Cita", fecha_seguimiento="2026-03-02"
    )
    complete_measure(
        d, 2, estatus="en_curso", proxima_accion="Acta", fecha_seguimiento="2026-03-01"
    )
    assert d.ready() == []
    assert not d.completed

    # measure 2: 15 days from 1 March, to the end of 16 March (not 30 days from today)
    d.advance(end_of("2026-03-16") - d.now)
    assert measures_ready(d) == []
    d.advance(timedelta(seconds=1))
    assert measures_ready(d) == [2]
    [fired] = d.events_of("timer_fired")
    assert fired.data["bpmn_id"] == "esperar_periodicidad_medida"
    assert fired.data["due_at"] == end_of("2026-03-16").isoformat()
    complete_measure(d, 2, estatus="cumplida", fecha_seguimiento="2026-03-17")

    # measure 1: one calendar month from 2 March, to the end of 2 April
    d.advance(end_of("2026-04-02") - d.now)
    assert measures_ready(d) == []
    d.advance(timedelta(seconds=1))
    assert measures_ready(d) == [1]
    complete_measure(d, 1, estatus="cumplida")
    assert d.completed and d.end_state == "fin_plan_restitucion"
    assert [e.data["due_at"] for e in d.events_of("timer_fired")] == [
        end_of("2026-03-16").isoformat(),
        end_of("2026-04-02").isoformat(),
    ]


@pytest.mark.parametrize(
    ("periodicidad", "due"),
    [
        ("semanal", "2026-03-09"),
        ("quincenal", "2026-03-17"),
        ("P10D", "2026-03-12"),
        ("P2W", "2026-03-16"),
        ("unica", "2026-04-01"),  # a "once" measure still in progress: the catalogue's 30 days
    ],
)
def test_follow_up_wait_follows_the_plan_periodicity(periodicidad, due):
    plan = form_example(
        Driver(process_id=PID, variables={}).engine, "elaborar_plan_restitucion.schema.json"
    )
    medida = dict(plan["medidas"][0], periodicidad=periodicidad)
    d = approved(medidas=[medida])
    d.complete("presentar_plan_inm")
    d.complete("resolver_pam_conforme_plan")
    complete_measure(d, 1, estatus="en_curso", proxima_accion="x", fecha_seguimiento="2026-03-02")
    assert d.case().next_due_at() == end_of(due)


@pytest.mark.parametrize("periodicidad", ["P0D", "P1M2W", "PT12H", "cada mes"])
def test_a_periodicity_the_timer_cannot_use_is_refused_in_the_plan(periodicidad):
    plan = form_example(
        Driver(process_id=PID, variables={}).engine, "elaborar_plan_restitucion.schema.json"
    )
    medida = dict(plan["medidas"][0], periodicidad=periodicidad)
    d = Driver(process_id=PID, variables={"nivel_riesgo": "medio"})
    with pytest.raises(FormValidationError) as err:
        d.complete("elaborar_plan_restitucion", medidas=[medida])
    assert any("periodicidad" in e["path"] for e in err.value.errors)


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


RETURN = {
    "solucion_duradera_propuesta": "retorno_asistido",
    "retorno_en_interes_superior": True,
    "razonamiento_retorno": "Madre localizada y protectora; la NNA desea volver.",
}


def after_bid(decision: str, retorno_admitido: bool) -> Driver:
    """A plan drafted after a BID (panel_bid marked its decision and whether it admits a return)."""
    return Driver(
        process_id=PID,
        variables={
            "nivel_riesgo": "medio",
            "requiere_bid": True,
            "decision_bid": decision,
            "retorno_admitido_bid": retorno_admitido,
        },
    )


@pytest.mark.parametrize(
    "order", [RETURN, {**RETURN, "solucion_duradera_propuesta": "integracion"}]
)
def test_plan_cannot_order_a_return_the_bid_rejected(order):
    d = after_bid("rechazar", retorno_admitido=False)
    with pytest.raises(FormValidationError) as err:
        d.complete("elaborar_plan_restitucion", **order)
    errors = {e["path"]: e["message"] for e in err.value.errors}
    expected = {"$.retorno_en_interes_superior"}
    if order["solucion_duradera_propuesta"] == "retorno_asistido":
        expected.add("$.solucion_duradera_propuesta")
    assert set(errors) == expected
    assert all("plan_no_contradice_bid" in m and "LGDNNA art. 123" in m for m in errors.values())
    # Nothing was written: the plan is still to draft and no return is on the case.
    assert d.ready() == ["elaborar_plan_restitucion"]
    assert "retorno_en_interes_superior" not in d.variables
    # A plan within the BID goes on.
    d.complete("elaborar_plan_restitucion")
    assert d.ready() == ["aprobar_plan_restitucion"]


def test_plan_may_order_a_return_the_bid_approved():
    d = after_bid("aprobar", retorno_admitido=True)
    d.complete("elaborar_plan_restitucion", **RETURN)
    d.complete("aprobar_plan_restitucion")
    assert d.variables["retorno_en_interes_superior"] is True
    assert d.variables["solucion_duradera"] == "retorno_asistido"
