"""A second version of the real route for the migration tests: the shipped files with element
ids renamed (the form of a renamed user task follows its id), as an analyst's edit would."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from workflows.route_files import shipped
from workflows.versions import RouteSnapshot

#: The element the tests rename: INM's channelling record, a user task with a deadline.
OLD = "emitir_acta_canalizacion"
NEW = "emitir_acta_canalizacion_v2"


def route_variant(root: Path, renames: dict[str, str] | None = None) -> RouteSnapshot:
    """Copy bpmn/, forms/ and config/plazos.toml under ``root`` with ``renames`` applied to
    whole element ids; returns the new version's files."""
    renames = {OLD: NEW} if renames is None else renames
    bpmn, forms, config = root / "bpmn", root / "forms", root / "config"
    shutil.copytree(shipped("bpmn"), bpmn)
    shutil.copytree(shipped("forms"), forms)
    config.mkdir()
    shutil.copy(shipped("config") / "plazos.toml", config / "plazos.toml")
    for old, new in renames.items():
        pattern = re.compile(rf"(?<![\w]){re.escape(old)}(?![\w])")
        for path in bpmn.glob("*.bpmn"):
            text = path.read_text(encoding="utf-8")
            if pattern.search(text):
                path.write_text(pattern.sub(new, text), encoding="utf-8")
        form = forms / f"{old}.schema.json"
        if form.exists():
            form.rename(forms / f"{new}.schema.json")
    return RouteSnapshot.from_dirs(bpmn, forms, config / "plazos.toml")
