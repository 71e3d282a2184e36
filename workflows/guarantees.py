"""The child's legal guarantees as facts derived from what the case recorded, in one place.

The route's gates (BPMN conditions) and the app's commands read the same facts, so a command
cannot go around a gate the route enforces (issue 12). Each function reads only the forms the
case recorded (``Case.forms``: the latest submission of each task) and its variables; none of
them can be reset by a subprocess, because forms are kept per case, not per branch.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
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

#: Closing a case, or discharging a child, ends the placement with a recorded destination.
DESTINO_AL_CIERRE = Guarantee(
    "destino_registrado_al_cierre",
    "LGDNNA art. 26 fr. V (acogimiento residencial el menor tiempo posible) y art. 122 fr. III "
    "(seguimiento de las medidas de protección)",
    "Al cerrar el caso o registrar el egreso, la colocación que termina (un CAS o un cuidado "
    "familiar) registra con quién o dónde queda la NNA.",
    (
        "forms/proponer_cierre.schema.json: destino_nna (required), destino_detalle",
        "app/cases/handlers/closure.py discharge_on_close (the placement's destino, end_reason "
        "and audit)",
        "app/services/placements.py discharge (destino required: 400 naming $.destino)",
    ),
    (
        "tests/route/test_main_route.py::test_a_closure_says_where_the_child_goes",
        "tests/app/test_route_http.py::test_whole_route_through_http",
        "tests/app/test_placements.py::test_a_discharge_records_where_the_child_goes",
    ),
)

# ------------------------------------------------- missing child and family care (issue 12, item 5)
_NL = "tests/route/test_no_localizado.py::"
_ACOGIDA = "tests/route/test_acogimiento_no_localizada.py::"
_PLACEMENTS_API = "tests/app/test_placements.py::"

#: A missing child is searched for in rounds; the protection case closes as not located only
#: after the configured search period and the supervisor's decision, never on one result.
CIERRE_NO_LOCALIZADA = Guarantee(
    "cierre_por_no_localizacion_tras_la_busqueda",
    "LGMDFP art. 7 (búsqueda de NNA «de manera inmediata y diferenciada»), art. 81 (reporte en "
    "todo momento) y art. 89 (la búsqueda inicia de inmediato); periodo antes de decidir el "
    "cierre y periodicidad de las rondas: procedimiento operativo local [sin confirmar], "
    "config/plazos.toml periodo_cierre_no_localizada y ronda_busqueda_no_localizada",
    "Un resultado «no localizada» no cierra el caso: la búsqueda sigue en rondas, cada una con "
    "su plazo. Solo cumplido el periodo configurado sin localizarla, la supervisión de la "
    "Procuraduría decide cerrar como no localizada (la carpeta y la búsqueda de la Fiscalía "
    "siguen abiertas, y el caso lo registra) o seguir buscando. Proponer el cierre con motivo "
    "«no localizada» sin esa decisión, o con destino «no localizada» de una NNA que no lo está, "
    "se rechaza (409). Si se la localiza en cualquier ronda, la ruta la coloca de nuevo con sus "
    "garantías.",
    (
        "protocolo_no_localizado.bpmn: nl_iniciar_busqueda, gw_nl_ronda, resultado_busqueda "
        "(plazo_ronda_busqueda, nl_periodo_busqueda), gw_nl_periodo, nl_siguiente_ronda, "
        "decidir_cierre_no_localizada, nl_registrar_decision, gw_nl_decision",
        "forms/proponer_cierre.schema.json: motivo no_localizado x-solo-si "
        "caso.cierre_no_localizada_decidido, destino_nna no_localizada x-solo-si "
        "caso.nna_no_localizado (workflows/forms.py, before anything is written: 409 through the "
        "API)",
    ),
    (
        _NL + "test_not_located_in_the_first_round_stays_open_and_gets_a_next_round",
        _NL + "test_after_the_configured_period_the_closure_decision_appears",
        _NL + "test_keep_searching_counts_a_new_period",
        _ACOGIDA + "test_kinship_care_with_a_missing_child",
        _ACOGIDA + "test_closing_as_not_located_before_the_period_is_refused",
        _ACOGIDA + "test_a_child_located_in_a_later_round_re_enters_with_the_guarantees_intact",
        _PLACEMENTS_API
        + "test_closing_as_not_located_before_the_period_is_refused_through_the_api",
    ),
)

#: Kinship, foster and pre-adoptive care are placements too: leaving one starts the search.
COLOCACION_FAMILIAR = Guarantee(
    "colocacion_familiar_con_busqueda",
    "LGDNNA art. 26 (cuidado alternativo: familia extensa o ampliada, familia de acogida, "
    "familia de acogimiento pre-adoptivo, acogimiento residencial) y art. 122 fr. III "
    "(seguimiento de las medidas de protección); LGMDFP arts. 7 y 89",
    "Toda colocación queda registrada con su tipo (CAS, familia de origen, familia extensa, "
    "acogimiento, preadoptivo): formalizar el acogimiento familiar la crea; si la NNA deja una "
    "colocación familiar, la Procuraduría lo registra y empieza el protocolo de NNA no "
    "localizada, como en un CAS. Las reglas del ingreso siguen valiendo (medida de protección "
    "antes de la colocación; un CAS solo para NNA). Al cerrar el caso, la colocación que termina "
    "registra el destino de la NNA.",
    (
        "colocacion.bpmn: formalizar_acogimiento_familiar (forms: tipo_colocacion)",
        "app/cases/handlers/route_policies.py place_on_family_care_task → "
        "app/cases/placement.py place_in_family (kind, protection measure first)",
        "app/services/placements.py left() and discharge() (any kind; family placements: the "
        "Procuraduría handling the case), app/cases/handlers/closure.py discharge_on_close",
    ),
    (
        _ACOGIDA + "test_kinship_care_with_a_missing_child",
        _PLACEMENTS_API
        + "test_formalised_kinship_care_is_a_placement_the_procuraduria_reports_left",
        _PLACEMENTS_API + "test_left_on_a_placement_of_another_authority_is_404",
        _PLACEMENTS_API + "test_a_discharge_records_where_the_child_goes",
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
#: (workflows/panel_bid.py), so the API's completion goes through them too (409 naming the
#: guarantee, with each field; a malformed form stays 422).
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
        "written (409 naming the guarantee and $.data.miembros / $.data.quorum)",
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


# ------------------------------------------------------------ language (issue 12, item 6)

#: The languages a child may speak, as the forms offer them (``inicio_caso.idioma``,
#: ``otros_idiomas`` and each interview's ``idioma_interprete``): Spanish labels; the main
#: languages of children who cross Mexico: Spanish, the Mayan languages of Guatemala and
#: Chiapas, other indigenous languages of Mexico and Central America, and those of migrants
#: from the Caribbean, South America, Africa and Asia. ``otro`` is any other (``idioma_otro``).
IDIOMAS: dict[str, str] = {
    "espanol": "Español",
    "mam": "Mam",
    "kiche": "K'iche'",
    "qanjobal": "Q'anjob'al",
    "qeqchi": "Q'eqchi'",
    "kaqchikel": "Kaqchikel",
    "chuj": "Chuj",
    "akateko": "Akateko",
    "popti": "Popti' (jakalteko)",
    "ixil": "Ixil",
    "tsotsil": "Tsotsil",
    "tseltal": "Tseltal",
    "chol": "Ch'ol",
    "tojolabal": "Tojolabal",
    "nahuatl": "Náhuatl",
    "mixteco": "Mixteco",
    "zapoteco": "Zapoteco",
    "mazateco": "Mazateco",
    "garifuna": "Garífuna",
    "miskito": "Miskito",
    "ingles": "Inglés",
    "frances": "Francés",
    "criollo_haitiano": "Criollo haitiano (kreyòl)",
    "portugues": "Portugués",
    "arabe": "Árabe",
    "lengua_de_senas_mexicana": "Lengua de Señas Mexicana",
    "otro": "Otra lengua (especificar)",
}
#: How officers wrote the language while it was free text: loaded into the catalog.
_IDIOMA_ESCRITO = {
    "castellano": "espanol",
    "es": "espanol",
    "spa": "espanol",
    "spanish": "espanol",
    "quiche": "kiche",
    "kanjobal": "qanjobal",
    "kekchi": "qeqchi",
    "cakchiquel": "kaqchikel",
    "jakalteko": "popti",
    "jacalteco": "popti",
    "tzotzil": "tsotsil",
    "tzeltal": "tseltal",
    "ingles": "ingles",
    "english": "ingles",
    "en": "ingles",
    "francais": "frances",
    "french": "frances",
    "fr": "frances",
    "creole": "criollo_haitiano",
    "kreyol": "criollo_haitiano",
    "criollo": "criollo_haitiano",
    "haitiancreole": "criollo_haitiano",
    "criollohaitiano": "criollo_haitiano",
    "creolehaitiano": "criollo_haitiano",
    "portuguese": "portugues",
    "pt": "portugues",
    "lsm": "lengua_de_senas_mexicana",
}


def idioma_code(text: Any, strict: bool = False) -> str | None:
    """The catalog code of a language as recorded, also the free text written before the
    catalog ("Español", "k'iche'", "Creole"); None when nothing was recorded. A text the
    catalog does not know is ``otro`` (a case recorded before the catalog still loads), or None
    with ``strict`` (a new submission: the form then names the field)."""
    if not isinstance(text, str) or not text.strip():
        return None
    if text in IDIOMAS:
        return text
    plain = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(c for c in plain if c.isalnum() and not unicodedata.combining(c))
    if plain in IDIOMAS:
        return plain
    return _IDIOMA_ESCRITO.get(plain, None if strict else "otro")


def child_languages(opening: Mapping[str, Any]) -> set[str]:
    """The languages the child understands, by catalog code: the opening form's ``idioma`` and
    ``otros_idiomas``."""
    found = {idioma_code(opening.get("idioma"))}
    found.update(idioma_code(x) for x in opening.get("otros_idiomas") or ())
    return {x for x in found if x}


def requires_interpreter(idioma: Any, otros: Any = ()) -> bool | None:
    """Whether the child needs an interpreter: a language was recorded at opening and Spanish is
    not among the languages the child understands (``None`` when no language was recorded)."""
    main = idioma_code(idioma)
    if main is None:
        return None
    return "espanol" not in child_languages({"idioma": main, "otros_idiomas": otros or ()})


#: Heard in a language the child understands.
INTERPRETE = Guarantee(
    "interprete_en_lengua_de_la_nna",
    "LGDNNA art. 71 (derecho a ser escuchados), art. 83 fr. VII (asistencia de un traductor o "
    "intérprete) y art. 92 fr. IV y V (procesos migratorios: ser escuchado; ser asistido "
    "gratuitamente por un traductor y/o intérprete); LRPCAP art. 23 (traductor o intérprete "
    "en las entrevistas)",
    "Si la NNA no entiende español, entrevistas, valoraciones y la información que se le da se "
    "registran con intérprete, y la interpretación es a una lengua que la NNA entiende (su lengua "
    "o las que declaró al abrir el caso, del catálogo de idiomas).",
    (
        "workflows/engine.py start_case (caso.requiere_interprete from inicio_caso.idioma and "
        "otros_idiomas, workflows/guarantees.py requires_interpreter, idioma_code)",
        "forms: entrevista_elegibilidad, entrevista_juridica, opinion_nna, valoracion_psicologica, "
        "informar_nna_decision, informar_nna_retorno: interprete_utilizado x-solo-si "
        "(x-solo-si-garantia), idioma_interprete from the catalog",
        "workflows/guarantees.py breaches() (_interpretacion: a language the child understands), "
        "run by Case.complete_task before anything is written (409 through the API)",
    ),
    (
        "tests/route/test_main_route.py::"
        "test_a_child_who_does_not_speak_spanish_is_heard_with_an_interpreter",
        "tests/route/test_representacion.py::"
        "test_interpretation_must_be_into_a_language_the_child_understands",
        "tests/route/test_representacion.py::test_old_free_text_languages_load_into_the_catalog",
        "tests/app/test_representation.py::"
        "test_an_interview_without_the_child_s_language_is_refused_through_the_api",
    ),
)

# ------------------------------------------------------ representation (issue 12, item 6)
_REPR = "tests/route/test_representacion.py::"
_REPR_API = "tests/app/test_representation.py::"

#: The Procuraduría represents the child in every procedure: in suplencia when nobody with
#: parental authority or guardianship is there, in coadyuvancia next to the parent who is.
REPRESENTACION = Guarantee(
    "representacion_de_la_nna",
    "LGDNNA art. 4 fr. XXIV (representación coadyuvante: «el acompañamiento de niñas, niños y "
    "adolescentes en los procedimientos jurisdiccionales y administrativos, que de manera "
    "oficiosa, quedará a cargo de las Procuradurías de Protección») y fr. XXVI (representación "
    "en suplencia: «a cargo de las Procuradurías de Protección») [antes fr. XXI y XXII; "
    "recorridas DOF 11-12-2023 y 17-04-2024]; art. 106 («A falta de quienes ejerzan la "
    "representación originaria […] la representación en suplencia corresponderá a la "
    "Procuraduría de Protección competente»; intervención en cualquier procedimiento para la "
    "representación coadyuvante); art. 122 fr. II; art. 92 fr. VIII; LRPCAP art. 21; "
    "Reglamento de la LGDNNA [sin confirmar]",
    "La Procuraduría designa a la persona que representa a la NNA (en suplencia si no está quien "
    "ejerce la patria potestad o tutela: NNA no acompañada o separada; coadyuvante si está) antes "
    "de las entrevistas, audiencias y decisiones que la requieren; estas no se registran sin "
    "ella. La designación puede sustituirse: se conserva el historial.",
    (
        "ruta_proteccion_nna.bpmn: designar_representante (right after "
        "prot_marcar_acompanamiento, for every channel)",
        "workflows/guarantees.py legal_representative() and REQUIERE_REPRESENTANTE, read by "
        "breaches() in Case.complete_task (409 through the API); Case.designate_representative "
        "(POST /api/v1/cases/{folio}/representative: a new appointment, history kept)",
        "app/cases/handlers/representation.py (the representative is an active user of a "
        "Procuraduría)",
    ),
    (
        _REPR + "test_the_representative_is_appointed_early_in_protection_for_every_channel",
        _REPR + "test_no_interview_hearing_or_decision_without_a_representative",
        _REPR + "test_every_act_in_the_table_is_a_task_and_is_refused_without_a_representative",
        _REPR + "test_the_kind_of_representation_follows_who_is_with_the_child",
        _REPR + "test_a_replacement_keeps_the_history",
        _REPR_API + "test_no_eligibility_interview_without_a_representative_through_the_api",
        _REPR_API + "test_the_representative_can_be_replaced_and_must_be_a_procuraduria_user",
    ),
)

#: Heard privately: the child's opinion is taken alone, unless the child chose company.
ESCUCHA_A_SOLAS = Guarantee(
    "nna_escuchada_a_solas",
    "LGDNNA art. 71 y 72 (derecho a ser escuchada y a participar), art. 83 fr. X (apartada de "
    "los adultos que puedan influir en su comportamiento) y art. 92 fr. IV; CDN art. 12; ACNUR, "
    "Directrices BIP 2021 (la NNA es escuchada en privado) [sin confirmar]",
    "La opinión de la NNA se escucha a solas; si no, porque la NNA eligió a quien la acompaña, y "
    "se registra quién.",
    (
        "forms/opinion_nna.schema.json: nna_vista_a_solas, nna_eligio_compania, "
        "persona_acompanante",
        "workflows/guarantees.py breaches() (_a_solas)",
    ),
    (
        _REPR + "test_the_child_is_heard_alone_unless_the_child_chose_company",
        _REPR_API + "test_the_child_s_opinion_with_company_it_did_not_choose_is_refused",
    ),
)

#: A children's shelter (CAS) is for children: no adult is admitted.
CAS_SOLO_NNA = Guarantee(
    "cas_solo_para_nna",
    "LGDNNA art. 4 fr. V (Centro de Asistencia Social: acogimiento residencial «para niñas, "
    "niños y adolescentes») y art. 95 (principio de separación: NNA no acompañadas o separadas "
    "se alojan en sitios distintos a los de las personas adultas); art. 5",
    "Una persona que la determinación de la edad encontró mayor de edad, o que cumplió 18 años, "
    "no ingresa a un CAS ni se traslada a otro; una persona presumida adolescente sí.",
    (
        "app/cases/placement.py admit() (the route's admission, POST /api/v1/placements and "
        "transfers) with workflows/guarantees.py adult_by_law()",
    ),
    (
        _REPR + "test_adult_by_law_follows_presumption_assessment_and_majority",
        "tests/app/test_placements.py::test_no_shelter_admission_of_an_adult_through_the_api",
    ),
)

#: Closing or moving to adult life as an adult only once the person is one.
CIERRE_COMO_ADULTO = Guarantee(
    "cierre_como_adulto_solo_con_mayoria",
    "LGDNNA art. 5 (presunción de adolescencia ante la duda) y art. 5, primer párrafo "
    "(adolescentes: de doce a menos de dieciocho años)",
    "El cierre por mayoría de edad o con destino «vida independiente» solo procede si la persona "
    "es mayor de edad (cumplió 18 o la determinación de la edad lo decidió): nunca para una "
    "NNA presumida adolescente.",
    (
        "forms/proponer_cierre.schema.json: motivo mayoria_edad, destino_nna vida_independiente",
        "workflows/guarantees.py breaches() (_cierre_como_adulto) with adult_by_law()",
    ),
    (
        _REPR + "test_a_presumed_child_is_not_closed_as_an_adult",
        _REPR_API + "test_closing_a_presumed_child_as_an_adult_is_refused_through_the_api",
    ),
)

#: Hearings, interviews and decisions that need the child's representative (LGDNNA art. 106,
#: second paragraph: the Procuraduría intervenes in any administrative or jurisdictional
#: procedure), by task id: what the act is and its own source. docs/care-route.md lists them.
REQUIERE_REPRESENTANTE: dict[str, tuple[str, str]] = {
    "entrevista_juridica": ("Entrevista jurídica de la Procuraduría", "LGDNNA art. 122 fr. II"),
    "opinion_nna": ("Escuchar la opinión de la NNA", "LGDNNA art. 83 fr. V; art. 92 fr. IV"),
    "aprobar_bia": (
        "Aprobación de la evaluación del interés superior (BIA)",
        "LGDNNA art. 123 fr. II y III",
    ),
    "registrar_decision_bid": (
        "Decisión del panel BID",
        "ACNUR, Directrices BIP 2021 [sin confirmar]",
    ),
    "informar_nna_decision": ("Informar la decisión BID a la NNA", "LGDNNA art. 92 fr. I"),
    "entrevista_elegibilidad": (
        "Entrevista de elegibilidad ante la COMAR (o desistimiento)",
        "LRPCAP art. 21; LGDNNA art. 92 fr. VIII",
    ),
    "resolver_solicitud": ("Resolución de la solicitud de refugio", "LGDNNA art. 92 fr. I y IX"),
    "interponer_recurso_revision": ("Decidir el recurso de revisión", "LGDNNA art. 92 fr. X"),
    "resolver_pam_conforme_plan": (
        "Resolución del procedimiento migratorio (incluido un retorno)",
        "LGDNNA art. 92 fr. VIII; LM art. 112 fr. II",
    ),
    "informar_nna_retorno": ("Informar a la NNA sobre el retorno", "LM art. 112 fr. IV"),
}

#: What the appointment records (forms/designar_representante.schema.json).
FORMA_REPRESENTANTE = "designar_representante"
#: Tasks whose form records how the child was heard: interpretation into a language the child
#: understands is checked there.
TAREAS_CON_INTERPRETE = (
    "entrevista_elegibilidad",
    "entrevista_juridica",
    "opinion_nna",
    "valoracion_psicologica",
    "informar_nna_decision",
    "informar_nna_retorno",
)


def legal_representative(appointments: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The child's current representative: the latest appointment (the route's
    ``designar_representante`` or a replacement), None before any."""
    return appointments[-1] if appointments else None


