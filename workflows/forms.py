"""Task forms: JSON Schema 2020-12 documents, checked at load and used to validate submissions.

Submissions are validated *before* they touch the workflow, and every error is reported with the
JSON path of the offending field so an officer sees all problems at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .errors import FormValidationError, SpecError

FORM_SUFFIX = ".schema.json"
#: Upper bound on one submission, so a form cannot bloat the case state (bytes of JSON).
MAX_SUBMISSION_BYTES = 256 * 1024


class FormRegistry:
    """All forms of the route, compiled once."""

    def __init__(self, schemas: Mapping[str, dict[str, Any]]):
        self.schemas = dict(schemas)
        checker = FormatChecker()
        self._validators = {
            name: Draft202012Validator(schema, format_checker=checker)
            for name, schema in self.schemas.items()
        }

    @classmethod
    def load(cls, forms_dir: Path) -> FormRegistry:
        """Read and metaschema-check every ``*.schema.json``; errors name the file."""
        schemas: dict[str, dict[str, Any]] = {}
        for path in sorted(forms_dir.glob(f"*{FORM_SUFFIX}")):
            schemas[path.name] = load_schema(path)
        return cls(schemas)

    def __contains__(self, filename: str) -> bool:
        return filename in self.schemas

    def validate(self, filename: str, data: Any) -> dict[str, Any]:
        """Return a validated copy of ``data`` or raise FormValidationError listing every error."""
        errors = validation_errors(self._validators[filename], data)
        if errors:
            raise FormValidationError(filename.removesuffix(FORM_SUFFIX), errors)
        return json.loads(json.dumps(data))


def load_schema(path: Path) -> dict[str, Any]:
    """Parse one form file and check it against the 2020-12 metaschema."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(f"form is not valid JSON: {exc}", file=str(path)) from exc
    if not isinstance(schema, dict):
        raise SpecError("form must be a JSON object", file=str(path))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        at = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise SpecError(
            f"not a valid JSON Schema 2020-12 at {at}: {exc.message}", file=str(path)
        ) from exc
    if schema.get("type") != "object":
        raise SpecError('form schema must have "type": "object"', file=str(path))
    return schema


def validation_errors(validator: Draft202012Validator, data: Any) -> list[dict[str, str]]:
    """Every error with its JSON path; a missing required field is reported at its own path."""
    if not isinstance(data, dict):
        return [{"path": "$", "message": "form data must be a JSON object"}]
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size > MAX_SUBMISSION_BYTES:
        return [{"path": "$", "message": f"form data is too large ({size} bytes)"}]
    bad_keys = [k for k in data if not isinstance(k, str) or k.startswith("_")]
    found = [{"path": f"$.{k}", "message": "field names may not start with '_'"} for k in bad_keys]
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    found.append({"path": _join(error.json_path, name), "message": "is required"})
        else:
            found.append({"path": error.json_path, "message": error.message})
    return _dedupe(found)


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if name.isidentifier() else f"{parent}[{json.dumps(name)}]"


def _dedupe(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errors:
        key = (e["path"], e["message"])
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out
