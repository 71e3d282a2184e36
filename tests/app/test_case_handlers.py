"""Each handler of the case command path (app/cases/handlers), called on its own on a real case:
a session is built by hand inside a transaction, the handler runs, and its rows and audit events
are checked. The wiring (which handler runs for which event) is checked last."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from app.cases import handlers, placement, repository
from app.cases.aggregate import Access, CaseEvent
from app.cases.handlers import access, audit_trail, closure, escalations, route_policies, task_index
from app.cases.unit_of_work import CaseSession
from app.command import command
from app.errors import GuaranteeViolation
from app.principal import SYSTEM, Actor
from app.tables import (
    Authority,
    Case,
    CaseAccess,
    DeadlineEscalation,
    Notification,
    Placement,
    Task,
)
from workflows import EngineEvent


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def _authority(code: str) -> int:
    return (await Authority.select(Authority.id).where(Authority.code == code).first())["id"]


@asynccontextmanager
async def session_for(folio: str, actor: Actor = SYSTEM) -> AsyncIterator[CaseSession]:
    """A session on the case, committed (with the rows its handlers staged and its audit
    events) when the block ends."""
    async with command(actor) as cmd:
        session = CaseSession(cmd, await repository.load_for_update(await _case_id(folio)))
        yield session
        await session.writes.flush(cmd.events)


def _actions(session: CaseSession) -> list[str]:
    return [e.action for e in session.cmd.events]


async def test_task_index_cancels_what_the_engine_no_longer_has_and_routes_the_new(api):
    folio = await api.open_case("inm-07.officer")
    case_id = await _case_id(folio)
    stale = "00000000-0000-4000-8000-00000000abcd"
    first = (await api.open_tasks(folio))[0]
    await Task.update({Task.task_id: stale}).where(Task.task_id == first["task_id"])
    async with session_for(folio) as s:
        await task_index.sync(s, CaseEvent("case_changed", {}))
        routed = s.results["routed"]
        actions = _actions(s)
    rows = {
        r["task_id"]: r["status"]
        for r in await Task.select(Task.task_id, Task.status).where(Task.case == case_id)
    }
    assert rows[stale] == "cancelled"
    assert [t["bpmn_id"] for t in routed] == ["registrar_deteccion"]
    assert rows[routed[0]["task_id"]] == "open" and routed[0]["authority"] == "INM-07"
    assert actions == ["task.cancelled", "task.routed"]


async def test_escalation_is_recorded_and_notified_once(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    due = datetime.now(UTC) - timedelta(hours=1)
    event = EngineEvent(
        "deadline_escalated",
        datetime.now(UTC),
        {
            "plazo_id": "D1_notificacion_procuraduria",
            "level": 1,
            "due_at": due.isoformat(),
            "task_id": task["task_id"],
            "task_bpmn_id": task["bpmn_id"],
            "legal_source": "LM art. 112 fr. I",
        },
    )
    for _ in range(2):  # a replay inserts nothing and notifies nobody
        async with session_for(folio) as s:
            await escalations.record(s, event)
    rows = await DeadlineEscalation.select().where(DeadlineEscalation.task_id == task["task_id"])
    assert len(rows) == 1 and rows[0]["authority_id"] == await _authority("INM-07")
    notices = await Notification.select(Notification.user.username.as_alias("u")).where(
        Notification.task_id == task["task_id"]
    )
    assert [n["u"] for n in notices] == ["inm-07.supervisor"]


async def test_access_follows_the_child_out_of_a_jurisdiction(api):
    folio = await api.open_case("inm-07.officer")
    inm07, inm27 = await _authority("INM-07"), await _authority("INM-27")
    async with session_for(folio) as s:
        s.case.relocate("27", None, "traslado", s.now)
        await task_index.sync(s, CaseEvent("case_changed", {}))
        await access.reconcile(s)
        actions = _actions(s)
        assert s.case.access[inm27] == Access(True, "task_routed")
        assert s.case.access[inm07].active is False
    rows = {
        r["authority_id"]: r["active"]
        for r in await CaseAccess.select(CaseAccess.authority, CaseAccess.active).where(
            CaseAccess.case == await _case_id(folio)
        )
    }
    assert rows == {inm07: False, inm27: True}
    assert actions.count("access.granted") == 1 and actions.count("access.revoked") == 1


async def test_access_grants_the_authority_a_task_notifies(api):
    folio = await api.open_case("inm-07.officer")
    await api.complete(folio, "registrar_deteccion")
    proc = await _authority("PROCURADURIA-07")
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "notificar_procuraduria")
    async with session_for(folio) as s:
        s.case.events.append(
            EngineEvent(
                "task_completed",
                s.now,
                {"task_id": task["task_id"], "bpmn_id": "notificar_procuraduria", "lane": "INM"},
            )
        )
        await access.reconcile(s)
        assert s.case.access[proc] == Access(True, "notified")


async def test_closure_discharges_the_open_placement(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "admitir_en_cas")  # a protection measure exists
    shelter = await _authority("CAS-07-TUXTLA")
    async with session_for(folio) as s:
        await placement.admit(s, shelter, None)
    async with session_for(folio) as s:
        assert s.case.shelter_id == shelter
        await closure.discharge_on_close(s, EngineEvent("case_completed", s.now, {}))
        assert s.case.shelter_id is None
        assert _actions(s) == ["placement.discharged"]
    rows = await Placement.select(Placement.status, Placement.end_reason).where(
        Placement.case == await _case_id(folio)
    )
    # no closure proposal in this handler test: the destination is said to be unrecorded
    assert rows == [{"status": "discharged", "end_reason": "case closed; destino: sin_registrar"}]


async def test_closure_discharges_a_family_placement_with_the_closure_s_destination(api):
    """Kinship care is a placement like a shelter stay: the closure ends it and records the
    closure proposal's destino_nna on the row and in the audit event."""
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "admitir_en_cas")  # a protection measure exists
    dif = await _authority("CAS-07-TUXTLA")
    async with session_for(folio) as s:
        await placement.place_in_family(s, dif, "familia_extensa", None)
    async with session_for(folio) as s:
        assert s.case.shelter_id == dif
        s.case.engine.meta["forms"]["proponer_cierre"] = {"destino_nna": "familia_extensa"}
        await closure.discharge_on_close(s, EngineEvent("case_completed", s.now, {}))
        assert s.case.shelter_id is None
        [event] = [e for e in s.cmd.events if e.action == "placement.discharged"]
        assert event.changes["kind"] == "familia_extensa"
        assert event.changes["destino"] == "familia_extensa"
    rows = await Placement.select(Placement.kind, Placement.status, Placement.destino).where(
        Placement.case == await _case_id(folio)
    )
    assert rows == [
        {"kind": "familia_extensa", "status": "discharged", "destino": "familia_extensa"}
    ]


