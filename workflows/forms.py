"""Task forms: JSON Schema 2020-12 documents, checked at load and used to validate submissions.

Submissions are validated *before* they touch the workflow, and every error is reported with the
JSON path of the offending field so an officer sees all problems at once.

Two schema keywords are checked against the case as well (``check_in_case``), because JSON Schema
alone knows neither the clock nor what the case recorded before:

``"x-fecha-hecho"`` on a ``date`` or ``date-time`` property: the date of a fact that already
    happened and that a deadline counts from (a claim filed last week). It may not be in the future
    (today in the calendar's zone; five minutes of clock skew for a date-time) nor before any of
    the instants it names, when they are known: ``true`` means
    ``{"no_antes_de": ["caso.fecha_ingreso_pais", "caso.fecha_deteccion"]}``; a name is a case
    variable (``caso.x``) or a form field (``task_id.campo``; the task's own fields are read from
    the submission itself). A date and a date-time are compared as days in the calendar's zone.
``"x-una-sola-vez": [values]`` on a property: those values may be chosen only once in a row in
    the task: refused when the task's previous submission in this case (the engine keeps the
    latest one per task) already chose it. For a task the route loops back to after that choice
    (a term extended once), that is "once".
``"x-solo-si": {value: {"ref": [allowed], ...}, ...}`` on a property: that value may be chosen
    only while every ``ref`` (``caso.x`` or ``task_id.campo``, as above) holds one of its allowed
    values: a legal guarantee the case's facts decide (refugee-based residency only with refugee
    status; a withdrawal only with the representative present). On an array of enum values the
    rule applies to each item chosen (consular information among the evidence of accompaniment
    only while consular contact is not blocked). Optional ``"x-solo-si-fuente"`` on the property
    names the legal source, quoted in the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .errors import FormValidationError, SpecError

FORM_SUFFIX = ".schema.json"
#: Upper bound on one submission, so a form cannot bloat the case state (bytes of JSON).
MAX_SUBMISSION_BYTES = 256 * 1024

#: Keywords checked against the case (module docstring).
FECHA_HECHO = "x-fecha-hecho"
UNA_SOLA_VEZ = "x-una-sola-vez"
SOLO_SI = "x-solo-si"
SOLO_SI_FUENTE = "x-solo-si-fuente"
#: What ``"x-fecha-hecho": true`` may not precede: entry into Mexico and detection, when known.
LIMITES_POR_DEFECTO = ("caso.fecha_ingreso_pais", "caso.fecha_deteccion")
#: The calendar's zone when the engine has no calendar (config/plazos.toml's default).
ZONA_POR_DEFECTO = ZoneInfo("America/Mexico_City")
#: A date-time typed "now" on an officer's device may run slightly ahead of the server.
TOLERANCIA_FUTURO = timedelta(minutes=5)
_NOMBRES_LIMITE = {
    "caso.fecha_deteccion": ("la detección de la NNA", "detection of the child"),
    "caso.fecha_ingreso_pais": ("el ingreso a México", "entry into Mexico"),
}


@dataclass(frozen=True)
class ContextoCaso:
    """What a case-aware check reads: the command's instant and what the case already holds."""

    now: datetime
    variables: Mapping[str, Any]
    #: the latest stored submission of each task, by task id (before this one)
    forms: Mapping[str, Mapping[str, Any]]
    #: the task being completed
    task_id: str
    #: the working-day calendar, whose zone says which day a date is (central Mexico without one)
    calendario: Any = None

    @property
    def zona(self) -> tzinfo:
        return getattr(self.calendario, "tz", None) or ZONA_POR_DEFECTO


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

    def check_in_case(self, filename: str, data: Mapping[str, Any], ctx: ContextoCaso) -> None:
        """Raise FormValidationError if validated ``data`` breaks a case-aware keyword."""
        errors = case_errors(self.schemas[filename], data, ctx)
        if errors:
            raise FormValidationError(filename.removesuffix(FORM_SUFFIX), errors)

    def check_keywords(self, known: Mapping[str, Iterable[str]], variables: Iterable[str]) -> None:
        """At load: every case-aware keyword sits where it can work and names what exists.

        ``known`` maps each task id with a form to that form's file name; ``variables`` are the
        declared case variables. Raises SpecError naming the form file and property.
        """
        forms_of_task = dict(known)
        case_vars = set(variables)
        for filename, schema in self.schemas.items():
            own = filename.removesuffix(FORM_SUFFIX)
            for name, prop in (schema.get("properties") or {}).items():
                if not isinstance(prop, dict):
                    continue
                where = f"properties.{name}"
                if FECHA_HECHO in prop:
                    if prop.get("format") not in ("date", "date-time"):
                        raise SpecError(
                            f"{FECHA_HECHO} needs a date or date-time property",
                            file=filename,
                            element=where,
                        )
                    for ref in _limites(prop[FECHA_HECHO]):
                        problem = self._ref_problem(ref, own, forms_of_task, case_vars)
                        if problem:
                            raise SpecError(
                                f"{FECHA_HECHO}: {problem}", file=filename, element=where
                            )
                if SOLO_SI in prop:
                    rules = prop[SOLO_SI]
                    items = prop.get("items") if prop.get("type") == "array" else None
                    enum = (
                        prop.get("enum")
                        or (items.get("enum") if isinstance(items, dict) else None)
                        or ([True, False] if prop.get("type") == "boolean" else [])
                    )
                    if not isinstance(rules, dict) or not all(
                        isinstance(conditions, dict)
                        and all(isinstance(allowed, list) for allowed in conditions.values())
                        for conditions in rules.values()
                    ):
                        raise SpecError(
                            f"{SOLO_SI} must map values to {{ref: [allowed values]}}",
                            file=filename,
                            element=where,
                        )
                    for key, conditions in rules.items():
                        if enum and key not in [
                            str(v).lower() if isinstance(v, bool) else v for v in enum
                        ]:
                            raise SpecError(
                                f"{SOLO_SI}: {key!r} is not a value of the property",
                                file=filename,
                                element=where,
                            )
                        for ref in conditions:
                            problem = self._ref_problem(ref, own, forms_of_task, case_vars)
                            if problem:
                                raise SpecError(
                                    f"{SOLO_SI}: {problem}", file=filename, element=where
                                )
                if UNA_SOLA_VEZ in prop:
                    values = prop[UNA_SOLA_VEZ]
                    enum = prop.get("enum") or []
                    if not isinstance(values, list) or not all(v in enum for v in values):
                        raise SpecError(
                            f"{UNA_SOLA_VEZ} must list values of the property's enum",
                            file=filename,
                            element=where,
                        )

    def _ref_problem(
        self, ref: Any, own: str, forms_of_task: Mapping[str, str], case_vars: set[str]
    ) -> str | None:
        if not isinstance(ref, str) or "." not in ref:
            return f"{ref!r} is not 'caso.variable' or 'task_id.field'"
        head, _, field_name = ref.partition(".")
        if head == "caso":
            return None if field_name in case_vars else f"{ref!r}: not a declared case variable"
        form = forms_of_task.get(head) or (own + FORM_SUFFIX if head == own else None)
        if form is None or form not in self.schemas:
            return f"{ref!r}: no user task {head!r}"
        if field_name not in (self.schemas[form].get("properties") or {}):
            return f"{ref!r}: form {form} has no field {field_name!r}"
        return None


