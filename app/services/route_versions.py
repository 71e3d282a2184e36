"""Route versions: which versions exist, how many open cases run on each, and moving cases.

A case runs on the route version it was started on (workflows/versions.py). This module stores
each version's files (``route_version``, migration 0016) so every server can rebuild it, lists
the versions with their open cases (``careroute route versions``, the oversight view), and
migrates open cases between versions (``careroute route migrate``): a dry run that says for
every open case whether it can move and why not; the move itself, each case in its own command
(one transaction: state, task index and one audited ``case.route_migrated`` event); and the
revert of a whole run, which moves each of its cases back with exactly the renames it received.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import datakeys
from app import route_engine as routes
from app.clock import utcnow
from app.command import command
from app.errors import Conflict, InvalidInput, NotFound
from app.principal import SYSTEM, Actor
from app.tables import RouteVersion
from workflows.versions import (
    ElementMapping,
    MappingError,
    MigrationBlocked,
    RouteSnapshot,
    plan,
    revert_mapping,
    revert_renames,
)

#: How long a version with no stored files is not looked up again (a legacy case's version).
_UNKNOWN_TTL = 60.0
_unknown: dict[str, float] = {}
_load_lock = asyncio.Lock()


# ---------------------------------------------------------------------------- storing versions
async def register_current(now: datetime | None = None) -> int:
    """Store the current route's files if they are not yet (one indexed read when they are);
    its number."""
    number = await _number(routes.library().version)
    if not number:
        number = await register(RouteSnapshot.of_library(routes.library()), now)
    return number


async def register(snapshot: RouteSnapshot, now: datetime | None = None) -> int:
    """Store a version's files (idempotent: the number it already has, else a new one), with an
    audit event ``route.version_registered``."""
    existing = await _number(snapshot.version)
    if existing:
        return existing
    async with command(SYSTEM, now) as cmd:
        rows = await RouteVersion.raw(
            "INSERT INTO route_version (version, files, file_count, registered_at)"
            " VALUES ({}, {}, {}, {}) ON CONFLICT (version) DO NOTHING RETURNING id",
            snapshot.version,
            snapshot.to_json(),
            len(snapshot.files),
            cmd.now,
        )
        if rows:
            cmd.audit(
                "route.version_registered",
                changes={
                    "version": snapshot.version,
                    "number": rows[0]["id"],
                    "files": len(snapshot.files),
                },
            )
    return rows[0]["id"] if rows else await _number(snapshot.version)


async def _number(version: str) -> int:
    row = await RouteVersion.select(RouteVersion.id).where(RouteVersion.version == version).first()
    return row["id"] if row else 0


async def ensure_loaded(version: str | None) -> bool:
    """Load a stored version's engine into this process if a case needs it; False if its files
    were never stored (the case then moves to the current version when compatible)."""
    if not version or routes.has_version(version):
        return True
    if time.monotonic() - _unknown.get(version, -_UNKNOWN_TTL) < _UNKNOWN_TTL:
        return False
    row = (
        await RouteVersion.select(RouteVersion.files).where(RouteVersion.version == version).first()
    )
    if row is None:
        _unknown[version] = time.monotonic()
        return False
    async with _load_lock:
        if not routes.has_version(version):
            snapshot = RouteSnapshot.from_json(row["files"])
            library = await asyncio.to_thread(snapshot.load)  # ~2 s of parsing and checks
            routes.add_version(library)
    return True


async def resolve(name: str) -> dict[str, Any]:
    """A stored version by number (``3``) or hash (or a prefix of 6+ characters of it)."""
    name = (name or "").strip()
    rows = await RouteVersion.select(RouteVersion.id, RouteVersion.version)
    if name.isdigit():
        found = [r for r in rows if r["id"] == int(name)]
    else:
        found = [r for r in rows if len(name) >= 6 and r["version"].startswith(name.lower())]
    if len(found) != 1:
        known = ", ".join(f"{r['id']} ({r['version']})" for r in rows) or "none"
        problem = "is ambiguous" if found else "is not a stored route version"
        raise NotFound(f"--to {name!r} {problem}; stored versions: {known}")
    return {"number": found[0]["id"], "version": found[0]["version"]}


async def prewarm() -> None:
    """At start-up: store the current version, load every other version open cases run on."""
    await register_current()
    for row in await versions():
        if row["open_cases"] and not row["current"]:
            await ensure_loaded(row["version"])


# ---------------------------------------------------------------------------- listing
async def versions() -> list[dict[str, Any]]:
    """Every stored version, and every version cases run on: number (None if its files were
    never stored), hash, when stored, whether new cases start on it, open and closed cases."""
    stored = await RouteVersion.select(
        RouteVersion.id, RouteVersion.version, RouteVersion.registered_at, RouteVersion.file_count
    ).order_by(RouteVersion.id)
    counts = await RouteVersion.raw(
        "SELECT ws.spec_version AS version,"
        " SUM(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END) AS open_cases,"
        " SUM(CASE WHEN c.status = 'open' THEN 0 ELSE 1 END) AS closed_cases"
        " FROM workflow_state ws JOIN nna_case c ON c.id = ws.case_id GROUP BY ws.spec_version"
    )
    by_version = {r["version"]: r for r in counts}
    current = routes.library().version
    out = []
    for row in stored:
        c = by_version.pop(row["version"], {})
        out.append(
            {
                "number": row["id"],
                "version": row["version"],
                "registered_at": row["registered_at"],
                "current": row["version"] == current,
                "open_cases": int(c.get("open_cases") or 0),
                "closed_cases": int(c.get("closed_cases") or 0),
            }
        )
    for version, c in sorted(by_version.items()):
        out.append(
            {
                "number": None,
                "version": version,
                "registered_at": None,
                "current": version == current,
                "open_cases": int(c.get("open_cases") or 0),
                "closed_cases": int(c.get("closed_cases") or 0),
            }
        )
    return out


# ---------------------------------------------------------------------------- migrating
@dataclass
class MigrationReport:
    """What a migration run did (or, dry, would do) to each open case."""

    run: str | None
    to_number: int
    to_version: str
    dry_run: bool
    mapping: str | None = None
    mapping_sha256: str | None = None
    cases: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for c in self.cases if c["status"] == status)


def read_mapping(text: bytes, name: str) -> ElementMapping:
    """A mapping file (docs/route-versions.md); 422 naming the key on a bad one."""
    try:
        return ElementMapping.parse(text, name)
    except MappingError as exc:
        raise InvalidInput(str(exc), [{"path": "$.mapping", "message": str(exc)}]) from exc


async def _open_cases(
    exclude_version: str | None = None, folios: list[str] | None = None
) -> list[dict[str, Any]]:
    """Open cases (only ``folios`` if given; a folio that is not an open case: 404)."""
    rows = await RouteVersion.raw(
        "SELECT c.id, c.folio, ws.spec_version, ws.state FROM workflow_state ws"
        " JOIN nna_case c ON c.id = ws.case_id WHERE c.status = 'open' ORDER BY c.id"
    )
    if folios:
        missing = sorted(set(folios) - {r["folio"] for r in rows})
        if missing:
            raise NotFound(f"--case {missing[0]}: no open case has this folio")
        rows = [r for r in rows if r["folio"] in folios]
    rows = [r for r in rows if r["spec_version"] != exclude_version]
    # the states are encrypted with each case's key (app/datakeys.py): one statement for them
    found = await datakeys.existing_keys([r["id"] for r in rows if datakeys.is_sealed(r["state"])])
    for r in rows:
        r["state"] = datakeys.open_state(found.get(r["id"]), r["id"], r["state"])
    return rows


async def _target(to: str, mapping: ElementMapping | None) -> tuple[dict[str, Any], Any]:
    target = await resolve(to)
    if not await ensure_loaded(target["version"]):
        raise NotFound(f"route version {to} has no stored files")
    engine = routes.engine_for(target["version"])
    if mapping is not None:
        if mapping.to_version and mapping.to_version not in (
            str(target["number"]),
            target["version"],
        ):
            raise _bad_mapping(
                f"{mapping.name}: to_version = {mapping.to_version!r}, but the target is "
                f"{target['number']} ({target['version']})"
            )
        try:
            mapping.check_target(engine.library)
        except MappingError as exc:
            raise _bad_mapping(str(exc)) from exc
    return target, engine


def _bad_mapping(message: str) -> InvalidInput:
    return InvalidInput(message, [{"path": "$.mapping", "message": message}])


async def _numbers() -> dict[str, int]:
    rows = await RouteVersion.select(RouteVersion.id, RouteVersion.version)
    return {r["version"]: r["id"] for r in rows}


def _from_allowed(mapping: ElementMapping | None, version: str, numbers: dict[str, int]) -> bool:
    if mapping is None or not mapping.from_version:
        return True
    return mapping.from_version in (version, str(numbers.get(version, "")))


async def migrate(
    to: str,
    mapping: ElementMapping | None = None,
    *,
    dry_run: bool = False,
    folios: list[str] | None = None,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> MigrationReport:
    """Move every open case not on version ``to`` there (``dry_run``: only say which can;
    ``folios``: only these cases).

    Each case is planned again under its lock in its own command, so a case that changed since
    the dry run (or during this run) is judged on its state now, never on a stale plan."""
    await register_current(now)
    target, engine = await _target(to, mapping)
    numbers = await _numbers()
    run = None if dry_run else f"mig-{(now or utcnow()):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    report = MigrationReport(
        run,
        target["number"],
        target["version"],
        dry_run,
        mapping.name if mapping and mapping.elements else None,
        mapping.sha256 if mapping and mapping.elements else None,
    )
    for row in await _open_cases(target["version"], folios):
        item = {
            "folio": row["folio"],
            "from_number": numbers.get(row["spec_version"]),
            "from_version": row["spec_version"],
        }
        if not _from_allowed(mapping, row["spec_version"], numbers):
            item.update(
                status="blocked", reason=f"the mapping is for version {mapping.from_version}"
            )  # type: ignore[union-attr]
        elif dry_run:
            result, _ = plan(row["state"], engine, mapping)
            item.update(_dry(result))
        else:
            item.update(await _migrate_case(row["id"], engine, mapping, run, actor, now))
        report.cases.append(item)
    return report


def _dry(result: Any) -> dict[str, Any]:
    if result.ok:
        return {"status": "migratable", "reason": ", ".join(result.elements) or None}
    return {"status": "blocked", "reason": "; ".join(result.reasons)}


async def _migrate_case(
    case_id: int,
    engine: Any,
    mapping: ElementMapping | None,
    run: str | None,
    actor: Actor,
    now: datetime | None,
    revert: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One case, in its own command: migrated, blocked (nothing written), or conflict."""
    from app.cases.unit_of_work import case_command

    try:
        async with case_command(actor, case_id, now) as s:
            s.case.require_open()
            renamed = s.case.migrate_route(engine, mapping, run, revert=revert)
            await _before_commit(s)
        return {"status": "migrated", "reason": ", ".join(renamed) or None}
    except MigrationBlocked as exc:
        return {"status": "blocked", "reason": "; ".join(exc.reasons)}
    except Conflict as exc:
        return {"status": "conflict", "reason": f"{exc}: run the migration again"}


