"""Lay out and check the diagram interchange (BPMNDI) of the route's BPMN files.

The semantics (processes, lanes, tasks, flows) are the route; the drawing belongs to whoever drew
it last, this tool or an analyst in a modeler (bpmn.io, Camunda Modeler). So the tool never
rewrites an existing drawing unless asked: by default it only lays out what has no DI yet (a file
without any diagram, a new subprocess's plane, a new element or flow, a name without a label
position), and ``--relayout`` regenerates everything on explicit request (except groups, the
frames analysts draw around the route's stages: they are kept as drawn, to be re-fitted). ``--check`` validates the
drawing as it is (tools/bpmn_di_check.py: completeness, no overlapping shapes or labels, no edge
through a shape or a label, names that fit), in whatever element order a modeler writes.

Layout: layered left to right. A node's column is its longest path from the start events over
sequence flows (back edges, found by DFS, are ignored); its row is its lane, a horizontal band
(processes without lanes have one band). Nodes sharing a lane and a column are stacked in slots,
each placed next to its predecessors. Boundary events sit on the bottom border of their host;
their targets go to the next column, one slot lower. Edges are orthogonal: out of the right side,
into the left side, around nodes through the gaps between rows; back edges run along the bottom
of the lane. Embedded subprocesses are drawn collapsed, each with its own drill-down diagram
(with the subprocess's own lanes). Tasks grow from 100x80 until their name clears the task icon;
labels go to the first spot near their element that no shape, edge or other label takes.

Usage::

    python tools/bpmn_layout.py FILE...             # lay out only what has no DI yet
    python tools/bpmn_layout.py --relayout FILE...  # regenerate all DI (discards manual layout)
    python tools/bpmn_layout.py --check FILE...     # exit 1 listing every problem of the drawing

Importable: ``layout_tree(tree)``, ``layout_file(path)`` (full regeneration),
``complete_tree(tree)``, ``complete_file(path)`` (missing DI only), ``check_file(path)``,
``problems(path)``.
"""

from __future__ import annotations

import argparse
import copy
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from lxml import etree

if __package__ in (None, ""):  # run as a script: python tools/bpmn_layout.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.bpmn_di_check import Problem, label_height, task_fits  # noqa: E402
from tools.bpmn_di_check import check_file as check_di  # noqa: E402
from tools.bpmn_geometry import Rect  # noqa: E402

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS}
DI_PREFIXES = {"bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS}

COL_W = 160  # column width
ROW_H = 150  # height of one slot inside a band (room for a tall task and its boundary edges)
BAND_PAD_TOP = 20
BAND_PAD_BOTTOM = 40  # room for boundary labels and back edges
EMPTY_BAND_H = 100
TITLE_W = 30  # the title strip at the left of pools and lanes
MARGIN = 10
ORIGIN = (100, 60)
POOL_GAP = 40
LABEL_W, LINE_H = 90, 14
LABEL_CLEARANCE = 12  # labels keep this far apart, so moving one shape 10 px in a modeler is safe
TASK_WIDTHS = (100, 120, 140)  # a long name widens its task before it grows taller
BACK_OFFSET = 12  # back edges keep this far from the column border
BOUNDARY_STEP = 44  # distance between boundary events on one host

EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"}
GATEWAYS = {
    "exclusiveGateway",
    "inclusiveGateway",
    "parallelGateway",
    "eventBasedGateway",
    "complexGateway",
}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
ACTIVITIES = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
} | SUBPROCESSES
FLOW_NODES = EVENTS | GATEWAYS | ACTIVITIES
EXTERNAL_LABELS = EVENTS | GATEWAYS | {"boundaryEvent", "dataObjectReference", "dataStoreReference"}
ARTIFACTS = {"dataObjectReference": (36, 50), "dataStoreReference": (50, 50)}
ARTIFACTS["textAnnotation"] = (100, 30)

Point = tuple[int, int]


@dataclass
class Shape:
    """One bpmndi:BPMNShape to emit."""

    element: str
    box: Rect
    label: Rect | None = None
    horizontal: bool = False
    expanded: bool | None = None
    marker: bool = False


@dataclass
class Edge:
    """One bpmndi:BPMNEdge to emit."""

    element: str
    points: list[Point]
    label: Rect | None = None
    text: str = ""


@dataclass
class Graph:
    """The flow graph of one container (process or subprocess)."""

    nodes: list[str]
    elements: dict[str, etree._Element]
    hosts: dict[str, str]  # boundary event -> host activity
    flows: list[etree._Element]
    artifacts: list[str]
    edges: list[tuple[str, str, bool]]  # (source, target, from boundary) with hosts for boundaries


@dataclass
class LaneInfo:
    """A lane and the leaf bands it covers."""

    element: etree._Element
    depth: int
    leaves: list[int] = field(default_factory=list)


@dataclass
class Band:
    """A horizontal band: one leaf lane, or the whole container when there are no lanes."""

    lane: str | None
    rows: int = 0
    y: int = 0
    h: int = 0

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass
class Placement:
    """Where everything of one container goes."""

    graph: Graph
    lanes: list[LaneInfo]
    bands: list[Band]
    col: dict[str, int]
    band_of: dict[str, int]
    back: set[tuple[str, str]]
    left: int
    content_x: int
    ncols: int
    boxes: dict[str, Rect] = field(default_factory=dict)

    @property
    def right(self) -> int:
        return self.content_x + self.ncols * COL_W + MARGIN

    @property
    def top(self) -> int:
        return self.bands[0].y

    @property
    def bottom(self) -> int:
        return self.bands[-1].bottom

    def col_left(self, col: int) -> int:
        return self.content_x + col * COL_W

    def col_right(self, col: int) -> int:
        return self.content_x + (col + 1) * COL_W


# ---------------------------------------------------------------- XML helpers


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _children(el: etree._Element) -> Iterator[etree._Element]:
    """Element children, skipping comments and processing instructions."""
    return (c for c in el if isinstance(c.tag, str))


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _size(local: str) -> tuple[int, int]:
    if local in EVENTS or local == "boundaryEvent":
        return 36, 36
    if local in GATEWAYS:
        return 50, 50
    return ARTIFACTS.get(local, (100, 80))


