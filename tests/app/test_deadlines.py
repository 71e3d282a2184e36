"""Deadline worker (issue 4): injected clock, escalation levels, notifications, outbox, exactly
once with concurrent workers, killed sweeps, suspensions and the oversight compliance API.

Every sweep here passes ``now`` explicitly (the injected clock) and fires every case due by then,
also other tests' (in any order: pytest-randomly shuffles them); so the assertions look only at
the cases, outbox rows and notifications the test created. Tests that seed many cases retire them
afterwards (``cleanup``), so a later sweep with a later clock never fires them again.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

from app import db
from app.cases import repository
from app.cases.handlers import PROJECTIONS, escalations
from app.clock import set_clock
from app.route_engine import calendario, library, route_engine
from app.services import deadlines
from app.tables import (
    AuditEvent,
    Case,
    DeadlineEscalation,
    DeadlineRegister,
    Notification,
    NotificationOutbox,
    Task,
    User,
    WorkflowState,
)
from bench.deadline_seed import seed_cases
from tests.app.helpers import opening_form, store_case

S = timedelta(seconds=1)
H = timedelta(hours=1)


def _t0(hour_offset: int = 0) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0, second=0, minute=0)
    return now + timedelta(hours=hour_offset)


async def _escalations(case_ids: list[int], level: int | None = None) -> list[dict]:
    query = DeadlineEscalation.select().where(DeadlineEscalation.case.is_in(case_ids))
    if level is not None:
        query = query.where(DeadlineEscalation.level == level)
    return await query


async def _audit_count(case_ids: list[int], action: str) -> int:
    return await AuditEvent.count().where(
        AuditEvent.case_id.is_in(case_ids) & (AuditEvent.action == action)
    )


async def _user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def test_24h_deadline_fires_once_at_24h_and_not_before(api):
    t0 = _t0(-1)
    set_clock(lambda: t0)
    try:
        body = {
            "form": opening_form(fecha_deteccion=t0.isoformat().replace("+00:00", "Z")),
            "identidad": {"nombres": "Reloj", "apellidos": "Prueba"},
        }
        r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
        assert r.status_code == 201, r.text
        folio = r.json()["folio"]
        await api.complete(folio, "registrar_deteccion")
    finally:
        set_clock(None)
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "notificar_procuraduria")
    due = t0 + timedelta(hours=24)
    assert datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")) == due
    state = await WorkflowState.select(WorkflowState.next_due_at).where(
        WorkflowState.case == case_id
    )
    assert state[0]["next_due_at"] == due  # the indexed column the worker queries

    # Not before: a second before, and at the instant itself (a timer fires once it has passed).
    await deadlines.sweep(due - S)
    await deadlines.sweep(due)
    assert await _escalations([case_id]) == []

    # Fires once at 24 h; sweeping again at the same instant (or a second later) adds nothing.
    await deadlines.sweep(due + S)
    await deadlines.sweep(due + S)
    await deadlines.sweep(due + 2 * S)
    rows = await _escalations([case_id])
    assert [(r["plazo_id"], r["level"]) for r in rows] == [("D1_notificacion_procuraduria", 1)]
    assert rows[0]["task_id"] == task["task_id"] and rows[0]["fired_at"] == due + S
    assert await _audit_count([case_id], "deadline.escalated") == 1
    supervisor = await _user_id("inm-07.supervisor")
    notes = await Notification.select().where(Notification.task_id == task["task_id"])
    assert [(n["user_id"], n["level"], n["kind"]) for n in notes] == [
        (supervisor, 1, "deadline.escalated")
    ]
    inbox_task = await Task.select(Task.escalation_level).where(Task.task_id == task["task_id"])
    assert inbox_task[0]["escalation_level"] == 1

    # Level 2 (head) one hour later, level 3 (oversight breach) one more hour later.
    await deadlines.sweep(due + H + S)
    await deadlines.sweep(due + 2 * H + S)
    await deadlines.sweep(due + 5 * H)
    rows = await _escalations([case_id])
    assert sorted(r["level"] for r in rows) == [1, 2, 3]
    notes = await Notification.select(Notification.user, Notification.level).where(
        Notification.task_id == task["task_id"]
    )
    head = await _user_id("inm-07.head")
    oversight = await _user_id("cndh.oversight")
    assert {(n["user_id"], n["level"]) for n in notes} == {
        (supervisor, 1),
        (head, 2),
        (oversight, 3),
    }
    assert await _audit_count([case_id], "deadline.breach_recorded") == 1

    # The supervisor sees the notification and marks it read; nobody else can.
    mine = (await api.get("inm-07.supervisor", "/api/v1/notifications")).json()
    note = next(n for n in mine if n["task_id"] == task["task_id"])
    assert note["case_folio"] == folio and note["plazo_id"] == "D1_notificacion_procuraduria"
    assert note["read_at"] is None and note["due_at"]
    other = await api.post("inm-07.head", f"/api/v1/notifications/{note['id']}/read")
    assert other.status_code == 404
    read = await api.post("inm-07.supervisor", f"/api/v1/notifications/{note['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"]
    unread = (await api.get("inm-07.supervisor", "/api/v1/notifications?unread=true")).json()
    assert note["id"] not in {n["id"] for n in unread}

    # The breach is visible to oversight (open: the task is still open), not to others.
    breaches = (await api.get("cndh.oversight", "/api/v1/oversight/breaches?open=true")).json()
    assert any(b["task_id"] == task["task_id"] and b["authority"] == "INM-07" for b in breaches)
    assert (await api.get("inm-07.head", "/api/v1/oversight/breaches")).status_code == 403


async def test_a_case_registered_after_its_deadline_escalates_at_once(api):
    """Detection three days before the case reaches the API: the 24 h notice to the Procuraduría
    (D1) and both escalation intervals are already past when the task is routed. Every level is
    recorded and notified in the officer's own command, with nothing left for the worker."""
    detected = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    body = {
        "form": opening_form(fecha_deteccion=detected.isoformat().replace("+00:00", "Z")),
        "identidad": {"nombres": "Tarde", "apellidos": "Prueba"},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    folio = r.json()["folio"]
    await api.complete(folio, "registrar_deteccion")
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "notificar_procuraduria")
    rows = await _escalations([case_id])
    assert sorted(r["level"] for r in rows) == [1, 2, 3]
    assert {r["task_id"] for r in rows} == {task["task_id"]}
    due = detected + timedelta(hours=24)
    assert {r["due_at"] for r in rows} == {due}
    notes = await Notification.select(Notification.user, Notification.level).where(
        Notification.task_id == task["task_id"]
    )
    assert {(n["user_id"], n["level"]) for n in notes} == {
        (await _user_id("inm-07.supervisor"), 1),
        (await _user_id("inm-07.head"), 2),
        (await _user_id("cndh.oversight"), 3),
    }
    assert await _audit_count([case_id], "deadline.escalated") == 3
    assert await _audit_count([case_id], "deadline.breach_recorded") == 1
    # Nothing is left due for the worker on this case.
    state = await WorkflowState.select(WorkflowState.next_due_at).where(
        WorkflowState.case == case_id
    )
    assert state[0]["next_due_at"] is None or state[0]["next_due_at"] > datetime.now(UTC)


