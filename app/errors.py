"""Domain errors raised by services; app/api/errors.py maps them to HTTP responses.

Services never import Litestar, so the CLI, the demo and the bench call the same code paths and
get the same errors.
"""

from __future__ import annotations

from workflows import FormValidationError, GuaranteeError


class ServiceError(Exception):
    status_code = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    """Does not exist, or exists but the caller may not know it (least privilege: same answer)."""

    status_code = 404


class Forbidden(ServiceError):
    """The caller can see the record but their role may not do this."""

    status_code = 403


class Conflict(ServiceError):
    """The record changed under the caller (already completed, claimed, full shelter, ...)."""

    status_code = 409


class GuaranteeViolation(Conflict):
    """A command would break a legal guarantee of the child (non-refoulement, a protection
    measure before admission, ...): nothing is written, and the answer names the guarantee and
    its legal source so the officer knows what the law requires (issue 12)."""

    def __init__(
        self,
        guarantee: str,
        legal_source: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
    ):
        super().__init__(detail)
        self.guarantee = guarantee
        self.legal_source = legal_source
        #: the fields of a refused form, each naming the guarantee (a task's completion)
        self.errors = errors or []


class InvalidInput(ServiceError):
    """Input that parsed but is not acceptable; ``errors`` name each bad field by JSON path."""

    status_code = 422

    def __init__(self, detail: str, errors: list[dict[str, str]]):
        super().__init__(detail)
        self.errors = errors


def field_error(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {message}", [{"path": path, "message": message}])


def form_errors(exc: FormValidationError, prefix: str) -> InvalidInput | GuaranteeViolation:
    """The engine reports JSON paths from the form root (``$.campo``); prefix the body field. A
    well-formed form the law forbids (``GuaranteeError``) is a 409 naming the guarantee."""
    errors = [
        {
            "path": prefix + e["path"][1:] if e["path"].startswith("$") else e["path"],
            "message": e["message"],
            **({"guarantee": e["guarantee"]} if e.get("guarantee") else {}),
        }
        for e in exc.errors
    ]
    if isinstance(exc, GuaranteeError):
        detail = f"form {exc.form} would break the guarantee {exc.guarantee}: " + "; ".join(
            e["message"] for e in errors
        )
        return GuaranteeViolation(exc.guarantee, exc.legal_source, detail[:4000], errors)
    return InvalidInput(f"form {exc.form} is invalid", errors)
