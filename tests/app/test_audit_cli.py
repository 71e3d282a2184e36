"""Keys and signed checkpoints through the ``careroute`` CLI, as an operator and an oversight body
would use them (subprocesses on their own SQLite files, issue 15 items 5 and 6): servers refuse to
start without keys, the demo makes its own in the data folder, and ``careroute audit verify
--checkpoint FILE`` catches on a copy of the database what ``careroute audit verify`` alone
passed: an event rewritten with the later hashes recomputed, and a deleted tail."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TAMPER = """
import asyncio, os, sys
import app
from app import db
from app.tables import AuditEvent
from tests.app import tamper

async def main(kind):
    await db.startup()
    ids = [r["id"] for r in await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id)]
    async with tamper.tampering(commit=True):
        if kind == "rewrite":
            await tamper.rewrite(ids[20])
        else:
            await tamper.truncate(ids[-5])
        await tamper.forget_checkpoints()
    await db.shutdown()

asyncio.run(main(sys.argv[1]))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CAREROUTE_KEYS_DIR")}
    return env | {"PYTHONPATH": str(ROOT)} | extra


def _run(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        cwd=db.parent,
        timeout=180,
        check=False,
    )


def _copy(src: Path, dst: Path) -> Path:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def test_servers_refuse_to_start_without_keys(tmp_path):
    empty = tmp_path / "no-keys"
    empty.mkdir()
    db = tmp_path / "data" / "careroute.db"
    db.parent.mkdir()
    for args in (("serve", "--port", "1"), ("worker", "--once")):
        out = _run(db, *args, CAREROUTE_KEYS_DIR=str(empty))
        assert out.returncode == 1, out
        (line,) = out.stderr.strip().splitlines()
        assert "careroute keys init" in line and str(empty) in line, line
    assert not db.exists(), "nothing is migrated before the keys are checked"
    # the operator makes them, private to the owner, never replaced
    made = _run(db, "keys", "init", "--dir", str(empty))
    assert made.returncode == 0 and made.stdout.count("created") == 4, (
        made.stdout
    )  # hmac, signing pair, data master
    for name in ("audit-hmac.key", "checkpoint-signing.key"):
        assert stat.S_IMODE((empty / name).stat().st_mode) == 0o600
    before = {p.name: p.read_text() for p in empty.iterdir()}
    again = _run(db, "keys", "init", "--dir", str(empty))
    assert again.returncode == 0 and "none replaced" in again.stdout
    assert {p.name: p.read_text() for p in empty.iterdir()} == before
    public = _run(db, "keys", "public", CAREROUTE_KEYS_DIR=str(empty))
    assert public.stdout.strip() == before["checkpoint-signing.pub"].strip()
    # a key given in the environment wins over the folder, and a bad one is named
    out = _run(db, "keys", "public", CAREROUTE_KEYS_DIR=str(empty), CAREROUTE_SIGNING_KEY="x")
    assert out.returncode == 1 and "CAREROUTE_SIGNING_KEY" in out.stderr


def test_an_exported_checkpoint_catches_a_rewrite_and_a_truncation(tmp_path):
    db = tmp_path / "demo.db"
    assert _run(db, "demo", "--json").returncode == 0
    # the demo made its keys in the data folder (never the repository), private to the owner
    folder = tmp_path / "careroute-keys"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "checkpoint-signing.key").stat().st_mode) == 0o600
    assert not (ROOT / "careroute-keys").exists()
    worker = _run(db, "worker", "--once")
    assert worker.returncode == 0, worker.stderr
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT COUNT(*) FROM audit_checkpoint").fetchone()
    assert stored == 1, "the worker signs the chain head"
    exported = tmp_path / "checkpoints.json"
    out = _run(db, "audit", "checkpoint", "export", str(exported))
    assert out.returncode == 0, out.stderr
    ok = _run(db, "audit", "verify", "--checkpoint", str(exported))
    assert ok.returncode == 0 and "audit chain OK" in ok.stdout, ok.stderr
    # oversight holds the public key only
    pub = tmp_path / "careroute.pub"
    pub.write_text(_run(db, "keys", "public").stdout)
    elsewhere = tmp_path / "oversight-has-no-private-key"
    elsewhere.mkdir()
    ok = _run(
        db,
        "audit",
        "verify",
        "--checkpoint",
        str(exported),
        "--public-key",
        str(pub),
        CAREROUTE_KEYS_DIR=str(elsewhere),
    )
    assert ok.returncode == 0, ok.stderr

    for kind, found in (("rewrite", "rewritten"), ("truncate", "deleted from its end")):
        copy = _copy(db, tmp_path / f"{kind}.db")
        done = subprocess.run(
            [sys.executable, "-c", TAMPER, kind],
            env=_env(CAREROUTE_DB=str(copy)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        plain = _run(copy, "audit", "verify")
        assert plain.returncode == 0, f"the attack must fool the chain alone: {plain.stderr}"
        caught = _run(copy, "audit", "verify", "--checkpoint", str(exported))
        assert caught.returncode == 2, caught
        assert "BROKEN" in caught.stderr and found in caught.stderr, caught.stderr