def _label_h(name: str, width: int = LABEL_W) -> int:
    return label_height(name, width)


def _activity_size(name: str) -> tuple[int, int]:
    """bpmn.io's 100x80, made wider and then taller until the name clears the task icon."""
    for w in TASK_WIDTHS:
        if task_fits(name, w, 80):
            return w, 80
    h = 80
    while not task_fits(name, TASK_WIDTHS[-1], h):
        h += 10
    return TASK_WIDTHS[-1], h


# ---------------------------------------------------------------- graph


def _build_graph(container: etree._Element) -> Graph:
    """Collect flow nodes, boundary events, flows and artifacts directly inside a container."""
    nodes: list[str] = []
    elements: dict[str, etree._Element] = {}
    hosts: dict[str, str] = {}
    flows: list[etree._Element] = []
    artifacts: list[str] = []
    for child in _children(container):
        local, cid = _local(child), child.get("id")
        if not cid:
            continue
        if local == "sequenceFlow":
            flows.append(child)
        elif local == "boundaryEvent":
            hosts[cid] = child.get("attachedToRef", "")
        elif local in FLOW_NODES:
            nodes.append(cid)
        elif local in ARTIFACTS:
            artifacts.append(cid)
        else:
            continue
        elements[cid] = child
    node_set = set(nodes)
    hosts = {b: h for b, h in hosts.items() if h in node_set}
    edges = []
    for flow in flows:
        source, target = flow.get("sourceRef", ""), flow.get("targetRef", "")
        mapped = hosts.get(source, source)
        if mapped in node_set and target in node_set:
            edges.append((mapped, target, source in hosts))
    return Graph(nodes, elements, hosts, flows, artifacts, edges)


def _adjacency(nodes: list[str], edges: Iterable[tuple[str, str, bool]]) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target, _ in edges:
        succ[source].append(target)
    return succ


def _roots(graph: Graph, succ: dict[str, list[str]]) -> list[str]:
    """DFS roots: start events first, then nodes without predecessors, then everything."""
    has_pred = {t for targets in succ.values() for t in targets}
    starts = [n for n in graph.nodes if _local(graph.elements[n]) == "startEvent"]
    sources = [n for n in graph.nodes if n not in has_pred]
    return starts + sources + graph.nodes


def _dfs(graph: Graph, succ: dict[str, list[str]]) -> tuple[set[tuple[str, str]], dict[str, int]]:
    """Back edges (to a node on the DFS stack) and the DFS preorder index of every node."""
    back: set[tuple[str, str]] = set()
    order: dict[str, int] = {}
    done: set[str] = set()
    for root in _roots(graph, succ):
        if root in order:
            continue
        order[root] = len(order)
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                done.add(node)
                stack.pop()
            elif nxt not in order:
                order[nxt] = len(order)
                stack.append((nxt, iter(succ[nxt])))
            elif nxt not in done:
                back.add((node, nxt))
    return back, order


def _columns(nodes: list[str], fwd: list[tuple[str, str, bool]], order: dict[str, int]) -> dict:
    """Longest path from the sources; sources are then pulled next to their first successor."""
    succ = _adjacency(nodes, fwd)
    indeg = {n: 0 for n in nodes}
    for _, target, _ in fwd:
        indeg[target] += 1
    ready = sorted((n for n in nodes if indeg[n] == 0), key=order.__getitem__)
    col = dict.fromkeys(nodes, 0)
    while ready:
        node = ready.pop(0)
        for target in succ[node]:
            col[target] = max(col[target], col[node] + 1)
            indeg[target] -= 1
            if indeg[target] == 0:
                ready.append(target)
    has_pred = {t for _, t, _ in fwd}
    for node in nodes:
        if node not in has_pred and succ[node]:
            col[node] = max(col[node], min(col[t] for t in succ[node]) - 1)
    return col


# ---------------------------------------------------------------- lanes and slots


def _walk_lanes(lane_set: etree._Element, depth: int, infos: list, leaves: list) -> None:
    for lane in lane_set.iterfind("bpmn:lane", NS):
        info = LaneInfo(lane, depth)
        infos.append(info)
        start = len(leaves)
        child = lane.find("bpmn:childLaneSet", NS)
        if child is not None and child.find("bpmn:lane", NS) is not None:
            _walk_lanes(child, depth + 1, infos, leaves)
        else:
            leaves.append(lane)
        info.leaves = list(range(start, len(leaves)))


def _lanes(container: etree._Element) -> tuple[list[LaneInfo], list[Band], dict[str, int]]:
    """The container's own lanes, one band per leaf lane, and node -> band from flowNodeRef."""
    infos: list[LaneInfo] = []
    leaves: list[etree._Element] = []
    for lane_set in container.iterfind("bpmn:laneSet", NS):
        _walk_lanes(lane_set, 0, infos, leaves)
    band_of: dict[str, int] = {}
    for index, lane in enumerate(leaves):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            band_of.setdefault((ref.text or "").strip(), index)
    for info in infos:
        for ref in info.element.iterfind("bpmn:flowNodeRef", NS):
            band_of.setdefault((ref.text or "").strip(), info.leaves[0] if info.leaves else 0)
    bands = [Band(lane.get("id")) for lane in leaves] or [Band(None)]
    return infos, bands, band_of


def _assign_bands(
    nodes: list[str], known: dict[str, int], fwd: list[tuple[str, str, bool]], col: dict
) -> dict[str, int]:
    """Nodes without a lane go to the band of a neighbour (predecessor first), else band 0."""
    band_of = {n: known[n] for n in nodes if n in known}
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succs: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target, _ in fwd:
        preds[target].append(source)
        succs[source].append(target)
    by_col = sorted(nodes, key=col.__getitem__)
    for neighbours, sequence in ((preds, by_col), (succs, list(reversed(by_col)))):
        for node in sequence:
            if node not in band_of:
                found = [band_of[p] for p in neighbours[node] if p in band_of]
                if found:
                    band_of[node] = found[0]
    return {n: band_of.get(n, 0) for n in nodes}


