"""The oversight dashboard beyond deadline compliance: who the children are (sex, age band,
nationality, accompaniment), how far their cases got (a funnel from detection to a protection
measure, a shelter, the BIA, the BID and a durable solution, with counts and median days from
detection), the case lists behind every count (drill-down), and an anonymised export for public
reporting.

The period of the dashboard's case figures is the cases *detected* (opened) in it
(``since`` <= ``nna_case.opened_at`` < ``until``); deadline compliance counts the deadlines
*due* in it (app/services/register_report.py). Every count here is a count of the rows
``cases()`` lists with the same filter, so a drill-down always shows exactly the cases counted.

Stages come from ``case_milestone`` (the first instant a case reached each one, kept by
app/cases/handlers/milestones.py); the characteristics from the case's non-identifying
``summary`` (the opening form's ``sexo``, ``nacionalidad``, ``acompanamiento_declarado`` and the
age at opening). No identity data is read here.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import db
from app.cases.handlers.milestones import STAGE_TASKS, STAGES
from app.errors import Forbidden
from app.principal import Principal
from app.tables import Case

#: the dimensions of the disaggregation: name -> SQL expression over ``c`` (nna_case)
AGE_BANDS = ("0-5", "6-11", "12-14", "15-17", "18+")
_AGE = (
    "CASE WHEN c.summary->>'edad' IS NULL THEN NULL"
    " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 5 THEN '0-5'"
    " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 11 THEN '6-11'"
    " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 14 THEN '12-14'"
    " WHEN CAST(c.summary->>'edad' AS INTEGER) <= 17 THEN '15-17'"
    " ELSE '18+' END"
)
DIMENSIONS: dict[str, str] = {
    "sexo": "c.summary->>'sexo'",
    "edad": _AGE,
    "nacionalidad": "c.summary->>'nacionalidad'",
    "acompanamiento": "c.summary->>'acompanamiento_declarado'",
}
#: what a missing value is shown as (a case opened without the field)
UNKNOWN = "sin_dato"
#: the smallest count the public export shows; smaller cells are suppressed
SUPPRESS_BELOW = 5
SUPPRESSED = "<5"


def _oversight_only(principal: Principal) -> None:
    if not principal.is_oversight:
        raise Forbidden("oversight only")


@dataclass(frozen=True)
class CaseFilter:
    """Cases detected in [since, until), optionally of one state, with one value of each
    dimension (``UNKNOWN`` for a missing one) and having reached one stage."""

    since: datetime | None = None
    until: datetime | None = None
    estado: str | None = None
    stage: str | None = None
    sexo: str | None = None
    edad: str | None = None
    nacionalidad: str | None = None
    acompanamiento: str | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """The WHERE clause over ``nna_case c`` (Piccolo's ``{}`` placeholders) and its values."""
        parts, args = ["1 = 1"], []
        if self.since is not None:
            parts.append("c.opened_at >= {}")
            args.append(self.since)
        if self.until is not None:
            parts.append("c.opened_at < {}")
            args.append(self.until)
        if self.estado:
            parts.append("c.estado = {}")
            args.append(self.estado)
        for name, expr in DIMENSIONS.items():
            value = getattr(self, name)
            if value == UNKNOWN:
                parts.append(f"({expr}) IS NULL")
            elif value:
                parts.append(f"({expr}) = {{}}")
                args.append(value)
        if self.stage and self.stage != "deteccion":
            parts.append(
                "EXISTS (SELECT 1 FROM case_milestone m WHERE m.case_id = c.id AND m.stage = {})"
            )
            args.append(self.stage)
        return " AND ".join(parts), args


async def _raw(sql: str, args: list[Any]) -> list[dict[str, Any]]:
    return await Case.raw(sql, *args)


async def disaggregation(flt: CaseFilter) -> dict[str, list[dict[str, Any]]]:
    """Cases per value of each dimension (one grouped query; summed here per dimension)."""
    where, args = flt.sql()
    cols = ", ".join(f"{expr} AS {name}" for name, expr in DIMENSIONS.items())
    rows = await _raw(
        f"SELECT {cols}, COUNT(*) AS n FROM nna_case c WHERE {where}"  # noqa: S608 (constants)
        f" GROUP BY {', '.join(str(i + 1) for i in range(len(DIMENSIONS)))}",
        args,
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for name in DIMENSIONS:
        counts: dict[str, int] = {}
        for r in rows:
            value = r[name] if r[name] not in (None, "") else UNKNOWN
            counts[str(value)] = counts.get(str(value), 0) + r["n"]
        order = list(AGE_BANDS) + [UNKNOWN] if name == "edad" else None
        keys = sorted(counts, key=lambda k: (order.index(k) if order and k in order else 99, k))
        if name != "edad":
            keys = sorted(counts, key=lambda k: (k == UNKNOWN, -counts[k], k))
        out[name] = [{"value": k, "n": counts[k]} for k in keys]
    return out


async def funnel(flt: CaseFilter) -> list[dict[str, Any]]:
    """Per stage: the cases detected in the period that reached it, and the median days from
    detection (the case's opening) to reaching it."""
    where, args = flt.sql()
    total = (await _raw(f"SELECT COUNT(*) AS n FROM nna_case c WHERE {where}", args))[0]["n"]  # noqa: S608
    medians: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    join = (
        "FROM case_milestone m JOIN nna_case c ON c.id = m.case_id"
        f" WHERE {where}"  # noqa: S608 (constants and placeholders)
    )
    if db.is_sqlite():
        rows = await _raw(
            "SELECT m.stage AS stage,"
            " julianday(m.reached_at) - julianday(c.opened_at) AS days " + join,
            args,
        )
        by_stage: dict[str, list[float]] = {}
        for r in rows:
            by_stage.setdefault(r["stage"], []).append(float(r["days"]))
        for stage, days in by_stage.items():
            counts[stage] = len(days)
            medians[stage] = statistics.median(days)
    else:
        median = (
            "percentile_cont(0.5) WITHIN GROUP"
            " (ORDER BY EXTRACT(EPOCH FROM (m.reached_at - c.opened_at)) / 86400)"
        )
        rows = await _raw(
            f"SELECT m.stage AS stage, COUNT(*) AS n, {median} AS days {join} GROUP BY m.stage",
            args,
        )
        for r in rows:
            counts[r["stage"]] = r["n"]
            medians[r["stage"]] = float(r["days"]) if r["days"] is not None else None
    out = [{"stage": "deteccion", "n": total, "median_days": 0.0 if total else None}]
    for stage in STAGE_TASKS:
        days = medians.get(stage)
        out.append(
            {
                "stage": stage,
                "n": counts.get(stage, 0),
                "median_days": round(max(days, 0.0), 1) if days is not None else None,
            }
        )
    return out


async def report(principal: Principal, flt: CaseFilter) -> dict[str, Any]:
    """The dashboard's case figures for oversight: disaggregation and funnel."""
    _oversight_only(principal)
    return {"disaggregation": await disaggregation(flt), "funnel": await funnel(flt)}


async def cases(
    principal: Principal, flt: CaseFilter, *, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """The cases a count of the dashboard counts (oversight only), by id (keyset)."""
    _oversight_only(principal)
    where, args = flt.sql()
    if after is not None:
        where += " AND c.id > {}"
        args = [*args, after]
    return await _raw(
        "SELECT c.id AS id, c.folio AS folio, c.estado AS estado, c.status AS status,"  # noqa: S608
        " c.risk AS risk, c.opened_at AS opened_at"
        f" FROM nna_case c WHERE {where} ORDER BY c.id LIMIT {int(limit)}",
        args,
    )


# ----------------------------------------------------------------------------- public export
def _cell(n: int) -> str:
    return SUPPRESSED if n < SUPPRESS_BELOW else str(n)


def _suppress(rows: list[tuple[str, str, int]]) -> list[tuple[str, ...]]:
    """One table's rows (table, value, count) with every count under 5 suppressed; when exactly
    one cell of a table would be suppressed, the next smallest is suppressed too, so a total
    published elsewhere cannot give it back (secondary suppression)."""
    small = [i for i, r in enumerate(rows) if r[2] < SUPPRESS_BELOW]
    hidden = set(small)
    if len(small) == 1 and len(rows) > 1:
        rest = sorted((r[2], i) for i, r in enumerate(rows) if i not in hidden)
        hidden.add(rest[0][1])
    return [(t, v, SUPPRESSED if i in hidden else _cell(n)) for i, (t, v, n) in enumerate(rows)]


PUBLIC_COLUMNS = ("tabla", "valor", "cifra")
#: the register's statuses as the export names them
PUBLIC_STATUS = {
    "deadlines": "total",
    "met": "cumplidos",
    "breached": "incumplidos",
    "breached_open": "incumplidos_abiertos",
}


def public_rows(dash: dict[str, Any], compliance: dict[str, Any]) -> list[tuple[str, ...]]:
    """The anonymised tables: counts only (no folio, no case id, no identity field, no date of
    a single case), every count under 5 suppressed, percentages only over 5 or more decided
    deadlines."""
    out: list[tuple[str, ...]] = []
    for dim, values in dash["disaggregation"].items():
        out += _suppress([(f"ninas_ninos_por_{dim}", v["value"], v["n"]) for v in values])
    out += _suppress([("embudo_casos", f["stage"], f["n"]) for f in dash["funnel"]])
    for f in dash["funnel"]:
        if f["n"] >= SUPPRESS_BELOW and f["median_days"] is not None:
            out.append(("embudo_mediana_dias", f["stage"], str(f["median_days"])))
    for key, table in (("plazo", "by_deadline"), ("autoridad", "by_authority"),
                       ("entidad", "by_state")):  # fmt: skip
        for status, word in PUBLIC_STATUS.items():
            rows = [(f"plazos_{word}_por_{key}", r["key"] or UNKNOWN, r[status])
                    for r in compliance[table]]  # fmt: skip
            out += _suppress(rows)
        for r in compliance[table]:
            decided = r["met"] + r["breached"]
            if decided >= SUPPRESS_BELOW and r["on_time_pct"] is not None:
                out.append((f"plazos_a_tiempo_pct_por_{key}", r["key"] or UNKNOWN,
                            str(r["on_time_pct"])))  # fmt: skip
    return out


def public_csv(rows: list[tuple[str, ...]]) -> str:
    """The export as CSV with a byte-order mark (spreadsheet programs read the accents)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(PUBLIC_COLUMNS)
    writer.writerows(rows)
    return buf.getvalue()


__all__ = ["STAGES", "CaseFilter", "cases", "public_csv", "public_rows", "report"]
