"""The ``careroute`` CLI, run as a user would (a subprocess on its own SQLite file, whatever
database the rest of the suite uses: the CLI's --db handling is what is under test here)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def _run(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_demo_verify_tamper_and_users_create(tmp_path):
    db = tmp_path / "demo.db"
    out = _run(db, "demo", "--json")
    assert out.returncode == 0, out.stderr
    demo = json.loads(out.stdout)
    roles = {u["role"] for u in demo["users"]}
    assert roles == {"officer", "supervisor", "head", "shelter_staff", "oversight", "admin"}
    assert all(len(u["password"]) >= 12 for u in demo["users"])
    assert len({u["password"] for u in demo["users"]}) == len(demo["users"])  # random each
    assert len(demo["cases"]) >= 6
    assert {c["folio"][:4] for c in demo["cases"]} == {"CHIS"}

    table = _run(tmp_path / "other.db", "demo", "--password", "the-same-password")
    assert table.returncode == 0 and "USERNAME" in table.stdout and "FOLIO" in table.stdout
    assert _run(db, "demo").returncode == 1  # refuses to seed twice

    ok = _run(db, "audit", "verify")
    assert ok.returncode == 0 and "audit chain OK" in ok.stdout

    created = _run(
        db,
        "users",
        "create",
        "nueva.supervisora",
        "--role",
        "supervisor",
        "--authority",
        "PROCURADURIA-27",
        env={"CAREROUTE_PASSWORD": "a-long-enough-password"},
    )
    assert created.returncode == 0, created.stderr
    bad = _run(
        db,
        "users",
        "create",
        "x1",
        "--role",
        "king",
        "--authority",
        "INM-07",
        "--password",
        "a-long-enough-password",
    )
    assert bad.returncode == 1 and "$.role" in bad.stderr

    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_event_no_update")
        victim = conn.execute(
            "SELECT id FROM audit_event ORDER BY id LIMIT 1 OFFSET 20"
        ).fetchone()[0]
        conn.execute("UPDATE audit_event SET changes = '{}' WHERE id = ?", (victim,))
    broken = _run(db, "audit", "verify")
    assert broken.returncode != 0
    assert f"event {victim}" in broken.stderr


def test_migrate_is_idempotent(tmp_path):
    db = tmp_path / "m.db"
    assert _run(db, "migrate").returncode == 0
    assert _run(db, "migrate").returncode == 0
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert {"nna_case", "task", "audit_event", "case_identity", "workflow_state"} <= tables
    assert mode == "wal"
