"""The main route shows its stages (issue 13, item 5): BPMN groups (artifacts, with a category
value naming the stage) frame the stages on the main route and in the protection subprocess's
drill-down. They are drawing only: the route careroute runs is the same with or without them,
the layout check treats a group as a frame (not a shape), and the case page shades the stage the
child is in on every level."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from lxml import etree

from app.web.route_svg import LABEL_PX, diagram, element_state, render, stage_of
from tests.route_semantics import differences, route_semantics
from tools.bpmn_di_check import check_tree
from tools.bpmn_layout import NS, layout_file
from workflows import load_library

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "bpmn" / "ruta_proteccion_nna.bpmn"


def _stages(plane: str) -> dict[str, str]:
    """Group id -> stage name, for the groups drawn on ``plane``."""
    tree = etree.parse(str(MAIN))
    values = {v.get("id"): v.get("value") for v in tree.iterfind(".//bpmn:categoryValue", NS)}
    groups = {
        g.get("id"): values[g.get("categoryValueRef")] for g in tree.iterfind(".//bpmn:group", NS)
    }
    drawn = tree.find(f".//bpmndi:BPMNPlane[@bpmnElement='{plane}']", NS)
    return {
        s.get("bpmnElement"): groups[s.get("bpmnElement")]
        for s in drawn.iterfind("bpmndi:BPMNShape", NS)
        if s.get("bpmnElement") in groups
    }


def test_the_main_route_and_the_protection_drill_down_name_their_stages():
    main = _stages("colab_ruta_proteccion_nna")
    assert [name.split(" · ")[0] for name in main.values()] == [
        "Etapa 1",
        "Etapas 1 a 3",
        "Etapa 4",
    ]
    drill = _stages("proteccion")
    assert {name.split(" · ")[0] for name in drill.values()} == {"Etapa 1", "Etapa 2", "Etapa 3"}
    assert any("interés superior" in name for name in drill.values())


def test_the_stages_carry_no_semantics(tmp_path: Path):
    """Without its groups and their category the file runs exactly the same route."""
    shutil.copytree(ROOT / "bpmn", tmp_path, dirs_exist_ok=True)
    tree = etree.parse(str(tmp_path / MAIN.name))
    stripped = 0
    for el in list(tree.iter(f"{{{NS['bpmn']}}}group", f"{{{NS['bpmn']}}}category")):
        el.getparent().remove(el)
        stripped += 1
    for shape in list(tree.iterfind(".//bpmndi:BPMNShape", NS)):
        if shape.get("bpmnElement", "").startswith("etapa_"):
            shape.getparent().remove(shape)
    assert stripped == 9  # eight groups and their category
    tree.write(str(tmp_path / MAIN.name), xml_declaration=True, encoding="UTF-8")
    with_stages = route_semantics(load_library(ROOT / "bpmn", ROOT / "forms"))
    without = route_semantics(load_library(tmp_path, ROOT / "forms"))
    assert differences(with_stages, without) == []


def test_a_group_frames_shapes_but_its_label_must_be_free():
    tree = etree.parse(str(MAIN))
    assert check_tree(tree, "x") == []  # frames around shapes and across flows are fine
    label = tree.find(
        ".//bpmndi:BPMNShape[@bpmnElement='etapa_transicion']/bpmndi:BPMNLabel/dc:Bounds", NS
    )
    task = tree.find(
        ".//bpmndi:BPMNShape[@bpmnElement='ruta_llamar_transicion_vida_adulta']/dc:Bounds", NS
    )
    label.set("x", task.get("x"))
    label.set("y", task.get("y"))
    found = [p.message for p in check_tree(tree, "x")]
    assert (
        "the label of etapa_transicion overlaps shape ruta_llamar_transicion_vida_adulta" in found
    )
    label.set("width", "20")
    assert any(
        m.startswith("the label of etapa_transicion is too small")
        for m in found + [p.message for p in check_tree(tree, "x")]
    )


def _current_stages(svg: str) -> list[str]:
    return re.findall(r'<rect class="group current-stage" x="([\d.]+)"', svg)


def test_the_case_page_shades_the_stage_the_child_is_in_on_every_level():
    # the child waits in the placement process, called from the protection subprocess
    current, active = {"emitir_medida_proteccion"}, {"colocacion"}
    main = diagram("ruta_proteccion_nna")
    drill = diagram("ruta_proteccion_nna", "proteccion")

    def state_in(d):
        return lambda el: element_state(d, el, current, set(), active, set())

    assert [
        g for g in _stages("colab_ruta_proteccion_nna") if stage_of(main, g, state_in(main))
    ] == ["etapa_proteccion"]
    assert [g for g in _stages("proteccion") if stage_of(drill, g, state_in(drill))] == [
        "etapa_medidas"
    ]
    svg = render("ruta_proteccion_nna", current, set(), active, set(), "Caso", zoom="all")
    assert len(_current_stages(svg)) == 1
    assert "Etapas 1 a 3 · Protección" in svg  # the stage's name, wrapped in its label
    sub = render("ruta_proteccion_nna", current, set(), active, set(), "Caso", "proteccion")
    assert len(_current_stages(sub)) == 1
    assert "Etapa 1 · Medidas urgentes, acompañamiento y colocación" in sub
    fonts = [float(f) for f in re.findall(r'class="stage-label" font-size="([\d.]+)"', sub)]
    assert fonts and min(fonts) >= LABEL_PX  # at zoom 1 one unit is one pixel
    # nothing open: no stage shaded
    idle = render("ruta_proteccion_nna", set(), set(), set(), set(), "Caso", zoom="all")
    assert _current_stages(idle) == []


def test_a_stage_without_a_frame_is_named_and_relayout_keeps_the_frames(tmp_path: Path):
    tree = etree.parse(str(MAIN))
    shape = tree.find(".//bpmndi:BPMNShape[@bpmnElement='etapa_ingreso']", NS)
    shape.getparent().remove(shape)
    assert [p.message for p in check_tree(tree, "x")] == ["group etapa_ingreso has no shape"]
    copy = tmp_path / MAIN.name
    shutil.copy(MAIN, copy)
    assert layout_file(copy)  # --relayout: everything regenerated but the analysts' frames
    frames = lambda path: {  # noqa: E731
        s.get("bpmnElement"): etree.tostring(s.find("dc:Bounds", NS))
        for s in etree.parse(str(path)).iterfind(".//bpmndi:BPMNShape", NS)
        if s.get("bpmnElement", "").startswith("etapa_")
    }
    assert frames(copy) == frames(MAIN) and len(frames(MAIN)) == 8
