"""Form keywords checked against the case (workflows/forms.py): "x-fecha-hecho", "x-una-sola-vez".

The asylum route uses them (tests/route/test_referencia_comar.py); here: their edge cases, and the
load-time check that refuses a keyword that could never work.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.errors import SpecError
from workflows.forms import ContextoCaso, FormRegistry, case_errors

SCHEMA = {
    "type": "object",
    "properties": {
        "accion": {
            "type": "string",
            "enum": ["resolver", "ampliar"],
            "x-una-sola-vez": ["ampliar"],
        },
        "fecha": {"type": "string", "format": "date", "x-fecha-hecho": True},
        "hora": {
            "type": "string",
            "format": "date-time",
            "x-fecha-hecho": {"no_antes_de": ["tarea.fecha"]},
        },
    },
}
#: 2 March 2026, 20:00 in Mexico City: already 3 March in UTC.
NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def ctx(variables=None, forms=None, now=NOW) -> ContextoCaso:
    return ContextoCaso(now, variables or {}, forms or {}, "tarea")


def test_dates_are_days_in_central_mexico_not_in_utc():
    # "today" is 2 March there: 3 March is the future, although UTC already says 3 March.
    assert case_errors(SCHEMA, {"fecha": "2026-03-02"}, ctx()) == []
    [error] = case_errors(SCHEMA, {"fecha": "2026-03-03"}, ctx())
    assert error["path"] == "$.fecha" and "futuro" in error["message"]
    # detected at 01:00 UTC on 3 March = 19:00 on 2 March there: a filing that day is not before
    detected = {"fecha_deteccion": "2026-03-03T01:00:00Z"}
    assert case_errors(SCHEMA, {"fecha": "2026-03-02"}, ctx(detected)) == []
    [error] = case_errors(SCHEMA, {"fecha": "2026-03-01"}, ctx(detected))
    assert "detección" in error["message"] and "detection" in error["message"]


def test_an_unknown_bound_is_no_bound_and_the_task_reads_its_own_fields():
    assert case_errors(SCHEMA, {"fecha": "2020-01-01"}, ctx()) == []
    data = {"fecha": "2026-03-02", "hora": "2026-03-01T23:00:00-06:00"}
    assert [e["path"] for e in case_errors(SCHEMA, data, ctx())] == ["$.hora"]
    data["hora"] = "2026-03-02T09:00:00-06:00"
    assert case_errors(SCHEMA, data, ctx()) == []


def test_a_date_time_may_run_five_minutes_ahead_of_the_clock():
    assert case_errors(SCHEMA, {"hora": "2026-03-03T02:04:59Z"}, ctx()) == []
    assert [e["path"] for e in case_errors(SCHEMA, {"hora": "2026-03-03T02:05:01Z"}, ctx())] == [
        "$.hora"
    ]


def test_a_one_time_choice_is_refused_after_the_same_choice():
    assert case_errors(SCHEMA, {"accion": "ampliar"}, ctx()) == []
    before = {"tarea": {"accion": "ampliar"}}
    [error] = case_errors(SCHEMA, {"accion": "ampliar"}, ctx(forms=before))
    assert error["path"] == "$.accion" and "una vez" in error["message"]
    assert case_errors(SCHEMA, {"accion": "resolver"}, ctx(forms=before)) == []


@pytest.mark.parametrize(
    ("prop", "problem"),
    [
        ({"type": "string", "x-fecha-hecho": True}, "date or date-time"),
        (
            {"type": "string", "format": "date", "x-fecha-hecho": {"no_antes_de": ["caso.x"]}},
            "not a declared case variable",
        ),
        (
            {"type": "string", "format": "date", "x-fecha-hecho": {"no_antes_de": ["otra.f"]}},
            "no user task 'otra'",
        ),
        (
            {"type": "string", "format": "date", "x-fecha-hecho": {"no_antes_de": ["tarea.zz"]}},
            "has no field 'zz'",
        ),
        ({"type": "string", "enum": ["a"], "x-una-sola-vez": ["b"]}, "enum"),
    ],
)
def test_a_keyword_that_cannot_work_is_refused_at_load(prop, problem):
    registry = FormRegistry(
        {"tarea.schema.json": {"type": "object", "properties": {"campo": prop, "f": {}}}}
    )
    with pytest.raises(SpecError) as info:
        registry.check_keywords({"tarea": "tarea.schema.json"}, {"fecha_deteccion"})
    assert problem in str(info.value)
    assert "tarea.schema.json" in str(info.value) and "properties.campo" in str(info.value)


SOLO_SI_SCHEMA = {
    "type": "object",
    "properties": {
        "via": {
            "type": "string",
            "enum": ["refugio", "otra"],
            "x-solo-si": {"refugio": {"caso.estatus": ["refugiado"], "tarea.presente": [True]}},
            "x-solo-si-fuente": "LM art. 54 fr. I",
        },
        "presente": {"type": "boolean"},
    },
}


def test_a_value_only_the_case_s_facts_allow():
    """x-solo-si: a value is refused while the case (or the submission) does not allow it."""
    ok = {"via": "refugio", "presente": True}
    assert case_errors(SOLO_SI_SCHEMA, ok, ctx({"estatus": "refugiado"})) == []
    [error] = case_errors(SOLO_SI_SCHEMA, ok, ctx({"estatus": None}))
    assert error["path"] == "$.via" and "caso.estatus" in error["message"]
    assert "LM art. 54 fr. I" in error["message"]
    [error] = case_errors(SOLO_SI_SCHEMA, ok | {"presente": False}, ctx({"estatus": "refugiado"}))
    assert "tarea.presente" in error["message"]
    assert case_errors(SOLO_SI_SCHEMA, {"via": "otra"}, ctx()) == []  # other values: free


def test_a_solo_si_naming_a_value_or_variable_that_does_not_exist_fails_at_load():
    bad_value = {
        "properties": {
            "via": {"type": "string", "enum": ["a"], "x-solo-si": {"b": {"caso.x": [1]}}}
        }
    }
    with pytest.raises(SpecError, match="not a value"):
        FormRegistry({"t.schema.json": bad_value}).check_keywords({"t": "t.schema.json"}, ["x"])
    bad_ref = {
        "properties": {
            "via": {"type": "string", "enum": ["a"], "x-solo-si": {"a": {"caso.nope": [1]}}}
        }
    }
    with pytest.raises(SpecError, match="not a declared case variable"):
        FormRegistry({"t.schema.json": bad_ref}).check_keywords({"t": "t.schema.json"}, ["x"])


ARRAY_SOLO_SI = {
    "type": "object",
    "properties": {
        "evidencias": {
            "type": "array",
            "items": {"type": "string", "enum": ["declaracion", "consular"]},
            "x-solo-si": {"consular": {"caso.bloqueado": [False, None]}},
            "x-solo-si-fuente": "LRPCAP art. 21",
        }
    },
}


def test_a_solo_si_on_an_array_checks_each_item_chosen():
    """On an array of enum values the rule applies to each item (consular information among the
    evidence only while consular contact is not blocked)."""
    chosen = {"evidencias": ["declaracion", "consular"]}
    [error] = case_errors(ARRAY_SOLO_SI, chosen, ctx({"bloqueado": True}))
    assert error["path"] == "$.evidencias" and "LRPCAP art. 21" in error["message"]
    assert case_errors(ARRAY_SOLO_SI, chosen, ctx({"bloqueado": False})) == []
    assert (
        case_errors(ARRAY_SOLO_SI, {"evidencias": ["declaracion"]}, ctx({"bloqueado": True})) == []
    )
    registry = FormRegistry({"t.schema.json": ARRAY_SOLO_SI})
    registry.check_keywords({"t": "t.schema.json"}, ["bloqueado"])  # the items' enum is known
    bad = {
        "properties": {"e": ARRAY_SOLO_SI["properties"]["evidencias"] | {"x-solo-si": {"otra": {}}}}
    }
    with pytest.raises(SpecError, match="not a value"):
        FormRegistry({"t.schema.json": bad}).check_keywords({"t": "t.schema.json"}, ["bloqueado"])