def adult_by_law(
    variables: Mapping[str, Any],
    forms: Mapping[str, Mapping[str, Any]],
    zone: tzinfo,
    now: datetime,
) -> str | None:
    """Why the person is an adult at ``now`` (``edad_adulta_determinada`` or
    ``mayoria_de_edad``), None while a child: presumed a child until the assessment decides
    (LGDNNA art. 5), and a child when no age is known (benefit of the doubt)."""
    if variables.get("presuncion_minoria_edad") is True:
        return None
    if (forms.get("determinar_edad") or {}).get("resultado") == "mayor_de_edad":
        return "edad_adulta_determinada"
    if variables.get("mayoria_edad_cumplida") is True:
        return "mayoria_de_edad"
    instant = majority_instant(variables, forms, zone, lambda: now)
    if instant is not None and instant <= now:
        return "mayoria_de_edad"
    return None


def _breach(rule: Guarantee, path: str, es: str, en: str) -> dict[str, str]:
    return {
        "path": path,
        "message": f"{es}; {en} [{rule.name}]",
        "guarantee": rule.name,
    }


def _representante(task_id: str, data: Mapping[str, Any], ctx: _Hechos) -> list[dict[str, str]]:
    act = REQUIERE_REPRESENTANTE.get(task_id)
    if act is None or legal_representative(ctx.appointments) is not None:
        return []
    what, source = act
    return [
        _breach(
            REPRESENTACION,
            "$",
            f"«{what}» requiere que la Procuraduría haya designado a quien representa a la NNA "
            f"(en suplencia o coadyuvante; {source}): designe primero la representación "
            "(tarea designar_representante, o POST /api/v1/cases/{folio}/representative)",
            f"'{task_id}' needs the child's representative appointed by the Procuraduría "
            "(suplencia or coadyuvante); appoint one first",
        )
    ]


