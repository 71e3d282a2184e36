"""In-app notifications, oversight breaches and the deadline compliance report.

Compliance is counted from the deadline register (every deadline instance of every case, never
deleted: app/services/register_report.py), per deadline (``config/plazos.toml`` id), authority
and state; the workload from the open task index.
"""

from __future__ import annotations

import csv
import io
import statistics
from datetime import datetime
from typing import Any

from app.clock import utcnow
from app.command import command
from app.errors import Forbidden, NotFound
from app.principal import Principal
from app.services import calendars, custody, register_report, route_versions
from app.tables import Case, CaseAccess, DeadlineEscalation, Notification, Task

#: The task whose completion is the notification of the Procuraduría (D1, LM art. 112 fr. I).
NOTIFY_PROCURADURIA_TASK = "notificar_procuraduria"


# ----------------------------------------------------------------------------- notifications
async def my_notifications(
    principal: Principal, *, unread: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    query = (
        Notification.select(
            Notification.id,
            Notification.kind,
            Notification.case_folio,
            Notification.task_id,
            Notification.task_bpmn_id,
            Notification.plazo_id,
            Notification.level,
            Notification.due_at,
            Notification.created_at,
            Notification.read_at,
        )
        .where(Notification.user == principal.user_id)
        .order_by(Notification.id, ascending=False)
        .limit(limit)
    )
    if unread:
        query = query.where(Notification.read_at.is_null())
    rows = await query
    # An authority that lost access to a case (the child moved on) no longer learns its folio or
    # its task from old notifications (issue 15): the notification stays, without them.
    if not principal.is_oversight:
        hidden = await _folios_out_of_reach(principal, {r["case_folio"] for r in rows})
        for row in rows:
            if row["case_folio"] in hidden:
                row.update(case_folio=None, task_id=None, task_bpmn_id=None)
    # The task's name and state, so a reader knows what is late without opening the case.
    task_ids = sorted({r["task_id"] for r in rows if r["task_id"]})
    tasks: dict[str, dict[str, Any]] = {}
    if task_ids:
        for t in await Task.select(Task.task_id, Task.name, Task.name_en, Task.status).where(
            Task.task_id.is_in(task_ids)
        ):
            tasks[t["task_id"]] = t
    for row in rows:
        task = tasks.get(row["task_id"]) or {}
        row["task_name"] = task.get("name")
        row["task_name_en"] = task.get("name_en")
        row["task_status"] = task.get("status")
    return rows


async def _folios_out_of_reach(principal: Principal, folios: set[str | None]) -> set[str]:
    """Of ``folios``, those whose case the principal's authority may not see (now)."""
    wanted = sorted(f for f in folios if f)
    if not wanted:
        return set()
    rows = await Case.select(Case.id, Case.folio).where(Case.folio.is_in(wanted))
    if not rows:
        return set(wanted)
    visible = {
        r["case_id"]
        for r in await CaseAccess.select(CaseAccess.case.as_alias("case_id")).where(
            CaseAccess.case.is_in([r["id"] for r in rows])
            & (CaseAccess.authority == principal.authority_id)
            & CaseAccess.active.eq(True)
        )
    }
    seen = {r["folio"] for r in rows if r["id"] in visible}
    return set(wanted) - seen


async def unread_count(principal: Principal) -> int:
    return await Notification.count().where(
        (Notification.user == principal.user_id) & Notification.read_at.is_null()
    )


async def mark_read(principal: Principal, notification_id: int) -> dict[str, Any]:
    """Mark one of my notifications read (someone else's answers 404)."""
    async with command(principal.actor) as cmd:
        row = (
            await Notification.select(Notification.id, Notification.read_at)
            .where((Notification.id == notification_id) & (Notification.user == principal.user_id))
            .first()
        )
        if row is None:
            raise NotFound("notification not found")
        read_at = row["read_at"] or cmd.now
        if row["read_at"] is None:
            await Notification.update({Notification.read_at: read_at}).where(
                Notification.id == notification_id
            )
    return {"id": notification_id, "read_at": read_at}


# ----------------------------------------------------------------------------- breaches
def _oversight_only(principal: Principal) -> None:
    if not principal.is_oversight:
        raise Forbidden("oversight only")


async def breaches(principal: Principal, *, open_only: bool = False) -> list[dict[str, Any]]:
    """Oversight breach records (level-3 escalations), newest first, with the task's status."""
    _oversight_only(principal)
    rows = (
        await DeadlineEscalation.select(
            DeadlineEscalation.id,
            DeadlineEscalation.case_folio,
            DeadlineEscalation.task_id,
            DeadlineEscalation.task_bpmn_id,
            DeadlineEscalation.plazo_id,
            DeadlineEscalation.authority.code.as_alias("authority"),
            DeadlineEscalation.estado,
            DeadlineEscalation.due_at,
            DeadlineEscalation.fired_at,
            DeadlineEscalation.legal_source,
        )
        .where(DeadlineEscalation.level >= 3)
        .order_by(DeadlineEscalation.id, ascending=False)
    )
    status = await _task_status([r["task_id"] for r in rows])
    out = []
    for r in rows:
        r["task_status"] = status.get(r["task_id"], "unknown")
        r["open"] = r["task_status"] == "open"
        if not open_only or r["open"]:
            out.append(r)
    return out


async def _task_status(task_ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(task_ids), 500):
        chunk = task_ids[i : i + 500]
        rows = await Task.select(Task.task_id, Task.status).where(Task.task_id.is_in(chunk))
        out.update({r["task_id"]: r["status"] for r in rows})
    return out


# ----------------------------------------------------------------------------- compliance
async def compliance(
    principal: Principal,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    plazo_id: str | None = None,
    authority: str | None = None,
    estado: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Deadline compliance from the deadline register (app/services/register_report.py): per
    deadline, authority and state, for deadlines due between ``since`` and ``until``; open
    breaches with their lateness. Also each authority's open work now, cases by risk and status,
    the time from detection to the notification of the Procuraduría, and children held in
    migration stations (LM art. 99: must be 0)."""
    _oversight_only(principal)
    now = now or utcnow()
    flt = register_report.RegisterFilter(
        since=since, until=until, plazo_id=plazo_id, authority=authority, estado=estado
    )
    return {
        "generated_at": now,
        "since": since,
        "until": until,
        "plazo_id": plazo_id,
        "authority": authority,
        "estado": estado,
        "deadlines": await register_report.compliance(flt, now),
        "workload": await _workload(now),
        **await _cases_by_status_and_risk(),
        "procuraduria_notification": await _notification_times(since, until),
        "children_in_migration_stations": await custody.oversight_figures(since, until, now),
        "calendar_warnings": await calendars.warnings(now),
        "route_versions": await route_versions.versions(),
    }


async def deadline_rows(
    principal: Principal, flt: register_report.RegisterFilter, *, limit: int, after: int | None
) -> list[dict[str, Any]]:
    """The register rows behind the report's counts (oversight only), by id."""
    _oversight_only(principal)
    return await register_report.rows(flt, limit=limit, after=after)


async def _workload(now: datetime) -> list[dict[str, Any]]:
    """Open tasks per authority now: how many, how many overdue, how many escalated (one
    grouped query: the index of open tasks can be large)."""
    # grouped by id over the partial index of open work (authority, due, escalation) alone;
    # the codes are joined to the few groups
    rows = await Task.raw(
        "SELECT a.code AS authority, w.open_tasks, w.open_overdue, w.escalated FROM ("
        "SELECT t.authority_id, COUNT(*) AS open_tasks,"
        " SUM(CASE WHEN t.due_at IS NOT NULL AND t.due_at < {} THEN 1 ELSE 0 END) AS open_overdue,"
        " SUM(CASE WHEN t.escalation_level > 0 THEN 1 ELSE 0 END) AS escalated"
        " FROM task t WHERE t.status = 'open' GROUP BY t.authority_id) w"
        " LEFT JOIN authority a ON a.id = w.authority_id",
        now,
    )
    out = [
        {
            "authority": r["authority"] or "(unroutable)",
            "open_tasks": int(r["open_tasks"]),
            "open_overdue": int(r["open_overdue"] or 0),
            "escalated": int(r["escalated"] or 0),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: r["authority"])


async def _cases_by_status_and_risk() -> dict[str, list[dict[str, Any]]]:
    """Cases per status, and open cases per risk: the kept counts (``case_count``, moved by the
    case command path as a case's status or risk changes: app/cases/figure_counts.py)."""
    rows = await Case.raw("SELECT status, risk, n FROM case_count WHERE n <> 0")
    by_status: dict[Any, int] = {}
    by_risk: dict[Any, int] = {}
    for r in rows:
        risk = r["risk"] or None
        by_status[r["status"]] = by_status.get(r["status"], 0) + int(r["n"])
        if r["status"] == "open":
            by_risk[risk] = by_risk.get(risk, 0) + int(r["n"])
    return {
        "cases_by_risk": [
            {"risk": k, "n": v} for k, v in sorted(by_risk.items(), key=lambda i: str(i[0] or ""))
        ],
        "cases_by_status": [
            {"status": k, "n": v}
            for k, v in sorted(by_status.items(), key=lambda i: str(i[0] or ""))
        ],
    }


async def _notification_times(since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """Hours from detection to the first notification of the Procuraduría (LM art. 112 fr. I:
    immediately; INM protocol: within 24 h), for the cases detected in the period (as the
    dashboard's other case figures). Both instants are in the case's figures row
    (``case_figure``: ``detected_at`` is ``fecha_deteccion`` when it is an instant, else the
    opening; ``notified_at`` the first completion of ``notificar_procuraduria``;
    app/cases/handlers/figures.py), so one scan of the period's rows gives them."""
    from app import db
    from app.cases import figure_counts
    from app.services import dashboard, periods

    if periods.whole_days(since, until):
        # the kept hour histogram (case_day): median and maximum to within half an hour
        kept = await dashboard.day_counts(since, until)
        histogram = kept.get(figure_counts.NOTIFIED, {})
        median = dashboard.hours_median(histogram)
        top = max((int(h) for h in histogram), default=None)
        return {
            "notified": sum(histogram.values()),
            "median_hours": round(median, 1) if median is not None else None,
            "max_hours": figure_counts.middle_hours(top) if top is not None else None,
            "within_24h": sum(kept.get(figure_counts.NOTIFIED_24H, {}).values()),
            "within_hours": 0.5,
        }
    where, args = periods.between("f.opened_at", since, until)
    where = ["f.notified_at IS NOT NULL", "f.detected_at IS NOT NULL", *where]
    scan = "FROM case_figure f WHERE " + " AND ".join(where)
    if not db.is_sqlite():
        hours = "EXTRACT(EPOCH FROM (f.notified_at - f.detected_at)) / 3600"
        r = (
            await Task.raw(
                f"SELECT COUNT(*) AS notified, percentile_cont(0.5) WITHIN GROUP"  # noqa: S608
                f" (ORDER BY {hours}) AS median, MAX({hours}) AS max,"
                f" COUNT(*) FILTER (WHERE {hours} <= 24) AS within {scan}",
                *args,
            )
        )[0]
        return {
            "notified": int(r["notified"]),
            "median_hours": round(float(r["median"]), 2) if r["median"] is not None else None,
            "max_hours": round(float(r["max"]), 2) if r["max"] is not None else None,
            "within_24h": int(r["within"]),
            "within_hours": 0.0,
        }
    rows = await Task.raw(f"SELECT f.notified_at, f.detected_at {scan}", *args)  # noqa: S608
    values = [(r["notified_at"] - r["detected_at"]).total_seconds() / 3600 for r in rows]
    return {
        "notified": len(values),
        "median_hours": round(statistics.median(values), 2) if values else None,
        "max_hours": round(max(values), 2) if values else None,
        "within_24h": sum(1 for h in values if h <= 24),
        "within_hours": 0.0,
    }


COMPLIANCE_COLUMNS = (
    "deadline_id",
    "authority",
    "estado",
    "deadlines",
    "running",
    "met",
    "breached",
    "breached_open",
    "cancelled",
    "on_time_pct",
    "median_hours_late",
)


def compliance_csv(report: dict[str, Any]) -> str:
    """The report's rows (deadline x authority x state) as CSV, with a byte-order mark so
    spreadsheet programs read the accents right."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(COMPLIANCE_COLUMNS)
    for row in report["deadlines"]["rows"]:
        writer.writerow(["" if row[c] is None else row[c] for c in COMPLIANCE_COLUMNS])
    return buf.getvalue()
