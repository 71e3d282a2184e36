"""Route versions in the service: cases at different points of the route, a dry run, a mapping,
the move (one audited event per case, the task index following), the revert, and a completion
racing a migration. The target version is the real route with INM's channelling record renamed
(tests/versions/variant.py). Only this test's cases are moved (``folios``): the database is
shared with the rest of the suite."""

from __future__ import annotations

import asyncio
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from tempfile import mkdtemp

import pytest

from app import audit
from app.route_engine import form_example, library
from app.services import route_versions
from app.services.personal_data import engine_state
from app.tables import AuditEvent, Case, Task, WorkflowState
from tests.versions.variant import NEW, OLD, route_variant
from workflows.versions import RouteSnapshot

MAPPING = f'[elements]\n{OLD} = "{NEW}"\n'.encode()


@lru_cache(maxsize=1)
def variant() -> RouteSnapshot:
    return route_variant(Path(mkdtemp()))


async def _numbers() -> tuple[int, int]:
    current = await route_versions.register_current()
    return current, await route_versions.register(variant())


async def _case(folio: str) -> dict:
    row = await Case.select(Case.id, Case.spec_version).where(Case.folio == folio).first()
    state = await WorkflowState.select(WorkflowState.state, WorkflowState.spec_version).where(
        WorkflowState.case == row["id"]
    )
    clear = await engine_state(row["id"])  # encrypted with the case's key
    return {**row, **state[0], "state": clear, "envelope": json.loads(clear)}


async def _events(case_id: int, action: str) -> list[dict]:
    rows = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == action)
    )
    return [json.loads(r["changes"]) for r in rows]


async def test_dry_run_mapping_apply_and_revert(api):
    current, other = await _numbers()
    fresh = await api.open_case("inm-07.officer")  # at registrar_deteccion
    waiting = await api.open_case("inm-07.officer")
    await api.drive_until(waiting, OLD)  # the renamed task is open
    past = await api.open_case("inm-07.officer")
    await api.drive_until(past, "determinar_acompanamiento")  # the renamed task is done
    folios = [fresh, waiting, past]

    dry = await route_versions.migrate(str(other), dry_run=True, folios=folios)
    status = {c["folio"]: c["status"] for c in dry.cases}
    assert status == {fresh: "migratable", waiting: "blocked", past: "blocked"}
    assert all(OLD in c["reason"] for c in dry.cases if c["status"] == "blocked")
    assert all(c["from_number"] == current for c in dry.cases)
    assert (await _case(waiting))["spec_version"] == library().version  # a dry run writes nothing

    plain = await route_versions.migrate(str(other), folios=folios)
    assert {c["folio"]: c["status"] for c in plain.cases} == {
        fresh: "migrated",
        waiting: "blocked",
        past: "blocked",
    }
    moved = await _case(fresh)
    assert moved["spec_version"] == variant().version  # case row and state row follow
    assert moved["envelope"]["spec_version"] == variant().version
    (event,) = await _events(moved["id"], "case.route_migrated")
    assert (event["from_number"], event["to_number"], event["mapping"]) == (current, other, None)
    assert await _events((await _case(waiting))["id"], "case.route_migrated") == []

    mapping = route_versions.read_mapping(MAPPING, "acta.toml")
    mapped = await route_versions.migrate(str(other), mapping, folios=folios)
    assert {c["folio"]: c["status"] for c in mapped.cases} == {
        waiting: "migrated",
        past: "migrated",
    }
    w = await _case(waiting)
    (event,) = await _events(w["id"], "case.route_migrated")
    assert event["mapping"] == "acta.toml"
    assert event["mapping_sha256"] == hashlib.sha256(MAPPING).hexdigest()
    assert f"{OLD} -> {NEW}" in event["renamed"] and event["run"] == mapped.run
    # the task index follows the renamed element; the task (and its id) is the same
    (task,) = await api.open_tasks(waiting)
    assert task["bpmn_id"] == NEW
    # the case runs on its version: the renamed task completes with its form
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={"data": form_example(f"{OLD}.schema.json")},
    )
    assert r.status_code == 200, r.text
    rows = await Task.select(Task.bpmn_id, Task.status).where(Task.task_id == task["task_id"])
    assert rows == [{"bpmn_id": NEW, "status": "completed"}]

    listed = {v["version"]: v for v in await route_versions.versions()}
    assert listed[variant().version]["number"] == other
    assert listed[variant().version]["open_cases"] >= 3

    # the revert moves back only a case nothing happened to since the move: ``waiting``
    # completed the renamed task on the new version, so it stays there, with the reason
    dry_back = await route_versions.revert(mapped.run, dry_run=True, folios=folios)
    assert {c["folio"]: c["status"] for c in dry_back.cases} == {
        waiting: "blocked",
        past: "migratable",
    }
    back = await route_versions.revert(mapped.run, folios=folios)
    assert {c["folio"]: c["status"] for c in back.cases} == {waiting: "blocked", past: "migrated"}
    (refused,) = [c for c in back.cases if c["folio"] == waiting]
    assert f"the case changed after migration {mapped.run}" in refused["reason"]
    assert (await _case(waiting))["spec_version"] == variant().version
    c = await _case(past)
    assert c["spec_version"] == library().version
    assert OLD in c["envelope"]["meta"]["forms"] and NEW not in c["envelope"]["meta"]["forms"]
    (again,) = [e for e in await _events(c["id"], "case.route_migrated") if e["revert_of"]]
    assert (again["from_number"], again["to_number"]) == (other, current)
    assert [e for e in await _events(w["id"], "case.route_migrated") if e["revert_of"]] == []
    # the reverted case goes on on its old version
    await api.drive_until(past, "designar_representante")

    verified = await audit.verify()
    assert verified.ok, (verified.first_bad_id, verified.reason)