async def _before_commit(session: Any) -> None:
    """A hook for the concurrency test (a command held open at its end); nothing by default."""


# ---------------------------------------------------------------------------- reverting
async def revert(
    run: str,
    *,
    dry_run: bool = False,
    folios: list[str] | None = None,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> MigrationReport:
    """Move every open case whose last migration is ``run`` back to the version it came from,
    undoing exactly the renames that run applied to it."""
    numbers = await _numbers()
    report = MigrationReport(None, 0, "", dry_run)
    touched = False
    for row in await _open_cases(None, folios):
        entry = _last_migration(row["state"])
        if entry is None or entry.get("run") != run:
            continue
        touched = True
        back = entry.get("from")
        item = {
            "folio": row["folio"],
            "from_number": numbers.get(row["spec_version"]),
            "from_version": row["spec_version"],
            "to_number": numbers.get(back),
            "to_version": back,
        }
        if not back or not await ensure_loaded(back):
            item.update(status="blocked", reason=f"version {back}'s files are not stored")
        else:
            engine = routes.engine_for(back)
            renames = revert_renames(entry)
            if dry_run:
                result, _ = plan(
                    row["state"], engine, revert_mapping(entry), renames=renames, since=entry
                )
                item.update(_dry(result))
            else:
                item.update(
                    await _migrate_case(
                        row["id"], engine, None, f"revert-{run}", actor, now, revert=entry
                    )
                )
        report.cases.append(item)
    if not touched:
        raise NotFound(f"no open case's last migration is run {run!r}")
    report.run = None if dry_run else f"revert-{run}"
    return report


def _last_migration(state: str) -> dict[str, Any] | None:
    try:
        migrations = (json.loads(state).get("meta") or {}).get("migrations") or []
    except (TypeError, ValueError):
        return None
    return migrations[-1] if migrations else None
