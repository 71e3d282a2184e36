"""Plausible bounds on every date of every form (workflows/forms.py; issue 15, item 3): the
JSON Schema half (a year pattern every client can check) and the server half (a floor, a horizon,
a birth date within 25 years before detection), at any depth of a form."""

from __future__ import annotations

from datetime import UTC, datetime

from workflows.forms import PATRON_ANIO, ContextoCaso, case_errors, date_properties
from workflows.route_files import forms_dir

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SCHEMA = {
    "type": "object",
    "properties": {
        "detectada": {
            "type": "string",
            "format": "date-time",
            "x-fecha-hecho": {"no_antes_de": []},
        },
        "nacida": {
            "type": "string",
            "format": "date",
            "x-fecha-nacimiento": {"respecto_de": "tarea.detectada"},
        },
        "sesion": {"type": "string", "format": "date"},
        "medidas": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"fecha": {"type": "string", "format": "date"}},
            },
        },
    },
}


def errors(data: dict) -> dict[str, str]:
    found = case_errors(SCHEMA, data, ContextoCaso(NOW, {}, {}, "tarea"))
    return {e["path"]: e["message"] for e in found}


def test_every_date_of_the_route_forms_carries_the_year_pattern():
    import json

    missing = []
    for path in sorted(forms_dir().glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        for where, prop in date_properties(schema, "properties"):
            if prop.get("pattern") != PATRON_ANIO:
                missing.append(f"{path.name} {where}")
    assert missing == []


def test_a_floor_and_a_horizon_at_any_depth():
    assert errors({"sesion": "2031-11-30", "medidas": [{"fecha": "1990-01-01"}]}) == {}
    found = errors(
        {"sesion": "2032-01-01", "medidas": [{"fecha": "2027-01-01"}, {"fecha": "1989-12-31"}]}
    )
    assert set(found) == {"$.sesion", "$.medidas[1].fecha"}
    assert (
        "5 years ahead" in found["$.sesion"] and "before 1990-01-01" in found["$.medidas[1].fecha"]
    )


def test_a_fact_may_not_be_in_the_future_beyond_the_clock_skew():
    assert errors({"detectada": "2026-12-01T18:04:00Z"}) == {}
    assert "future" in errors({"detectada": "2026-12-01T18:06:00Z"})["$.detectada"]
    assert "1990" in errors({"detectada": "1989-12-31T23:00:00-06:00"})["$.detectada"]


def test_a_birth_date_is_within_25_years_before_detection_and_never_after():
    detected = {"detectada": "2026-03-02T17:00:00Z"}
    assert errors(detected | {"nacida": "2001-03-02"}) == {}
    assert "25" in errors(detected | {"nacida": "2001-03-01"})["$.nacida"]
    assert "after detection" in errors(detected | {"nacida": "2026-03-03"})["$.nacida"]
    # without a detection, counted from today; a birth date needs no 1990 floor
    assert errors({"nacida": "2002-01-01"}) == {}
    assert "after detection" in errors({"nacida": "2026-12-02"})["$.nacida"]
    assert set(errors({"nacida": "0001-01-01", "sesion": "9999-12-31"})) == {"$.nacida", "$.sesion"}
