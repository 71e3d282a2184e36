"""The drawing belongs to the analysts: the layout check validates it as drawn (in any element
order a modeler writes), names every problem, and the tool never moves what is already drawn
unless asked with --relayout."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from lxml import etree

from tools.bpmn_di_check import edge_overlaps
from tools.bpmn_geometry import collinear_overlap, common_prefix
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


# ---------------------------------------------------------------- edges on top of each other


def _flows(*specs: tuple[str, str, str]) -> dict[str, etree._Element]:
    """Semantic sequence flows (id, source, target) for edge_overlaps."""
    return {
        fid: etree.Element(
            f"{{{NS['bpmn']}}}sequenceFlow", id=fid, sourceRef=source, targetRef=target
        )
        for fid, source, target in specs
    }


def test_two_flows_on_one_line_are_named():
    sem = _flows(("f1", "a", "b"), ("f2", "c", "d"))
    edges = {"f1": [(0, 100), (300, 100)], "f2": [(150, 50), (150, 100), (400, 100)]}
    assert edge_overlaps(edges, sem) == ["edges f1 and f2 run on top of each other for 150 px"]


def test_a_vertical_overlap_and_one_made_of_several_segments_add_up():
    sem = _flows(("f1", "a", "b"), ("f2", "c", "d"))
    edges = {
        "f1": [(50, 0), (50, 8), (90, 8)],
        "f2": [(50, 4), (50, 8), (80, 8), (80, 40)],
    }
    assert edge_overlaps(edges, sem) == ["edges f1 and f2 run on top of each other for 34 px"]


def test_crossing_touching_and_short_overlaps_pass():
    sem = _flows(("f1", "a", "b"), ("f2", "c", "d"), ("f3", "e", "g"), ("f4", "h", "i"))
    edges = {
        "f1": [(0, 100), (300, 100)],
        "f2": [(150, 0), (150, 200)],  # crosses f1
        "f3": [(300, 100), (300, 300)],  # touches f1's end at a point
        "f4": [(295, 100), (305, 100), (305, 300)],  # 5 px on f1: under the tolerance
    }
    assert edge_overlaps(edges, sem) == []


def test_a_fan_out_and_a_fan_in_drawn_as_trees_pass():
    # both leave gateway g at (100, 100), run together to x=150 and down to y=200, then part
    sem = _flows(("out1", "g", "t1"), ("out2", "g", "t2"), ("in1", "s1", "j"), ("in2", "s2", "j"))
    edges = {
        "out1": [(100, 100), (150, 100), (150, 200), (250, 200)],
        "out2": [(100, 100), (150, 100), (150, 400), (250, 400)],
        "in1": [(600, 200), (700, 200), (700, 100), (750, 100)],
        "in2": [(600, 400), (700, 400), (700, 100), (750, 100)],
    }
    assert edge_overlaps(edges, sem) == []


def test_flows_of_one_gateway_that_meet_again_after_parting_are_named():
    # same source, but they leave it from different points and only then run together
    sem = _flows(("f1", "g", "t1"), ("f2", "g", "t2"))
    edges = {
        "f1": [(125, 100), (200, 100), (200, 300), (300, 300)],
        "f2": [(100, 125), (100, 150), (200, 150), (200, 400), (300, 400)],
    }
    assert edge_overlaps(edges, sem) == ["edges f1 and f2 run on top of each other for 150 px"]


def test_geometry_of_collinear_overlap_and_common_prefix():
    assert collinear_overlap((0, 0), (10, 0), (4, 0), (20, 0))[0] == 6
    assert collinear_overlap((0, 0), (10, 0), (4, 1.5), (20, 1.5))[0] == 0  # parallel, apart
    assert collinear_overlap((0, 0), (10, 10), (5, 5), (20, 20))[0] == pytest.approx(50**0.5)
    assert collinear_overlap((0, 0), (10, 0), (5, -5), (5, 5))[0] == 0  # a crossing
    assert common_prefix([(0, 0), (50, 0), (50, 90)], [(0, 0), (50, 0), (50, -30)]) == 50
    assert common_prefix([(0, 0), (50, 0)], [(0, 5), (50, 5)]) == 0


def test_an_edge_moved_onto_another_in_the_file_is_named(drawn: Path):
    def onto(tree):
        first = tree.find(".//bpmndi:BPMNEdge[@bpmnElement='f_inicio_registrar']", NS)
        other = tree.find(".//bpmndi:BPMNEdge[@bpmnElement='f_registrar_gw_tipo']", NS)
        a, b = first.findall("di:waypoint", NS)[:2]
        for w in other.findall("di:waypoint", NS):
            other.remove(w)
        etree.SubElement(other, f"{{{NS['di']}}}waypoint", x=a.get("x"), y=a.get("y"))
        etree.SubElement(other, f"{{{NS['di']}}}waypoint", x=b.get("x"), y=b.get("y"))

    _edit(drawn, onto)
    assert any(
        m.startswith("edges f_inicio_registrar and f_registrar_gw_tipo run on top of each other")
        for m in _messages(drawn)
    )
