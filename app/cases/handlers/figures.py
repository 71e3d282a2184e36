"""The dashboard's figures of a case (``case_figure``): one narrow row per case with what the
oversight dashboard counts, so a period's figures are an aggregate over a small indexed table
instead of the cases' JSON (app/services/dashboard.py).

Written in the command's transaction: the row when the case opens (``case_started``; a reopened
case keeps its first), a stage's first instant when the milestone handler records it
(app/cases/handlers/milestones.py), the first completion of the notification of the
Procuraduría. What it holds is a function of the case row and its
milestones; ``recount()`` derives the same from them, and tests compare the two.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.cases import figure_counts
from app.cases.aggregate import Event
from app.tables import CaseFigure

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: the funnel's stages after detection, each a ``<stage>_at`` column
STAGE_COLUMNS = ("medida", "albergue", "bia", "bid", "solucion")
AGE_BANDS = ("0-5", "6-11", "12-14", "15-17", "18+")
#: ``fecha_deteccion`` as an instant with its zone (the form's date-time); anything else is
#: no known detection instant
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def age_band(value: Any) -> str | None:
    """The age at opening as a band of the disaggregation (None: unknown)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        age = int(value)
    except (TypeError, ValueError):
        return None
    for top, band in ((5, "0-5"), (11, "6-11"), (14, "12-14"), (17, "15-17")):
        if age <= top:
            return band
    return "18+"


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)[:40]


def detected_at(variables: dict[str, Any], opened_at: datetime) -> datetime | None:
    """Detection: ``fecha_deteccion`` when it is an instant with its zone, the opening when it
    is missing, unknown (None) when it is something else (a date alone)."""
    raw = variables.get("fecha_deteccion")
    if raw is None:
        return opened_at
    if not isinstance(raw, str) or not _INSTANT.match(raw):
        return None
    return datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T"))


def values(
    opened_at: datetime, summary: dict[str, Any], variables: dict[str, Any]
) -> dict[str, Any]:
    """The row's columns (but the stages) from the case's opening."""
    return {
        "opened_at": opened_at,
        "detected_at": detected_at(variables, opened_at),
        "sexo": _text(summary.get("sexo")),
        "edad": age_band(summary.get("edad")),
        "nacionalidad": _text(summary.get("nacionalidad")),
        "acompanamiento": _text(summary.get("acompanamiento_declarado")),
    }


async def write(
    case_ids: list[int], opened_at: datetime, summary: dict[str, Any], variables: dict[str, Any]
) -> None:
    """The figures rows of cases opened with these facts (one statement; a case that has its
    row keeps it). The opening writes one; bulk seeders (bench, tests) write theirs here too."""
    if not case_ids:
        return
    cols = values(opened_at, summary, variables)
    one = "(" + ", ".join("{}" for _ in range(len(cols) + 1)) + ")"
    written = await CaseFigure.raw(
        f"INSERT INTO case_figure (case_id, {', '.join(cols)}) VALUES "  # noqa: S608 (constants)
        + ", ".join(one for _ in case_ids)
        + " ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
        *(v for case_id in case_ids for v in (case_id, *cols.values())),
    )
    # the per-day counts of what was written (figure_counts), in the same transaction
    if written:
        counts = {k: n * len(written) for k, n in figure_counts.opening(opened_at, cols).items()}
        await figure_counts.add_days(counts)


async def case_started(session: CaseSession, _: Event) -> None:
    """The case opened: its figures row (a reopened case's run keeps the first one)."""
    row = session.case.row
    if "summary" not in row or "opened_at" not in row:
        return  # a reopening: the row was written when the case opened
    await write([session.case.id], row["opened_at"], row["summary"], row.get("variables") or {})


async def stage_reached(session: CaseSession, stage: str) -> None:
    """A funnel stage's first instant (the milestone handler calls it with the milestone)."""
    if stage not in STAGE_COLUMNS:
        return
    rows = await CaseFigure.raw(
        f"UPDATE case_figure SET {stage}_at = {{}}"  # noqa: S608 (a constant of this module)
        f" WHERE case_id = {{}} AND {stage}_at IS NULL RETURNING opened_at",
        session.now,
        session.case.id,
    )
    for row in rows:  # the first time only: then it is counted (figure_counts)
        await figure_counts.add_days(figure_counts.stage(row["opened_at"], stage, session.now))


#: the task whose completion is the notification of the Procuraduría (D1, LM art. 112 fr. I)
NOTIFY_PROCURADURIA_TASK = "notificar_procuraduria"


async def task_completed(session: CaseSession, event: Event) -> None:
    """The first notification of the Procuraduría: its instant (detection to notification)."""
    if event.data.get("bpmn_id") != NOTIFY_PROCURADURIA_TASK:
        return
    rows = await CaseFigure.raw(
        "UPDATE case_figure SET notified_at = {} WHERE case_id = {} AND notified_at IS NULL"
        " RETURNING opened_at, detected_at",
        session.now,
        session.case.id,
    )
    for row in rows:  # the first notification only: then it is counted (figure_counts)
        await figure_counts.add_days(
            figure_counts.notified(row["opened_at"], row["detected_at"], session.now)
        )
