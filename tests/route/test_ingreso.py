"""Entry channels other than INM: a child who presents at a DIF system or at COMAR, or whom a
civil-society organisation or another authority refers to the Procuraduría, joins the same
protection stage with the same guarantees, without going through INM first (issue 12, item 5).

The receiving authority notifies the Procuraduría at once (its own task, with a deadline counted
from the reception), the Procuraduría records the reception, and protection starts; the
Procuraduría informs INM in parallel, where config/canales_ingreso.toml says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.route.driver import Driver, form_example, route_engine
from tests.route.test_main_route import walk
from workflows import FormValidationError, RouteEngine, SpecError, load_library
from workflows.canales import CatalogoCanales
from workflows.route_files import shipped

#: The steps by which INM detects, notifies and channels a child: never on these paths.
INM_FIRST = {"registrar_deteccion", "notificar_procuraduria", "emitir_acta_canalizacion"}
RECEPTION = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)  # the child presented yesterday evening
DUDA = {"duda_edad": True, "motivo_duda_edad": "Sin documentos; dice tener 17 años"}
RIESGO = {"riesgo_inminente": True, "descripcion_riesgo": "La busca un adulto que la explotaba."}


def start(canal: str, engine: RouteEngine | None = None, **inicio: Any) -> Driver:
    data = form_example(route_engine(), "inicio_caso.schema.json")
    data.update(canal_ingreso=canal, fecha_deteccion="2026-03-01T20:00:00Z", **inicio)
    return Driver(start_data=data, engine=engine)


def inm_tasks_ready(d: Driver) -> list[str]:
    return [t.bpmn_id for t in d.ready_tasks() if t.lane == "INM"]


def test_self_presentation_at_dif_reaches_protection_without_inm():
    """A child who presents at a DIF shelter: the DIF notifies the Procuraduría (due 24 h from
    the reception, not from the case's opening), the Procuraduría records the reception, and
    protection starts with the presumption of childhood and urgent measures; INM only hears of
    it from the Procuraduría, in parallel."""
    d = start("autopresentacion_dif")
    assert d.variables["autoridad_receptora"] == "DIF_CAS"
    assert d.ready() == ["notificar_recepcion_dif"]
    notice = d.task("notificar_recepcion_dif")
    assert notice.lane == "DIF_CAS"
    assert notice.deadline_id == "aviso_recepcion_procuraduria"
    assert notice.due_at == RECEPTION + timedelta(hours=24)
    assert "111" in notice.legal_source
    assert route_engine().library.tasks["notificar_recepcion_dif"].notifies == "PROCURADURIA"
    d.complete("notificar_recepcion_dif")
    assert d.ready() == ["registrar_recepcion"]
    assert d.task("registrar_recepcion").lane == "PROCURADURIA"
    d.complete("registrar_recepcion", **DUDA, **RIESGO)
    assert d.variables["presuncion_minoria_edad"] is True
    assert d.variables["riesgo_inminente"] is True
    assert d.variables["riesgo_maximo"] == "alto"
    assert {
        "determinar_acompanamiento",
        "determinar_edad",
        "ordenar_medida_urgente",
        "informar_inm_recepcion",
    } <= set(d.ready())
    assert inm_tasks_ready(d) == []
    aviso = d.task("informar_inm_recepcion")
    assert aviso.lane == "PROCURADURIA"
    assert aviso.deadline_id == "aviso_inm_recepcion"
    assert route_engine().library.tasks["informar_inm_recepcion"].notifies == "INM"
    done = walk(d, keep={"determinar_edad"})
    assert not INM_FIRST & set(done)
    assert "informar_inm_recepcion" in done


def test_self_presentation_at_comar_keeps_the_consular_block_and_refers_to_comar():
    """A child who presents at COMAR to ask for refugee status: COMAR notifies the Procuraduría;
    from the reception there is no consular contact, and the COMAR referral starts even if the
    needs screening finds no indicators (LM art. 112 fr. V; LRPCAP art. 21)."""
    d = start("autopresentacion_comar")
    assert d.ready() == ["notificar_recepcion_comar"]
    assert d.task("notificar_recepcion_comar").lane == "COMAR"
    assert d.task("notificar_recepcion_comar").due_at == RECEPTION + timedelta(hours=24)
    d.complete("notificar_recepcion_comar", solicitud_refugio="manifesto_intencion")
    d.complete("registrar_recepcion")
    assert d.variables["temor_retorno"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    walk(d, stop="detectar_necesidades")
    d.complete("detectar_necesidades")  # the example: no international protection needs found
    assert d.variables["contacto_consular_bloqueado"] is True
    assert "apoyar_solicitud_asilo" in d.ready()
    assert d.variables["contacto_consular_bloqueado"] is True
    done = walk(d)
    assert "localizar_via_consular" not in done
    assert not INM_FIRST & set(done)
    assert d.end_state == "fin_caso_cerrado"


def test_civil_society_referral_is_received_by_the_procuraduria_and_closes():
    """A civil-society shelter refers the child to the Procuraduría: the Procuraduría records the
    reception itself and the whole route runs to closure without INM's first steps."""
    d = start("canalizacion_albergue_osc")
    assert d.variables["autoridad_receptora"] == "PROCURADURIA"
    assert d.ready() == ["registrar_recepcion"]
    d.complete("registrar_recepcion")
    assert d.variables["presuncion_minoria_edad"] is False
    assert d.variables["riesgo_inminente"] is False
    assert set(d.ready()) == {"determinar_acompanamiento", "informar_inm_recepcion"}
    done = walk(d)
    assert not INM_FIRST & set(done)
    assert {"informar_inm_recepcion", "admitir_en_cas", "proponer_cierre"} <= set(done)
    assert d.end_state == "fin_caso_cerrado"


def test_the_case_closes_only_once_inm_was_informed_and_ends_on_its_outcome():
    """The notice to INM runs beside protection: protection and closure do not wait for it, but
    the case is complete only when it is done, and it ends on its outcome, not on the notice."""
    d = start("canalizacion_albergue_osc")
    d.complete("registrar_recepcion")
    done: list[str] = []
    while True:  # everything else, follow-up waits included: move the clock past each
        done += walk(d, keep={"informar_inm_recepcion"})
        due = d.case().next_due_at()
        if due is None:
            break
        d.advance(due - d.now + timedelta(seconds=1))
    assert "aprobar_cierre" in done
    assert not d.completed
    assert d.ready() == ["informar_inm_recepcion"]
    # the late notice is a breach on record, every level of it
    levels = [
        e.data["level"]
        for e in d.events_of("deadline_escalated")
        if e.data["plazo_id"] == "aviso_inm_recepcion"
    ]
    assert levels == [1, 2, 3]
    d.complete("informar_inm_recepcion")  # the last thing done: the outcome is still the case's
    assert d.completed
    assert d.end_state == "fin_caso_cerrado"


def test_a_channel_may_name_only_the_authorities_the_route_branches_on():
    with pytest.raises(SpecError, match="recibe"):
        CatalogoCanales.desde_dict({"otro": {"recibe": ["FISCALIA"], "fuente": "LGDNNA art. 87"}})
    with pytest.raises(SpecError, match="fuente"):
        CatalogoCanales.desde_dict({"otro": {"recibe": ["PROCURADURIA"]}})


def test_the_receiving_authority_s_risk_and_fear_count_too():
    """What the DIF saw at the reception counts even if the Procuraduría's record says nothing:
    urgent measures start and the consular block holds."""
    d = start("autopresentacion_dif")
    d.complete("notificar_recepcion_dif", temor_retorno=True, **RIESGO)
    d.complete("registrar_recepcion")
    assert d.variables["riesgo_inminente"] is True
    assert d.variables["temor_retorno"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert "ordenar_medida_urgente" in d.ready()


def test_a_mexican_child_at_dif_is_not_reported_to_inm():
    d = start("autopresentacion_dif", nacionalidad="MEX")
    d.complete("notificar_recepcion_dif")
    d.complete("registrar_recepcion")
    assert d.ready() == ["determinar_acompanamiento"]


def test_the_notice_to_inm_is_configuration(tmp_path):
    """Who tells INM about a child it never saw is not in the law [sin confirmar]: a channel
    whose ``aviso_inm`` is false starts protection with no notice to INM."""
    text = (shipped("config") / "canales_ingreso.toml").read_text()
    text = text.replace("aviso_inm = true", "aviso_inm = false")
    path = tmp_path / "canales_ingreso.toml"
    path.write_text(text)
    engine = RouteEngine(load_library(), canales=CatalogoCanales.cargar(path))
    d = start("canalizacion_albergue_osc", engine=engine)
    d.complete("registrar_recepcion")
    assert d.ready() == ["determinar_acompanamiento"]


def test_a_mexican_child_s_fear_at_reception_blocks_nothing_and_refers_nowhere():
    """Refugee status is for foreigners (LRPCAP art. 13): a Mexican child's fear recorded at the
    reception neither starts a COMAR referral nor records a fear of return."""
    d = start("autopresentacion_dif", nacionalidad="MEX")
    d.complete("notificar_recepcion_dif", temor_retorno=True)
    d.complete("registrar_recepcion", temor_retorno=True)
    assert not d.variables.get("temor_retorno")
    done = walk(d)
    assert "apoyar_solicitud_asilo" not in done


@pytest.mark.parametrize(
    ("canal", "receptora"),
    [
        ("autopresentacion_dif", "INM"),
        ("revision_migratoria_inm", "PROCURADURIA"),
        ("autopresentacion_comar", "DIF_CAS"),
    ],
)
def test_a_channel_is_received_only_by_its_authorities(canal, receptora):
    data = form_example(route_engine(), "inicio_caso.schema.json") | {"canal_ingreso": canal}
    with pytest.raises(FormValidationError) as refused:
        route_engine().start_case(
            data, datetime(2026, 3, 2, 17, tzinfo=UTC), variables={"autoridad_receptora": receptora}
        )
    assert [e["path"] for e in refused.value.errors] == ["$.canal_ingreso"]


def test_every_channel_of_the_opening_form_is_configured():
    form = route_engine().library.start_form["properties"]["canal_ingreso"]
    assert set(form["enum"]) == set(route_engine().canales.canales)
