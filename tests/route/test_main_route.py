"""ruta_proteccion_nna end to end: detection, channelling, protection branches, boundaries, closure.

Every walk goes through the real route (all 13 processes); tasks of the other subprocesses are
completed with their form examples unless a test says otherwise, and follow-up waits are fired by
moving the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.route.driver import COADYUVANTE, DEFAULT_NOW, Driver, form_example, route_engine
from workflows import FormValidationError, TaskNotReadyError

ASILO = {
    "indicadores_proteccion_internacional": True,
    "motivos_proteccion": ["violencia_pandillas_reclutamiento"],
    "expresa_deseo_solicitar_asilo": True,
}
ACOMPANADO = {
    "situacion": "acompanado",
    "relacion_adulto": "madre",
    "evidencias": ["documentos_parentesco"],
}
SEPARADO = {"situacion": "separado", "relacion_adulto": "otro_familiar"}
RIESGO = {
    "riesgo_inminente": True,
    "descripcion_riesgo": "Adulto no familiar la obliga a trabajar.",
}
BID = {"requiere_bid": True, "direccion_bid": "soluciones_duraderas_no_acompanada"}
MEXICO = ZoneInfo("America/Mexico_City")


def start(**inicio: Any) -> Driver:
    data = form_example(route_engine(), "inicio_caso.schema.json")
    data.update(inicio)
    return Driver(start_data=data)


def walk(
    d: Driver,
    overrides: dict[str, dict[str, Any]] | None = None,
    stop: str | None = None,
    max_steps: int = 120,
    keep: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Complete ready tasks (form example + overrides) and fire waits.

    Tasks in ``keep`` are never completed: they stay open, as an authority that has not acted yet.
    Stops when the case ends, ``stop`` is ready, or only kept tasks are ready; returns the ids of
    the tasks completed, in order.
    """
    overrides = overrides or {}
    done: list[str] = []
    for _ in range(max_steps):
        if d.completed:
            return done
        ready = d.ready()
        if stop is not None and stop in ready:
            return done
        if ready and all(t in keep for t in ready):
            return done
        ready = [t for t in ready if t not in keep]
        if not ready:
            due = d.case().next_due_at()
            assert due is not None, f"case is stuck after {done}"
            d.advance(max(due - d.now, timedelta(0)) + timedelta(seconds=1))
            continue
        task = ready[0]
        d.complete(task, **overrides.get(task, {}))
        done.append(task)
    raise AssertionError(f"no end after {max_steps} steps: {done}")


def escalation_levels(d: Driver, plazo_id: str) -> list[int]:
    return [
        e.data["level"] for e in d.events_of("deadline_escalated") if e.data["plazo_id"] == plazo_id
    ]


# ------------------------------------------------------------------ detection and channelling
def test_detection_notice_and_channelling_by_inm():
    d = start()
    assert d.ready() == ["registrar_deteccion"]
    assert d.task("registrar_deteccion").lane == "INM"
    d.complete("registrar_deteccion")
    notice = d.task("notificar_procuraduria")
    assert notice.lane == "INM"
    assert notice.deadline_id == "D1_notificacion_procuraduria"
    assert notice.due_at == datetime.fromisoformat("2026-03-03T17:00:00+00:00")
    assert "112" in notice.legal_source
    d.complete("notificar_procuraduria")
    acta = d.task("emitir_acta_canalizacion")
    assert acta.deadline_id == "D2_acta_canalizacion"
    d.complete("emitir_acta_canalizacion")
    assert d.ready() == ["determinar_acompanamiento"]
    assert d.variables["riesgo_inminente"] is False
    assert d.variables["nacionalidad_mexicana"] is False


def test_channelling_deadline_counts_from_detection_not_from_the_notification():
    # detected yesterday at 20:00 UTC, the case is opened today at 17:00 (DEFAULT_NOW)
    detected = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    d = start(fecha_deteccion="2026-03-01T20:00:00Z")
    d.complete("registrar_deteccion", fecha_hora_deteccion="2026-03-01T20:00:00Z")
    d.complete("notificar_procuraduria")
    acta = d.task("emitir_acta_canalizacion")
    assert acta.deadline_id == "D2_acta_canalizacion"
    # 24 h from detection (2 March 20:00), not from the notification (2 March 17:00)
    assert acta.due_at == detected + timedelta(hours=24)
    assert "de inmediato" in acta.legal_source
    assert escalation_levels(d, "D2_acta_canalizacion") == []
    d.advance(timedelta(hours=3, minutes=1))
    assert escalation_levels(d, "D2_acta_canalizacion") == [1]