def _designacion(data: Mapping[str, Any], ctx: _Hechos) -> list[dict[str, str]]:
    """The kind follows who is with the child (LGDNNA art. 106): coadyuvante only beside the
    parent or guardian who is there; suplencia of a child accompanied by them only when an
    authority so decided."""
    found = []
    situacion = ctx.variables.get("situacion_acompanamiento")
    tipo = data.get("tipo")
    if tipo == "coadyuvante" and situacion in ("no_acompanado", "separado"):
        found.append(
            _breach(
                REPRESENTACION,
                "$.tipo",
                f"la NNA está {situacion.replace('_', ' ')}: nadie que ejerza la patria potestad "
                "o tutela está presente, así que la Procuraduría la representa en suplencia "
                "(LGDNNA art. 106, primer párrafo)",
                f"the child is {situacion.replace('_', ' ')}: nobody with parental authority is "
                "present, so the Procuraduría represents the child in suplencia",
            )
        )
    if (
        tipo == "suplencia"
        and situacion == "acompanado"
        and data.get("fundamento_suplencia") == "ausencia_representacion_originaria"
    ):
        found.append(
            _breach(
                REPRESENTACION,
                "$.fundamento_suplencia",
                "la NNA está acompañada por quien ejerce la patria potestad o tutela: la "
                "suplencia procede solo si una autoridad lo determinó o esa representación se "
                "restringió (LGDNNA art. 106); si no, la representación es coadyuvante",
                "the child is with the parent or guardian: suplencia only when an authority so "
                "decided or that representation was restricted; otherwise coadyuvante",
            )
        )
    return found


