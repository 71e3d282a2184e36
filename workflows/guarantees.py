"""The child's legal guarantees as facts derived from what the case recorded, in one place.

The route's gates (BPMN conditions) and the app's commands read the same facts, so a command
cannot go around a gate the route enforces (issue 12). Each function reads only the forms the
case recorded (``Case.forms``: the latest submission of each task) and its variables; none of
them can be reset by a subprocess, because forms are kept per case, not per branch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any


@dataclass(frozen=True)
class Guarantee:
    """A guarantee of the law, where it is enforced and which tests show it (the table
    "Guarantees" of docs/care-route.md is generated from ``GUARANTEES``)."""

    name: str
    legal_source: str
    description: str = ""
    #: BPMN elements (``file: element ids``) and code that enforce it
    enforced_in: tuple[str, ...] = ()
    #: tests (``path::function``): the route's path and, where a command could bypass it, the API
    tests: tuple[str, ...] = ()


#: No admission to a shelter (CAS) without a protection measure: residential care is itself a
#: special protection measure (LGDNNA art. 26 fr. V); admission is an urgent one the MP decrees or
#: the Procuraduría orders (art. 122 fr. VI a) and VII); the DIF's convenio requires the measure.
MEDIDA_ANTES_DEL_INGRESO = Guarantee(
    "medida_de_proteccion_antes_del_ingreso",
    "LGDNNA art. 26 fr. V y art. 122 fr. VI inciso a) y fr. VII; convenio SNDIF-SEDIF (2021): "
    "ingreso a un centro de asistencia social solo con medida de protección",
    "Ningún ingreso a un CAS sin medida de protección (la de la Procuraduría o una medida urgente).",
    (
        "colocacion.bpmn: emitir_medida_proteccion → col_gw_opcion → col_gw_admision → admitir_en_cas",
        "app/cases/placement.py admit() with workflows/guarantees.py protection_measure() "
        "(the route's admission and POST /api/v1/placements alike)",
    ),
    (
        "tests/route/test_colocacion.py::test_no_shelter_admission_before_the_protection_measure",
        "tests/app/test_placements.py::"
        "test_no_admission_without_a_protection_measure_through_the_api_either",
    ),
)

#: Where the child lives is part of the protection measure the Procuraduría coordinates.
TRASLADO_POR_LA_PROCURADURIA = Guarantee(
    "traslado_ordenado_por_la_procuraduria",
    "LGDNNA art. 122 fr. III: la Procuraduría coordina la ejecución y da seguimiento a las medidas "
    "de protección",
    "Un albergue no traslada a la NNA a otro por su cuenta: el traslado lo ordena la Procuraduría.",
    ("app/services/placements.py transfer() (403 for anyone but the Procuraduría)",),
    (
        "tests/app/test_placements.py::test_only_the_procuraduria_transfers_a_child",
        "tests/web/test_pages.py::test_shelter_transfer_discharge_and_left_forms",
    ),
)

#: No consular tracing while a claim is pending or protection was recognised (non-refoulement,
#: confidentiality of the claim).
SIN_CONTACTO_CONSULAR = Guarantee(
    "sin_contacto_consular_con_solicitud_de_refugio",
    "LRPCAP art. 5 fr. I y art. 6 (no devolución) y art. 10 (confidencialidad de la información "
    "de solicitantes y refugiados)",
    "Sin búsqueda por la vía consular mientras haya solicitud de refugio en trámite o protección "
    "reconocida.",
    (
        "localizacion_reunificacion.bpmn: gw_lf_canales (f_gw_lf_canales_localizar_via_consular)",
        "referencia_comar.bpmn: the scripts that set caso.contacto_consular_bloqueado; "
        "ruta_proteccion_nna.bpmn: prot_marcar_necesidades (a screening keeps the block while a "
        "claim is pending or protection was recognised)",
        "app/access_rules.py (the consulate loses access to the case)",
        "ruta_proteccion_nna.bpmn: ruta_clasificar_deteccion (INM recorded fear of return), "
        "prot_vigilancia_temor (vt_registrar_temor: a late report blocks at once; "
        "vt_avisar_bloqueo_consular); prot_marcar_necesidades never lowers a block",
        "localizacion_reunificacion.bpmn: lf_bloqueo_consular (consular tracing under way stops)",
        "app/services/late_reports.py report_fear_of_return (POST "
        "/api/v1/cases/{folio}/fear-of-return)",
    ),
    (
        "tests/route/test_localizacion.py::test_pending_claim_blocks_the_consular_channel",
        "tests/route/test_main_route.py::"
        "test_re_entry_after_going_missing_keeps_the_claim_and_the_consular_block",
        "tests/route/test_late_paths.py::test_late_fear_of_return_stops_consular_tracing_under_way",
        "tests/route/test_late_paths.py::"
        "test_a_screening_after_a_late_report_starts_no_second_referral_nor_lowers_the_block",
        "tests/app/test_access_rules.py",
        "tests/app/test_late_reports.py::"
        "test_consular_tracing_stops_and_the_consulate_loses_the_case_after_a_late_report",
    ),
)

#: Return only when the plan finds it in the child's best interest and no claim is pending.
RETORNO_SOLO_EN_INTERES_SUPERIOR = Guarantee(
    "retorno_solo_en_interes_superior",
    "LM art. 112 fr. III; RLM art. 169; LRPCAP art. 6 (no devolución)",
    "El retorno asistido solo procede si el plan lo encuentra en su interés superior, sin "
    "solicitud en trámite ni protección reconocida.",
    (
        "solucion_duradera.bpmn: gw_sd_retorno_permitido (f_gw_sd_retorno_permitido_llamar_retorno_asistido)",
        "a return already under way when fear of return is recorded: forms "
        "informar_nna_retorno.proceder_retorno, coordinar_autoridad_origen.retorno_viable, "
        "acompanar_retorno.entrega_realizada x-solo-si caso.asilo_pendiente, "
        "caso.contacto_consular_bloqueado (the route and the API's completion alike)",
    ),
    (
        "tests/route/test_solucion_duradera.py::test_blocked_return_never_starts_and_is_reviewed",
        "tests/route/test_solucion_duradera.py::"
        "test_return_still_blocked_if_review_picks_it_again_with_claim_pending",
        "tests/route/test_late_paths.py::test_late_fear_of_return_refuses_a_return_under_way",
        "tests/app/test_late_reports.py::test_a_return_under_way_is_refused_after_a_late_report",
    ),
)

#: No leaving Mexico (reunification in a third country, resettlement) while COMAR has not decided.
SIN_SALIDA_CON_SOLICITUD_EN_TRAMITE = Guarantee(
    "sin_salida_del_pais_con_solicitud_en_tramite",
    "LRPCAP art. 5 fr. I y art. 6 (no devolución)",
    "Mientras su solicitud de refugio esté en trámite, la NNA no sale de México por reunificación "
    "en un tercer país ni por reasentamiento: la solución se revisa.",
    (
        "solucion_duradera.bpmn: gw_sd_lugar (f_gw_sd_lugar_gw_sd_revisar), "
        "gw_sd_bid (f_gw_sd_bid_coordinar_reasentamiento_acnur)",
    ),
    (
        "tests/route/test_solucion_duradera.py::"
        "test_no_reunification_abroad_while_the_asylum_claim_is_pending",
        "tests/route/test_solucion_duradera.py::test_no_resettlement_while_the_asylum_claim_is_pending",
    ),
)

#: INM may not resolve the migration procedure with a return while a claim is pending.
SIN_RETORNO_EN_EL_PAM = Guarantee(
    "sin_resolucion_de_retorno_con_solicitud_en_tramite",
    "LRPCAP art. 5 fr. I y art. 6 (no devolución); LM art. 112 fr. III",
    "El INM no resuelve el procedimiento migratorio con un retorno asistido mientras haya "
    "solicitud de refugio en trámite o protección reconocida.",
    (
        "forms/resolver_pam_conforme_plan.schema.json: resolucion x-solo-si "
        "caso.asilo_pendiente, caso.estatus_proteccion, caso.contacto_consular_bloqueado (fear "
        "of return recorded, even before a claim is filed); plan_restitucion.bpmn: "
        "resolver_pam_conforme_plan",
    ),
    (
        "tests/route/test_plan_restitucion.py::"
        "test_inm_cannot_decide_a_return_while_a_claim_is_pending_or_protection_was_recognised",
    ),
)

#: Closing a case ends the stay in a shelter with a recorded destination.
DESTINO_AL_CIERRE = Guarantee(
    "destino_registrado_al_cierre",
    "LGDNNA art. 26 fr. V (acogimiento residencial el menor tiempo posible) y art. 122 fr. III "
    "(seguimiento de las medidas de protección)",
    "Al cerrar el caso, la colocación que termina registra con quién o dónde queda la NNA.",
    (
        "forms/proponer_cierre.schema.json: destino_nna (required), destino_detalle",
        "app/cases/handlers/closure.py discharge_on_close (the placement's end_reason and audit)",
    ),
    (
        "tests/route/test_main_route.py::test_a_closure_says_where_the_child_goes",
        "tests/app/test_route_http.py::test_whole_route_through_http",
    ),
)

#: Residency as a refugee only with that status.
RESIDENCIA_POR_REFUGIO = Guarantee(
    "residencia_por_refugio_solo_con_estatus",
    "LM art. 54 fr. I: residencia permanente por reconocimiento de la condición de refugiado o "
    "protección complementaria",
    "La residencia permanente por refugio o protección complementaria solo se registra si la "
    "COMAR reconoció esa condición.",
    (
        "forms/regularizar_estancia.schema.json: via_regularizacion x-solo-si "
        "caso.estatus_proteccion (workflows/forms.py, checked before anything is recorded)",
    ),
    ("tests/route/test_solucion_duradera.py::test_refugee_based_residency_only_with_that_status",),
)

#: A withdrawal lifts the consular block: only with the child's representative present.
DESISTIMIENTO_CON_REPRESENTANTE = Guarantee(
    "desistimiento_con_representante",
    "LGDNNA art. 122 fr. II: representación en suplencia o coadyuvante en los procedimientos "
    "administrativos",
    "La COMAR registra el desistimiento de la NNA solo con su representante presente (desistir "
    "levanta el bloqueo del contacto consular).",
    (
        "forms/entrevista_elegibilidad.schema.json: desistimiento x-solo-si "
        "representante_presente; referencia_comar.bpmn: gw_rc_desiste → registrar_desistimiento",
    ),
    (
        "tests/route/test_referencia_comar.py::test_no_withdrawal_without_the_child_s_representative",
        "tests/app/test_access_rules.py",
    ),
)

#: Families stay together.
UNIDAD_FAMILIAR = Guarantee(
    "unidad_familiar",
    "LM art. 99, último párrafo; LGDNNA art. 26 fr. I (vivir en familia)",
    "Una familia acompañada se aloja junta y no se separa para canalizar a la NNA.",
    ("colocacion.bpmn: col_gw_familia → alojar_familia_junta",),
    (
        "tests/route/test_colocacion.py::test_accompanied_family_is_accommodated_together",
        "tests/route/test_main_route.py::test_accompanied_family_stays_together_and_is_not_traced",
    ),
)

#: The BID panel binds (issue 12, item 3): its rules run in the engine before a form is recorded
#: (workflows/panel_bid.py), so the API's completion goes through them too (422 naming the field).
_BIP = "ACNUR, Directrices sobre el Procedimiento de Interés Superior (BIP) 2021"
PANEL_BID_INTEGRADO = Guarantee(
    "panel_bid_integrado",
    f"{_BIP}, parte II (panel BID) [U]: los números son configuración (config/panel_bid.toml)",
    "El panel BID sesiona con al menos `miembros_minimo` integrantes sin conflicto de interés (3), "
    "una sola presidencia, cada integrante un usuario distinto con la autoridad que representa, y "
    "un quórum entre `quorum_minimo` (3) y quienes votan.",
    (
        "panel_bid.bpmn: convocar_panel, bid_preparar_votacion, bid_votacion (quorum_bid), "
        "bid_registrar_voto",
        "workflows/panel_bid.py _convocar_panel, run by Case.complete_task before anything is "
        "written (422 naming $.data.miembros / $.data.quorum)",
    ),
    (
        "tests/route/test_panel_bid.py::test_a_panel_below_the_configured_minimum_is_refused",
        "tests/route/test_panel_bid.py::test_panel_needs_one_chair_and_distinct_identified_members",
        "tests/route/test_panel_bid.py::test_each_vote_keeps_its_member_and_authority",
        "tests/app/test_bid_guarantees.py",
    ),
)
DECISION_SIGUE_VOTOS = Guarantee(
    "decision_bid_sigue_votos",
    f"{_BIP}, parte II (registro de la decisión: razones, disenso) [U]",
    "La decisión de la presidencia sigue la opción con más de la mitad de los votos; si se aparta "
    "de ella, o no hay mayoría, registra sus razones; el disenso se conserva.",
    (
        "panel_bid.bpmn: bid_contar_votos, registrar_decision_bid, bid_marcar_decision",
        "workflows/panel_bid.py _registrar_decision",
    ),
    (
        "tests/route/test_panel_bid.py::"
        "test_chair_who_departs_from_the_votes_records_reasons_and_the_dissent_is_kept",
        "tests/route/test_panel_bid.py::test_without_a_majority_the_chair_decides_with_reasons",
        "tests/app/test_bid_guarantees.py",
    ),
)
PLAN_NO_CONTRADICE_BID = Guarantee(
    "plan_no_contradice_bid",
    "LGDNNA art. 123 fr. IV (el plan se elabora bajo el principio del interés superior); "
    f"LM art. 112 fr. III; {_BIP}",
    "Tras una BID, el plan de restitución ordena un retorno solo si la BID aprobó una "
    "recomendación de retorno asistido.",
    (
        "panel_bid.bpmn: bid_marcar_decision (retorno_admitido_bid); "
        "plan_restitucion.bpmn: elaborar_plan_restitucion",
        "workflows/panel_bid.py _elaborar_plan",
    ),
    (
        "tests/route/test_plan_restitucion.py::test_plan_cannot_order_a_return_the_bid_rejected",
        "tests/route/test_plan_restitucion.py::test_plan_may_order_a_return_the_bid_approved",
        "tests/app/test_bid_guarantees.py",
    ),
)
REVISION_BID = Guarantee(
    "revision_bid",
    f"{_BIP} (revisión y reconsideración) [U]; LGDNNA art. 123 fr. IV",
    "La NNA, sus cuidadores o su representante pueden pedir una vez, con motivos, que la decisión "
    "se revise: un panel nuevo, presidido por otra persona; la reconsideración por información "
    "nueva es POST /api/v1/cases/{folio}/bid-reconsideration.",
    (
        "panel_bid.bpmn: informar_nna_decision (solicita_revision, x-una-sola-vez), "
        "bid_gw_revision → bid_gw_convocar, bid_marcar_decision (presidencia_bid)",
    ),
    (
        "tests/route/test_panel_bid.py::"
        "test_the_decision_can_be_reviewed_once_by_a_panel_chaired_by_someone_else",
    ),
)
HECHOS_BID_EN_UN_LUGAR = Guarantee(
    "hechos_bid_en_un_lugar",
    "Issue 12: cada garantía se deriva en un solo lugar",
    "decision_bid, mayoria_bid, unanimidad_bid, votos_bid, retorno_admitido_bid y presidencia_bid "
    "los marca solo panel_bid: ningún otro subproceso los restablece.",
    ("panel_bid.bpmn: bid_contar_votos, bid_marcar_decision",),
    ("tests/route/test_panel_bid.py::test_only_the_bid_panel_marks_the_bid_facts",),
)
# ------------------------------------------------------------------ age (issue 12, item 2)
_EDAD = "tests/route/test_edad.py::"

#: Doubt about majority: presumed an adolescent, protected, no majority date, until assessed.
PRESUNCION_MINORIA_EDAD = Guarantee(
    "presuncion_de_minoria_de_edad",
    "LGDNNA art. 5, segundo párrafo: «Cuando exista la duda de si se trata de una persona mayor "
    "de dieciocho años de edad, se presumirá que es adolescente»",
    "Ante la duda sobre la mayoría de edad se presume adolescente: sigue protegida, sin fecha de "
    "mayoría de edad, hasta que la determinación de la edad decida.",
    (
        "ruta_proteccion_nna.bpmn: ruta_gw_duda_edad, ruta_presumir_minoria_edad, "
        "ve_gw_presuncion, ve_esperar_mayoria_edad, ve_esperar_planeacion",
        "workflows/guarantees.py majority_instant() (no date while presumed), read by "
        "fecha_mayoria_edad() in workflows/expressions.py",
    ),
    (
        _EDAD + "test_age_doubt_keeps_protection_until_the_assessment_decides",
        _EDAD + "test_majority_date_from_birth_estimate_or_presumption",
    ),
)

#: Only a multidisciplinary assessment, with the child, and the benefit of the doubt, decides.
DETERMINACION_DE_EDAD = Guarantee(
    "determinacion_de_edad_con_beneficio_de_la_duda",
    "LGDNNA art. 5; procedimiento [sin confirmar]: Observación General conjunta núm. 4 (CMW) y "
    "núm. 23 (CRC), párr. 4",
    "Solo una determinación multidisciplinaria (dos disciplinas o más), con la persona informada "
    "y escuchada, termina la presunción; se toma la edad mínima del rango y solo es mayor de edad "
    "si esa edad es de 18 o más.",
    (
        "ruta_proteccion_nna.bpmn: determinar_edad, ve_registrar_edad, ve_gw_resultado, "
        "ve_edad_adulta → ruta_edad_adulta_determinada → ruta_llamar_cierre_edad_adulta",
        "forms/determinar_edad.schema.json: equipo (minItems 2), nna_informada (const true), "
        "opinion_nna, resultado mayor_de_edad only with edad_minima >= 18",
    ),
    (
        _EDAD + "test_the_assessment_gives_the_benefit_of_the_doubt",
        _EDAD + "test_a_child_by_assessment_gets_a_majority_date_from_the_lowest_age",
    ),
)

#: Majority at 00:00 local time; a provisional date from an estimated age.
FECHA_DE_MAYORIA = Guarantee(
    "fecha_de_mayoria_de_edad",
    "LGDNNA art. 5, primer párrafo: adolescentes, las personas de entre doce años cumplidos y "
    "menos de dieciocho; Ruta de Protección Integral, etapa 5",
    "La protección como NNA termina a las 00:00 (hora local) del día en que cumple 18 años; sin "
    "fecha de nacimiento, en la fecha provisional de la edad estimada (beneficio de la duda).",
    (
        "workflows/guarantees.py majority_instant()",
        "ruta_proteccion_nna.bpmn: ve_esperar_mayoria_edad, ve_marcar_mayoria_edad, "
        "ve_mayoria_edad → ruta_cumple_mayoria_edad → ruta_llamar_transicion_vida_adulta; "
        "ruta_gw_mayoria",
    ),
    (
        _EDAD + "test_estimated_age_17_gives_a_provisional_majority_date_and_the_case_moves_on",
        "tests/route/test_main_route.py::test_turning_18_mid_route_moves_to_transition_then_closure",
    ),
)

#: Planning for adult life from six months before 18, alongside protection.
PLANEACION_VIDA_ADULTA = Guarantee(
    "planeacion_de_la_vida_adulta_antes_de_los_18",
    "Ruta de Protección Integral, etapa 5; seis meses: procedimiento local [sin confirmar], "
    "config/plazos.toml plan_transicion",
    "La planeación de la vida adulta se abre seis meses antes de la fecha de mayoría de edad, sin "
    "interrumpir la protección y con su plazo; a los 18 años no se pide otra vez el plan.",
    (
        "ruta_proteccion_nna.bpmn: ve_esperar_planeacion (fecha_inicio_transicion()), "
        "ve_llamar_planeacion",
        "transicion_vida_adulta.bpmn: tv_gw_plan, elaborar_plan_transicion, "
        "tv_plazo_plan_transicion, tv_gw_mayoria",
    ),
    (
        _EDAD
        + "test_transition_planning_starts_six_months_before_18_without_interrupting_protection",
        "tests/route/test_transicion.py::test_before_18_only_the_plan_is_drafted_with_its_deadline",
    ),
)

#: A claim pending at 18 stays tracked.
SOLICITUD_TRAS_LA_MAYORIA = Guarantee(
    "solicitud_de_refugio_sigue_tras_los_18",
    "LRPCAP art. 24 (la COMAR resuelve en 45 días hábiles): el procedimiento no termina con la "
    "mayoría de edad; la protección mientras tanto [pendiente de revisión]",
    "Una solicitud ante la COMAR en trámite a los 18 años sigue en el caso (mismas tareas, plazos "
    "y autoridad) hasta resolverse; la protección termina al día siguiente y sigue la transición.",
    (
        "ruta_proteccion_nna.bpmn: ve_gw_asilo (caso.asilo_pendiente), "
        "ve_esperar_resolucion_asilo (daily), ruta_gw_mayoria",
        "transicion_vida_adulta.bpmn: tv_gw_mayoria (no hand-over while the claim is pending)",
    ),
    (
        _EDAD + "test_a_pending_comar_claim_keeps_being_tracked_after_18",
        _EDAD + "test_protection_stops_the_day_after_a_claim_pending_at_18_is_resolved",
    ),
)

#: The age facts are marked by the main route's age elements alone.
HECHOS_DE_EDAD = Guarantee(
    "hechos_de_edad_en_un_lugar",
    "LGDNNA art. 5 (issue 12: one derivation per guarantee)",
    "presuncion_minoria_edad, fecha_nacimiento (tras la detección), edad_estimada, "
    "fecha_estimacion_edad y mayoria_edad_cumplida solo los marca la ruta principal: ningún "
    "subproceso los restablece.",
    (
        "ruta_proteccion_nna.bpmn: ruta_presumir_minoria_edad, ruta_edad_sin_duda, "
        "ve_registrar_edad, ve_marcar_mayoria_edad",
    ),
    (_EDAD + "test_only_the_route_derives_the_age_facts",),
)

AGE_GUARANTEES: tuple[Guarantee, ...] = (
    PRESUNCION_MINORIA_EDAD,
    DETERMINACION_DE_EDAD,
    FECHA_DE_MAYORIA,
    PLANEACION_VIDA_ADULTA,
    SOLICITUD_TRAS_LA_MAYORIA,
    HECHOS_DE_EDAD,
)


#: Spanish, as officers write it in the opening form's free-text ``idioma``.
_ESPANOL = {"espanol", "español", "castellano", "es", "spa", "spanish"}


def requires_interpreter(idioma: Any) -> bool | None:
    """Whether the child needs an interpreter: any language recorded at opening that is not
    Spanish (``None`` when no language was recorded)."""
    if not isinstance(idioma, str) or not idioma.strip():
        return None
    return idioma.strip().lower() not in _ESPANOL


#: Heard in a language the child understands.
INTERPRETE = Guarantee(
    "interprete_en_lengua_de_la_nna",
    "LGDNNA art. 71 (derecho a ser escuchados) y art. 92 fr. IV y V (procesos migratorios: ser "
    "escuchado; ser asistido gratuitamente por un traductor y/o intérprete)",
    "Si la NNA no habla español, entrevistas, valoraciones y la información que se le da se "
    "registran con intérprete, en su lengua.",
    (
        "workflows/engine.py start_case (caso.requiere_interprete from inicio_caso.idioma, "
        "workflows/guarantees.py requires_interpreter)",
        "forms: entrevista_elegibilidad, entrevista_juridica, opinion_nna, valoracion_psicologica, "
        "informar_nna_decision, informar_nna_retorno: interprete_utilizado x-solo-si",
    ),
    (
        "tests/route/test_main_route.py::"
        "test_a_child_who_does_not_speak_spanish_is_heard_with_an_interpreter",
    ),
)

# ------------------------------------------------------------------ late paths (issue 12, item 5)
_LATE = "tests/route/test_late_paths.py::"
_LATE_API = "tests/app/test_late_reports.py::"

#: Imminent risk may appear at any moment of protection, not only at detection.
MEDIDAS_URGENTES_EN_TODO_MOMENTO = Guarantee(
    "medidas_urgentes_ante_riesgo_inminente_en_todo_momento",
    "LGDNNA art. 12: quien conozca la violación de derechos de una NNA debe «hacerlo del "
    "conocimiento inmediato de las autoridades competentes»; art. 122 fr. VI (solicitud al MP, "
    "que decreta en 3 horas) y fr. VII (orden de la Procuraduría) «cuando exista un riesgo "
    "inminente contra la vida, integridad o libertad»",
    "Un riesgo inminente que aparece en cualquier momento de la protección abre medidas "
    "urgentes: de inmediato si lo reporta la Procuraduría; si lo reporta otra autoridad con "
    "acceso al caso, llega a la bandeja de la Procuraduría, que lo valora con un plazo contado "
    "desde el reporte. Cada reporte abre su propia atención; el resto de la ruta sigue.",
    (
        "ruta_proteccion_nna.bpmn: prot_vigilancia_riesgo (vr_esperar_reporte, vr_gw_quien, "
        "valorar_reporte_riesgo_inminente, vr_plazo_valoracion, vr_registrar_riesgo, "
        "vr_llamar_medidas_urgentes)",
        "app/services/late_reports.py report_imminent_risk (POST "
        "/api/v1/cases/{folio}/imminent-risk, the case page)",
    ),
    (
        _LATE
        + "test_imminent_risk_reported_late_by_the_procuraduria_starts_urgent_measures_at_once",
        _LATE + "test_a_shelter_s_report_reaches_the_procuraduria_with_a_deadline_from_the_report",
        _LATE + "test_each_late_report_starts_its_own_run_and_protection_waits_for_them",
        _LATE_API + "test_a_shelter_reports_imminent_risk_and_the_procuraduria_gets_the_assessment",
        _LATE_API + "test_the_procuraduria_s_report_starts_urgent_measures_at_once",
    ),
)

#: The authority that learns of the wish to apply for asylum tells COMAR, whenever it learns.
REFERENCIA_COMAR_AL_CONOCER_LA_PRETENSION = Guarantee(
    "referencia_comar_al_conocer_la_pretension",
    "LRPCAP art. 21, tercer párrafo: «Cualquier autoridad que tenga conocimiento de la "
    "pretensión de un extranjero de solicitar el reconocimiento de la condición de refugiado, "
    "deberá dar aviso por escrito y de manera inmediata a la Secretaría»; art. 18 (la solicitud "
    "se presenta en 30 días hábiles desde el ingreso o desde que fue materialmente posible)",
    "El temor de retorno o el deseo de solicitar refugio, registrado en cualquier momento de la "
    "protección por una autoridad con acceso al caso (Procuraduría, CAS, INM, COMAR, "
    "defensoría...), bloquea el contacto consular en ese momento y abre la referencia a la COMAR "
    "si no hay una en curso ni una solicitud en trámite o resuelta; un segundo registro queda "
    "registrado sin abrir otra. El temor que el INM registró en la detección también la abre.",
    (
        "ruta_proteccion_nna.bpmn: prot_vigilancia_temor (vt_esperar_reporte, "
        "vt_registrar_temor, vt_gw_referencia, vt_abrir_referencia, vt_llamar_referencia_comar, "
        "vt_cerrar_referencia); prot_gw_asilo (f_prot_gw_asilo_prot_abrir_referencia_comar: "
        "caso.temor_retorno, caso.referencia_comar_en_curso)",
        "workflows/guarantees.py comar_referral_refused() (the same condition, read by the app)",
        "app/services/late_reports.py report_fear_of_return (POST "
        "/api/v1/cases/{folio}/fear-of-return, the case page)",
    ),
    (
        _LATE + "test_fear_of_return_recorded_late_blocks_consular_contact_and_starts_the_referral",
        _LATE
        + "test_a_second_report_starts_no_second_referral_while_one_runs_or_a_claim_is_pending",
        _LATE + "test_a_new_wish_to_apply_after_a_referral_without_a_claim_starts_a_new_referral",
        _LATE_API
        + "test_fear_of_return_reported_late_starts_one_referral_and_blocks_the_consulate",
        _LATE_API + "test_concurrent_fear_of_return_reports_start_one_referral",
    ),
)

#: Accompaniment (RLM art. 170) is never established with the consulate once fear is recorded.
SIN_INFORMACION_CONSULAR_EN_ACOMPANAMIENTO = Guarantee(
    "sin_informacion_consular_con_temor_de_retorno",
    "LRPCAP art. 21, cuarto párrafo (ninguna autoridad puede proporcionar información o "
    "notificar a las autoridades consulares del país de origen del solicitante), arts. 5 fr. I "
    "y 6 (no devolución) y art. 10 (confidencialidad); RLM art. 170 (la información consular es "
    "solo uno de los elementos para determinar el acompañamiento)",
    "Si el INM registró temor de retorno, se registró después el deseo de solicitar refugio o "
    "hay una solicitud en trámite, la información consular no se usa para determinar la "
    "situación de acompañamiento.",
    (
        "ruta_proteccion_nna.bpmn: ruta_clasificar_deteccion (caso.contacto_consular_bloqueado "
        "from INM's temor_retorno), vt_registrar_temor; determinar_acompanamiento",
        "forms/determinar_acompanamiento.schema.json: evidencias x-solo-si informacion_consular "
        "(caso.contacto_consular_bloqueado, caso.asilo_pendiente; workflows/forms.py, checked "
        "for each item chosen before anything is written: 422 naming $.data.evidencias)",
    ),
    (
        _LATE + "test_inm_recorded_fear_of_return_blocks_consular_information_for_accompaniment",
        _LATE + "test_consular_information_is_refused_after_a_late_report_and_accepted_without_one",
        _LATE_API + "test_consular_information_for_accompaniment_is_refused_through_the_api",
    ),
)


def comar_referral_refused(variables: Mapping[str, Any]) -> str | None:
    """Why a fear of return recorded now starts no COMAR referral, or None when it starts one.

    The same condition as the route's gateways ``vt_gw_referencia`` and ``prot_gw_asilo``: one
    referral at a time, none while a claim is pending or once COMAR decided, never for a
    Mexican child (refugee status is for foreigners, LRPCAP art. 13)."""
    if variables.get("nacionalidad_mexicana"):
        return "mexican_child"
    if variables.get("asilo_pendiente"):
        return "claim_pending"
    if variables.get("estatus_proteccion") is not None:
        return "claim_decided"
    if variables.get("referencia_comar_en_curso"):
        return "referral_under_way"  # not filed yet: the Procuraduría is helping to file it
    return None


#: Every guarantee the route and the app enforce, in the order docs/care-route.md lists them.
GUARANTEES: tuple[Guarantee, ...] = (
    UNIDAD_FAMILIAR,
    MEDIDA_ANTES_DEL_INGRESO,
    TRASLADO_POR_LA_PROCURADURIA,
    SIN_CONTACTO_CONSULAR,
    SIN_INFORMACION_CONSULAR_EN_ACOMPANAMIENTO,
    REFERENCIA_COMAR_AL_CONOCER_LA_PRETENSION,
    MEDIDAS_URGENTES_EN_TODO_MOMENTO,
    RETORNO_SOLO_EN_INTERES_SUPERIOR,
    SIN_SALIDA_CON_SOLICITUD_EN_TRAMITE,
    SIN_RETORNO_EN_EL_PAM,
    DESISTIMIENTO_CON_REPRESENTANTE,
    RESIDENCIA_POR_REFUGIO,
    DESTINO_AL_CIERRE,
    INTERPRETE,
    PANEL_BID_INTEGRADO,
    DECISION_SIGUE_VOTOS,
    PLAN_NO_CONTRADICE_BID,
    REVISION_BID,
    HECHOS_BID_EN_UN_LUGAR,
    *AGE_GUARANTEES,
)


def protection_measure(forms: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Which protection measure the case has, if any: the Procuraduría's measure
    (``emitir_medida_proteccion``), an urgent measure decreed by the MP, or one the Procuraduría
    ordered itself (LGDNNA art. 122 fr. VII)."""
    if forms.get("emitir_medida_proteccion"):
        return "medida_proteccion"
    decree = forms.get("decretar_medida_urgente") or {}
    if decree.get("decision") == "decretada":
        return "medida_urgente_decretada"
    order = forms.get("ordenar_medida_urgente") or {}
    if order.get("via") == "orden_directa":
        return "medida_urgente_ordenada"
    return None


