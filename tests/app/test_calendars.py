"""Calendars per authority and year (issue 11): declared non-working days move open deadlines
through the worker's queued recompute, and years without them warn (log, compliance report).

The declared days used here are in 2031, a year no other test counts in; the declaration is
withdrawn at the end, so other tests' deadlines never see it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from app.principal import SYSTEM
from app.route_engine import calendario, route_engine
from app.services import calendars, deadlines
from app.tables import AuditEvent, WorkflowState
from tests.app.helpers import retire_cases, store_case


def end_of(d: date) -> datetime:
    """End of the local day (Mexico City, UTC-6 since 2022) as a UTC instant."""
    return datetime(d.year, d.month, d.day, 5, 59, 59, 999999, tzinfo=UTC) + timedelta(days=1)


# D10 (30 working days, COMAR's calendar) counted from Mon 24 Mar 2031 10:00 local. By hand,
# from Tue 25 Mar: Mar 25-28 (4), Mar 31-Apr 4 (9), Apr 7-11 (14), 14-18 (19), 21-25 (24),
# 28-30 (27), Thu 1 May skipped (LFPA 28), Fri 2 May (28), Mon 5 May skipped (LFPA 28: 5 de mayo),
# 6 (29), 7 (30) -> Wed 7 May 2031.
DESDE = datetime(2031, 3, 24, 16, 0, tzinfo=UTC)
VENCE = end_of(date(2031, 5, 7))
# Easter 2031 is Sunday 13 April: COMAR declares Holy Thursday 10 and Good Friday 11 April. Two
# working days lost: Apr 7-9 (12), 14-18 (17), 21-25 (22), 28-30 (25), 2 May (26), 6-9 (30)
# -> Fri 9 May 2031.
SEMANA_SANTA = [date(2031, 4, 10), date(2031, 4, 11)]
VENCE_CON_SEMANA_SANTA = end_of(date(2031, 5, 9))


async def _next_due(case_id: int) -> datetime:
    row = await WorkflowState.select(WorkflowState.next_due_at).where(WorkflowState.case == case_id)
    return row[0]["next_due_at"]


async def _retire(case_id: int) -> None:
    await retire_cases([case_id])


def _keys(found: list[dict]) -> set[tuple[str, int]]:
    return {(w["autoridad"], w["anio"]) for w in found}


async def test_declared_days_move_open_comar_deadlines_through_the_worker(api):
    engine_case = route_engine().start_case(
        None,
        DESDE,
        process_id="referencia_comar",
        variables={"jurisdiccion": "12", "fecha_deteccion": DESDE.isoformat()},
    )
    assert engine_case.next_due_at() == VENCE
    # Recomputes other tests queued and no sweep ran since (a declaration or suspension of
    # theirs) finish first: run after this test's declaration, they would move this case with
    # the calendar as it is then, and the recompute of this declaration would find it moved.
    await deadlines.sweep(datetime.now(UTC), limit=0, batch_size=50)
    case_id = await store_case("CAL-GRO-000001", "12", engine_case, index_tasks_at=DESDE)
    try:
        # 2031 is in use (an open COMAR deadline runs into it) and has no declared days.
        assert ("COMAR", 2031) in _keys(await calendars.warnings())

        bad = [
            ({"autoridad": "SEGOB", "dias": SEMANA_SANTA, "fuente": "x"}, "$.autoridad"),
            ({"autoridad": "COMAR", "fuente": "x"}, "$.dias"),
            ({"autoridad": "COMAR", "dias": SEMANA_SANTA, "fuente": " "}, "$.fuente"),
            (
                {
                    "autoridad": "COMAR",
                    "periodos": [(date(2031, 4, 11), date(2031, 4, 10))],
                    "fuente": "x",
                },
                "$.periodos[0]",
            ),
        ]
        for kwargs, path in bad:
            with pytest.raises(Exception) as info:
                await calendars.declare_days(SYSTEM, **kwargs)
            assert info.value.status_code == 422 and info.value.errors[0]["path"] == path

        added = await calendars.declare_days(
            SYSTEM,
            autoridad="COMAR",
            dias=SEMANA_SANTA,
            fuente="Acuerdo de prueba por el que la COMAR declara inhábiles los días 10 y 11 de "
            "abril de 2031, DOF",
            motivo="Semana Santa",
        )
        assert added["dias"] == SEMANA_SANTA and added["anios"] == [2031]
        # Stored and audited; the request only queues the recompute: the case has not moved.
        assert added["recompute"]["status"] == "queued"
        assert added["recompute"]["cases_total"] >= 1
        assert await _next_due(case_id) == VENCE
        audited = await AuditEvent.select(AuditEvent.changes).where(
            AuditEvent.action == "calendar.days_declared"
        )
        assert any(json.loads(a["changes"])["declaration_id"] == added["id"] for a in audited)
        # The process's calendar has them at once (new cases count on it).
        assert calendario().sumar_dias_habiles(DESDE, 30, "12", "COMAR") == (VENCE_CON_SEMANA_SANTA)
        assert calendario().sumar_dias_habiles(DESDE, 30, "12", "INM") == VENCE

        # The worker recomputes the open cases, in batches, and records its progress.
        result = await deadlines.sweep(datetime.now(UTC), limit=0, batch_size=50)
        assert result.recomputed >= 1
        done = await calendars.get_declaration(SYSTEM, added["id"])
        assert done["recompute"]["status"] == "done"
        assert done["recompute"]["cases_done"] == done["recompute"]["cases_total"]
        assert done["recompute"]["cases_changed"] >= 1
        # (cases_failed counts other tests' open cases too: one runs a route version that
        # cannot be continued on purpose; this test's case is checked below)
        assert await _next_due(case_id) == VENCE_CON_SEMANA_SANTA
        moved = await AuditEvent.select(AuditEvent.changes).where(
            (AuditEvent.case_id == case_id) & (AuditEvent.action == "deadline.recomputed")
        )
        assert [json.loads(m["changes"])["declaration_id"] for m in moved] == [added["id"]]
        assert json.loads(moved[0]["changes"])["deadline"] == "D10_solicitud_asilo"
        assert ("COMAR", 2031) not in _keys(await calendars.warnings())

        # Withdrawn (entered by mistake): the days count again, the case moves back.
        withdrawn = await calendars.withdraw(SYSTEM, added["id"], motivo="prueba")
        assert withdrawn["withdrawn_at"] is not None
        assert withdrawn["recompute"]["status"] == "queued"
        with pytest.raises(Exception) as info:
            await calendars.withdraw(SYSTEM, added["id"])
        assert info.value.status_code == 409
        await deadlines.sweep(datetime.now(UTC), limit=0, batch_size=50)
        assert await _next_due(case_id) == VENCE
        assert ("COMAR", 2031) in _keys(await calendars.warnings())
    finally:
        await _retire(case_id)
    assert ("COMAR", 2031) not in _keys(await calendars.warnings())  # no open deadline in 2031


async def test_only_an_admin_or_that_authority_s_head_may_declare(api):
    from app.errors import Forbidden
    from app.services.auth import principal_for_user

    for username in ("inm-07.head", "procuraduria-07.head", "cndh.oversight"):
        who = await principal_for_user(username)
        with pytest.raises(Forbidden):
            await calendars.declare_days(
                who, autoridad="COMAR", dias=[date(2031, 12, 31)], fuente="x"
            )


async def test_compliance_report_lists_calendar_warnings(api):
    now = datetime.now(UTC)
    r = await api.get("cndh.oversight", "/api/v1/oversight/compliance")
    assert r.status_code == 200, r.text
    found = r.json()["calendar_warnings"]
    # Nothing is declared for COMAR this year in the shipped config or by any test.
    mine = [w for w in found if w["autoridad"] == "COMAR" and w["anio"] == now.year]
    assert len(mine) == 1
    w = mine[0]
    assert w["code"] == "calendar.year_without_declared_days"
    assert w["regimen"] == "lfpa_28"
    assert w["plazos"] == [
        "D10_solicitud_asilo",
        "D11_ratificacion_solicitud",
        "D13_resolucion_comar",
        "D14_recurso_revision",
    ]
    assert w["mensaje"].startswith(
        f"No se han cargado los días inhábiles que COMAR declaró para {now.year}"
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def calendar_log():
    logger = logging.getLogger("careroute.calendars")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    calendars.reset_log_state()
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)
    calendars.reset_log_state()


async def test_worker_logs_warnings_once_per_change_without_flooding(calendar_log, monkeypatch):
    found = [{"autoridad": "COMAR", "anio": 2031}]

    async def fake(now):
        return list(found)

    monkeypatch.setattr(calendars, "warnings", fake)
    t = datetime(2031, 1, 5, 12, tzinfo=UTC)
    assert await calendars.log_warnings(t)
    assert [r.levelno for r in calendar_log] == [logging.WARNING]
    assert "COMAR" in calendar_log[0].getMessage() and "2031" in calendar_log[0].getMessage()
    # Sweeps every 30 s: not checked again for CHECK_EVERY, then the same warning is not
    # repeated until REPEAT_EVERY.
    for step in (timedelta(seconds=30), timedelta(minutes=10), timedelta(hours=5)):
        assert not await calendars.log_warnings(t + step)
    assert len(calendar_log) == 1
    assert await calendars.log_warnings(t + calendars.REPEAT_EVERY + timedelta(minutes=1))
    assert len(calendar_log) == 2
    # A change is logged at the next check; so is the end of the warnings, once.
    t2 = t + calendars.REPEAT_EVERY + timedelta(minutes=10)
    found.append({"autoridad": "COMAR", "anio": 2032})
    assert await calendars.log_warnings(t2)
    assert "2031, 2032" in calendar_log[-1].getMessage()
    found.clear()
    assert await calendars.log_warnings(t2 + timedelta(minutes=10))
    assert calendar_log[-1].levelno == logging.INFO
    assert not await calendars.log_warnings(t2 + timedelta(hours=12))
    assert len(calendar_log) == 4


async def test_a_sweep_logs_the_real_warnings_once(api, calendar_log):
    now = datetime.now(UTC)
    await deadlines.sweep(now, limit=0)
    await deadlines.sweep(now + timedelta(seconds=30), limit=0)
    warned = [r for r in calendar_log if r.levelno == logging.WARNING]
    assert len(warned) == 1  # COMAR, this year (nothing declared), once for both sweeps
    assert "COMAR" in warned[0].getMessage() and str(now.year) in warned[0].getMessage()