async def test_a_completion_racing_a_migration_is_not_lost(api, monkeypatch):
    """The migration holds the case (its lock, or SQLite's writer lock) while a completion of
    the renamed task arrives: the completion waits, then runs on the migrated state, so neither
    write is lost; had the state changed under it, it would get 409 and could retry."""
    _, other = await _numbers()
    folio = await api.open_case("inm-07.officer")
    task = await api.drive_until(folio, OLD)
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold(session) -> None:
        holding.set()
        await release.wait()

    monkeypatch.setattr(route_versions, "_before_commit", hold)
    mapping = route_versions.read_mapping(MAPPING, "acta.toml")
    migration = asyncio.create_task(route_versions.migrate(str(other), mapping, folios=[folio]))
    await asyncio.wait_for(holding.wait(), 30)
    completion = asyncio.create_task(
        api.post(
            "inm-07.officer",
            f"/api/v1/tasks/{task['task_id']}/complete",
            json={"data": form_example(f"{OLD}.schema.json")},
        )
    )
    await asyncio.sleep(0.3)
    assert not completion.done()  # it waits for the migration's transaction
    release.set()
    report = await migration
    response = await completion
    assert [c["status"] for c in report.cases] == ["migrated"]
    assert response.status_code in (200, 409), response.text
    c = await _case(folio)
    assert c["envelope"]["spec_version"] == variant().version  # the migration stayed
    rows = await Task.select(Task.status).where(Task.task_id == task["task_id"])
    if response.status_code == 200:  # the completion stayed too, on the new version
        assert NEW in c["envelope"]["meta"]["forms"] and rows[0]["status"] == "completed"
    else:
        assert rows[0]["status"] == "open"


async def test_bad_version_or_mapping_names_the_problem(api):
    await _numbers()
    with pytest.raises(route_versions.NotFound, match="not a stored route version"):
        await route_versions.migrate("999999", dry_run=True)
    bad = route_versions.read_mapping(f'[elements]\n{OLD} = "nowhere"\n'.encode(), "m.toml")
    with pytest.raises(route_versions.InvalidInput, match="nowhere"):
        await route_versions.migrate(str(await route_versions.register_current()), bad)
    with pytest.raises(route_versions.InvalidInput, match="unknown key"):
        route_versions.read_mapping(b'x = "y"\n', "m.toml")
    with pytest.raises(route_versions.NotFound, match="no open case"):
        await route_versions.revert("mig-none")
