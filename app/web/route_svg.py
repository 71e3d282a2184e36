"""The route drawn as SVG from the BPMN diagram interchange (BPMNDI) of bpmn/*.bpmn.

Shapes (``dc:Bounds``) become rectangles (tasks, subprocesses, lanes), circles (events) and
diamonds (gateways); edges (``di:waypoint``) become polylines. Elements with an open task are
highlighted on every level (the main route's stage, the embedded subprocess's call activity, the
called process's task), elements already done are shaded. The BPMN files are read, never executed.

Each diagram fits the page's column (``COLUMN`` px): at the default zoom it shows, at full size
(labels at ``LABEL_PX`` px or more), the window of the diagram around the current step; plain
links (no JavaScript) zoom in, show the whole diagram, or move the window left and right
(``zoom_<key>`` / ``pan_<key>`` query parameters, one pair per diagram).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405  (our own repository files, not user input)
from dataclasses import dataclass, field
from functools import cache
from html import escape
from typing import Any
from urllib.parse import urlencode

from app.route_engine import bpmn_dir

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
#: The case page's column at a 1366 px wide window (main: 1200 px less padding and border).
COLUMN = 1160
#: The smallest label, in px on screen at the default zoom (issue 13: at least 11).
LABEL_PX = 11
#: Font sizes in diagram units: at zoom 1 one unit is one pixel.
FONT = {"label": 11, "sub-label": 12, "lane-label": 14, "stage-label": 11}
#: Zoom levels a link may ask for: the whole diagram ("all"), full size, enlarged.
ZOOMS = {"all": 0.0, "1": 1.0, "2": 1.5}
MAX_PAN = 20


@dataclass
class Diagram:
    process_id: str
    name: str
    kinds: dict[str, str] = field(default_factory=dict)  # element id -> tag
    names: dict[str, str] = field(default_factory=dict)
    called: dict[str, str] = field(default_factory=dict)  # call activity id -> process id
    flows: dict[str, tuple[str, str]] = field(default_factory=dict)
    shapes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    edges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: embedded subprocess id -> ids of the elements drawn in its own drill-down plane
    subplanes: dict[str, set[str]] = field(default_factory=dict)
    #: group (a stage of the route, a BPMN artifact) id -> its label's bounds on this plane
    labels: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


@cache
def diagram(process_id: str, plane_of: str | None = None) -> Diagram | None:
    """One plane of a process file: the pool's (default) or an embedded subprocess's drill-down.

    Each BPMNDiagram has its own coordinates, so planes are drawn separately, never overlaid.
    """
    path = bpmn_dir() / f"{process_id}.bpmn"
    if not path.is_file():
        return None
    root = ET.parse(path).getroot()  # noqa: S314
    proc = root.find(f"bpmn:process[@id='{process_id}']", NS)
    if proc is None:
        return None
    d = Diagram(process_id, proc.get("name") or process_id)
    for el in proc.iter():
        tag = el.tag.split("}")[-1]
        el_id = el.get("id")
        if not el_id:
            continue
        d.kinds[el_id] = tag
        if el.get("name"):
            d.names[el_id] = el.get("name", "")
        if tag == "callActivity" and el.get("calledElement"):
            d.called[el_id] = el.get("calledElement", "")
        if tag == "sequenceFlow":
            d.flows[el_id] = (el.get("sourceRef", ""), el.get("targetRef", ""))
    for el in root.find("bpmn:collaboration", NS) or []:
        if el.get("id"):
            d.kinds.setdefault(el.get("id", ""), el.tag.split("}")[-1])
    values = {v.get("id"): v.get("value", "") for v in root.iter(f"{{{NS['bpmn']}}}categoryValue")}
    for group in root.iter(f"{{{NS['bpmn']}}}group"):
        d.kinds[group.get("id", "")] = "group"
        d.names[group.get("id", "")] = values.get(group.get("categoryValueRef"), "") or ""
    for lane in root.iter(f"{{{NS['bpmn']}}}lane"):
        d.kinds[lane.get("id", "")] = "lane"
        d.names[lane.get("id", "")] = lane.get("name", "")
    planes = root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    if not planes:
        return d
    for other in planes[1:]:
        sub = other.get("bpmnElement", "")
        d.subplanes[sub] = {
            sh.get("bpmnElement", "") for sh in other.iter(f"{{{NS['bpmndi']}}}BPMNShape")
        }
    plane = (
        next((p for p in planes if p.get("bpmnElement") == plane_of), None)
        if plane_of
        else planes[0]
    )
    if plane is None:
        return None
    if plane_of:
        d.name = f"{d.name} · {d.names.get(plane_of, plane_of)}"
    for shape in plane.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        b = shape.find("dc:Bounds", NS)
        if b is not None:
            d.shapes[shape.get("bpmnElement", "")] = tuple(  # type: ignore[assignment]
                float(b.get(k, "0")) for k in ("x", "y", "width", "height")
            )
        lb = shape.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if lb is not None and d.kinds.get(shape.get("bpmnElement", "")) == "group":
            d.labels[shape.get("bpmnElement", "")] = tuple(  # type: ignore[assignment]
                float(lb.get(k, "0")) for k in ("x", "y", "width", "height")
            )
    for edge in plane.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        d.edges[edge.get("bpmnElement", "")] = [
            (float(w.get("x", "0")), float(w.get("y", "0")))
            for w in edge.findall("di:waypoint", NS)
        ]
    return d


def _descendants(process_id: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The process and every process it calls (transitively)."""
    d = diagram(process_id)
    if d is None or process_id in seen:
        return {process_id}
    out = {process_id}
    for called in d.called.values():
        out |= _descendants(called, seen | {process_id})
    return out


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    if line:
        lines.append(line)
    return lines[:4]


