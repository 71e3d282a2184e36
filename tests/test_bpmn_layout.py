"""tools/bpmn_layout.py: generated diagram interchange is complete, valid, readable and stable."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from tools.bpmn_layout import NS, check_file, layout_file, layout_tree, main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "layout"
FIXTURE_FILES = sorted(FIXTURES.glob("*.bpmn"))
TOOL = ROOT / "tools" / "bpmn_layout.py"
SHAPE_PARENTS = ("process", "subProcess")
NOT_SHAPES = ("sequenceFlow", "laneSet", "dataObject", "association", "documentation")

Box = tuple[float, float, float, float]


@pytest.fixture(params=FIXTURE_FILES, ids=lambda p: p.name)
def laid_out(request, tmp_path: Path) -> Path:
    """A fixture copied to a temporary folder and laid out there."""
    path = tmp_path / request.param.name
    shutil.copy(request.param, path)
    assert layout_file(path)
    return path


@pytest.fixture
def lanes_file(tmp_path: Path) -> Path:
    path = tmp_path / "lanes_loop.bpmn"
    shutil.copy(FIXTURES / "lanes_loop.bpmn", path)
    layout_file(path)
    return path


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _bounds(el: etree._Element) -> Box:
    b = el.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _shapes(tree: etree._ElementTree) -> dict[str, list[etree._Element]]:
    shapes: dict[str, list[etree._Element]] = {}
    for shape in tree.iterfind(".//bpmndi:BPMNShape", NS):
        shapes.setdefault(shape.get("bpmnElement"), []).append(shape)
    return shapes


def _plane_of(tree: etree._ElementTree, element: str) -> etree._Element:
    return tree.find(f".//bpmndi:BPMNPlane[@bpmnElement='{element}']", NS)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _inside(inner: Box, outer: Box) -> bool:
    return (
        inner[0] >= outer[0]
        and inner[1] >= outer[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def _main_plane_boxes(tree: etree._ElementTree) -> dict[str, Box]:
    plane = tree.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    return {s.get("bpmnElement"): _bounds(s) for s in plane.iterfind("bpmndi:BPMNShape", NS)}


def test_every_element_has_exactly_one_shape_and_every_flow_one_edge(laid_out: Path):
    tree = etree.parse(str(laid_out))
    shapes = _shapes(tree)
    edges: dict[str, list[etree._Element]] = {}
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS):
        edges.setdefault(edge.get("bpmnElement"), []).append(edge)
    elements = [
        el.get("id")
        for el in tree.iter()
        if isinstance(el.tag, str)
        and el.get("id")
        and el.getparent() is not None
        and _local(el.getparent()) in SHAPE_PARENTS
        and _local(el) not in NOT_SHAPES
    ]
    elements += [el.get("id") for el in tree.iterfind(".//bpmn:lane", NS)]
    elements += [el.get("id") for el in tree.iterfind(".//bpmn:participant", NS)]
    assert elements
    assert {e: len(shapes.get(e, [])) for e in elements} == dict.fromkeys(elements, 1)
    flows = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)]
    flows += [f.get("id") for f in tree.iterfind(".//bpmn:messageFlow", NS)]
    assert {f: len(edges.get(f, [])) for f in flows} == dict.fromkeys(flows, 1)
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS):
        assert len(edge.findall("di:waypoint", NS)) >= 2, edge.get("id")
    ids = [el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(ids) == len(set(ids)), "ids are unique"


def test_sequence_flow_edges_are_orthogonal(laid_out: Path):
    tree = etree.parse(str(laid_out))
    flows = {f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)}
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS):
        if edge.get("bpmnElement") not in flows:
            continue
        pts = [(w.get("x"), w.get("y")) for w in edge.iterfind("di:waypoint", NS)]
        for a, b in itertools.pairwise(pts):
            assert a[0] == b[0] or a[1] == b[1], edge.get("id")


def test_output_validates_against_the_omg_xsd_and_still_parses(laid_out: Path):
    VALIDATOR.validate(etree.parse(str(laid_out)), filename=str(laid_out))
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(laid_out))
    for process_id in parser.get_process_ids():
        assert parser.get_spec(process_id) is not None


def test_shapes_in_one_lane_do_not_overlap_and_stay_inside_the_lane(laid_out: Path):
    tree = etree.parse(str(laid_out))
    boxes = _main_plane_boxes(tree)
    checked = 0
    for lane in tree.iterfind(".//bpmn:lane", NS):
        refs = [(r.text or "").strip() for r in lane.iterfind("bpmn:flowNodeRef", NS)]
        drawn = [r for r in refs if r in boxes]
        for ref in drawn:
            assert _inside(boxes[ref], boxes[lane.get("id")]), f"{ref} outside {lane.get('id')}"
            checked += 1
        nodes = [r for r in drawn if tree.find(f".//bpmn:boundaryEvent[@id='{r}']", NS) is None]
        for a, b in itertools.combinations(nodes, 2):
            assert not _overlap(boxes[a], boxes[b]), f"{a} overlaps {b}"
    assert checked or tree.find(".//bpmn:lane", NS) is None


def test_collaboration_is_added_for_a_process_with_lanes(lanes_file: Path):
    tree = etree.parse(str(lanes_file))
    collab = tree.getroot().find("bpmn:collaboration", NS)
    assert collab.get("id") == "colab_layout_lanes"
    part = collab.find("bpmn:participant", NS)
    assert (part.get("id"), part.get("processRef")) == ("pool_layout_lanes", "layout_lanes")
    assert part.get("name") == "Layout fixture with lanes"
    assert collab.getnext().get("id") == "layout_lanes", "collaboration precedes the process"
    first = tree.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert first.get("bpmnElement") == "colab_layout_lanes"
    shapes = _shapes(tree)
    for element in ("pool_layout_lanes", "lane_INM", "lane_PROCURADURIA"):
        assert shapes[element][0].get("isHorizontal") == "true"
    pool, inm = _bounds(shapes["pool_layout_lanes"][0]), _bounds(shapes["lane_INM"][0])
    assert inm[0] == pool[0] + 30, "pool title band of 30 px"
    proc = _bounds(shapes["lane_PROCURADURIA"][0])
    assert proc[1] == inm[1] + inm[3], "lanes are stacked in laneSet order"


def test_layers_go_left_to_right_and_the_loop_is_a_back_edge(lanes_file: Path):
    boxes = _main_plane_boxes(etree.parse(str(lanes_file)))
    chain = ["inicio", "registrar", "gw_tipo", "revisar", "gw_unir", "gw_repetir", "proteger"]
    xs = [boxes[n][0] + boxes[n][2] / 2 for n in chain + ["llamar_cierre", "fin"]]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    tree = etree.parse(str(lanes_file))
    loop = tree.find(".//bpmndi:BPMNEdge[@bpmnElement='f_gw_repetir_registrar']", NS)
    ys = [float(w.get("y")) for w in loop.iterfind("di:waypoint", NS)]
    lowest_node = max(boxes[n][1] + boxes[n][3] for n in chain)
    assert max(ys) > lowest_node, "back edge runs below the nodes"
    assert loop.find("bpmndi:BPMNLabel", NS) is not None, "named flows carry a label"


def test_boundary_event_sits_on_the_host_bottom_and_its_target_below(lanes_file: Path):
    boxes = _main_plane_boxes(etree.parse(str(lanes_file)))
    host, boundary = boxes["registrar"], boxes["plazo_registrar"]
    assert boundary[1] + boundary[3] / 2 == host[1] + host[3]
    assert host[0] <= boundary[0] + boundary[2] / 2 <= host[0] + host[2]
    target = boxes["plazo_registrar_escalado"]
    assert target[0] > host[0] + host[2], "target in a later column"
    assert target[1] > host[1] + host[3], "target in the row below"


def test_subprocesses_are_collapsed_with_their_own_planes(lanes_file: Path):
    tree = etree.parse(str(lanes_file))
    shapes = _shapes(tree)
    for sub in ("proteger", "anidado"):
        (shape,) = shapes[sub]
        assert shape.get("isExpanded") == "false"
        assert _bounds(shape)[2:] == (100, 80)
        assert _plane_of(tree, sub) is not None
    assert shapes["proteger"][0].getparent() is _plane_of(tree, "colab_layout_lanes")
    inner = _plane_of(tree, "proteger")
    assert {s.get("bpmnElement") for s in inner.iterfind("bpmndi:BPMNShape", NS)} == {
        "sub_inicio",
        "sub_marcar",
        "anidado",
        "sub_fin",
    }, "one band, no lane shapes in the subprocess plane"
    nested = _plane_of(tree, "anidado")
    assert len(nested.findall("bpmndi:BPMNEdge", NS)) == 2


def test_sizes_follow_the_bpmn_io_defaults(lanes_file: Path):
    boxes = _main_plane_boxes(etree.parse(str(lanes_file)))
    assert boxes["registrar"][2:] == (100, 80)
    assert boxes["llamar_cierre"][2:] == (100, 80)
    assert boxes["inicio"][2:] == (36, 36)
    assert boxes["gw_tipo"][2:] == (50, 50)


def test_process_without_lanes_gets_a_process_plane(tmp_path: Path):
    path = tmp_path / "plain.bpmn"
    shutil.copy(FIXTURES / "plain.bpmn", path)
    layout_file(path)
    tree = etree.parse(str(path))
    assert tree.find("bpmn:collaboration", NS) is None
    assert tree.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS).get("bpmnElement") == "layout_plain"
    assert tree.getroot().nsmap["bpmndi"] == NS["bpmndi"], "DI prefixes are declared on the root"
    assert tree.find(".//bpmndi:BPMNEdge[@bpmnElement='p_nota_assoc']", NS) is not None


def test_existing_di_is_replaced(tmp_path: Path):
    path = tmp_path / "collaboration.bpmn"
    shutil.copy(FIXTURES / "collaboration.bpmn", path)
    layout_file(path)
    tree = etree.parse(str(path))
    assert tree.find(".//bpmndi:BPMNDiagram[@id='stale_diagram']", NS) is None
    assert len(tree.findall(".//bpmn:collaboration", NS)) == 1, "existing collaboration is reused"
    plane = tree.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == "colab_existente"
    assert _bounds(tree.find(".//bpmndi:BPMNShape[@bpmnElement='c_inicio']", NS))[0] != 1


def test_semantic_content_is_kept(laid_out: Path):
    original = etree.parse(str(FIXTURES / laid_out.name)).getroot()
    new = etree.parse(str(laid_out)).getroot()

    def semantic(root: etree._Element) -> list[bytes]:
        kept = [c for c in root if not str(c.tag).endswith(("BPMNDiagram", "collaboration"))]
        return [
            etree.tostring(c, method="c14n", exclusive=True) for c in kept if isinstance(c.tag, str)
        ]

    def pretty(root: etree._Element) -> list[bytes]:
        root = etree.fromstring(etree.tostring(root))
        etree.indent(root, space="  ")
        return semantic(root)

    assert semantic(new) == pretty(original)


def test_layout_is_idempotent(laid_out: Path):
    first = laid_out.read_bytes()
    assert layout_file(laid_out) is False
    assert laid_out.read_bytes() == first
    tree = etree.parse(str(laid_out))
    assert etree.tostring(layout_tree(tree)) == etree.tostring(etree.parse(str(laid_out)))


def test_xml_declaration_is_kept(laid_out: Path):
    head = (FIXTURES / laid_out.name).read_bytes().split(b"\n", 1)[0]
    assert laid_out.read_bytes().split(b"\n", 1)[0] == head
    assert laid_out.read_bytes().endswith(b"</bpmn:definitions>\n")


def test_check_cli_reports_missing_then_passes(tmp_path: Path):
    path = tmp_path / "lanes_loop.bpmn"
    shutil.copy(FIXTURES / "lanes_loop.bpmn", path)
    run = [sys.executable, str(TOOL)]
    missing = subprocess.run([*run, "--check", str(path)], capture_output=True, text=True)
    assert missing.returncode == 1
    assert str(path) in missing.stdout
    assert subprocess.run([*run, str(path)], capture_output=True).returncode == 0
    assert subprocess.run([*run, "--check", str(path)], capture_output=True).returncode == 0


def test_check_detects_stale_di(lanes_file: Path):
    assert check_file(lanes_file)
    text = lanes_file.read_text(encoding="utf-8")
    text = text.replace('targetRef="fin"/>', 'targetRef="fin" name="Listo"/>')
    lanes_file.write_text(text, encoding="utf-8")
    assert not check_file(lanes_file), "a new flow label makes the DI stale"
    assert main(["--check", str(lanes_file)]) == 1
    assert main([str(lanes_file)]) == 0
    assert main(["--check", str(lanes_file)]) == 0


def test_shipped_bpmn_files_have_current_di():
    """Fails when a file in bpmn/ was edited without running tools/bpmn_layout.py on it."""
    files = sorted((ROOT / "bpmn").glob("*.bpmn"))
    stale = [f.name for f in files if not check_file(f)]
    assert stale == [], f"run: python tools/bpmn_layout.py {' '.join(f'bpmn/{s}' for s in stale)}"


def test_check_detects_a_removed_collaboration(lanes_file: Path):
    tree = etree.parse(str(lanes_file))
    root = tree.getroot()
    root.remove(root.find("bpmn:collaboration", NS))
    tree.write(str(lanes_file), xml_declaration=True, encoding="UTF-8")
    assert not check_file(lanes_file), "the main plane would point at a missing collaboration"
