"""Path tests for referencia_comar (asylum claim: LRPCAP arts. 11, 18, 24, 25; LFPA arts. 38, 85).

Every branch: not filed, decision pending (D10 from the day filing became possible), filed by a
third person (ratified / not), withdrawal, refugee status, complementary protection, refusal with
and without appeal, the one term extension, and the legal deadlines, each counted from the event
the law names (the filing, the notification of a refusal) as the form records it, even when the
form is recorded days later. Expected due dates come from the calendar in config/plazos.toml.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.route.driver import DEFAULT_NOW, Driver, form_example, route_engine
from workflows import FormValidationError

PID = "referencia_comar"
MX = ZoneInfo("America/Mexico_City")
FILED = "2026-03-02"  # a Monday: the claim of issue 11
#: 45 working days from the day after 2 March 2026: end of Wednesday 6 May, Mexico City time
#: (16 March and 1 May are rest days in the shipped calendar).
D13_DUE = datetime(2026, 5, 7, 5, 59, 59, 999999, tzinfo=UTC)
ASYLUM_TASKS = {
    "apoyar_solicitud_asilo",
    "ratificar_solicitud",
    "notificar_inm_solicitud",
    "resolver_solicitud",
    "interponer_recurso_revision",
}


def due(plazo_id: str, desde: datetime) -> datetime:
    """What the shipped calendar gives for ``plazo_id`` counted from ``desde`` (federal)."""
    engine = route_engine()
    return engine.library.plazos.vencimiento(plazo_id, desde, engine.calendario, "00")


def noon(day: str) -> datetime:
    """A date-only start: that day in central Mexico (workflows/expressions.py ``_desde``)."""
    return datetime.combine(datetime.fromisoformat(day).date(), time(12), MX)


def changes(d: Driver) -> list[tuple[str, object]]:
    return [(e.data["name"], e.data["new"]) for e in d.events_of("case_variable_set")]


def escalations(d: Driver, plazo_id: str) -> list[int]:
    return [
        e.data["level"] for e in d.events_of("deadline_escalated") if e.data["plazo_id"] == plazo_id
    ]


def filed(variables: dict | None = None, now: datetime = DEFAULT_NOW, **apoyo) -> Driver:
    """Start the process and file the claim (with the form example unless overridden)."""
    d = Driver(process_id=PID, variables=variables or {}, now=now)
    assert d.ready() == ["apoyar_solicitud_asilo"]
    assert d.task("apoyar_solicitud_asilo").lane == "PROCURADURIA"
    d.complete("apoyar_solicitud_asilo", **apoyo)
    return d


def at_resolution(**variables) -> Driver:
    d = filed(variables)
    d.complete("notificar_inm_solicitud")
    d.complete("entrevista_elegibilidad")
    assert d.ready() == ["resolver_solicitud"]
    return d


def refused(d: Driver, notified: str = FILED, decided: str = FILED) -> None:
    d.complete(
        "resolver_solicitud",
        resultado="negado",
        fecha_resolucion=decided,
        fecha_notificacion_nna=notified,
    )


def extension(motivo: str = "falta_informacion") -> dict:
    return {
        "accion": "ampliar_plazo",
        "motivo_ampliacion": motivo,
        "fundamentacion_ampliacion": "Falta la opinión de la SRE sobre el país de origen.",
    }


def refused_submission(d: Driver, bpmn_id: str, data: dict) -> FormValidationError:
    """Submit ``data``; it must be refused, and the stored case must not change."""
    before = d.state
    case = d.case()
    task = d.task(bpmn_id)
    with pytest.raises(FormValidationError) as info:
        case.complete_task(task.task_id, data, d.now)
    assert case.dump() == before  # nothing written, not even in memory
    return info.value


def paths(error: FormValidationError) -> list[str]:
    return [e["path"] for e in error.errors]


# ------------------------------------------------------------------ branches
def test_filing_blocks_consular_contact_and_opens_the_notice_and_the_decision():
    d = filed()
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert ("asilo_pendiente", True) in changes(d)
    # The decision is open from the filing (its 45 working days run), next to the notice to INM.
    assert d.ready() == ["notificar_inm_solicitud", "resolver_solicitud"]
    assert {d.task(t).lane for t in d.ready()} == {"COMAR"}


@pytest.mark.parametrize("resultado", ["refugiado", "complementaria"])
def test_protection_granted_keeps_consular_contact_blocked(resultado):
    d = at_resolution()
    d.complete("resolver_solicitud", resultado=resultado)
    assert d.completed
    assert d.end_state == "fin_rc_proteccion_reconocida"
    v = d.variables
    assert v["estatus_proteccion"] == resultado
    assert v["asilo_pendiente"] is False
    assert v["contacto_consular_bloqueado"] is True


def test_refused_and_appealed_claim_stays_pending_until_appeal_decided():
    d = at_resolution()
    refused(d)
    assert d.ready() == ["interponer_recurso_revision"]
    assert d.task("interponer_recurso_revision").lane == "IFDP"
    assert d.variables["estatus_proteccion"] == "negado"
    assert d.variables["asilo_pendiente"] is True

    d.complete("interponer_recurso_revision")  # example: appeal filed
    assert d.ready() == ["resolver_recurso"]
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True

    d.complete("resolver_recurso", resultado="negado")
    assert d.end_state == "fin_rc_negativa"
    v = d.variables
    assert (v["estatus_proteccion"], v["asilo_pendiente"], v["contacto_consular_bloqueado"]) == (
        "negado",
        False,
        False,
    )


def test_appeal_granting_complementary_protection():
    d = at_resolution()
    refused(d)
    d.complete("interponer_recurso_revision")
    d.complete("resolver_recurso")  # example: complementaria
    assert d.end_state == "fin_rc_proteccion_reconocida"
    assert d.variables["estatus_proteccion"] == "complementaria"
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is True


def test_refused_without_appeal_unblocks_consular_contact():
    d = at_resolution()
    refused(d)
    d.complete(
        "interponer_recurso_revision",
        {
            "nna_informada_negativa": True,
            "interpone_recurso": False,
            "motivo_no_interpone": "La NNA, informada, decide no recurrir.",
        },
    )
    assert d.completed and d.end_state == "fin_rc_negativa"
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is False
    assert d.variables["estatus_proteccion"] == "negado"


def test_claim_not_filed_sets_nothing():
    d = filed(presenta_solicitud=False, motivo_no_presenta="La NNA, informada, no desea solicitar.")
    assert d.completed and d.end_state == "fin_rc_sin_solicitud"
    assert "asilo_pendiente" not in d.variables
    assert changes(d) == []


def test_third_party_filing_needs_ratification():
    d = filed(presentada_por="tercero")
    assert d.ready() == ["ratificar_solicitud"]
    assert d.task("ratificar_solicitud").deadline_id == "D11_ratificacion_solicitud"
    d.complete("ratificar_solicitud")
    assert d.ready() == ["notificar_inm_solicitud", "resolver_solicitud"]


def test_unratified_claim_lapses():
    d = filed(presentada_por="tercero")
    d.complete(
        "ratificar_solicitud",
        {"ratificada": False, "nna_escuchada": True, "motivo_no_ratificada": "No compareció."},
    )
    assert d.end_state == "fin_rc_no_ratificada"
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is False
    d.advance(timedelta(days=200))
    assert escalations(d, "D13_resolucion_comar") == []  # a claim not filed has no decision term


def test_withdrawal_at_interview_stops_the_pending_decision_and_its_term():
    d = filed()
    d.complete("notificar_inm_solicitud")
    d.complete(
        "entrevista_elegibilidad",
        {
            "desistimiento": True,
            "fecha_desistimiento": "2026-03-02",
            "motivo_desistimiento": "Desea regresar con su familia.",
            "representante_presente": True,
        },
    )
    assert d.completed and d.end_state == "fin_rc_desistimiento"
    assert d.ready() == []
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is False
    assert "estatus_proteccion" not in d.variables
    assert d.case().next_due_at() is None
    d.advance(timedelta(days=120))
    assert escalations(d, "D13_resolucion_comar") == []


def test_no_withdrawal_without_the_child_s_representative():
    """Withdrawing lifts the block on consular contact: COMAR records it only with the child's
    representative present (LGDNNA art. 122 fr. II); nothing is recorded and the claim stays."""
    d = filed()
    d.complete("notificar_inm_solicitud")
    withdrawal = {
        "desistimiento": True,
        "fecha_desistimiento": "2026-03-02",
        "motivo_desistimiento": "Desea regresar con su familia.",
    }
    for missing in ({}, {"representante_presente": False, "motivo_sin_representante": "x"}):
        with pytest.raises(FormValidationError) as refused:
            d.complete("entrevista_elegibilidad", withdrawal | missing)
        assert "$.representante_presente" in str(refused.value) or "$.desistimiento" in str(
            refused.value
        )
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert "entrevista_elegibilidad" in d.ready()


def test_a_decision_before_the_interview_is_recorded_ends_the_procedure():
    """COMAR may decide with the interview still unrecorded: the decision stops its term, and the
    final end stops the interview task, which can no longer change the outcome."""
    d = filed()
    d.complete("notificar_inm_solicitud")
    assert d.ready() == ["entrevista_elegibilidad", "resolver_solicitud"]
    d.complete("resolver_solicitud", resultado="complementaria")
    assert d.completed and d.end_state == "fin_rc_proteccion_reconocida"
    assert d.ready() == []
    assert d.variables["estatus_proteccion"] == "complementaria"
    assert d.case().next_due_at() is None


def test_a_decision_while_the_interview_is_pending_keeps_the_appeal_running():
    d = filed()
    d.complete("notificar_inm_solicitud")
    refused(d)
    # the appeal does not wait for the interview record
    assert d.ready() == ["entrevista_elegibilidad", "interponer_recurso_revision"]
    d.complete(
        "interponer_recurso_revision",
        {
            "nna_informada_negativa": True,
            "interpone_recurso": False,
            "motivo_no_interpone": "La NNA, informada, decide no recurrir.",
        },
    )
    assert d.completed and d.end_state == "fin_rc_negativa"


def test_each_deadline_s_legal_source_fits_the_task_index():
    """The boundary's documentation is the legal source each task row stores (500 characters on
    PostgreSQL: a longer one failed every write of the case there)."""
    deadlines = route_engine().library.deadlines.values()
    sources = {d.plazo_id: d.legal_source for d in deadlines if d.attached_to in ASYLUM_TASKS}
    assert len(sources) == 5
    for plazo_id, text in sources.items():
        assert 0 < len(text) <= 500, (plazo_id, len(text))


# ------------------------------------------------------------------ D10 (LRPCAP art. 18)
def test_filing_deadline_counts_30_working_days_from_detection():
    d = Driver(process_id=PID, variables={"fecha_deteccion": "2026-02-02"})
    task = d.task("apoyar_solicitud_asilo")
    assert task.deadline_id == "D10_solicitud_asilo"
    assert task.due_at == due("D10_solicitud_asilo", noon("2026-02-02"))
    assert task.due_at == datetime(2026, 3, 18, 5, 59, 59, 999999, tzinfo=UTC)  # 17 March


def test_filing_deadline_counts_from_entry_into_mexico_when_known():
    """LRPCAP art. 18 counts from the working day after entry into the country: an entry date
    before detection moves the deadline earlier."""
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-26"},
    )
    task = d.task("apoyar_solicitud_asilo")
    assert task.deadline_id == "D10_solicitud_asilo"
    assert task.due_at == due("D10_solicitud_asilo", noon("2026-01-26"))
    # 26 Jan + 30 working days, skipping 2 Feb (Constitution Day) -> Tue 10 Mar 2026, end of day
    assert task.due_at == datetime(2026, 3, 11, 5, 59, 59, 999999, tzinfo=UTC)
    without = Driver(process_id=PID, variables={"fecha_deteccion": "2026-02-02"})
    assert without.task("apoyar_solicitud_asilo").due_at > task.due_at
    assert d.events_of("deadline_escalated") == []


def test_filing_deadline_restarts_from_the_day_filing_became_possible():
    """Entered in mid-January, in hospital until 2 March: the 30 working days from entry had run
    out when the Procuraduría met the child. It records that filing became materially possible
    on 2 March (LRPCAP art. 18) while the child decides: the task opens again with the term from
    that day, recorded on 5 March."""
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-12"},
        now=datetime(2026, 3, 5, 18, tzinfo=UTC),
    )
    assert escalations(d, "D10_solicitud_asilo") == [1, 2, 3]  # overdue from entry
    d.complete(
        "apoyar_solicitud_asilo",
        {
            "nna_informada_derecho_asilo": True,
            "presenta_solicitud": False,
            "decision_pendiente": True,
            "fecha_posible_presentacion": "2026-03-02",
        },
    )
    assert d.ready() == ["apoyar_solicitud_asilo"]
    task = d.task("apoyar_solicitud_asilo")
    assert task.deadline_id == "D10_solicitud_asilo"
    assert task.due_at == due("D10_solicitud_asilo", noon("2026-03-02"))
    # 13 April: COMAR's terms count on LFPA art. 28, where 16 March (LFT art. 74's third Monday)
    # is a working day; no declared days are loaded for 2026 (Holy week would move it)
    assert task.due_at == datetime(2026, 4, 14, 5, 59, 59, 999999, tzinfo=UTC)
    assert escalations(d, "D10_solicitud_asilo") == [1, 2, 3]  # no new level at re-arming
    assert "asilo_pendiente" not in d.variables
    d.advance(task.due_at - d.now + timedelta(seconds=1))
    assert escalations(d, "D10_solicitud_asilo") == [1, 2, 3, 1]
    d.complete(
        "apoyar_solicitud_asilo",
        fecha_presentacion="2026-04-14",
        presentacion_extemporanea=True,
        justificacion_extemporanea="Hospitalizada hasta el 2 de marzo; decidió el 14 de abril.",
    )
    assert d.variables["asilo_pendiente"] is True


def test_a_pending_decision_needs_the_date_and_no_filing():
    d = Driver(process_id=PID)
    base = {"nna_informada_derecho_asilo": True, "presenta_solicitud": False}
    error = refused_submission(d, "apoyar_solicitud_asilo", base | {"decision_pendiente": True})
    assert paths(error) == ["$.fecha_posible_presentacion"]
    error = refused_submission(d, "apoyar_solicitud_asilo", base)  # no, without a reason
    assert paths(error) == ["$.motivo_no_presenta"]


def test_a_deadline_already_past_when_armed_reports_every_level_at_once():
    """A child who entered in mid-January reaches the asylum step in March: the 30 working days
    ran out on 24 February and all three levels (supervisor, head, oversight) are overdue. The
    engine fires them in the pass that arms the timer; each is reported, none is lost."""
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-12"},
    )
    expected = datetime(2026, 2, 25, 5, 59, 59, 999999, tzinfo=UTC)
    events = d.events_of("deadline_escalated")
    assert [e.data["level"] for e in events] == [1, 2, 3]
    assert {e.data["due_at"] for e in events} == {expected.isoformat()}
    assert [e.data["level_due_at"] for e in events] == [
        (expected + timedelta(days=k)).isoformat() for k in range(3)
    ]
    assert all(e.data["task_bpmn_id"] == "apoyar_solicitud_asilo" for e in events)
    assert all(e.data["task_id"] for e in events)
    assert d.ready() == ["apoyar_solicitud_asilo"]  # still to be done
    d.advance(timedelta(days=5))
    assert len(d.events_of("deadline_escalated")) == 3  # and never reported again


def test_a_deadline_partly_past_when_armed_reports_the_spent_levels_then_the_rest():
    """Armed between level 1 and level 2: level 1 is reported at once, the others on time."""
    expected = datetime(2026, 2, 25, 5, 59, 59, 999999, tzinfo=UTC)
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-12"},
        now=expected + timedelta(hours=12),
    )
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1]
    d.advance(timedelta(hours=11))
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1]
    d.advance(timedelta(hours=2))
    events = d.events_of("deadline_escalated")
    assert [e.data["level"] for e in events] == [1, 2]
    assert events[1].data["level_due_at"] == (expected + timedelta(days=1)).isoformat()


# ------------------------------------------------------------------ D11, D12 from the filing date
def test_ratification_counts_from_the_filing_date_not_from_its_record():
    """Filed by a third person on Monday 2 March, recorded on Wednesday 4 March: the 3 working
    days (LRPCAP art. 11) end on Thursday 5 March, not 3 working days after the record."""
    recorded = datetime(2026, 3, 4, 17, tzinfo=UTC)
    d = filed(now=recorded, presentada_por="tercero")
    task = d.task("ratificar_solicitud")
    assert task.due_at == due("D11_ratificacion_solicitud", noon(FILED))
    assert task.due_at == datetime(2026, 3, 6, 5, 59, 59, 999999, tzinfo=UTC)
    assert task.due_at < due("D11_ratificacion_solicitud", recorded)


def test_notice_to_inm_counts_72_hours_from_the_filing_date():
    recorded = datetime(2026, 3, 3, 20, tzinfo=UTC)
    d = filed(now=recorded)
    task = d.task("notificar_inm_solicitud")
    assert task.deadline_id == "D12_notificacion_comar_inm"
    # 2 March, noon in central Mexico (18:00 UTC), + 72 h
    assert task.due_at == datetime(2026, 3, 5, 18, tzinfo=UTC)
    d.advance(task.due_at - d.now + timedelta(minutes=1))
    [event] = d.events_of("deadline_escalated")
    assert (event.data["plazo_id"], event.data["level"]) == ("D12_notificacion_comar_inm", 1)
    assert event.data["task_bpmn_id"] == "notificar_inm_solicitud"
    assert "notificar_inm_solicitud" in d.ready()  # non-interrupting: still to be done


# ------------------------------------------------------------------ D13 (LRPCAP art. 24)
def test_decision_term_runs_from_the_filing_whatever_the_interview():
    """Issue 11: a claim filed on 2 March 2026 comes due on 6 May, end of day, although the form
    was recorded a week later and the interview three weeks after that."""
    d = filed(now=datetime(2026, 3, 9, 17, tzinfo=UTC), fecha_presentacion=FILED)
    task = d.task("resolver_solicitud")
    assert (task.deadline_id, task.due_at) == ("D13_resolucion_comar", D13_DUE)
    assert task.due_at == due("D13_resolucion_comar", noon(FILED))
    assert "LRPCAP art. 24" in task.legal_source
    d.complete("notificar_inm_solicitud")
    d.advance(timedelta(days=21))
    d.complete("entrevista_elegibilidad", fecha_entrevista="2026-03-30")
    assert d.task("resolver_solicitud").task_id == task.task_id  # the same task, same term
    assert d.task("resolver_solicitud").due_at == D13_DUE


def test_decision_term_escalates_even_if_the_interview_is_never_recorded():
    d = filed()
    d.complete("notificar_inm_solicitud")
    d.advance(D13_DUE - d.now - timedelta(minutes=1))
    assert escalations(d, "D13_resolucion_comar") == []
    d.advance(timedelta(minutes=2))
    [event] = [e for e in d.events_of("deadline_escalated") if e.data["plazo_id"].startswith("D13")]
    assert event.data["level"] == 1
    assert event.data["due_at"] == D13_DUE.isoformat()
    assert event.data["boundary_id"] == "plazo_resolucion_comar"
    assert event.data["task_bpmn_id"] == "resolver_solicitud"
    d.advance(timedelta(days=1))
    assert escalations(d, "D13_resolucion_comar") == [1, 2]
    assert d.ready() == ["entrevista_elegibilidad", "resolver_solicitud"]
    assert d.variables["asilo_pendiente"] is True


def test_the_decision_stops_its_term():
    d = at_resolution()
    d.complete("resolver_solicitud", resultado="refugiado")
    d.advance(timedelta(days=120))
    assert escalations(d, "D13_resolucion_comar") == []


def test_extension_once_by_an_equal_term_from_the_original_due_date():
    """LRPCAP art. 24: extended once, by up to 45 working days counted from the original due
    date (6 May), whenever it is granted; a second extension is refused."""
    d = at_resolution()
    d.advance(timedelta(days=10))
    d.complete("resolver_solicitud", extension())
    assert d.ready() == ["resolver_solicitud"]
    task = d.task("resolver_solicitud")
    extended = due("D13_resolucion_comar", D13_DUE)
    assert extended == datetime(2026, 7, 9, 5, 59, 59, 999999, tzinfo=UTC)  # 8 July, end of day
    assert (task.deadline_id, task.due_at) == ("D13_resolucion_comar", extended)
    assert "estatus_proteccion" not in d.variables

    error = refused_submission(d, "resolver_solicitud", extension("salud_impide_entrevista"))
    assert paths(error) == ["$.accion"]
    assert "una vez" in error.errors[0]["message"]

    d.advance(D13_DUE - d.now + timedelta(hours=1))
    assert escalations(d, "D13_resolucion_comar") == []  # the original date no longer applies
    d.advance(extended - d.now + timedelta(minutes=1))
    assert escalations(d, "D13_resolucion_comar") == [1]
    d.complete(
        "resolver_solicitud", fecha_resolucion="2026-07-09", fecha_notificacion_nna="2026-07-09"
    )
    assert d.variables["estatus_proteccion"] == "refugiado"


def test_extension_only_on_the_grounds_of_article_24():
    d = at_resolution()
    for bad in (
        extension() | {"motivo_ampliacion": "Pruebas"},
        {"accion": "ampliar_plazo", "motivo_ampliacion": "falta_informacion"},
    ):
        error = refused_submission(d, "resolver_solicitud", bad)
        assert paths(error) in (["$.motivo_ampliacion"], ["$.fundamentacion_ampliacion"])
    schema = route_engine().library.forms.schemas["resolver_solicitud.schema.json"]
    motivos = schema["properties"]["motivo_ampliacion"]
    assert motivos["enum"] == [
        "falta_informacion",
        "falta_traductor_especialista",
        "salud_impide_entrevista",
        "solicitante_aporta_elementos",
        "caso_fortuito_fuerza_mayor",
    ]
    assert all(v["es"] and v["en"] for v in motivos["x-enum-labels"].values())


# ------------------------------------------------------------------ D14 (LRPCAP art. 25)
def test_appeal_term_counts_from_the_notification_of_the_refusal():
    """Refusal notified on Friday 20 March, recorded on Wednesday 25 March: the 15 working days
    run from Monday 23 March (LFPA arts. 38, 85), not from the record."""
    d = at_resolution()
    d.advance(datetime(2026, 3, 25, 17, tzinfo=UTC) - d.now)
    refused(d, notified="2026-03-20", decided="2026-03-19")
    task = d.task("interponer_recurso_revision")
    assert task.deadline_id == "D14_recurso_revision"
    assert task.due_at == due("D14_recurso_revision", noon("2026-03-20"))
    assert task.due_at < due("D14_recurso_revision", d.now)
    assert "LRPCAP art. 25" in task.legal_source


def test_a_refusal_needs_its_notification_date():
    d = at_resolution()
    data = form_example(route_engine(), "resolver_solicitud.schema.json")
    data.update(resultado="negado")
    del data["fecha_notificacion_nna"]
    error = refused_submission(d, "resolver_solicitud", data)
    assert paths(error) == ["$.fecha_notificacion_nna"]


# ------------------------------------------------------------------ dates of facts are checked
def apoyo(**overrides) -> dict:
    data = form_example(route_engine(), "apoyar_solicitud_asilo.schema.json")
    data.update(overrides)
    return data


def test_a_filing_date_in_the_future_is_refused_and_nothing_is_written():
    d = Driver(process_id=PID, variables={"fecha_deteccion": "2026-02-02T17:00:00Z"})
    error = refused_submission(d, "apoyar_solicitud_asilo", apoyo(fecha_presentacion="2026-03-03"))
    assert paths(error) == ["$.fecha_presentacion"]
    assert "futuro" in error.errors[0]["message"]
    assert "apoyar_solicitud_asilo" not in d.case().forms
    assert "asilo_pendiente" not in d.variables
    # today, in central Mexico, is fine (it is 11:00 on 2 March there)
    d.complete("apoyar_solicitud_asilo", fecha_presentacion=FILED)
    assert d.variables["asilo_pendiente"] is True


def test_a_filing_date_before_detection_or_entry_is_refused():
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02T17:00:00Z", "fecha_ingreso_pais": "2026-01-26"},
    )
    error = refused_submission(d, "apoyar_solicitud_asilo", apoyo(fecha_presentacion="2026-01-20"))
    assert paths(error) == ["$.fecha_presentacion", "$.fecha_presentacion"]
    messages = " ".join(e["message"] for e in error.errors)
    assert "ingreso a México" in messages and "detección" in messages
    error = refused_submission(d, "apoyar_solicitud_asilo", apoyo(fecha_presentacion="2026-02-01"))
    assert paths(error) == ["$.fecha_presentacion"]
    d.complete("apoyar_solicitud_asilo", fecha_presentacion="2026-02-02")  # the day of detection
    assert d.variables["asilo_pendiente"] is True


def test_the_day_filing_became_possible_may_precede_detection_not_entry():
    variables = {"fecha_deteccion": "2026-02-02T17:00:00Z", "fecha_ingreso_pais": "2026-01-26"}
    pending = {
        "nna_informada_derecho_asilo": True,
        "presenta_solicitud": False,
        "decision_pendiente": True,
    }
    d = Driver(process_id=PID, variables=variables)
    error = refused_submission(
        d, "apoyar_solicitud_asilo", pending | {"fecha_posible_presentacion": "2026-01-25"}
    )
    assert paths(error) == ["$.fecha_posible_presentacion"]
    d.complete("apoyar_solicitud_asilo", pending | {"fecha_posible_presentacion": "2026-01-28"})
    assert d.task("apoyar_solicitud_asilo").due_at == due("D10_solicitud_asilo", noon("2026-01-28"))


def test_decision_and_notification_dates_follow_the_filing():
    d = at_resolution()
    early = refused_submission(
        d,
        "resolver_solicitud",
        {
            "accion": "resolver",
            "resultado": "negado",
            "fecha_resolucion": "2026-03-01",
            "fundamentacion": "Sin temor fundado.",
            "fecha_notificacion_nna": "2026-02-27",
        },
    )
    assert paths(early) == [
        "$.fecha_resolucion",
        "$.fecha_notificacion_nna",
        "$.fecha_notificacion_nna",
    ]
    d.advance(timedelta(days=3))  # 5 March
    later = refused_submission(
        d,
        "resolver_solicitud",
        {
            "accion": "resolver",
            "resultado": "negado",
            "fecha_resolucion": "2026-03-04",
            "fundamentacion": "Sin temor fundado.",
            "fecha_notificacion_nna": "2026-03-03",  # before the decision it notifies
        },
    )
    assert paths(later) == ["$.fecha_notificacion_nna"]
    future = refused_submission(
        d,
        "resolver_solicitud",
        {
            "accion": "resolver",
            "resultado": "negado",
            "fecha_resolucion": "2026-03-04",
            "fundamentacion": "Sin temor fundado.",
            "fecha_notificacion_nna": "2026-03-06",
        },
    )
    assert paths(future) == ["$.fecha_notificacion_nna"]


def test_the_notice_to_inm_cannot_precede_the_filing_nor_be_in_the_future():
    d = filed()
    notice = form_example(route_engine(), "notificar_inm_solicitud.schema.json")
    for when in ("2026-03-01T23:00:00-06:00", "2026-03-02T18:00:00Z"):
        error = refused_submission(
            d, "notificar_inm_solicitud", copy.deepcopy(notice) | {"fecha_hora_notificacion": when}
        )
        assert paths(error) == ["$.fecha_hora_notificacion"]
    # a few minutes ahead of the server's clock is tolerated (devices' clocks drift)
    d.complete("notificar_inm_solicitud", fecha_hora_notificacion="2026-03-02T17:03:00Z")
    assert "entrevista_elegibilidad" in d.ready()
