"""``careroute retencion``: legal holds from the command line (a subprocess on its own SQLite
file, as an operator would run it); the service's behaviour is in test_retention.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(db), "retencion", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_holds_from_the_command_line_name_the_bad_field(tmp_path):
    db = tmp_path / "ret.db"
    bad = _run(db, "retener", "X-1", "--motivo", "capricho", "--referencia", "R", "--por", "dpo")
    assert bad.returncode == 1 and "$.motivo" in bad.stderr
    missing = _run(db, "retener", "X-1", "--motivo", "queja", "--referencia", "Q-7", "--por", "dpo")
    assert missing.returncode == 1 and "not found" in missing.stderr
    lift = _run(db, "liberar", "42", "--por", "dpo")
    assert lift.returncode == 1 and "no active legal hold" in lift.stderr
