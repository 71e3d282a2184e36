"""Analysts own the route: every BPMN file survives the bpmn.io modeler (bpmn-js from the npm
registry, pinned in tools/npm/, in headless Chromium) unchanged in meaning.

For every file in bpmn/: open and save unedited; open, move one element (the most deeply nested
user task, so drill-down diagrams and their lanes are exercised) 10 px and save. careroute then
loads each result with exactly the same parsed route (tests/route_semantics.py) and the layout
check (tools/bpmn_layout.py --check) passes on it. The saved files go to
``test-artifacts/bpmn-roundtrip/``.

Needs ``bash tests/web/setup.sh`` (Chromium, Playwright, and bpmn-js via tools/npm_tools.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.route_semantics import differences, route_semantics
from tools.bpmn_layout import NS as DI
from tools.bpmn_layout import problems
from workflows import load_library
from workflows.specs import NS, REPO_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CAREROUTE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "bpmn-roundtrip"
FILES = sorted((REPO_ROOT / "bpmn").glob("*.bpmn"))
SETUP = "run `bash tests/web/setup.sh` (installs bpmn-js through tools/npm_tools.sh)"

ROUND_TRIP_JS = """async ([xml, move]) => {
  const modeler = new BpmnJS({container: '#canvas'});
  const imported = await modeler.importXML(xml);
  let moved = null;
  if (move) {
    const element = modeler.get('elementRegistry').get(move);
    if (!element) { return {error: 'bpmn-js drew no element ' + move}; }
    const before = element.x;
    modeler.get('modeling').moveElements([element], {x: 10, y: 0});
    moved = element.x - before;
  }
  const {xml: saved} = await modeler.saveXML({format: true});
  modeler.destroy();
  return {xml: saved, warnings: imported.warnings.map(w => w.message), moved};
}"""


def _modeler_js() -> Path:
    try:
        out = subprocess.run(
            ["bash", str(REPO_ROOT / "tools" / "npm_tools.sh")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"bpmn-js is not installed: {exc.stderr.strip()} ({SETUP})")
    return Path(out) / "node_modules" / "bpmn-js" / "dist" / "bpmn-modeler.production.min.js"


def _deepest_user_task(path: Path) -> str:
    """The id of the first of the most deeply nested user tasks of the file."""
    tree = etree.parse(str(path))
    tasks = list(tree.iterfind(".//bpmn:userTask", NS))
    assert tasks, f"{path.name} has no user task to move"
    return max(tasks, key=lambda t: len(list(t.iterancestors()))).get("id")


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """Both round trips of every file, each written into a complete copy of bpmn/."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: {SETUP}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"the playwright Python package is missing: {SETUP}")
    script = _modeler_js().read_text(encoding="utf-8")
    dirs = {}
    for kind in ("unedited", "moved"):
        dirs[kind] = tmp_path_factory.mktemp(kind)
        shutil.copytree(REPO_ROOT / "bpmn", dirs[kind], dirs_exist_ok=True)
        (ARTIFACTS / kind).mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_content('<div id="canvas" style="width:1366px;height:900px"></div>')
        page.add_script_tag(content=script)
        for path in FILES:
            for kind, move in (("unedited", None), ("moved", _deepest_user_task(path))):
                result = page.evaluate(ROUND_TRIP_JS, [path.read_text(encoding="utf-8"), move])
                assert "error" not in result, f"{path.name}: {result.get('error')}"
                assert result["warnings"] == [], f"{path.name}: bpmn-js import {result['warnings']}"
                if move:
                    assert result["moved"] == 10, f"{path.name}: {move} did not move"
                (dirs[kind] / path.name).write_text(result["xml"], encoding="utf-8")
                (ARTIFACTS / kind / path.name).write_text(result["xml"], encoding="utf-8")
        browser.close()
    return dirs


@pytest.fixture(scope="module")
def original() -> dict:
    return route_semantics(load_library(REPO_ROOT / "bpmn", REPO_ROOT / "forms"))


@pytest.mark.parametrize("kind", ["unedited", "moved"])
def test_route_keeps_its_meaning_through_the_modeler(saved, original, kind):
    loaded = route_semantics(load_library(saved[kind], REPO_ROOT / "forms"))
    assert differences(original, loaded) == []


@pytest.mark.parametrize("kind", ["unedited", "moved"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_modeler_output_passes_the_layout_check(saved, kind, path):
    assert [str(p) for p in problems(saved[kind] / path.name)] == []


def test_the_moved_element_moved_and_kept_its_lane(saved):
    """The issue's case: a task inside an embedded subprocess, moved on its drill-down."""
    main = "ruta_proteccion_nna.bpmn"
    moved = etree.parse(str(saved["moved"] / main))
    task = _deepest_user_task(REPO_ROOT / "bpmn" / main)
    before = etree.parse(str(REPO_ROOT / "bpmn" / main))

    def x_of(tree) -> float:
        shape = tree.find(f".//bpmndi:BPMNShape[@bpmnElement='{task}']", DI)
        return float(shape.find("dc:Bounds", DI).get("x"))

    assert x_of(moved) == x_of(before) + 10
    lib = load_library(saved["moved"], REPO_ROOT / "forms")
    assert lib.tasks[task].lane == load_library().tasks[task].lane


@pytest.mark.parametrize("kind", ["unedited", "moved"])
def test_the_stages_survive_the_modeler(saved, kind):
    """The route's stages (BPMN groups with a category value) are kept, named and drawn."""
    name = "ruta_proteccion_nna.bpmn"

    def stages(tree) -> dict[str, tuple[str, str]]:
        values = {v.get("id"): v.get("value") for v in tree.iterfind(".//bpmn:categoryValue", DI)}
        out = {}
        for group in tree.iterfind(".//bpmn:group", DI):
            shape = tree.find(f".//bpmndi:BPMNShape[@bpmnElement='{group.get('id')}']", DI)
            bounds = shape.find("dc:Bounds", DI)
            out[group.get("id")] = (values[group.get("categoryValueRef")], bounds.get("width"))
        return out

    shipped = stages(etree.parse(str(REPO_ROOT / "bpmn" / name)))
    assert len(shipped) == 8
    assert stages(etree.parse(str(saved[kind] / name))) == shipped
