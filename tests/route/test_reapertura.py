"""Reopening a closed case: a new run of the main route that starts at the protection stage and
carries the case's facts (claim status, consular block, age facts, the forms recorded), for a
reason recorded in the case (issue 12, item 5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.route.driver import Driver, route_engine
from tests.route.test_ingreso import INM_FIRST
from tests.route.test_main_route import (
    CIERRE_NO_LOCALIZADA,
    RIESGO,
    judge_and_comar_pending,
    search_until_closed,
    start,
    walk,
)
from workflows import FormValidationError, TaskNotReadyError

REAPERTURA = {
    "categoria": "reunificacion_fallida",
    "motivo": "La familia con la que se reunificó ya no puede cuidarla.",
}


def reopen(d: Driver, data: dict[str, Any] | None = None, **changes: Any) -> None:
    case = route_engine().reopen(d.case(), {**(data or REAPERTURA), **changes}, d.now)
    d.events.extend(case.events)
    d._save(case)  # noqa: SLF001 - the driver's own save, as after any command


def closed_case(**inicio: Any) -> Driver:
    d = start(**inicio)
    walk(d)
    assert d.end_state == "fin_caso_cerrado"
    return d


def test_a_closed_case_reopens_at_protection_with_its_facts():
    d = closed_case(fecha_nacimiento="2011-06-15")
    before = d.variables
    forms_before = dict(d.case().forms)
    reopen(d)
    assert not d.completed
    assert d.ready() == ["determinar_acompanamiento"]
    assert d.task("determinar_acompanamiento").lane == "PROCURADURIA"
    v = d.variables
    assert v["canal_ingreso"] == "reapertura"
    assert v["proteccion_concluida"] is False
    for fact in ("fecha_nacimiento", "presuncion_minoria_edad", "nacionalidad", "fecha_deteccion"):
        assert v[fact] == before[fact]
    # every form of the first run stays readable; the reason is recorded in the case
    forms = d.case().forms
    assert {k: forms[k] for k in forms_before} == forms_before
    assert forms["reabrir_caso"] == REAPERTURA
    runs = d.case().runs
    assert [r["numero"] for r in runs] == [1, 2]
    assert runs[0]["end_state"] == "fin_caso_cerrado"
    assert runs[1]["categoria"] == "reunificacion_fallida"
    assert runs[1]["motivo"] == REAPERTURA["motivo"]  # the reason stays in the case record
    done = walk(d)
    assert not INM_FIRST & set(done)
    assert d.end_state == "fin_caso_cerrado"


def test_a_reopened_case_keeps_the_pending_claim_and_the_consular_block():
    """Closed as not located with a claim pending, found again: the new run keeps the claim and
    the block, and protection takes the claim up again with COMAR (its tasks ended with the first
    run), whatever the screening finds."""
    d, _ = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    search_until_closed(d)  # rounds for the configured period, then the decision to close
    walk(d, {"proponer_cierre": CIERRE_NO_LOCALIZADA})
    assert d.completed
    reopen(d, categoria="nna_localizada", motivo="La Fiscalía la localizó en Tuxtla.")
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert d.variables["solicitud_por_retomar"] is True
    assert d.variables["referencia_comar_en_curso"] is False  # the first run's ended with it
    walk(d, stop="detectar_necesidades")
    d.complete("detectar_necesidades")  # the example: no international protection needs found
    assert d.variables["contacto_consular_bloqueado"] is True
    assert "apoyar_solicitud_asilo" in d.ready()
    assert d.variables["solicitud_por_retomar"] is False
    done = walk(d)
    assert "localizar_via_consular" not in done


def test_imminent_risk_at_reopening_starts_urgent_measures():
    d = closed_case()
    reopen(d, riesgo_inminente=True, descripcion_riesgo=RIESGO["descripcion_riesgo"])
    assert d.variables["riesgo_inminente"] is True
    assert d.variables["riesgo_maximo"] == "alto"
    assert {"ordenar_medida_urgente", "determinar_acompanamiento"} <= set(d.ready())


def test_reopening_needs_a_category_and_a_reason_and_writes_nothing_without():
    d = closed_case()
    before = d.state
    for bad, field in (
        ({"motivo": "Sin categoría."}, "$.categoria"),
        ({"categoria": "otro", "motivo": "   "}, "$.motivo"),
        ({"categoria": "no_existe", "motivo": "x"}, "$.categoria"),
    ):
        with pytest.raises(FormValidationError) as refused:
            route_engine().reopen(d.case(), bad, d.now)
        assert field in [e["path"] for e in refused.value.errors]
    assert d.state == before


def test_an_open_case_cannot_be_reopened():
    d = start()
    with pytest.raises(TaskNotReadyError):
        route_engine().reopen(d.case(), REAPERTURA, d.now)


def test_a_case_reopened_twice_counts_its_runs():
    d = closed_case()
    reopen(d)
    walk(d)
    reopen(d, categoria="solicitud_nna", motivo="Pide volver a la casa hogar.")
    assert [r["numero"] for r in d.case().runs] == [1, 2, 3]
    assert d.case().forms["reabrir_caso"]["categoria"] == "solicitud_nna"
