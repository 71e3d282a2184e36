"""Engine errors: each names what is wrong and where, so a caller can show it to a person."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class SpecError(EngineError):
    """A BPMN file, form or deadline is unusable: raised at load so a bad route never starts."""

    def __init__(self, message: str, file: str | None = None, element: str | None = None):
        self.file = file
        self.element = element
        where = ", ".join(
            p
            for p in (f"file {file}" if file else "", f"element {element}" if element else "")
            if p
        )
        super().__init__(f"{where}: {message}" if where else message)


class FormValidationError(EngineError):
    """Submitted form data does not match the task's JSON Schema; the workflow was not changed."""

    def __init__(self, form: str, errors: list[dict[str, str]]):
        self.form = form
        self.errors = errors
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        super().__init__(f"form {form} is invalid: {summary}")


class GuaranteeError(FormValidationError):
    """A well-formed submission that would break a legal guarantee of the child
    (workflows/guarantees.py): nothing was written. ``guarantee`` and ``legal_source`` name the
    first guarantee broken; ``errors`` name each field, as a FormValidationError does, so a
    caller that only knows form errors still shows them (the app answers 409, issue 12)."""

    def __init__(self, form: str, guarantee: str, legal_source: str, errors: list[dict[str, str]]):
        super().__init__(form, errors)
        self.guarantee = guarantee
        self.legal_source = legal_source


class TaskNotReadyError(EngineError):
    """The task does not exist in this case or is not waiting for a person."""


class ExpressionError(EngineError):
    """A gateway condition, script or timer expression was refused by the restricted evaluator."""


class ClockNotSetError(EngineError):
    """SpiffWorkflow asked for the time outside an engine call that was given `now`."""


class StateFormatError(EngineError):
    """Serialized case state is not in a format (or spec version) this engine can restore."""
