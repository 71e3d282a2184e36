"""Suspensions of terms: stored, audited, and applied to every open working-day deadline.

Who may add one: an ``admin``, or the ``head`` of a Procuraduría for its own jurisdiction (a
federal Procuraduría head, estado "00", for any jurisdiction including "00" = all). Suspensions
are published by acuerdo; the Procuraduría is the authority that answers for the child's terms.

Adding one stores it, counts the open cases of that jurisdiction (every open case for "00") and
audits ``suspension.added`` in one transaction, and rebuilds the process's engine with the new
calendar (app/route_engine.py). It does not recompute those cases in the request (at 100,000 open
cases that took minutes): the deadline worker does it in batches (``recompute_pending``), each
case through the case command path (state, ``next_due_at``, task due dates and
``deadline.recomputed`` audit events commit together), and records how far it got, which
``GET /api/v1/suspensions/{id}`` shows. Recomputing is idempotent (an unchanged due date is
skipped) and resumes from the last case done, so a worker killed mid-run loses nothing. The same
queue (``run_recompute``) carries the days an authority declares non-working
(app/services/calendars.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from piccolo.table import Table

from app import inegi
from app.cases.repository import load_for_update
from app.cases.unit_of_work import CaseSession
from app.clock import utcnow
from app.command import command
from app.db import engine, is_sqlite
from app.errors import Forbidden, NotFound, field_error
from app.principal import SYSTEM, Principal
from app.route_engine import calendario, set_suspensions
from app.tables import Case, TermSuspension
from workflows.calendario import Suspension
from workflows.forms import FECHA_MINIMA, HORIZONTE_ANIOS

log = logging.getLogger("careroute.suspensions")

_ESTADO = re.compile(r"^\d{2}$")


def recompute_queued(total: int, now: datetime) -> dict[str, Any]:
    """The progress columns of a recompute just queued (suspensions of terms and declared
    non-working days share the queue); with no open case to move it is done at once."""
    return {
        "recompute_total": total,
        "recompute_done": 0,
        "recompute_changed": 0,
        "recompute_failed": 0,
        "recompute_cursor": 0,
        "recompute_finished_at": now if total == 0 else None,
    }


async def load_suspensions() -> bool:
    """Make the process's engine use every stored suspension; True if they changed."""
    rows = await TermSuspension.select(
        TermSuspension.jurisdiccion,
        TermSuspension.desde,
        TermSuspension.hasta,
        TermSuspension.motivo,
        TermSuspension.fuente,
    ).order_by(TermSuspension.id)
    return set_suspensions(
        tuple(
            Suspension(r["jurisdiccion"], r["desde"], r["hasta"], r["motivo"], r["fuente"])
            for r in rows
        )
    )


def _may_add(principal: Principal, jurisdiccion: str) -> bool:
    if principal.is_admin:
        return True
    if principal.role != "head" or principal.authority_tipo != "PROCURADURIA":
        return False
    return principal.authority_estado in ("00", jurisdiccion)


def _open_cases(jurisdiccion: str) -> Any:
    where = Case.status == "open"
    if jurisdiccion != "00":
        where &= Case.estado == jurisdiccion
    return where


