"""Route migration of a case inside the embedded subprocess ``proteccion`` with a legal deadline
running, through the service and the API (issue 13 item 7, the edges; the engine-level cases of
multi-instance, call activities and escalated deadlines are in tests/versions/test_deep_migration.py).

The case is built through the real command path (opening, completions by the authority each task
routes to) up to the prosecutor's notice (``notificar_ministerio_publico``, lane PROCURADURIA,
deadline ``notificacion_mp_delito``). The target version renames the notice and its deadline's
boundary timer, as an analyst's edit would. Checked: the dry run says blocked and why, the
mapping unblocks it, the move is one audited event, the task index and the deadline register
follow without a new, nulled or restarted row, the case goes on to the prosecutor, a revert
after that work is refused, the audit chain verifies, and a migration racing a completion of the
same task leaves the case whole on one version or the other.
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from pathlib import Path
from tempfile import mkdtemp

from app import audit
from app.route_engine import form_example, library
from app.services import route_versions
from app.services.personal_data import engine_state
from app.tables import AuditEvent, Case, DeadlineRegister, Task, WorkflowState
from tests.versions.variant import route_variant
from workflows.versions import RouteSnapshot

NOTICE, NOTICE_V2 = "notificar_ministerio_publico", "notificar_ministerio_publico_v2"
TIMER, TIMER_V2 = "prot_plazo_notificacion_mp", "prot_plazo_notificacion_mp_v2"
MAPPING = f'[elements]\n{NOTICE} = "{NOTICE_V2}"\n{TIMER} = "{TIMER_V2}"\n'.encode()
CRIME = {
    "indicadores_delito": True,
    "tipos_delito": ["explotacion_laboral"],
    "necesidades_salud": False,
}


@lru_cache(maxsize=1)
def variant() -> RouteSnapshot:
    return route_variant(Path(mkdtemp()), {NOTICE: NOTICE_V2, TIMER: TIMER_V2})


async def _at_notice(api) -> tuple[str, int]:
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "detectar_necesidades")
    await api.complete(folio, "detectar_necesidades", **CRIME)
    assert NOTICE in {t["bpmn_id"] for t in await api.open_tasks(folio)}
    row = await Case.select(Case.id).where(Case.folio == folio).first()
    return folio, row["id"]


async def _register(case_id: int) -> list[dict]:
    return (
        await DeadlineRegister.select(
            DeadlineRegister.deadline_key,
            DeadlineRegister.plazo_id,
            DeadlineRegister.task_id,
            DeadlineRegister.started_at,
            DeadlineRegister.armed_at,
            DeadlineRegister.due_at,
            DeadlineRegister.status,
            DeadlineRegister.levels_reached,
        )
        .where(DeadlineRegister.case == case_id)
        .order_by(DeadlineRegister.deadline_key)
    )


async def _state(case_id: int) -> dict:
    row = (
        await WorkflowState.select(
            WorkflowState.state, WorkflowState.spec_version, WorkflowState.next_due_at
        ).where(WorkflowState.case == case_id)
    )[0]
    case = await Case.select(Case.spec_version).where(Case.id == case_id).first()
    clear = await engine_state(case_id)  # encrypted with the case's key
    envelope = json.loads(clear)
    return {**row, "state": clear, "case_version": case["spec_version"], "envelope": envelope}


async def _migrations(case_id: int) -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "case.route_migrated")
    )
    return [json.loads(r["changes"]) for r in rows]


async def _notice_row(task_id: str) -> dict:
    return (
        await Task.select(
            Task.bpmn_id,
            Task.status,
            Task.lane,
            Task.authority.as_alias("authority"),
            Task.due_at,
            Task.deadline_id,
        ).where(Task.task_id == task_id)
    )[0]


async def test_inside_proteccion_with_a_running_deadline(api):
    await route_versions.register_current()
    other = await route_versions.register(variant())
    folio, case_id = await _at_notice(api)
    notice = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == NOTICE)
    index_before = await _notice_row(notice["task_id"])
    register_before = await _register(case_id)
    assert [r["plazo_id"] for r in register_before if r["status"] == "running"] == [
        "notificacion_mp_delito"
    ]
    state_before = await _state(case_id)

    dry = await route_versions.migrate(str(other), dry_run=True, folios=[folio])
    (item,) = dry.cases
    assert item["status"] == "blocked" and NOTICE in item["reason"] and TIMER in item["reason"]
    mapping = route_versions.read_mapping(MAPPING, "mp.toml")
    dry = await route_versions.migrate(str(other), mapping, dry_run=True, folios=[folio])
    assert [c["status"] for c in dry.cases] == ["migratable"]
    assert await _state(case_id) == state_before  # a dry run writes nothing

    report = await route_versions.migrate(str(other), mapping, folios=[folio])
    assert [c["status"] for c in report.cases] == ["migrated"]
    after = await _state(case_id)
    assert after["spec_version"] == after["case_version"] == variant().version
    assert after["next_due_at"] == state_before["next_due_at"]  # the deadline keeps its instant
    (event,) = await _migrations(case_id)
    assert f"{NOTICE} -> {NOTICE_V2}" in event["renamed"] and event["mapping"] == "mp.toml"
    # the task index: the same task, renamed, same lane, authority, due instant and deadline
    index_after = await _notice_row(notice["task_id"])
    assert index_after == {**index_before, "bpmn_id": NOTICE_V2}
    # the deadline register: the same rows, nothing added, nulled or restarted
    assert await _register(case_id) == register_before

    # the case goes on on the new version: the prosecutor opens the investigation
    await api.complete(folio, NOTICE_V2, form_example(f"{NOTICE}.schema.json"))
    tasks = {t["bpmn_id"]: t for t in await api.open_tasks(folio)}
    assert tasks["iniciar_investigacion"]["lane"] == "FISCALIA"
    met = {r["deadline_key"]: r for r in await _register(case_id)}
    for row in register_before:
        if row["plazo_id"] == "notificacion_mp_delito":
            assert met[row["deadline_key"]]["status"] == "met"
            assert met[row["deadline_key"]]["due_at"] == row["due_at"]
    assert sum(r["plazo_id"] == "notificacion_mp_delito" for r in met.values()) == 1

    # work was done on the new version: the revert refuses, naming why, and writes nothing
    back = await route_versions.revert(report.run, folios=[folio])
    (item,) = back.cases
    assert item["status"] == "blocked"
    assert f"the case changed after migration {report.run}" in item["reason"]
    assert (await _state(case_id))["spec_version"] == variant().version
    assert len(await _migrations(case_id)) == 1

    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)


async def test_a_migration_racing_a_completion_leaves_the_case_whole(api):
    """No hook, no ordering: the migration and the completion of the renamed task start
    together. Whichever way they interleave, the case is on one version in every row, the
    completion happened exactly once or got 409, and the move is audited once or not at all."""
    await route_versions.register_current()
    other = await route_versions.register(variant())
    folio, case_id = await _at_notice(api)
    notice = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == NOTICE)
    mapping = route_versions.read_mapping(MAPPING, "mp.toml")
    await route_versions.ensure_loaded(variant().version)  # the race is the commands', not a load
    report, response = await asyncio.gather(
        route_versions.migrate(str(other), mapping, folios=[folio]),
        api.post(
            "inm-07.officer" if notice["lane"] == "INM" else await api.procuraduria_officer(folio),
            f"/api/v1/tasks/{notice['task_id']}/complete",
            json={"data": form_example(f"{NOTICE}.schema.json")},
        ),
    )
    (item,) = report.cases
    assert item["status"] in ("migrated", "conflict"), item
    assert response.status_code in (200, 409), response.text
    assert not (item["status"] == "conflict" and response.status_code == 409)  # one of them won
    after = await _state(case_id)
    version = after["spec_version"]
    assert version == after["case_version"] == after["envelope"]["spec_version"]
    migrated = item["status"] == "migrated"
    assert version == (variant().version if migrated else library().version)
    assert len(await _migrations(case_id)) == (1 if migrated else 0)
    row = await _notice_row(notice["task_id"])
    assert row["status"] == ("completed" if response.status_code == 200 else "open")
    if row["status"] == "open" or not migrated:
        assert row["bpmn_id"] == (NOTICE_V2 if migrated else NOTICE)
    else:  # a task done before the move keeps, in the index, the element it was done as
        assert row["bpmn_id"] in (NOTICE, NOTICE_V2)
    print("race outcome:", item["status"], response.status_code, row["bpmn_id"])
    completed = await AuditEvent.count().where(
        (AuditEvent.case_id == case_id)
        & (AuditEvent.action == "task.completed")
        & (AuditEvent.task_id == notice["task_id"])
    )
    assert completed == (1 if response.status_code == 200 else 0)
    # the open tasks of the index are the engine's ready tasks, on the case's version
    from app.route_engine import engine_for

    ready = {
        t.task_id: t.bpmn_id for t in engine_for(version).restore(after["state"]).ready_tasks()
    }
    open_rows = await Task.select(Task.task_id, Task.bpmn_id).where(
        (Task.case == case_id) & (Task.status == "open")
    )
    assert {r["task_id"]: r["bpmn_id"] for r in open_rows} == ready
    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)


async def test_a_migration_waits_for_a_completion_holding_the_case_then_judges_it_anew(
    api, monkeypatch
):
    """The completion of the notice holds the case (its row lock on PostgreSQL, the writer lock
    on SQLite) when the migration starts: the migration waits, and then plans on the state the
    completion left (the notice done), never on the state it read before; one audited move."""
    from app.cases import unit_of_work

    await route_versions.register_current()
    other = await route_versions.register(variant())
    folio, case_id = await _at_notice(api)
    notice = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == NOTICE)
    mapping = route_versions.read_mapping(MAPPING, "mp.toml")
    await route_versions.ensure_loaded(variant().version)
    holding, release = asyncio.Event(), asyncio.Event()
    armed = [True]
    original = unit_of_work.CaseSession.commit

    async def held_commit(self) -> None:
        if armed[0] and self.case.id == case_id:
            armed[0] = False
            holding.set()
            await release.wait()
        await original(self)

    monkeypatch.setattr(unit_of_work.CaseSession, "commit", held_commit)
    completion = asyncio.create_task(
        api.post(
            await api.procuraduria_officer(folio),
            f"/api/v1/tasks/{notice['task_id']}/complete",
            json={"data": form_example(f"{NOTICE}.schema.json")},
        )
    )
    await asyncio.wait_for(holding.wait(), 30)
    migration = asyncio.create_task(route_versions.migrate(str(other), mapping, folios=[folio]))
    await asyncio.sleep(0.3)
    assert not migration.done()  # it waits for the completion's transaction
    release.set()
    response = await completion
    report = await migration
    assert response.status_code == 200, response.text
    assert [c["status"] for c in report.cases] == ["migrated"]
    after = await _state(case_id)
    assert after["spec_version"] == after["case_version"] == variant().version
    (event,) = await _migrations(case_id)
    assert f"{NOTICE} -> {NOTICE_V2}" in event["renamed"]  # the done notice, renamed
    tasks = {t["bpmn_id"]: t for t in await api.open_tasks(folio)}
    assert tasks["iniciar_investigacion"]["lane"] == "FISCALIA"
    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)


@lru_cache(maxsize=1)
def relaned() -> RouteSnapshot:
    """The renamed notice, also moved by the analyst to the prosecutor's lane in proteccion."""
    root = Path(mkdtemp())
    route_variant(root, {NOTICE: NOTICE_V2, TIMER: TIMER_V2})
    path = root / "bpmn" / "ruta_proteccion_nna.bpmn"
    text = path.read_text(encoding="utf-8")
    moved = [NOTICE_V2, TIMER_V2, f"{TIMER}_escalado"]
    for node in moved:
        ref = f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>"
        assert text.count(ref) == 1, node
        text = text.replace(f"          {ref}\n", "")
    fiscalia = '<bpmn:lane id="lane_proteccion_FISCALIA" name="FISCALIA">\n'
    assert text.count(fiscalia) == 1
    refs = "".join(f"          <bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>\n" for n in moved)
    path.write_text(text.replace(fiscalia, fiscalia + refs), encoding="utf-8")
    return RouteSnapshot.from_dirs(root / "bpmn", root / "forms", root / "config" / "plazos.toml")