@pytest.mark.parametrize(
    ("task", "field", "value"),
    [
        ("consolidar_bia", "fecha_evaluacion", "2026-03-03"),  # tomorrow in Mexico City
        ("consolidar_bia", "fecha_evaluacion", "2026-02-27"),  # before the detection
    ],
)
def test_a_deadline_s_start_date_is_neither_future_nor_before_detection(task, field, value):
    """The date a deadline counts from is a fact: the form refuses it in the future or before
    the detection, naming the field, and nothing is recorded."""
    d = start()
    walk(d, stop=task)
    before = d.case().dump()
    with pytest.raises(FormValidationError) as refused:
        d.complete(task, **{field: value})
    assert f"$.{field}" in str(refused.value)
    assert d.case().dump() == before


def test_a_claim_decided_while_family_tracing_runs_does_not_conclude_protection():
    """Protection ends only when every branch it opened has ended: deciding the asylum claim
    while the family tracing is still open left protection 'concluded' (the inclusive join fired
    with a branch inside a call activity); the split and join are now parallel, each branch
    deciding for itself whether it has work."""
    asilo = {
        "indicadores_proteccion_internacional": True,
        "motivos_proteccion": ["violencia_pandillas_reclutamiento"],
        "expresa_deseo_solicitar_asilo": True,
    }
    d = start()
    keep = {"obtener_consentimiento_localizacion", "resolver_solicitud", "entrevista_elegibilidad"}
    walk(d, {"detectar_necesidades": asilo}, keep=keep)
    assert set(d.ready()) == keep
    d.complete("resolver_solicitud")
    assert d.ready() == ["obtener_consentimiento_localizacion"]
    assert not d.variables.get("proteccion_concluida")
    walk(d)
    assert d.variables.get("proteccion_concluida") is True


def test_a_child_who_does_not_speak_spanish_is_heard_with_an_interpreter():
    """LGDNNA art. 92 fr. V: a child whose language (recorded at opening) is not Spanish is
    interviewed with an interpreter: the record without one is refused, naming the field."""
    d = start(idioma="mam")
    assert d.variables["requiere_interprete"] is True
    walk(d, stop="opinion_nna")
    with pytest.raises(FormValidationError) as refused:
        d.complete("opinion_nna", interprete_utilizado=False)
    assert "$.interprete_utilizado" in str(refused.value)
    d.complete("opinion_nna", interprete_utilizado=True, idioma_interprete="mam")
    spanish = start(idioma="Español")
    assert spanish.variables["requiere_interprete"] is False


def test_a_closure_says_where_the_child_goes():
    """No child leaves a shelter without a recorded destination: the closure proposal requires
    it (and details when it is 'otro'); the placement ended by the closure records it."""
    d = start()
    walk(d, stop="proponer_cierre")
    with pytest.raises(FormValidationError) as refused:
        d.complete("proponer_cierre", destino_nna=None)
    assert "$.destino_nna" in str(refused.value)
    with pytest.raises(FormValidationError) as refused:
        d.complete("proponer_cierre", destino_nna="otro")
    assert "$.destino_detalle" in str(refused.value)
    d.complete("proponer_cierre", destino_nna="otro", destino_detalle="Casa hogar en Oaxaca")
    assert d.case().forms["proponer_cierre"]["destino_nna"] == "otro"


def test_the_notice_records_whether_the_migration_procedure_came_first():
    """LM arts. 98 and 112 fr. I: INM records whether it opened the procedure before notifying
    (a fact, with its instant), instead of attesting that it did not."""
    d = start()
    d.complete("registrar_deteccion")
    with pytest.raises(FormValidationError) as refused:
        d.complete("notificar_procuraduria", pam_iniciado_antes=True)
    assert "$.fecha_hora_inicio_pam" in str(refused.value)
    d.complete(
        "notificar_procuraduria",
        pam_iniciado_antes=True,
        fecha_hora_inicio_pam=d.now.isoformat(),
    )
    assert d.case().forms["notificar_procuraduria"]["pam_iniciado_antes"] is True


