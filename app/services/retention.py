"""Retention: a closed case is kept for its term, then blocked, then erased (issue 16, item 1).

The schedule is config/retencion.toml (``CAREROUTE_RETENCION`` overrides it): a term per kind
of record, counted from the case's closure or the child's majority, and a blocking period. The
worker (``sweep``, from ``careroute worker`` and the server's tick) does three steps in batches,
each batch one transaction with its audit events:

1. **enroll**: a closed case without a clock for its current closure gets one (``case_retention``):
   blocked when the last erasable kind reaches its term, erased one blocking period later.
2. **block**: past ``block_at``, ``nna_case.retention`` = ``blocked``: only the data protection
   officer (``proteccion_datos``) of an authority that held the case reads it (app/access.py).
3. **erase**: past ``erase_at``, the case's data key is destroyed (app/datakeys.py) and its
   personal rows are deleted (identity and its name index, forms, notes, free text, attachments,
   the engine state, the case variables, task context): ``retention`` = ``erased``, nobody reads
   it. The audit events stay and still verify.

A legal hold (litigation, an open complaint, an oversight request) stops the clock: while one is
active the case is neither blocked nor erased, and when it is lifted the time it lasted is added
to the instants not yet passed. Holds are set and lifted by command (``careroute retencion
retener`` / ``liberar``), audited with a keyed digest of the reference.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app import datakeys
from app.access import ACTIVE, BLOCKED, ERASED
from app.audit import text_digests
from app.command import command
from app.db import insert_rows, is_sqlite
from app.errors import NotFound, field_error
from app.principal import SYSTEM, Actor
from app.tables import HOLD_KINDS, Case, LegalHold
from workflows.guarantees import majority_instant
from workflows.route_files import shipped

__all__ = ["ACTIVE", "BLOCKED", "ERASED", "sweep", "set_hold", "lift_hold", "schedule"]

log = logging.getLogger("careroute.retention")
ENV = "CAREROUTE_RETENCION"
KINDS = ("identidad", "expediente", "formularios", "notas_adjuntos", "eventos_auditoria")
ORIGINS = ("cierre", "mayoria", "posterior")
PERMANENT = "permanente"
ZONE = ZoneInfo("America/Mexico_City")
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?")


@dataclass(frozen=True)
class Term:
    kind: str
    plazo: str
    desde: str
    fuente: str
    sin_confirmar: bool

    @property
    def permanent(self) -> bool:
        return self.plazo == PERMANENT


@dataclass(frozen=True)
class Schedule:
    terms: dict[str, Term]
    bloqueo: str
    bloqueo_fuente: str

    def erasable(self) -> list[Term]:
        return [t for t in self.terms.values() if not t.permanent]


def add_duration(at: datetime, duration: str) -> datetime:
    """``at`` plus an ISO duration of years, months and days, in calendar terms (the 29th of
    February plus a year is the 28th)."""
    m = _DURATION.fullmatch(duration)
    if not m or not any(m.groups()):
        raise ValueError(f"not a duration of years, months and days: {duration!r}")
    years, months, days = (int(g or 0) for g in m.groups())
    local = at.astimezone(ZONE)
    month0 = local.month - 1 + months
    year = local.year + years + month0 // 12
    month = month0 % 12 + 1
    day = local.day
    while True:
        try:
            moved = local.replace(year=year, month=month, day=day)
            break
        except ValueError:
            day -= 1
    return (moved + timedelta(days=days)).astimezone(at.tzinfo)


def load_schedule(path: Path | None = None) -> Schedule:
    """Read and check the schedule; a bad value raises ValueError naming the key."""
    path = path or Path(os.environ.get(ENV) or shipped("config") / "retencion.toml")
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    terms: dict[str, Term] = {}
    for kind in KINDS:
        entry = doc.get("tipos", {}).get(kind)
        if entry is None:
            raise ValueError(f"{path}: [tipos.{kind}] is missing")
        term = Term(
            kind,
            str(entry["plazo"]),
            str(entry.get("desde", "cierre")),
            str(entry["fuente"]),
            bool(entry.get("sin_confirmar", True)),
        )
        if term.desde not in ORIGINS:
            raise ValueError(f"{path}: tipos.{kind}.desde must be one of {', '.join(ORIGINS)}")
        if not term.permanent:
            add_duration(datetime(2000, 1, 1, tzinfo=ZONE), term.plazo)
        terms[kind] = term
    if terms["eventos_auditoria"].plazo != PERMANENT:
        raise ValueError(f"{path}: eventos_auditoria must be permanente (the chain must verify)")
    bloqueo = doc.get("bloqueo", {})
    add_duration(datetime(2000, 1, 1, tzinfo=ZONE), str(bloqueo.get("plazo", "")))
    return Schedule(terms, str(bloqueo["plazo"]), str(bloqueo.get("fuente", "")))


@cache
def schedule() -> Schedule:
    return load_schedule()


def clock_for(closed_at: datetime, variables: dict[str, Any], sched: Schedule) -> tuple:
    """(counted_from, block_at, erase_at) of a case closed at ``closed_at``: the latest term
    end of its erasable kinds, then the blocking period."""
    try:
        majority = majority_instant(variables, {}, ZONE, lambda: closed_at)
    except Exception:  # an unreadable date never stops retention: count from the closure
        majority = None
    if majority is not None and majority.year >= 2999:
        majority = None
    ends = []
    starts = []
    for term in sched.erasable():
        start = closed_at
        if term.desde in ("mayoria", "posterior") and majority is not None:
            start = majority if term.desde == "mayoria" else max(closed_at, majority)
        starts.append(start)
        ends.append(add_duration(start, term.plazo))
    block_at = max(ends, default=closed_at)
    return max(starts, default=closed_at), block_at, add_duration(block_at, sched.bloqueo)


# ----------------------------------------------------------------------------- the worker
@dataclass
class RetentionResult:
    enrolled: int = 0
    blocked: int = 0
    erased: int = 0


def _batch() -> int:
    try:
        return max(1, int(os.environ.get("CAREROUTE_RETENTION_BATCH", "200")))
    except ValueError:
        return 200


async def sweep(
    now: datetime, *, batch_size: int | None = None, cases: list[int] | None = None
) -> RetentionResult:
    """Enroll newly closed cases, block and erase those past their instants, in batches.
    ``cases``: only these (a targeted run; tests that move the clock years ahead)."""
    from app.services import erasure

    size = batch_size or _batch()
    result = RetentionResult()
    while n := await enroll(now, size * 5, cases):  # a cheap insert per case: larger batches
        result.enrolled += n
    while n := await block_due(now, size, cases):
        result.blocked += n
    while n := await erasure.erase_due(now, size, cases):
        result.erased += n
    if result.blocked or result.erased:
        log.info("retention: %s blocked, %s erased", result.blocked, result.erased)
    return result


def _skip_locked() -> str:
    return "" if is_sqlite() else " FOR UPDATE OF c SKIP LOCKED"


def only(cases: list[int] | None) -> tuple[str, list[int]]:
    """The clause (and its values) restricting a step to ``cases`` (None: every case)."""
    if cases is None:
        return "", []
    if not cases:
        return " AND 1 = 0", []
    return " AND c.id IN (" + ", ".join("{}" for _ in cases) + ")", list(cases)


NOT_HELD = "NOT EXISTS (SELECT 1 FROM legal_hold h WHERE h.case_id = c.id AND h.lifted_at IS NULL)"


async def enroll(now: datetime, size: int, cases: list[int] | None = None) -> int:
    """Give up to ``size`` closed cases the clock of their current closure."""
    import json

    sched = schedule()
    async with command(SYSTEM, now):
        rows = await Case.raw(
            "SELECT c.id, c.closed_at, c.variables FROM nna_case c"  # noqa: S608
            " WHERE c.status = 'closed' AND c.retention = 'active' AND c.closed_at IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM case_retention r WHERE r.case_id = c.id"
            " AND r.closed_at = c.closed_at)"
            + only(cases)[0]
            + " ORDER BY c.closed_at, c.id LIMIT {}"
            + _skip_locked(),
            *only(cases)[1],
            size,
        )
        clocks = []
        # the variables (the birth date) are encrypted with each case's key: one statement
        found = await datakeys.existing_keys([r["id"] for r in rows])
        for row in rows:
            closed = _aware(row["closed_at"])
            variables = row["variables"]
            if isinstance(variables, str):
                variables = json.loads(variables or "{}")
            variables = datakeys.open_json(
                found.get(row["id"]), row["id"], datakeys.VARIABLES, variables
            )
            start, block_at, erase_at = clock_for(closed, variables or {}, sched)
            clocks.append((row["id"], closed, start, block_at, erase_at, 0))
        if clocks:  # one statement for the batch
            await insert_rows(
                "case_retention",
                ("case_id", "closed_at", "counted_from", "block_at", "erase_at", "held_seconds"),
                clocks,
                " ON CONFLICT (case_id) DO UPDATE SET closed_at = excluded.closed_at,"
                " counted_from = excluded.counted_from, block_at = excluded.block_at,"
                " erase_at = excluded.erase_at, blocked_at = NULL, held_seconds = 0",
            )
    return len(rows)


async def block_due(now: datetime, size: int, cases: list[int] | None = None) -> int:
    """Block up to ``size`` cases past ``block_at`` and not on hold; audited per case."""
    sched = schedule()
    async with command(SYSTEM, now) as cmd:
        rows = await Case.raw(
            "SELECT c.id, c.folio, r.erase_at FROM nna_case c"  # noqa: S608
            " JOIN case_retention r ON r.case_id = c.id"
            " WHERE c.retention = 'active' AND c.status = 'closed' AND r.closed_at = c.closed_at"
            f" AND r.blocked_at IS NULL AND r.block_at <= {{}} AND {NOT_HELD}"
            + only(cases)[0]
            + " ORDER BY r.block_at, c.id LIMIT {}"
            + _skip_locked(),
            now,
            *only(cases)[1],
            size,
        )
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        marks = ", ".join("{}" for _ in ids)
        await Case.raw(f"UPDATE nna_case SET retention = 'blocked' WHERE id IN ({marks})", *ids)  # noqa: S608
        await Case.raw(
            f"UPDATE case_retention SET blocked_at = {{}} WHERE case_id IN ({marks})",  # noqa: S608
            now,
            *ids,
        )
        for r in rows:
            cmd.audit(
                "case.retention_blocked",
                case_id=r["id"],
                case_folio=r["folio"],
                changes={"erase_at": _aware(r["erase_at"]).isoformat()},
                legal_basis=sched.bloqueo_fuente[:500],
            )
    return len(rows)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


# ----------------------------------------------------------------------------- legal holds
async def set_hold(
    actor: Actor, folio: str, motivo: str, referencia: str, now: datetime | None = None
) -> dict[str, Any]:
    """Stop a case's retention clock (422 naming the field; 404 for no such case or an
    erased one). The reference (a docket number) goes to the audit trail as a keyed digest."""
    if motivo not in HOLD_KINDS:
        raise field_error("$.motivo", f"must be one of {', '.join(HOLD_KINDS)}")
    referencia = referencia.strip()
    if not referencia:
        raise field_error("$.referencia", "is required")
    if len(referencia) > 200:
        raise field_error("$.referencia", "is longer than 200 characters")
    async with command(actor, now) as cmd:
        case = await Case.select(Case.id, Case.retention).where(Case.folio == folio).first()
        if case is None or case["retention"] == ERASED:
            raise NotFound("case not found")
        row = (
            await LegalHold.insert(
                LegalHold(
                    case=case["id"],
                    motivo=motivo,
                    referencia=referencia,
                    set_at=cmd.now,
                    set_by=actor.username,
                )
            ).returning(LegalHold.id)
        )[0]
        cmd.audit(
            "case.legal_hold_set",
            case_id=case["id"],
            case_folio=folio,
            changes={"hold_id": row["id"], "motivo": motivo, **text_digests(referencia=referencia)},
        )
    return {"id": row["id"], "folio": folio, "motivo": motivo, "set_at": cmd.now}


async def lift_hold(actor: Actor, hold_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Lift a hold: its duration is added to the case's instants not yet passed (the clock
    restarts where it stopped). 404 if no active hold has this id."""
    async with command(actor, now) as cmd:
        # one statement claims the hold: of two lifts at once one wins, the other is a 404
        lifted = await LegalHold.raw(
            "UPDATE legal_hold SET lifted_at = {}, lifted_by = {}"
            " WHERE id = {} AND lifted_at IS NULL RETURNING case_id, set_at",
            cmd.now,
            actor.username,
            hold_id,
        )
        if not lifted:
            raise NotFound("no active legal hold with this id")
        case = await Case.select(Case.folio).where(Case.id == lifted[0]["case_id"]).first()
        hold = {**lifted[0], "folio": case["folio"]}
        held = cmd.now - _aware(hold["set_at"])
        seconds = int(held.total_seconds())
        await _shift(hold["case_id"], held, seconds)
        cmd.audit(
            "case.legal_hold_lifted",
            case_id=hold["case_id"],
            case_folio=hold["folio"],
            changes={"hold_id": hold_id, "held_seconds": seconds},
        )
    return {"id": hold_id, "folio": hold["folio"], "lifted_at": cmd.now, "held_seconds": seconds}


async def _shift(case_id: int, held: timedelta, seconds: int) -> None:
    """Move the case's instants not yet passed by ``held`` (one row, locked by the command)."""
    from app.tables import CaseRetention

    # the row is locked (PostgreSQL): two holds of one case lifted at once shift it in turn
    lock = "" if is_sqlite() else " FOR UPDATE"
    sql = (
        "SELECT id, block_at, erase_at, blocked_at, held_seconds FROM case_retention"  # noqa: S608
        " WHERE case_id = {} AND erased_at IS NULL" + lock
    )
    rows = await CaseRetention.raw(sql, case_id)
    row = rows[0] if rows else None
    if row is None:
        return
    values: dict[Any, Any] = {
        CaseRetention.erase_at: _aware(row["erase_at"]) + held,
        CaseRetention.held_seconds: row["held_seconds"] + seconds,
    }
    if row["blocked_at"] is None:
        values[CaseRetention.block_at] = _aware(row["block_at"]) + held
    await CaseRetention.update(values).where(CaseRetention.id == row["id"])