async def add_suspension(
    principal: Principal,
    *,
    jurisdiccion: str,
    desde: date,
    hasta: date,
    motivo: str,
    fuente: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a suspension and queue the recompute of the open cases it touches (the worker
    does it; the answer says how many)."""
    if not _ESTADO.match(jurisdiccion or "") or not inegi.is_valid(jurisdiccion):
        # checked before anything is stored: the engine's calendar refuses an unknown state,
        # and a stored one would break every later load of the suspensions
        raise field_error("$.jurisdiccion", "must be an INEGI code, 00 (federal) to 32")
    if desde < FECHA_MINIMA:
        raise field_error("$.desde", f"must not be before {FECHA_MINIMA.isoformat()}")
    today = (now or utcnow()).date()
    if hasta > today.replace(year=today.year + HORIZONTE_ANIOS, day=min(today.day, 28)):
        raise field_error("$.hasta", f"must be within {HORIZONTE_ANIOS} years from today")
    if hasta < desde:
        raise field_error("$.hasta", "must not be before desde")
    if not motivo.strip():
        raise field_error("$.motivo", "is required")
    if not fuente.strip():
        raise field_error("$.fuente", "is required (the acuerdo or DOF publication)")
    if not _may_add(principal, jurisdiccion):
        raise Forbidden("only an admin or the head of the Procuraduría may suspend terms")
    now = now or utcnow()
    async with command(principal.actor, now) as cmd:
        total = await Case.count().where(_open_cases(jurisdiccion))
        row = (
            await TermSuspension.insert(
                TermSuspension(
                    jurisdiccion=jurisdiccion,
                    desde=desde,
                    hasta=hasta,
                    motivo=motivo.strip()[:500],
                    fuente=fuente.strip()[:500],
                    created_by=principal.user_id,
                    created_at=now,
                    **recompute_queued(total, now),
                )
            )
        )[0]
        cmd.audit(
            "suspension.added",
            authority_id=principal.authority_id,
            changes={
                "suspension_id": row["id"],
                "jurisdiccion": jurisdiccion,
                "desde": desde.isoformat(),
                "hasta": hasta.isoformat(),
                "open_cases": total,
            },
            legal_basis=fuente.strip()[:500],
        )
    await load_suspensions()
    return await get_suspension(principal, row["id"])


_COLUMNS = (
    TermSuspension.id,
    TermSuspension.jurisdiccion,
    TermSuspension.desde,
    TermSuspension.hasta,
    TermSuspension.motivo,
    TermSuspension.fuente,
    TermSuspension.created_by.username.as_alias("created_by"),
    TermSuspension.created_at,
    TermSuspension.recompute_total,
    TermSuspension.recompute_done,
    TermSuspension.recompute_changed,
    TermSuspension.recompute_failed,
    TermSuspension.recompute_finished_at,
)


def _require_reader(principal: Principal) -> None:
    if not principal.is_worker and not principal.is_oversight and not principal.is_admin:
        raise Forbidden("not allowed")


def _view(row: dict[str, Any]) -> dict[str, Any]:
    """A suspension with the progress of its recompute (cases done / total)."""
    total = row.pop("recompute_total") or 0
    done = row.pop("recompute_done")
    finished = row.pop("recompute_finished_at")
    row["recompute"] = {
        "status": "done" if finished else "running" if done else "queued",
        "cases_total": total,
        "cases_done": done,
        "cases_changed": row.pop("recompute_changed"),
        "cases_failed": row.pop("recompute_failed"),
        "finished_at": finished,
    }
    return row


async def list_suspensions(principal: Principal) -> list[dict[str, Any]]:
    _require_reader(principal)
    rows = await TermSuspension.select(*_COLUMNS).order_by(TermSuspension.id)
    return [_view(r) for r in rows]


async def get_suspension(principal: Principal, suspension_id: int) -> dict[str, Any]:
    _require_reader(principal)
    row = await TermSuspension.select(*_COLUMNS).where(TermSuspension.id == suspension_id).first()
    if row is None:
        raise NotFound("suspension not found")
    return _view(row)


async def recompute_pending(now: datetime, batch_size: int = 20) -> int:
    """Recompute the open cases of suspensions not finished yet, a batch per transaction (one
    savepoint per case, as the deadline sweep does); returns the cases done. Each batch first
    locks its suspension row (PostgreSQL: another worker skips to the next suspension), so two
    workers never recompute the same cases."""
    if not await TermSuspension.exists().where(TermSuspension.recompute_finished_at.is_null()):
        return 0
    await load_suspensions()
    return await run_recompute(SUSPENSIONS, now, batch_size)


@dataclass(frozen=True)
class RecomputeQueue:
    """A table whose rows are recompute jobs (a suspension of terms, an authority's declared
    days): the columns ``recompute_total/done/changed/failed/cursor/finished_at``, which open
    cases a job touches, and what is audited when it is done."""

    table: type[Table]
    #: key of the job's id in each case's ``deadline.recomputed`` audit event and the final one
    id_key: str
    audit_action: str
    #: the job's columns ``cases`` reads
    columns: tuple[Any, ...]
    #: job row -> where clause selecting the open cases it touches
    cases: Callable[[dict[str, Any]], Any]


SUSPENSIONS = RecomputeQueue(
    TermSuspension,
    "suspension_id",
    "suspension.recomputed",
    (TermSuspension.jurisdiccion,),
    lambda job: _open_cases(job["jurisdiccion"]),
)


async def run_recompute(queue: RecomputeQueue, now: datetime, batch_size: int = 20) -> int:
    """Work through ``queue``'s unfinished jobs in batches; the cases done."""
    done = 0
    while True:
        step = await _recompute_batch(queue, now, batch_size)
        if step is None:
            return done
        done += step


async def _recompute_batch(queue: RecomputeQueue, now: datetime, size: int) -> int | None:
    table = queue.table
    async with command(SYSTEM, now) as cmd:
        query = (
            table.select(
                table.id,
                *queue.columns,
                table.recompute_cursor,
                table.recompute_done,
                table.recompute_changed,
                table.recompute_failed,
            )
            .where(table.recompute_finished_at.is_null())
            .order_by(table.id)
            .limit(1)
        )
        if not is_sqlite():
            query = query.lock_rows("UPDATE", skip_locked=True, of=(table,))
        rows = await query
        if not rows:
            return None
        job = rows[0]
        ids = [
            r["id"]
            for r in await Case.select(Case.id)
            .where(queue.cases(job) & (Case.id > job["recompute_cursor"]))
            .order_by(Case.id)
            .limit(size)
        ]
        transaction = engine().current_transaction.get()
        changed = failed = 0
        cal = calendario()
        for case_id in ids:
            mark = len(cmd.events)
            savepoint = await transaction.savepoint()
            try:
                session = CaseSession(cmd, await load_for_update(case_id))
                session.results[queue.id_key] = job["id"]
                if session.case.recompute_deadlines(cal, now):
                    changed += 1
                await session.commit()
            except Exception:  # one bad case must not stop the others
                log.exception("recomputing deadlines of case %s failed", case_id)
                await savepoint.rollback_to()
                del cmd.events[mark:]
                failed += 1
                continue
            await savepoint.release()
        values: dict[Any, Any] = {
            table.recompute_done: job["recompute_done"] + len(ids),
            table.recompute_changed: job["recompute_changed"] + changed,
            table.recompute_failed: job["recompute_failed"] + failed,
        }
        if ids:
            values[table.recompute_cursor] = ids[-1]
        if len(ids) < size:
            values[table.recompute_finished_at] = now
            cmd.audit(
                queue.audit_action,
                changes={
                    queue.id_key: job["id"],
                    "cases_done": job["recompute_done"] + len(ids),
                    "cases_changed": job["recompute_changed"] + changed,
                    "cases_failed": job["recompute_failed"] + failed,
                },
            )
        await table.update(values).where(table.id == job["id"])
        return len(ids)
