"""The oversight dashboard beyond deadline compliance: who the children are (sex, age band,
nationality, accompaniment), how far their cases got (a funnel from detection to a protection
measure, a shelter, the BIA, the BID and a durable solution, with counts and median days from
detection), the case lists behind every count (drill-down), and an anonymised export for public
reporting.

The period of the dashboard's case figures is the cases *detected* (opened) in it
(``since`` <= ``nna_case.opened_at`` < ``until``); deadline compliance counts the deadlines
*due* in it (app/services/register_report.py). Every count here is a count of the rows
``cases()`` lists with the same filter, so a drill-down always shows exactly the cases counted.

Everything is counted from ``case_figure`` (app/cases/handlers/figures.py): one narrow row
per case, written in the command's transaction, with the opening form's non-identifying
characteristics (``sexo``, ``nacionalidad``, ``acompanamiento_declarado``, the age band at
opening) and the first instant each stage was reached (the milestones of
app/cases/handlers/milestones.py). A period is a range of its ``opened_at`` index, so the
figures of a month are an aggregate over that month's rows, not over every case's JSON.
``recount`` (tests) derives the same figures from ``nna_case`` and ``case_milestone``. No
identity data is read here.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import db
from app.cases import figure_counts
from app.cases.handlers import figures
from app.cases.handlers.milestones import STAGE_TASKS, STAGES
from app.errors import Forbidden
from app.principal import Principal
from app.services import periods, register_report
from app.tables import Case

#: the dimensions of the disaggregation: name -> column of ``case_figure f``
AGE_BANDS = figures.AGE_BANDS
DIMENSIONS: dict[str, str] = {
    "sexo": "f.sexo",
    "edad": "f.edad",
    "nacionalidad": "f.nacionalidad",
    "acompanamiento": "f.acompanamiento",
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
        """The WHERE clause over ``case_figure f`` (Piccolo's ``{}`` placeholders) and its
        values; the state is the case's (``nna_case``) now."""
        parts, args = periods.between("f.opened_at", self.since, self.until)
        parts.insert(0, "1 = 1")
        if self.estado:
            parts.append(
                "EXISTS (SELECT 1 FROM nna_case c WHERE c.id = f.case_id AND c.estado = {})"
            )
            args.append(self.estado)
        for name, column in DIMENSIONS.items():
            value = getattr(self, name)
            if value == UNKNOWN:
                parts.append(f"{column} IS NULL")
            elif value:
                parts.append(f"{column} = {{}}")
                args.append(value)
        if self.stage in STAGE_TASKS:  # a constant: the column's name
            parts.append(f"f.{self.stage}_at IS NOT NULL")
        return " AND ".join(parts), args

    def kept(self) -> bool:
        """Whether the per-day counts (``case_day``) answer this filter: a period of whole
        days, nothing else asked (the state is the case's now, not kept per day)."""
        only_period = (
            not self.estado
            and not self.stage
            and not any(getattr(self, name) for name in DIMENSIONS)
        )
        return only_period and periods.whole_days(self.since, self.until)


async def day_counts(since: datetime | None, until: datetime | None) -> dict[str, dict[str, int]]:
    """The period's kept case counts (``case_day``, app/cases/figure_counts.py): figure ->
    value -> cases."""
    parts, args = periods.days_between("d.day", since, until)
    where = " AND ".join(["d.n <> 0", *parts])
    rows = await _raw(
        "SELECT d.figure, d.value, SUM(d.n) AS n FROM case_day d"  # noqa: S608 (constants)
        f" WHERE {where} GROUP BY d.figure, d.value",
        args,
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        if int(r["n"]):
            out.setdefault(r["figure"], {})[r["value"]] = int(r["n"])
    return out


def hours_median(histogram: dict[str, int]) -> float | None:
    """The median of an hour histogram (value: whole hours), each hour standing for its
    middle: within half an hour of the exact median."""
    return register_report.weighted_median(
        [(figure_counts.middle_hours(int(h)), n) for h, n in histogram.items()]
    )


async def _raw(sql: str, args: list[Any]) -> list[dict[str, Any]]:
    return await Case.raw(sql, *args)


def _ordered(name: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    if name == "edad":
        order = [*AGE_BANDS, UNKNOWN]
        keys = sorted(counts, key=lambda k: (order.index(k) if k in order else 99, k))
    else:
        keys = sorted(counts, key=lambda k: (k == UNKNOWN, -counts[k], k))
    return [{"value": k, "n": counts[k]} for k in keys]


async def disaggregation(
    flt: CaseFilter, kept: dict[str, dict[str, int]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Cases per value of each dimension: from the per-day counts (``kept``, a period of whole
    days), else one pass over the period's rows (grouping sets) on PostgreSQL, one grouped
    count per dimension on SQLite."""
    if kept is not None:
        out = {}
        for name in DIMENSIONS:
            counts: dict[str, int] = {}
            for value, n in kept.get(name, {}).items():
                value = value or UNKNOWN
                counts[value] = counts.get(value, 0) + n
            out[name] = _ordered(name, counts)
        return out
    where, args = flt.sql()
    if db.is_sqlite():
        parts = [
            f"SELECT '{name}' AS dim, {column} AS value, COUNT(*) AS n"  # noqa: S608 (constants)
            f" FROM case_figure f WHERE {where} GROUP BY {column}"
            for name, column in DIMENSIONS.items()
        ]
        rows = await _raw(" UNION ALL ".join(parts), args * len(parts))
    else:
        columns = ", ".join(DIMENSIONS.values())
        sets = ", ".join(f"({c})" for c in DIMENSIONS.values())
        grouped = await _raw(
            f"SELECT {columns}, COUNT(*) AS n, GROUPING({columns}) AS g"  # noqa: S608
            f" FROM case_figure f WHERE {where} GROUP BY GROUPING SETS ({sets})",
            args,
        )
        names = list(DIMENSIONS)
        rows = []
        for r in grouped:
            # GROUPING's bits: the dimension grouped on is the one bit not set
            bit = next(i for i in range(len(names)) if not (r["g"] >> (len(names) - 1 - i)) & 1)
            rows.append({"dim": names[bit], "value": r[names[bit]], "n": r["n"]})
    counts: dict[str, dict[str, int]] = {name: {} for name in DIMENSIONS}
    for r in rows:
        value = str(r["value"]) if r["value"] not in (None, "") else UNKNOWN
        counts[r["dim"]][value] = counts[r["dim"]].get(value, 0) + int(r["n"])
    return {name: _ordered(name, counts[name]) for name in DIMENSIONS}


def _funnel_rows(
    total: int, counts_of: dict[str, int], medians: dict[str, float | None]
) -> list[dict[str, Any]]:
    out = [{"stage": "deteccion", "n": total, "median_days": 0.0 if total else None}]
    for stage in STAGE_TASKS:
        days = medians.get(stage)
        out.append(
            {
                "stage": stage,
                "n": counts_of[stage],
                "median_days": round(max(days, 0.0), 1) if days is not None else None,
            }
        )
    return out


async def funnel(
    flt: CaseFilter, kept: dict[str, dict[str, int]] | None = None
) -> list[dict[str, Any]]:
    """Per stage: the cases detected in the period that reached it, and the median days from
    detection (the case's opening) to reaching it: from the per-day hour histograms (``kept``,
    a period of whole days; within half an hour of the exact median), else exact from the
    period's rows (one statement)."""
    if kept is not None:
        medians: dict[str, float | None] = {}
        for stage in STAGE_TASKS:
            hours = hours_median(kept.get(stage, {}))
            medians[stage] = hours / 24 if hours is not None else None
        return _funnel_rows(
            sum(kept.get(figure_counts.CASES, {}).values()),
            {s: sum(kept.get(s, {}).values()) for s in STAGE_TASKS},
            medians,
        )
    where, args = flt.sql()
    counts = ", ".join(f"COUNT(f.{s}_at) AS n_{s}" for s in STAGE_TASKS)
    medians = {}
    if db.is_sqlite():
        days = ", ".join(
            f"julianday(f.{s}_at) - julianday(f.opened_at) AS d_{s}" for s in STAGE_TASKS
        )
        rows = await _raw(f"SELECT {days} FROM case_figure f WHERE {where}", args)  # noqa: S608
        total = len(rows)
        counts_of = {s: 0 for s in STAGE_TASKS}
        for stage in STAGE_TASKS:
            found = [float(r[f"d_{stage}"]) for r in rows if r[f"d_{stage}"] is not None]
            counts_of[stage] = len(found)
            medians[stage] = statistics.median(found) if found else None
    else:
        median = ", ".join(
            "percentile_cont(0.5) WITHIN GROUP"
            f" (ORDER BY EXTRACT(EPOCH FROM (f.{s}_at - f.opened_at)) / 86400) AS d_{s}"
            for s in STAGE_TASKS
        )
        row = (
            await _raw(
                f"SELECT COUNT(*) AS n, {counts}, {median} FROM case_figure f WHERE {where}",  # noqa: S608
                args,
            )
        )[0]
        total = int(row["n"])
        counts_of = {s: int(row[f"n_{s}"]) for s in STAGE_TASKS}
        for stage in STAGE_TASKS:
            value = row[f"d_{stage}"]
            medians[stage] = float(value) if value is not None else None
    return _funnel_rows(total, counts_of, medians)


async def report(principal: Principal, flt: CaseFilter) -> dict[str, Any]:
    """The dashboard's case figures for oversight: disaggregation and funnel (from the per-day
    counts when the filter is a period of whole days: ``approx_median`` then says the funnel's
    medians are within half an hour)."""
    _oversight_only(principal)
    kept = await day_counts(flt.since, flt.until) if flt.kept() else None
    return {
        "disaggregation": await disaggregation(flt, kept),
        "funnel": await funnel(flt, kept),
        "approx_median": kept is not None,
    }


async def cases(
    principal: Principal, flt: CaseFilter, *, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """The cases a count of the dashboard counts (oversight only), by id (keyset)."""
    _oversight_only(principal)
    where, args = flt.sql()
    if after is not None:
        where += " AND f.case_id > {}"
        args = [*args, after]
    return await _raw(
        "SELECT c.id AS id, c.folio AS folio, c.estado AS estado, c.status AS status,"  # noqa: S608
        " c.risk AS risk, c.opened_at AS opened_at"
        f" FROM case_figure f JOIN nna_case c ON c.id = f.case_id WHERE {where}"
        f" ORDER BY f.case_id LIMIT {int(limit)}",
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
