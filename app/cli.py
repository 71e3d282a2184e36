"""``careroute`` command line: serve, demo, migrate, audit verify, audit checkpoint export, keys,
users create / approve / reject, tick, worker, retencion (legal holds), calendario (declared
non-working days per authority), route versions / route migrate (route versions and moving open
cases).

``--db PATH`` (before or after any subcommand) selects the SQLite file;
``DATABASE_URL=postgresql://...`` selects PostgreSQL and wins over ``--db``.

A database that cannot be opened, or a route that cannot be loaded, prints one line naming what
is wrong and what to do, and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

#: Exit status when the database or the route is unusable (2 stays "audit chain broken").
EXIT_UNUSABLE = 1


def _use_db(path: str | None) -> None:
    # Must run before app.piccolo_conf is imported: the engine is built once, from the env.
    if path and not os.environ.get("DATABASE_URL"):
        os.environ["CAREROUTE_DB"] = path


async def _with_db(body: Callable[[], Awaitable[Any]], migrate: bool = True) -> Any:
    from app import db

    await db.startup(pool_size=2)
    try:
        if migrate:
            await db.migrate()
        else:
            await db.require_schema()
        return await body()
    finally:
        await db.shutdown()


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    line = "  ".join(c.upper().ljust(widths[c]) for c in columns)
    out = [line, "  ".join("-" * widths[c] for c in columns)]
    out += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(out)


def cmd_migrate(args: argparse.Namespace) -> int:
    asyncio.run(_with_db(lambda: asyncio.sleep(0)))
    print("migrations applied")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app import db, keys
    from app.main import create_app

    keys.require()  # before anything: a server never runs with digests nobody could check
    asyncio.run(_with_db(lambda: asyncio.sleep(0)))
    print(f"careroute on http://{args.host}:{args.port} (database: {db.database_url()})")
    uvicorn.run(
        create_app(tick_seconds=_worker_interval() if args.tick is None else args.tick),
        host=args.host,
        port=args.port,
        log_level="info",
        proxy_headers=False,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app import demo, keys

    keys.init()  # the demo's keys, in the data folder (or $CAREROUTE_KEYS_DIR)

    try:
        result = asyncio.run(_with_db(lambda: demo.run(args.password)))
    except RuntimeError as exc:
        print(f"careroute demo: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"users": result.credentials, "cases": result.cases}, indent=2))
        return 0
    print("Demo users (passwords are random for this database; keep them private):\n")
    print(_table(result.credentials, ["username", "password", "role", "authority"]))
    print("\nDemo cases:\n")
    print(_table(result.cases, ["folio", "stage"]))
    print("\nStart the API with: careroute serve" + (f" --db {args.db}" if args.db else ""))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """The chain, and the checkpoints: those of ``--checkpoint FILE`` (exported earlier: they
    detect a rewritten history and a deleted tail), else those stored whose signature verifies
    (when the signing key is here)."""
    from app import audit, keys
    from app.services import checkpoints

    public = None
    if args.public_key:
        try:
            public = keys.load_public_key(Path(args.public_key).read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError, keys.KeysUnavailable) as exc:
            print(
                f"{args.prog}: cannot use the public key {args.public_key}: {exc}", file=sys.stderr
            )
            return EXIT_UNUSABLE
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    note = ""
    if checkpoint is None and public is None:
        try:
            keys.signing_key()
        except keys.KeysUnavailable:
            note = " (stored checkpoints not checked: no signing key here)"

    async def body() -> Any:
        if note:
            return await audit.verify(), 0
        return await checkpoints.verify(checkpoint, public)

    try:
        result, _ = asyncio.run(_with_db(body, migrate=False))
    except checkpoints.CheckpointFileError as exc:
        print(f"audit checkpoints UNUSABLE: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(
            f"audit chain OK: {result.checked} events, head {result.head_hash}; "
            f"{result.checkpoints} signed checkpoint(s) matched"
            + (f" from {checkpoint}" if checkpoint else "")
            + note
        )
        return 0
    where = f"at event {result.first_bad_id}" if result.first_bad_id is not None else ""
    print(
        f"audit chain BROKEN {where}: {result.reason} "
        f"({result.checked} events verified before it)".replace("  ", " "),
        file=sys.stderr,
    )
    return 2


def cmd_audit_checkpoint_export(args: argparse.Namespace) -> int:
    from app import keys
    from app.services import checkpoints

    keys.require()
    doc = asyncio.run(_with_db(lambda: checkpoints.export(Path(args.file)), migrate=False))
    items = doc["checkpoints"]
    last = items[-1] if items else None
    print(
        f"{len(items)} signed checkpoint(s) written to {args.file} (key {doc['key_id']})"
        + (
            f"; the latest covers {last['event_count']} events, head {last['head_hash']}"
            if last
            else ""
        )
    )
    print("Keep it outside the database; check it with: careroute audit verify --checkpoint FILE")
    return 0


def cmd_keys_init(args: argparse.Namespace) -> int:
    from app import keys

    folder = Path(args.dir) if args.dir else keys.keys_dir()
    made = keys.init(folder)
    for path in made:
        print(f"created {path}")
    if not made:
        print(f"every key is already in {folder} (none replaced)")
    public = (folder / keys.PUBLIC_FILE).read_text(encoding="ascii").strip()
    print(f"checkpoint public key (give it to oversight): {public}")
    if args.dir and os.environ.get(keys.DIR_ENV) != args.dir:
        print(f"set {keys.DIR_ENV}={folder} for the server, the worker and the CLI")
    return 0


def cmd_keys_public(args: argparse.Namespace) -> int:
    from app import keys

    print(keys.public_key_text())
    return 0


def cmd_db_roles(args: argparse.Namespace) -> int:
    """Owner and runtime roles on PostgreSQL (app/db_roles.py); run as a database admin."""
    from app import db_roles

    db_roles.require_postgres()  # before a SQLite file is made
    result = asyncio.run(
        _with_db(
            lambda: db_roles.create_roles(
                args.owner,
                args.runtime,
                os.environ.get("CAREROUTE_OWNER_PASSWORD") or None,
                os.environ.get("CAREROUTE_RUNTIME_PASSWORD") or None,
            )
        )
    )
    for role, kind in ((result.owner, "owner"), (result.runtime, "runtime")):
        state = "created" if role in result.created else "updated"
        print(f"{kind} role {role}: {state}")
    print(
        f"database {result.database}: the owner owns every table and migrates; the runtime role "
        f"may only SELECT and INSERT on {', '.join(db_roles.APPEND_ONLY)}"
    )
    print(f"server and worker:  DATABASE_URL={result.runtime_url}")
    print(f"migrations:         CAREROUTE_MIGRATION_URL={result.owner_url}")
    if result.passwords:
        print("passwords are shown once: keep them in the deployment's secret store")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from app.errors import ServiceError
    from app.principal import SYSTEM
    from app.services import users

    password = args.password or os.environ.get("CAREROUTE_PASSWORD") or getpass.getpass()

    async def body() -> Any:
        return await users.create_user(
            SYSTEM,
            None,
            username=args.username,
            display_name=args.display_name or args.username,
            role=args.role,
            authority_code=args.authority,
            password=password,
        )

    try:
        created = asyncio.run(_with_db(body))
    except ServiceError as exc:
        errors = getattr(exc, "errors", None) or [{"path": "", "message": exc.detail}]
        for e in errors:
            print(f"careroute users create: {e['path']} {e['message']}".strip(), file=sys.stderr)
        return 1
    print(f"created user {created['username']} ({created['role']}, {created['authority']})")
    return 0


def cmd_users_decide(args: argparse.Namespace) -> int:
    """Approve or reject an account an admin asked for through the API (on the server)."""
    from app.errors import ServiceError
    from app.services import users

    approve = args.users_command == "approve"
    try:
        done = asyncio.run(_with_db(lambda: users.decide(None, args.username, approve)))
    except ServiceError as exc:
        return _service_errors(args.prog, exc)
    print(f"user {done['username']}: {done['approval']}")
    return 0


def _service_errors(prog: str, exc: Any) -> int:
    errors = getattr(exc, "errors", None) or [{"path": "", "message": exc.detail}]
    for e in errors:
        print(f"{prog}: {e['path']} {e['message']}".strip(), file=sys.stderr)
    return 1


def _fecha(texto: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(texto)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {texto!r}") from None


def _periodo(texto: str) -> tuple[Any, Any]:
    desde, sep, hasta = texto.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(
            f"expected DESDE:HASTA (YYYY-MM-DD:YYYY-MM-DD), got {texto!r}"
        )
    return _fecha(desde), _fecha(hasta)


def _declaration_line(d: dict[str, Any]) -> dict[str, Any]:
    dias = d["dias"]
    return {
        "id": d["id"],
        "autoridad": d["autoridad"],
        "anios": ",".join(map(str, d["anios"])),
        "dias": f"{len(dias)} ({dias[0].isoformat()}..{dias[-1].isoformat()})",
        "estado": "retirada" if d["withdrawn_at"] else "vigente",
        "recalculo": f"{d['recompute']['status']} {d['recompute']['cases_done']}"
        f"/{d['recompute']['cases_total']}",
        "fuente": d["fuente"][:60],
    }


def cmd_calendario_declarar(args: argparse.Namespace) -> int:
    from app.errors import ServiceError
    from app.principal import SYSTEM
    from app.services import calendars

    async def body() -> Any:
        return await calendars.declare_days(
            SYSTEM,
            autoridad=args.autoridad,
            dias=args.dia or [],
            periodos=args.periodo or [],
            fuente=args.fuente,
            motivo=args.motivo or "",
        )

    try:
        d = asyncio.run(_with_db(body))
    except ServiceError as exc:
        return _service_errors(args.prog, exc)
    print(
        f"declaración {d['id']}: {len(d['dias'])} días inhábiles de {d['autoridad']} "
        f"({', '.join(map(str, d['anios']))}); recálculo de {d['recompute']['cases_total']} "
        "casos abiertos en cola (lo hace el worker)"
    )
    return 0


def cmd_calendario_retirar(args: argparse.Namespace) -> int:
    from app.errors import ServiceError
    from app.principal import SYSTEM
    from app.services import calendars

    try:
        d = asyncio.run(
            _with_db(lambda: calendars.withdraw(SYSTEM, args.id, motivo=args.motivo or ""))
        )
    except ServiceError as exc:
        return _service_errors(args.prog, exc)
    print(
        f"declaración {d['id']} retirada; recálculo de {d['recompute']['cases_total']} casos "
        "abiertos en cola"
    )
    return 0


def cmd_calendario_listar(args: argparse.Namespace) -> int:
    from app.principal import SYSTEM
    from app.services import calendars

    rows = asyncio.run(_with_db(lambda: calendars.list_declarations(SYSTEM, args.autoridad)))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    columns = ["id", "autoridad", "anios", "dias", "estado", "recalculo", "fuente"]
    print(_table([_declaration_line(r) for r in rows], columns))
    return 0


def cmd_calendario_dias(args: argparse.Namespace) -> int:
    from app.route_engine import calendario
    from app.services import calendars

    async def body() -> Any:
        await calendars.load_declared_days()
        return calendario()

    cal = asyncio.run(_with_db(body))
    print(f"{args.autoridad}, {args.anio}: régimen {cal.regimen_de(args.autoridad)}")
    for d in cal.dias_inhabiles(args.anio, autoridad=args.autoridad):
        print(d.isoformat())
    return 0


def cmd_calendario_avisos(args: argparse.Namespace) -> int:
    from app.services import calendars

    found = asyncio.run(_with_db(calendars.warnings))
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    elif not found:
        print("sin avisos: cada año en uso tiene sus días inhábiles declarados")
    for w in [] if args.json else found:
        print(f"AVISO {w['autoridad']} {w['anio']}: {w['mensaje']}")
    return 0


def _cli_actor(por: str) -> Any:
    """Who ordered a command run on the server (the audit trail's actor)."""
    from app.principal import Actor

    return Actor(None, f"cli:{por.strip()[:90]}", "proteccion_datos", None, None)


def cmd_retencion_retener(args: argparse.Namespace) -> int:
    from app.errors import ServiceError
    from app.services import retention

    async def body() -> Any:
        return await retention.set_hold(
            _cli_actor(args.por), args.folio, args.motivo, args.referencia
        )

    try:
        hold = asyncio.run(_with_db(body))
    except ServiceError as exc:
        return _service_errors(args.prog, exc)
    print(f"retención legal {hold['id']} sobre {hold['folio']} ({hold['motivo']}): plazo detenido")
    return 0


def cmd_retencion_liberar(args: argparse.Namespace) -> int:
    from app.errors import ServiceError
    from app.services import retention

    async def body() -> Any:
        return await retention.lift_hold(_cli_actor(args.por), args.id)

    try:
        out = asyncio.run(_with_db(body))
    except ServiceError as exc:
        return _service_errors(args.prog, exc)
    print(
        f"retención legal {out['id']} de {out['folio']} levantada; el plazo se recorre "
        f"{out['held_seconds'] // 86400} días"
    )
    return 0


def cmd_retencion_cifrar(args: argparse.Namespace) -> int:
    """Encrypt every value still in clear (rows written before the data keys), batch by batch."""
    from app.services import encryption

    def report(p: Any) -> None:
        print(
            f"lote {p.batches}: {p.cases_seen} expedientes revisados, {p.cases_sealed} con datos"
            f" en claro, {p.total} valores cifrados",
            flush=True,
        )

    async def body() -> Any:
        return await encryption.encrypt_all(_cli_actor(args.por), args.lote, report)

    if args.lote < 1:
        print(f"{args.prog}: --lote must be at least 1", file=sys.stderr)
        return 2
    try:
        progress = asyncio.run(_with_db(body))
    except Exception as exc:  # noqa: BLE001 (the committed batches stay; a rerun resumes)
        print(
            f"{args.prog}: stopped: {type(exc).__name__}: {exc}. The batches already committed"
            " stay encrypted; run it again to continue.",
            file=sys.stderr,
        )
        return 1
    print(
        f"cifrado terminado: {progress.cases_seen} expedientes revisados,"
        f" {progress.cases_sealed} cifrados, {progress.total} valores"
    )
    for name, n in sorted(progress.values.items()):
        print(f"  {name}: {n}")
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    from app.services import timers

    fired = asyncio.run(_with_db(timers.fire_due))
    print(f"fired timers of {fired} cases")
    return 0


def cmd_route_versions(args: argparse.Namespace) -> int:
    from app.services import route_versions

    async def body() -> list[dict[str, Any]]:
        await route_versions.register_current()
        return await route_versions.versions()

    rows = asyncio.run(_with_db(body))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        r["number"] = r["number"] if r["number"] is not None else "-"
        r["current"] = "yes" if r["current"] else ""
        r["registered_at"] = f"{r['registered_at']:%Y-%m-%d %H:%M}" if r["registered_at"] else "-"
    print(
        _table(
            rows, ["number", "version", "registered_at", "current", "open_cases", "closed_cases"]
        )
    )
    return 0


#: ``route migrate`` applied, but some cases stayed where they were (blocked or in conflict).
EXIT_NOT_ALL_MIGRATED = 3


def cmd_route_migrate(args: argparse.Namespace) -> int:
    from app.errors import ServiceError
    from app.services import route_versions

    if bool(args.to) == bool(args.revert):
        return _fail(args, "give either --to VERSION or --revert RUN")
    if args.revert and args.mapping:
        return _fail(args, "--revert undoes the run's own renames: it takes no --mapping")
    mapping = None
    if args.mapping:
        path = Path(args.mapping)
        try:
            text = path.read_bytes()
        except OSError as exc:
            return _fail(args, f"--mapping {args.mapping}: cannot read it ({exc.strerror})")
        try:
            mapping = route_versions.read_mapping(text, path.name)
        except ServiceError as exc:
            return _fail(args, str(exc))

    async def body() -> Any:
        if args.revert:
            return await route_versions.revert(args.revert, dry_run=args.dry_run, folios=args.case)
        return await route_versions.migrate(
            args.to, mapping, dry_run=args.dry_run, folios=args.case
        )

    try:
        report = asyncio.run(_with_db(body))
    except ServiceError as exc:
        return _fail(args, str(exc))
    if args.json:
        print(json.dumps(report.__dict__, indent=2, default=str))
    else:
        _print_migration(report)
    if report.dry_run:
        return 0
    stuck = report.count("blocked") + report.count("conflict")
    return EXIT_NOT_ALL_MIGRATED if stuck else 0


def _fail(args: argparse.Namespace, message: str) -> int:
    print(f"{args.prog}: {message}", file=sys.stderr)
    return EXIT_UNUSABLE


def _print_migration(report: Any) -> None:
    rows = [
        {
            "folio": c["folio"],
            "from": c.get("from_number") or c["from_version"],
            "status": c["status"],
            "reason": c.get("reason") or "",
        }
        for c in report.cases
    ]
    if rows:
        print(_table(rows, ["folio", "from", "status", "reason"]))
    verb = "would move" if report.dry_run else "moved"
    target = f" to version {report.to_number} ({report.to_version})" if report.to_number else ""
    moved = report.count("migratable" if report.dry_run else "migrated")
    print(
        f"{verb} {moved} of {len(report.cases)} open cases{target}; "
        f"blocked {report.count('blocked')}, conflicts {report.count('conflict')}"
        + (f"; mapping {report.mapping} sha256 {report.mapping_sha256}" if report.mapping else "")
    )
    if report.run:
        print(f"run {report.run} (undo: careroute route migrate --revert {report.run})")


def _worker_interval() -> float:
    """CAREROUTE_WORKER=0 disables the in-server worker; CAREROUTE_WORKER_INTERVAL sets its period."""
    if os.environ.get("CAREROUTE_WORKER", "1").strip() == "0":
        return 0.0
    return float(os.environ.get("CAREROUTE_WORKER_INTERVAL", "30"))


def cmd_worker(args: argparse.Namespace) -> int:
    """The deadline worker as its own process (docs/deadlines.md): sweep, sleep, repeat."""
    import logging

    from app.clock import utcnow
    from app.services import calendars, deadlines, retention, suspensions

    # WARNING for libraries (SpiffWorkflow logs every task state change at INFO: that alone
    # would cost most of a sweep), INFO for the worker's own messages.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("careroute").setLevel(logging.INFO)

    from app import keys
    from app.services import checkpoints

    keys.require()
    interval = args.interval if args.interval is not None else (_worker_interval() or 30.0)

    async def body() -> int:
        while True:
            await suspensions.load_suspensions()
            await calendars.load_declared_days()
            result = await deadlines.sweep(limit=args.limit)
            kept = await retention.sweep(utcnow())
            await checkpoints.maybe_write()
            if result.cases or args.once:
                print(
                    f"fired timers of {result.cases} cases ({result.escalations} escalations, "
                    f"{len(result.failed)} failed, {result.delivered} notifications sent; "
                    f"retention: {kept.blocked} blocked, {kept.erased} erased)",
                    flush=True,
                )
            if args.once:
                return 0
            await asyncio.sleep(interval)

    try:
        return asyncio.run(_with_db(body))
    except KeyboardInterrupt:
        return 0


def _db_option() -> argparse.ArgumentParser:
    """``--db`` for every subparser, so it may follow the subcommand too.

    SUPPRESS: a subparser that was not given ``--db`` leaves the value of the main parser alone.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--db", default=argparse.SUPPRESS, help="SQLite file (default ./careroute.db)"
    )
    return parent


def _command(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int] | None = None,
    *,
    route: bool = False,
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """One subcommand; ``route=True`` if it runs cases, so main loads the route before it starts."""
    parser = sub.add_parser(name, parents=[_db_option()], **kwargs)
    if func is not None:  # prog is "careroute audit verify": the prefix of its error lines
        parser.set_defaults(func=func, needs_route=route, prog=parser.prog)
    return parser


def _group(sub: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """A subcommand with subcommands of its own (audit verify, users create)."""
    return _command(sub, name, help=help).add_subparsers(dest=f"{name}_command", required=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careroute", description=__doc__)
    parser.add_argument("--db", help="SQLite file (default ./careroute.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = _command(sub, "serve", cmd_serve, route=True, help="migrate, then serve the JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--tick",
        type=float,
        default=None,
        help="deadline worker period in s (default $CAREROUTE_WORKER_INTERVAL or 30; "
        "CAREROUTE_WORKER=0 or --tick 0 disables it)",
    )

    demo = _command(
        sub, "demo", cmd_demo, route=True, help="load demo authorities, users and cases"
    )
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.add_argument("--password", help="one password for every demo user (default: random)")

    _command(sub, "migrate", cmd_migrate, help="apply database migrations")
    _command(sub, "tick", cmd_tick, route=True, help="fire due deadlines once")
    worker = _command(
        sub, "worker", cmd_worker, route=True, help="run the deadline worker (own process)"
    )
    worker.add_argument("--interval", type=float, default=None, help="seconds between sweeps")
    worker.add_argument("--once", action="store_true", help="one sweep, then exit")
    worker.add_argument("--limit", type=int, default=None, help="at most N cases per sweep")

    audit = _group(sub, "audit", help="audit trail tools")
    verify = _command(
        audit, "verify", cmd_audit_verify, help="verify the hash chain and its signed checkpoints"
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="checkpoints exported earlier (audit checkpoint export): detects a rewritten "
        "history and a deleted tail",
    )
    verify.add_argument(
        "--public-key",
        metavar="FILE",
        help="the trusted public key (careroute keys public); default: the signing key's",
    )
    checkpoint = _group(audit, "checkpoint", help="signed checkpoints of the chain head")
    export = _command(
        checkpoint,
        "export",
        cmd_audit_checkpoint_export,
        help="sign the current head, then write every checkpoint to FILE (for oversight)",
    )
    export.add_argument("file", metavar="FILE")

    keys_cmd = _group(sub, "keys", help="the keys kept outside the database (app/keys.py)")
    init = _command(keys_cmd, "init", cmd_keys_init, help="create the missing keys")
    init.add_argument("--dir", help="folder (default $CAREROUTE_KEYS_DIR or next to the db)")
    _command(keys_cmd, "public", cmd_keys_public, help="print the checkpoint public key")

    db_cmd = _group(sub, "db", help="database administration")
    roles = _command(
        db_cmd,
        "roles",
        cmd_db_roles,
        help="PostgreSQL: create the owner (migrations) and runtime (server, worker) roles; "
        "run as an admin, again after each upgrade",
    )
    roles.add_argument("--owner", help="owner role (default <database>_owner)")
    roles.add_argument("--runtime", help="runtime role (default <database>_runtime)")

    users = _group(sub, "users", help="user accounts")
    create = _command(users, "create", cmd_users_create, help="create a user")
    create.add_argument("username")
    create.add_argument("--role", required=True)
    create.add_argument("--authority", required=True, help="authority code, e.g. PROCURADURIA-07")
    create.add_argument("--display-name")
    create.add_argument("--password", help="default: $CAREROUTE_PASSWORD or prompt")
    for verb in ("approve", "reject"):
        decide = _command(
            users, verb, cmd_users_decide, help=f"{verb} an account an admin asked for (API)"
        )
        decide.add_argument("username")

    route = _group(sub, "route", help="route versions: list them, migrate open cases")
    versions = _command(
        route,
        "versions",
        cmd_route_versions,
        route=True,
        help="list route versions with the number of open cases on each",
    )
    versions.add_argument("--json", action="store_true")
    migrate = _command(
        route,
        "migrate",
        cmd_route_migrate,
        route=True,
        help="move open cases to another route version (docs/route-versions.md)",
    )
    migrate.add_argument("--to", metavar="VERSION", help="version number or hash (6+ chars)")
    migrate.add_argument("--mapping", metavar="FILE", help='TOML: [elements] old_id = "new_id"')
    migrate.add_argument("--dry-run", action="store_true", help="report only: change nothing")
    migrate.add_argument(
        "--revert",
        metavar="RUN",
        help="move the cases of a migration run back (only those that did nothing since the move)",
    )
    migrate.add_argument(
        "--case", action="append", metavar="FOLIO", help="only this open case (repeatable)"
    )
    migrate.add_argument("--json", action="store_true")

    cal = _group(sub, "calendario", help="non-working days each authority declares (LFPA art. 28)")
    declarar = _command(
        cal,
        "declarar",
        cmd_calendario_declarar,
        route=True,
        help="store the days an authority declared non-working by acuerdo (DOF)",
    )
    declarar.add_argument("--autoridad", required=True, help="authority type, e.g. COMAR")
    declarar.add_argument(
        "--dia", action="append", type=_fecha, metavar="YYYY-MM-DD", help="a day (repeatable)"
    )
    declarar.add_argument(
        "--periodo",
        action="append",
        type=_periodo,
        metavar="DESDE:HASTA",
        help="an inclusive period, e.g. 2027-07-19:2027-07-30 (repeatable)",
    )
    declarar.add_argument("--fuente", required=True, help="the acuerdo and its DOF publication")
    declarar.add_argument("--motivo", help="e.g. 'Semana Santa', 'primer periodo vacacional'")
    retirar = _command(
        cal, "retirar", cmd_calendario_retirar, route=True, help="withdraw a declaration"
    )
    retirar.add_argument("id", type=int)
    retirar.add_argument("--motivo")
    listar = _command(cal, "listar", cmd_calendario_listar, help="list the declarations")
    listar.add_argument("--autoridad")
    listar.add_argument("--json", action="store_true")
    dias = _command(
        cal, "dias", cmd_calendario_dias, route=True, help="non-working days of an authority"
    )
    dias.add_argument("--autoridad", required=True)
    dias.add_argument("--anio", type=int, required=True)
    avisos = _command(
        cal, "avisos", cmd_calendario_avisos, route=True, help="years in use without declared days"
    )
    avisos.add_argument("--json", action="store_true")
    ret = _group(sub, "retencion", help="retention of closed cases: legal holds (issue 16)")
    retener = _command(
        ret, "retener", cmd_retencion_retener, help="set a legal hold: the case's clock stops"
    )
    retener.add_argument("folio")
    retener.add_argument(
        "--motivo", required=True, help="litigio | queja | requerimiento_supervision"
    )
    retener.add_argument("--referencia", required=True, help="docket, complaint or request number")
    retener.add_argument("--por", required=True, help="who orders it (recorded in the audit trail)")
    liberar = _command(ret, "liberar", cmd_retencion_liberar, help="lift a legal hold")
    liberar.add_argument("id", type=int)
    liberar.add_argument("--por", required=True, help="who orders it (recorded in the audit trail)")
    cifrar = _command(
        ret,
        "cifrar",
        cmd_retencion_cifrar,
        help="encrypt with each case's key every value stored in clear (idempotent, resumable)",
    )
    cifrar.add_argument("--lote", type=int, default=200, help="cases per transaction")
    cifrar.add_argument("--por", required=True, help="who orders it (recorded in the audit trail)")
    return parser


def _unusable(exc: BaseException) -> str | None:
    """The one line for a database or route the operator must fix; None for anything else."""
    from app.db import DatabaseUnavailable
    from app.db_roles import RolesError
    from app.keys import KeysUnavailable
    from workflows.errors import SpecError

    if isinstance(exc, DatabaseUnavailable | KeysUnavailable | RolesError):
        return str(exc)
    if isinstance(exc, SpecError):
        return f"cannot load the route: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Parse, select the database, load the route if the command runs cases, run the command.

    The one place start-up failures become a message: commands never catch them themselves.
    """
    args = build_parser().parse_args(argv)
    _use_db(args.db)
    try:
        if args.needs_route:
            from app.route_engine import library

            library()  # a broken route stops every command that runs cases, before it starts
        return args.func(args)
    except Exception as exc:
        message = _unusable(exc)
        if message is None:
            raise  # a bug: the traceback is what a developer needs
        print(f"{args.prog}: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