def test_channelling_deadline_runs_while_the_notification_is_pending():
    d = start()  # detected at DEFAULT_NOW
    d.complete("registrar_deteccion")
    d.advance(timedelta(hours=25, minutes=30))  # INM notifies 25.5 h after detection
    assert escalation_levels(d, "D1_notificacion_procuraduria") == [1, 2]
    events = d.complete("notificar_procuraduria")
    # the child is still with INM: the channelling was due at 24 h too, and is reported at once
    d2 = [
        e
        for e in events
        if e.kind == "deadline_escalated" and e.data["plazo_id"] == "D2_acta_canalizacion"
    ]
    assert [(e.data["level"], e.data["level_due_at"]) for e in d2] == [
        (1, (DEFAULT_NOW + timedelta(hours=24)).isoformat()),
        (2, (DEFAULT_NOW + timedelta(hours=25)).isoformat()),
    ]
    assert d.task("emitir_acta_canalizacion").due_at == DEFAULT_NOW + timedelta(hours=24)


def test_imminent_risk_at_detection_makes_the_bia_deadline_high_risk():
    d = start()
    d.complete("registrar_deteccion", **RIESGO)
    assert d.variables["riesgo_maximo"] == "alto"
    walk(d, stop="consolidar_bia", keep={"ordenar_medida_urgente"})
    bia = d.task("consolidar_bia")
    assert bia.deadline_id == "bia"
    # alto: 2 natural days, to the end of the day in Mexico City (not 7 for "medio")
    local = d.now.astimezone(MEXICO).date() + timedelta(days=2)
    assert bia.due_at == datetime(local.year, local.month, local.day, 23, 59, 59, 999999, MEXICO)
    # a "bajo" assessment does not lower the highest risk recorded
    d.complete("consolidar_bia", nivel_riesgo="bajo", fecha_evaluacion="2026-03-02")
    assert d.variables["nivel_riesgo"] == "bajo"
    assert d.variables["riesgo_maximo"] == "alto"


def end_of_local(day: str) -> datetime:
    d = datetime.fromisoformat(day)
    return datetime(d.year, d.month, d.day, 23, 59, 59, 999999, tzinfo=MEXICO)


def test_high_risk_case_plan_is_due_three_days_after_the_assessment():
    d = start(fecha_deteccion="2026-02-20T17:00:00Z")  # assessed after detection
    bia = {"nivel_riesgo": "alto", "fecha_evaluacion": "2026-03-01"}  # recorded a day later
    walk(d, {"consolidar_bia": bia}, stop="elaborar_plan_restitucion")
    plan = d.task("elaborar_plan_restitucion")
    assert plan.deadline_id == "plan_caso"
    # 1 March + 3 days, whenever the approval and the plan task came
    assert plan.due_at == end_of_local("2026-03-04")


def test_case_plan_after_a_bid_counts_from_the_bid_decision():
    d = start(fecha_deteccion="2026-02-20T17:00:00Z")  # assessed after detection
    bia = {**BID, "nivel_riesgo": "medio", "fecha_evaluacion": "2026-02-26"}
    walk(
        d,
        {"consolidar_bia": bia, "registrar_decision_bid": {"fecha_decision": "2026-03-01"}},
        stop="elaborar_plan_restitucion",
    )
    # medio: 7 days from the decision (not from the assessment, nor from today)
    assert d.task("elaborar_plan_restitucion").due_at == end_of_local("2026-03-08")


@pytest.mark.parametrize(
    ("deteccion", "presumida"),
    [
        ({"duda_edad": True, "motivo_duda_edad": "Sin documentos; aparenta 17 o 18 años"}, True),
        ({}, False),
    ],
)
def test_age_doubt_presumes_a_child(deteccion, presumida):
    d = start()
    d.complete("registrar_deteccion", **deteccion)
    assert d.variables["presuncion_minoria_edad"] is presumida
    # the child is channelled to protection either way, never detained
    assert d.ready() == ["notificar_procuraduria"]