def _estimate_day(
    variables: Mapping[str, Any], zone: tzinfo, clock: Callable[[], datetime]
) -> date:
    """The day an estimated age was given: the age assessment's day, else detection (local
    day), else today."""
    text = variables.get("fecha_estimacion_edad") or variables.get("fecha_deteccion")
    if not text:
        return clock().astimezone(zone).date()
    text = str(text)
    if len(text) == 10:
        return date.fromisoformat(text)
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(zone).date()


def majority_instant(
    variables: Mapping[str, Any],
    forms: Mapping[str, Mapping[str, Any]],
    zone: tzinfo,
    clock: Callable[[], datetime],
) -> datetime | None:
    """When the child reaches majority: 00:00 local time (``zone``) of the 18th birthday.

    ``clock`` gives today only when an estimated age has no day of its own (neither an age
    assessment nor a detection date).

    - Presumed a child (LGDNNA art. 5, doubt about majority): None until an age assessment
      decides, so protection never ends on a birth date in doubt.
    - A date of birth: its 18th anniversary.
    - Only an estimated age (``edad_estimada``, else the opening form's): a provisional date,
      with the benefit of the doubt (the child turned that age on the day of the estimate):
      that day plus (18 - age) years.
    - Neither: None.
    """
    if variables.get("presuncion_minoria_edad") is True:
        return None
    born = variables.get("fecha_nacimiento")
    if born:
        day, years = date.fromisoformat(str(born)[:10]), 18
    else:
        age = variables.get("edad_estimada")
        if age is None:
            age = (forms.get("inicio_caso") or {}).get("edad_estimada")
        if not isinstance(age, int) or isinstance(age, bool):
            return None
        day, years = _estimate_day(variables, zone, clock), max(18 - age, 0)
    try:
        birthday = day.replace(year=day.year + years)
    except ValueError:  # born on 29 February
        birthday = day.replace(year=day.year + years, day=28) + timedelta(days=1)
    # Majority begins at 00:00 of the 18th birthday in the child's local time (central Mexico),
    # not at midnight UTC (18:00 of the eve in Mexico City).
    return datetime(birthday.year, birthday.month, birthday.day, tzinfo=zone)
