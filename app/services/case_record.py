"""The record of completed forms (issue 14, item 2): every answer as submitted, who and when.

Reading forms is an audited read of the child's record (``case.forms_read``: which forms, never
their content). Access is the case's (404 otherwise); a consulate never reads the asylum
process's forms (LRPCAP art. 9), as on the case page. An approval or decision task (BPMN
``aprueba``) shows its approver the latest submission of each form it approves.
"""

from __future__ import annotations

from typing import Any

from app.access_rules import CONSULATE
from app.command import command
from app.errors import NotFound
from app.principal import Principal
from app.route_engine import library
from app.services import cases, personal_data
from app.tables import TaskSubmission

#: The opening form has no task; it is the first page of the record.
OPENING = {"name": "Apertura del caso", "name_en": "Case opening", "process": "ruta_proteccion_nna"}


async def submissions(
    principal: Principal,
    case_id: int,
    *,
    task_id: str | None = None,
    bpmn_ids: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Completed forms of a case, oldest first (one statement); no audit (callers audit)."""
    sql = [
        "SELECT s.task_id, s.bpmn_id, s.data, s.submitted_at, u.username AS submitted_by,",
        " u.display_name, a.code AS authority FROM task_submission s",
        " LEFT JOIN app_user u ON u.id = s.submitted_by_id",
        " LEFT JOIN authority a ON a.id = s.submitted_by_authority_id",
        " WHERE s.case_id = {}",
    ]
    args: list[Any] = [case_id]
    if task_id is not None:
        sql.append(" AND s.task_id = {}")
        args.append(task_id)
    if bpmn_ids is not None:
        if not bpmn_ids:
            return []
        sql.append(" AND s.bpmn_id IN (" + ", ".join("{}" for _ in bpmn_ids) + ")")
        args += list(bpmn_ids)
    sql.append(" ORDER BY s.id")
    rows = await TaskSubmission.raw("".join(sql), *args)
    tasks = library().tasks
    hide_asylum = principal.authority_tipo == CONSULATE and not principal.is_oversight
    out = []
    opener: personal_data.Opener | None = None
    for row in rows:
        info = tasks.get(row["bpmn_id"])
        if info is None and row["bpmn_id"] != cases.START_FORM_ID:
            continue  # a task the route no longer has: its form schema is gone too
        process = info.process_id if info else OPENING["process"]
        if hide_asylum and process == cases.ASYLUM_PROCESS:
            continue
        if opener is None:
            opener = await personal_data.Opener.of(case_id)
        data = opener.form(row["data"])
        out.append(
            {
                "task_id": row["task_id"],
                "bpmn_id": row["bpmn_id"],
                "name": info.name if info else OPENING["name"],
                "name_en": info.name_en if info else OPENING["name_en"],
                "process_id": process,
                "submitted_at": row["submitted_at"],
                "submitted_by": row["submitted_by"],
                "submitted_by_name": row["display_name"],
                "authority": row["authority"],
                "data": data,
            }
        )
    return out


def for_approval(
    forms: list[dict[str, Any]], approver: str, approves: tuple[str, ...]
) -> list[dict[str, Any]]:
    """What an approval task decides on: for each form it approves (in ``approves`` order), the
    latest submission of each task instance (every panel member's vote), and, when a form was
    submitted again after the previous decision (a returned assessment), only the new ones."""
    decisions = [f for f in forms if f["bpmn_id"] == approver]
    cutoff = decisions[-1]["submitted_at"] if decisions else None
    out: list[dict[str, Any]] = []
    for bpmn_id in approves:
        per_task: dict[str, dict[str, Any]] = {}
        for f in forms:
            if f["bpmn_id"] == bpmn_id:
                per_task[f["task_id"]] = f  # oldest first: the newest submission stays
        mine = list(per_task.values())
        if cutoff is not None and any(f["submitted_at"] > cutoff for f in mine):
            mine = [f for f in mine if f["submitted_at"] > cutoff]
        out += mine
    return out


async def read(principal: Principal, folio: str, task_id: str | None = None) -> dict[str, Any]:
    """The completed forms of a case (or one of them): an audited read."""
    case_id = await cases.case_id_for(principal, folio)
    forms = await submissions(principal, case_id, task_id=task_id)
    if task_id is not None and not forms:
        raise NotFound("form not found")
    async with command(principal.actor) as cmd:
        cmd.audit(
            "case.forms_read",
            case_id=case_id,
            case_folio=folio,
            task_id=task_id,
            changes={"forms": sorted({f["bpmn_id"] for f in forms}), "count": len(forms)},
        )
    return {"folio": folio, "forms": forms}