async def test_a_task_moved_to_another_lane_inside_proteccion_is_routed_again(api):
    await route_versions.register_current()
    other = await route_versions.register(relaned())
    folio, case_id = await _at_notice(api)
    notice = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == NOTICE)
    assert notice["lane"] == "PROCURADURIA"
    before = await _notice_row(notice["task_id"])
    register_before = await _register(case_id)
    mapping = route_versions.read_mapping(MAPPING, "mp.toml")
    report = await route_versions.migrate(str(other), mapping, folios=[folio])
    assert [c["status"] for c in report.cases] == ["migrated"]
    after = await _notice_row(notice["task_id"])
    assert (after["bpmn_id"], after["lane"]) == (NOTICE_V2, "FISCALIA")
    assert after["authority"] != before["authority"]  # the prosecutor's office of the case
    assert (after["due_at"], after["deadline_id"]) == (before["due_at"], before["deadline_id"])
    rerouted = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "task.rerouted")
    )
    assert [json.loads(r["changes"])["lane"] for r in rerouted] == ["FISCALIA"]
    assert len(await _migrations(case_id)) == 1
    assert await _register(case_id) == register_before
    # the prosecutor's office now sees and completes it; the Procuraduría no longer can
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == NOTICE_V2)
    assert task["lane"] == "FISCALIA"
    officer = await api.procuraduria_officer(folio)
    url = f"/api/v1/tasks/{notice['task_id']}/complete"
    refused = await api.post(officer, url, json={"data": form_example(f"{NOTICE}.schema.json")})
    assert refused.status_code in (403, 404), refused.text
    await api.complete(folio, NOTICE_V2, form_example(f"{NOTICE}.schema.json"))
    assert "iniciar_investigacion" in {t["bpmn_id"] for t in await api.open_tasks(folio)}
    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)
