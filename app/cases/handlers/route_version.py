"""A case moved to another route version (``route_migrated``): the case row and the task index
follow it, and the move is audited.

The task ids stay (the engine keeps them), but a renamed or re-laned element changes what the
index shows and who the task is routed to: each open task's row takes the target version's
name, lane, role and form; a task whose lane changed is routed again (audited ``task.rerouted``).
The audit event ``case.route_migrated`` records from/to version (hash and number), the mapping
file used with its SHA-256, the elements renamed, and the run (so it can be reverted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event, OpenTask
from app.cases.handlers.task_index import _route
from app.route_engine import legal_basis
from app.tables import Case, RouteVersion, Task

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def follow(session: CaseSession, event: Event) -> None:
    """The case row's version, and each open task's row, follow the target version."""
    case = session.case
    await Case.update({Case.spec_version: event.data["to_version"]}).where(Case.id == case.id)
    rows = await Task.select(Task.task_id, Task.lane, Task.bpmn_id).where(
        (Task.case == case.id) & (Task.status == "open")
    )
    before = {r["task_id"]: r for r in rows}
    for task in case.ready_tasks():
        row = before.get(task.task_id)
        if row is None:
            continue
        values = {
            Task.bpmn_id: task.bpmn_id,
            Task.name: task.name[:300],
            Task.name_en: task.name_en[:300],
            Task.process_id: task.process_id,
            Task.lane: task.lane,
            Task.rol: task.rol,
        }
        if row["lane"] != task.lane:
            decision = await _route(case, task)
            values.update({Task.authority: decision.authority_id, Task.routing_rule: decision.rule})
            values.update({Task.assignee: None, Task.claimed_at: None})
            session.audit(
                "task.rerouted",
                task_id=task.task_id,
                authority_id=decision.authority_id,
                changes={
                    "task": task.bpmn_id,
                    "from_lane": row["lane"],
                    "lane": task.lane,
                    "from_authority_id": case.open_tasks.get(
                        task.task_id, OpenTask(None, None)
                    ).authority_id,
                    "reason": "route_migrated",
                }
                | decision.audit_changes(),
                legal_basis=legal_basis(task),
            )
            case.open_tasks[task.task_id] = OpenTask(decision.authority_id, None)
        await Task.update(values).where(Task.task_id == task.task_id)


async def audit(session: CaseSession, event: Event) -> None:
    data = event.data
    numbers = {
        r["version"]: r["id"]
        for r in await RouteVersion.select(RouteVersion.id, RouteVersion.version).where(
            RouteVersion.version.is_in([data["from_version"] or "", data["to_version"]])
        )
    }
    session.audit(
        "case.route_migrated",
        changes={
            "run": data["run"],
            "from_version": data["from_version"],
            "from_number": numbers.get(data["from_version"]),
            "to_version": data["to_version"],
            "to_number": numbers.get(data["to_version"]),
            "mapping": data["mapping"],
            "mapping_sha256": data["mapping_sha256"],
            "renamed": data["renamed"],
            "repredicted": data["repredicted"],
            "revert_of": data["revert_of"],
        },
    )
