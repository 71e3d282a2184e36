"""The case list and search (issue 14, item 1): every role within its scope, one statement.

Scope, the same rule as reading a case (app/access.py): oversight sees every case in every
state; a caseworker sees the cases its authority holds an active ``case_access`` row for; a
shelter (``DIF_CAS``) lists only the children placed with it now. Another authority's cases never
appear, whatever the filters say.

Filters: folio (part of it), the child's name (words or their beginnings, folded to lower case
without accents, matched in the blind index ``case_name_token``, app/datakeys.py, never in a
readable name; a name search is an audited read: who searched and which folios it
returned, never the name typed), state, municipality, stage (a process of the route with an open
task), risk, overdue (an open task past its legal due date), responsible authority (holds an open
task of the case), family group, status, opened between two instants. Sorted by opening, last
change or folio, either way; keyset (cursor) pagination on ``(key, id)``, so page N costs what
page 1 does (bench/pages.py, docs/performance.md).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import datakeys, inegi
from app.access_rules import CONSULATE, SHELTER
from app.command import command
from app.errors import Forbidden, field_error
from app.principal import Principal
from app.route_engine import library
from app.services import (
    cases,  # (cases imports this module: names are read at call time)
    periods,
    personal_data,
    retention,
)
from app.tables import Authority, Case

SORTS = {"opened": "c.opened_at", "updated": "c.updated_at", "folio": "c.folio"}
ORDERS = ("desc", "asc")
RISKS = ("alto", "medio", "bajo", "ninguno")
STATUSES = ("open", "closed")
NAME_KEYS = ("nombres", "apellidos", "alias")


def fold(text: str) -> str:
    """Lower case, accents removed, single spaces: how names are stored for search and how a
    query is compared with them ("José" finds "jose", "JOSÉ" and "Jose")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


def search_name(identidad: dict[str, Any]) -> str:
    """The identity's names (given names, surnames, aliases) as one folded string."""
    parts: list[str] = []
    for key in NAME_KEYS:
        value = identidad.get(key)
        if isinstance(value, list):
            parts += [str(v) for v in value]
        elif value:
            parts.append(str(value))
    return fold(" ".join(parts))[:600]


def stages() -> list[str]:
    """The route's processes that hold user tasks, in a stable order (the stage filter)."""
    return sorted({t.process_id for t in library().tasks.values()})


@dataclass
class CaseQuery:
    folio: str | None = None
    nombre: str | None = None
    estado: str | None = None
    municipio: str | None = None
    stage: str | None = None
    risk: str | None = None
    overdue: bool | None = None
    authority: str | None = None
    family_group: str | None = None
    status: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    sort: str = "opened"
    order: str = "desc"
    cursor: str | None = None
    limit: int = 50
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """422 naming the field for a value outside its list."""
        if self.sort not in SORTS:
            raise field_error("$.sort", f"must be one of {', '.join(SORTS)}")
        if self.order not in ORDERS:
            raise field_error("$.order", "must be desc or asc")
        if self.risk is not None and self.risk not in RISKS:
            raise field_error("$.risk", f"must be one of {', '.join(RISKS)}")
        if self.status is not None and self.status not in STATUSES:
            raise field_error("$.status", "must be open or closed")
        if self.estado is not None and not inegi.is_valid(self.estado):
            raise field_error("$.estado", "must be the INEGI code of a state, 01..32")
        if self.stage is not None and self.stage not in stages():
            raise field_error("$.stage", "is not a process of the route")
        if self.nombre is not None and len(fold(self.nombre)) < 2:
            raise field_error("$.nombre", "needs at least 2 letters")