def replacement_errors(
    data: Mapping[str, Any], appointments: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]]:
    """A replacement of the current representative records why (a plain form error: 422)."""
    if not appointments or str(data.get("motivo_sustitucion") or "").strip():
        return []
    return [
        {
            "path": "$.motivo_sustitucion",
            "message": "ya hay una representación designada: la sustitución registra su motivo; "
            "a representative is already appointed: a replacement records why",
        }
    ]


def _interpretacion(data: Mapping[str, Any], ctx: _Hechos) -> list[dict[str, str]]:
    if data.get("interprete_utilizado") is not True:
        return []
    into = idioma_code(data.get("idioma_interprete"))
    known = child_languages(ctx.forms.get("inicio_caso") or {})
    if into is None or not known or into in known or into == "otro" or "otro" in known:
        return []
    labels = ", ".join(IDIOMAS.get(x, x) for x in sorted(known))
    return [
        _breach(
            INTERPRETE,
            "$.idioma_interprete",
            f"la interpretación fue a {IDIOMAS.get(into, into)}, que la NNA no entiende según "
            f"lo registrado (entiende: {labels}): se interpreta a una lengua que comprende",
            f"the interpretation was into {into}, which the child does not understand as "
            f"recorded (understands: {', '.join(sorted(known))})",
        )
    ]


