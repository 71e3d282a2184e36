"""Lanes decide which authority gets a task: a task outside every lane, or a lane that reaches into
an embedded subprocess (which a modeler drops when the node is moved on the subprocess's own
diagram), is refused at load with the file and the element, never routed by default."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree

from workflows import SpecError, load_library
from workflows.specs import NS, REPO_ROOT

MAIN = "ruta_proteccion_nna.bpmn"
FISCAL_LANE = """        <bpmn:lane id="lane_proteccion_FISCALIA" name="FISCALIA">
          <bpmn:flowNodeRef>iniciar_investigacion</bpmn:flowNodeRef>
        </bpmn:lane>
"""


@pytest.fixture
def route(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "bpmn", tmp_path / "bpmn")
    return tmp_path / "bpmn"


def load(bpmn: Path):
    return load_library(bpmn, REPO_ROOT / "forms")


def test_prosecutor_task_is_routed_by_the_subprocess_lane():
    lib = load(REPO_ROOT / "bpmn")
    assert lib.tasks["iniciar_investigacion"].lane == "FISCALIA"
    assert lib.tasks["determinar_acompanamiento"].lane == "PROCURADURIA"
    assert lib.tasks["votar_panel_bid"].lane == "PROCURADURIA"


def test_deleting_the_subprocess_lane_refuses_the_route(route):
    text = (route / MAIN).read_text(encoding="utf-8")
    assert FISCAL_LANE in text
    (route / MAIN).write_text(text.replace(FISCAL_LANE, ""), encoding="utf-8")
    with pytest.raises(SpecError, match="user task is in no lane of 'proteccion'") as err:
        load(route)
    assert err.value.element == "iniciar_investigacion"
    assert err.value.file.endswith(MAIN)


def test_a_lane_reaching_into_a_subprocess_is_refused(route):
    text = (route / MAIN).read_text(encoding="utf-8")
    reaching = (
        '      <bpmn:lane id="lane_FISCALIA" name="FISCALIA">\n'
        "        <bpmn:flowNodeRef>iniciar_investigacion</bpmn:flowNodeRef>\n"
        "      </bpmn:lane>\n"
    )
    end_of_main_lanes = "    </bpmn:laneSet>\n    <bpmn:startEvent"
    assert end_of_main_lanes in text
    text = text.replace(FISCAL_LANE, "").replace(end_of_main_lanes, reaching + end_of_main_lanes, 1)
    (route / MAIN).write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match="not a node of 'ruta_proteccion_nna'") as err:
        load(route)
    assert err.value.element == "lane_FISCALIA"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_every_script_task_names_its_language(path):
    tree = etree.parse(str(path))
    missing = [
        s.get("id") for s in tree.iterfind(".//bpmn:scriptTask", NS) if not s.get("scriptFormat")
    ]
    assert missing == []


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_loop_references_name_real_elements(path):
    """bpmn-moddle keeps a reference only when it resolves to an element id."""
    tree = etree.parse(str(path))
    ids = {el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")}
    for tag in ("loopDataInputRef", "loopDataOutputRef"):
        for ref in tree.iterfind(f".//bpmn:{tag}", NS):
            assert (ref.text or "").strip() in ids, (path.name, ref.text)
