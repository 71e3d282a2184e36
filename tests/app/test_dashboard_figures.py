"""The dashboard's kept figures equal a recount from the rows they summarise (issue 14).

The compliance report reads the deadline register's per-day counts (``register_day``,
app/cases/register_counts.py) and the case figures from ``case_figure``
(app/cases/handlers/figures.py), both written in the commands' transactions. After random
activity through the API and the deadline worker (cases opened with random characteristics and
detection instants, tasks completed in time and late, deadlines breached by the worker, a task
done after its breach), every count must equal a recount from ``deadline_register``,
``nna_case``, ``case_milestone`` and the task index, for the whole time and for random
periods of whole days. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import random
import statistics
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.cases.handlers import figures
from app.clock import set_clock
from app.services import dashboard, deadlines, register_report
from app.tables import Case, CaseFigure, CaseMilestone, Task
from tests.app.helpers import opening_form

MX = ZoneInfo("America/Mexico_City")
OFFICER = "inm-07.officer"


def _midnight(day) -> datetime:
    return datetime.combine(day, time(0), MX).astimezone(UTC)


async def _random_activity(api, rng: random.Random) -> list[str]:
    """Cases opened an hour ago (detected up to 40 h before), some driven to a protection
    measure, some notified in time; then the worker fires every deadline due in the next 30 h
    (breaches, escalations) and one breached task is done late."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    folios = []
    set_clock(lambda: t0)
    try:
        for _ in range(6):
            detected = t0 - timedelta(hours=rng.choice([0, 2, 30, 40]))
            form = opening_form(
                sexo=rng.choice(["mujer", "hombre", "intersexual"]),
                nacionalidad=rng.choice(["GTM", "HND", "VEN"]),
                acompanamiento_declarado=rng.choice(["acompanado", "no_acompanado", "separado"]),
                fecha_deteccion=detected.isoformat().replace("+00:00", "Z"),
            )
            if rng.random() < 0.5:
                form.pop("edad_estimada", None)
            r = await api.post(OFFICER, "/api/v1/cases", json={"form": form,
                               "identidad": {"nombres": "Cifra", "apellidos": "Recuento"}})  # fmt: skip
            assert r.status_code == 201, r.text
            folios.append(r.json()["folio"])
        for folio in folios:
            await api.complete(folio, "registrar_deteccion")
            if rng.random() < 0.5:
                await api.complete(folio, "notificar_procuraduria")
    finally:
        set_clock(None)
    # a case as the form examples open it (their dates), driven to a protection measure
    r = await api.post(OFFICER, "/api/v1/cases", json={"form": opening_form(sexo="mujer"),
                       "identidad": {"nombres": "Cifra", "apellidos": "Medida"}})  # fmt: skip
    assert r.status_code == 201, r.text
    await api.drive_until(r.json()["folio"], "emitir_medida_proteccion")
    await api.complete(r.json()["folio"], "emitir_medida_proteccion")
    await deadlines.sweep(t0 + timedelta(hours=30))
    late = None
    for folio in folios[1:]:
        if "notificar_procuraduria" in {t["bpmn_id"] for t in await api.open_tasks(folio)}:
            late = folio
            break
    if late is not None:
        await api.complete(late, "notificar_procuraduria")  # breached, then done: stays breached
    return folios


def _as_dict(rows) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for r in rows:
        k = (r["plazo_id"], r["authority_id"] or 0, r["estado"] or "", r["status"], int(r["open"]))
        out[k] = out.get(k, 0) + int(r["n"])
    return {k: n for k, n in out.items() if n}


