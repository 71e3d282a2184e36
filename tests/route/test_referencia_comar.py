"""Path tests for referencia_comar (asylum claim: LRPCAP arts. 11, 18, 24, 25; SCJN protocol).

Every branch: not filed, filed by a third person (ratified / not), withdrawal, refugee status,
complementary protection, refusal with and without appeal, term extension, and the legal deadlines
(D10, D12, D13 on the working-day calendar).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.route.driver import DEFAULT_NOW, Driver

PID = "referencia_comar"
MX = ZoneInfo("America/Mexico_City")
#: LFT art. 74 rest days of 2026 (first Monday of February, third Monday of March, 1 May, ...).
INHABILES_2026 = {
    date(2026, 1, 1),
    date(2026, 2, 2),
    date(2026, 3, 16),
    date(2026, 5, 1),
    date(2026, 9, 16),
    date(2026, 11, 16),
    date(2026, 12, 25),
}


def dias_habiles(desde: datetime, n: int) -> datetime:
    """End of the n-th federal working day after ``desde`` (Mexico City), in UTC."""
    day = desde.astimezone(MX).date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in INHABILES_2026:
            counted += 1
    return datetime.combine(day, time(23, 59, 59, 999999), MX).astimezone(timezone.utc)


def changes(d: Driver) -> list[tuple[str, object]]:
    return [(e.data["name"], e.data["new"]) for e in d.events_of("case_variable_set")]


def filed(variables: dict | None = None, **apoyo) -> Driver:
    """Start the process and file the claim (with the form example unless overridden)."""
    d = Driver(process_id=PID, variables=variables or {})
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


def test_filing_blocks_consular_contact_and_reaches_comar():
    d = filed()
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    assert ("asilo_pendiente", True) in changes(d)
    assert d.ready() == ["notificar_inm_solicitud"]
    assert d.task("notificar_inm_solicitud").lane == "COMAR"


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
    d.complete("resolver_solicitud", resultado="negado")
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
    d.complete("resolver_solicitud", resultado="negado")
    d.complete("interponer_recurso_revision")
    d.complete("resolver_recurso")  # example: complementaria
    assert d.end_state == "fin_rc_proteccion_reconocida"
    assert d.variables["estatus_proteccion"] == "complementaria"
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is True


def test_refused_without_appeal_unblocks_consular_contact():
    d = at_resolution()
    d.complete("resolver_solicitud", resultado="negado")
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
    assert d.ready() == ["notificar_inm_solicitud"]


def test_unratified_claim_lapses():
    d = filed(presentada_por="tercero")
    d.complete(
        "ratificar_solicitud",
        {"ratificada": False, "nna_escuchada": True, "motivo_no_ratificada": "No compareció."},
    )
    assert d.end_state == "fin_rc_no_ratificada"
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is False


def test_withdrawal_at_interview():
    d = filed()
    d.complete("notificar_inm_solicitud")
    d.complete(
        "entrevista_elegibilidad",
        {
            "desistimiento": True,
            "fecha_desistimiento": "2026-03-10",
            "motivo_desistimiento": "Desea regresar con su familia.",
        },
    )
    assert d.end_state == "fin_rc_desistimiento"
    assert d.variables["asilo_pendiente"] is False
    assert d.variables["contacto_consular_bloqueado"] is False
    assert "estatus_proteccion" not in d.variables


def test_comar_notifies_inm_within_72_hours():
    d = filed()
    task = d.task("notificar_inm_solicitud")
    assert task.deadline_id == "D12_notificacion_comar_inm"
    assert task.due_at == DEFAULT_NOW + timedelta(hours=72)
    d.advance(timedelta(hours=72, minutes=1))
    [event] = d.events_of("deadline_escalated")
    assert event.data["plazo_id"] == "D12_notificacion_comar_inm"
    assert event.data["level"] == 1
    assert event.data["task_bpmn_id"] == "notificar_inm_solicitud"
    assert d.ready() == ["notificar_inm_solicitud"]  # non-interrupting: still to be done


def test_filing_deadline_counts_30_working_days_from_detection():
    d = Driver(process_id=PID, variables={"fecha_deteccion": "2026-02-02"})
    task = d.task("apoyar_solicitud_asilo")
    assert task.deadline_id == "D10_solicitud_asilo"
    desde = datetime(2026, 2, 2, 12, tzinfo=MX)
    assert task.due_at == dias_habiles(desde, 30)  # 17 March 2026, end of day
    assert task.due_at == datetime(2026, 3, 18, 5, 59, 59, 999999, tzinfo=timezone.utc)


def test_filing_deadline_counts_from_entry_into_mexico_when_known():
    """LRPCAP art. 18 counts from entry into the country: an entry date before detection moves
    the deadline earlier."""
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-26"},
    )
    task = d.task("apoyar_solicitud_asilo")
    assert task.deadline_id == "D10_solicitud_asilo"
    assert task.due_at == dias_habiles(datetime(2026, 1, 26, 12, tzinfo=MX), 30)
    # 26 Jan + 30 working days, skipping 2 Feb (Constitution Day) -> Tue 10 Mar 2026, end of day
    assert task.due_at == datetime(2026, 3, 11, 5, 59, 59, 999999, tzinfo=timezone.utc)
    without = Driver(process_id=PID, variables={"fecha_deteccion": "2026-02-02"})
    assert without.task("apoyar_solicitud_asilo").due_at > task.due_at
    assert d.events_of("deadline_escalated") == []


def test_a_deadline_already_past_when_armed_reports_every_level_at_once():
    """A child who entered in mid-January reaches the asylum step in March: the 30 working days
    ran out on 24 February and all three levels (supervisor, head, oversight) are overdue. The
    engine fires them in the pass that arms the timer; each is reported, none is lost."""
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-12"},
    )
    due = datetime(2026, 2, 25, 5, 59, 59, 999999, tzinfo=timezone.utc)
    events = d.events_of("deadline_escalated")
    assert [e.data["level"] for e in events] == [1, 2, 3]
    assert {e.data["due_at"] for e in events} == {due.isoformat()}
    assert [e.data["level_due_at"] for e in events] == [
        (due + timedelta(days=k)).isoformat() for k in range(3)
    ]
    assert all(e.data["task_bpmn_id"] == "apoyar_solicitud_asilo" for e in events)
    assert all(e.data["task_id"] for e in events)
    assert d.ready() == ["apoyar_solicitud_asilo"]  # still to be done
    d.advance(timedelta(days=5))
    assert len(d.events_of("deadline_escalated")) == 3  # and never reported again


def test_a_deadline_partly_past_when_armed_reports_the_spent_levels_then_the_rest():
    """Armed between level 1 and level 2: level 1 is reported at once, the others on time."""
    due = datetime(2026, 2, 25, 5, 59, 59, 999999, tzinfo=timezone.utc)
    d = Driver(
        process_id=PID,
        variables={"fecha_deteccion": "2026-02-02", "fecha_ingreso_pais": "2026-01-12"},
        now=due + timedelta(hours=12),
    )
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1]
    d.advance(timedelta(hours=11))
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1]
    d.advance(timedelta(hours=2))
    events = d.events_of("deadline_escalated")
    assert [e.data["level"] for e in events] == [1, 2]
    assert events[1].data["level_due_at"] == (due + timedelta(days=1)).isoformat()


def test_missed_resolution_deadline_escalates_on_45th_working_day():
    d = at_resolution()
    task = d.task("resolver_solicitud")
    due = dias_habiles(DEFAULT_NOW, 45)
    # 3 March + 45 working days, skipping 16 March and 1 May 2026 -> 6 May, 23:59:59 local.
    assert due == datetime(2026, 5, 7, 5, 59, 59, 999999, tzinfo=timezone.utc)
    assert (task.deadline_id, task.due_at) == ("D13_resolucion_comar", due)
    assert "LRPCAP art. 24" in task.legal_source

    d.advance(due - d.now - timedelta(minutes=1))
    assert d.events_of("deadline_escalated") == []
    d.advance(timedelta(minutes=2))
    [event] = d.events_of("deadline_escalated")
    assert event.data["plazo_id"] == "D13_resolucion_comar"
    assert event.data["level"] == 1
    assert event.data["due_at"] == due.isoformat()
    assert event.data["boundary_id"] == "plazo_resolucion_comar"
    d.advance(timedelta(days=1))
    assert [e.data["level"] for e in d.events_of("deadline_escalated")] == [1, 2]
    assert d.ready() == ["resolver_solicitud"]
    assert d.variables["asilo_pendiente"] is True


def test_extension_opens_a_new_equal_term():
    d = at_resolution()
    d.advance(timedelta(days=10))
    d.complete("resolver_solicitud", accion="ampliar_plazo", motivo_ampliacion="Pruebas")
    assert d.ready() == ["resolver_solicitud"]
    assert d.task("resolver_solicitud").due_at == dias_habiles(d.now, 45)
    assert "estatus_proteccion" not in d.variables
    d.complete("resolver_solicitud")
    assert d.variables["estatus_proteccion"] == "refugiado"