def render(
    process_id: str,
    current: set[str],
    done: set[str],
    active_processes: set[str],
    done_processes: set[str],
    title: str,
    plane_of: str | None = None,
    zoom: str = "1",
    pan: int = 0,
) -> str:
    """One process plane as an accessible inline SVG (``role=img`` with a title), ``COLUMN``
    px wide: the whole diagram (``zoom="all"``) or the window around the current step at
    ``ZOOMS[zoom]``, moved ``pan`` half-windows sideways."""
    d = diagram(process_id, plane_of)
    if d is None or not d.shapes:
        return ""
    xs = [x for x, _, w, _ in d.shapes.values()] + [x + w for x, _, w, _ in d.shapes.values()]
    ys = [y for _, y, _, h in d.shapes.values()] + [y + h for _, y, _, h in d.shapes.values()]
    x0, y0, x1, y1 = min(xs) - 10, min(ys) - 10, max(xs) + 10, max(ys) + 10

    def state(el_id: str) -> str:
        return element_state(d, el_id, current, done, active_processes, done_processes)

    vx, vw, scale = _window(d, state, (x0, x1), zoom, pan)
    height = (y1 - y0) * scale
    tid = f"svg-{process_id}-{plane_of or 'pool'}"
    out = [
        f'<svg class="route" viewBox="{vx:.0f} {y0:.0f} {vw:.0f} {y1 - y0:.0f}" '
        f'width="{vw * scale:.0f}" height="{height:.0f}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-labelledby="{tid}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{tid}">{escape(title)}: {escape(d.name)}</title>',
    ]
    # lanes and pool first (background), then edges, then nodes on top
    order = sorted(
        d.shapes.items(),
        key=lambda kv: (
            0
            if d.kinds.get(kv[0]) in ("participant", "lane")
            else 1
            if d.kinds.get(kv[0]) in ("group", "subProcess")
            else 2
        ),
    )
    nodes: list[str] = []
    for el_id, (x, y, w, h) in order:
        kind = d.kinds.get(el_id, "")
        name = escape(d.names.get(el_id, ""))
        if kind == "group":
            out += _group(d, el_id, (x, y, w, h), state)
            continue
        st = state(el_id)
        cls = f"{kind} {st}".strip()
        if kind in ("participant", "lane"):
            out.append(f'<rect class="{kind}" x="{x}" y="{y}" width="{w}" height="{h}"/>')
            if kind == "lane" and name:
                out.append(
                    f'<text class="lane-label" font-size="{FONT["lane-label"]}" x="{x + 14}" '
                    f'y="{y + h / 2}" transform="rotate(-90 {x + 14} {y + h / 2})">{name}</text>'
                )
            continue
        if kind.endswith("Event"):
            r = min(w, h) / 2
            nodes.append(f'<circle class="{cls}" cx="{x + r}" cy="{y + r}" r="{r}"/>')
            continue
        if kind.endswith("Gateway"):
            cx, cy = x + w / 2, y + h / 2
            nodes.append(
                f'<polygon class="{cls}" points="{cx},{y} {x + w},{cy} {cx},{y + h} {x},{cy}"/>'
            )
            continue
        if kind == "subProcess":
            nodes.append(
                f'<rect class="{cls}" x="{x}" y="{y}" width="{w}" height="{h}" rx="8"/>'
                f'<text class="sub-label" font-size="{FONT["sub-label"]}" x="{x + 8}" '
                f'y="{y + 16}">{name}</text>'
            )
            continue
        nodes.append(f'<rect class="{cls}" x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>')
        lines = _wrap(d.names.get(el_id, ""), max(int(w / 6.2), 8))
        for i, line in enumerate(lines):
            ty = y + h / 2 + (i - (len(lines) - 1) / 2) * 13 + 4
            nodes.append(
                f'<text class="label" font-size="{FONT["label"]}" x="{x + w / 2}" '
                f'y="{ty:.1f}">{escape(line)}</text>'
            )
    for flow_id, points in d.edges.items():
        if not points:
            continue
        src, dst = d.flows.get(flow_id, ("", ""))
        walked = state(src) in ("done",) and state(dst) in ("done", "current")
        pts = " ".join(f"{x},{y}" for x, y in points)
        out.append(f'<polyline class="flow{" walked" if walked else ""}" points="{pts}"/>')
    out.extend(nodes)
    out.append("</svg>")
    return "".join(out)