def test_missed_notice_deadline_escalates_three_levels_and_never_a_fourth():
    d = start()
    d.complete("registrar_deteccion")
    # due 24 h after detection; then one level per hour (supervisor, head, oversight)
    d.advance(timedelta(hours=25))
    assert escalation_levels(d, "D1_notificacion_procuraduria") == [1]
    [event] = d.events_of("deadline_escalated")
    assert event.data["task_bpmn_id"] == "notificar_procuraduria"
    assert event.data["due_at"] == "2026-03-03T17:00:00+00:00"
    d.advance(timedelta(minutes=30))
    assert escalation_levels(d, "D1_notificacion_procuraduria") == [1, 2]
    d.advance(timedelta(hours=1))
    assert escalation_levels(d, "D1_notificacion_procuraduria") == [1, 2, 3]
    d.advance(timedelta(hours=48))
    assert escalation_levels(d, "D1_notificacion_procuraduria") == [1, 2, 3]
    # the breach stays on the task: its due date and deadline after every level (issue 11)
    late = d.task("notificar_procuraduria")
    assert late.due_at == datetime(2026, 3, 3, 17, tzinfo=UTC)
    assert late.deadline_id == "D1_notificacion_procuraduria"
    d.complete("notificar_procuraduria")
    assert d.ready() == ["emitir_acta_canalizacion"]
    acta = d.task("emitir_acta_canalizacion")
    assert acta.deadline_id == "D2_acta_canalizacion"  # the next task's own deadline, not D1


