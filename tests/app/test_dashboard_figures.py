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

import asyncio
import json
import random
import statistics
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.cases.handlers import figures
from app.clock import set_clock
from app.services import dashboard, deadlines, register_report
from app.services.oversight import _cases_by_status_and_risk, _notification_times
from app.tables import Case, CaseFigure, CaseMilestone, DeadlineRegister, Task
from tests.app.helpers import opening_form
from tests.app.test_reopen import BODY, SUPERVISOR, closed_case

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


def _hours(seconds: float) -> int:
    return int(seconds // 3600)


async def _case_day_recount(since: datetime | None, until: datetime | None):
    """``case_day`` as the rows give it, for cases opened in the period: figure -> value ->
    cases (nna_case, case_milestone, the task index; detection as recorded at the opening)."""
    rows = await Case.select(Case.id, Case.opened_at, Case.summary)
    cases = {
        r["id"]: r
        for r in rows
        if (since is None or r["opened_at"] >= since) and (until is None or r["opened_at"] < until)
    }
    out: dict[str, dict[str, int]] = {}

    def add(figure: str, value: str) -> None:
        out.setdefault(figure, {})
        out[figure][value] = out[figure].get(value, 0) + 1

    for r in cases.values():
        s = r["summary"] if isinstance(r["summary"], dict) else json.loads(r["summary"] or "{}")
        add("casos", "")
        add("sexo", s.get("sexo") or "")
        add("edad", figures.age_band(s.get("edad")) or "")
        add("nacionalidad", s.get("nacionalidad") or "")
        add("acompanamiento", s.get("acompanamiento_declarado") or "")
    for m in await CaseMilestone.select(
        CaseMilestone.case.as_alias("case_id"), CaseMilestone.stage, CaseMilestone.reached_at
    ):
        case = cases.get(m["case_id"])
        if case is not None and m["stage"] in figures.STAGE_COLUMNS:
            add(m["stage"], str(_hours((m["reached_at"] - case["opened_at"]).total_seconds())))
    first: dict[int, datetime] = {}
    for t in await Task.select(Task.case.as_alias("case_id"), Task.completed_at).where(
        (Task.bpmn_id == "notificar_procuraduria") & (Task.status == "completed")
    ):
        if t["case_id"] in cases and t["completed_at"] is not None:
            at = first.get(t["case_id"])
            first[t["case_id"]] = min(at, t["completed_at"]) if at else t["completed_at"]
    detected = {
        r["case_id"]: r["detected_at"]
        for r in await CaseFigure.select(
            CaseFigure.case.as_alias("case_id"), CaseFigure.detected_at
        )
    }
    for case_id, at in first.items():
        if detected.get(case_id) is not None:
            seconds = (at - detected[case_id]).total_seconds()
            add("notificada", str(_hours(seconds)))
            if seconds <= 24 * 3600:
                add("notificada_24h", "")
    return out


async def _late_recount(flt: register_report.RegisterFilter, now: datetime):
    """``register_late`` as the register's breached rows give it (their key computed here,
    not by the writer), and the exact median lateness per grouping."""
    where, args = flt.sql()
    rows = await DeadlineRegister.raw(
        "SELECT r.due_at, r.closed_at, r.plazo_id, r.authority_id, r.estado"  # noqa: S608
        f" FROM deadline_register r WHERE {where} AND r.status = 'breached'",
        *args,
    )
    kept: dict[tuple, int] = {}
    late: dict[tuple, list[float]] = {}
    for r in rows:
        local = r["due_at"].astimezone(MX)
        if r["closed_at"] is None:
            hours = local.hour
            seconds = (now - r["due_at"]).total_seconds()
        else:
            seconds = (r["closed_at"] - r["due_at"]).total_seconds()
            hours = _hours(seconds)
        p, a, e = r["plazo_id"], r["authority_id"] or 0, r["estado"] or ""
        k = (local.date(), p, a, e, 1 if r["closed_at"] is None else 0, hours)
        kept[k] = kept.get(k, 0) + 1
        for g in ((0, p, a, e), (3, p, 0, ""), (5, "", a, ""), (6, "", 0, e), (7, "", 0, "")):
            late.setdefault(g, []).append(seconds)
    return kept, {g: statistics.median(v) for g, v in late.items()}


async def _late_kept(flt: register_report.RegisterFilter) -> dict[tuple, int]:
    parts, args = register_report._day_sql(flt)
    out: dict[tuple, int] = {}
    for r in await DeadlineRegister.raw(
        "SELECT r.day, r.plazo_id, r.authority_id, r.estado, r.open, r.hours, r.n"  # noqa: S608
        f" FROM register_late r WHERE {' AND '.join(parts)}",
        *args,
    ):
        day = r["day"] if not isinstance(r["day"], str) else datetime.fromisoformat(r["day"]).date()
        k = (day, r["plazo_id"], r["authority_id"], r["estado"], int(r["open"]), int(r["hours"]))
        out[k] = out.get(k, 0) + int(r["n"])
    return {k: n for k, n in out.items() if n}


async def _status_recount() -> tuple[dict, dict]:
    by_status: dict[str, int] = {}
    by_risk: dict = {}
    for r in await Case.select(Case.status, Case.risk):
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        if r["status"] == "open":
            by_risk[r["risk"]] = by_risk.get(r["risk"], 0) + 1
    return by_status, by_risk


async def test_kept_counts_equal_a_recount_from_the_rows_after_random_activity(api):
    rng = random.Random(14)
    await _random_activity(api, rng)
    # a case walked to its closure 150 days ago (its risk set by the route, its stages days
    # apart), then reopened: the status and risk counts move with it
    reopened = await closed_case("Cifra Cerrada")
    r = await api.post(SUPERVISOR, f"/api/v1/cases/{reopened}/reopen", json=BODY)
    assert r.status_code == 200, r.text
    await closed_case("Cifra Sigue Cerrada")
    by_status, by_risk = await _status_recount()
    kept_now = await _cases_by_status_and_risk()
    assert {r["status"]: r["n"] for r in kept_now["cases_by_status"]} == by_status
    assert {r["risk"]: r["n"] for r in kept_now["cases_by_risk"]} == by_risk
    assert by_status.get("closed") and by_status.get("open")
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
        times = await _notification_times(since, until)
        assert times["notified"] == len(hours)
        if hours:
            # the kept hour histogram: within half an hour (and the rounding to 0.1 h)
            assert abs(times["median_hours"] - statistics.median(hours)) <= 0.55
            assert abs(times["max_hours"] - max(hours)) <= 0.5
            assert times["within_24h"] == sum(1 for h in hours if h <= 24)
        # every kept case figure equals its recount, histograms hour by hour
        kept_days = await dashboard.day_counts(since, until)
        assert kept_days == await _case_day_recount(since, until), (since, until)
        # the funnel's medians from the histograms: within half an hour of the exact ones
        exact = await dashboard.funnel(dashboard.CaseFilter(since=since, until=until, estado="07"))
        for approx, precise in zip(funnel, exact, strict=True):
            if precise["median_days"] is not None and approx["n"] == precise["n"]:
                assert abs(approx["median_days"] - precise["median_days"]) <= 0.5 / 24 + 0.1
        # the lateness histogram equals its recount; its medians are within half an hour
        now = datetime.now(UTC)
        late_rows, late_exact = await _late_recount(flt, now)
        assert await _late_kept(flt) == late_rows, (since, until)
        medians = await register_report._late_seconds(flt, now)
        assert set(medians) == set(late_exact)
        for g, seconds in late_exact.items():
            assert abs(medians[g] - seconds) <= 1800 + 1, (g, medians[g], seconds)
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


async def test_concurrent_openings_keep_every_count(api):
    """Every opening adds to the same few kept rows (``case_count``, ``case_day`` of today):
    concurrent openings must neither lose an increment nor deadlock on those rows (on
    PostgreSQL the upserts take row locks in sorted key order, held to the commit)."""
    n = 24
    sexes = ["mujer", "hombre", "no_especificado"]

    async def open_one(i: int):
        estado, municipio = (("07", "Tapachula"), ("27", "Centro"))[i % 2]
        body = {
            "form": opening_form(estado, municipio, sexo=sexes[i % 3]),
            "identidad": {"nombres": f"Cifra Concurrente {i}"},
        }
        return await api.post(f"inm-{estado}.officer", "/api/v1/cases", json=body)

    before_status, _ = await _status_recount()
    results = await asyncio.gather(*(open_one(i) for i in range(n)))
    assert [r.status_code for r in results] == [201] * n, [r.text for r in results[:3]]
    by_status, by_risk = await _status_recount()
    assert by_status["open"] == before_status.get("open", 0) + n
    kept_now = await _cases_by_status_and_risk()
    assert {r["status"]: r["n"] for r in kept_now["cases_by_status"]} == by_status
    assert {r["risk"]: r["n"] for r in kept_now["cases_by_risk"]} == by_risk
    assert await dashboard.day_counts(None, None) == await _case_day_recount(None, None)