def stage_of(d: Diagram, group: str, state: Any) -> str:
    """``current`` when the case waits at an element drawn inside the group's frame (its
    centre), so the stage the child is in stands out on every level; else ""."""
    gx, gy, gw, gh = d.shapes[group]
    for el, (x, y, w, h) in d.shapes.items():
        if d.kinds.get(el) in ("group", "lane", "participant") or state(el) != "current":
            continue
        if gx <= x + w / 2 <= gx + gw and gy <= y + h / 2 <= gy + gh:
            return "current"
    return ""


def _group(d: Diagram, el_id: str, box: tuple[float, float, float, float], state: Any) -> list[str]:
    """A stage: a dashed frame (shaded when the child is in it) and its name, where the
    file's label bounds put it (checked free by tools/bpmn_layout.py --check)."""
    x, y, w, h = box
    current = stage_of(d, el_id, state) == "current"
    cls = "group current-stage" if current else "group"
    out = [f'<rect class="{cls}" x="{x}" y="{y}" width="{w}" height="{h}" rx="10"/>']
    lx, ly, lw, _ = d.labels.get(el_id, (x + 8, y + 4, w - 16, 0))
    size = FONT["stage-label"]
    for i, line in enumerate(_wrap(d.names.get(el_id, ""), max(int(lw / (size * 0.5)), 8))):
        out.append(
            f'<text class="stage-label" font-size="{size}" x="{lx}" '
            f'y="{ly + size + i * (size + 2):.1f}">{escape(line)}</text>'
        )
    return out


def element_state(
    d: Diagram,
    el_id: str,
    current: set[str],
    done: set[str],
    active_processes: set[str],
    done_processes: set[str],
    seen: frozenset[str] = frozenset(),
) -> str:
    """``current`` if the case waits at this element or anywhere inside it (an embedded
    subprocess's drill-down, a called process, at any depth); ``done`` if it was there; else ""."""
    if el_id in current:
        return "current"
    members = d.subplanes.get(el_id, set()) - seen - {el_id}
    inner = [
        element_state(d, m, current, done, active_processes, done_processes, seen | {el_id})
        for m in members
    ]
    called = d.called.get(el_id)
    if "current" in inner or (called and _descendants(called) & active_processes):
        return "current"
    if el_id in done or "done" in inner or (called and _descendants(called) & done_processes):
        return "done"
    return ""


def _window(
    d: Diagram, state: Any, span: tuple[float, float], zoom: str, pan: int
) -> tuple[float, float, float]:
    """(viewBox x, viewBox width, px per unit): the whole diagram fitted to the column, or a
    window of the column's width at the zoom, centred on the current step (else the last step
    done, else the start), moved ``pan`` half-windows and kept inside the diagram."""
    x0, x1 = span
    width = x1 - x0
    factor = ZOOMS.get(zoom, 1.0)
    if not factor or width * factor <= COLUMN:
        return x0, width, min(COLUMN / width, factor or 1.0)
    window = COLUMN / factor
    focus = [b for el, b in d.shapes.items() if state(el) == "current"] or [
        b for el, b in d.shapes.items() if state(el) == "done"
    ]
    centres = sorted(x + w / 2 for x, _, w, _ in focus) or [x0 + window / 2]
    if centres[-1] - centres[0] <= window * 0.8:
        centre = (centres[0] + centres[-1]) / 2
    else:  # steps far apart: the first one, with room to its right
        centre = centres[0] + window * 0.3
    left = centre - window / 2 + pan * window / 2
    left = max(x0, min(left, x1 - window))
    return left, window, factor