async def test_each_due_timer_fires_exactly_once_with_two_workers(cleanup):
    """PostgreSQL: two workers at once (SKIP LOCKED claims) fire 1,000 due timers exactly once.
    SQLite: the same two sweeps run, serialised by the write lock (one worker at a time)."""
    n = 1000
    t0 = _t0(10)
    cleanup.append(f"W2-{t0:%H}-")
    ids = await seed_cases(n, t0, prefix=f"W2-{t0:%H}")
    now = t0 + timedelta(hours=24) + S
    results = await asyncio.gather(deadlines.sweep(now), deadlines.sweep(now))
    rows = await _escalations(ids)
    assert len(rows) == n and {r["level"] for r in rows} == {1}
    assert len({r["task_id"] for r in rows}) == n
    assert await _audit_count(ids, "deadline.escalated") == n
    assert await Notification.count().where(Notification.case_folio.like(f"W2-{t0:%H}-%")) == n
    # the deadline register: one row per deadline, breached once, by whichever worker fired it
    register = await DeadlineRegister.select(
        DeadlineRegister.case, DeadlineRegister.status, DeadlineRegister.levels_reached
    ).where(DeadlineRegister.case.is_in(ids))
    assert len(register) == n and len({r["case_id"] for r in register}) == n
    assert {(r["status"], r["levels_reached"]) for r in register} == {("breached", 1)}
    mine = [r.cases for r in results]
    assert sum(mine) >= n
    if not db.is_sqlite():
        # Both workers really worked (claims interleave); neither fired a case the other did.
        assert all(c > 0 for c in mine), mine
    due = await WorkflowState.count().where(
        WorkflowState.case.is_in(ids) & (WorkflowState.next_due_at < now)
    )
    assert due == 0


