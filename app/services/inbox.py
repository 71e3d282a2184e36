"""Inboxes: open tasks of the caller's authority, one indexed query on the task index.

Ordered by legal due date (tasks without one last), then id; keyset (cursor) pagination on that
order so page N costs the same as page 1 however many open cases there are.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.errors import Forbidden, field_error
from app.principal import TASK_ROLE_ALLOWS, Principal
from app.services.cases import decode_cursor, encode_cursor
from app.tables import Task

SCOPES = ("all", "mine", "unclaimed", "authority")
STATES = ("claimed", "unclaimed", "overdue", "escalated")
RISKS = ("alto", "medio", "bajo")


def _allowed_rols(principal: Principal) -> list[str]:
    return [rol for rol in TASK_ROLE_ALLOWS if principal.may_do(rol)]


async def inbox(
    principal: Principal,
    *,
    now: datetime,
    scope: str = "all",
    due_before: datetime | None = None,
    risk: str | None = None,
    process: str | None = None,
    state: str | None = None,
    estado: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """``all``: mine plus unclaimed ones I may do; ``mine``; ``unclaimed``; ``authority``: every
    open task of my authority (e.g. for a supervisor who reassigns)."""
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} has no task inbox")
    if scope not in SCOPES:
        raise field_error("$.scope", f"must be one of {', '.join(SCOPES)}")
    sql = [
        "SELECT t.id, t.task_id, t.bpmn_id, t.name, t.name_en, t.process_id, t.lane, t.rol,",
        " t.due_at, t.sort_due, t.risk, t.escalation_level, t.created_at, t.claimed_at,",
        " t.case_id, t.deadline_id, t.context,",
        " u.username AS assignee, c.folio, c.estado",
        " FROM task t JOIN nna_case c ON c.id = t.case_id",
        " LEFT JOIN app_user u ON u.id = t.assignee_id",
        " WHERE t.authority_id = {} AND t.status = 'open'",
        # a task whose case the authority may not see is not shown either (the consulate
        # loses access while a claim may be pending, even to a task it holds)
        " AND EXISTS (SELECT 1 FROM case_access ca WHERE ca.case_id = t.case_id"
        " AND ca.authority_id = t.authority_id AND ca.active)",
    ]
    args: list[Any] = [principal.authority_id]
    rols = _allowed_rols(principal)
    rol_in = "(" + ", ".join("{}" for _ in rols) + ")"
    if scope == "all":
        sql.append(f" AND (t.assignee_id = {{}} OR (t.assignee_id IS NULL AND t.rol IN {rol_in}))")
        args += [principal.user_id, *rols]
    elif scope == "mine":
        sql.append(" AND t.assignee_id = {}")
        args.append(principal.user_id)
    elif scope == "unclaimed":
        sql.append(f" AND t.assignee_id IS NULL AND t.rol IN {rol_in}")
        args += rols
    if due_before is not None:
        sql.append(" AND t.sort_due <= {}")
        args.append(due_before)
    if risk is not None:
        if risk not in RISKS:
            raise field_error("$.risk", f"must be one of {', '.join(RISKS)}")
        sql.append(" AND t.risk = {}")
        args.append(risk)
    if process is not None:
        sql.append(" AND t.process_id = {}")
        args.append(process)
    if estado is not None:
        sql.append(" AND c.estado = {}")
        args.append(estado)
    if state is not None:
        if state not in STATES:
            raise field_error("$.state", f"must be one of {', '.join(STATES)}")
        sql.append(
            {
                "claimed": " AND t.assignee_id IS NOT NULL",
                "unclaimed": " AND t.assignee_id IS NULL",
                "overdue": " AND t.sort_due < {}",
                "escalated": " AND t.escalation_level > 0",
            }[state]
        )
        if state == "overdue":
            args.append(now)
    if cursor:
        due_s, id_s = decode_cursor(cursor, 2)
        try:
            after_due, after_id = datetime.fromisoformat(due_s), int(id_s)
        except ValueError as exc:
            raise field_error("$.cursor", "invalid cursor") from exc
        sql.append(" AND (t.sort_due > {} OR (t.sort_due = {} AND t.id > {}))")
        args += [after_due, after_due, after_id]
    sql.append(" ORDER BY t.sort_due, t.id LIMIT {}")
    args.append(limit + 1)
    rows = await Task.raw("".join(sql), *args)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["sort_due"], rows[-1]["id"]) if more and rows else None
    items = []
    for row in rows:
        row.pop("sort_due")
        row.pop("id")
        row["overdue"] = row["due_at"] is not None and row["due_at"] < now
        row["context"] = _context(row["context"])
        items.append(row)
    await _add_repeats(items)
    for row in items:
        row.pop("case_id")
    return {"items": items, "next_cursor": next_cursor}


#: What an inbox item may say about its subject: coded fields that tell instances apart, never
#: free text (a measure's description stays in the case record, an audited read).
CONTEXT_FIELDS = {
    "medida": ("numero", "tipo_medida", "derecho_vulnerado", "institucion_responsable",
               "beneficiario", "periodicidad"),
    "miembro": ("orden", "usuario", "funcion", "autoridad"),
}  # fmt: skip


def _context(raw: Any) -> dict[str, Any]:
    """What a task instance is about, from the BPMN multi-instance data the task index keeps
    (``medida``: a row of the plan de restitución; ``miembro``: a member of the BID panel)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            return {}
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key, fields in CONTEXT_FIELDS.items():
        value = raw.get(key)
        if isinstance(value, dict):
            out[key] = {f: value[f] for f in fields if f in value}
    return out


async def _add_repeats(items: list[dict[str, Any]]) -> None:
    """``repeat``: how many times this task was done before for the same case and subject, plus
    one (the third follow-up of a measure is 3). One statement for the page."""
    for row in items:
        row["repeat"] = 1
    if not items:
        return
    case_ids = sorted({r["case_id"] for r in items})
    bpmn_ids = sorted({r["bpmn_id"] for r in items})
    done = await Task.raw(
        "SELECT case_id, bpmn_id, context FROM task WHERE status = 'completed'"  # noqa: S608
        f" AND case_id IN ({', '.join('{}' for _ in case_ids)})"
        f" AND bpmn_id IN ({', '.join('{}' for _ in bpmn_ids)})",
        *case_ids,
        *bpmn_ids,
    )
    for row in items:
        row["repeat"] += sum(
            1
            for d in done
            if d["case_id"] == row["case_id"]
            and d["bpmn_id"] == row["bpmn_id"]
            and _context(d["context"]) == row["context"]
        )