def _heights(nodes: list[str], col: dict[str, int], fwd: list[tuple[str, str, bool]]) -> dict:
    """Longest forward path from each node to a sink."""
    succ = _adjacency(nodes, fwd)
    height: dict[str, int] = {}
    for node in sorted(nodes, key=col.__getitem__, reverse=True):
        height[node] = max((height[t] + 1 for t in succ[node]), default=0)
    return height


def _slots(
    nodes: list[str],
    col: dict[str, int],
    band_of: dict[str, int],
    fwd: list[tuple[str, str, bool]],
    order: dict[str, int],
) -> dict[str, int]:
    """Stack nodes sharing a band and a column; each prefers the slot of its predecessors,
    and the node with the longest way still to go takes the upper slot (the main path stays
    straight, short branches and escalations go below)."""
    preds: dict[str, list[tuple[str, bool]]] = {n: [] for n in nodes}
    for source, target, from_boundary in fwd:
        preds[target].append((source, from_boundary))
    height = _heights(nodes, col, fwd)
    cells: dict[tuple[int, int], list[str]] = {}
    for node in nodes:
        cells.setdefault((col[node], band_of[node]), []).append(node)
    slot: dict[str, int] = {}
    for key in sorted(cells):
        wanted = {}
        for node in cells[key]:
            same = [slot[p] + b for p, b in preds[node] if band_of[p] == key[1] and p in slot]
            wanted[node] = min(same, default=0)
        last = -1
        for node in sorted(cells[key], key=lambda n: (wanted[n], -height[n], order[n])):
            last = slot[node] = max(last + 1, wanted[node])
    return slot


def _association_pairs(container: etree._Element) -> list[tuple[str, str, str]]:
    """(id, source, target) of associations and data associations inside a container."""
    pairs = []
    for assoc in container.iterfind("bpmn:association", NS):
        pairs.append((assoc.get("id", ""), assoc.get("sourceRef", ""), assoc.get("targetRef", "")))
    for activity in _children(container):
        for assoc in activity.iterfind("bpmn:dataInputAssociation", NS):
            pairs.append((assoc.get("id", ""), _ref(assoc, "sourceRef"), activity.get("id", "")))
        for assoc in activity.iterfind("bpmn:dataOutputAssociation", NS):
            pairs.append((assoc.get("id", ""), activity.get("id", ""), _ref(assoc, "targetRef")))
    return pairs


def _ref(el: etree._Element, name: str) -> str:
    """Text of the first bpmn:<name> child (data associations refer by element text)."""
    ref = el.find(f"bpmn:{name}", NS)
    return (ref.text or "").strip() if ref is not None else ""


def _artifact_anchors(container: etree._Element, graph: Graph) -> dict[str, str]:
    """Artifact -> the flow node it is associated with (boundary events count as their host)."""
    arts, nodes = set(graph.artifacts), set(graph.nodes)
    anchors: dict[str, str] = {}
    for _, source, target in _association_pairs(container):
        for art, other in ((source, target), (target, source)):
            node = graph.hosts.get(other, other)
            if art in arts and node in nodes:
                anchors.setdefault(art, node)
    return anchors


# ---------------------------------------------------------------- placement


def _place(
    container: etree._Element, use_lanes: bool, left: int, top: int, pool: bool
) -> Placement:
    """Lay out one container: columns, bands, slots and boxes."""
    graph = _build_graph(container)
    lanes, bands, known = _lanes(container) if use_lanes else ([], [Band(None)], {})
    back, order = _dfs(graph, _adjacency(graph.nodes, graph.edges))
    fwd = [e for e in graph.edges if (e[0], e[1]) not in back]
    col = _columns(graph.nodes, fwd, order)
    band_of = _assign_bands(graph.nodes, known, fwd, col)
    slot = _slots(graph.nodes, col, band_of, fwd, order)
    art_cells = _artifact_cells(container, graph, col, band_of, slot, len(bands))
    for node, (c, b, s) in art_cells.items():
        col[node], band_of[node], slot[node] = c, b, s
    ncols = max(col.values(), default=0) + 1
    depth = max((info.depth for info in lanes), default=-1) + 1
    content_x = left + (TITLE_W if pool else 0) + TITLE_W * depth + MARGIN
    p = Placement(graph, lanes, bands, col, band_of, back, left, content_x, ncols)
    _band_geometry(p, slot, top)
    _node_boxes(p, slot)
    _boundary_boxes(p)
    return p


def _artifact_cells(
    container: etree._Element,
    graph: Graph,
    col: dict[str, int],
    band_of: dict[str, int],
    slot: dict[str, int],
    nbands: int,
) -> dict[str, tuple[int, int, int]]:
    """Artifacts go below the nodes of their anchor's band, in the anchor's column."""
    anchors = _artifact_anchors(container, graph)
    rows = [0] * nbands
    for node, s in slot.items():
        rows[band_of[node]] = max(rows[band_of[node]], s + 1)
    used: dict[tuple[int, int], int] = {}
    cells = {}
    for index, art in enumerate(graph.artifacts):
        anchor = anchors.get(art)
        c, b = (col[anchor], band_of[anchor]) if anchor else (index, nbands - 1)
        k = used[(c, b)] = used.get((c, b), -1) + 1
        cells[art] = (c, b, rows[b] + k)
    return cells


def _band_geometry(p: Placement, slot: dict[str, int], top: int) -> None:
    """Band heights fit the number of stacked slots; bands are stacked from ``top``."""
    for node, s in slot.items():
        band = p.bands[p.band_of[node]]
        band.rows = max(band.rows, s + 1)
    y = top
    for band in p.bands:
        band.y = y
        band.h = BAND_PAD_TOP + band.rows * ROW_H + BAND_PAD_BOTTOM if band.rows else EMPTY_BAND_H
        y += band.h