async def test_worker_killed_mid_sweep_loses_nothing_and_never_doubles(cleanup):
    n = 150
    t0 = _t0(6)
    prefix = f"KILL-{t0:%H}"
    cleanup.append(prefix + "-")
    ids = await seed_cases(n, t0, prefix=prefix)
    now = t0 + timedelta(hours=24) + S
    worker = asyncio.create_task(deadlines.sweep(now))
    for _ in range(2000):
        await asyncio.sleep(0.005)
        if len(await _escalations(ids)) >= 20:
            break
    worker.cancel()
    try:
        await worker
    except asyncio.CancelledError:
        pass
    fired_before = len(await _escalations(ids))
    assert 0 < fired_before < n, fired_before  # really killed mid-sweep
    await deadlines.sweep(now)  # the next sweep finishes the work
    await deadlines.sweep(now)
    rows = await _escalations(ids)
    assert len(rows) == n and len({r["task_id"] for r in rows}) == n
    assert await _audit_count(ids, "deadline.escalated") == n
    assert await _audit_count(ids, "deadline.notified") == n
    assert await Notification.count().where(Notification.case_folio.like(f"{prefix}-%")) == n


async def test_a_case_that_fails_mid_batch_rolls_back_alone(cleanup, monkeypatch):
    """Cases fire in batches (one transaction, a savepoint per case). A case that fails after
    its state, task index and escalation rows were written rolls back alone, leaves no audit
    event, stays due; the rest of its batch commits; the next sweep fires it."""
    t0 = _t0(5)
    prefix = f"SAVE-{t0:%H}"
    cleanup.append(prefix + "-")
    ids = await seed_cases(5, t0, prefix=prefix)
    bad = ids[2]
    before = await WorkflowState.select(WorkflowState.version, WorkflowState.state).where(
        WorkflowState.case == bad
    )
    real_record = escalations.record

    async def failing_record(session, event):
        await real_record(session, event)  # writes, then fails
        if session.case.id == bad:
            raise RuntimeError("sender table unavailable")

    handlers = PROJECTIONS["deadline_escalated"]
    monkeypatch.setitem(
        PROJECTIONS,
        "deadline_escalated",
        [failing_record if h is real_record else h for h in handlers],
    )
    now = t0 + timedelta(hours=24) + S
    result = await deadlines.sweep(now, batch_size=5)
    assert bad in result.failed
    fired = {r["case_id"] for r in await _escalations(ids)}
    assert fired == set(ids) - {bad}
    after = await WorkflowState.select(
        WorkflowState.version, WorkflowState.state, WorkflowState.next_due_at
    ).where(WorkflowState.case == bad)
    assert after[0]["version"] == before[0]["version"]
    assert after[0]["state"] == before[0]["state"]
    assert after[0]["next_due_at"] < now  # still due
    assert await Task.count().where(Task.case == bad) == 0
    assert await AuditEvent.count().where(AuditEvent.case_id == bad) == 0
    assert await _audit_count(ids, "deadline.escalated") == 4

    monkeypatch.setitem(PROJECTIONS, "deadline_escalated", handlers)
    await deadlines.sweep(now)
    rows = await _escalations(ids)
    assert len(rows) == 5 and {r["case_id"] for r in rows} == set(ids)
    assert await _audit_count(ids, "deadline.escalated") == 5


