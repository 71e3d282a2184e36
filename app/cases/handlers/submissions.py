"""Completed forms are kept as submitted, with who and when (``task_submission``).

The engine keeps the latest submission of each task id in the case state, which is what
gateways read; the case record needs every one (a returned assessment and its second version,
each panel member's vote, each follow-up of a measure). The row is written in the command's
transaction, with the completion it records, encrypted with the case's data key
(app/services/personal_data.py). Never audited as content: the audit trail keeps the
form's field names and digest (app/services/tasks.py), not a child's free text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event
from app.services import personal_data
from app.tables import TaskSubmission

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def record(session: CaseSession, event: Event) -> None:
    """A task was completed: store its form (the engine's validated copy, just written)."""
    bpmn_id = event.data.get("bpmn_id")
    task_id = event.data.get("task_id")
    if not bpmn_id or not task_id:
        return
    data = session.case.engine.forms.get(bpmn_id)
    if data is None:
        return
    actor = session.actor
    await TaskSubmission.insert(
        TaskSubmission(
            case=session.case.id,
            task_id=task_id,
            bpmn_id=bpmn_id,
            data=await personal_data.seal_form_in(session, dict(data)),
            submitted_at=session.now,
            submitted_by=actor.user_id,
            submitted_by_authority=actor.authority_id,
        )
    )