async def _case_recount(since: datetime | None, until: datetime | None):
    """Disaggregation, funnel counts and notification hours from nna_case, case_milestone
    and the task index (no case_figure)."""
    rows = await Case.select(Case.id, Case.opened_at, Case.summary, Case.variables)
    cases = {
        r["id"]: r
        for r in rows
        if (since is None or r["opened_at"] >= since) and (until is None or r["opened_at"] < until)
    }
    dims: dict[str, dict[str, int]] = {d: {} for d in dashboard.DIMENSIONS}
    for r in cases.values():
        s = r["summary"] if isinstance(r["summary"], dict) else json.loads(r["summary"] or "{}")
        values = {
            "sexo": s.get("sexo"),
            "edad": figures.age_band(s.get("edad")),
            "nacionalidad": s.get("nacionalidad"),
            "acompanamiento": s.get("acompanamiento_declarado"),
        }
        for d, v in values.items():
            v = dashboard.UNKNOWN if v in (None, "") else str(v)
            dims[d][v] = dims[d].get(v, 0) + 1
    stages: dict[str, int] = {}
    for m in await CaseMilestone.select(
        CaseMilestone.case.as_alias("case_id"), CaseMilestone.stage
    ):
        if m["case_id"] in cases:
            stages[m["stage"]] = stages.get(m["stage"], 0) + 1
    notified: dict[int, datetime] = {}
    for t in await Task.select(Task.case.as_alias("case_id"), Task.completed_at).where(
        (Task.bpmn_id == "notificar_procuraduria") & (Task.status == "completed")
    ):
        if t["case_id"] in cases and t["completed_at"] is not None:
            first = notified.get(t["case_id"])
            notified[t["case_id"]] = min(first, t["completed_at"]) if first else t["completed_at"]
    # Detection as recorded when the case opened (the figures row keeps it): the stored case
    # variables are not a source here, because other tests rewrite them to simulate a corrupt
    # store (tests/app/test_date_bounds.py writes fecha_deteccion "9999-12-31"). The notification
    # instant and the period come from the task index and the case rows, independently.
    opened_detection = {
        r["case_id"]: r["detected_at"]
        for r in await CaseFigure.select(
            CaseFigure.case.as_alias("case_id"), CaseFigure.detected_at
        )
    }
    hours = []
    for case_id, at in notified.items():
        detected = opened_detection.get(case_id)
        if detected is not None:
            hours.append((at - detected).total_seconds() / 3600)
    return len(cases), dims, stages, hours


async def test_kept_counts_equal_a_recount_from_the_rows_after_random_activity(api):
    rng = random.Random(14)
    await _random_activity(api, rng)
    today = datetime.now(MX).date()
    periods = [(None, None), (_midnight(today - timedelta(days=1)), None)]
    for _ in range(4):
        start = today - timedelta(days=rng.randint(-2, 5))
        periods.append((_midnight(start), _midnight(start + timedelta(days=rng.randint(1, 4)))))
    checked = 0
    for since, until in periods:
        flt = register_report.RegisterFilter(since=since, until=until)
        assert register_report.whole_days(flt)
        kept = _as_dict(await register_report.counted(flt))
        assert kept == _as_dict(await register_report.recount(flt)), (since, until)
        checked += sum(kept.values())
        # the report shows the kept counts; breaches are facts: counted, open or closed
        report = await register_report.compliance(flt, datetime.now(UTC))
        assert report["totals"]["breached"] == sum(n for k, n in kept.items() if k[3] == "breached")
        total, dims, stages, hours = await _case_recount(since, until)
        shown = await dashboard.disaggregation(dashboard.CaseFilter(since=since, until=until))
        for d, values in shown.items():
            assert {v["value"]: v["n"] for v in values} == dims[d], (d, since, until)
        funnel = await dashboard.funnel(dashboard.CaseFilter(since=since, until=until))
        assert funnel[0]["n"] == total
        assert {f["stage"]: f["n"] for f in funnel[1:] if f["n"]} == stages
        from app.services.oversight import _notification_times

        times = await _notification_times(since, until)
        assert times["notified"] == len(hours)
        if hours:
            assert abs(times["median_hours"] - round(statistics.median(hours), 2)) < 0.02
    assert checked > 0
    # the activity left breaches, and they are counted
    everything = _as_dict(await register_report.counted(register_report.RegisterFilter()))
    assert sum(n for k, n in everything.items() if k[3] == "breached") > 0


async def test_a_period_that_is_not_whole_days_is_counted_from_the_rows(api):
    """An API period between two instants that are not midnights in central Mexico is not
    what the per-day counts hold: the report counts the rows."""
    now = datetime.now(UTC)
    flt = register_report.RegisterFilter(since=now - timedelta(hours=5), until=now)
    assert not register_report.whole_days(flt)
    report = await register_report.compliance(flt, now)
    recount = _as_dict(await register_report.recount(flt))
    assert report["totals"]["deadlines"] == sum(recount.values())
