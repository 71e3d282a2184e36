"""Path tests for localizacion_reunificacion (family tracing with consent; RLM art. 170).

The consular channel opens only for a foreign child with no pending claim or granted protection
who accepted consular contact; Mexican children are traced by DIF; other channels always run.
"""

from __future__ import annotations

import pytest

from tests.route.driver import Driver

PID = "localizacion_reunificacion"
CONSULAR = "localizar_via_consular"
DIF = "localizar_familia_mexico"
OTRAS = "localizar_otras_vias"


def traced(variables: dict, **consent) -> Driver:
    d = Driver(process_id=PID, variables=variables)
    assert d.ready() == ["obtener_consentimiento_localizacion"]
    d.complete("obtener_consentimiento_localizacion", **consent)
    return d


def finish_channels(d: Driver) -> None:
    for task_id in (CONSULAR, DIF, OTRAS):
        if task_id in d.ready():
            d.complete(task_id)
    assert d.ready() == ["verificar_vinculo_familiar"]


def test_no_consent_ends_without_tracing():
    d = traced(
        {"nacionalidad_mexicana": False},
        consiente_busqueda=False,
        motivo_sin_consentimiento="Teme que su familia sea localizada.",
    )
    assert d.completed and d.end_state == "fin_lf_sin_consentimiento"
    assert not [e for e in d.events_of("task_completed") if e.data["bpmn_id"] in (CONSULAR, OTRAS)]


def test_foreign_child_without_claim_is_traced_through_the_consulate():
    d = traced({"nacionalidad_mexicana": False, "contacto_consular_bloqueado": False})
    assert d.ready() == sorted([CONSULAR, OTRAS])
    assert d.task(CONSULAR).lane == "SRE_CONSULADO"
    assert d.task(OTRAS).lane == "PROCURADURIA"
    d.complete(CONSULAR)
    assert d.ready() == [OTRAS]  # the inclusive join waits for every channel started
    d.complete(OTRAS)
    d.complete(
        "verificar_vinculo_familiar",
        resultado="familia_en_extranjero",
        pais_familia="HND",
        parentesco="madre",
    )
    assert d.end_state == "fin_lf_familia_extranjero"


@pytest.mark.parametrize(
    "variables",
    [
        {"nacionalidad_mexicana": False, "contacto_consular_bloqueado": True},
        {
            "nacionalidad_mexicana": False,
            "contacto_consular_bloqueado": True,
            "asilo_pendiente": True,
        },
    ],
    ids=["bloqueado", "asilo_pendiente"],
)
def test_pending_claim_blocks_the_consular_channel(variables):
    d = traced(variables)
    assert d.ready() == [OTRAS]
    finish_channels(d)
    d.complete("verificar_vinculo_familiar")
    assert d.end_state == "fin_lf_familia_mexico"
    assert CONSULAR not in [e.data["bpmn_id"] for e in d.events_of("task_completed")]


def test_child_who_refuses_consular_contact_is_not_traced_through_it():
    d = traced({"nacionalidad_mexicana": False}, autoriza_contacto_consular=False)
    assert d.ready() == [OTRAS]


def test_mexican_child_is_traced_by_dif_never_by_a_consulate():
    d = traced({"nacionalidad_mexicana": True, "contacto_consular_bloqueado": False})
    assert d.ready() == sorted([DIF, OTRAS])
    assert d.task(DIF).lane == "DIF_CAS"
    finish_channels(d)
    d.complete("verificar_vinculo_familiar")
    assert d.end_state == "fin_lf_familia_mexico"


def test_continue_tracing_then_no_suitable_family():
    d = traced({"nacionalidad_mexicana": False})
    finish_channels(d)
    d.complete(
        "verificar_vinculo_familiar",
        {
            "resultado": "continuar_busqueda",
            "opinion_nna": "desea_reunirse",
            "fundamentacion": "Datos insuficientes del tío.",
        },
    )
    assert d.ready() == sorted([CONSULAR, OTRAS])
    finish_channels(d)
    d.complete(
        "verificar_vinculo_familiar",
        {
            "resultado": "sin_familia_idonea",
            "opinion_nna": "no_desea",
            "fundamentacion": "Riesgos de violencia en el hogar del familiar localizado.",
        },
    )
    assert d.completed and d.end_state == "fin_lf_sin_familia"
    assert d.variables == {"jurisdiccion": "00", "nacionalidad_mexicana": False}