async def test_a_conflict_at_the_batch_write_fails_only_its_case(cleanup, monkeypatch):
    """A batch writes its cases' rows together at its end (app/cases/writes.py). When one case's
    state no longer holds the version it was loaded with, that write fails; the batch rolls back
    and fires again case by case, so only that case fails and the others commit once each."""
    t0 = _t0(7)
    prefix = f"CONF-{t0:%H}"
    cleanup.append(prefix + "-")
    ids = await seed_cases(4, t0, prefix=prefix)
    bad = ids[1]
    real_save = repository.save

    async def stale_save(case, now, writes):
        await real_save(case, now, writes)
        if case.id == bad:  # as if another command had saved the case meanwhile
            writes.states[-1].version += 7

    monkeypatch.setattr(repository, "save", stale_save)
    now = t0 + timedelta(hours=24) + S
    result = await deadlines.sweep(now, batch_size=4)
    assert result.failed == [bad]
    rows = await _escalations(ids)
    assert sorted(r["case_id"] for r in rows) == sorted(set(ids) - {bad})
    assert await _audit_count(ids, "deadline.escalated") == 3
    assert await _audit_count(ids, "deadline.notified") == 3
    assert await AuditEvent.count().where(AuditEvent.case_id == bad) == 0
    assert await Task.count().where(Task.case == bad) == 0


async def test_outgoing_notifications_through_the_outbox_at_least_once(cleanup):
    """The sweeps fire every due case, also other tests' (whose outbox rows may be of other kinds,
    e.g. breaches); only this test's rows and deliveries are checked."""
    t0 = _t0(3)
    prefix = f"OUT-{t0:%H}-"
    cleanup.append(prefix)
    ids = await seed_cases(3, t0, prefix=prefix[:-1])

    async def my_rows() -> list[dict]:
        rows = await NotificationOutbox.select()
        return [r for r in rows if json.loads(r["payload"])["case_folio"].startswith(prefix)]

    def mine(sender: deadlines.FakeSender) -> list[tuple[str, str]]:
        return [(k, p["case_folio"]) for k, p in sender.sent if p["case_folio"].startswith(prefix)]

    now = t0 + timedelta(hours=24) + S
    down = deadlines.FakeSender(fail=True)
    await deadlines.sweep(now, sender=down)
    pending = await my_rows()
    assert len(pending) == 3 and all(r["sent_at"] is None for r in pending)
    assert all(r["attempts"] <= 1 for r in pending)
    assert down.sent == []
    up = deadlines.FakeSender()
    result = await deadlines.sweep(now, sender=up)
    assert sorted(mine(up)) == [("deadline.escalated", f"{prefix}{i:06d}") for i in range(3)]
    assert result.delivered >= 3
    assert all(r["sent_at"] is not None for r in await my_rows())
    again = deadlines.FakeSender()
    await deadlines.sweep(now, sender=again)
    assert mine(again) == []  # marked sent: not delivered twice
    assert len(ids) == 3


