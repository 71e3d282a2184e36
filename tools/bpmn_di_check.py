"""Validate the diagram interchange (BPMNDI) of a BPMN file as a reader would see it.

The DI belongs to whoever last drew the diagram (the layout tool or an analyst in a modeler), so
the check never compares it with a generated layout: it looks at the drawing itself, plane by
plane, in any element order a modeler may write:

- every flow node, lane, pool and sequence flow of the plane's container has a shape or an edge;
- no two shapes overlap (pools, lanes and expanded subprocesses are containers, not shapes; a
  boundary event sits on its host's border);
- no label overlaps another label or a shape;
- no edge runs through a shape or a label other than its own ends and its own label;
- no two sequence or message flows run on top of each other for more than ``EDGE_OVERLAP`` px
  (collinear stretches; a short stub both leave or enter at a shared gateway or shape is fine);
- every name fits its box: a task's name in at most the lines that leave its icon free, an
  external label's text in its bounds.

Text width is estimated for bpmn-js's default font (Arial 12 px): ``CHAR_W`` per character,
``LINE_H`` per line, wrapped at spaces.
"""

from __future__ import annotations

import io
import math
import sys
import textwrap
from dataclasses import dataclass
from itertools import combinations, pairwise
from pathlib import Path

from lxml import etree

if __package__ in (None, ""):  # run as a script: python tools/bpmn_di_check.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.bpmn_geometry import TOLERANCE, Rect, collinear_overlap, common_prefix  # noqa: E402

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {
    "bpmn": BPMN_NS,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}

CHAR_W = 6.2  # average width of a character of Arial 12 px, in diagram units
LINE_H = 14  # one line of label text
EXTERNAL_LINE_H = 13.2  # one line of an external label (11 px, line height 1.2)
EXTERNAL_CHAR_W = 5.6  # average width of a character of Arial 11 px
TASK_PAD = 5  # bpmn-js keeps the text this far from the task's left and right sides
ICON_H = 14  # the task-type icon in the top-left corner: the centred text must stay below it

#: Two flows run on top of each other when their collinear stretches add up to more than this
#: many px: a reader cannot tell which line goes where. Not counted: the common trunk of two
#: flows that leave the same shape from the same point (a gateway's fan-out drawn as a tree:
#: they coincide from that point until they part) or enter the same shape at the same point
#: (a fan-in). Crossings and single shared points are never overlaps.
EDGE_OVERLAP = 10
FLOWS = {"sequenceFlow", "messageFlow"}
Point = tuple[float, float]

#: Drawn around other elements, never overlapping them: pools, lanes, and groups (a group is an
#: artifact that frames a stage of the route; it has no semantics, see docs/route-versions.md).
CONTAINERS = {"participant", "lane", "group"}
INTERNAL_LABELS = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
}
EXTERNAL_LABELS = {
    "group",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
    "sequenceFlow",
    "messageFlow",
    "dataObjectReference",
    "dataStoreReference",
}
MUST_DRAW = INTERNAL_LABELS | {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
    "sequenceFlow",
    "dataObjectReference",
    "dataStoreReference",
}