def _like(text: str) -> str:
    """A LIKE pattern that matches ``text`` anywhere (its own wildcards taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(principal: Principal, q: CaseQuery, now: datetime) -> dict[str, Any]:
    """One page of the caller's cases; a name search is audited (``case.searched``)."""
    if not (principal.is_worker or principal.is_oversight or principal.is_data_protection):
        raise Forbidden(f"role {principal.role} has no access to cases")
    q.check()
    sql: list[str] = []
    args: list[Any] = []
    # A text search runs first, on its own (a trigram index on PostgreSQL), and the page is
    # cut from its hits: a prepared statement's generic plan would otherwise walk every case in
    # the sort order and test the pattern on each (bench/pages.py: 490 ms against 27 ms).
    hits = []
    if q.folio:
        hits.append("SELECT id AS case_id FROM nna_case WHERE folio LIKE {} ESCAPE '\\'")
        args.append(_like(q.folio.strip().upper()))
    if q.nombre:  # the blind index: each word (or its beginning) as a keyed HMAC
        for word in sorted(set(fold(q.nombre).split())):
            hits.append("SELECT case_id FROM case_name_token WHERE token = {}")
            args.append(datakeys.token(word[: datakeys.MAX_WORD]))
    if hits:
        sql.append("WITH hits AS MATERIALIZED (" + " INTERSECT ".join(hits) + ") ")
    sql += [
        "SELECT c.id, c.folio, c.estado, c.municipio, c.status, c.risk, c.family_group,",
        " c.summary, c.opened_at, c.updated_at, c.closed_at",
    ]
    sql.append(" FROM nna_case c WHERE c.retention = {}")
    # a blocked record is the data protection officer's alone; an erased one nobody's
    args.append(retention.BLOCKED if principal.is_data_protection else retention.ACTIVE)
    if hits:
        sql.append(" AND c.id IN (SELECT case_id FROM hits)")
    if principal.is_data_protection:  # the records its authority held, active or not
        sql.append(
            " AND EXISTS (SELECT 1 FROM case_access ca WHERE ca.case_id = c.id"
            " AND ca.authority_id = {})"
        )
        args.append(principal.authority_id)
    elif not principal.is_oversight:
        sql.append(
            " AND EXISTS (SELECT 1 FROM case_access ca WHERE ca.case_id = c.id"
            " AND ca.authority_id = {} AND ca.active)"
        )
        args.append(principal.authority_id)
        if principal.authority_tipo == SHELTER:  # a shelter lists the children it houses
            sql.append(
                " AND EXISTS (SELECT 1 FROM placement p WHERE p.case_id = c.id"
                " AND p.shelter_id = {} AND p.status = 'admitted')"
            )
            args.append(principal.authority_id)
    if q.estado:
        sql.append(" AND c.estado = {}")
        args.append(q.estado)
    if q.municipio:
        sql.append(" AND lower(c.municipio) = {}")
        args.append(q.municipio.strip().lower())
    if q.risk == "ninguno":
        sql.append(" AND c.risk IS NULL")
    elif q.risk:
        sql.append(" AND c.risk = {}")
        args.append(q.risk)
    if q.status:
        sql.append(" AND c.status = {}")
        args.append(q.status)
    if q.family_group:
        sql.append(" AND c.family_group = {}")
        args.append(q.family_group)
    # opened in [from, to): the period filter every report shares (app/services/periods.py)
    period, period_args = periods.between("c.opened_at", q.opened_from, q.opened_to)
    sql.extend(" AND " + part for part in period)
    args.extend(period_args)
    # a consulate never learns that a claim exists (LRPCAP art. 9): the asylum process's tasks
    # count for no filter of its own
    open_task = "SELECT 1 FROM task t WHERE t.case_id = c.id AND t.status = 'open'"
    if principal.authority_tipo == CONSULATE:
        open_task += f" AND t.process_id <> '{cases.ASYLUM_PROCESS}'"
    if q.stage:
        sql.append(f" AND EXISTS ({open_task} AND t.process_id = {{}})")
        args.append(q.stage)
    if q.overdue is not None:
        sql.append(" AND " if q.overdue else " AND NOT ")
        sql.append(f"EXISTS ({open_task} AND t.sort_due < {{}})")
        args.append(now)
    if q.authority:
        sql.append(f" AND EXISTS ({open_task} AND t.authority_id = {{}})")
        args.append(await _authority_id(q.authority))
    key = SORTS[q.sort]
    cmp = "<" if q.order == "desc" else ">"
    if q.cursor:
        value_s, id_s = cases.decode_cursor(q.cursor, 2)
        try:
            after_id = cases.cursor_id(id_s)
            after: Any = value_s if q.sort == "folio" else datetime.fromisoformat(value_s)
        except ValueError as exc:
            raise field_error("$.cursor", "invalid cursor") from exc
        sql.append(f" AND ({key} {cmp} {{}} OR ({key} = {{}} AND c.id {cmp} {{}}))")
        args += [after, after, after_id]
    direction = "DESC" if q.order == "desc" else "ASC"
    sql.append(f" ORDER BY {key} {direction}, c.id {direction} LIMIT {{}}")
    args.append(q.limit + 1)
    rows = await Case.raw("".join(sql), *args)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = cases.encode_cursor(last[key.removeprefix("c.")], last["id"])
    await _add_open_tasks(rows, principal, now)
    if q.nombre:  # the names of the page's cases only (not of every hit)
        await _add_names(rows)
    items = [_item(row, bool(q.nombre)) for row in rows]
    if q.nombre:
        async with command(principal.actor, now) as cmd:
            cmd.audit(
                "case.searched",
                changes={
                    "by": "name",
                    # what was asked, never the name typed: the folios it showed
                    "filters": sorted(k for k, v in _filters(q).items() if v is not None),
                    "results": [r["folio"] for r in rows],
                },
            )
    return {"items": items, "next_cursor": next_cursor}