# ------------------------------------------------------------------ end-to-end walks
def test_unaccompanied_child_with_asylum_indicators():
    d = start()
    walk(d, stop="detectar_necesidades")
    d.complete("detectar_necesidades", **ASILO)
    assert d.variables["indicadores_proteccion_internacional"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    ready = d.ready()
    assert "apoyar_solicitud_asilo" in ready
    assert "obtener_consentimiento_localizacion" in ready
    done = walk(d)
    assert "localizar_via_consular" not in done
    assert {
        "entrevista_elegibilidad",
        "resolver_solicitud",
        "consolidar_bia",
        "proponer_cierre",
    } <= set(done)
    assert d.end_state == "fin_caso_cerrado"


def test_accompanied_family_stays_together_and_is_not_traced():
    d = start(acompanamiento_declarado="acompanado")
    done = walk(
        d,
        {"determinar_acompanamiento": ACOMPANADO, "designar_representante": COADYUVANTE},
        stop="alojar_familia_junta",
    )
    assert "emitir_medida_proteccion" not in d.ready()
    assert d.variables["situacion_acompanamiento"] == "acompanado"
    done += walk(d)
    assert "alojar_familia_junta" in done
    assert "emitir_medida_proteccion" not in done
    assert "obtener_consentimiento_localizacion" not in done
    assert d.end_state == "fin_caso_cerrado"


def test_separated_child_relative_is_assessed_then_kinship_care_and_tracing():
    d = start(acompanamiento_declarado="separado")
    walk(d, {"determinar_acompanamiento": SEPARADO}, stop="valorar_idoneidad_familiar")
    assert d.variables["situacion_acompanamiento"] == "separado"
    d.complete("valorar_idoneidad_familiar")
    assert d.ready() == ["emitir_medida_proteccion"]
    d.complete("emitir_medida_proteccion", opcion_cuidado="familia_extensa")
    assert d.ready() == ["formalizar_acogimiento_familiar"]
    done = walk(d)
    assert "obtener_consentimiento_localizacion" in done
    assert "admitir_en_cas" not in done
    assert d.end_state == "fin_caso_cerrado"


def test_mexican_returnee_goes_to_dif_tracing_without_comar_or_consulate():
    d = start(nacionalidad="MEX", canal_ingreso="repatriacion_eua")
    overrides = {
        "registrar_deteccion": {"canal_deteccion": "repatriacion_mexicana"},
        "emitir_acta_canalizacion": {"tvrh": "no_aplica_nacionalidad_mexicana"},
    }
    walk(d, overrides, stop="detectar_necesidades")
    assert d.variables["nacionalidad_mexicana"] is True
    # even if fear of return is recorded, a Mexican child is not referred to COMAR
    d.complete("detectar_necesidades", nna_mexicana_retornada=True, **ASILO)
    assert d.variables["indicadores_proteccion_internacional"] is False
    assert d.variables["contacto_consular_bloqueado"] is False
    assert "apoyar_solicitud_asilo" not in d.ready()
    done = walk(d)
    assert "localizar_familia_mexico" in done
    assert "localizar_via_consular" not in done
    assert "apoyar_solicitud_asilo" not in done
    assert d.end_state == "fin_caso_cerrado"


def test_crime_and_health_needs_go_to_prosecutor_and_health_services():
    d = start()
    walk(d, stop="detectar_necesidades")
    d.complete(
        "detectar_necesidades",
        indicadores_delito=True,
        tipos_delito=["explotacion_laboral"],
        necesidades_salud=True,
        condiciones_salud=["embarazo"],
    )
    ready = d.ready()
    assert {
        "notificar_ministerio_publico",
        "canalizar_salud",
        "obtener_consentimiento_localizacion",
    } <= set(ready)
    assert "apoyar_solicitud_asilo" not in ready
    assert d.task("notificar_ministerio_publico").deadline_id == "notificacion_mp_delito"
    d.complete("notificar_ministerio_publico")
    assert d.task("iniciar_investigacion").lane == "FISCALIA"
    done = walk(d)
    assert {"iniciar_investigacion", "canalizar_salud"} <= set(done)
    assert d.end_state == "fin_caso_cerrado"


def test_imminent_risk_runs_urgent_measures_in_parallel_and_judge_cancels():
    d = start()
    d.complete("registrar_deteccion", **RIESGO)
    assert d.variables["riesgo_inminente"] is True
    d.complete("notificar_procuraduria")
    d.complete("emitir_acta_canalizacion")
    assert d.ready() == ["determinar_acompanamiento", "ordenar_medida_urgente"]
    d.complete("ordenar_medida_urgente")
    d.complete("decretar_medida_urgente")
    d.complete("resolver_medida_urgente", resolucion="cancelada")
    assert d.ready() == ["determinar_acompanamiento", "reevaluar_medida_urgente"]
    d.complete("reevaluar_medida_urgente", decision="sin_nueva_medida", riesgo_persiste=False)
    assert d.ready() == ["determinar_acompanamiento"]
    walk(d)
    assert d.end_state == "fin_caso_cerrado"


def test_without_imminent_risk_there_are_no_urgent_measures():
    d = start()
    done = walk(d)
    assert "ordenar_medida_urgente" not in done
    assert d.end_state == "fin_caso_cerrado"


# ------------------------------------------------------------------ boundaries of proteccion
#: The missing-child protocol's tasks, in order (protocolo_no_localizado).
PROTOCOLO = (
    "reportar_salida_colocacion",
    "denunciar_ante_mp",
    "registrar_reporte_no_localizado",
    "resultado_busqueda",
)
NO_LOCALIZADA = {"localizado": False, "acciones_busqueda_realizadas": "Alerta Amber; albergues."}
CIERRE_NO_LOCALIZADA = {"motivo": "no_localizado", "destino_nna": "no_localizada"}


def search(d: Driver, resultado: dict[str, Any] | None = None) -> None:
    """Run the missing-child protocol that a departure started, to its result."""
    for task_id in PROTOCOLO[:-1]:
        d.complete(task_id)
    d.complete("resultado_busqueda", resultado)


def search_until_closed(d: Driver) -> None:
    """Run the missing-child protocol without locating the child: weekly rounds until the
    configured search period (three months [U]) passed, then the supervisor decides to close
    (the Fiscalía's search stays open)."""
    for task_id in PROTOCOLO[:-1]:
        d.complete(task_id)
    available = datetime.fromisoformat(d.variables["nl_cierre_disponible"])
    while "decidir_cierre_no_localizada" not in d.ready():
        d.complete("resultado_busqueda", NO_LOCALIZADA)
        assert "proponer_cierre" not in d.ready()  # one round never closes the case
        if "decidir_cierre_no_localizada" not in d.ready():
            d.advance(max(available - d.now, timedelta(0)) + timedelta(seconds=1))
    d.complete("decidir_cierre_no_localizada", decision="cerrar")


def completions(d: Driver, bpmn_id: str) -> int:
    return sum(1 for e in d.events_of("task_completed") if e.data["bpmn_id"] == bpmn_id)


def judge_and_comar_pending() -> tuple[Driver, dict[str, str]]:
    """A placed child with an urgent measure awaiting the judge's ratification (24 h) and an
    asylum claim awaiting COMAR's eligibility interview: the work a departure must not stop."""
    d = start()
    d.complete("registrar_deteccion", **RIESGO)
    for task_id in (
        "notificar_procuraduria",
        "emitir_acta_canalizacion",
        "ordenar_medida_urgente",
        "decretar_medida_urgente",
    ):
        d.complete(task_id)
    walk(
        d,
        {"detectar_necesidades": ASILO},
        stop="entrevista_elegibilidad",
        keep={"resolver_medida_urgente"},
    )
    assert "resolver_medida_urgente" in d.ready()
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert completions(d, "admitir_en_cas") == 1
    pending = {t: d.task(t).task_id for t in ("resolver_medida_urgente", "entrevista_elegibilidad")}
    assert d.task("resolver_medida_urgente").lane == "JUZGADO"
    assert d.task("entrevista_elegibilidad").lane == "COMAR"
    return d, pending


def still_pending(d: Driver, pending: dict[str, str]) -> None:
    """The same task instances (same ids) are still waiting for the same authorities."""
    ready = {t.task_id for t in d.ready_tasks()}
    assert set(pending.values()) <= ready, (pending, d.ready())


def test_child_leaving_the_placement_stops_no_other_authoritys_work():
    d, pending = judge_and_comar_pending()
    before = {t.task_id for t in d.ready_tasks()}
    d.send("nna_salio_colocacion")
    # nothing that was waiting is cancelled: judge, COMAR and everyone else keep their tasks
    assert before <= {t.task_id for t in d.ready_tasks()}
    still_pending(d, pending)
    assert "reportar_salida_colocacion" in d.ready()
    assert d.task("reportar_salida_colocacion").lane == "DIF_CAS"
    assert d.variables["nna_no_localizado"] is True
    # the protocol runs alongside the judge's and COMAR's work
    for task_id in PROTOCOLO[:-1]:
        d.complete(task_id)
        still_pending(d, pending)
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True


def test_missing_child_clocks_count_from_the_recorded_departure():
    d, _pending = judge_and_comar_pending()
    left_at = d.now - timedelta(hours=1, minutes=45)  # left 1 h 45 min before it was recorded
    salida = {
        "fecha_hora_salida": left_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "circunstancias": "salida_voluntaria",
        "indicios_riesgo": False,
    }
    d.send("nna_salio_colocacion", salida)
    assert d.variables["fecha_salida_colocacion"] == salida["fecha_hora_salida"]
    report = d.task("reportar_salida_colocacion")
    assert report.deadline_id == "aviso_salida_colocacion"
    assert report.due_at == left_at + timedelta(hours=1)
    assert escalation_levels(d, "aviso_salida_colocacion") == [1, 2]  # 1 h and 1 h 30 min
    d.complete("reportar_salida_colocacion")
    assert d.task("denunciar_ante_mp").due_at == left_at + timedelta(hours=2)


def test_located_child_is_placed_again_and_protection_goes_on_where_it_was():
    d, pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    search(d)  # example: located, no imminent risk
    assert d.variables["nna_no_localizado"] is False
    still_pending(d, pending)
    # the Procuraduría places the child again through the placement flow (new protection measure)
    assert "emitir_medida_proteccion" in d.ready()
    # nothing already done is asked again: no new claim, no new urgent measure, no re-screening
    for done_once in (
        "apoyar_solicitud_asilo",
        "ordenar_medida_urgente",
        "decretar_medida_urgente",
        "determinar_acompanamiento",
        "detectar_necesidades",
    ):
        assert done_once not in d.ready(), done_once
    d.complete("emitir_medida_proteccion")
    d.complete("admitir_en_cas")
    assert completions(d, "admitir_en_cas") == 2
    still_pending(d, pending)
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    # the judge and COMAR finish their own work later, on the same tasks
    d.complete("resolver_medida_urgente")
    d.complete("entrevista_elegibilidad")
    walk(d)
    assert d.end_state == "fin_caso_cerrado"
    for once in (
        "apoyar_solicitud_asilo",
        "decretar_medida_urgente",
        "resolver_medida_urgente",
        "entrevista_elegibilidad",
        "detectar_necesidades",
    ):
        assert completions(d, once) == 1, once


def test_located_child_at_imminent_risk_gets_a_new_urgent_measure():
    d, pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    search(
        d,
        {
            **form_example(route_engine(), "resultado_busqueda.schema.json"),
            "riesgo_inminente": True,
        },
    )
    assert d.variables["riesgo_inminente"] is True
    assert {"ordenar_medida_urgente", "emitir_medida_proteccion"} <= set(d.ready())
    still_pending(d, pending)


def test_second_departure_after_being_found_starts_the_protocol_again():
    d, pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    search(d)
    d.complete("emitir_medida_proteccion")
    d.complete("admitir_en_cas")
    d.send("nna_salio_colocacion")
    assert "reportar_salida_colocacion" in d.ready()
    assert d.variables["nna_no_localizado"] is True
    still_pending(d, pending)
    search(d)
    assert d.variables["nna_no_localizado"] is False
    assert completions(d, "resultado_busqueda") == 2


def test_re_entry_after_going_missing_keeps_the_claim_and_the_consular_block():
    """A child found again with a claim pending: the claim's COMAR tasks are still there, the
    block on consular contact holds, and tracing is offered without the consular channel."""
    d, pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    search(d)
    still_pending(d, pending)
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    d.complete("emitir_medida_proteccion")
    d.complete("admitir_en_cas")
    assert d.variables["contacto_consular_bloqueado"] is True


def test_child_not_located_closes_the_case_and_keeps_the_asylum_guarantees():
    d, pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    search_until_closed(d)
    assert d.variables["nna_no_localizado"] is True
    # the search went on for the configured period and the Procuraduría decided to close:
    # protection stops and the case goes to closure (the Fiscalía's search stays open)
    assert d.ready() == ["proponer_cierre"]
    assert d.variables["busqueda_fiscalia_abierta"] is True
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    done = walk(d, {"proponer_cierre": CIERRE_NO_LOCALIZADA})
    assert d.end_state == "fin_nna_no_localizada"
    assert "resolver_medida_urgente" not in done and "entrevista_elegibilidad" not in done


def test_child_not_located_after_a_second_departure_closes_the_case():
    d = start()
    walk(d, stop="consolidar_bia")
    d.send("nna_salio_colocacion")
    search(d)
    d.complete("emitir_medida_proteccion")
    d.complete("admitir_en_cas")
    assert "consolidar_bia" in d.ready()
    d.send("nna_salio_colocacion")
    search_until_closed(d)
    done = walk(d, {"proponer_cierre": CIERRE_NO_LOCALIZADA})
    assert "proponer_cierre" in done and "consolidar_bia" not in done
    assert d.end_state == "fin_nna_no_localizada"


def test_protection_does_not_conclude_while_the_child_is_missing():
    d = start()
    walk(d, stop="seguimiento_post_reunificacion")  # the last protection task of this path
    d.send("nna_salio_colocacion")
    d.complete("seguimiento_post_reunificacion")
    # all other protection work is done, but the search is on: closure does not start
    assert d.ready() == ["reportar_salida_colocacion"]
    assert not d.completed
    search(d)
    assert d.ready() == ["emitir_medida_proteccion"]
    d.complete("emitir_medida_proteccion")
    d.complete("admitir_en_cas")
    # only now, with the child placed again, does protection conclude and closure begin
    assert d.ready() == ["proponer_cierre"]
    walk(d)
    assert d.end_state == "fin_caso_cerrado"


def test_a_departure_is_not_expected_once_protection_concluded():
    d = start()
    walk(d, stop="proponer_cierre")
    with pytest.raises(TaskNotReadyError):
        d.send("nna_salio_colocacion")


def test_turning_18_mid_route_moves_to_transition_then_closure():
    d = start(fecha_nacimiento="2008-03-10")
    walk(d, stop="detectar_necesidades")
    d.advance(datetime.fromisoformat("2026-03-10T05:59:00+00:00") - d.now)
    assert "detectar_necesidades" in d.ready()  # 23:59 of the eve in Mexico City: still a child
    d.advance(datetime.fromisoformat("2026-03-10T06:00:01+00:00") - d.now)
    assert "detectar_necesidades" not in d.ready()
    assert any(t.process_id == "transicion_vida_adulta" for t in d.ready_tasks())
    done = walk(d)
    assert "proponer_cierre" in done
    assert d.end_state == "fin_mayoria_edad"


def test_a_deadline_starts_when_the_law_says_not_when_it_is_recorded():
    """D1 counts from detection: a case opened 30 h after the child was detected starts D1 at
    the detection (a backdated start), falls due 24 h after it and is breached at once."""
    detected = start().now - timedelta(hours=30)
    d = start(fecha_deteccion=detected.isoformat())
    d.complete("registrar_deteccion")
    [d1] = [e.data for e in d.events_of("deadline_started") if e.data["plazo_id"].startswith("D1")]
    assert datetime.fromisoformat(d1["started_at"]) == detected
    assert datetime.fromisoformat(d1["armed_at"]) == d.now
    assert datetime.fromisoformat(d1["due_at"]) == detected + timedelta(hours=24)
    levels = [e.data for e in d.events_of("deadline_escalated")]
    # due 6 h ago, a level every hour: all three levels are reported at once
    assert [e["level"] for e in levels] == [1, 2, 3]
    assert {e["deadline_key"] for e in levels} == {d1["deadline_key"]}


def test_every_deadline_that_starts_stops_once_when_the_route_goes_another_way():
    """Turning 18 interrupts protection: each deadline still running then stops as cancelled,
    with why; no deadline is left without a stop, none stops twice (the deadline register)."""
    d = start(fecha_nacimiento="2008-03-10")
    walk(d, stop="consolidar_bia")  # the BIA deadline runs
    d.advance(datetime.fromisoformat("2026-03-10T06:00:01+00:00") - d.now)
    started = [e.data["deadline_key"] for e in d.events_of("deadline_started")]
    stopped = [e.data["deadline_key"] for e in d.events_of("deadline_stopped")]
    running = set(started) - set(stopped)
    assert len(stopped) == len(set(stopped))
    cancelled = [
        e.data for e in d.events_of("deadline_stopped") if e.data["outcome"] == "cancelled"
    ]
    assert [c["plazo_id"] for c in cancelled] == ["bia"]
    assert cancelled[0]["reason"].startswith("timer:")  # the 18th birthday
    # what still runs belongs to tasks that are still ready
    ready_ids = {t.task_id for t in d.ready_tasks()}
    for e in d.events_of("deadline_started"):
        if e.data["deadline_key"] in running:
            assert e.data["task_id"] in ready_ids


# ------------------------------------------------------------------ BID
def test_bid_deferred_then_approved_before_the_restitution_plan():
    d = start()
    walk(d, {"consolidar_bia": BID}, stop="compilar_informe_bid")
    assert d.variables["requiere_bid"] is True
    d.complete("compilar_informe_bid")
    d.complete("verificar_preparacion_bid")
    d.complete("convocar_panel")
    for _ in range(3):  # the panel defers, and so does the chair (the decision follows the votes)
        d.complete("votar_panel_bid", voto="diferir", informacion_solicitada="Localización")
    d.complete("registrar_decision_bid", decision="diferir", informacion_solicitada="Localización")
    assert d.variables["decision_bid"] == "diferir"
    assert d.ready() == ["compilar_informe_bid"]
    walk(d, stop="elaborar_plan_restitucion")
    assert d.variables["decision_bid"] == "aprobar"
    walk(d)
    assert d.end_state == "fin_caso_cerrado"


def test_new_information_reopens_the_bid_during_the_plan():
    d = start()
    walk(d, {"consolidar_bia": BID}, stop="elaborar_plan_restitucion")
    assert d.variables["decision_bid"] == "aprobar"
    d.send("nueva_informacion_bid")
    assert d.ready() == ["compilar_informe_bid"]
    rejected = {
        "votar_panel_bid": {"voto": "rechazar"},  # the decision follows the votes
        "registrar_decision_bid": {"decision": "rechazar"},
    }
    walk(d, rejected, stop="elaborar_plan_restitucion")
    assert d.variables["decision_bid"] == "rechazar"
    walk(d)
    assert d.end_state == "fin_caso_cerrado"


def test_no_bid_when_the_assessment_does_not_require_it():
    d = start()
    done = walk(d, stop="elaborar_plan_restitucion")
    assert d.variables["requiere_bid"] is False
    assert "compilar_informe_bid" not in done


def test_every_deadline_source_fits_the_service_column():
    # A boundary's documentation is the deadline's legal source in the task index and the
    # escalation rows (app/tables.py: Varchar(500)); PostgreSQL refuses a longer one.
    for deadline in route_engine().library.deadlines.values():
        assert 0 < len(deadline.legal_source) <= 500, deadline.boundary_id
