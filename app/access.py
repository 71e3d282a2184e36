"""Least privilege: which cases a user may see.

- Oversight sees every case (each read of a child's record is audited by the caller).
- Admins manage accounts and see no case.
- A case past its retention term is blocked: only the data protection officer (``proteccion_datos``)
  of an authority that held it reads it; once erased nobody does (app/services/retention.py).
- Officers, supervisors, heads and shelter staff see a case while their authority holds an active
  ``case_access`` row for it. Rows are granted when the authority opens the case, is routed one of
  its tasks, or receives the child in its shelter; they are revoked when the child leaves the
  authority's jurisdiction (relocation, transfer) or its shelter, unless a task is still routed
  there. Anything not visible answers 404, never 403, so the existence of a case does not leak.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.principal import Principal
from app.tables import Authority, Case, CaseAccess, Placement, Task

#: ``nna_case.retention`` (app/services/retention.py)
ACTIVE, BLOCKED, ERASED = "active", "blocked", "erased"


async def can_see_case(principal: Principal, case_id: int) -> bool:
    case = await Case.select(Case.retention).where(Case.id == case_id).first()
    if case is None:
        return False
    if principal.is_data_protection:  # a blocked record its authority held, and nothing else
        return case["retention"] == BLOCKED and await CaseAccess.exists().where(
            (CaseAccess.case == case_id) & (CaseAccess.authority == principal.authority_id)
        )
    if case["retention"] != ACTIVE:  # blocked: the data protection officer's; erased: nobody's
        return False
    if principal.is_oversight:
        return True
    if not principal.is_worker:
        return False
    row = (
        await CaseAccess.select(CaseAccess.id)
        .where(
            (CaseAccess.case == case_id)
            & (CaseAccess.authority == principal.authority_id)
            & (CaseAccess.active.eq(True))
        )
        .first()
    )
    return row is not None


async def grant(case_id: int, authority_id: int, reason: str, now: datetime) -> bool:
    """Give ``authority_id`` access to the case; True if it did not have it already."""
    existing = (
        await CaseAccess.select(CaseAccess.id, CaseAccess.active)
        .where((CaseAccess.case == case_id) & (CaseAccess.authority == authority_id))
        .first()
    )
    if existing is None:
        await CaseAccess.insert(
            CaseAccess(
                case=case_id, authority=authority_id, reason=reason, active=True, granted_at=now
            )
        )
        return True
    if not existing["active"]:
        await CaseAccess.update(
            {CaseAccess.active: True, CaseAccess.reason: reason, CaseAccess.granted_at: now}
        ).where(CaseAccess.id == existing["id"])
        return True
    return False


def covers(authority: dict[str, Any], estado: str, municipio: str | None) -> bool:
    """Whether an authority's jurisdiction includes a location."""
    if authority["nivel"] == "federal" or authority["estado"] == "00":
        return True
    if authority["estado"] != estado:
        return False
    if authority["nivel"] == "municipal":
        return _norm(authority.get("municipio")) == _norm(municipio)
    return True


def _norm(value: str | None) -> str:
    return (value or "").strip().casefold()


async def revoke_out_of_reach(case_id: int, estado: str, municipio: str | None) -> list[int]:
    """Deactivate access of authorities that no longer cover the child and hold nothing open.

    Returns the authority ids that lost access (the caller audits each).
    """
    rows = await CaseAccess.select(
        CaseAccess.id,
        CaseAccess.authority.id.as_alias("authority_id"),
        CaseAccess.authority.nivel.as_alias("nivel"),
        CaseAccess.authority.estado.as_alias("estado"),
        CaseAccess.authority.municipio.as_alias("municipio"),
    ).where((CaseAccess.case == case_id) & (CaseAccess.active.eq(True)))
    revoked = []
    for row in rows:
        if covers(row, estado, municipio):
            continue
        if await _holds_something(case_id, row["authority_id"]):
            continue
        await CaseAccess.update({CaseAccess.active: False}).where(CaseAccess.id == row["id"])
        revoked.append(row["authority_id"])
    return revoked


async def revoke_if_idle(case_id: int, authority_id: int) -> bool:
    """Deactivate one authority's access unless it still has an open task or the child."""
    if await _holds_something(case_id, authority_id):
        return False
    updated = (
        await CaseAccess.update({CaseAccess.active: False})
        .where(
            (CaseAccess.case == case_id)
            & (CaseAccess.authority == authority_id)
            & (CaseAccess.active.eq(True))
        )
        .returning(CaseAccess.id)
    )
    return bool(updated)


async def _holds_something(case_id: int, authority_id: int) -> bool:
    task = (
        await Task.select(Task.id)
        .where((Task.case == case_id) & (Task.authority == authority_id) & (Task.status == "open"))
        .first()
    )
    if task is not None:
        return True
    placement = (
        await Placement.select(Placement.id)
        .where(
            (Placement.case == case_id)
            & (Placement.shelter == authority_id)
            & (Placement.status == "admitted")
        )
        .first()
    )
    return placement is not None


async def authority_row(authority_id: int) -> dict[str, Any] | None:
    return await Authority.select().where(Authority.id == authority_id).first()
