"""Test driver: walks a case through the engine, serializing and restoring after every step.

Every step goes ``restore -> command -> dump``, and each dump is restored and dumped again to prove
the state round-trips unchanged, so a path test also proves that a case survives a restart between
any two steps.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from workflows import MAIN_PROCESS, EngineEvent, ReadyTask, RouteEngine, load_library

#: A Monday afternoon, Tapachula time, so working-day arithmetic is easy to follow.
DEFAULT_NOW = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


@lru_cache(maxsize=1)
def route_engine() -> RouteEngine:
    """The real route, loaded once per test session."""
    return RouteEngine(load_library())


def form_example(engine: RouteEngine, form_name: str) -> dict[str, Any]:
    """The first example of a form: the default data a test submits."""
    examples = engine.library.forms.schemas[form_name].get("examples") or [{}]
    return copy.deepcopy(examples[0])


def effective_state(engine: RouteEngine, state: str) -> dict[str, Any]:
    """Every task's spec, state and data, plus the case variables: what a restore must keep."""
    case = engine.restore(state)
    return {
        "tasks": {
            str(t.id): (t.task_spec.name, t.state, t.data)
            for t in case._all_tasks()  # noqa: SLF001 - test inspection of the restored tree
        },
        "variables": case.variables,
        "ready": sorted(r.task_id for r in case.ready_tasks()),
    }


#: The coadyuvante representation of a child who is with a parent (LGDNNA art. 106).
COADYUVANTE = {
    "tipo": "coadyuvante",
    "representacion_originaria": "madre",
}


def representative_for(variables: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The form example of designar_representante, of the kind the child's accompaniment asks
    for, appointed at ``now``."""
    data = form_example(route_engine(), "designar_representante.schema.json")
    if variables.get("situacion_acompanamiento") == "acompanado":
        data.update(COADYUVANTE)
        data.pop("fundamento_suplencia")
    data["fecha_designacion"] = now.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return data


class Driver:
    """One case under test."""

    def __init__(
        self,
        process_id: str = MAIN_PROCESS,
        variables: dict[str, Any] | None = None,
        start_data: dict[str, Any] | None = None,
        now: datetime = DEFAULT_NOW,
        engine: RouteEngine | None = None,
        representative: bool = True,
    ):
        self.engine = engine or route_engine()
        self.now = now
        if start_data is None and process_id == MAIN_PROCESS:
            start_data = form_example(self.engine, "inicio_caso.schema.json")
        case = self.engine.start_case(start_data, now, process_id=process_id, variables=variables)
        if process_id != MAIN_PROCESS and representative:
            # A subprocess run alone stands for one the main route reached after
            # designar_representante: the child has a representative unless a test says not.
            case.designate_representative(representative_for(case.variables, now), now)
        self.events: list[EngineEvent] = list(case.events)
        self._save(case)

    # -- state
    def _save(self, case: Any) -> None:
        state = case.dump()
        again = self.engine.restore(state).dump()
        if again != state:
            # SpiffWorkflow may encode the same task data as a different delta after a
            # multi-instance merge; what must not change is each task's state and data.
            assert effective_state(self.engine, again) == effective_state(self.engine, state), (
                "case changed across a restore"
            )
        self.state = state

    def case(self):
        return self.engine.restore(self.state)

    # -- reading
    def ready_tasks(self) -> list[ReadyTask]:
        return self.case().ready_tasks()

    def ready(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.ready_tasks())

    def task(self, bpmn_id: str, where: Callable[[ReadyTask], bool] | None = None) -> ReadyTask:
        """The ready task ``bpmn_id``; ``where`` picks one multi-instance instance."""
        matches = [
            t for t in self.ready_tasks() if t.bpmn_id == bpmn_id and (where is None or where(t))
        ]
        if not matches:
            raise AssertionError(f"{bpmn_id} is not ready; ready: {self.ready()}")
        return matches[0]

    @property
    def variables(self) -> dict[str, Any]:
        return self.case().variables

    @property
    def completed(self) -> bool:
        return self.case().is_completed

    @property
    def end_state(self) -> str | None:
        return self.case().end_state

    def events_of(self, kind: str) -> list[EngineEvent]:
        return [e for e in self.events if e.kind == kind]

    # -- commands
    def complete(
        self,
        bpmn_id: str,
        data: dict[str, Any] | None = None,
        where: Callable[[ReadyTask], bool] | None = None,
        **overrides: Any,
    ) -> list[EngineEvent]:
        """Complete a ready task with its form example, updated with ``data``/``overrides``."""
        task = self.task(bpmn_id, where)
        payload = form_example(self.engine, task.form_name) if data is None else copy.deepcopy(data)
        payload.update(overrides)
        case = self.case()
        new = case.complete_task(task.task_id, payload, self.now)
        self.events.extend(new)
        self._save(case)
        return new

    def advance(self, delta: timedelta) -> list[EngineEvent]:
        """Move the clock and fire whatever is due."""
        self.now += delta
        case = self.case()
        new = case.fire_timers(self.now)
        self.events.extend(new)
        self._save(case)
        return new

    def send(self, message: str, payload: dict[str, Any] | None = None) -> list[EngineEvent]:
        case = self.case()
        new = case.send_message(message, payload, self.now)
        self.events.extend(new)
        self._save(case)
        return new
