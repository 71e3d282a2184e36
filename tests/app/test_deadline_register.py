"""The deadline register (issue 11): every deadline instance is a row that is never deleted.

Through the API and the worker, on both databases: a deadline whose start event happened before
it was recorded starts at that event (audited as backdated), is breached once its due instant
passes, stays breached after the task is done, with its lateness; a deadline done in time is met;
deadlines armed before the register existed get their row when they escalate.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.clock import set_clock
from app.services import deadlines
from app.tables import AuditEvent, Authority, Case, DeadlineRegister
from bench.deadline_seed import seed_cases
from tests.app.helpers import opening_form

D1 = "D1_notificacion_procuraduria"


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def _register(folio: str) -> dict[str, dict]:
    rows = await DeadlineRegister.select().where(DeadlineRegister.case == await _case_id(folio))
    return {r["plazo_id"]: r for r in rows}


async def _open(api, detected: datetime) -> str:
    body = {
        "form": opening_form(fecha_deteccion=detected.isoformat().replace("+00:00", "Z")),
        "identidad": {"nombres": "Registro", "apellidos": "Plazos"},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["folio"]


async def test_a_late_backdated_deadline_is_breached_at_once_and_stays_breached(api):
    """Detected 30 h before the case was recorded: D1 (24 h from detection) starts at the
    detection, is audited as a backdated start, breached at once; done later, it stays breached
    with its lateness."""
    detected = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    folio = await _open(api, detected)
    await api.complete(folio, "registrar_deteccion")
    row = (await _register(folio))[D1]
    inm = await Authority.select(Authority.id).where(Authority.code == "INM-07").first()
    assert row["started_at"] == detected
    assert row["due_at"] == detected + timedelta(hours=24)
    assert row["backdated"] is True and row["armed_at"] > detected + timedelta(hours=29)
    assert row["status"] == "breached" and row["breached_at"] == row["due_at"]
    assert row["levels_reached"] == 3 and row["closed_at"] is None
    assert row["authority_id"] == inm["id"] and row["estado"] == "07"
    assert row["start_event"] and "detección" in row["start_event"]
    backdated = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == row["case_id"]) & (AuditEvent.action == "deadline.backdated_start")
    )
    assert [json.loads(b["changes"])["deadline"] for b in backdated] == [D1]

    await api.complete(folio, "notificar_procuraduria")
    row = (await _register(folio))[D1]
    assert row["status"] == "breached"  # a breach is a fact: done late is still late
    assert row["outcome"] == "completed" and row["closed_at"] is not None
    assert row["closed_at"] - row["due_at"] > timedelta(hours=5, minutes=59)


async def test_a_deadline_done_in_time_is_met(api):
    folio = await _open(api, datetime.now(UTC))
    await api.complete(folio, "registrar_deteccion")
    assert (await _register(folio))[D1]["status"] == "running"
    await api.complete(folio, "notificar_procuraduria")
    register = await _register(folio)
    assert register[D1]["status"] == "met" and register[D1]["breached_at"] is None
    assert register[D1]["outcome"] == "completed" and register[D1]["backdated"] is False
    assert register[D1]["levels_reached"] == 0
    # the next deadline (D2, from detection) is running now
    assert register["D2_acta_canalizacion"]["status"] == "running"


async def test_the_worker_breaches_a_running_deadline_and_it_is_never_deleted(api):
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    set_clock(lambda: t0)
    try:
        folio = await _open(api, t0)
        await api.complete(folio, "registrar_deteccion")
    finally:
        set_clock(None)
    due = t0 + timedelta(hours=24)
    await deadlines.sweep(due + timedelta(seconds=1))
    row = (await _register(folio))[D1]
    assert (row["status"], row["levels_reached"], row["breached_at"]) == ("breached", 1, due)
    await deadlines.sweep(due + timedelta(hours=5))
    rows = await DeadlineRegister.select().where(DeadlineRegister.case == row["case_id"])
    assert [
        (r["plazo_id"], r["status"], r["levels_reached"]) for r in rows if r["plazo_id"] == D1
    ] == [(D1, "breached", 3)]


async def test_a_deadline_armed_before_the_register_gets_its_row_when_it_escalates(cleanup):
    """Cases saved before the register existed (here: states copied without their start)
    are not lost: their first escalation inserts the row, start unknown, breached."""
    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=11)
    prefix = f"REG-{t0:%H}"
    cleanup.append(prefix + "-")
    ids = await seed_cases(3, t0, prefix=prefix)
    await deadlines.sweep(t0 + timedelta(hours=24, seconds=1))
    rows = await DeadlineRegister.select().where(DeadlineRegister.case.is_in(ids))
    assert sorted(r["case_id"] for r in rows) == sorted(ids)
    for r in rows:
        assert (r["plazo_id"], r["status"], r["levels_reached"]) == (D1, "breached", 1)
        assert r["started_at"] is None and r["due_at"] == t0 + timedelta(hours=24)