async def _add_names(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    ids = [r["id"] for r in rows]
    placeholders = ", ".join("{}" for _ in ids)
    found = await Case.raw(
        f"SELECT case_id, data FROM case_identity WHERE case_id IN ({placeholders})",  # noqa: S608
        *ids,
    )
    by_case = await personal_data.read_identities(found)
    for row in rows:
        row["identidad"] = by_case.get(row["id"])


async def _authority_id(code: str) -> int:
    """The id of the authority with this code (0, which matches nothing, when none has it)."""
    row = await Authority.select(Authority.id).where(Authority.code == code.strip().upper()).first()
    return row["id"] if row else 0


def _filters(q: CaseQuery) -> dict[str, Any]:
    return {
        "folio": q.folio, "nombre": q.nombre, "estado": q.estado, "municipio": q.municipio,
        "stage": q.stage, "risk": q.risk, "overdue": q.overdue, "authority": q.authority,
        "family_group": q.family_group, "status": q.status, "opened_from": q.opened_from,
        "opened_to": q.opened_to,
    }  # fmt: skip


async def _add_open_tasks(rows: list[dict[str, Any]], principal: Principal, now: datetime):
    """Each case's stages, responsible authorities and overdue flag, from its open tasks (one
    statement for the page)."""
    if not rows:
        return
    ids = [r["id"] for r in rows]
    placeholders = ", ".join("{}" for _ in ids)
    tasks = await Case.raw(
        "SELECT t.case_id, t.process_id, t.due_at, a.code AS authority FROM task t"  # noqa: S608
        " LEFT JOIN authority a ON a.id = t.authority_id"
        f" WHERE t.status = 'open' AND t.case_id IN ({placeholders})",
        *ids,
    )
    hide_asylum = principal.authority_tipo == CONSULATE
    by_case: dict[int, list[dict[str, Any]]] = {}
    for t in tasks:
        if hide_asylum and t["process_id"] == cases.ASYLUM_PROCESS:
            continue
        by_case.setdefault(t["case_id"], []).append(t)
    for row in rows:
        open_tasks = by_case.get(row["id"], [])
        dues = [_aware(t["due_at"]) for t in open_tasks if t["due_at"] is not None]
        row["stages"] = sorted({t["process_id"] for t in open_tasks})
        row["authorities"] = sorted({t["authority"] for t in open_tasks if t["authority"]})
        row["next_due_at"] = min(dues, default=None)
        row["overdue"] = any(d < now for d in dues)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _item(row: dict[str, Any], with_name: bool) -> dict[str, Any]:
    import json

    summary = row["summary"]
    if isinstance(summary, str):
        summary = json.loads(summary or "{}")
    item = {
        "folio": row["folio"],
        "estado": row["estado"],
        "municipio": row["municipio"],
        "status": row["status"],
        "risk": row["risk"],
        "family_group": row["family_group"],
        "summary": summary or {},
        "opened_at": _aware(row["opened_at"]),
        "updated_at": _aware(row["updated_at"]),
        "closed_at": _aware(row["closed_at"]) if row["closed_at"] else None,
        "stages": row["stages"],
        "authorities": row["authorities"],
        "next_due_at": row["next_due_at"],
        "overdue": row["overdue"],
        "nombre": None,
    }
    if with_name:  # only a name search (audited) shows names
        data = row.get("identidad")
        if isinstance(data, str):
            data = json.loads(data or "{}")
        data = data or {}
        item["nombre"] = " ".join(str(data[k]) for k in ("nombres", "apellidos") if data.get(k))
    return item
