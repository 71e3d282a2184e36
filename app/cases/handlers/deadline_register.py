"""The deadline register follows the engine: one row per deadline instance, never deleted.

A deadline the route starts is inserted as ``running``, with the instant the law counts from
(``started_at``: detection, filing, entry...) and the authority its task is routed to. Its first
escalation level means its due instant passed: it becomes ``breached`` and stays so, also once
the task is done (``closed_at`` then gives the lateness). The stop closes it: ``met`` if its task
was done in time, ``cancelled`` with why if the route went another way before it was due. A
start earlier than the command that armed it (the form gave the real date) is audited as a
backdated start. Rows are written at the end of the command, with the batch's
(app/cases/writes.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.cases.aggregate import CaseEvent, Event
from app.cases.writes import RegisterRow

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: a start this much before the command that armed the deadline is a backdated start
BACKDATED_AFTER = timedelta(minutes=1)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _key(session: CaseSession, data: dict) -> str:
    """The engine's timer id; for states saved before keys were kept, the task and deadline."""
    return data.get("deadline_key") or f"case-{session.case.id}:{data.get('task_id')}:" + str(
        data.get("plazo_id")
    )


def _authority(session: CaseSession, task_id: str | None) -> int | None:
    open_task = session.case.open_tasks.get(task_id) if task_id else None
    return open_task.authority_id if open_task else None


async def started(session: CaseSession, event: Event) -> None:
    data = event.data
    case = session.case
    started_at = _instant(data.get("started_at")) or session.now
    armed_at = _instant(data.get("armed_at")) or session.now
    backdated = started_at < armed_at - BACKDATED_AFTER
    session.writes.register_rows.append(
        RegisterRow(
            key=_key(session, data),
            case_id=case.id,
            case_folio=case.folio,
            plazo_id=data["plazo_id"],
            task_id=data.get("task_id"),
            task_bpmn_id=data.get("task_bpmn_id"),
            authority_id=_authority(session, data.get("task_id")),
            estado=case.estado,
            legal_source=(data.get("legal_source") or "")[:500] or None,
            start_event=(data.get("inicia") or "")[:300] or None,
            started_at=started_at,
            armed_at=armed_at,
            backdated=backdated,
            due_at=datetime.fromisoformat(data["due_at"]),
            calendario=data.get("calendario"),
            now=session.now,
        )
    )
    if backdated:
        session.audit(
            "deadline.backdated_start",
            task_id=data.get("task_id"),
            changes={
                "deadline": data["plazo_id"],
                "started_at": started_at.isoformat(),
                "armed_at": armed_at.isoformat(),
                "due_at": data["due_at"],
                "start_event": data.get("inicia"),
            },
            legal_basis=data.get("legal_source"),
        )


async def escalated(session: CaseSession, event: Event) -> None:
    """A level fired: the due instant passed, so the deadline is breached (a fact that stays).
    A deadline armed before the register existed gets its row here, start unknown."""
    data = event.data
    key = _key(session, data)
    authority = _authority(session, data.get("task_id"))
    session.writes.register_rows.append(
        RegisterRow(
            key=key,
            case_id=session.case.id,
            case_folio=session.case.folio,
            plazo_id=data["plazo_id"],
            task_id=data.get("task_id"),
            task_bpmn_id=data.get("task_bpmn_id"),
            authority_id=authority,
            estado=session.case.estado,
            legal_source=(data.get("legal_source") or "")[:500] or None,
            start_event=None,
            started_at=None,
            armed_at=None,
            backdated=False,
            due_at=datetime.fromisoformat(data["due_at"]),
            calendario=None,
            now=session.now,
        )
    )  # inserted only if the deadline has no row yet
    session.writes.register_levels.append((key, int(data["level"]), authority, session.now))


async def stopped(session: CaseSession, event: Event) -> None:
    """The task was done, or the route went another way: the deadline closes. Done or
    cancelled after its due instant, it is (and stays) breached."""
    data = event.data
    due = _instant(data.get("due_at"))
    late = due is not None and session.now > due
    status = "breached" if late else ("met" if data["outcome"] == "completed" else "cancelled")
    session.writes.register_stops.append(
        (
            _key(session, data),
            session.now,
            data["outcome"],
            (data.get("reason") or "")[:120] or None,
            status,
            due,
        )
    )


async def recomputed(session: CaseSession, event: Event) -> None:
    """A suspension of terms moved a running deadline's due instant."""
    data = event.data
    session.writes.register_due.append(
        (_key(session, data), datetime.fromisoformat(data["due_at"]), session.now)
    )


# ------------------------------------------------------------ detention in a migration station
#: LM art. 99 (reformed DOF 11-11-2020): no child may be held in a migration station. There is
#: no term to run: a custody record is a breach from its first instant, and its lateness is the
#: time the child was held.
STATION_BAN = "D4_estacion_migratoria"
STATION_BAN_SOURCE = (
    "Ley de Migración art. 99 (reforma DOF 11-11-2020): en ningún caso el Instituto presentará ni "
    "alojará a niñas, niños o adolescentes migrantes en estaciones migratorias"
)


def _custody_key(data: dict) -> str:
    return f"custody-{data['custody_id']}"


async def custody_started(session: CaseSession, event: Event) -> None:
    """A child held in a migration station: a breach at once (due = the first instant held),
    recorded for oversight like a deadline's last level (notice to every oversight user)."""
    from app.cases.handlers import escalations

    data = event.data
    case = session.case
    started_at = data["started_at"]
    session.writes.register_rows.append(
        RegisterRow(
            key=_custody_key(data),
            case_id=case.id,
            case_folio=case.folio,
            plazo_id=STATION_BAN,
            task_id=None,
            task_bpmn_id=None,
            authority_id=data.get("station_authority_id"),
            estado=case.estado,
            legal_source=STATION_BAN_SOURCE,
            start_event="ingreso de la NNA a la estación migratoria",
            started_at=started_at,
            armed_at=session.now,
            backdated=started_at < session.now - BACKDATED_AFTER,
            due_at=started_at,
            calendario="horas",
            now=session.now,
        )
    )
    session.writes.register_levels.append(
        (
            _custody_key(data),
            escalations.BREACH_LEVEL,
            data.get("station_authority_id"),
            session.now,
        )
    )
    await escalations.record(
        session,
        CaseEvent(
            "deadline_escalated",
            {
                "plazo_id": STATION_BAN,
                "level": escalations.BREACH_LEVEL,
                "due_at": started_at.isoformat(),
                "task_id": _custody_key(data),
                "legal_source": STATION_BAN_SOURCE,
            },
        ),
    )
    if data.get("ended_at") is not None:
        await custody_ended(session, event)


async def custody_ended(session: CaseSession, event: Event) -> None:
    """The child left the station: the breach closes, its lateness is the time held."""
    data = event.data
    session.writes.register_stops.append(
        (_custody_key(data), data["ended_at"], "completed", None, "breached", data["started_at"])
    )
