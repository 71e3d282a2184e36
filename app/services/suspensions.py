"""Suspensions of terms: stored, audited, and applied to every open working-day deadline.

Who may add one: an ``admin``, or the ``head`` of a Procuraduría for its own jurisdiction (a
federal Procuraduría head, estado "00", for any jurisdiction including "00" = all). Suspensions
are published by acuerdo; the Procuraduría is the authority that answers for the child's terms.

Adding one (1) stores it and audits ``suspension.added`` in one transaction, (2) rebuilds the
process's engine with the new calendar (app/route_engine.py), (3) recomputes the pending
working-day deadlines of every open case of that jurisdiction (every open case for "00"), each in
its own transaction: state, ``next_due_at``, task due dates and ``deadline.recomputed`` audit
events commit together. Recomputing is idempotent (an unchanged due date is skipped), so an
interrupted run is finished by calling ``recompute_open_cases`` again.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

from app.clock import utcnow
from app.errors import Forbidden, ServiceError, field_error
from app.principal import Actor, Principal
from app.route_engine import calendario, set_suspensions
from app.services.context import command
from app.services.deadlines import apply_engine_events, default_sender
from app.services.workflow import load_for_update
from app.tables import Case, TermSuspension
from workflows import EngineError
from workflows.calendario import Suspension

log = logging.getLogger("careroute.suspensions")

_ESTADO = re.compile(r"^\d{2}$")


async def load_suspensions() -> bool:
    """Make the process's engine use every stored suspension; True if they changed."""
    rows = await TermSuspension.select().order_by(TermSuspension.id)
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
    if not _ESTADO.match(jurisdiccion or ""):
        raise field_error("$.jurisdiccion", "must be a 2-digit INEGI code (00 = federal)")
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
            },
            legal_basis=fuente.strip()[:500],
        )
    await load_suspensions()
    recomputed = await recompute_open_cases(principal.actor, jurisdiccion, now)
    return {
        "id": row["id"],
        "jurisdiccion": jurisdiccion,
        "desde": desde,
        "hasta": hasta,
        "motivo": motivo,
        "fuente": fuente,
        "cases_recomputed": recomputed,
    }


async def list_suspensions(principal: Principal) -> list[dict[str, Any]]:
    if not principal.is_worker and not principal.is_oversight and not principal.is_admin:
        raise Forbidden("not allowed")
    rows = await TermSuspension.select(
        TermSuspension.id,
        TermSuspension.jurisdiccion,
        TermSuspension.desde,
        TermSuspension.hasta,
        TermSuspension.motivo,
        TermSuspension.fuente,
        TermSuspension.created_by.username.as_alias("created_by"),
        TermSuspension.created_at,
    ).order_by(TermSuspension.id)
    return rows


async def recompute_open_cases(actor: Actor, jurisdiccion: str, now: datetime) -> int:
    """Re-arm pending working-day deadlines of the open cases of ``jurisdiccion`` ("00": all)."""
    query = Case.select(Case.id).where(Case.status == "open").order_by(Case.id)
    if jurisdiccion != "00":
        query = query.where(Case.estado == jurisdiccion)
    cal = calendario()
    outgoing = default_sender() is not None
    changed = 0
    for row in await query:
        try:
            async with command(actor, now) as cmd:
                loaded = await load_for_update(row["id"])
                events = list(loaded.engine_case.recompute_deadlines(cal, now))
                if not events:
                    continue
                loaded.events = events
                await apply_engine_events(cmd, loaded, outgoing=outgoing)
                for event in events:
                    if event.kind == "deadline_recomputed":
                        cmd.audit(
                            "deadline.recomputed",
                            case_id=loaded.case_id,
                            case_folio=loaded.folio,
                            task_id=event.data.get("task_id"),
                            changes={
                                "deadline": event.data.get("plazo_id"),
                                "old_due_at": event.data.get("old_due_at"),
                                "due_at": event.data.get("due_at"),
                                "jurisdiccion": jurisdiccion,
                            },
                        )
                changed += 1
        except (ServiceError, EngineError):
            log.exception("recomputing deadlines of case %s failed", row["id"])
    return changed
