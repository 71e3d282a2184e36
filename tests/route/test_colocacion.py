"""colocacion: family unity, protection measure before any shelter admission, no capacity."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.route.driver import Driver
from workflows import FormValidationError

PROCESS = "colocacion"


def start(situacion: str) -> Driver:
    return Driver(process_id=PROCESS, variables={"situacion_acompanamiento": situacion})


def test_accompanied_family_is_accommodated_together():
    d = start("acompanado")
    assert d.ready() == ["alojar_familia_junta"]
    assert d.task("alojar_familia_junta").lane == "DIF_CAS"
    d.complete("alojar_familia_junta")
    assert d.end_state == "fin_familia_alojada"


@pytest.mark.parametrize("situacion", ["no_acompanado", "separado"])
def test_no_shelter_admission_before_the_protection_measure(situacion):
    d = start(situacion)
    assert d.ready() == ["emitir_medida_proteccion"]
    assert d.task("emitir_medida_proteccion").lane == "PROCURADURIA"
    d.complete("emitir_medida_proteccion", opcion_cuidado="cas")
    assert d.ready() == ["admitir_en_cas"]
    d.complete("admitir_en_cas", hay_cupo=True)
    assert d.end_state == "fin_admitido_cas"


def test_authorised_place_is_admitted_like_a_shelter():
    d = start("no_acompanado")
    d.complete("emitir_medida_proteccion", opcion_cuidado="lugar_habilitado")
    assert d.ready() == ["admitir_en_cas"]
    d.complete("admitir_en_cas", tipo_centro="lugar_habilitado")
    assert d.end_state == "fin_admitido_cas"


@pytest.mark.parametrize("opcion", ["familia_extensa", "familia_acogida"])
def test_family_based_care_skips_the_shelter(opcion):
    d = start("separado")
    d.complete("emitir_medida_proteccion", opcion_cuidado=opcion)
    assert d.ready() == ["formalizar_acogimiento_familiar"]
    assert d.task("formalizar_acogimiento_familiar").lane == "DIF_CAS"
    d.complete("formalizar_acogimiento_familiar")
    assert d.end_state == "fin_acogimiento_familiar"


def test_shelter_option_needs_a_reason_why_family_care_is_not_possible():
    d = start("no_acompanado")
    with pytest.raises(FormValidationError) as err:
        d.complete(
            "emitir_medida_proteccion",
            {
                "numero_medida": "M-1",
                "fecha_emision": "2026-03-02",
                "opcion_cuidado": "cas",
                "opinion_nna_considerada": True,
                "fundamentacion": "LGDNNA art. 26",
            },
        )
    assert {e["path"] for e in err.value.errors} == {"$.motivo_no_cuidado_familiar"}


def test_no_capacity_goes_to_another_state_then_admission_again():
    d = start("no_acompanado")
    d.complete("emitir_medida_proteccion")
    d.complete(
        "admitir_en_cas",
        {
            "centro": "CAS Tapachula",
            "tipo_centro": "cas_publico",
            "medida_proteccion_verificada": True,
            "hay_cupo": False,
        },
    )
    assert d.ready() == ["gestionar_cupo_otro_estado"]
    task = d.task("gestionar_cupo_otro_estado")
    assert task.lane == "PROCURADURIA"
    assert task.deadline_id == "colocacion_sin_cupo"
    assert task.due_at == d.now + timedelta(hours=48)
    d.complete("gestionar_cupo_otro_estado")
    assert d.ready() == ["admitir_en_cas"]
    d.complete("admitir_en_cas", centro="CAS Xalapa", hay_cupo=True)
    assert d.end_state == "fin_admitido_cas"


def test_admission_with_capacity_needs_date_and_health_screening():
    d = start("no_acompanado")
    d.complete("emitir_medida_proteccion")
    with pytest.raises(FormValidationError) as err:
        d.complete(
            "admitir_en_cas",
            {
                "centro": "CAS",
                "tipo_centro": "cas_publico",
                "medida_proteccion_verificada": True,
                "hay_cupo": True,
            },
        )
    assert {e["path"] for e in err.value.errors} == {
        "$.fecha_ingreso",
        "$.tamizaje_salud_realizado",
    }


def test_no_capacity_deadline_escalates():
    d = start("no_acompanado")
    d.complete("emitir_medida_proteccion")
    d.complete("admitir_en_cas", hay_cupo=False)
    d.advance(timedelta(hours=49))
    levels = [e.data["level"] for e in d.events_of("deadline_escalated")]
    assert levels == [1]
    assert d.events_of("deadline_escalated")[0].data["plazo_id"] == "colocacion_sin_cupo"
