"""careroute engine layer: the Care Route on SpiffWorkflow, with no web and no SQL.

``load_library()`` parses and checks bpmn/, forms/ and config/plazos.toml once;
``RouteEngine(library).start_case(...)`` / ``.restore(state)`` give a ``Case`` whose commands all
take ``now``.
"""

from . import clock as _clock  # noqa: F401  (installs the injected clock before any timer runs)
from .engine import Case, EngineEvent, ReadyTask, RouteEngine, runs_in_state
from .errors import (
    ClockNotSetError,
    EngineError,
    ExpressionError,
    FormValidationError,
    GuaranteeError,
    SpecError,
    StateFormatError,
    TaskNotReadyError,
)
from .specs import AUTHORITY_TYPES, MAIN_PROCESS, RouteLibrary, load_library

__all__ = [
    "AUTHORITY_TYPES",
    "MAIN_PROCESS",
    "Case",
    "ClockNotSetError",
    "EngineError",
    "EngineEvent",
    "ExpressionError",
    "FormValidationError",
    "GuaranteeError",
    "ReadyTask",
    "RouteEngine",
    "RouteLibrary",
    "SpecError",
    "StateFormatError",
    "TaskNotReadyError",
    "load_library",
    "runs_in_state",
]