def _a_solas(data: Mapping[str, Any], ctx: _Hechos) -> list[dict[str, str]]:
    if data.get("nna_vista_a_solas") is not False or data.get("nna_eligio_compania") is True:
        return []
    return [
        _breach(
            ESCUCHA_A_SOLAS,
            "$.nna_eligio_compania",
            "la NNA se escucha a solas; con otra persona presente solo si la NNA lo eligió",
            "the child is heard alone; with someone else present only if the child chose it",
        )
    ]


def _cierre_como_adulto(data: Mapping[str, Any], ctx: _Hechos) -> list[dict[str, str]]:
    if adult_by_law(ctx.variables, ctx.forms, ctx.zone, ctx.now) is not None:
        return []
    found = []
    presumida = ctx.variables.get("presuncion_minoria_edad") is True
    quien = "presumida adolescente (LGDNNA art. 5)" if presumida else "menor de 18 años"
    for field_name, value in (("motivo", "mayoria_edad"), ("destino_nna", "vida_independiente")):
        if data.get(field_name) == value:
            found.append(
                _breach(
                    CIERRE_COMO_ADULTO,
                    f"$.{field_name}",
                    f"'{value}' solo procede para una persona mayor de edad; esta persona es "
                    f"{quien}",
                    f"'{value}' is only for an adult; this person is a child "
                    f"({'presumed' if presumida else 'under 18'})",
                )
            )
    return found