def text_lines(name: str, width: float) -> int:
    """Lines the name wraps into at ``width`` diagram units."""
    chars = max(1, int(width // CHAR_W))
    return max(1, len(textwrap.wrap(name, chars, break_long_words=True)))


def task_fits(name: str, w: float, h: float) -> bool:
    """The centred name clears the icon at the top (and the markers at the bottom)."""
    return text_lines(name, w - 2 * TASK_PAD) * LINE_H + 2 * ICON_H <= h


def label_height(name: str, width: float) -> int:
    """Height of an external label: bpmn-js draws it at 11 px with a 1.2 line height."""
    chars = max(1, int(width // EXTERNAL_CHAR_W))
    lines = max(1, len(textwrap.wrap(name, chars, break_long_words=True)))
    return math.ceil(lines * EXTERNAL_LINE_H)


def label_fits(name: str, label: Rect) -> bool:
    return label_height(name, label.w) <= label.h + TOLERANCE


@dataclass(frozen=True)
class Problem:
    file: str
    plane: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: diagram {self.plane}: {self.message}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _rect(el: etree._Element | None) -> Rect | None:
    if el is None:
        return None
    return Rect(*(float(el.get(k, 0)) for k in ("x", "y", "width", "height")))


def element_text(el: etree._Element, sem: dict[str, etree._Element]) -> str:
    """What a modeler writes on the element: its name, or a group's category value."""
    if _local(el) == "group":
        value = sem.get(el.get("categoryValueRef") or "")
        return (value.get("value") or "").strip() if value is not None else ""
    return (el.get("name") or "").strip()


def _semantics(root: etree._Element) -> dict[str, etree._Element]:
    return {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}


def _expected(container: etree._Element) -> set[str]:
    """Ids some plane must draw for this container: its flow nodes, flows and lanes."""
    ids = {lane.get("id") for lane in container.iterfind("bpmn:laneSet//bpmn:lane", NS)}
    for child in container:
        if isinstance(child.tag, str) and child.get("id") and _local(child) in MUST_DRAW:
            ids.add(child.get("id"))
    return ids


def check_tree(tree: etree._ElementTree, name: str = "") -> list[Problem]:
    """Every problem of every plane of the document."""
    root = tree.getroot()
    sem = _semantics(root)
    problems: list[Problem] = []
    drawn_somewhere: set[str] = set()
    for plane_el in root.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS):
        problems += _check_plane(plane_el, sem, name, drawn_somewhere)
    for group in root.iter(f"{{{BPMN_NS}}}group"):
        if group.get("id") not in drawn_somewhere:
            parent = group.getparent().get("id", "?")
            problems.append(Problem(name, parent, f"group {group.get('id')} has no shape"))
    for container in root.iterfind("bpmn:process", NS):
        todo = [container, *container.iter(f"{{{BPMN_NS}}}subProcess")]
        for c in todo:
            for eid in sorted(_expected(c) - drawn_somewhere):
                problems.append(Problem(name, c.get("id"), f"{eid} has no shape or edge"))
    return problems


def _check_plane(plane_el: etree._Element, sem: dict, name: str, drawn: set[str]) -> list[Problem]:
    pid = plane_el.get("bpmnElement", "?")
    out: list[Problem] = []
    shapes: dict[str, Rect] = {}
    labels: dict[str, Rect] = {}
    edges: dict[str, list[tuple[float, float]]] = {}
    seen: set[str] = set()

    def problem(msg: str) -> None:
        out.append(Problem(name, pid, msg))

    if pid not in sem:
        problem(f"the diagram draws {pid!r}, which is not in the model")

    for di in plane_el:
        if not isinstance(di.tag, str):
            continue
        eid = di.get("bpmnElement", "")
        el = sem.get(eid)
        if el is None:
            problem(f"{di.get('id')} draws {eid!r}, which is not in the model")
            continue
        if eid in seen:
            problem(f"{eid} is drawn twice")
        seen.add(eid)
        drawn.add(eid)
        label_rect = _rect(di.find("bpmndi:BPMNLabel/dc:Bounds", NS))
        text = element_text(el, sem)
        if label_rect is None and text and _local(el) in EXTERNAL_LABELS:
            problem(f"{eid} is named but has no label position")
        if label_rect is not None and text:
            labels[eid] = label_rect
            if not label_fits(text, label_rect):
                problem(f"the label of {eid} is too small for {text!r}")
        if _local(di) == "BPMNShape":
            box = _rect(di.find("dc:Bounds", NS))
            local = _local(el)
            if box is None:
                problem(f"{eid} has no bounds")
                continue
            expanded = di.get("isExpanded") == "true"
            if local in CONTAINERS or (local == "subProcess" and expanded):
                continue
            shapes[eid] = box
            if local in INTERNAL_LABELS and text and not task_fits(text, box.w, box.h):
                problem(
                    f"the name of {eid} does not fit its {box.w:g}x{box.h:g} box below the "
                    f"icon: {text!r}"
                )
        elif _local(di) == "BPMNEdge":
            pts = [
                (float(w.get("x", 0)), float(w.get("y", 0))) for w in di.iterfind("di:waypoint", NS)
            ]
            if len(pts) < 2:
                problem(f"{eid} has fewer than two waypoints")
                continue
            edges[eid] = pts
    hosts = {
        eid: sem[eid].get("attachedToRef") for eid in shapes if _local(sem[eid]) == "boundaryEvent"
    }
    for a, b in combinations(sorted(shapes), 2):
        if hosts.get(a) == b or hosts.get(b) == a:
            continue
        if shapes[a].overlaps(shapes[b]):
            problem(f"shapes {a} and {b} overlap")
    for a, b in combinations(sorted(labels), 2):
        if labels[a].overlaps(labels[b]):
            problem(f"labels of {a} and {b} overlap")
    for a in sorted(labels):
        for b in sorted(shapes):
            if a != b and labels[a].overlaps(shapes[b]):
                problem(f"the label of {a} overlaps shape {b}")
    for eid, pts in sorted(edges.items()):
        flow = sem[eid]
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        for other, box in sorted(shapes.items()):
            if other in ends:
                continue
            if any(box.crossed_by(p, q) for p, q in pairwise(pts)):
                problem(f"edge {eid} runs through shape {other}")
        for other, box in sorted(labels.items()):
            if other == eid:
                continue
            if any(box.crossed_by(p, q) for p, q in pairwise(pts)):
                problem(f"edge {eid} runs through the label of {other}")
    out += [Problem(name, pid, msg) for msg in edge_overlaps(edges, sem)]
    return out


def edge_overlaps(edges: dict[str, list[Point]], sem: dict[str, etree._Element]) -> list[str]:
    """Pairs of flows drawn on top of each other (see EDGE_OVERLAP), one message per pair."""
    found: list[str] = []
    flows = {eid: pts for eid, pts in edges.items() if _local(sem[eid]) in FLOWS}
    for a, b in combinations(sorted(flows), 2):
        pa, pb = flows[a], flows[b]
        total = sum(
            collinear_overlap(p, q, r, t)[0] for p, q in pairwise(pa) for r, t in pairwise(pb)
        )
        if total <= EDGE_OVERLAP:
            continue
        if sem[a].get("sourceRef") == sem[b].get("sourceRef"):
            total -= common_prefix(pa, pb)
        if sem[a].get("targetRef") == sem[b].get("targetRef"):
            total -= common_prefix(pa[::-1], pb[::-1])
        if total > EDGE_OVERLAP:
            found.append(f"edges {a} and {b} run on top of each other for {total:.0f} px")
    return found


def check_file(path: Path | str) -> list[Problem]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    tree = etree.parse(io.BytesIO(Path(path).read_bytes()), parser)
    return check_tree(tree, str(path))