async def test_a_family_placement_needs_a_protection_measure_too(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "determinar_acompanamiento")  # no measure yet
    dif = await _authority("CAS-07-TUXTLA")
    with pytest.raises(GuaranteeViolation) as refused:
        async with session_for(folio) as s:
            await placement.place_in_family(s, dif, "acogimiento", None)
    assert refused.value.guarantee == "medida_de_proteccion_antes_del_ingreso"
    assert await Placement.count().where(Placement.case == await _case_id(folio)) == 0


async def test_only_a_shelter_completing_admission_admits_the_child(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "admitir_en_cas")  # a protection measure exists
    event = EngineEvent("task_completed", datetime.now(UTC), {"bpmn_id": "admitir_en_cas"})
    async with session_for(folio, await _actor("procuraduria-07.officer")) as s:
        await route_policies.admit_on_admission_task(s, event)
        assert s.case.shelter_id is None and s.case.events == []
    async with session_for(folio, await _actor("cas-07-tapachula.shelter-staff")) as s:
        await route_policies.admit_on_admission_task(s, event)  # no form: hay_cupo defaults True
        assert s.case.shelter_id == await _authority("CAS-07-TAPACHULA")
        assert [e.kind for e in s.case.events] == ["placement_admitted"]


async def _actor(username: str) -> Actor:
    from app.tables import User

    row = (
        await User.select(User.id, User.role, User.authority, User.authority.code.as_alias("c"))
        .where(User.username == username)
        .first()
    )
    return Actor(row["id"], username, row["role"], row["authority_id"], row["c"])


async def test_variables_are_audited_once(api):
    folio = await api.open_case("inm-07.officer")
    change = EngineEvent(
        "case_variable_set", datetime.now(UTC), {"name": "riesgo_inminente", "old": None, "new": 1}
    )
    async with session_for(folio) as s:
        s.case.events.append(change)
        await audit_trail.variables_set(s)
        assert _actions(s) == ["case.variables_set"]
        assert s.cmd.events[0].changes == {"variables": {"riesgo_inminente": 1}}
    async with session_for(folio) as s:
        s.case.events.append(change)
        s.results["variables_audited"] = True  # task.completed carries them
        await audit_trail.variables_set(s)
        assert _actions(s) == []


async def test_a_reopening_is_audited_with_its_category_and_never_its_reason(api):
    folio = await api.open_case("inm-07.officer")
    event = CaseEvent(
        "case_reopened",
        {
            "run": 2,
            "categoria": "nna_localizada",
            "authority_id": await _authority("PROCURADURIA-07"),
        },
    )
    async with session_for(folio, await _actor("procuraduria-07.supervisor")) as s:
        await audit_trail.case_reopened(s, event)
        assert _actions(s) == ["case.reopened"]
        [audited] = s.cmd.events
        assert audited.changes == {"categoria": "nna_localizada", "run": 2}
        assert audited.legal_basis == audit_trail.REOPENING_BASIS


async def test_the_receiving_authority_s_notice_goes_to_the_opener(api):
    """A shelter other than the one routing would pick received the child: its notice goes to
    it (rule ``opener``), not to the first covering shelter with places."""
    from tests.app.helpers import opening_form

    body = {
        "form": opening_form(canal_ingreso="autopresentacion_dif"),
        "identidad": {"nombres": "Abre"},
    }
    r = await api.post("cas-07-tuxtla.shelter-staff", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    folio = r.json()["folio"]
    row = await Task.select(Task.task_id, Task.authority, Task.routing_rule).where(
        Task.case == await _case_id(folio)
    )
    assert [(t["authority_id"], t["routing_rule"]) for t in row] == [
        (await _authority("CAS-07-TUXTLA"), "opener")
    ]
    async with session_for(folio) as s:
        assert s.case.opened_by == await _authority("CAS-07-TUXTLA")
        s.case.moved = True  # a re-route keeps the notice with the opener
        await task_index.sync(s, CaseEvent("case_changed", {}))
        assert "task.rerouted" not in _actions(s)


def test_the_wiring_table():
    """Which handler runs for which event: the index first (escalations need its authorities),
    access once, from the final state."""
    assert handlers.PROJECTIONS["case_changed"] == [task_index.sync]
    escalated = handlers.PROJECTIONS["deadline_escalated"]
    assert escalations.record in escalated and task_index.escalation_level in escalated
    assert closure.discharge_on_close in handlers.PROJECTIONS["case_completed"]
    assert handlers.PROJECTIONS["case_reopened"] == [audit_trail.case_reopened]
    assert handlers.FINALIZERS[0] is access.reconcile
    assert route_policies.admit_on_admission_task in handlers.POLICIES["task_completed"]
