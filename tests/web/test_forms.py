"""The JSON Schema form mapping on its own: fields, posted values, error paths and messages."""

from __future__ import annotations

from app.route_engine import form_schema
from app.web import forms


class Multi(dict):
    def getall(self, key, default=None):
        value = self.get(key)
        return default if value is None else value if isinstance(value, list) else [value]


def test_kinds_and_conditions_from_the_schema():
    schema = form_schema("admitir_en_cas.schema.json")
    fields = {f.name: f for f in forms.build_fields(schema, "es", {}, {}, {})}
    assert fields["hay_cupo"].kind == "bool_radio"
    assert fields["fecha_ingreso"].kind == "date"
    assert fields["fecha_ingreso"].condition and "Sí" in fields["fecha_ingreso"].condition


def test_rows_parse_and_datetime_to_utc():
    schema = form_schema("registrar_deteccion.schema.json")
    data, rows = forms.parse(
        schema,
        Multi(
            {
                "fecha_hora_deteccion": "2026-03-02T11:00",
                "adultos_presentes.__rows": "2",
                "adultos_presentes.0.relacion_declarada": "madre",
                "adultos_presentes.1.presenta_documentos_vinculo": "true",
                "documentos_nna": ["pasaporte", "acta_nacimiento"],
                "duda_edad": "false",
            }
        ),
    )
    assert data["fecha_hora_deteccion"] == "2026-03-02T17:00:00Z"  # UTC-6, no DST
    assert rows == {"adultos_presentes": 2}
    assert data["adultos_presentes"][0] == {
        "relacion_declarada": "madre",
        "presenta_documentos_vinculo": False,
    }
    assert data["adultos_presentes"][1]["presenta_documentos_vinculo"] is True
    assert data["documentos_nna"] == ["pasaporte", "acta_nacimiento"]
    assert data["duda_edad"] is False
    shown = forms.build_fields(schema, "es", data, {}, rows)
    assert next(f for f in shown if f.name == "fecha_hora_deteccion").value == "2026-03-02T11:00"


def test_error_paths_and_messages():
    schema = form_schema("elaborar_plan_restitucion.schema.json")
    assert forms.error_name("$.medidas[0].estatus") == "medidas.0.estatus"
    errors, other = forms.field_errors(
        schema,
        [
            {"path": "$.data.medidas[0].estatus", "message": "'x' is not one of ['a']"},
            {"path": "$.data.resumen_diagnostico", "message": "'aaa' is too long"},
            {"path": "$.data.medidas[1].numero", "message": "0 is less than the minimum of 1"},
            {"path": "$.data", "message": "something else"},
        ],
        "es",
    )
    assert errors["medidas.0.estatus"] == "Elija una de las opciones."
    assert errors["resumen_diagnostico"] == "El texto es demasiado largo (máximo 8000 caracteres)."
    assert errors["medidas.1.numero"] == "El valor debe ser al menos 1."
    assert other == ["Valor no válido."]
    en, _ = forms.field_errors(schema, [{"path": "$.data.x", "message": "is required"}], "en")
    assert en["x"] == "This field is required."
