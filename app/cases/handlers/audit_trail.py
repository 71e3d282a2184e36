"""What the engine and the case's records did besides the command itself, in the audit trail.

The command audits its own act (``task.completed``, ``placement.left``, ...); these handlers add
what followed from it, whoever caused it: a deadline level, a timer, the case closing, the child
moving, a placement starting or ending, a deadline recomputed after a suspension of terms, and the
case variables the route set (redacted where they identify the child).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.cases import texts
from app.cases.aggregate import Event

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: Engine variables never copied in clear to the audit trail (quasi-identifying).
REDACTED_VARIABLES = frozenset({"fecha_nacimiento"})


def variable_changes(events: list[Event]) -> dict[str, Any]:
    """Case variables a command set, for the audit trail (redacted where identifying)."""
    out: dict[str, Any] = {}
    for event in events:
        if event.kind == "case_variable_set":
            name = event.data["name"]
            out[name] = "[redacted]" if name in REDACTED_VARIABLES else event.data["new"]
    return out


async def deadline_escalated(session: CaseSession, event: Event) -> None:
    data = event.data
    session.audit(
        "deadline.escalated",
        task_id=data.get("task_id"),
        changes={
            "deadline": data.get("plazo_id"),
            "level": data.get("level"),
            "due_at": data.get("due_at"),
            "task": data.get("task_bpmn_id"),
        },
        legal_basis=data.get("legal_source"),
    )


async def timer_fired(session: CaseSession, event: Event) -> None:
    session.audit(
        "timer.fired",
        changes={"timer": event.data.get("bpmn_id"), "due_at": event.data.get("due_at")},
    )


async def case_closed(session: CaseSession, event: Event) -> None:
    session.audit("case.closed", changes={"end_state": event.data.get("end_state")})


#: Legal basis of a reopening: the Procuraduría receives the case again and follows it up until
#: every right is guaranteed.
REOPENING_BASIS = "LGDNNA art. 123 fr. I y fr. VI"


async def case_reopened(session: CaseSession, event: Event) -> None:
    """The act, its category, the new run and who: never the reason's free text, which may
    describe the child (it stays in the case record, the form ``reabrir_caso``)."""
    session.audit(
        "case.reopened",
        authority_id=event.data.get("authority_id"),
        changes={"categoria": event.data.get("categoria"), "run": event.data.get("run")},
        legal_basis=REOPENING_BASIS,
    )


async def deadline_recomputed(session: CaseSession, event: Event) -> None:
    changes = {
        "deadline": event.data.get("plazo_id"),
        "old_due_at": event.data.get("old_due_at"),
        "due_at": event.data.get("due_at"),
        "jurisdiccion": session.case.estado,
        "suspension_id": session.results.get("suspension_id"),
    }
    if (
        "declaration_id" in session.results
    ):  # an authority's declared days (app/services/calendars.py)
        changes["declaration_id"] = session.results["declaration_id"]
    session.audit("deadline.recomputed", task_id=event.data.get("task_id"), changes=changes)


async def relocated(session: CaseSession, event: Event) -> None:
    """The reason, as typed, goes to the case record; the event keeps its keyed digest."""
    changes = {k: v for k, v in event.data.items() if k != "reason"}
    changes.update(await texts.keep(session, "case.relocated", reason=event.data["reason"]))
    session.audit("case.relocated", changes=changes)


async def placement_admitted(session: CaseSession, event: Event) -> None:
    session.audit(
        "placement.admitted",
        authority_id=event.data["shelter_id"],
        changes={
            "placement_id": event.data["placement_id"],
            "shelter": event.data["shelter"],
            "kind": event.data.get("placement_kind", "cas"),
        },
        legal_basis="LGDNNA art. 108; convenio SNDIF–SEDIF (2021)",
    )


async def variables_set(session: CaseSession) -> None:
    """Case variables the route set in this command, unless the command's own audit event
    already carries them (``task.completed`` does)."""
    if session.results.get("variables_audited"):
        return
    changes = variable_changes(session.case.events)
    if changes:
        session.audit("case.variables_set", changes={"variables": changes})
