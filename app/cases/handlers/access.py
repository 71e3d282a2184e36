"""Access follows the route: after every command, each authority's access to the case is
reconciled with the rules in app/access_rules.py, from the case's final state.

The authorities considered are those holding access (loaded with the case), those holding an open
task or the child after the command, and those the route notified in it. Only changes are
written (one upsert per grant, one update per revocation), each audited with its reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app import routing
from app.access_rules import Standing, consular_facts, decide
from app.cases.aggregate import Access
from app.route_engine import library
from app.tables import CaseAccess

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def reconcile(session: CaseSession) -> None:
    case = session.case
    holders = {t.authority_id for t in case.open_tasks.values() if t.authority_id is not None}
    notified = await _notified(session)
    candidates = set(case.access) | holders | notified
    if case.shelter_id is not None:
        candidates.add(case.shelter_id)
    blocked = consular_facts(case.engine.variables, case.engine.forms).blocked
    for authority_id in sorted(candidates):
        ref = case.directory.get(authority_id)
        if ref is None:
            continue
        current = case.access.get(authority_id, Access(False, None))
        standing = Standing(
            tipo=ref.tipo,
            active=current.active,
            reason=current.reason,
            holds_open_task=authority_id in holders,
            holds_child=authority_id == case.shelter_id,
            newly_notified=authority_id in notified,
            covers_child=ref.covers(case.estado, case.municipio),
        )
        decision, reason = decide(standing, blocked)
        if decision == "grant":
            await grant(session, authority_id, reason)
        elif decision == "revoke":
            await CaseAccess.update({CaseAccess.active: False}).where(
                (CaseAccess.case == case.id) & (CaseAccess.authority == authority_id)
            )
            case.access[authority_id] = Access(False, current.reason)
            session.audit("access.revoked", authority_id=authority_id, changes={"reason": reason})


async def grant(session: CaseSession, authority_id: int, reason: str) -> None:
    """Give an authority access (one upsert), audited."""
    await CaseAccess.insert(
        CaseAccess(
            case=session.case.id,
            authority=authority_id,
            reason=reason,
            active=True,
            granted_at=session.now,
        )
    ).on_conflict(
        target=(CaseAccess.case, CaseAccess.authority),
        action="DO UPDATE",
        values=[CaseAccess.active, CaseAccess.reason, CaseAccess.granted_at],
    )
    session.case.access[authority_id] = Access(True, reason)
    session.audit("access.granted", authority_id=authority_id, changes={"reason": reason})


async def _notified(session: CaseSession) -> set[int]:
    """Authorities the route notified in this command: the task just completed carries the
    BPMN property ``notifica`` (an authority type), routed like a task of that lane."""
    case = session.case
    tasks = library().tasks
    out: set[int] = set()
    for event in case.events:
        if event.kind != "task_completed":
            continue
        info = tasks.get(event.data.get("bpmn_id", ""))
        if info is None or info.notifies is None:
            continue
        decision = await routing.route(
            case.directory, info.notifies, case.estado, case.municipio, case.shelter_id
        )
        if decision.authority_id is not None:
            out.add(decision.authority_id)
    return out
