"""The drawing belongs to the analysts: the layout check validates it as drawn (in any element
order a modeler writes), names every problem, and the tool never moves what is already drawn
unless asked with --relayout."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from lxml import etree

from tools.bpmn_layout import NS, complete_file, layout_file, main, problems

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "layout" / "lanes_loop.bpmn"


@pytest.fixture
def drawn(tmp_path: Path) -> Path:
    path = tmp_path / "lanes_loop.bpmn"
    shutil.copy(FIXTURE, path)
    layout_file(path)
    assert problems(path) == []
    return path


def _bounds(tree: etree._ElementTree, element: str) -> etree._Element:
    return tree.find(f".//bpmndi:BPMNShape[@bpmnElement='{element}']/dc:Bounds", NS)


def _edit(path: Path, change) -> None:
    tree = etree.parse(str(path))
    change(tree)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")


def _messages(path: Path) -> list[str]:
    return [p.message for p in problems(path)]


def test_check_ignores_the_order_a_modeler_writes(drawn: Path):
    def shuffle(tree):
        for plane in tree.iterfind(".//bpmndi:BPMNPlane", NS):
            children = list(plane)
            random.Random(13).shuffle(children)
            plane[:] = children
        root = tree.getroot()
        diagrams = root.findall("bpmndi:BPMNDiagram", NS)
        for d in diagrams:
            root.remove(d)
        for d in reversed(diagrams):
            root.append(d)

    _edit(drawn, shuffle)
    assert problems(drawn) == []


def test_default_run_keeps_an_analysts_layout(drawn: Path):
    _edit(
        drawn,
        lambda t: _bounds(t, "registrar").set(
            "y", str(float(_bounds(t, "registrar").get("y")) + 4)
        ),
    )
    before = drawn.read_bytes()
    assert main([str(drawn)]) == 0
    assert drawn.read_bytes() == before, "the tool moved a shape the analyst placed"
    assert main(["--relayout", str(drawn)]) == 0
    assert drawn.read_bytes() != before, "--relayout regenerates on request"


def test_overlapping_shapes_are_named(drawn: Path):
    def overlap(tree):
        a, b = _bounds(tree, "registrar"), _bounds(tree, "gw_tipo")
        b.set("x", a.get("x"))
        b.set("y", a.get("y"))

    _edit(drawn, overlap)
    assert "shapes gw_tipo and registrar overlap" in _messages(drawn)
    assert main(["--check", str(drawn)]) == 1


def test_edge_through_a_shape_is_named(drawn: Path):
    def through(tree):
        task = _bounds(tree, "revisar")
        edge = tree.find(".//bpmndi:BPMNEdge[@bpmnElement='f_inicio_registrar']", NS)
        for w in edge.findall("di:waypoint", NS):
            edge.remove(w)
        y = float(task.get("y")) + 10
        for x in (float(task.get("x")) - 50, float(task.get("x")) + 150):
            etree.SubElement(edge, f"{{{NS['di']}}}waypoint", x=str(x), y=str(y))

    _edit(drawn, through)
    assert "edge f_inicio_registrar runs through shape revisar" in _messages(drawn)


def test_label_over_a_shape_and_too_small_a_label_are_named(drawn: Path):
    def label(tree):
        task = _bounds(tree, "registrar")
        lab = tree.find(".//bpmndi:BPMNShape[@bpmnElement='inicio']/bpmndi:BPMNLabel/dc:Bounds", NS)
        lab.set("x", task.get("x"))
        lab.set("y", task.get("y"))
        lab.set("height", "5")

    _edit(drawn, label)
    found = _messages(drawn)
    assert "the label of inicio overlaps shape registrar" in found
    assert any(m.startswith("the label of inicio is too small") for m in found)


def test_a_long_task_name_that_runs_into_the_icon_is_named(drawn: Path):
    def rename(tree):
        task = tree.find(".//bpmn:userTask[@id='registrar']", NS)
        task.set("name", "Registrar el caso con todos los datos de la persona y de su acompañante")

    _edit(drawn, rename)
    assert any("the name of registrar does not fit" in m for m in _messages(drawn))


def test_new_element_is_laid_out_and_the_rest_stays(drawn: Path):
    def forget(tree):
        shape = tree.find(".//bpmndi:BPMNShape[@bpmnElement='fin']", NS)
        shape.getparent().remove(shape)

    _edit(drawn, forget)
    assert "fin has no shape or edge" in _messages(drawn)
    before = etree.parse(str(drawn))
    assert complete_file(drawn)
    after = etree.parse(str(drawn))
    assert after.find(".//bpmndi:BPMNShape[@bpmnElement='fin']", NS) is not None
    for shape in before.iterfind(".//bpmndi:BPMNShape", NS):
        element = shape.get("bpmnElement")
        assert etree.tostring(_bounds(after, element)) == etree.tostring(
            shape.find("dc:Bounds", NS)
        ), element
    assert problems(drawn) == []


@pytest.mark.parametrize("path", sorted((ROOT / "bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_shipped_diagrams_are_readable(path: Path):
    """No overlapping shapes or labels, no edge through a shape or label, names that fit."""
    assert [str(p) for p in problems(path)] == []
