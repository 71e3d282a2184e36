"""A completed form's answers rendered from its JSON Schema, for people to read (issue 14).

Labels are the schema's titles (Spanish first, ``x-en`` in English); enum values are shown in
words (``x-enum-labels``, else a ``oneOf``/``anyOf`` branch's ``title`` for its ``const``); yes/no
for booleans; instants in central Mexico time; an array of objects becomes a table with one row
per item. Empty answers are left out; a key the schema does not describe is shown under its own
name rather than dropped (the record must not hide what was submitted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.route_engine import deadline_label, form_schema
from app.web.forms import LOCAL_TZ, _text
from app.web.i18n import translate


@dataclass
class Answer:
    """One answer: a label and either its text, nested answers (an object) or a table."""

    key: str
    label: str
    text: str | None = None
    children: list[Answer] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _words(schema: dict[str, Any], value: Any, lang: str) -> str:
    """An enum value in words, from the schema itself."""
    labels = (schema.get("x-enum-labels") or {}).get(str(value))
    if labels:
        return labels.get(lang) or labels.get("es") or str(value)
    for branch in (schema.get("oneOf") or []) + (schema.get("anyOf") or []):
        if isinstance(branch, dict) and branch.get("const") == value and branch.get("title"):
            return _text(branch, "title", lang) or str(value)
    return str(value)


def _instant(value: str) -> str:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _scalar(schema: dict[str, Any], value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return translate(lang, "yes" if value else "no")
    if isinstance(value, list):
        items = schema.get("items") or {}
        return "; ".join(_scalar(items, v, lang) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        return "; ".join(
            f"{_text(props.get(k, {}), 'title', lang) or k}: {_scalar(props.get(k, {}), v, lang)}"
            for k, v in value.items()
            if not _empty(v)
        )
    if "enum" in schema or "x-enum-labels" in schema or "oneOf" in schema:
        return _words(schema, value, lang)
    if schema.get("format") == "date-time" and isinstance(value, str):
        return _instant(value)
    return str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def render(schema: dict[str, Any], data: dict[str, Any], lang: str) -> list[Answer]:
    """The answers of ``data`` in the schema's order, then any key the schema lacks."""
    props = schema.get("properties") or {}
    out: list[Answer] = []
    for key in [*props, *(k for k in data if k not in props)]:
        if key not in data or _empty(data[key]):
            continue
        prop = props.get(key) or {}
        value = data[key]
        answer = Answer(key=key, label=_text(prop, "title", lang) or key)
        items = prop.get("items") or {}
        if isinstance(value, list) and items.get("type") == "object":
            columns = list((items.get("properties") or {}).keys())
            for row in value:
                if isinstance(row, dict):
                    columns += [k for k in row if k not in columns]
            item_props = items.get("properties") or {}
            answer.columns = [_text(item_props.get(c, {}), "title", lang) or c for c in columns]
            answer.rows = [
                [
                    ""
                    if not isinstance(row, dict) or _empty(row.get(c))
                    else _scalar(item_props.get(c, {}), row[c], lang)
                    for c in columns
                ]
                for row in value
            ]
        elif isinstance(value, dict) and prop.get("type") == "object":
            answer.children = render(prop, value, lang)
        else:
            answer.text = _scalar(prop, value, lang)
        out.append(answer)
    return out


def rendered_forms(submissions: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Submissions (app/services/case_record.py) with their answers rendered from each form's
    schema, and the task's name in the page's language."""
    out = []
    for form in submissions:
        try:
            schema = form_schema(f"{form['bpmn_id']}.schema.json")
        except KeyError:
            schema = {}
        title = (form.get("name_en") if lang == "en" else None) or form["name"]
        out.append({**form, "title": title, "answers": render(schema, form["data"], lang)})
    return out


#: Where the route's multi-instance data comes from, so an inbox item can say what it is about
#: in words: ``medida`` is a row of the plan's ``medidas`` (plan_restitucion.bpmn, the
#: multi-instance over the measures), ``miembro`` a row of ``convocar_panel.miembros`` plus its
#: ``orden`` (panel_bid.bpmn, the sequential vote).
CONTEXT_ROWS = {
    "medida": ("elaborar_plan_restitucion", "medidas"),
    "miembro": ("convocar_panel", "miembros"),
}
#: the fields of a measure that tell it apart, in words (no free text in lists)
MEASURE_KEYS = ("tipo_medida", "derecho_vulnerado", "institucion_responsable")
#: a task that is repeated by design: every instance is numbered, the first one too
FOLLOW_UP = "dar_seguimiento_medida"


def _row_schema(key: str) -> dict[str, Any]:
    form, array = CONTEXT_ROWS[key]
    try:
        return form_schema(f"{form}.schema.json")["properties"][array]["items"]
    except KeyError:
        return {}


def subject(item: dict[str, Any], lang: str) -> list[str]:
    """What an inbox item is about, in words: the measure, the panel member, the follow-up
    number, the legal deadline (issue 14, item 4)."""
    parts: list[str] = []
    context = item.get("context") or {}
    medida = context.get("medida")
    if isinstance(medida, dict):
        props = _row_schema("medida").get("properties") or {}
        words = [_scalar(props.get(k, {}), medida[k], lang) for k in MEASURE_KEYS if medida.get(k)]
        head = translate(lang, "about_measure", n=medida.get("numero", "?"))
        parts.append(f"{head}: {' · '.join(words)}" if words else head)
    miembro = context.get("miembro")
    if isinstance(miembro, dict):
        props = _row_schema("miembro").get("properties") or {}
        head = translate(lang, "about_member", n=miembro.get("orden", "?"))
        who = [str(miembro["usuario"])] if miembro.get("usuario") else []
        who += [_scalar(props.get(k, {}), miembro[k], lang) for k in ("funcion", "autoridad")
                if miembro.get(k)]  # fmt: skip
        parts.append(f"{head}: {' · '.join(who)}" if who else head)
    repeat = int(item.get("repeat") or 0)  # 0: not counted (the task page)
    if item.get("bpmn_id") == FOLLOW_UP and repeat:
        parts.append(translate(lang, "about_follow_up", n=repeat))
    elif repeat > 1:
        parts.append(translate(lang, "about_repeat", n=repeat))
    if item.get("deadline_id"):
        parts.append(
            translate(lang, "about_deadline", what=deadline_label(item["deadline_id"], lang))
        )
    return parts
