"""The oversight dashboard's drill-downs and public export (the dashboard itself is
``/compliance``, app/web/pages.py): every count on the dashboard links to the rows it counts.

- ``/compliance/rows``: the deadline register rows behind a compliance count (same filters as
  the dashboard plus ``status``), each linked to its case; keyset pages of 100.
- ``/compliance/cases``: the cases behind a funnel or disaggregation count (cases detected in
  the period, with a stage reached or a value of a dimension), each linked to its case.
- ``/compliance/export.csv``: the anonymised tables for public reporting (counts only, cells
  under 5 suppressed; docs/oversight.md).
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Response, Template

from app import inegi
from app.route_engine import deadline_label, library, start_form
from app.services import dashboard, oversight, register_report
from app.web.i18n import translate
from app.web.pages import _day, _page
from app.web.session import current_user, lang_of

PAGE = 100
#: the dashboard's filters, as query parameters
FILTERS = ("since", "until", "deadline", "authority", "estado")
CASE_FILTERS = ("since", "until", "estado", "stage", *dashboard.DIMENSIONS)
ROW_STATUSES = (*register_report.STATUSES, "breached_open")


#: dimension -> the opening form's field whose enum labels name its values
LABELLED = {"sexo": "sexo", "acompanamiento": "acompanamiento_declarado"}


def value_labels(lang: str, t: Any) -> dict[str, dict[str, str]]:
    """Words for the dimensions' values: the opening form's enum labels (one source of truth),
    "sin dato" for a missing value; ages and nationalities (ISO codes) as they are."""
    props = start_form()["properties"]
    out: dict[str, dict[str, str]] = {}
    for dim in dashboard.DIMENSIONS:
        labels = props[LABELLED[dim]].get("x-enum-labels", {}) if dim in LABELLED else {}
        out[dim] = {v: (lab.get(lang) or lab.get("es") or v) for v, lab in labels.items()}
        out[dim][dashboard.UNKNOWN] = t("val_sin_dato")
    return out


def _val(q: Any, key: str) -> str | None:
    return (q.get(key) or "").strip()[:100] or None


def register_filter(q: Any) -> register_report.RegisterFilter:
    estado = _val(q, "estado")
    status = _val(q, "status")
    return register_report.RegisterFilter(
        since=_day(_val(q, "since")),
        until=_day(_val(q, "until"), end=True),
        plazo_id=_val(q, "deadline"),
        authority=_val(q, "authority"),
        estado=estado if estado and inegi.is_valid(estado) else None,
        status=status if status in ROW_STATUSES else None,
    )


def case_filter(q: Any) -> dashboard.CaseFilter:
    estado = _val(q, "estado")
    stage = _val(q, "stage")
    return dashboard.CaseFilter(
        since=_day(_val(q, "since")),
        until=_day(_val(q, "until"), end=True),
        estado=estado if estado and inegi.is_valid(estado) else None,
        stage=stage if stage in dashboard.STAGES else None,
        **{d: _val(q, d) for d in dashboard.DIMENSIONS},
    )


def _after(q: Any) -> int | None:
    raw = q.get("after") or ""
    return int(raw) if raw.isdigit() else None


def _query(q: Any, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: q.get(k) for k in keys if q.get(k)}


@get("/compliance/rows", include_in_schema=False)
async def compliance_rows(request: Request) -> Template:
    """The register rows a compliance count counts."""
    user = await current_user(request)
    q = request.query_params
    flt = register_filter(q)
    rows = await oversight.deadline_rows(user.principal, flt, limit=PAGE + 1, after=_after(q))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    params = _query(q, (*FILTERS, "status"))
    next_url = (
        "/compliance/rows?" + urlencode({**params, "after": rows[-1]["id"]}) if more else None
    )
    lang = lang_of(request)
    labels = {pid: deadline_label(pid, lang) for pid in library().plazos.ids()}
    return _page(
        request, "compliance_rows.html", user, rows=rows, next_url=next_url, f=params,
        labels=labels, back="/compliance?" + urlencode(_query(q, FILTERS)),
    )  # fmt: skip


@get("/compliance/cases", include_in_schema=False)
async def compliance_cases(request: Request) -> Template:
    """The cases a funnel or disaggregation count counts."""
    user = await current_user(request)
    q = request.query_params
    flt = case_filter(q)
    rows = await dashboard.cases(user.principal, flt, limit=PAGE + 1, after=_after(q))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    params = _query(q, CASE_FILTERS)
    next_url = (
        "/compliance/cases?" + urlencode({**params, "after": rows[-1]["id"]}) if more else None
    )
    lang = lang_of(request)
    return _page(
        request, "compliance_cases.html", user, rows=rows, next_url=next_url, f=params,
        values=value_labels(lang, partial(translate, lang)),
        back="/compliance?" + urlencode(_query(q, ("since", "until", "estado"))),
    )  # fmt: skip


@get("/compliance/export.csv", include_in_schema=False)
async def compliance_export(request: Request) -> Response:
    """The anonymised public tables of the period (counts only; under 5 suppressed)."""
    user = await current_user(request)
    q = request.query_params
    cases = await dashboard.report(user.principal, case_filter(q))
    flt = register_filter(q)
    report = await oversight.compliance(
        user.principal, since=flt.since, until=flt.until, estado=flt.estado
    )
    body = dashboard.public_csv(dashboard.public_rows(cases, report["deadlines"]))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="careroute-publico.csv"'},
    )
