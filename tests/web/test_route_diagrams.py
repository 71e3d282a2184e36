"""The route on the case page (issue 13, item 6): every diagram fits the column, its labels are at
least 11 px at the default zoom, the current step is highlighted on every level (the main
route's stage, the subprocess's call activity, the called process's task), each figure names
its process, and plain links zoom and move the window (no JavaScript)."""

from __future__ import annotations

import re
from html import unescape

from app.web.route_svg import COLUMN, LABEL_PX
from tests.web.test_dashboard import _open

OFFICER = "inm-07.officer"
FIGURE = re.compile(r'<figure class="route-fig[^"]*" id="fig-([^"]+)">(.*?)</figure>', re.S)
SVG = re.compile(
    r'<svg class="route" viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)" width="(\d+)"'
)


def figures(html: str) -> dict[str, dict]:
    out = {}
    for key, body in FIGURE.findall(html):
        vx, _, vw, _, width = SVG.search(body).groups()
        fonts = [float(f) for f in re.findall(r'<text class="[^"]+" font-size="([\d.]+)"', body)]
        out[key] = {
            "body": body,
            "caption": unescape(re.search(r"<figcaption>(.*?)</figcaption>", body, re.S)[1]),
            "x": float(vx),
            "view_width": float(vw),
            "width": int(width),
            "min_font_px": min(fonts) * int(width) / float(vw),
            "current": re.findall(r'class="(\w+) current"', body),
            "links": {
                unescape(t): unescape(h)
                for h, t in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', body)
            },
        }
    return out


async def test_current_step_on_every_level_readable_and_zoomable(browser, json_api):
    folio = await _open(json_api)
    await json_api.drive_until(folio, "emitir_medida_proteccion")  # colocacion, in proteccion
    b = await browser(OFFICER)
    page = await b.get(f"/cases/{folio}")
    assert page.status_code == 200
    figs = figures(page.text)
    main, stage, called = (
        figs["ruta_proteccion_nna"],
        figs["ruta_proteccion_nna.proteccion"],
        figs["colocacion"],
    )
    # a caption naming the process and its level; the case's place highlighted on each level
    assert main["caption"].startswith("Ruta principal: ") and "aquí está el caso" in main["caption"]
    assert stage["caption"].startswith("Etapa (subproceso): ")
    assert called["caption"].startswith("Proceso en curso: ")
    assert main["current"] == ["subProcess"]  # the protection stage, collapsed on the main route
    # the route's stages (BPMN groups) are drawn, and the one the child is in is shaded
    assert "Etapa 1 · Ingreso al territorio" in main["body"] and "Etapa 4" in main["body"]
    assert main["body"].count('class="group current-stage"') == 1
    assert stage["body"].count('class="group current-stage"') == 1
    assert "Etapa 1 · Medidas urgentes" in stage["body"]
    # and named in the caption, since the window may not show the stage's frame label
    assert "Etapas 1 a 3 · Protección integral" in main["caption"]
    assert "Etapa 1 · Medidas urgentes, acompañamiento y colocación" in stage["caption"]
    assert "callActivity" in stage["current"]  # the call of the placement process
    assert called["current"] == ["userTask"]  # the task waiting for a person
    assert 'id="emitir_medida_proteccion"' not in called["body"]  # (drawn, not executed)
    for key, fig in figs.items():
        assert fig["width"] <= COLUMN, key  # fits the column: no sideways scrolling
        assert fig["min_font_px"] >= LABEL_PX, (key, fig["min_font_px"])
    # the stage's drill-down is wider than the column: the window shows the current step
    assert stage["view_width"] < 3000 and stage["links"]
    # plain links: the whole diagram (smaller labels, on request), then back to normal
    whole = figures((await b.get(f"/cases/{folio}" + stage["links"]["Ver todo el diagrama"])).text)
    full = whole["ruta_proteccion_nna.proteccion"]
    assert full["view_width"] > stage["view_width"] and full["width"] <= COLUMN
    assert full["current"]  # still highlighted
    moved = figures((await b.get(f"/cases/{folio}" + stage["links"]["Mover a la derecha →"])).text)
    assert moved["ruta_proteccion_nna.proteccion"]["x"] > stage["x"]
    assert moved["ruta_proteccion_nna"]["x"] == main["x"]  # each diagram has its own window
    bigger = figures((await b.get(f"/cases/{folio}" + stage["links"]["Acercar"])).text)
    assert bigger["ruta_proteccion_nna.proteccion"]["min_font_px"] > stage["min_font_px"]
    # nonsense parameters fall back to the default view
    odd = figures((await b.get(f"/cases/{folio}?zoom_colocacion=9&pan_colocacion=x")).text)
    assert odd["colocacion"]["x"] == called["x"]
