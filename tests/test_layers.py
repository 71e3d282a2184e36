"""The layers' contract (docs/architecture.md), checked on the imports: the engine layer never
imports the service; the service never reaches into SpiffWorkflow; the pages never touch the
database (they call the same services as the API)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(folder: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def _offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{file}: {name}"
        for file, names in _imports(folder).items()
        for name in sorted(names)
        if name.split(".")[0] in forbidden or name in forbidden
    ]


def test_the_engine_layer_imports_no_web_and_no_sql():
    assert _offenders("workflows", ("app", "litestar", "piccolo", "asyncpg", "sqlite3")) == []


def test_the_service_never_imports_spiffworkflow():
    assert _offenders("app", ("SpiffWorkflow",)) == []


def test_the_pages_call_services_not_the_database():
    assert _offenders("app/web", ("piccolo", "app.tables", "app.db", "asyncpg")) == []
