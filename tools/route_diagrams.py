"""Render every diagram of the route's BPMN files to SVG in docs/route/, so the docs show the
route exactly as the files draw it (the same DI an analyst sees in a modeler) and cannot drift:
``--check`` (run by .ci/run and tests/test_route_diagrams.py) fails when a file changed and the
SVGs were not regenerated.

One SVG per plane: the main pool of each file (``<process>.svg``) and the drill-down of each
embedded subprocess (``<process>.<subprocess>.svg``), plus ``docs/route/README.md`` listing them.
Pure Python from the DI (no browser), so the output is byte-for-byte reproducible.

Usage::

    python tools/route_diagrams.py           # write docs/route/
    python tools/route_diagrams.py --check   # exit 1 if docs/route/ is stale
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from html import escape
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: python tools/route_diagrams.py
    sys.path.insert(0, str(ROOT))
from tools.bpmn_di_check import (  # noqa: E402
    CHAR_W,
    EXTERNAL_CHAR_W,
    EXTERNAL_LINE_H,
    NS,
    element_text,
)

BPMN_DIR, OUT_DIR = ROOT / "bpmn", ROOT / "docs" / "route"
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"}
GATEWAY_MARK = {"exclusiveGateway": "×", "parallelGateway": "+", "inclusiveGateway": "○"}
STYLE = (
    "text{font-family:Arial,Helvetica,sans-serif;fill:#222}"
    ".t{font-size:12px}.l{font-size:11px}.title{font-size:13px;font-weight:bold}"
    ".shape{fill:#fff;stroke:#222;stroke-width:1.5}.lane{fill:none;stroke:#888}"
    ".flow{fill:none;stroke:#222;stroke-width:1.3}.end{stroke-width:3.5}"
    ".group{fill:none;stroke:#555;stroke-width:1.5;stroke-dasharray:8 4 2 4}"
)


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _f(el: etree._Element, key: str) -> float:
    return float(el.get(key, 0))


def _text(x: float, y: float, lines: list[str], cls: str, line_h: float) -> str:
    spans = "".join(
        f'<tspan x="{x:g}" dy="{0 if i == 0 else line_h:g}">{escape(s)}</tspan>'
        for i, s in enumerate(lines)
    )
    return f'<text class="{cls}" x="{x:g}" y="{y:g}" text-anchor="middle">{spans}</text>'


def _wrap(name: str, width: float, char_w: float) -> list[str]:
    return textwrap.wrap(name, max(1, int(width // char_w))) or [""]


def _shape_svg(el: etree._Element, di: etree._Element) -> list[str]:
    b = di.find("dc:Bounds", NS)
    x, y, w, h = (_f(b, k) for k in ("x", "y", "width", "height"))
    local, name = _local(el), (el.get("name") or "").strip()
    out: list[str] = []
    if local == "group":
        out.append(
            f'<rect class="group" x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="10"/>'
        )
        return out
    if local in {"participant", "lane"}:
        out.append(f'<rect class="lane" x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}"/>')
        cx, cy = x + 15, y + h / 2
        out.append(
            f'<text class="title" x="{cx:g}" y="{cy:g}" text-anchor="middle" '
            f'transform="rotate(-90 {cx:g} {cy:g})">{escape(name)}</text>'
        )
        return out
    if local in EVENTS or local == "boundaryEvent":
        r = w / 2
        extra = " end" if local == "endEvent" else ""
        out.append(f'<circle class="shape{extra}" cx="{x + r:g}" cy="{y + r:g}" r="{r:g}"/>')
        if local in {"boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent"}:
            out.append(f'<circle class="shape" cx="{x + r:g}" cy="{y + r:g}" r="{r - 3:g}"/>')
    elif local.endswith("Gateway"):
        pts = f"{x + w / 2:g},{y:g} {x + w:g},{y + h / 2:g} {x + w / 2:g},{y + h:g} {x:g},{y + h / 2:g}"
        out.append(f'<polygon class="shape" points="{pts}"/>')
        mark = GATEWAY_MARK.get(local, "")
        out.append(
            f'<text class="title" x="{x + w / 2:g}" y="{y + h / 2 + 5:g}" text-anchor="middle">{mark}</text>'
        )
    else:
        width = "3" if local == "callActivity" else "1.5"
        out.append(
            f'<rect class="shape" style="stroke-width:{width}" x="{x:g}" y="{y:g}" width="{w:g}" '
            f'height="{h:g}" rx="10"/>'
        )
        lines = _wrap(name, w - 10, CHAR_W)
        top = y + h / 2 - (len(lines) - 1) * 7 + 4
        out.append(_text(x + w / 2, top, lines, "t", 14))
        if local == "subProcess" and di.get("isExpanded") != "true":
            out.append(
                f'<rect class="shape" x="{x + w / 2 - 7:g}" y="{y + h - 16:g}" width="14" height="14"/>'
            )
            out.append(_text(x + w / 2, y + h - 5, ["+"], "t", 14))
        return out
    return out


def _label_svg(el: etree._Element, di: etree._Element, sem: dict[str, etree._Element]) -> list[str]:
    lb = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
    name = element_text(el, sem)
    if lb is None or not name:
        return []
    x, y, w = _f(lb, "x"), _f(lb, "y"), _f(lb, "width")
    lines = _wrap(name, w, EXTERNAL_CHAR_W)
    return [_text(x + w / 2, y + 10, lines, "l", EXTERNAL_LINE_H)]


def render_plane(plane: etree._Element, sem: dict[str, etree._Element], title: str) -> str:
    """One diagram as a standalone SVG document."""
    body: list[str] = []
    labels: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for di in plane:
        if not isinstance(di.tag, str):
            continue
        el = sem.get(di.get("bpmnElement", ""))
        if el is None:
            continue
        if _local(di) == "BPMNShape":
            b = di.find("dc:Bounds", NS)
            xs += [_f(b, "x"), _f(b, "x") + _f(b, "width")]
            ys += [_f(b, "y"), _f(b, "y") + _f(b, "height")]
            body += _shape_svg(el, di)
        else:
            pts = [(_f(w, "x"), _f(w, "y")) for w in di.iterfind("di:waypoint", NS)]
            xs += [p[0] for p in pts]
            ys += [p[1] for p in pts]
            path = " ".join(f"{x:g},{y:g}" for x, y in pts)
            marker = ' marker-end="url(#arrow)"' if _local(el) == "sequenceFlow" else ""
            body.append(f'<polyline class="flow" points="{path}"{marker}/>')
        labels += _label_svg(el, di, sem)
        lb = di.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if lb is not None:
            xs += [_f(lb, "x"), _f(lb, "x") + _f(lb, "width")]
            ys += [_f(lb, "y"), _f(lb, "y") + _f(lb, "height")]
    x0, y0 = min(xs, default=0) - 20, min(ys, default=0) - 40
    w, h = max(xs, default=100) - x0 + 20, max(ys, default=100) - y0 + 20
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:g} {y0:g} {w:g} {h:g}" '
        f'width="{w:g}" height="{h:g}" role="img" aria-label="{escape(title)}">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#222"/></marker></defs>\n'
        f'<text class="title" x="{x0 + 20:g}" y="{y0 + 24:g}">{escape(title)}</text>\n'
    )
    return head + "\n".join(body + labels) + "\n</svg>\n"


def render_all(bpmn_dir: Path | None = None) -> dict[str, str]:
    """File name in docs/route/ -> content, for every plane of every file, and the index."""
    bpmn_dir = bpmn_dir or BPMN_DIR
    out: dict[str, str] = {}
    index = [
        "# The route's diagrams",
        "",
        "Generated by `python tools/route_diagrams.py` from the DI of `bpmn/*.bpmn` (checked in",
        "CI: do not edit). One picture per process and per embedded subprocess (its drill-down).",
        "",
    ]
    for path in sorted(bpmn_dir.glob("*.bpmn")):
        tree = etree.parse(str(path))
        sem = {e.get("id"): e for e in tree.iter() if isinstance(e.tag, str) and e.get("id")}
        process = tree.find("bpmn:process", NS)
        pid = process.get("id")
        for plane in tree.iterfind("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS):
            target = sem.get(plane.get("bpmnElement", ""))
            if target is None:
                continue
            sub = _local(target) == "subProcess"
            name = f"{pid}.{target.get('id')}.svg" if sub else f"{pid}.svg"
            title = (target.get("name") or target.get("id")) if sub else (
                process.get("name") or pid
            )  # fmt: skip
            out[name] = render_plane(plane, sem, f"{title} ({path.name})")
            indent = "  " if sub else ""
            index.append(f"{indent}- [{escape(title)}]({name}) — `{path.name}`")
    out["README.md"] = "\n".join(index) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/route/ is stale")
    args = parser.parse_args(argv)
    wanted = render_all()
    have = (
        {p.name: p.read_text(encoding="utf-8") for p in OUT_DIR.glob("*")}
        if OUT_DIR.is_dir()
        else {}
    )
    if args.check:
        stale = sorted(n for n in set(wanted) | set(have) if wanted.get(n) != have.get(n))
        for name in stale:
            print(f"docs/route/{name} is stale: run python tools/route_diagrams.py")
        return 1 if stale else 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name in set(have) - set(wanted):
        (OUT_DIR / name).unlink()
    for name, content in wanted.items():
        (OUT_DIR / name).write_text(content, encoding="utf-8")
    print(f"wrote {len(wanted)} files to docs/route/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
