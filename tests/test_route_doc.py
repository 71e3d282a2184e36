"""docs/care-route.md is generated from the route; it must match the files that ship."""

from __future__ import annotations

import subprocess
import sys

from workflows.specs import REPO_ROOT


def test_care_route_doc_is_current():
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "route_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_care_route_doc_lists_every_deadline_and_marks_unconfirmed():
    text = (REPO_ROOT / "docs" / "care-route.md").read_text(encoding="utf-8")
    assert "`D13_resolucion_comar` **[U]**" in text
    assert "`D5_decreto_mp` |" in text
