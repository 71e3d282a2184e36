"""docs/route/ shows the route exactly as bpmn/ draws it: regenerated from the files, never edited."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from tools.route_diagrams import OUT_DIR, main, render_all

ROOT = Path(__file__).resolve().parents[1]


def test_docs_route_is_current():
    assert main(["--check"]) == 0, "run: python tools/route_diagrams.py"


def test_every_plane_of_every_file_has_a_picture():
    rendered = render_all()
    planes = sum(
        len(etree.parse(str(p)).findall("{*}BPMNDiagram")) for p in (ROOT / "bpmn").glob("*.bpmn")
    )
    assert len([n for n in rendered if n.endswith(".svg")]) == planes
    assert "ruta_proteccion_nna.proteccion.svg" in rendered
    svg = etree.fromstring(rendered["ruta_proteccion_nna.proteccion.svg"].encode())
    text = " ".join(" ".join(svg.itertext()).split())
    assert "Iniciar la investigación" in text
    assert "FISCALIA" in text, "the subprocess's own lanes are drawn"


def test_a_changed_file_makes_the_docs_stale(tmp_path, monkeypatch):
    import tools.route_diagrams as rd

    bpmn = tmp_path / "bpmn"
    bpmn.mkdir()
    for p in (ROOT / "bpmn").glob("*.bpmn"):
        text = p.read_text(encoding="utf-8")
        (bpmn / p.name).write_text(
            text.replace("Iniciar la investigación", "Iniciar la carpeta"), encoding="utf-8"
        )
    monkeypatch.setattr(rd, "BPMN_DIR", bpmn)
    assert rd.main(["--check"]) == 1
    assert OUT_DIR.is_dir()
