"""The engine API: start cases, list ready tasks, complete them, fire timers, serialize.

Callers pass ``now`` to every state change; SpiffWorkflow's timers read the injected clock
(`clock.py`). Form data is validated against the task's JSON Schema before the workflow is touched
and kept once per case by task id (read with ``valor``), so a form cannot overwrite what
gateways read.
Case-level variables (``caso``) live in the envelope's meta, shared by every branch.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from .clock import current_now, engine_clock, require_aware
from .errors import EngineError, ExpressionError, FormValidationError, TaskNotReadyError
from .expressions import CaseContext, DeadlineCalculator, RestrictedEnvironment
from .forms import FORM_SUFFIX, ContextoCaso
from .guarantees import requires_interpreter
from .panel_bid import AjustesPanelBid
from .panel_bid import errores as errores_panel_bid
from .serialization import CaseSerializer
from .specs import MAIN_PROCESS, START_FORM, RouteLibrary, TaskInfo

if TYPE_CHECKING:
    from .calendario import CalendarioLaboral

#: Start-form fields copied into the case variables every branch can read.
_START_VARIABLES = (
    "jurisdiccion",
    "fecha_nacimiento",
    "nacionalidad",
    "fecha_deteccion",
    "fecha_ingreso_pais",
)
#: Task data shown with a ready task: the multi-instance item it works on (a measure, a panel
#: member, the votes), or the report a task answers (imminent risk reported by another authority).
_CONTEXT = ("medida", "miembro", "votos")
_CONTEXT_KEYS = {"valorar_reporte_riesgo_inminente": ("reporte_riesgo",)}
#: Upper bound on engine passes per call: each pass fires at most one cycle of each timer.
_MAX_PASSES = 64


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for a person of the authority named by ``lane``."""

    task_id: str
    bpmn_id: str
    name: str
    name_en: str
    process_id: str
    lane: str
    rol: str
    form_name: str
    form: dict[str, Any]
    documentation: str
    due_at: datetime | None
    deadline_id: str | None
    legal_source: str | None
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineEvent:
    """Something that happened inside the engine, for the audit trail and notifications."""

    kind: str
    at: datetime
    data: dict[str, Any]


class RouteEngine:
    """Stateless service over a loaded route library; cases are restored per command."""

    def __init__(
        self,
        library: RouteLibrary,
        calendario: CalendarioLaboral | None = None,
        panel_bid: AjustesPanelBid | None = None,
    ):
        self.library = library
        # The BID panel's size and quorum (config/panel_bid.toml), read at start-up.
        self.panel_bid = panel_bid or AjustesPanelBid.cargar()
        self.calendario = calendario or library.plazos.calendario_desde_config()
        self.deadlines = DeadlineCalculator(library.plazos, self.calendario)
        self.serializer = CaseSerializer(library.specs, library.version)

    def start_case(
        self,
        data: dict[str, Any] | None,
        now: datetime,
        process_id: str = MAIN_PROCESS,
        variables: dict[str, Any] | None = None,
    ) -> Case:
        """Validate the case-opening form, create the workflow and run it to its first wait."""
        now = require_aware(now)
        if process_id not in self.library.specs:
            raise EngineError(f"unknown process {process_id!r}")
        start = (
            self.library.forms.validate(START_FORM, data)
            if (data is not None or process_id == MAIN_PROCESS)
            else {}
        )
        case_vars = {k: start.get(k) for k in _START_VARIABLES if k in start}
        case_vars.setdefault("jurisdiccion", "00")
        if "idioma" in start:  # interviews then require an interpreter (workflows/guarantees.py)
            case_vars["requiere_interprete"] = requires_interpreter(start["idioma"])
        case_vars.update(copy.deepcopy(variables or {}))
        spec, subprocess_specs = self.library.specs[process_id]
        case = Case(
            self,
            BpmnWorkflow(spec, subprocess_specs),
            process_id,
            {"caso": case_vars, "timers": {}, "forms": {}},
        )
        with engine_clock(now):
            if start:
                case.meta["forms"]["inicio_caso"] = start
            case._settle(now)
        case.events.insert(0, EngineEvent("case_started", now, {"process_id": process_id}))
        return case

    def restore(self, state_json: str | bytes) -> Case:
        """Rebuild a case from ``Case.dump()``; the process spec comes from the library."""
        workflow, process_id, meta = self.serializer.load(state_json)
        meta.setdefault("caso", {})
        meta.setdefault("timers", {})
        meta.setdefault("forms", {})
        return Case(self, workflow, process_id, meta)


