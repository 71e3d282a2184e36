"""A task's JSON Schema as an HTML form: fields to render, posted values back to form data, and
the engine's validation errors (``$.campo``, ``$.medidas[0].estatus``) beside each field.

Field names in HTML: ``campo`` at the top, ``medidas.0.estatus`` inside repeated rows, and
``medidas.__rows`` (hidden) for how many rows are shown. Date-times are entered in central Mexico
time (``datetime-local``) and sent to the engine as UTC ISO strings ending in ``Z``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.web.i18n import translate

LOCAL_TZ = ZoneInfo("America/Mexico_City")
TEXTAREA_OVER = 500  # maxLength above which a string is a textarea
ROWS_KEY = "__rows"


@dataclass
class Field:
    name: str  # HTML name (dotted path)
    id: str
    kind: str  # text textarea integer date datetime select bool_radio bool_check multi lines rows
    label: str
    help: str | None = None
    required: bool = False
    condition: str | None = None  # "required if ..." text
    value: str = ""
    values: list[str] = field(default_factory=list)  # multi
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    maxlength: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    rows: list[list[Field]] = field(default_factory=list)
    row_errors: list[str | None] = field(default_factory=list)


#: modelling notes in the forms' texts that are for the docs, not for officers: the
#: "[sin confirmar]" mark of an unconfirmed rule (docs/care-route.md lists them) and internal
#: ids in parentheses ("(seguimiento_medida)")
_NOTES = re.compile(r"\s*\[(?:sin confirmar|unconfirmed)\]|\s*\((?:[a-z0-9]+_)+[a-z0-9]+\)")


def _text(schema: dict[str, Any], key: str, lang: str) -> str | None:
    """A form's title or help text in the page's language, without modelling notes."""
    if lang == "en":
        text = (schema.get("x-en") or {}).get(key) or schema.get(key)
    else:
        text = schema.get(key)
    return _NOTES.sub("", text) if isinstance(text, str) else text


def _enum_label(schema: dict[str, Any], value: Any, lang: str) -> str:
    labels = (schema.get("x-enum-labels") or {}).get(str(value)) or {}
    return labels.get(lang) or labels.get("es") or str(value)


def _kind(prop: dict[str, Any], required: bool) -> str:
    t = prop.get("type")
    if t == "boolean":
        return "bool_radio" if required else "bool_check"
    if t in ("integer", "number"):
        return "integer"
    if t == "array":
        items = prop.get("items") or {}
        if items.get("type") == "object":
            return "rows"
        return "multi" if "enum" in items else "lines"
    if "enum" in prop:
        return "select"
    if prop.get("format") == "date":
        return "date"
    if prop.get("format") == "date-time":
        return "datetime"
    if (prop.get("maxLength") or 0) > TEXTAREA_OVER:
        return "textarea"
    return "text"


def _conditions(schema: dict[str, Any], lang: str) -> dict[str, str]:
    """Fields an ``if/then`` makes required, with a readable condition."""
    out: dict[str, str] = {}
    props = schema.get("properties") or {}
    for rule in schema.get("allOf") or []:
        cond, then = rule.get("if") or {}, rule.get("then") or {}
        parts = []
        for name, sub in (cond.get("properties") or {}).items():
            label = _text(props.get(name, {}), "title", lang) or name
            if "const" in sub:
                val = sub["const"]
                if isinstance(val, bool):
                    shown = translate(lang, "yes" if val else "no")
                else:
                    shown = _enum_label(props.get(name, {}), val, lang)
                parts.append(f"«{label}» = {shown}")
            elif "enum" in sub:
                shown = ", ".join(_enum_label(props.get(name, {}), v, lang) for v in sub["enum"])
                parts.append(f"«{label}» ∈ {shown}")
            else:
                parts.append(f"«{label}»")
        text = " y ".join(parts) if lang == "es" else " and ".join(parts)
        for name in then.get("required") or []:
            out[name] = f"{out[name]}; {text}" if name in out else text
    return out


def _display(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    if kind in ("bool_radio", "bool_check"):
        return "true" if value is True else "false" if value is False else str(value)
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def build_fields(
    schema: dict[str, Any],
    lang: str,
    data: dict[str, Any],
    errors: dict[str, str],
    rows: dict[str, int],
    prefix: str = "",
) -> list[Field]:
    """Fields for an object schema; ``data`` is the (partial) form data to show again."""
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    conditions = _conditions(schema, lang)
    fields = []
    for key, prop in props.items():
        name = f"{prefix}{key}"
        kind = _kind(prop, key in required)
        f = Field(
            name=name,
            id="f-" + name.replace(".", "-"),
            kind=kind,
            label=_text(prop, "title", lang) or key,
            help=_text(prop, "description", lang),
            required=key in required,
            condition=conditions.get(key),
            error=errors.get(name),
            maxlength=prop.get("maxLength"),
            minimum=prop.get("minimum"),
            maximum=prop.get("maximum"),
        )
        value = data.get(key)
        if kind == "select":
            f.options = [(str(v), _enum_label(prop, v, lang)) for v in prop["enum"]]
        if kind == "multi":
            items = prop["items"]
            f.options = [(str(v), _enum_label(items, v, lang)) for v in items["enum"]]
            f.values = [str(v) for v in value] if isinstance(value, list) else []
        elif kind == "rows":
            items = prop["items"]
            present = value if isinstance(value, list) else []
            count = max(rows.get(name, len(present)), 0)
            for i in range(count):
                row_data = present[i] if i < len(present) and isinstance(present[i], dict) else {}
                f.rows.append(build_fields(items, lang, row_data, errors, {}, f"{name}.{i}."))
                f.row_errors.append(errors.get(f"{name}.{i}"))
        else:
            f.value = _display(value, kind)
        fields.append(f)
    return fields


# --------------------------------------------------------------------------- posted data
def _scalar(prop: dict[str, Any], kind: str, raw: str) -> Any:
    raw = raw.strip()
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw  # the engine reports the type error beside the field
    if kind in ("bool_radio", "bool_check"):
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "datetime":
        return local_datetime(raw)
    return raw


def local_datetime(raw: str) -> str:
    """A ``datetime-local`` input (central Mexico time) as an ISO UTC instant; what does not
    parse is returned as typed, for the service to report beside its field."""
    raw = raw.strip()
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if local.tzinfo is None:
        local = local.replace(tzinfo=LOCAL_TZ)
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(schema: dict[str, Any], form: Any, prefix: str = "") -> tuple[dict[str, Any], dict]:
    """Posted form (a multidict) → form data, plus the row count of each repeated field."""
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    data: dict[str, Any] = {}
    rows: dict[str, int] = {}
    for key, prop in props.items():
        name = f"{prefix}{key}"
        kind = _kind(prop, key in required)
        if kind == "multi":
            values = [v for v in form.getall(name, []) if v]
            if values or key in required:
                data[key] = values
        elif kind == "lines":
            lines = [ln.strip() for ln in str(form.get(name, "")).splitlines() if ln.strip()]
            if lines or key in required:
                data[key] = lines
        elif kind == "rows":
            try:
                count = int(form.get(f"{name}.{ROWS_KEY}", "0"))
            except ValueError:
                count = 0
            count = max(0, min(count, int(prop.get("maxItems") or 50)))
            items = []
            for i in range(count):
                row, _ = parse(prop["items"], form, f"{name}.{i}.")
                items.append(row)
            rows[name] = count
            if items or key in required:
                data[key] = items
        elif kind == "bool_check":
            data[key] = form.get(name) == "true"
        else:
            raw = form.get(name)
            if raw is None or str(raw).strip() == "":
                continue
            data[key] = _scalar(prop, kind, str(raw))
    return data, rows


# --------------------------------------------------------------------------- errors
#: The services' own field messages (app/services) → catalog keys.
SERVICE_MESSAGES = {
    "outside your authority's jurisdiction": "err_outside_jurisdiction",
    "no visible case with this folio": "err_no_such_folio",
    "must be the INEGI code of a state, 01..32": "err_state_code",
    "must be an INEGI state code 01..32": "err_state_code",
    "no active user of your authority": "err_no_colleague",
    # custody in a migration station (app/cases/aggregate.py)
    "no active INM authority with this id": "err_no_inm",
    "needs a time zone (e.g. Z or -06:00)": "err_datetime",
    "is in the future": "err_in_future",
    "is before the child's detection": "err_before_detection",
    "is before the start of the custody": "err_before_custody_start",
    "falls within another custody record of the case": "err_within_custody",
    # notes and attachments (app/services/case_files.py)
    "is not a PDF, JPEG or PNG file": "err_file_type",
    "its name says another type than its content": "err_file_name_type",
    "is larger than 10 MB": "err_file_too_large",
    "is empty": "err_file_empty",
    "is longer than 10000": "err_note_too_long",
    # the case list and search (app/services/case_search.py)
    "needs at least 2 letters": "err_two_letters",
    "invalid cursor": "err_cursor",
    "is not a process of the route": "err_enum",
}
_INDEX = re.compile(r"\[(\d+)\]")


def error_name(path: str) -> str:
    """``$.medidas[0].estatus`` → ``medidas.0.estatus`` (the HTML field name)."""
    path = path[2:] if path.startswith("$.") else path.lstrip("$")
    return _INDEX.sub(r".\1", path).lstrip(".")


def _schema_at(schema: dict[str, Any], name: str) -> dict[str, Any]:
    node = schema
    for part in name.split("."):
        if part.isdigit():
            node = node.get("items") or {}
        else:
            node = (node.get("properties") or {}).get(part) or {}
    return node


def message(lang: str, msg: str, prop: dict[str, Any]) -> str:
    """jsonschema's English message → the catalog's (Spanish by default)."""
    t = lambda key, **kw: translate(lang, key, **kw)  # noqa: E731
    if msg in SERVICE_MESSAGES:
        return t(SERVICE_MESSAGES[msg])
    if msg.startswith("this task needs role"):
        return t("err_role_needed")
    if msg == "is required" or msg.endswith("is a required property"):
        return t("err_required")
    if "is not one of" in msg:
        return t("err_enum")
    m = re.search(r"is not of type '(\w+)'", msg)
    if m:
        return t(
            {"boolean": "err_type_boolean", "integer": "err_type_integer"}.get(
                m.group(1), "err_type_number" if m.group(1) == "number" else "err_type"
            )
        )
    if "is not a 'date-time'" in msg:
        return t("err_datetime")
    if "is not a 'date'" in msg:
        return t("err_date")
    if "is not a '" in msg:
        return t("err_format")
    if "is too long" in msg or "is expected to be empty" in msg:
        n = prop.get("maxLength") or prop.get("maxItems")
        return t("err_too_long_n", n=n) if n else t("err_too_long")
    if "should be non-empty" in msg:
        return t("err_non_empty")
    if "is too short" in msg:
        return t("err_too_short")
    m = re.search(r"less than the minimum of (\S+)", msg)
    if m:
        return t("err_minimum", n=m.group(1))
    m = re.search(r"greater than the maximum of (\S+)", msg)
    if m:
        return t("err_maximum", n=m.group(1))
    if "non-unique" in msg:
        return t("err_unique")
    if "Additional properties" in msg:
        return t("err_additional")
    if "does not match" in msg:
        return t("err_pattern")
    if "was expected" in msg:
        return t("err_const")
    return t("err_invalid")


def field_errors(
    schema: dict[str, Any], errors: list[dict[str, str]], lang: str, prefix: str = "$.data"
) -> tuple[dict[str, str], list[str]]:
    """Service errors (paths under ``prefix``) → {field name: message}, plus leftovers."""
    by_name: dict[str, str] = {}
    other: list[str] = []
    for err in errors:
        path = err.get("path", "")
        if path.startswith(prefix):
            path = "$" + path[len(prefix) :]
        name = error_name(path)
        text = message(lang, err.get("message", ""), _schema_at(schema, name) if name else {})
        if not name:
            other.append(text)
        elif name not in by_name:
            by_name[name] = text
    return by_name, other


def attach_unplaced(fields: list[Field], errors: dict[str, str]) -> list[str]:
    """Errors whose field is not on the page (so they are shown at the top instead)."""
    names: set[str] = set()

    def walk(fs: list[Field]) -> None:
        for f in fs:
            names.add(f.name)
            for i, row in enumerate(f.rows):
                names.add(f"{f.name}.{i}")
                walk(row)

    walk(fields)
    return [msg for name, msg in errors.items() if name not in names]
