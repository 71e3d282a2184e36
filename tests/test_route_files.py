"""The shipped route: every BPMN file passes the OMG XSD and has diagram interchange; every form
passes the 2020-12 metaschema, is bilingual and carries a valid example; the whole route loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR

from workflows import load_library
from workflows.specs import CASE_FORMS, NS, REPO_ROOT

BPMN_FILES = sorted((REPO_ROOT / "bpmn").glob("*.bpmn"))
FORM_FILES = sorted((REPO_ROOT / "forms").glob("*.schema.json"))
DI = {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}


def test_route_has_files():
    assert len(BPMN_FILES) >= 13
    assert len(FORM_FILES) >= 40


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_bpmn_validates_against_omg_xsd(path: Path):
    VALIDATOR.validate(etree.parse(str(path)), filename=str(path))


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_element_has_a_diagram_shape(path: Path):
    tree = etree.parse(str(path))
    shapes = {s.get("bpmnElement") for s in tree.iterfind(".//bpmndi:BPMNShape", DI)}
    edges = {e.get("bpmnElement") for e in tree.iterfind(".//bpmndi:BPMNEdge", DI)}
    nodes = [
        el.get("id")
        for el in tree.iterfind(".//bpmn:process//*", NS)
        if el.getparent().tag.endswith(("process", "subProcess"))
        and not el.tag.endswith(("sequenceFlow", "laneSet", "documentation", "extensionElements"))
        and el.get("id")
        and not el.tag.endswith(("dataObject", "ioSpecification"))
    ]
    flows = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)]
    lanes = [lane.get("id") for lane in tree.iterfind(".//bpmn:lane", NS)]
    assert not [n for n in nodes + lanes if n not in shapes], "elements without a shape"
    assert not [f for f in flows if f not in edges], "flows without an edge"


@pytest.mark.parametrize("path", FORM_FILES, ids=lambda p: p.name)
def test_form_is_valid_bilingual_and_has_a_valid_example(path: Path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema.get("title") and schema.get("x-en", {}).get("title"), "form title in es and en"
    assert schema.get("additionalProperties") is False
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("title"), f"{name}: Spanish title"
        assert prop.get("x-en", {}).get("title"), f"{name}: English title"
    examples = schema.get("examples")
    assert examples, "a valid example is shipped with every form"
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(examples[0])]
    assert errors == []


def test_whole_route_loads_and_every_user_task_has_its_form():
    lib = load_library()
    assert "ruta_proteccion_nna" in lib.specs
    used = {t.form for t in lib.tasks.values()} | set(CASE_FORMS.values())
    unused = sorted(p.name for p in FORM_FILES if p.name not in used)
    assert unused == [], "forms no task uses"