def _int(value: Any, default: int = 0) -> int:
    try:
        return max(-MAX_PAN, min(MAX_PAN, int(str(value))))
    except (TypeError, ValueError):
        return default


def _href(params: dict[str, str], **changes: str) -> str:
    query = {k: v for k, v in params.items() if k.startswith(("zoom_", "pan_"))}
    query.update(changes)
    query = {k: v for k, v in query.items() if v not in ("", "0") or k.startswith("zoom_")}
    query = {k: v for k, v in query.items() if not (k.startswith("zoom_") and v == "1")}
    return ("?" + urlencode(sorted(query.items())) if query else "?") + "#ruta"


def route_svgs(
    tasks: list[dict], title: str, params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The main route, every embedded subprocess the case is or was in, and every process with
    an open task (the current subprocess), each as a figure: ``svg``, ``process`` (its name),
    ``level`` (main route, subprocess, called process), ``current`` (whether the case waits in
    it), ``stage`` (the name of the stage the case is in on that diagram, "" if none), and the
    zoom links (``links``: label key, href, whether it is the zoom shown)."""
    params = params or {}
    current = {t["bpmn_id"] for t in tasks if t["status"] == "open"}
    done = {t["bpmn_id"] for t in tasks if t["status"] == "completed"}
    active = {t["process_id"] for t in tasks if t["status"] == "open"}
    done_procs = {t["process_id"] for t in tasks if t["status"] == "completed"}
    shown = ["ruta_proteccion_nna"] + sorted(active - {"ruta_proteccion_nna"})
    planes: list[tuple[str, str | None, str]] = []
    for pid in shown:
        planes.append((pid, None, "main" if pid == "ruta_proteccion_nna" else "called"))
        d = diagram(pid)
        for sub in sorted(d.subplanes if d else {}):
            st = element_state(d, sub, current, done, active, done_procs) if d else ""
            if st:  # the embedded subprocess the child is in, or was in
                planes.append((pid, sub, "subprocess"))
    figures = []
    for pid, sub, level in planes:
        key = pid if sub is None else f"{pid}.{sub}"
        zoom = params.get(f"zoom_{key}", "1")
        zoom = zoom if zoom in ZOOMS else "1"
        pan = _int(params.get(f"pan_{key}"))
        svg = render(pid, current, done, active, done_procs, title, sub, zoom, pan)
        if not svg:
            continue
        d = diagram(pid, sub)
        assert d is not None
        whole = _window(d, lambda _: "", _span(d), "all", 0)[1]
        fits = whole <= COLUMN
        links = []
        if not fits:
            links += [
                (
                    "zoom_normal",
                    _href(params, **{f"zoom_{key}": "1", f"pan_{key}": ""}),
                    zoom == "1",
                ),
                ("zoom_in", _href(params, **{f"zoom_{key}": "2"}), zoom == "2"),
                (
                    "zoom_all",
                    _href(params, **{f"zoom_{key}": "all", f"pan_{key}": ""}),
                    zoom == "all",
                ),
            ]
            if zoom != "all":
                links += [
                    ("pan_left", _href(params, **{f"pan_{key}": str(pan - 1)}), False),
                    ("pan_right", _href(params, **{f"pan_{key}": str(pan + 1)}), False),
                ]

        def here(el: str, d: Diagram = d) -> str:
            return element_state(d, el, current, done, active, done_procs)

        stages = [
            d.names.get(g, "")
            for g in d.shapes
            if d.kinds.get(g) == "group" and stage_of(d, g, here) == "current"
        ]
        figures.append(
            {
                "key": key,
                "stage": " · ".join(n for n in stages if n),
                "svg": svg,
                "process": d.name,
                "process_id": pid,
                "level": level,
                "current": any(
                    element_state(d, el, current, done, active, done_procs) == "current"
                    for el in d.shapes
                ),
                "links": links,
            }
        )
    return figures


def _span(d: Diagram) -> tuple[float, float]:
    xs = [x for x, _, w, _ in d.shapes.values()] + [x + w for x, _, w, _ in d.shapes.values()]
    return min(xs) - 10, max(xs) + 10