async def test_45_working_days_across_a_holiday_and_a_suspension(api, cleanup):
    """D13 (LRPCAP art. 24, 45 working days, COMAR's LFPA art. 28 calendar) from Tue 1 Dec 2026
    10:00 (Mexico City): Dec 25 and Jan 1 are rest days (Mon 1 Feb 2027 is not: LFPA 28 keeps
    the fixed 5 Feb), so it lands at the end of Thu 4 Feb 2027; a suspension of terms for Tabasco
    11-15 Jan 2027 (5 days lost) moves it, in Tabasco only, past Fri 5 Feb (LFPA 28) to the end
    of Fri 12 Feb 2027. Adding the suspension recomputes open cases of that state."""
    plazos = library().plazos
    desde = datetime(2026, 12, 1, 16, tzinfo=UTC)

    def end_of(d: date) -> datetime:  # end of the local day (Mexico City, UTC-6), in UTC
        return datetime(d.year, d.month, d.day, 5, 59, 59, 999999, tzinfo=UTC) + timedelta(days=1)

    assert plazos.vencimiento("D13_resolucion_comar", desde, calendario(), "27") == end_of(
        date(2027, 2, 4)
    )

    # An open Tabasco case waiting on a working-day deadline (D10, 30 working days).
    cleanup.append("SUSP-TAB-")
    engine_case = route_engine().start_case(
        None,
        desde,
        process_id="referencia_comar",
        variables={"jurisdiccion": "27", "fecha_deteccion": desde.isoformat()},
    )
    assert engine_case.next_due_at() == end_of(date(2027, 1, 14))
    row = {"id": await store_case("SUSP-TAB-000001", "27", engine_case)}

    body = {
        "jurisdiccion": "27",
        "desde": "2027-01-11",
        "hasta": "2027-01-15",
        "motivo": "Suspensión de labores (prueba)",
        "fuente": "Acuerdo de prueba, Periódico Oficial de Tabasco",
    }
    assert (await api.post("inm-27.head", "/api/v1/suspensions", json=body)).status_code == 403
    assert (
        await api.post("procuraduria-07.head", "/api/v1/suspensions", json=body)
    ).status_code == 403  # another state's Procuraduría
    bad = await api.post(
        "sistema.admin", "/api/v1/suspensions", json=body | {"hasta": "2027-01-01"}
    )
    assert bad.status_code == 422
    r = await api.post("procuraduria-27.head", "/api/v1/suspensions", json=body)
    assert r.status_code == 201, r.text
    added = r.json()
    # The request only queues the recompute: the case has not moved yet.
    assert added["recompute"]["status"] == "queued" and added["recompute"]["cases_total"] >= 1
    state = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == row["id"])
    assert state[0]["version"] == 1
    # The worker does it, in batches, and records its progress.
    result = await deadlines.sweep(datetime.now(UTC), limit=0, batch_size=2)
    assert result.recomputed >= 1
    progress = await api.get("procuraduria-27.officer", f"/api/v1/suspensions/{added['id']}")
    assert progress.status_code == 200, progress.text
    recompute = progress.json()["recompute"]
    assert recompute["status"] == "done"
    assert recompute["cases_done"] == recompute["cases_total"] == added["recompute"]["cases_total"]
    assert recompute["cases_changed"] >= 1 and recompute["cases_failed"] == 0

    cal = calendario()
    assert plazos.vencimiento("D13_resolucion_comar", desde, cal, "27") == end_of(date(2027, 2, 12))
    assert plazos.vencimiento("D13_resolucion_comar", desde, cal, "07") == end_of(date(2027, 2, 4))

    # The stored case moved: state, next_due_at and the task index, audited.
    state = await WorkflowState.select(WorkflowState.next_due_at, WorkflowState.version).where(
        WorkflowState.case == row["id"]
    )
    assert state[0]["next_due_at"] == end_of(date(2027, 1, 21)) and state[0]["version"] == 2
    tasks = await Task.select(Task.bpmn_id, Task.due_at).where(Task.case == row["id"])
    assert [(t["bpmn_id"], t["due_at"]) for t in tasks] == [
        ("apoyar_solicitud_asilo", end_of(date(2027, 1, 21)))
    ]
    recomputed = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == row["id"]) & (AuditEvent.action == "deadline.recomputed")
    )
    assert len(recomputed) == 1
    assert json.loads(recomputed[0]["changes"])["deadline"] == "D10_solicitud_asilo"
    audited = await AuditEvent.select(AuditEvent.changes).where(
        AuditEvent.action == "suspension.added"
    )
    assert added["id"] in [json.loads(a["changes"])["suspension_id"] for a in audited]
    listed = (await api.get("cndh.oversight", "/api/v1/suspensions")).json()
    assert any(
        s["jurisdiccion"] == "27" and s["created_by"] == "procuraduria-27.head" for s in listed
    )
    # A new case started now uses the stored suspension too (the cached engine was rebuilt).
    fresh = route_engine().start_case(
        None,
        desde,
        process_id="referencia_comar",
        variables={"jurisdiccion": "27", "fecha_deteccion": desde.isoformat()},
    )
    assert fresh.next_due_at() == end_of(date(2027, 1, 21))


