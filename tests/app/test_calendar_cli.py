"""``careroute calendario``: load an authority's declared non-working days from the command line
(a subprocess on its own SQLite file, as an operator would run it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def _run(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(db), "calendario", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_declare_list_show_and_withdraw_from_the_command_line(tmp_path):
    db = tmp_path / "cal.db"
    year = datetime.now(UTC).year
    before = _run(db, "avisos", "--json")
    assert before.returncode == 0, before.stderr
    assert [(w["autoridad"], w["anio"]) for w in json.loads(before.stdout)] == [("COMAR", year)]

    bad = _run(db, "declarar", "--autoridad", "SEGOB", "--dia", f"{year}-12-24", "--fuente", "x")
    assert bad.returncode == 1 and "$.autoridad" in bad.stderr
    no_day = _run(db, "declarar", "--autoridad", "COMAR", "--fuente", "x")
    assert no_day.returncode == 1 and "$.dias" in no_day.stderr

    ok = _run(
        db,
        "declarar",
        "--autoridad",
        "COMAR",
        "--dia",
        f"{year}-12-24",
        "--periodo",
        f"{year}-12-28:{year}-12-30",
        "--fuente",
        "Acuerdo de prueba, DOF",
        "--motivo",
        "segundo periodo vacacional",
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"declaración 1: 4 días inhábiles de COMAR ({year})")
    listed = json.loads(_run(db, "listar", "--json").stdout)
    assert [(d["id"], d["autoridad"], d["withdrawn_at"]) for d in listed] == [(1, "COMAR", None)]
    assert listed[0]["dias"] == [f"{year}-12-{d}" for d in (24, 28, 29, 30)]
    days = _run(db, "dias", "--autoridad", "COMAR", "--anio", str(year))
    assert days.returncode == 0, days.stderr
    assert f"{year}-12-29" in days.stdout.split() and "lfpa_28" in days.stdout
    assert json.loads(_run(db, "avisos", "--json").stdout) == []

    out = _run(db, "retirar", "1", "--motivo", "capturada por error")
    assert out.returncode == 0, out.stderr
    assert _run(db, "retirar", "1").returncode == 1  # already withdrawn
    assert [w["anio"] for w in json.loads(_run(db, "avisos", "--json").stdout)] == [year]
