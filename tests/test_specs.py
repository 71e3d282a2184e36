"""Loading refuses a broken route with an error that names the file and the element."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.engine_fixture import FIXTURE, FixturePlazos
from workflows import SpecError, load_library

MAIN = "ruta_proteccion_nna.bpmn"


@pytest.fixture
def route(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "route")
    return tmp_path / "route"


def load(route: Path):
    return load_library(route / "bpmn", route / "forms", FixturePlazos())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_fixture_loads(route):
    lib = load(route)
    assert set(lib.tasks) == {
        "registrar_deteccion",
        "atender_riesgo",
        "buscar",
        "revision",
        "transicion",
    }
    assert lib.tasks["revision"].process_id == "sub_revision"


def test_interrupting_event_must_say_what_it_stops_and_why(route):
    edit(
        route / "bpmn" / MAIN,
        "<bpmn:documentation>Fixture: interrumpe la revisión.</bpmn:documentation>",
        "",
    )
    with pytest.raises(SpecError, match="which work it stops and why") as err:
        load(route)
    assert err.value.element == "salio"


def test_non_interrupting_boundary_needs_no_reason(route):
    edit(
        route / "bpmn" / MAIN,
        "<bpmn:documentation>Protocolo INM 2016: 24 horas.</bpmn:documentation>",
        "",
    )
    assert "registrar_deteccion" in load(route).tasks


def test_invalid_bpmn_element_names_file_and_line(route):
    edit(route / "bpmn" / MAIN, "<bpmn:scriptTask", "<bpmn:notATask")
    edit(route / "bpmn" / MAIN, "</bpmn:scriptTask>", "</bpmn:notATask>")
    with pytest.raises(SpecError) as err:
        load(route)
    assert err.value.file.endswith(MAIN)
    assert "line" in str(err.value)


def test_malformed_xml(route):
    (route / "bpmn" / MAIN).write_text("<bpmn:definitions")
    with pytest.raises(SpecError, match=MAIN):
        load(route)


def test_user_task_without_form(route):
    edit(route / "bpmn" / MAIN, 'value="buscar.schema.json"', 'value="no_existe.schema.json"')
    with pytest.raises(SpecError) as err:
        load(route)
    assert err.value.element == "buscar"
    assert "no_existe.schema.json" in str(err.value)


def test_user_task_without_form_property(route):
    edit(
        route / "bpmn" / MAIN,
        'name="formJsonSchemaFilename" value="buscar.schema.json"',
        'name="x" value="y"',
    )
    with pytest.raises(SpecError, match="no formJsonSchemaFilename") as err:
        load(route)
    assert err.value.element == "buscar"


def test_form_that_is_not_json_schema(route):
    (route / "forms" / "buscar.schema.json").write_text(
        '{"type": "object", "properties": {"x": {"type": "texto"}}}'
    )
    with pytest.raises(SpecError, match="2020-12") as err:
        load(route)
    assert err.value.file.endswith("buscar.schema.json")


def test_form_that_is_not_json(route):
    (route / "forms" / "buscar.schema.json").write_text("{")
    with pytest.raises(SpecError, match="not valid JSON"):
        load(route)


def test_lane_that_names_no_authority(route):
    edit(route / "bpmn" / MAIN, 'name="PROCURADURIA"', 'name="Procuraduría de Chiapas"')
    with pytest.raises(SpecError, match="not a known authority type") as err:
        load(route)
    assert err.value.element == "lane_PROCURADURIA"


def test_condition_that_does_not_parse(route):
    edit(
        route / "bpmn" / MAIN,
        'caso["riesgo_inminente"]</bpmn',
        'caso["riesgo_inminente"] == = 1</bpmn',
    )
    with pytest.raises(SpecError) as err:
        load(route)
    assert err.value.element == "f_si" or "gw_riesgo" in str(err.value)


def test_condition_with_dunder_is_refused_at_load(route):
    edit(route / "bpmn" / MAIN, 'caso["riesgo_inminente"]</bpmn', "().__class__</bpmn")
    with pytest.raises(SpecError, match="__class__"):
        load(route)


def test_undeclared_case_variable(route):
    edit(route / "bpmn" / MAIN, 'marcar("riesgo_inminente"', 'marcar("riesgo_raro"')
    with pytest.raises(SpecError, match="riesgo_raro") as err:
        load(route)
    assert err.value.element == "clasificar"


def test_unknown_deadline(route):
    edit(route / "bpmn" / MAIN, 'plazo_ciclo("D1")', 'plazo_ciclo("D99")')
    with pytest.raises(SpecError, match="D99"):
        load(route)


def test_valor_of_unknown_task(route):
    edit(route / "bpmn" / MAIN, 'valor("buscar.localizado")', 'valor("buscarr.localizado")')
    with pytest.raises(SpecError, match="buscarr"):
        load(route)


def test_missing_called_process(route):
    (route / "bpmn" / "sub_revision.bpmn").unlink()
    with pytest.raises(SpecError, match="sub_revision"):
        load(route)


def test_missing_or_empty_folders_name_the_variable_that_fixes_them(route, tmp_path):
    with pytest.raises(SpecError) as missing:
        load_library(tmp_path / "nope", route / "forms", FixturePlazos())
    assert str(missing.value) == (
        f"the BPMN folder {tmp_path / 'nope'} does not exist: set CAREROUTE_BPMN_DIR to the "
        "folder of the route's .bpmn files, or unset it to use the route installed with careroute"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError) as empty:
        load_library(route / "bpmn", tmp_path / "empty", FixturePlazos())
    assert str(empty.value) == (
        f"the forms folder {tmp_path / 'empty'} has no .schema.json files: set CAREROUTE_FORMS_DIR "
        "to the folder of the route's .schema.json files, or unset it to use the forms installed "
        "with careroute"
    )


FORM_PROPERTY = (
    '<spiffworkflow:property name="formJsonSchemaFilename" value="atender_riesgo.schema.json"/>'
)


def with_aprueba(route: Path, value: str) -> None:
    """Give the fixture's ``revision`` task an ``aprueba`` property."""
    prop = f'<spiffworkflow:property name="aprueba" value="{value}"/>'
    edit(route / "bpmn" / "sub_revision.bpmn", FORM_PROPERTY, FORM_PROPERTY + prop)


def test_aprueba_names_other_user_tasks(route):
    """An approval task lists the forms it approves (``aprueba``); a name that is not another
    user task of the route is refused at load, naming the element."""
    with_aprueba(route, "buscar, registrar_deteccion")
    assert load(route).tasks["revision"].approves == ("buscar", "registrar_deteccion")
    edit(route / "bpmn" / "sub_revision.bpmn", "buscar, registrar_deteccion", "buscarr")
    with pytest.raises(SpecError, match="buscarr") as err:
        load(route)
    assert err.value.element == "revision"


def test_aprueba_may_not_name_the_task_itself(route):
    with_aprueba(route, "revision")
    with pytest.raises(SpecError, match="another user task"):
        load(route)