async def test_compliance_report_for_oversight_only(api):
    t0 = _t0(-30)
    set_clock(lambda: t0)
    try:
        body = {
            "form": opening_form(fecha_deteccion=t0.isoformat().replace("+00:00", "Z")),
            "identidad": {"nombres": "Cumplimiento", "apellidos": "Prueba"},
        }
        r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
        folio = r.json()["folio"]
        await api.complete(folio, "registrar_deteccion")
        set_clock(lambda: t0 + timedelta(hours=3))
        await api.complete(folio, "notificar_procuraduria")
    finally:
        set_clock(None)
    assert (await api.get("inm-07.supervisor", "/api/v1/oversight/compliance")).status_code == 403

    # The whole report, with whatever other tests left: its shape, and the LM art. 99 invariant.
    r = await api.get("cndh.oversight", "/api/v1/oversight/compliance")
    assert r.status_code == 200, r.text
    report = r.json()
    assert set(report["deadlines"]) >= {"rows", "totals", "by_deadline", "open_breaches"}
    stations = report["children_in_migration_stations"]  # other tests' custody records count
    assert stations["held_now"] <= stations["children"] <= stations["records"]
    # Only the deadlines due in this test's instant (D1: 24 h from the detection, on the hour;
    # no other test has a deadline due then): exactly this case, notified 3 hours after.
    due = t0 + timedelta(hours=24)
    window = {
        "since": due.isoformat().replace("+00:00", "Z"),
        "until": (due + S).isoformat().replace("+00:00", "Z"),
        "deadline": "D1_notificacion_procuraduria",
    }
    r = await api.get("cndh.oversight", "/api/v1/oversight/compliance", params=window)
    assert r.status_code == 200, r.text
    mine = r.json()
    assert mine["deadlines"]["rows"] == [
        {
            "deadline_id": "D1_notificacion_procuraduria",
            "authority": "INM-07",
            "estado": "07",
            "deadlines": 1,
            "running": 0,
            "met": 1,
            "breached": 0,
            "breached_open": 0,
            "cancelled": 0,
            "on_time_pct": 100.0,
            "median_hours_late": None,
        }
    ]
    assert report["procuraduria_notification"]["notified"] >= 1
    csv_r = await api.get(
        "cndh.oversight", "/api/v1/oversight/compliance", params=window | {"format": "csv"}
    )
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    lines = csv_r.text.splitlines()
    assert lines[0] == "\ufeffdeadline_id,authority,estado,deadlines,running,met,breached," + (
        "breached_open,cancelled,on_time_pct,median_hours_late"
    )
    assert lines[1:] == ["D1_notificacion_procuraduria,INM-07,07,1,0,1,0,0,0,100.0,"]
    bad = await api.get("cndh.oversight", "/api/v1/oversight/compliance", params={"estado": "99"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "estado"


async def test_compliance_counts_equal_the_register_rows(api):
    """Oversight counts equal the rows they summarise: the report's totals and groups against
    the register table, and the open breaches against the listing of the register's rows."""
    detected = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    body = {
        "form": opening_form(fecha_deteccion=detected.isoformat().replace("+00:00", "Z")),
        "identidad": {"nombres": "Cuenta", "apellidos": "Prueba"},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    await api.complete(r.json()["folio"], "registrar_deteccion")  # D1 breached, still open
    report = (await api.get("cndh.oversight", "/api/v1/oversight/compliance")).json()["deadlines"]
    totals = report["totals"]
    assert totals["deadlines"] == await DeadlineRegister.count()
    for status in ("running", "met", "breached", "cancelled"):
        assert totals[status] == await DeadlineRegister.count().where(
            DeadlineRegister.status == status
        ), status
    open_breaches = await DeadlineRegister.count().where(
        (DeadlineRegister.status == "breached") & DeadlineRegister.closed_at.is_null()
    )
    assert totals["breached_open"] == open_breaches >= 1
    for group in ("rows", "by_deadline", "by_authority", "by_state"):
        assert sum(g["deadlines"] for g in report[group]) == totals["deadlines"], group
        assert sum(g["breached_open"] for g in report[group]) == open_breaches, group
    listed, after = [], None
    while True:
        params = {"status": "breached_open", "limit": 200} | ({"after": after} if after else {})
        page = (
            await api.get("cndh.oversight", "/api/v1/oversight/deadlines", params=params)
        ).json()
        listed += page["items"]
        after = page["next_after"]
        if after is None:
            break
    assert len(listed) == open_breaches
    assert all(x["status"] == "breached" and x["closed_at"] is None for x in listed)
    assert len(report["open_breaches"]) == min(open_breaches, 100)
    forbidden = await api.get("inm-07.head", "/api/v1/oversight/deadlines")
    assert forbidden.status_code == 403
    bad = await api.get("cndh.oversight", "/api/v1/oversight/deadlines", params={"status": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "status"


async def test_two_workers_recompute_a_suspension_s_cases_exactly_once(api, cleanup):
    """The recompute of a suspension's cases is claimed a batch at a time (the suspension row
    locked; PostgreSQL: SKIP LOCKED): two workers at once move each case's deadline once, and
    the progress they record adds up."""
    from app.services import suspensions

    desde = datetime(2026, 12, 1, 16, tzinfo=UTC)
    cleanup.append("SUSP-COA-")
    n = 12
    for i in range(n):
        engine_case = route_engine().start_case(
            None,
            desde,
            process_id="referencia_comar",
            variables={"jurisdiccion": "05", "fecha_deteccion": desde.isoformat()},
        )
        await store_case(f"SUSP-COA-{i:06d}", "05", engine_case)
    body = {
        "jurisdiccion": "05",
        "desde": "2027-01-11",
        "hasta": "2027-01-15",
        "motivo": "Suspensión de labores (prueba de concurrencia)",
        "fuente": "Acuerdo de prueba, Periódico Oficial de Coahuila",
    }
    r = await api.post("sistema.admin", "/api/v1/suspensions", json=body)
    assert r.status_code == 201, r.text
    added = r.json()
    assert added["recompute"]["cases_total"] == n
    now = datetime.now(UTC)
    done = await asyncio.gather(
        suspensions.recompute_pending(now, 3), suspensions.recompute_pending(now, 3)
    )
    assert sum(done) == n
    ids = [r["id"] for r in await Case.select(Case.id).where(Case.folio.like("SUSP-COA-%"))]
    assert await _audit_count(ids, "deadline.recomputed") == n  # once per case, never twice
    progress = (await api.get("sistema.admin", f"/api/v1/suspensions/{added['id']}")).json()
    assert progress["recompute"] | {"finished_at": None} == {
        "status": "done",
        "cases_total": n,
        "cases_done": n,
        "cases_changed": n,
        "cases_failed": 0,
        "finished_at": None,
    }


async def test_a_task_stays_overdue_after_every_escalation_level(api):
    """A breach is a fact: after level 3 the task keeps its due date and deadline, stays red and
    first in the inbox's overdue filter, and compliance counts it as open and overdue. Tested on
    a case whose levels all fired at once (detected three days before it was registered)."""
    detected = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    body = {
        "form": opening_form(fecha_deteccion=detected.isoformat().replace("+00:00", "Z")),
        "identidad": {"nombres": "Vencida", "apellidos": "Prueba"},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    folio = r.json()["folio"]
    await api.complete(folio, "registrar_deteccion")
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "notificar_procuraduria")
    assert task["escalation_level"] == 3
    due = detected + timedelta(hours=24)
    assert datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")) == due
    row = await Task.select(Task.deadline_id, Task.sort_due).where(Task.task_id == task["task_id"])
    assert row == [{"deadline_id": "D1_notificacion_procuraduria", "sort_due": due}]
    params: dict = {"state": "overdue", "limit": 200}
    for _ in range(50):  # other tests' overdue tasks of INM-07 may come first
        page = (await api.get("inm-07.officer", "/api/v1/inbox", params=params)).json()
        item = next((i for i in page["items"] if i["task_id"] == task["task_id"]), None)
        if item is not None or not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert item is not None and item["overdue"] is True
    report = (await api.get("cndh.oversight", "/api/v1/oversight/compliance")).json()
    listed = await api.get(
        "cndh.oversight",
        "/api/v1/oversight/deadlines",
        params={"status": "breached_open", "deadline": "D1_notificacion_procuraduria"},
    )
    assert folio in {b["case_folio"] for b in listed.json()["items"]} or listed.json()["next_after"]
    inm = next(w for w in report["workload"] if w["authority"] == "INM-07")
    assert inm["open_overdue"] >= 1
