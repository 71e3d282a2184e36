"""The ``careroute`` CLI, run as a user would (a subprocess on its own SQLite file, whatever
database the rest of the suite uses: the CLI's --db handling is what is under test here)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser


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
    assert roles == {
        "officer", "supervisor", "head", "shelter_staff", "oversight", "admin", "proteccion_datos"
    }  # fmt: skip
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


# --db before or after the subcommand, and start-up failures as one line ----------------------

#: Every subcommand with the arguments it needs to get as far as opening the database.
SUBCOMMANDS: dict[str, list[str]] = {
    "serve": ["serve", "--port", "1"],
    "demo": ["demo"],
    "migrate": ["migrate"],
    "tick": ["tick"],
    "worker": ["worker", "--once"],
    "audit verify": ["audit", "verify"],
    "users create": [
        "users", "create", "x.user", "--role", "officer", "--authority", "INM-07",
        "--password", "a-long-enough-password",
    ],
    "users approve": ["users", "approve", "x.user"],
}  # fmt: skip
UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/nothing"


def _careroute(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Start ``careroute ARGS`` without DATABASE_URL or route overrides unless ``env`` sets them;
    with the test run's keys (a server refuses to start without them: test_audit_cli.py)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CAREROUTE_DB"} and not k.startswith("CAREROUTE_")
    } | {"CAREROUTE_KEYS_DIR": os.environ["CAREROUTE_KEYS_DIR"]}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean | (env or {}),
        cwd=cwd,
    )


def _finish(procs: dict[str, subprocess.Popen]) -> dict[str, tuple[int, str, str]]:
    """Wait for processes started together (they run in parallel: this suite is slow enough)."""
    done = {}
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        done[key] = (proc.returncode, out, err)
    return done


def _assert_one_line(result: tuple[int, str, str], pattern: str) -> None:
    code, _out, err = result
    assert code == 1, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert re.fullmatch(pattern, err.rstrip("\n")), err


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
@pytest.mark.parametrize("where", ["before", "after"])
def test_db_option_before_or_after_every_subcommand(name, where):
    argv = SUBCOMMANDS[name]
    given = ["--db", "x.db", *argv] if where == "before" else [*argv, "--db", "x.db"]
    assert build_parser().parse_args(given).db == "x.db"


def test_db_option_after_the_subcommand_wins_over_one_before():
    assert build_parser().parse_args(["--db", "a.db", "migrate", "--db", "b.db"]).db == "b.db"
    assert build_parser().parse_args(["migrate"]).db is None


def test_db_after_the_subcommand_selects_the_file(tmp_path):
    db = tmp_path / "after.db"
    migrated = _finish({"migrate": _careroute("migrate", "--db", str(db))})["migrate"]
    assert migrated[0] == 0, migrated[2]
    assert db.is_file()
    verified = _finish({"verify": _careroute("audit", "verify", "--db", str(db))})["verify"]
    assert verified[0] == 0, verified[2]
    assert (
        verified[1]
        == f"audit chain OK: 0 events, head {'0' * 64}; 0 signed checkpoint(s) matched\n"
    )


def test_audit_verify_of_a_database_never_migrated_is_one_line(tmp_path):
    db = tmp_path / "typo.db"
    done = _finish({"verify": _careroute("audit", "verify", "--db", str(db))})
    _assert_one_line(
        done["verify"],
        rf"careroute audit verify: the SQLite database {re.escape(str(db))} has no careroute "
        r"tables: check --db or DATABASE_URL, or run careroute migrate first",
    )


def test_unreachable_postgres_is_one_line_for_every_subcommand(tmp_path):
    done = _finish(
        {name: _careroute(*argv, env={"DATABASE_URL": UNREACHABLE_PG}, cwd=tmp_path)
         for name, argv in SUBCOMMANDS.items()}
    )  # fmt: skip
    for name, result in done.items():
        _assert_one_line(
            result,
            rf"careroute {name}: cannot connect to PostgreSQL at {re.escape(UNREACHABLE_PG)} "
            r"\(.*Connect call failed.*\): start the server or fix DATABASE_URL "
            r"\(host, port, database, user\)",
        )


def test_postgres_password_is_not_printed(tmp_path):
    url = "postgresql://postgres:s3cret@127.0.0.1:1/nothing"
    done = _finish({"migrate": _careroute("migrate", env={"DATABASE_URL": url}, cwd=tmp_path)})
    _assert_one_line(done["migrate"], r"careroute migrate: .*postgres:\*\*\*@127\.0\.0\.1:1.*")
    assert "s3cret" not in done["migrate"][2]


def test_sqlite_file_that_cannot_be_created_is_one_line_for_every_subcommand(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    bad = tmp_path / "a-file" / "sub" / "x.db"
    done = _finish(
        {name: _careroute(*argv, "--db", str(bad), cwd=tmp_path)
         for name, argv in SUBCOMMANDS.items()}
    )  # fmt: skip
    for name, result in done.items():
        _assert_one_line(
            result,
            rf"careroute {name}: cannot open the SQLite database {re.escape(str(bad))} "
            r"\(.*Not a directory.*\): choose another file with --db \(a careroute database, "
            r"or a new file in a folder you can write\), or set DATABASE_URL",
        )


#: A missing route folder: the variable that points at it, and the message that names it.
ROUTE_FOLDERS = {
    "CAREROUTE_BPMN_DIR": r"the BPMN folder /nonexistent does not exist: set CAREROUTE_BPMN_DIR "
    r"to the folder of the route's \.bpmn files, or unset it to use the route installed with "
    r"careroute",
    "CAREROUTE_FORMS_DIR": r"the forms folder /nonexistent does not exist: set "
    r"CAREROUTE_FORMS_DIR to the folder of the route's \.schema\.json files, or unset it to use "
    r"the forms installed with careroute",
    "CAREROUTE_PLAZOS": r"/nonexistent: file not found: set CAREROUTE_PLAZOS to the deadline "
    r"catalogue \(config/plazos\.toml\), or unset it to use the one installed with careroute",
}


def test_missing_route_folder_is_one_line_for_every_command_that_runs_the_route(tmp_path):
    """serve, demo, tick and worker refuse to start without the route; the others never read it."""
    runs = {
        (var, name): _careroute(*SUBCOMMANDS[name], "--db", str(tmp_path / f"{name}.db"),
                                env={var: "/nonexistent"}, cwd=tmp_path)
        for var in ROUTE_FOLDERS
        for name in ("demo", "serve", "tick", "worker")
    }  # fmt: skip
    for (var, name), result in _finish(runs).items():
        _assert_one_line(result, rf"careroute {name}: cannot load the route: {ROUTE_FOLDERS[var]}")


def test_route_versions_and_migrate_bad_input(tmp_path):
    """``route versions`` lists the current version (stored on first use) with its open cases;
    every bad input to ``route migrate`` is one line naming it, exit 1, nothing changed."""
    db = tmp_path / "route.db"
    listed = _run(db, "route", "versions", "--json")
    assert listed.returncode == 0, listed.stderr
    (only,) = json.loads(listed.stdout)
    assert (only["number"], only["current"], only["open_cases"]) == (1, True, 0)
    (tmp_path / "bad.toml").write_text("[elements\n")
    (tmp_path / "far.toml").write_text('[elements]\nregistrar_deteccion = "no_such_task"\n')
    cases = {
        ("--to", "9", "--dry-run"): "'9' is not a stored route version",
        ("--dry-run",): "give either --to VERSION or --revert RUN",
        ("--to", "1", "--mapping", str(tmp_path / "none.toml")): "cannot read it",
        ("--to", "1", "--mapping", str(tmp_path / "bad.toml")): "bad.toml: not a TOML file",
        ("--to", "1", "--mapping", str(tmp_path / "far.toml")): "'no_such_task', which the target",
        ("--revert", "mig-x"): "no open case's last migration is run 'mig-x'",
        ("--to", "1", "--case", "CHIS-0"): "--case CHIS-0: no open case has this folio",
        ("--revert", "mig-x", "--mapping", "m.toml"): "takes no --mapping",
    }
    for args, message in cases.items():
        out = _run(db, "route", "migrate", *args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("careroute route migrate: ") and message in out.stderr, (
            args,
            out.stderr,
        )
    dry = _run(db, "route", "migrate", "--to", "1", "--dry-run")
    assert dry.returncode == 0 and "would move 0 of 0 open cases to version 1" in dry.stdout