@dataclass(frozen=True)
class _Hechos:
    """What the case rules read: the case's variables, its forms before this submission, the
    representative's appointments, the command's instant and the local zone."""

    variables: Mapping[str, Any]
    forms: Mapping[str, Mapping[str, Any]]
    appointments: Sequence[Mapping[str, Any]]
    now: datetime
    zone: tzinfo


def breaches(
    task_id: str,
    data: Mapping[str, Any],
    variables: Mapping[str, Any],
    forms: Mapping[str, Mapping[str, Any]],
    appointments: Sequence[Mapping[str, Any]],
    now: datetime,
    zone: tzinfo,
) -> list[dict[str, str]]:
    """Every guarantee a submission of ``task_id`` would break, as form errors naming the field;
    each item's ``guarantee`` names the one broken (a missing reason has none: a 422). Run by
    the engine before anything is written, so every command that completes a task (the route,
    the API, the pages) passes here."""
    ctx = _Hechos(variables, forms, appointments, now, zone)
    found = _representante(task_id, data, ctx)
    if task_id == FORMA_REPRESENTANTE:
        found += _designacion(data, ctx)
    if task_id in TAREAS_CON_INTERPRETE:
        found += _interpretacion(data, ctx)
    if task_id == "opinion_nna":
        found += _a_solas(data, ctx)
    if task_id == "proponer_cierre":
        found += _cierre_como_adulto(data, ctx)
    return found


# ------------------------------------------------------------------ entry and reopening (item 5)
_INGRESO = "tests/route/test_ingreso.py::"
_REAPERTURA = "tests/route/test_reapertura.py::"
_REOPEN_API = "tests/app/test_reopen.py::"

