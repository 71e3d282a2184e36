"""The child's representative, the right to be heard alone in a language the child understands,
and the age facts that closing as an adult reads (issue 12, item 6 and item 2 in commands).

Every refusal is a ``GuaranteeError`` naming the guarantee, raised before anything is written:
the task stays ready and its form is not recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.route.driver import COADYUVANTE, DEFAULT_NOW, Driver, representative_for
from tests.route.test_main_route import ACOMPANADO, start, walk
from workflows import FormValidationError, GuaranteeError
from workflows.guarantees import (
    REQUIERE_REPRESENTANTE,
    adult_by_law,
    breaches,
    child_languages,
    idioma_code,
    requires_interpreter,
)

MEXICO = ZoneInfo("America/Mexico_City")
REPRESENTACION = "representacion_de_la_nna"


def refused(d: Driver, bpmn_id: str, guarantee: str, **overrides: Any) -> GuaranteeError:
    """Completing ``bpmn_id`` is refused naming ``guarantee``; nothing was written."""
    before = d.state
    with pytest.raises(GuaranteeError) as err:
        d.complete(bpmn_id, **overrides)
    assert err.value.guarantee == guarantee
    assert d.state == before
    assert bpmn_id in d.ready()
    return err.value


@pytest.mark.parametrize(
    "canal", ["revision_migratoria_inm", "autopresentacion_dif", "canalizacion_albergue_osc"]
)
def test_the_representative_is_appointed_early_in_protection_for_every_channel(canal):
    # the channels' notices (examples) are dated the day before the default detection
    d = start(canal_ingreso=canal, fecha_deteccion="2026-03-01T20:00:00Z")
    done = walk(d, stop="designar_representante")
    # right after the accompaniment is known, before placement and any interview
    assert "determinar_acompanamiento" in done
    assert "emitir_medida_proteccion" not in done + d.ready()
    assert not {"entrevista_juridica", "opinion_nna"} & set(done)
    assert d.case().representative is None
    d.complete("designar_representante", fecha_designacion="2026-03-02T17:00:00Z")
    (appointment,) = d.case().representation
    assert appointment["tipo"] == "suplencia"
    assert appointment["representante_usuario"] == "procuraduria-07.officer"
    assert appointment["desde"] == DEFAULT_NOW.isoformat()
    assert d.events_of("representative_designated")[-1].data == {
        "tipo": "suplencia",
        "representante_usuario": "procuraduria-07.officer",
        "sustitucion": False,
    }


# The first task that needs the representative in each process run on its own.
FIRST_GATED = [
    ("evaluacion_interes_superior", "entrevista_juridica", {}),
    ("panel_bid", "registrar_decision_bid", {}),
    ("referencia_comar", "entrevista_elegibilidad", {"asilo_pendiente": False}),
    (
        "plan_restitucion",
        "resolver_pam_conforme_plan",
        {"asilo_pendiente": False, "estatus_proteccion": None},
    ),
    ("retorno_asistido", "informar_nna_retorno", {"retorno_en_interes_superior": True}),
]


@pytest.mark.parametrize(("process_id", "task", "variables"), FIRST_GATED)
def test_no_interview_hearing_or_decision_without_a_representative(process_id, task, variables):
    d = Driver(process_id=process_id, variables=variables, representative=False)
    walk(d, stop=task)
    error = refused(d, task, REPRESENTACION)
    assert error.errors[0]["path"] == "$"
    assert "designe primero la representación" in error.errors[0]["message"]
    # appointed (the same command replaces one later): the act is recorded
    case = d.case()
    case.designate_representative(representative_for(case.variables, d.now), d.now)
    d._save(case)  # noqa: SLF001 - the driver's own save after an engine command
    d.complete(task)
    assert task in d.case().forms


def test_every_act_in_the_table_is_a_task_and_is_refused_without_a_representative():
    tasks = Driver().engine.library.tasks
    for task_id in REQUIERE_REPRESENTANTE:
        assert task_id in tasks, task_id
        found = breaches(task_id, {}, {}, {}, [], DEFAULT_NOW, MEXICO)
        assert [e["guarantee"] for e in found] == [REPRESENTACION], task_id
        appointed = breaches(task_id, {}, {}, {}, [{"tipo": "suplencia"}], DEFAULT_NOW, MEXICO)
        assert appointed == [], task_id


def test_the_kind_of_representation_follows_who_is_with_the_child():
    d = start()
    walk(d, stop="designar_representante")
    assert d.variables["situacion_acompanamiento"] == "no_acompanado"
    error = refused(d, "designar_representante", REPRESENTACION, **COADYUVANTE)
    assert [e["path"] for e in error.errors] == ["$.tipo"]

    family = start(acompanamiento_declarado="acompanado")
    walk(family, {"determinar_acompanamiento": ACOMPANADO}, stop="designar_representante")
    error = refused(family, "designar_representante", REPRESENTACION)
    assert [e["path"] for e in error.errors] == ["$.fundamento_suplencia"]
    # suplencia beside a parent only when an authority so decided (LGDNNA art. 106)
    family.complete("designar_representante", fundamento_suplencia="determinacion_autoridad")
    assert family.case().representative["fundamento_suplencia"] == "determinacion_autoridad"


def test_a_replacement_keeps_the_history():
    d = start()
    walk(d, stop="designar_representante")
    d.complete("designar_representante")
    case = d.case()
    new = representative_for(case.variables, d.now + timedelta(days=3))
    new.update(representante_usuario="procuraduria-07.supervisor", representante_nombre="Lic. B")
    with pytest.raises(FormValidationError) as err:  # a replacement says why: a plain 422
        case.designate_representative(new, d.now + timedelta(days=3))
    assert not isinstance(err.value, GuaranteeError)
    assert [e["path"] for e in err.value.errors] == ["$.motivo_sustitucion"]
    assert len(case.representation) == 1
    new["motivo_sustitucion"] = "La abogada designada cambió de adscripción."
    events = case.designate_representative(new, d.now + timedelta(days=3))
    assert [e.data["sustitucion"] for e in events] == [True]
    first, second = case.representation
    assert first["representante_usuario"] == "procuraduria-07.officer"
    assert second["representante_usuario"] == "procuraduria-07.supervisor"
    assert case.representative == second
    # the history survives a restart
    assert d.engine.restore(case.dump()).representation == [first, second]


def test_interpretation_must_be_into_a_language_the_child_understands():
    d = start(idioma="mam")
    assert d.variables["requiere_interprete"] is True
    walk(d, stop="entrevista_juridica")
    d.complete("entrevista_juridica", interprete_utilizado=True, idioma_interprete="mam")
    walk(d, stop="opinion_nna")
    error = refused(
        d, "opinion_nna", "interprete_en_lengua_de_la_nna",
        interprete_utilizado=True, idioma_interprete="kiche",
    )  # fmt: skip
    assert [e["path"] for e in error.errors] == ["$.idioma_interprete"]
    # no interpreter at all for a Mam speaker: refused too, naming the same guarantee
    refused(d, "opinion_nna", "interprete_en_lengua_de_la_nna", interprete_utilizado=False)
    d.complete("opinion_nna", interprete_utilizado=True, idioma_interprete="mam")
    # a Mam speaker who also understands Spanish needs no interpreter
    both = start(idioma="mam", otros_idiomas=["espanol"])
    assert both.variables["requiere_interprete"] is False


def test_old_free_text_languages_load_into_the_catalog():
    for written, code in [
        ("Español", "espanol"),
        ("castellano", "espanol"),
        ("K'iche'", "kiche"),
        ("Q'anjob'al", "qanjobal"),
        ("Tzotzil", "tsotsil"),
        ("Creole", "criollo_haitiano"),
        ("English", "ingles"),
        ("mam", "mam"),
    ]:
        assert idioma_code(written) == code, written
    d = start(idioma="Español")
    assert d.case().forms["inicio_caso"]["idioma"] == "espanol"
    assert d.variables["requiere_interprete"] is False
    # a language outside the catalog is "otro", named; unknown text is refused, naming the field
    other = start(idioma="otro", idioma_otro="Suajili")
    assert other.variables["requiere_interprete"] is True
    with pytest.raises(FormValidationError) as err:
        start(idioma="Suajili")
    assert [e["path"] for e in err.value.errors] == ["$.idioma"]
    # what a case stored before the catalog holds still reads: unknown text is another language
    assert idioma_code("Suajili") == "otro" and idioma_code("Suajili", strict=True) is None
    # a case recorded before the catalog reads the same facts from its stored free text
    assert child_languages({"idioma": "Español", "otros_idiomas": ["K'iche'"]}) == {
        "espanol",
        "kiche",
    }
    assert requires_interpreter("k'iche'") is True
    assert requires_interpreter(None) is None


def test_the_child_is_heard_alone_unless_the_child_chose_company():
    d = Driver(process_id="evaluacion_interes_superior", variables={})
    walk(d, stop="opinion_nna")
    company = {
        "nna_vista_a_solas": False,
        "motivo_no_a_solas": "La trabajadora social del albergue estuvo presente.",
        "persona_acompanante": "Trabajadora social del albergue",
    }
    error = refused(d, "opinion_nna", "nna_escuchada_a_solas", nna_eligio_compania=False, **company)
    assert [e["path"] for e in error.errors] == ["$.nna_eligio_compania"]
    d.complete("opinion_nna", nna_eligio_compania=True, **company)
    assert d.case().forms["opinion_nna"]["persona_acompanante"] == company["persona_acompanante"]


def test_adult_by_law_follows_presumption_assessment_and_majority():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    born_adult = {"fecha_nacimiento": "2008-05-31"}
    assert adult_by_law(born_adult, {}, MEXICO, now) == "mayoria_de_edad"
    assert adult_by_law({"fecha_nacimiento": "2008-06-02"}, {}, MEXICO, now) is None
    # the birth date in doubt: presumed an adolescent until the assessment decides
    presumed = {**born_adult, "presuncion_minoria_edad": True}
    assert adult_by_law(presumed, {}, MEXICO, now) is None
    assessed = {"determinar_edad": {"resultado": "mayor_de_edad"}}
    assert adult_by_law({"presuncion_minoria_edad": False}, assessed, MEXICO, now) == (
        "edad_adulta_determinada"
    )
    assert adult_by_law({}, {}, MEXICO, now) is None  # no age known: a child
    assert adult_by_law({"mayoria_edad_cumplida": True}, {}, MEXICO, now) == "mayoria_de_edad"


def test_a_presumed_child_is_not_closed_as_an_adult():
    d = Driver(
        process_id="cierre",
        variables={"presuncion_minoria_edad": True, "fecha_nacimiento": None},
    )
    closing = {
        "seguimiento_posterior": False,
        "solucion_duradera_implementada": False,
        "justificacion_pendientes": "No aplica.",
    }
    error = refused(
        d, "proponer_cierre", "cierre_como_adulto_solo_con_mayoria",
        motivo="mayoria_edad", destino_nna="vida_independiente", **closing,
    )  # fmt: skip
    assert {e["path"] for e in error.errors} == {"$.motivo", "$.destino_nna"}
    adult = Driver(process_id="cierre", variables={"fecha_nacimiento": "2007-01-10"})
    adult.complete("proponer_cierre", motivo="mayoria_edad", **closing)
    assert adult.case().forms["proponer_cierre"]["motivo"] == "mayoria_edad"
