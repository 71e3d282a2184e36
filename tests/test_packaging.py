"""``pip install .`` (not editable) gives a working ``careroute``: the wheel carries the route
(bpmn/, forms/, config/), the migrations and the pages' files, and the code finds them there.

The wheel is built from a copy of the working tree and installed with ``--no-deps`` into a fresh
venv that sees the project venv's dependencies through a ``.pth`` line. A path line in a ``.pth``
adds a folder to sys.path without running the ``.pth`` files inside it, so the project's own
editable install (``__editable__*.pth``) stays invisible: ``test_the_fresh_venv_imports_the_wheel``
proves it, or the other tests would prove nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from workflows.route_files import REPO_ROOT

#: Never part of a build: local environments, caches, databases, earlier build output.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ruff_cache", "test-artifacts", "*.db", "*.db-wal", "*.db-shm",
)  # fmt: skip
#: Checkout folder -> where the wheel must carry its files (pyproject.toml, [tool.setuptools]).
DATA_FOLDERS = {
    "bpmn": "workflows/route/bpmn",
    "forms": "workflows/route/forms",
    "config": "workflows/route/config",
    "app/web/templates": "app/web/templates",
    "app/web/static": "app/web/static",
    "app/web/i18n": "app/web/i18n",
}


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path
    work: Path  # cwd for every command: never the checkout, whose packages would shadow the wheel

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        clean = {
            k: v
            for k, v in os.environ.items()
            if k not in {"PYTHONPATH", "DATABASE_URL"} and not k.startswith("CAREROUTE_")
        }
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            env=clean | (env or {}),
            cwd=self.work,
            timeout=120,
            check=False,
        )


def _check(*cmd: str | Path) -> str:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCE)  # a build writes build/ beside it
    _check(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root / "dist", source)
    (wheel,) = (root / "dist").glob("careroute-*.whl")

    venv = root / "venv"
    _check(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(_check(python, "-c", where).strip())
    (purelib / "project_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _check(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
           "--no-index", wheel)  # fmt: skip
    (root / "work").mkdir()
    return Installed(wheel, venv, purelib, root / "work")


def test_the_wheel_carries_every_module_and_route_file(installed):
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
    expected = {
        p.relative_to(REPO_ROOT).as_posix()
        for package in ("app", "workflows")
        for p in (REPO_ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    for folder, inside in DATA_FOLDERS.items():
        files = [p for p in (REPO_ROOT / folder).iterdir() if p.is_file() and p.suffix != ".py"]
        assert files, folder
        expected |= {f"{inside}/{p.name}" for p in files}
    assert "app/piccolo_migrations/careroute_0001_initial.py" in expected
    assert sorted(expected - names) == []


def test_the_fresh_venv_imports_the_wheel_not_the_checkout(installed):
    out = installed.run(
        "python", "-c", "import app, workflows; print(app.__file__, workflows.__file__)"
    )
    assert out.returncode == 0, out.stderr
    app_file, workflows_file = map(Path, out.stdout.split())
    assert app_file == installed.site_packages / "app" / "__init__.py"
    assert workflows_file == installed.site_packages / "workflows" / "__init__.py"


def test_installed_careroute_runs_the_demo_and_verifies_its_audit_trail(installed):
    db = installed.work / "demo.db"
    demo = installed.run("careroute", "demo", "--db", str(db), "--json")
    assert demo.returncode == 0, demo.stderr
    result = json.loads(demo.stdout)
    assert {u["role"] for u in result["users"]} == {
        "officer", "supervisor", "head", "shelter_staff", "oversight", "admin", "proteccion_datos",
    }  # fmt: skip
    assert len(result["cases"]) >= 6

    verify = installed.run("careroute", "--db", str(db), "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("audit chain OK: ")
    assert int(verify.stdout.split()[3]) > 0  # "audit chain OK: N events, head ..."


def test_installed_pages_find_templates_static_files_translations_and_diagrams(installed):
    """What ``careroute serve`` serves, from the installed package (the demo database as above)."""
    db = installed.work / "pages.db"
    assert installed.run("careroute", "migrate", "--db", str(db)).returncode == 0
    # a server refuses to start without its keys (app/keys.py): made as an operator would
    assert installed.run("careroute", "keys", "init", "--db", str(db)).returncode == 0
    script = """
import json
from litestar.testing import TestClient
from app.main import create_app
from app.route_engine import bpmn_dir
from app.web import route_svg

with TestClient(create_app()) as client:
    login = client.get("/login")
    css = client.get("/static/app.css")
diagram = route_svg.diagram("ruta_proteccion_nna")
print(json.dumps({
    "login": [login.status_code, login.text],
    "css": [css.status_code, css.text],
    "bpmn_dir": str(bpmn_dir()),
    "shapes": len(diagram.shapes) if diagram else 0,
}))
"""
    out = installed.run("python", "-c", script, env={"CAREROUTE_DB": str(db)})
    assert out.returncode == 0, out.stderr
    pages = json.loads(out.stdout.splitlines()[-1])
    assert pages["login"][0] == 200
    assert "Iniciar sesión" in pages["login"][1]  # es.json's login_title, in login.html
    css = (REPO_ROOT / "app" / "web" / "static" / "app.css").read_text(encoding="utf-8")
    assert pages["css"] == [200, css]
    assert Path(pages["bpmn_dir"]) == installed.site_packages / "workflows" / "route" / "bpmn"
    assert pages["shapes"] > 10
