"""Every side effect of a change to a case, in one table: which handler runs for which event.

Events are the engine's (``workflows.EngineEvent``: task_completed, deadline_started,
deadline_escalated, deadline_stopped, timer_fired, case_variable_set, case_completed,
message_received, deadline_recomputed, case_started) and the service's own (``CaseEvent``:
case_changed, case_relocated, case_reopened, placement_admitted, placement_ended, risk_changed,
custody_started, custody_ended, note_added, attachment_added, route_migrated; and representative_designated,
the engine's record of an appointment of the child's representative). The unit of work
(app/cases/unit_of_work.py) runs them in three steps:

1. POLICIES run before the case is saved and may change it (they record more events).
2. The case is saved. PROJECTIONS then run in event order; ``case_changed`` comes first, so the
   task index is in step with the engine before escalations look up whom to notify.
3. FINALIZERS run once, from the final state (access to the case).

A new entry point applies its command to the aggregate and lets this table do the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.cases.handlers import (
    access,
    audit_trail,
    closure,
    custody,
    data_sharing,
    deadline_register,
    escalations,
    figures,
    milestones,
    notes,
    representation,
    route_policies,
    route_version,
    submissions,
    task_index,
)

Handler = Callable[[Any, Any], Awaitable[None]]
Finalizer = Callable[[Any], Awaitable[None]]

POLICIES: dict[str, list[Handler]] = {
    "task_completed": [
        route_policies.admit_on_admission_task,
        route_policies.place_on_family_care_task,
        route_policies.move_on_other_state,
        custody.record_from_channelling,
        # sharing the child's data with a third party: consent or legal basis, else 409
        data_sharing.check_transfer,
    ],
    # the child's representative is an active user of a Procuraduría (else 422)
    "representative_designated": [representation.check_representative],
}

PROJECTIONS: dict[str, list[Handler]] = {
    "case_changed": [task_index.sync],
    # the dashboard's figures of the case (a reopened case keeps its first)
    "case_started": [figures.case_started],
    # the completed form as submitted, who and when (the case record reads it)
    "task_completed": [submissions.record, milestones.task_completed, figures.task_completed],
    "deadline_started": [deadline_register.started],
    "deadline_escalated": [
        task_index.escalation_level,
        audit_trail.deadline_escalated,
        escalations.record,
        deadline_register.escalated,
    ],
    "deadline_stopped": [deadline_register.stopped],
    "deadline_recomputed": [
        task_index.due_date,
        audit_trail.deadline_recomputed,
        deadline_register.recomputed,
    ],
    "risk_changed": [task_index.risk],
    "timer_fired": [audit_trail.timer_fired],
    "case_completed": [audit_trail.case_closed, closure.discharge_on_close],
    "case_reopened": [audit_trail.case_reopened],
    "case_relocated": [audit_trail.relocated],
    # moved to another route version (app/services/route_versions.py): row, index, audit
    "route_migrated": [route_version.follow, route_version.audit],
    "placement_admitted": [audit_trail.placement_admitted, milestones.placement_admitted],
    "representative_designated": [representation.audit_appointment],
    # notes and attachments: the row first (it gives the event its id), then the audit event
    "note_added": [notes.write_note, notes.audit_note],
    "attachment_added": [notes.write_attachment, notes.audit_attachment],
    # a child held in a migration station (LM art. 99); the row first: it gives the event its id
    "custody_started": [
        custody.write_started,
        custody.audit_started,
        deadline_register.custody_started,
    ],
    "custody_ended": [custody.write_ended, custody.audit_ended, deadline_register.custody_ended],
}

FINALIZERS: list[Finalizer] = [access.reconcile, audit_trail.variables_set]
