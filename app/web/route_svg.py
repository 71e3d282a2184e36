"""The route drawn as SVG from the BPMN diagram interchange (BPMNDI) of bpmn/*.bpmn.

Shapes (``dc:Bounds``) become rectangles (tasks, subprocesses, lanes), circles (events) and
diamonds (gateways); edges (``di:waypoint``) become polylines. Elements with an open task are
highlighted, elements already done (completed tasks, and call activities whose subprocess has
finished work and nothing open) are shaded. The BPMN files are read, never executed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405  (our own repository files, not user input)
from dataclasses import dataclass, field
from functools import cache
from html import escape

from app.route_engine import bpmn_dir

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
SCALE = 0.75  # drawn at 75 % of the diagram's size; the figure scrolls sideways


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
) -> str:
    """One process plane as an accessible inline SVG (``role=img`` with a title)."""
    d = diagram(process_id, plane_of)
    if d is None or not d.shapes:
        return ""
    xs = [x for x, _, w, _ in d.shapes.values()] + [x + w for x, _, w, _ in d.shapes.values()]
    ys = [y for _, y, _, h in d.shapes.values()] + [y + h for _, y, _, h in d.shapes.values()]
    x0, y0, x1, y1 = min(xs) - 10, min(ys) - 10, max(xs) + 10, max(ys) + 10

    def state(el_id: str) -> str:
        if el_id in current or d.subplanes.get(el_id, set()) & current:
            return "current"
        called = d.called.get(el_id)
        if called and _descendants(called) & active_processes:
            return "current"
        if el_id in done:
            return "done"
        if called and _descendants(called) & done_processes:
            return "done"
        return ""

    tid = f"svg-{process_id}-{plane_of or 'pool'}"
    out = [
        f'<svg class="route" viewBox="{x0:.0f} {y0:.0f} {x1 - x0:.0f} {y1 - y0:.0f}" '
        f'width="{(x1 - x0) * SCALE:.0f}" height="{(y1 - y0) * SCALE:.0f}" '
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
            if d.kinds.get(kv[0]) in ("subProcess",)
            else 2
        ),
    )
    nodes: list[str] = []
    for el_id, (x, y, w, h) in order:
        kind = d.kinds.get(el_id, "")
        name = escape(d.names.get(el_id, ""))
        st = state(el_id)
        cls = f"{kind} {st}".strip()
        if kind in ("participant", "lane"):
            out.append(f'<rect class="{kind}" x="{x}" y="{y}" width="{w}" height="{h}"/>')
            if kind == "lane" and name:
                out.append(
                    f'<text class="lane-label" x="{x + 14}" y="{y + h / 2}" '
                    f'transform="rotate(-90 {x + 14} {y + h / 2})">{name}</text>'
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
                f'<text class="sub-label" x="{x + 8}" y="{y + 16}">{name}</text>'
            )
            continue
        nodes.append(f'<rect class="{cls}" x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>')
        lines = _wrap(d.names.get(el_id, ""), max(int(w / 6.2), 8))
        for i, line in enumerate(lines):
            ty = y + h / 2 + (i - (len(lines) - 1) / 2) * 13 + 4
            nodes.append(f'<text class="label" x="{x + w / 2}" y="{ty:.1f}">{escape(line)}</text>')
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


def route_svgs(tasks: list[dict], title: str) -> list[str]:
    """SVGs for the main route plus every process with an open task (the current subprocess)."""
    current = {t["bpmn_id"] for t in tasks if t["status"] == "open"}
    done = {t["bpmn_id"] for t in tasks if t["status"] == "completed"}
    active = {t["process_id"] for t in tasks if t["status"] == "open"}
    done_procs = {t["process_id"] for t in tasks if t["status"] == "completed"}
    shown = ["ruta_proteccion_nna"] + sorted(active - {"ruta_proteccion_nna"})
    svgs = []
    for pid in shown:
        svg = render(pid, current, done, active, done_procs, title)
        if svg:
            svgs.append(svg)
        d = diagram(pid)
        for sub, members in sorted((d.subplanes if d else {}).items()):
            if members & (current | done):  # the embedded subprocess the child is in, or was in
                sub_svg = render(pid, current, done, active, done_procs, title, plane_of=sub)
                if sub_svg:
                    svgs.append(sub_svg)
    return svgs