def _node_boxes(p: Placement, slot: dict[str, int]) -> None:
    for node in p.graph.nodes + p.graph.artifacts:
        el = p.graph.elements[node]
        w, h = _size(_local(el))
        if _local(el) in ACTIVITIES:
            w, h = _activity_size((el.get("name") or "").strip())
        band = p.bands[p.band_of[node]]
        cx = p.col_left(p.col[node]) + COL_W // 2
        cy = band.y + BAND_PAD_TOP + slot[node] * ROW_H + ROW_H // 2
        p.boxes[node] = Rect(cx - w // 2, cy - h // 2, w, h)


def _boundary_boxes(p: Placement) -> None:
    """Boundary events are centred on the bottom border of the host, spread along it."""
    attached: dict[str, list[str]] = {}
    for boundary, host in p.graph.hosts.items():
        attached.setdefault(host, []).append(boundary)
    for host, boundaries in attached.items():
        hb, k = p.boxes[host], len(boundaries)
        step = min(BOUNDARY_STEP, (hb.w - 20) // max(k - 1, 1))
        for i, boundary in enumerate(boundaries):
            cx = hb.cx + step * i - step * (k - 1) // 2
            p.boxes[boundary] = Rect(cx - 18, hb.bottom - 18, 36, 36)


# ---------------------------------------------------------------- routing


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated and collinear points; keep at least two."""
    out: list[Point] = []
    for pt in points:
        if out and out[-1] == pt:
            continue
        if len(out) >= 2 and (
            out[-2][0] == out[-1][0] == pt[0] or out[-2][1] == out[-1][1] == pt[1]
        ):
            out[-1] = pt
            continue
        out.append(pt)
    return out if len(out) >= 2 else [points[0], points[-1]]


def _free(points: list[Point], p: Placement, ignore: set[str]) -> bool:
    obstacles = [box for node, box in p.boxes.items() if node not in ignore]
    return not any(box.near(a, b) for a, b in pairwise(points) for box in obstacles)


def _channels(p: Placement) -> list[int]:
    """Horizontal lines between slot rows (and at the band's top) where no node sits."""
    return [band.y + BAND_PAD_TOP + k * ROW_H for band in p.bands for k in range(band.rows + 1)]


def _first_free(candidates: list[list[Point]], p: Placement, ignore: set[str]) -> list[Point]:
    for points in candidates:
        if _free(points, p, ignore):
            return points
    return candidates[0]


def _channel_routes(p: Placement, start: Point, end: Point, x1: int, x2: int) -> list:
    """Detours through the free lines between rows, nearest to the middle first."""
    mid = (start[1] + end[1]) // 2
    ys = sorted(_channels(p), key=lambda y: (abs(y - mid), y))
    return [[start, (x1, start[1]), (x1, y), (x2, y), (x2, end[1]), end] for y in ys]


def _route_forward(p: Placement, source: str, target: str) -> list[Point]:
    sb, tb = p.boxes[source], p.boxes[target]
    start, end = (sb.right, sb.cy), (tb.x, tb.cy)
    x1, x2 = p.col_right(p.col[source]), p.col_left(p.col[target])
    candidates = [
        [start, (x2, start[1]), (x2, end[1]), end],
        [start, (x1, start[1]), (x1, end[1]), end],
        *_channel_routes(p, start, end, x1, x2),
    ]
    return _first_free(candidates, p, {source, target})


def _back_channel(p: Placement, source: str, target: str, counters: dict[int, int]) -> int:
    """A line near the bottom of the lower of the two bands, staggered per band."""
    band = max(p.band_of[source], p.band_of[target])
    k = counters[band] = counters.get(band, -1) + 1
    return p.bands[band].bottom - BACK_OFFSET - 8 * (k % 3)


def _route_back(p: Placement, source: str, target: str, counters: dict[int, int]) -> list[Point]:
    sb, tb = p.boxes[source], p.boxes[target]
    y = _back_channel(p, source, target, counters)
    x1 = p.col_right(p.col[source]) - BACK_OFFSET
    x0 = p.col_left(p.col[target]) + BACK_OFFSET
    ys = [
        y,
        *sorted(_channels(p) + [b.bottom - BACK_OFFSET for b in p.bands], key=lambda c: abs(c - y)),
    ]
    candidates = [
        [(sb.right, sb.cy), (x1, sb.cy), (x1, c), (x0, c), (x0, tb.cy), (tb.x, tb.cy)] for c in ys
    ]
    return _first_free(candidates, p, {source, target})


def _route_boundary(
    p: Placement, boundary: str, target: str, counters: dict[int, int]
) -> list[Point]:
    """Out of the bottom of the boundary event, then right (or back) into the target."""
    bb, tb = p.boxes[boundary], p.boxes[target]
    host = p.graph.hosts[boundary]
    start, end = (bb.cx, bb.bottom), (tb.x, tb.cy)
    if (host, target) in p.back:
        y = _back_channel(p, host, target, counters)
        x0 = p.col_left(p.col[target]) + BACK_OFFSET
        return [start, (bb.cx, y), (x0, y), (x0, end[1]), end]
    x2 = p.col_left(p.col[target])
    candidates = [[start, (bb.cx, end[1]), end]] if end[1] > bb.bottom + 5 else []
    ys = sorted(y for y in _channels(p) if y > bb.bottom + 4)
    ys.append(p.bands[p.band_of[host]].bottom - BACK_OFFSET)
    candidates += [[start, (bb.cx, y), (x2, y), (x2, end[1]), end] for y in ys]
    x1 = p.col_right(p.col[host])
    candidates += [[start, (bb.cx, y), (x1, y), (x1, end[1]), end] for y in ys]
    candidates += [
        [start, (bb.cx, y), (x1, y), (x1, c), (x2, c), (x2, end[1]), end]
        for y in ys
        for c in sorted(_channels(p), key=lambda c: abs(c - end[1]))
    ]
    return _first_free(candidates, p, {boundary, target})


def _flow_label(points: list[Point], name: str, back: bool = False) -> Rect:
    """Above the segment entering the target when the edge bends there, else above the longest
    horizontal segment (or right of the longest vertical one)."""
    h = _label_h(name)
    segments = list(pairwise(points))
    (a, b) = segments[-1]
    if len(segments) > 1 and not back and a[1] == b[1] and b[0] > a[0]:
        return Rect(b[0] - LABEL_W - 2, b[1] - h - 4, LABEL_W, h)
    a, b = max(segments, key=lambda s: abs(s[1][0] - s[0][0]) + abs(s[1][1] - s[0][1]))
    if a[1] == b[1]:
        return Rect((a[0] + b[0]) // 2 - LABEL_W // 2, a[1] - h - 4, LABEL_W, h)
    return Rect(a[0] + 6, (a[1] + b[1]) // 2 - h // 2, LABEL_W, h)


def _route_flows(p: Placement) -> list[Edge]:
    """One orthogonal edge per sequence flow of the container."""
    edges: list[Edge] = []
    counters: dict[int, int] = {}
    for flow in p.graph.flows:
        source, target = flow.get("sourceRef", ""), flow.get("targetRef", "")
        if source not in p.boxes or target not in p.boxes:
            continue
        if source in p.graph.hosts:
            points = _route_boundary(p, source, target, counters)
        elif (source, target) in p.back:
            points = _route_back(p, source, target, counters)
        else:
            points = _route_forward(p, source, target)
        points = _simplify(points)
        name = (flow.get("name") or "").strip()
        label = _flow_label(points, name, (source, target) in p.back) if name else None
        edges.append(Edge(flow.get("id"), points, label, name))
    return edges


def _straight(a: Rect, b: Rect) -> list[Point]:
    """A two-point connector between the facing horizontal sides of two boxes."""
    if b.cy < a.cy:
        return [(a.cx, a.y), (b.cx, b.bottom)]
    return [(a.cx, a.bottom), (b.cx, b.y)]


def _association_edges(container: etree._Element, boxes: dict[str, Rect]) -> list[Edge]:
    """Associations and (identified) data associations, as straight connectors."""
    return [
        Edge(eid, _straight(boxes[a], boxes[b]))
        for eid, a, b in _association_pairs(container)
        if eid and a in boxes and b in boxes
    ]


# ---------------------------------------------------------------- shapes


def _node_label(p: Placement, node: str, box: Rect, name: str) -> Rect:
    """Below the shape; several boundaries on one host push the outer labels outwards."""
    x = box.cx - LABEL_W // 2
    host = p.graph.hosts.get(node)
    if host:
        siblings = [b for b, h in p.graph.hosts.items() if h == host]
        i, k = siblings.index(node), len(siblings)
        if k > 1 and i == 0:
            x = box.right - LABEL_W
        elif k > 1 and i == k - 1:
            x = box.x
    return Rect(x, box.bottom + 4, LABEL_W, _label_h(name))


def _node_shapes(p: Placement) -> list[Shape]:
    shapes = []
    for node in p.graph.nodes + list(p.graph.hosts) + p.graph.artifacts:
        el, box = p.graph.elements[node], p.boxes[node]
        local, name = _local(el), (el.get("name") or "").strip()
        label = None
        if name and (local in EXTERNAL_LABELS):
            label = _node_label(p, node, box, name)
        shapes.append(
            Shape(
                node,
                box,
                label,
                expanded=False if local in SUBPROCESSES else None,
                marker=local == "exclusiveGateway",
            )
        )
    return shapes


def _lane_shapes(p: Placement, left: int, right: int) -> list[Shape]:
    shapes = []
    for info in p.lanes:
        if not info.leaves:
            continue
        first, last = p.bands[info.leaves[0]], p.bands[info.leaves[-1]]
        x = left + TITLE_W * info.depth
        shapes.append(
            Shape(
                info.element.get("id"),
                Rect(x, first.y, right - x, last.bottom - first.y),
                horizontal=True,
            )
        )
    return shapes


def _node_label_spots(box: Rect, label: Rect) -> Iterator[Rect]:
    """Below, above, beside and diagonal to the node; then further below and above."""
    w, h = label.w, label.h
    yield label
    below, above = box.bottom + 4, box.y - h - 4
    xs = (box.cx - w // 2, box.right + 2, box.x - w - 2)
    for y in (below, above):
        for x in xs:
            yield Rect(x, y, w, h)
    yield Rect(box.right + 4, box.cy - h // 2, w, h)
    yield Rect(box.x - w - 4, box.cy - h // 2, w, h)
    for step in range(1, 10):
        for x in xs:
            yield Rect(x, below + step * LINE_H, w, h)
            yield Rect(x, above - step * LINE_H, w, h)


def _edge_label_spots(points: list[Point], label: Rect, text: str) -> Iterator[Rect]:
    """Beside each segment (the last first) at its middle, quarters and ends; then the same a
    line or more further away, then in wider and flatter boxes."""
    yield label
    sizes = [(w, _label_h(text, w)) for w in (label.w, 120, 150)] if text else []
    sizes = sizes or [(label.w, label.h)]
    for w, h in sizes:
        for away in range(0, 10):
            off = 4 + away * LINE_H
            for a, b in reversed(list(pairwise(points))):
                for t in (0.5, 0.25, 0.75, 0.1, 0.9, 0.35, 0.65, 0.05, 0.95):
                    x = round(a[0] + (b[0] - a[0]) * t)
                    y = round(a[1] + (b[1] - a[1]) * t)
                    if a[1] == b[1]:
                        yield Rect(x - w // 2, y - h - off, w, h)
                        yield Rect(x - w // 2, y + off, w, h)
                    else:
                        yield Rect(x + off + 2, y - h // 2, w, h)
                        yield Rect(x - w - off - 2, y - h // 2, w, h)


def _ring_spots(label: Rect) -> Iterator[Rect]:
    """Last resort: rings of growing radius around the preferred spot."""
    for r in range(1, 16):
        d = r * LINE_H
        for k in range(-r, r + 1):
            for dx, dy in ((k * LINE_H, -d), (k * LINE_H, d), (-d, k * LINE_H), (d, k * LINE_H)):
                yield Rect(label.x + dx, label.y + dy, label.w, label.h)


def _place_labels(
    shapes: list[Shape],
    edges: list[Edge],
    fixed: list[Rect] | None = None,
    only: set[int] | None = None,
) -> None:
    """Give every label the first spot near its element that no shape, edge or label takes.

    Greedy and deterministic: node labels first (in order), then flow labels. A label with no
    free spot keeps its preferred place and the check reports it.
    """
    solid = [(s.element, s.box) for s in shapes if not s.horizontal]
    segments = [(e.element, a, b) for e in edges for a, b in pairwise(e.points)]
    placed: list[Rect] = list(fixed or [])

    def free(owner: str, box: Rect) -> bool:
        r = box
        if any(r.overlaps(other) for _, other in solid):
            return False
        # keep clear of other labels by more than an analyst's nudge of a shape in the modeler
        wide = Rect(r.x - LABEL_CLEARANCE, r.y - LABEL_CLEARANCE, r.w + 2 * LABEL_CLEARANCE,
                    r.h + 2 * LABEL_CLEARANCE)  # fmt: skip
        if any(wide.overlaps(other) for other in placed):
            return False
        return not any(r.crossed_by(a, b) for eid, a, b in segments if eid != owner)

    items: list[tuple[Shape | Edge, Iterator[Rect]]] = [
        (s, _node_label_spots(s.box, s.label)) for s in shapes if s.label
    ]
    items += [(e, _edge_label_spots(e.points, e.label, e.text)) for e in edges if e.label]
    if only is not None:
        items = [(item, spots) for item, spots in items if id(item) in only]
    for item, spots in items:
        assert item.label is not None
        chosen = next((b for b in spots if free(item.element, b)), None)
        if chosen is None:
            chosen = next((b for b in _ring_spots(item.label) if free(item.element, b)), item.label)
        item.label = chosen
        placed.append(chosen)


def _container_plane(container: etree._Element) -> tuple[list[Shape], list[Edge]]:
    """Shapes and edges of a process/subprocess drawn on its own plane, without a pool."""
    own_lanes = container.find("bpmn:laneSet", NS) is not None
    p = _place(container, own_lanes, ORIGIN[0], ORIGIN[1], pool=False)
    shapes = _lane_shapes(p, p.left, p.right) + _node_shapes(p)
    edges = _route_flows(p) + _association_edges(container, p.boxes)
    _place_labels(shapes, edges)
    return shapes, edges


# ---------------------------------------------------------------- collaboration


def _collaboration_plane(
    collab: etree._Element, processes: dict[str, etree._Element]
) -> tuple[list[Shape], list[Edge], set[str]]:
    """Pools stacked top to bottom, each process laid out inside its pool with its lanes."""
    participants = list(collab.iterfind("bpmn:participant", NS))
    placements: list[Placement | None] = []
    y = ORIGIN[1]
    for part in participants:
        process = processes.get(part.get("processRef", ""))
        if process is None:
            placements.append(None)
            y += 60 + POOL_GAP
            continue
        p = _place(process, True, ORIGIN[0], y, pool=True)
        placements.append(p)
        y = p.bottom + POOL_GAP
    right = max([p.right for p in placements if p] + [ORIGIN[0] + 600])
    shapes: list[Shape] = []
    edges: list[Edge] = []
    boxes: dict[str, Rect] = {}
    y = ORIGIN[1]
    for part, p in zip(participants, placements, strict=True):
        top, bottom = (p.top, p.bottom) if p else (y, y + 60)
        pool = Rect(ORIGIN[0], top, right - ORIGIN[0], bottom - top)
        shapes.append(Shape(part.get("id"), pool, horizontal=True))
        boxes[part.get("id")] = pool
        if p:
            shapes += _lane_shapes(p, ORIGIN[0] + TITLE_W, right) + _node_shapes(p)
            edges += _route_flows(p)
            boxes.update(p.boxes)
            edges += _association_edges(processes[part.get("processRef")], boxes)
        y = bottom + POOL_GAP
    shapes += _collab_artifacts(collab, y, boxes)
    edges += _message_edges(collab, boxes) + _association_edges(collab, boxes)
    _place_labels(shapes, edges)
    used = {part.get("processRef", "") for part in participants}
    return shapes, edges, used


def _collab_artifacts(collab: etree._Element, y: int, boxes: dict[str, Rect]) -> list[Shape]:
    """Text annotations of the collaboration itself, in a row below the pools."""
    shapes = []
    x = ORIGIN[0]
    for el in _children(collab):
        if _local(el) in ARTIFACTS and el.get("id"):
            w, h = _size(_local(el))
            boxes[el.get("id")] = Rect(x, y, w, h)
            shapes.append(Shape(el.get("id"), boxes[el.get("id")]))
            x += w + MARGIN * 4
    return shapes


def _message_route(a: Rect, b: Rect) -> list[Point]:
    """Vertical between facing sides; straight when one box spans the other's centre."""
    down = b.cy >= a.cy
    y0, y1 = (a.bottom, b.y) if down else (a.y, b.bottom)
    if a.x <= b.cx <= a.right:
        return [(b.cx, y0), (b.cx, y1)]
    if b.x <= a.cx <= b.right:
        return [(a.cx, y0), (a.cx, y1)]
    mid = (y0 + y1) // 2
    return [(a.cx, y0), (a.cx, mid), (b.cx, mid), (b.cx, y1)]


def _message_edges(collab: etree._Element, boxes: dict[str, Rect]) -> list[Edge]:
    """Message flows: vertical out of one pool or node and into the other."""
    edges = []
    for flow in collab.iterfind("bpmn:messageFlow", NS):
        a, b = boxes.get(flow.get("sourceRef", "")), boxes.get(flow.get("targetRef", ""))
        if a is None or b is None or not flow.get("id"):
            continue
        points = _message_route(a, b)
        name = (flow.get("name") or "").strip()
        edges.append(Edge(flow.get("id"), points, _flow_label(points, name) if name else None))
    return edges


def _add_collaboration(root: etree._Element, processes: list[etree._Element]) -> etree._Element:
    """A collaboration with one participant (pool) per process, placed before the first process."""
    pid = processes[0].get("id")
    collab = etree.SubElement(root, _q(BPMN_NS, "collaboration"), id=f"colab_{pid}")
    for process in processes:
        part = etree.SubElement(collab, _q(BPMN_NS, "participant"), id=f"pool_{process.get('id')}")
        if process.get("name"):
            part.set("name", process.get("name"))
        part.set("processRef", process.get("id"))
    processes[0].addprevious(collab)
    return collab


# ---------------------------------------------------------------- emitting XML


def _bounds(parent: etree._Element, box: Rect) -> None:
    etree.SubElement(
        parent,
        _q(DC_NS, "Bounds"),
        x=str(box.x),
        y=str(box.y),
        width=str(box.w),
        height=str(box.h),
    )


def _emit_shape(plane: etree._Element, shape: Shape) -> None:
    el = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNShape"), id=f"{shape.element}_di")
    el.set("bpmnElement", shape.element)
    if shape.horizontal:
        el.set("isHorizontal", "true")
    if shape.expanded is not None:
        el.set("isExpanded", "true" if shape.expanded else "false")
    if shape.marker:
        el.set("isMarkerVisible", "true")
    _bounds(el, shape.box)
    if shape.label:
        _bounds(etree.SubElement(el, _q(BPMNDI_NS, "BPMNLabel")), shape.label)


def _emit_edge(plane: etree._Element, edge: Edge) -> None:
    el = etree.SubElement(plane, _q(BPMNDI_NS, "BPMNEdge"), id=f"{edge.element}_di")
    el.set("bpmnElement", edge.element)
    for x, y in edge.points:
        etree.SubElement(el, _q(DI_NS, "waypoint"), x=str(x), y=str(y))
    if edge.label:
        _bounds(etree.SubElement(el, _q(BPMNDI_NS, "BPMNLabel")), edge.label)


def _emit_diagram(
    root: etree._Element, element: str, shapes: list[Shape], edges: list[Edge]
) -> None:
    """Append one BPMNDiagram (before any bpmn:relationship, as the XSD orders them)."""
    diagram = etree.SubElement(root, _q(BPMNDI_NS, "BPMNDiagram"), id=f"{element}_diagram")
    plane = etree.SubElement(diagram, _q(BPMNDI_NS, "BPMNPlane"), id=f"{element}_plane")
    plane.set("bpmnElement", element)
    for shape in shapes:
        _emit_shape(plane, shape)
    for edge in edges:
        _emit_edge(plane, edge)
    relationship = root.find("bpmn:relationship", NS)
    if relationship is not None:
        relationship.addprevious(diagram)


def _ensure_namespaces(tree: etree._ElementTree) -> etree._Element:
    """Make sure the root declares the bpmndi/dc/di prefixes (lxml cannot add them in place)."""
    root = tree.getroot()
    have = set(root.nsmap.values())
    missing = {p: u for p, u in DI_PREFIXES.items() if u not in have}
    if not missing:
        return root
    nsmap = dict(root.nsmap)
    for prefix, uri in missing.items():
        nsmap[prefix if prefix not in nsmap else f"{prefix}_{len(nsmap)}"] = uri
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    new.text = root.text
    new.extend(list(root))
    tree._setroot(new)
    return new


# ---------------------------------------------------------------- public API


def _subprocesses(container: etree._Element) -> Iterator[etree._Element]:
    """Embedded subprocesses at any depth, in document order."""
    for el in container.iter():
        if el is not container and isinstance(el.tag, str) and _local(el) in SUBPROCESSES:
            yield el


def layout_tree(tree: etree._ElementTree | etree._Element) -> etree._ElementTree:
    """Replace the DI of a BPMN document with a freshly generated one (in place; also returned)."""
    if not isinstance(tree, etree._ElementTree):
        tree = tree.getroottree()
    root = _ensure_namespaces(tree)
    # groups (the route's stages) are the analysts' frames, not generated: keep them as drawn
    groups = {g.get("id") for g in root.iter(_q(BPMN_NS, "group"))}
    kept: dict[str, list[etree._Element]] = {}
    for diagram in root.findall("bpmndi:BPMNDiagram", NS):
        for plane in diagram.iterfind("bpmndi:BPMNPlane", NS):
            frames = [s for s in plane if s.get("bpmnElement") in groups]
            kept.setdefault(plane.get("bpmnElement", ""), []).extend(frames)
        root.remove(diagram)
    processes = root.findall("bpmn:process", NS)
    collab = root.find("bpmn:collaboration", NS)
    needs_pool = len(processes) > 1 or any(
        p.find("bpmn:laneSet", NS) is not None for p in processes
    )
    if collab is None and processes and needs_pool:
        collab = _add_collaboration(root, processes)
    pooled: set[str] = set()
    if collab is not None:
        shapes, edges, pooled = _collaboration_plane(collab, {p.get("id"): p for p in processes})
        _emit_diagram(root, collab.get("id"), shapes, edges)
    for process in processes:
        if process.get("id") not in pooled:
            _emit_diagram(root, process.get("id"), *_container_plane(process))
    for process in processes:
        for sub in _subprocesses(process):
            _emit_diagram(root, sub.get("id"), *_container_plane(sub))
    for plane in root.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS):
        plane.extend(kept.get(plane.get("bpmnElement", ""), []))
    etree.indent(tree, space="  ")
    return tree


def _parse(data: bytes) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.parse(io.BytesIO(data), parser)


def _serialize(tree: etree._ElementTree, original: bytes) -> bytes:
    """The document with the original XML declaration kept verbatim."""
    encoding = tree.docinfo.encoding or "UTF-8"
    body = etree.tostring(tree, encoding=encoding, xml_declaration=False)
    match = re.match(rb"\s*(<\?xml[^>]*\?>)", original)
    head = match.group(1) + b"\n" if match else b""
    return head + body.strip() + b"\n"


def layout_bytes(path: Path | str) -> bytes:
    """What ``layout_file`` would write for ``path``."""
    original = Path(path).read_bytes()
    return _serialize(layout_tree(_parse(original)), original)


def layout_file(path: Path | str) -> bool:
    """Rewrite ``path`` with fresh DI; True when the file changed."""
    new = layout_bytes(path)
    if new == Path(path).read_bytes():
        return False
    Path(path).write_bytes(new)
    return True


def _plane_index(root: etree._Element) -> dict[str, etree._Element]:
    return {
        pl.get("bpmnElement", ""): pl
        for pl in root.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    }


def _di_box(el: etree._Element | None) -> Rect | None:
    if el is None:
        return None
    return Rect(*(round(float(el.get(k, 0))) for k in ("x", "y", "width", "height")))


def _missing_labels(plane: etree._Element, sem: dict[str, etree._Element]) -> bool:
    """Place a label for every named element of the plane that has none, around what is drawn."""
    shapes: list[Shape] = []
    edges: list[Edge] = []
    todo: list[tuple[etree._Element, Shape | Edge]] = []
    for di in _children(plane):
        el = sem.get(di.get("bpmnElement", ""))
        if el is None:
            continue
        name = (el.get("name") or "").strip()
        label = _di_box(di.find("bpmndi:BPMNLabel/dc:Bounds", NS))
        needs = (
            name and label is None and (_local(el) in EXTERNAL_LABELS or _local(di) == "BPMNEdge")
        )
        if _local(di) == "BPMNShape":
            box = _di_box(di.find("dc:Bounds", NS))
            if box is None:
                continue
            shape = Shape(el.get("id"), box, label, horizontal=di.get("isHorizontal") == "true")
            if needs:
                shape.label = Rect(box.cx - LABEL_W // 2, box.bottom + 4, LABEL_W, _label_h(name))
                todo.append((di, shape))
            shapes.append(shape)
        else:
            points = [
                (round(float(w.get("x", 0))), round(float(w.get("y", 0))))
                for w in di.iterfind("di:waypoint", NS)
            ]
            if len(points) < 2:
                continue
            edge = Edge(el.get("id"), points, label, name)
            if needs:
                edge.label = _flow_label(points, name)
                todo.append((di, edge))
            edges.append(edge)
    if not todo:
        return False
    moving = {id(item) for _, item in todo}
    fixed = [i.label for i in [*shapes, *edges] if i.label and id(i) not in moving]
    _place_labels(shapes, edges, fixed=fixed, only=moving)
    for di, item in todo:
        _bounds(etree.SubElement(di, _q(BPMNDI_NS, "BPMNLabel")), item.label)
    return True


def complete_tree(tree: etree._ElementTree) -> bool:
    """Add DI only where there is none (in place); True when something was added.

    A file without any diagram gets a whole layout; otherwise each element no plane draws gets
    its generated shape or edge (a new subprocess its whole plane), and each named element
    without a label position gets one on a free spot. Existing DI is never moved.
    """
    root = tree.getroot()
    if root.find("bpmndi:BPMNDiagram", NS) is None:
        layout_tree(tree)
        return True
    fresh = layout_tree(copy.deepcopy(tree)).getroot()
    planes, fresh_planes = _plane_index(root), _plane_index(fresh)
    drawn = {di.get("bpmnElement") for pl in planes.values() for di in _children(pl)}
    changed = False
    for element, fresh_plane in fresh_planes.items():
        plane = planes.get(element)
        if plane is None:
            diagram = copy.deepcopy(fresh_plane.getparent())
            relationship = root.find("bpmn:relationship", NS)
            if relationship is not None:
                relationship.addprevious(diagram)
            else:
                root.append(diagram)
            changed = True
            continue
        for di in _children(fresh_plane):
            if di.get("bpmnElement") not in drawn:
                plane.append(copy.deepcopy(di))
                changed = True
    sem = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for plane in _plane_index(root).values():
        changed = _missing_labels(plane, sem) or changed
    if changed:
        etree.indent(tree, space="  ")
    return changed


def complete_file(path: Path | str) -> bool:
    """Lay out what has no DI yet in ``path``; True when the file changed (else untouched)."""
    original = Path(path).read_bytes()
    tree = _parse(original)
    if not complete_tree(tree):
        return False
    Path(path).write_bytes(_serialize(tree, original))
    return True


def problems(path: Path | str) -> list[Problem]:
    """Everything wrong with the drawing of ``path`` (empty when it is complete and readable)."""
    return check_di(path)


def check_file(path: Path | str) -> bool:
    """True when the file's drawing is complete and readable (tools/bpmn_di_check.py)."""
    return not problems(path)


def _problems_quietly(path: Path) -> list[str]:
    """problems(), reporting unreadable files as a problem instead of raising."""
    try:
        return [str(p) for p in problems(path)]
    except (OSError, etree.XMLSyntaxError) as exc:
        return [f"{path}: {exc}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only report problems of the drawing")
    mode.add_argument(
        "--relayout",
        action="store_true",
        help="regenerate all DI, discarding the existing drawing (explicit request only)",
    )
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.check:
        found = [line for f in args.files for line in _problems_quietly(f)]
        for line in found:
            print(line)
        if found:
            print(
                f"{len(found)} problem(s): fix them in a modeler, or run tools/bpmn_layout.py "
                "FILE to lay out missing elements (--relayout regenerates everything)"
            )
        return 1 if found else 0
    failed = False
    for f in args.files:
        try:
            changed = layout_file(f) if args.relayout else complete_file(f)
            if changed:
                print(f"{'laid out' if args.relayout else 'completed'} {f}")
        except (OSError, etree.XMLSyntaxError) as exc:
            print(f"{f}: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