def _is_timer(task: Any) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


class Case:
    """One child's case: a restored workflow plus its case-level variables."""

    def __init__(
        self, engine: RouteEngine, workflow: BpmnWorkflow, process_id: str, meta: dict[str, Any]
    ):
        self.engine = engine
        self.workflow = workflow
        self.process_id = process_id
        self.meta = meta
        self.events: list[EngineEvent] = []
        self._ctx = CaseContext(meta["caso"], engine.deadlines, forms=meta["forms"])
        workflow.script_engine = PythonScriptEngine(environment=RestrictedEnvironment(self._ctx))

    # ----------------------------------------------------------------- reading
    @property
    def variables(self) -> dict[str, Any]:
        return dict(self.meta["caso"])

    @property
    def forms(self) -> Mapping[str, Mapping[str, Any]]:
        """The latest submitted form of each task, by task id (read-only view)."""
        return MappingProxyType(self.meta["forms"])

    @property
    def is_completed(self) -> bool:
        return self.workflow.is_completed()

    @property
    def end_state(self) -> str | None:
        """Id of the end event the main process finished on, if it has finished."""
        if not self.workflow.is_completed():
            return None
        ends = [
            t
            for t in self.workflow.tasks.values()
            if t.state == TaskState.COMPLETED and type(t.task_spec).__name__ == "EndEvent"
        ]
        ends.sort(key=lambda t: t.last_state_change)
        return ends[-1].task_spec.bpmn_id if ends else None

    def ready_tasks(self) -> list[ReadyTask]:
        """User tasks waiting for a person, with lane, form and legal due date."""
        out = []
        for task in self.workflow.get_tasks(state=TaskState.READY, manual=True):
            info = self.engine.library.tasks.get(task.task_spec.bpmn_id)
            if info is None:
                continue
            out.append(self._ready(task, info))
        return out

    def _ready(self, task: Any, info: TaskInfo) -> ReadyTask:
        due_at, deadline_id, source = None, None, None
        # A deadline whose every escalation level fired stays the task's deadline: a breach is
        # a fact, and the task is overdue until it is done.
        spent = self.meta.get("spent", {}).get(str(task.id))
        if spent:
            due_at = datetime.fromisoformat(spent["due"])
            deadline_id, source = spent["plazo_id"], spent.get("legal_source")
        for record in self.meta["timers"].values():
            if record.get("task_id") == str(task.id) and record.get("plazo_id"):
                due_at = datetime.fromisoformat(record["due"])
                deadline_id, source = record["plazo_id"], record.get("legal_source")
        return ReadyTask(
            task_id=str(task.id),
            bpmn_id=info.bpmn_id,
            name=info.name,
            name_en=info.name_en,
            process_id=info.process_id,
            lane=info.lane,
            rol=info.rol,
            form_name=info.form,
            form=self.engine.library.forms.schemas[info.form],
            documentation=info.documentation,
            due_at=due_at,
            deadline_id=deadline_id,
            legal_source=source,
            context={
                k: v for k, v in task.data.items() if k in _CONTEXT_KEYS.get(info.bpmn_id, _CONTEXT)
            },
        )

    def next_due_at(self) -> datetime | None:
        """Earliest instant at which a timer of this case fires (for the deadline worker)."""
        instants = [datetime.fromisoformat(v) for v in self._timer_instants().values()]
        return min(instants, default=None)

    def dump(self) -> str:
        return self.engine.serializer.dump(self.workflow, self.process_id, self.meta)

    # ----------------------------------------------------------------- commands
    def complete_task(self, task_id: str, data: dict[str, Any], now: datetime) -> list[EngineEvent]:
        """Validate ``data`` against the task's form, then complete it and run to the next wait."""
        now = require_aware(now)
        task = self._ready_task(task_id)
        info = self.engine.library.tasks[task.task_spec.bpmn_id]
        clean = self.engine.library.forms.validate(info.form, data)
        # Dates of facts a deadline counts from, one-time choices: checked against the case
        # before anything is written (workflows/forms.py, "x-fecha-hecho", "x-una-sola-vez").
        context = ContextoCaso(
            now, self.meta["caso"], self.meta["forms"], info.bpmn_id, self.engine.calendario
        )
        self.engine.library.forms.check_in_case(info.form, clean, context)
        # The BID binds: panel size and quorum, a decision that follows the votes, a plan that
        # does not contradict the BID (workflows/panel_bid.py).
        bid = errores_panel_bid(
            info.bpmn_id, clean, self.meta["caso"], self.engine.panel_bid, self.meta["forms"]
        )
        if bid:
            raise FormValidationError(info.form.removesuffix(FORM_SUFFIX), bid)
        start = len(self.events)
        with engine_clock(now):
            # Deadlines that passed before this completion are reported first, as missed.
            self._settle(now)
            task = self._ready_task(task_id)
            self.meta["forms"][info.bpmn_id] = clean
            self._guard(lambda: task.run())
            self.events.append(
                EngineEvent(
                    "task_completed",
                    now,
                    {"task_id": task_id, "bpmn_id": info.bpmn_id, "lane": info.lane},
                )
            )
            self._settle(now)
        return self.events[start:]

    def fire_timers(self, now: datetime) -> list[EngineEvent]:
        """Fire every timer due at ``now`` (deadline escalations, waits, 18th birthday)."""
        now = require_aware(now)
        start = len(self.events)
        with engine_clock(now):
            self._settle(now)
        return self.events[start:]

    def send_message(
        self, name: str, payload: dict[str, Any] | None, now: datetime
    ) -> list[EngineEvent]:
        """Deliver a message (e.g. ``nna_salio_colocacion``) to the case."""
        now = require_aware(now)
        start = len(self.events)
        waiting = {e.name for e in self.workflow.waiting_events()}
        if name not in waiting:
            raise TaskNotReadyError(f"the case is not waiting for message {name!r}")
        with engine_clock(now):
            event = BpmnEvent(MessageEventDefinition(name), payload=copy.deepcopy(payload or {}))
            self._guard(lambda: self.workflow.send_event(event))
            self.events.append(EngineEvent("message_received", now, {"name": name}))
            self._settle(now)
        return self.events[start:]

    def relocate(self, jurisdiccion: str, now: datetime) -> list[EngineEvent]:
        """The child moved: working-day deadlines armed from now on use the new jurisdiction."""
        now = require_aware(now)
        start = len(self.events)
        self._ctx.set_variable("jurisdiccion", str(jurisdiccion))
        self._flush_variable_changes(now)
        return self.events[start:]

    def recompute_deadlines(
        self, calendario: CalendarioLaboral, now: datetime
    ) -> list[EngineEvent]:
        """Re-arm working-day deadlines after the calendar changed (e.g. a suspension of terms).

        Each pending deadline whose first level has not fired is recomputed from the instant it was
        armed, with the new calendar; deadlines already escalated keep their history.
        """
        now = require_aware(now)
        start = len(self.events)
        calculator = DeadlineCalculator(self.engine.library.plazos, calendario)
        previous, self._ctx.deadlines = self._ctx.deadlines, calculator
        try:
            for task in self._all_tasks():
                record = self.meta["timers"].get(str(task.id))
                if not record or not record.get("plazo_id") or task.state != TaskState.WAITING:
                    continue
                if record["cycles"] != record["levels"]:
                    continue
                plazo = self.engine.library.plazos[record["plazo_id"]]
                if getattr(plazo, "calendario", "") != "dias_habiles":
                    continue
                with engine_clock(datetime.fromisoformat(record["armed_at"])):
                    expression = task.task_spec.event_definition.expression
                    cycle = self.workflow.script_engine.evaluate(task, expression)
                cycles, due, interval = TimerEventDefinition.parse_iso_recurring_interval(cycle)
                if due.isoformat() == record["due"]:
                    continue
                old_due = record["due"]
                task.internal_data["event_value"] = {
                    "cycles": cycles,
                    "next": due.isoformat(),
                    "duration": interval.total_seconds(),
                }
                record["due"] = due.isoformat()
                self.events.append(
                    EngineEvent(
                        "deadline_recomputed",
                        now,
                        {
                            "plazo_id": record["plazo_id"],
                            "task_id": record.get("task_id"),
                            "deadline_key": record.get("key", str(task.id)),
                            "old_due_at": old_due,
                            "due_at": record["due"],
                        },
                    )
                )
        finally:
            self._ctx.deadlines = previous
        with engine_clock(now):
            self._settle(now)
        return self.events[start:]

    # ----------------------------------------------------------------- internals
    def _ready_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(str(task_id)))
        except (ValueError, TaskNotFoundException) as exc:
            raise TaskNotReadyError(f"task {task_id} does not exist in this case") from exc
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReadyError(f"task {task_id} is not waiting for a person")
        if task.task_spec.bpmn_id not in self.engine.library.tasks:
            raise TaskNotReadyError(f"task {task_id} is not a user task of the route")
        return task

    def _guard(self, action: Any) -> None:
        try:
            action()
        except SpiffWorkflowException as exc:
            cause = exc.__cause__ or getattr(exc, "exception", None)
            if isinstance(cause, ExpressionError | FormValidationError):
                raise EngineError(f"{exc}: {cause}") from exc
            raise EngineError(str(exc)) from exc

    def _settle(self, now: datetime) -> None:
        """Run the engine until nothing more is due at ``now``, recording what fired."""
        for _ in range(_MAX_PASSES):
            finished_before = self._finished_timer_ids()
            self._guard(self.workflow.do_engine_steps)
            fired = self._track_timers(now, finished_before)
            self._flush_variable_changes(now)
            if not fired and not self._due_timers(now):
                break
            self._guard(self.workflow.refresh_timers)
        self._prune_finished_subprocesses()
        if self.workflow.is_completed() and not self.meta.get("completed"):
            self.meta["completed"] = True
            self.events.append(EngineEvent("case_completed", now, {"end_state": self.end_state}))

    def _prune_finished_subprocesses(self) -> None:
        """Drop the task trees of finished call activities and subprocesses.

        Their results already live in the calling task's data and every step was reported to the
        audit trail, so keeping them would only make each later restore and save slower (the state
        grew to 1 MB over the longest path without this).
        """
        finished = (TaskState.COMPLETED, TaskState.CANCELLED)
        for task_id in list(self.workflow.subprocesses):
            if task_id not in self.workflow.subprocesses:
                continue  # removed with its parent
            owner = self.workflow.get_task_from_id(task_id)
            if owner is not None and owner.state in finished:
                self.workflow.delete_subprocess(owner)

    def _all_tasks(self) -> list[Any]:
        tasks = list(self.workflow.tasks.values())
        for sub in self.workflow.subprocesses.values():
            tasks.extend(sub.tasks.values())
        return tasks

    def _timer_instants(self) -> dict[str, str]:
        """Waiting timer task id -> next firing instant (ISO)."""
        out = {}
        for task in self._all_tasks():
            if task.state != TaskState.WAITING:
                continue
            value = task.internal_data.get("event_value")
            if isinstance(value, dict) and value.get("cycles", 0) != 0:
                out[str(task.id)] = value["next"]
            elif isinstance(value, str) and _is_timer(task):
                out[str(task.id)] = value if "T" in value else value + "T00:00:00+00:00"
        return out

    def _due_timers(self, now: datetime) -> bool:
        return any(datetime.fromisoformat(v) < now for v in self._timer_instants().values())

    def _finished_timer_ids(self) -> set[str]:
        """Timer tasks already completed or cancelled (before an engine pass)."""
        done = (TaskState.COMPLETED, TaskState.CANCELLED)
        return {str(t.id) for t in self._all_tasks() if t.state in done and _is_timer(t)}

    def _track_timers(self, now: datetime, finished_before: set[str] | None = None) -> bool:
        """Compare each timer with what we saw last time; report escalations and firings.

        A timer armed with an instant already past (a case opened days after detection, an entry
        date weeks ago) fires every cycle inside the engine pass that armed it, so it is never
        seen waiting: such a timer, completed during this pass (not in ``finished_before``), is
        reconstructed and every level it went through is reported, never silently dropped.
        """
        fired = False
        records = self.meta["timers"]
        seen: set[str] = set()
        for task in self._all_tasks():
            if not _is_timer(task):
                continue
            key = str(task.id)
            value = task.internal_data.get("event_value")
            record = records.get(key)
            seen.add(key)
            if record is None:
                if value is None or task.state == TaskState.CANCELLED:
                    continue
                # First sight: waiting as usual, or already fired in the pass that armed it.
                # A record lives until its task is completed or cancelled, so a timer is never
                # first-seen twice (a finished one is in ``finished_before`` from then on).
                if task.state != TaskState.WAITING and (
                    finished_before is None or key in finished_before
                ):
                    continue
                record = records[key] = self._new_timer_record(task, value)
                record["key"] = key
                if record.get("plazo_id"):
                    self.events.append(self._started_event(record, now))
            record.setdefault("key", key)  # records saved before keys were kept
            fired |= self._report_firings(task, value, record, now)
            if task.state in (TaskState.COMPLETED, TaskState.CANCELLED):
                if not self._keep_spent_deadline(task, record):
                    self._stop_deadline(record, now)
                records.pop(key, None)
        for key in set(records) - seen:  # its task is gone (a pruned subprocess)
            self._stop_deadline(records.pop(key), now, gone=True)
        self._drop_spent_deadlines(now)
        return fired

    def _started_event(self, record: dict[str, Any], now: datetime) -> EngineEvent:
        """A deadline began to run: when the law's start event happened (``started_at``, which
        may be days before the engine armed it) and when it falls due."""
        plazo = self.engine.library.plazos[record["plazo_id"]]
        return EngineEvent(
            "deadline_started",
            now,
            {
                "deadline_key": record["key"],
                "plazo_id": record["plazo_id"],
                "task_id": record.get("task_id"),
                "task_bpmn_id": record.get("attached_bpmn_id"),
                "boundary_id": record["bpmn_id"],
                "started_at": record.get("started_at") or record["armed_at"],
                "armed_at": record["armed_at"],
                "due_at": record["due"],
                "levels": record["levels"],
                "calendario": getattr(plazo, "calendario", None),
                "inicia": getattr(plazo, "inicia_es", None),
                "legal_source": record.get("legal_source"),
            },
        )

    def _stop_deadline(self, record: dict[str, Any], now: datetime, gone: bool = False) -> None:
        """The deadline stopped running: its task was done (``completed``), or the route went
        another way (``cancelled``, with why)."""
        if not record.get("plazo_id"):
            return
        outcome, reason = "cancelled", "scope_ended" if gone else self._cancel_reason()
        task = self._task_or_none(record.get("task_id"))
        if task is not None and task.state == TaskState.COMPLETED:
            outcome, reason = "completed", None
        self.events.append(
            EngineEvent(
                "deadline_stopped",
                now,
                {
                    "deadline_key": record.get("key"),
                    "plazo_id": record["plazo_id"],
                    "task_id": record.get("task_id"),
                    "due_at": record.get("due"),
                    "outcome": outcome,
                    "reason": reason,
                },
            )
        )

    def _cancel_reason(self) -> str:
        """Why the route cancelled a task: the case closed, a message arrived (e.g. the child
        left the placement), a timer fired (e.g. the 18th birthday), or the route itself."""
        if self.workflow.is_completed():
            return "case_closed"
        for event in reversed(self.events):
            if event.kind == "message_received":
                return f"message:{event.data.get('name')}"
            if event.kind == "timer_fired":
                return f"timer:{event.data.get('bpmn_id')}"
        return "route"

    def _task_or_none(self, task_id: str | None) -> Any:
        if not task_id:
            return None
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, TaskNotFoundException):
            return None

    def _keep_spent_deadline(self, timer: Any, record: dict[str, Any]) -> bool:
        """A deadline timer that ran out of levels (not one cancelled with its task): remember
        its due date on the task it bounds, while that task waits. True if kept: the deadline
        is still running (breached) until the task is done."""
        if timer.state != TaskState.COMPLETED or not record.get("plazo_id"):
            return False
        if record.get("cycles", 0) != 0 or not record.get("task_id"):
            return False
        task = self._task_or_none(record["task_id"])
        if task is None or task.state != TaskState.READY:
            return False  # its task is already done or gone: the deadline stops now
        self.meta.setdefault("spent", {})[record["task_id"]] = {
            "due": record["due"],
            "plazo_id": record["plazo_id"],
            "legal_source": record.get("legal_source"),
            "key": record.get("key"),
        }
        return True

    def _drop_spent_deadlines(self, now: datetime) -> None:
        """Forget spent deadlines of tasks no longer waiting for a person (done or cancelled):
        that is when such a deadline stops."""
        spent = self.meta.get("spent")
        if not spent:
            return
        for task_id in list(spent):
            task = self._task_or_none(task_id)
            if task is None or task.state != TaskState.READY:
                entry = spent.pop(task_id)
                self._stop_deadline({**entry, "task_id": task_id}, now, gone=task is None)

    def _new_timer_record(self, task: Any, value: Any) -> dict[str, Any]:
        deadline = self.engine.library.deadlines.get(task.task_spec.bpmn_id)
        attached = self._attached_task(task)
        record: dict[str, Any] = {
            "bpmn_id": task.task_spec.bpmn_id,
            "armed_at": current_now().isoformat(),
        }
        if isinstance(value, dict):
            # A deadline's cycle has one firing per escalation level (plazo_ciclo: R<niveles>).
            # Levels already spent when the timer is first seen (armed with a past instant, so
            # the engine pass that armed it fired them) are recovered and reported, not lost.
            plazo = self.engine.library.plazos[deadline.plazo_id] if deadline else None
            remaining = int(value.get("cycles", 0))
            niveles = getattr(plazo, "niveles", None)
            levels = max(niveles, remaining) if niveles else max(remaining, 1)
            spent = levels - remaining
            first = datetime.fromisoformat(value["next"]) - timedelta(
                seconds=float(value["duration"]) * spent
            )
            record.update(
                due=first.isoformat(), cycles=levels, levels=levels, interval=value["duration"]
            )
        else:
            record.update(due=str(value), cycles=1, levels=1, interval=0)
        if deadline is not None:
            record.update(
                plazo_id=deadline.plazo_id,
                legal_source=deadline.legal_source,
                attached_bpmn_id=deadline.attached_to,
            )
            start = self._ctx.starts.get(deadline.plazo_id)
            if start is not None:
                record["started_at"] = start.isoformat()
        if attached is not None:
            record["task_id"] = str(attached.id)
        return record

    def _attached_task(self, boundary: Any) -> Any:
        """The activity a boundary event sits on: a sibling under the BoundaryEventSplit."""
        parent = boundary.parent
        if parent is None or "BoundaryEventSplit" not in type(parent.task_spec).__name__:
            return None
        for sibling in parent.children:
            if (
                sibling is not boundary
                and getattr(sibling.task_spec, "event_definition", None) is None
            ):
                return sibling
        return None

    def _report_firings(self, task: Any, value: Any, record: dict[str, Any], now: datetime) -> bool:
        if isinstance(value, dict):
            remaining = value.get("cycles", 0)
        elif task.internal_data.get("event_fired") or task.state == TaskState.COMPLETED:
            remaining = 0
        else:
            remaining = record["cycles"]
        if value is None and task.internal_data.get("event_fired"):
            remaining = 0
        fired = False
        while record["cycles"] > remaining and record["cycles"] > 0:
            level = record["levels"] - record["cycles"] + 1
            record["cycles"] -= 1
            fired = True
            self.events.append(self._firing_event(record, level, now))
        record["done"] = record["cycles"] == 0
        return fired

    def _firing_event(self, record: dict[str, Any], level: int, now: datetime) -> EngineEvent:
        due = datetime.fromisoformat(record["due"])
        if record.get("plazo_id"):
            return EngineEvent(
                "deadline_escalated",
                now,
                {
                    "plazo_id": record["plazo_id"],
                    "level": level,
                    "due_at": record["due"],
                    "level_due_at": (
                        due + timedelta(seconds=record["interval"] * (level - 1))
                    ).isoformat(),
                    "task_id": record.get("task_id"),
                    "task_bpmn_id": record.get("attached_bpmn_id"),
                    "boundary_id": record["bpmn_id"],
                    "legal_source": record.get("legal_source"),
                    "deadline_key": record.get("key"),
                },
            )
        return EngineEvent(
            "timer_fired", now, {"bpmn_id": record["bpmn_id"], "due_at": record["due"]}
        )

    def _flush_variable_changes(self, now: datetime) -> None:
        for name, old, new in self._ctx.changes:
            self.events.append(
                EngineEvent("case_variable_set", now, {"name": name, "old": old, "new": new})
            )
        self._ctx.changes.clear()