def case_errors(
    schema: Mapping[str, Any], data: Mapping[str, Any], ctx: ContextoCaso
) -> list[dict[str, str]]:
    """Errors of the case-aware keywords (module docstring), each with its field's JSON path."""
    found: list[dict[str, str]] = []
    for name, prop in (schema.get("properties") or {}).items():
        value = data.get(name)
        if value is None or not isinstance(prop, dict):
            continue
        path = _join("$", name)
        if FECHA_HECHO in prop:
            found.extend(
                {"path": path, "message": m}
                for m in _fecha_hecho(value, _limites(prop[FECHA_HECHO]), data, ctx)
            )
        if isinstance(prop.get(SOLO_SI), dict):
            chosen = value if isinstance(value, list) else [value]
            for item in chosen:
                if isinstance(item, str | bool | int):
                    found.extend(
                        {"path": path, "message": m}
                        for m in _solo_si(item, prop[SOLO_SI], prop.get(SOLO_SI_FUENTE), data, ctx)
                    )
        if value in (prop.get(UNA_SOLA_VEZ) or ()):
            previous = ctx.forms.get(ctx.task_id) or {}
            if previous.get(name) == value:
                found.append(
                    {
                        "path": path,
                        "message": f"'{value}' ya se eligió en esta tarea y solo se permite una "
                        f"vez; '{value}' was already chosen in this task and is allowed once",
                    }
                )
    return found