#: A child who presents at DIF, COMAR or the Procuraduría, or whom a civil-society organisation
#: or another authority refers, reaches protection without INM's detection and channelling.
INGRESO_SIN_INM = Guarantee(
    "ingreso_por_cualquier_canal_sin_pasar_por_el_inm",
    "LGDNNA art. 12 («hacerlo del conocimiento inmediato de las autoridades competentes»), "
    "art. 89, tercer párrafo (el Sistema DIF brinda la protección), art. 111 fr. II (los centros "
    "de asistencia social «informarán de inmediato a la Procuraduría de Protección de la entidad "
    "federativa») y art. 123 fr. I "
    "(la Procuraduría detecta o recibe casos); COMAR: LRPCAP art. 20, segundo párrafo",
    "Por los canales que no son del INM, la autoridad que recibe a la NNA (el DIF, la COMAR) avisa "
    "de inmediato a la Procuraduría, con plazo desde la recepción; la Procuraduría registra la "
    "recepción y la protección empieza con las mismas garantías (presunción de minoría de edad, "
    "medidas urgentes), sin pasar antes por el INM. Solo abre un caso la autoridad que recibe "
    "por ese canal (config/canales_ingreso.toml).",
    (
        "ruta_proteccion_nna.bpmn: ruta_gw_canal → notificar_recepcion_dif / "
        "notificar_recepcion_comar (aviso_recepcion_procuraduria, from caso.fecha_deteccion) → "
        "registrar_recepcion → ruta_clasificar_recepcion → ruta_gw_duda_edad → ruta_gw_via_inm "
        "→ ruta_gw_proteccion_unir → proteccion",
        "workflows/canales.py and workflows/engine.py RouteEngine._channel (422 $.canal_ingreso "
        "for an authority that does not receive by the channel); app/services/cases.py open_case "
        "passes the opener's authority type; app/routing.py routes the notice to the opener",
    ),
    (
        _INGRESO + "test_self_presentation_at_dif_reaches_protection_without_inm",
        _INGRESO + "test_civil_society_referral_is_received_by_the_procuraduria_and_closes",
        _INGRESO + "test_a_channel_is_received_only_by_its_authorities",
        "tests/app/test_entry_channels.py::"
        "test_an_authority_opens_a_case_only_by_a_channel_it_receives",
        "tests/app/test_entry_channels.py::"
        "test_a_child_at_a_dif_shelter_reaches_the_procuraduria_without_inm",
    ),
)

#: Fear of return or the wish to apply, recorded on entry by any authority, binds the rest.
TEMOR_AL_INGRESO = Guarantee(
    "temor_de_retorno_al_ingreso",
    "LM art. 112 fr. V (con indicios de necesidad de protección internacional «no se entablará "
    "contacto con la representación consular»); LRPCAP art. 21, tercer párrafo (aviso inmediato a "
    "la COMAR) y cuarto párrafo (sin información a las autoridades consulares)",
    "Si una NNA extranjera expresa temor de retorno o deseo de pedir refugio al ingresar por "
    "cualquier canal (lo registre el INM, el DIF, la COMAR o la Procuraduría), queda registrado "
    "(temor_retorno, nunca se baja): no hay contacto consular desde ese momento y la protección la "
    "refiere a la COMAR aunque la detección de necesidades no encuentre indicios. Un caso reabierto "
    "con una solicitud en trámite retoma su seguimiento con la COMAR.",
    (
        "ruta_proteccion_nna.bpmn: ruta_clasificar_deteccion, ruta_clasificar_recepcion "
        "(caso.temor_retorno, caso.contacto_consular_bloqueado); prot_gw_asilo "
        "(f_prot_gw_asilo_prot_abrir_referencia_comar: temor_retorno, solicitud_por_retomar); "
        "ruta_preparar_reapertura (solicitud_por_retomar, referencia_comar_en_curso)",
        "app/access_rules.py consular_facts (the consulate loses access)",
    ),
    (
        _INGRESO + "test_self_presentation_at_comar_keeps_the_consular_block_and_refers_to_comar",
        _INGRESO + "test_the_receiving_authority_s_risk_and_fear_count_too",
        _INGRESO + "test_a_mexican_child_s_fear_at_reception_blocks_nothing_and_refers_nowhere",
        _REAPERTURA + "test_a_reopened_case_keeps_the_pending_claim_and_the_consular_block",
        "tests/app/test_access_rules.py",
    ),
)

#: INM still documents a foreign child it never saw: the Procuraduría tells it, in parallel.
AVISO_AL_INM = Guarantee(
    "aviso_al_inm_de_la_nna_recibida",
    "LM art. 74, primer párrafo (toda NNA «será documentada como Visitante por Razones "
    "Humanitarias») y art. 52 fr. V inciso b) («deberá ser inmediata»); quién informa al INM: "
    "[sin confirmar], configuración (config/canales_ingreso.toml aviso_inm)",
    "Cuando la Procuraduría recibió a una NNA extranjera sin el INM, le informa al INM en paralelo "
    "con la protección (que no espera), con plazo desde la recepción; nunca por una NNA mexicana.",
    (
        "ruta_proteccion_nna.bpmn: ruta_gw_fork_recepcion, ruta_gw_aviso_inm, "
        "informar_inm_recepcion (notifica INM; aviso_inm_recepcion)",
    ),
    (
        _INGRESO + "test_self_presentation_at_dif_reaches_protection_without_inm",
        _INGRESO + "test_a_mexican_child_at_dif_is_not_reported_to_inm",
        _INGRESO + "test_the_notice_to_inm_is_configuration",
        _INGRESO + "test_the_case_closes_only_once_inm_was_informed_and_ends_on_its_outcome",
    ),
)

