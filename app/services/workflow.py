"""Load a case's workflow for a command, and save it back with an optimistic version check.

On PostgreSQL the workflow_state row is locked (SELECT ... FOR UPDATE via Piccolo ``lock_rows``),
so a concurrent command on the same case waits, then sees the new version. On SQLite the process
write lock and BEGIN IMMEDIATE already serialise commands. Either way the UPDATE also checks
``version``: if the row changed since it was read (another process, a bug), the command fails with
409 and rolls back instead of overwriting someone's work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.db import is_sqlite
from app.errors import Conflict, NotFound
from app.route_engine import route_engine
from app.services.context import Command
from app.tables import Case, Placement, WorkflowState
from workflows import Case as EngineCase
from workflows import EngineEvent, StateFormatError

#: Engine variables never copied in clear to the audit trail (quasi-identifying).
REDACTED_VARIABLES = frozenset({"fecha_nacimiento"})


@dataclass
class LoadedCase:
    case: dict[str, Any]
    version: int
    engine_case: EngineCase
    events: list[EngineEvent] = field(default_factory=list)
    #: set when the child changed state or municipality during the command (open tasks re-route)
    moved: bool = False
    #: engine task id -> authority it is routed to, filled by the task index sync
    task_authority: dict[str, int | None] = field(default_factory=dict)

    @property
    def case_id(self) -> int:
        return self.case["id"]

    @property
    def folio(self) -> str:
        return self.case["folio"]


async def load_for_update(case_id: int) -> LoadedCase:
    query = WorkflowState.select(WorkflowState.state, WorkflowState.version).where(
        WorkflowState.case == case_id
    )
    if not is_sqlite():
        query = query.lock_rows("UPDATE")
    state = await query.first()
    case = await Case.select().where(Case.id == case_id).first()
    return restore_case(case, state)


def restore_case(case: dict[str, Any] | None, state: dict[str, Any] | None) -> LoadedCase:
    """A LoadedCase from its ``nna_case`` row and its ``workflow_state`` row (state, version)."""
    if state is None or case is None:
        raise NotFound("case not found")
    try:
        engine_case = route_engine().restore(state["state"])
    except StateFormatError as exc:
        # The route definition changed since this case was saved; the engine refuses to guess.
        raise Conflict(f"cannot continue this case on this server: {exc}") from exc
    return LoadedCase(case, state["version"], engine_case)


async def save(cmd: Command, loaded: LoadedCase) -> None:
    """Write the new state (version + 1) and refresh the case row's derived columns."""
    engine_case = loaded.engine_case
    updated = (
        await WorkflowState.update(
            {
                WorkflowState.state: engine_case.dump(),
                WorkflowState.version: loaded.version + 1,
                WorkflowState.next_due_at: engine_case.next_due_at(),
                WorkflowState.updated_at: cmd.now,
            }
        )
        .where((WorkflowState.case == loaded.case_id) & (WorkflowState.version == loaded.version))
        .returning(WorkflowState.id)
    )
    if not updated:
        raise Conflict("the case changed while this command ran; reload and retry")
    loaded.version += 1
    variables = engine_case.variables
    values: dict[Any, Any] = {
        Case.variables: variables,
        Case.risk: variables.get("nivel_riesgo"),
        Case.updated_at: cmd.now,
    }
    if engine_case.is_completed and loaded.case["status"] != "closed":
        values.update(
            {Case.status: "closed", Case.closed_at: cmd.now, Case.end_state: engine_case.end_state}
        )
        loaded.case["status"] = "closed"
        await _discharge_on_close(cmd, loaded)
    await Case.update(values).where(Case.id == loaded.case_id)
    loaded.case["risk"] = variables.get("nivel_riesgo")


async def _discharge_on_close(cmd: Command, loaded: LoadedCase) -> None:
    """A closed case has no child in a shelter: end any placement still open."""
    ended = (
        await Placement.update(
            {
                Placement.status: "discharged",
                Placement.ended_at: cmd.now,
                Placement.end_reason: "case closed",
            }
        )
        .where((Placement.case == loaded.case_id) & (Placement.status == "admitted"))
        .returning(Placement.id, Placement.shelter)
    )
    for row in ended:
        cmd.audit(
            "placement.discharged",
            case_id=loaded.case_id,
            case_folio=loaded.folio,
            authority_id=row["shelter_id"],
            changes={"placement_id": row["id"], "reason": "case closed"},
        )


def variable_changes(events: list[EngineEvent]) -> dict[str, Any]:
    """Case variables a command set, for the audit trail (redacted where identifying)."""
    out: dict[str, Any] = {}
    for event in events:
        if event.kind == "case_variable_set":
            name = event.data["name"]
            out[name] = "[redacted]" if name in REDACTED_VARIABLES else event.data["new"]
    return out


def audit_engine_events(cmd: Command, loaded: LoadedCase, events: list[EngineEvent]) -> None:
    """Record what the engine did besides the command itself (escalations, closure)."""
    for event in events:
        if event.kind == "deadline_escalated":
            cmd.audit(
                "deadline.escalated",
                case_id=loaded.case_id,
                case_folio=loaded.folio,
                task_id=event.data.get("task_id"),
                changes={
                    "deadline": event.data.get("plazo_id"),
                    "level": event.data.get("level"),
                    "due_at": event.data.get("due_at"),
                    "task": event.data.get("task_bpmn_id"),
                },
                legal_basis=event.data.get("legal_source"),
            )
        elif event.kind == "timer_fired":
            cmd.audit(
                "timer.fired",
                case_id=loaded.case_id,
                case_folio=loaded.folio,
                changes={"timer": event.data.get("bpmn_id"), "due_at": event.data.get("due_at")},
            )
        elif event.kind == "case_completed":
            cmd.audit(
                "case.closed",
                case_id=loaded.case_id,
                case_folio=loaded.folio,
                changes={"end_state": event.data.get("end_state")},
            )


def escalations(events: list[EngineEvent]) -> dict[str, int]:
    """Engine task id -> highest escalation level reached in these events."""
    out: dict[str, int] = {}
    for event in events:
        if event.kind == "deadline_escalated" and event.data.get("task_id"):
            tid = event.data["task_id"]
            out[tid] = max(out.get(tid, 0), int(event.data.get("level") or 0))
    return out