def _solo_si(
    value: Any, rules: Mapping[str, Any], fuente: Any, data: Mapping[str, Any], ctx: ContextoCaso
) -> list[str]:
    conditions = rules.get(str(value).lower() if isinstance(value, bool) else str(value))
    if not isinstance(conditions, dict):
        return []
    messages = []
    source = f" ({fuente})" if fuente else ""
    for ref, allowed in conditions.items():
        actual = _resolve(ref, data, ctx)
        if actual not in allowed:
            messages.append(
                f"'{value}' solo procede si {ref} es {allowed} (es {actual!r}){source}; "
                f"'{value}' is allowed only when {ref} is one of {allowed} (it is {actual!r})"
            )
    return messages


def _limites(rule: Any) -> tuple[str, ...]:
    if rule is True:
        return LIMITES_POR_DEFECTO
    if isinstance(rule, dict):
        return tuple(rule.get("no_antes_de", LIMITES_POR_DEFECTO))
    return ()


def _fecha_hecho(
    value: Any, limites: tuple[str, ...], data: Mapping[str, Any], ctx: ContextoCaso
) -> list[str]:
    parsed = _as_instant_or_day(value, ctx.zona)
    if parsed is None:
        return [f"{value!r} no es una fecha válida; not a valid date"]
    today = ctx.now.astimezone(ctx.zona).date()
    if isinstance(parsed, datetime):
        if parsed > ctx.now + TOLERANCIA_FUTURO:
            return [
                f"{value} es posterior a este momento ({ctx.now.isoformat()}): un hecho ya "
                f"ocurrido no puede estar en el futuro; is in the future"
            ]
    elif parsed > today:
        return [
            f"{value} es posterior a hoy ({today.isoformat()}): un hecho ya ocurrido no puede "
            f"estar en el futuro; is in the future"
        ]
    messages = []
    for ref in limites:
        bound_text = _resolve(ref, data, ctx)
        bound = _as_instant_or_day(bound_text, ctx.zona) if bound_text else None
        if bound is None:
            continue  # unknown (or unreadable: its own form reported it): no bound
        if _before(parsed, bound, ctx.zona):
            es, en = _NOMBRES_LIMITE.get(ref, (ref, ref))
            messages.append(
                f"{value} es anterior a {es} ({bound_text}, {ref}); is before {en} ({bound_text})"
            )
    return messages


def _resolve(ref: str, data: Mapping[str, Any], ctx: ContextoCaso) -> Any:
    head, _, field_name = ref.partition(".")
    if head == "caso":
        return ctx.variables.get(field_name)
    source = data if head == ctx.task_id else (ctx.forms.get(head) or {})
    return source.get(field_name)


def _as_instant_or_day(value: Any, zona: tzinfo) -> datetime | date | None:
    """A date-only text is a day; anything longer an instant (naive: UTC, as the engine reads)."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def _before(value: datetime | date, bound: datetime | date, zona: tzinfo) -> bool:
    if isinstance(value, datetime) and isinstance(bound, datetime):
        return value < bound
    return _day(value, zona) < _day(bound, zona)


def _day(value: datetime | date, zona: tzinfo) -> date:
    return value.astimezone(zona).date() if isinstance(value, datetime) else value


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
