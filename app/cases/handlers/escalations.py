"""A deadline level fired: record it once, notify the people it goes to, queue outgoing messages.

Level 1 notifies the supervisors of the authority the task is routed to (its heads if it has
none), level 2 its heads, level 3 every oversight user: level 3 is the oversight breach record.
The row is unique on (task_id, plazo_id, level), so a replayed sweep inserts nothing and
notifies nobody twice. The rows are written at the end of the command, with those of the other
cases of a worker's batch (app/cases/writes.py). Outgoing notifications (webhook) are written to
the outbox in the same transaction and delivered by the worker after commit (app/outbox.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app import outbox
from app.cases.aggregate import Event
from app.cases.writes import PendingEscalation
from app.tables import Task, User

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: Who is notified at each escalation level (roles of the authority the task is routed to;
#: level 3 notifies every oversight user and is the oversight breach record).
LEVEL_ROLES = {1: ("supervisor",), 2: ("head",)}
BREACH_LEVEL = 3

#: (level, authority id) -> user ids; a worker shares one across a sweep (seconds), a request
#: has its own.
RecipientCache = dict[tuple[int, int | None], list[int]]


async def record(session: CaseSession, event: Event) -> None:
    data = event.data
    case = session.case
    task_id = data.get("task_id") or f"case-{case.id}:{data.get('boundary_id')}"
    plazo_id = data["plazo_id"]
    level = int(data["level"])
    authority_id = await _authority_of(session, task_id)
    due_at = datetime.fromisoformat(data["due_at"])
    legal_source = (data.get("legal_source") or "")[:500] or None
    users = await recipients(session, level, authority_id)
    kind = "deadline.breach" if level >= BREACH_LEVEL else "deadline.escalated"
    session.audit(
        "deadline.breach_recorded" if level >= BREACH_LEVEL else "deadline.notified",
        task_id=task_id,
        authority_id=authority_id,
        changes={
            "deadline": plazo_id,
            "level": level,
            "escalation_id": None,  # filled in when the row is written (app/cases/writes.py)
            "recipients": len(users),
        },
        legal_basis=legal_source,
    )
    pending = PendingEscalation(
        case_id=case.id,
        row=(
            case.id, case.folio, task_id, data.get("task_bpmn_id"), plazo_id, level,
            authority_id, case.estado, due_at,
            datetime.fromisoformat(data.get("level_due_at") or data["due_at"]),
            session.now, legal_source,
        ),
        notices=[
            (
                user_id, kind, case.folio, task_id, data.get("task_bpmn_id"), plazo_id, level,
                due_at, session.now, None,
            )
            for user_id in users
        ],
        event=session.cmd.events[-1],
    )  # fmt: skip
    if outbox.enabled():
        pending.outbox_kind = kind
        pending.outbox_payload = {
            "case_folio": case.folio,
            "task_id": task_id,
            "task_bpmn_id": data.get("task_bpmn_id"),
            "plazo_id": plazo_id,
            "level": level,
            "due_at": data["due_at"],
            "authority_id": authority_id,
            "recipients": users,
        }
    session.writes.escalations.append(pending)


async def _authority_of(session: CaseSession, task_id: str) -> int | None:
    open_task = session.case.open_tasks.get(task_id)
    if open_task is not None:
        return open_task.authority_id
    row = await Task.select(Task.authority).where(Task.task_id == task_id).first()
    return row["authority_id"] if row else None


async def recipients(session: CaseSession, level: int, authority_id: int | None) -> list[int]:
    """Active users to notify: the authority's supervisors (1) or heads (2); oversight (3).

    Level 1 falls back to the heads when the authority has no supervisor, so nobody is skipped.
    """
    cache: RecipientCache = session.results.setdefault("recipient_cache", {})
    key = (level, authority_id)
    if key not in cache:
        cache[key] = await _recipients(level, authority_id)
    return cache[key]


async def _recipients(level: int, authority_id: int | None) -> list[int]:
    if level >= BREACH_LEVEL:
        rows = await User.select(User.id).where((User.role == "oversight") & (User.active.eq(True)))
        return [r["id"] for r in rows]
    if authority_id is None:  # unroutable task: nobody to tell locally, oversight learns at 3
        return []
    for role in (*LEVEL_ROLES[level], "head"):
        rows = await User.select(User.id).where(
            (User.authority == authority_id) & (User.role == role) & (User.active.eq(True))
        )
        if rows:
            return [r["id"] for r in rows]
    return []