#: Only the Procuraduría reopens a closed case, for a recorded reason kept out of the audit.
REAPERTURA_CON_MOTIVO = Guarantee(
    "reapertura_por_la_procuraduria_con_motivo",
    "LGDNNA art. 123 fr. I (la Procuraduría recibe casos) y fr. VI (seguimiento «hasta "
    "cerciorarse de que todos los derechos [...] se encuentren garantizados»)",
    "Solo la supervisión o la persona titular de la Procuraduría que cubre la ubicación de la NNA "
    "reabre un caso cerrado, con categoría y motivo; la bitácora registra el acto, la categoría y "
    "quién, nunca el motivo (queda en el expediente del caso). Un caso abierto no se reabre (409).",
    (
        "app/services/cases.py reopen (404/403); app/cases/aggregate.py CaseAggregate.reopen "
        "(409); app/cases/handlers/audit_trail.py case_reopened (case.reopened)",
        "forms/reabrir_caso.schema.json (categoria, motivo); POST /api/v1/cases/{folio}/reopen",
    ),
    (
        _REAPERTURA + "test_reopening_needs_a_category_and_a_reason_and_writes_nothing_without",
        _REAPERTURA + "test_an_open_case_cannot_be_reopened",
        _REOPEN_API + "test_a_supervisor_of_the_procuraduria_reopens_a_closed_case",
        _REOPEN_API + "test_who_may_not_reopen",
        _REOPEN_API + "test_a_reopening_needs_a_valid_reason_and_writes_nothing_without",
        _REOPEN_API + "test_an_open_case_cannot_be_reopened",
        _REOPEN_API + "test_two_concurrent_reopenings_one_wins",
    ),
)

#: A reopened case is protected again with what the case already established.
REAPERTURA_CONSERVA_HECHOS = Guarantee(
    "reapertura_conserva_los_hechos_del_caso",
    "LRPCAP art. 5 fr. I, art. 6 y art. 10 (la solicitud en trámite y su confidencialidad); "
    "LGDNNA art. 5 (presunción de minoría de edad) y art. 122 (medidas urgentes)",
    "La nueva ejecución entra directo a la protección con los hechos del caso (solicitud en "
    "trámite, bloqueo consular, edad y presunción, formularios registrados); el riesgo inminente "
    "registrado al reabrir activa las medidas urgentes; los registros de plazos de la ejecución "
    "anterior, incumplimientos incluidos, no cambian.",
    (
        "workflows/engine.py RouteEngine.reopen; ruta_proteccion_nna.bpmn: ruta_gw_canal "
        "(f_ruta_gw_canal_ruta_preparar_reapertura), ruta_preparar_reapertura, "
        "ruta_gw_proteccion_unir",
    ),
    (
        _REAPERTURA + "test_a_closed_case_reopens_at_protection_with_its_facts",
        _REAPERTURA + "test_a_reopened_case_keeps_the_pending_claim_and_the_consular_block",
        _REAPERTURA + "test_imminent_risk_at_reopening_starts_urgent_measures",
        _REOPEN_API + "test_a_supervisor_of_the_procuraduria_reopens_a_closed_case",
        _REOPEN_API + "test_imminent_risk_at_reopening_starts_urgent_measures",
    ),
)

ENTRY_GUARANTEES: tuple[Guarantee, ...] = (
    INGRESO_SIN_INM,
    TEMOR_AL_INGRESO,
    AVISO_AL_INM,
    REAPERTURA_CON_MOTIVO,
    REAPERTURA_CONSERVA_HECHOS,
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
        "for each item chosen before anything is written: 409 naming the guarantee and "
        "$.data.evidencias)",
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
    CIERRE_NO_LOCALIZADA,
    COLOCACION_FAMILIAR,
    INTERPRETE,
    REPRESENTACION,
    ESCUCHA_A_SOLAS,
    CAS_SOLO_NNA,
    CIERRE_COMO_ADULTO,
    PANEL_BID_INTEGRADO,
    DECISION_SIGUE_VOTOS,
    PLAN_NO_CONTRADICE_BID,
    REVISION_BID,
    HECHOS_BID_EN_UN_LUGAR,
    *AGE_GUARANTEES,
    *ENTRY_GUARANTEES,
)
#: A guarantee by its name (the engine's refusals and the app's 409 name it).
GUARANTEE_BY_NAME: dict[str, Guarantee] = {g.name: g for g in GUARANTEES}


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
    try:
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
    except (ValueError, OverflowError):  # a stored date no calendar holds (year 9999 + 18)
        return None
    # Majority begins at 00:00 of the 18th birthday in the child's local time (central Mexico),
    # not at midnight UTC (18:00 of the eve in Mexico City).
    return datetime(birthday.year, birthday.month, birthday.day, tzinfo=zone)
