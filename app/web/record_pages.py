"""The case list and search page, a completed form's page and the printable case record
(expediente): the same services as ``GET /api/v1/cases`` and ``GET /api/v1/cases/{folio}/forms``.

A name search and every form read are audited by the services; the pages add nothing to the
audit trail and never touch the database (tests/test_layers.py).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from app import inegi
from app.clock import utcnow
from app.errors import InvalidInput
from app.services import case_record, case_search, cases
from app.web import answers, forms
from app.web.i18n import label, translate
from app.web.pages import _day, _page
from app.web.session import WebUser, current_user, lang_of

#: The list page's filters, in the order of the form (query parameter names).
FILTERS = (
    "folio", "nombre", "estado", "municipio", "stage", "risk", "overdue", "authority",
    "family_group", "status", "desde", "hasta", "sort", "order",
)  # fmt: skip


def stage_label(lang: str, process_id: str) -> str:
    return label(lang, "stage_", process_id)


def _query(params: dict[str, str]) -> case_search.CaseQuery:
    """The page's filters as the service's query (dates are days in central Mexico)."""

    def val(k: str) -> str | None:
        return params.get(k) or None

    overdue = {"si": True, "no": False}.get(params.get("overdue", ""))
    return case_search.CaseQuery(
        folio=val("folio"), nombre=val("nombre"), estado=val("estado"),
        municipio=val("municipio"), stage=val("stage"), risk=val("risk"), overdue=overdue,
        authority=val("authority"), family_group=val("family_group"), status=val("status"),
        opened_from=_day(val("desde")), opened_to=_day(val("hasta"), end=True),
        sort=params.get("sort") or "opened", order=params.get("order") or "desc",
    )  # fmt: skip


@get("/cases", include_in_schema=False)
async def cases_page(request: Request) -> Template:
    """Every case the user may see, with filters and a search by folio or by name."""
    user = await current_user(request)
    lang = lang_of(request)
    params = {k: str(request.query_params.get(k, "")).strip()[:200] for k in FILTERS}
    query = _query(params)
    query.cursor = request.query_params.get("cursor") or None
    error, items, next_cursor = None, [], None
    try:
        result = await case_search.search(user.principal, query, utcnow())
        items, next_cursor = result["items"], result["next_cursor"]
    except InvalidInput as exc:
        error = "; ".join(
            f"{translate(lang, 'filter_' + e['path'].removeprefix('$.'))}: "
            f"{forms.message(lang, e['message'], {})}"
            for e in exc.errors
        )
    kept = urlencode({k: v for k, v in params.items() if v})
    return _page(
        request, "cases.html", user, status_code=422 if error else 200, items=items,
        next_cursor=next_cursor, f=params, kept=kept, error=error,
        named=bool(params["nombre"]) and not error,
        estados=[(c, f"{c} · {inegi.state_name(c)}") for c in inegi.STATES if c != inegi.FEDERAL],
        stages=[(s, stage_label(lang, s)) for s in case_search.stages()],
        risks=case_search.RISKS, sorts=tuple(case_search.SORTS), stage_label=stage_label,
    )  # fmt: skip


@get("/cases/{folio:str}/formularios/{task_id:str}", include_in_schema=False)
async def form_page(request: Request, folio: FromPath[str], task_id: FromPath[str]) -> Template:
    """One completed form of a case, as submitted, who and when (an audited read)."""
    user = await current_user(request)
    lang = lang_of(request)
    result = await case_record.read(user.principal, folio, task_id)
    return _page(
        request, "form_record.html", user, folio=folio,
        forms=answers.rendered_forms(result["forms"], lang),
    )  # fmt: skip


@get("/cases/{folio:str}/expediente", include_in_schema=False)
async def record_page(request: Request, folio: FromPath[str]) -> Template:
    """The case file (expediente) to read or print: the case, its placements and custody, every
    completed form rendered, the timeline; no menus, no diagrams, no action forms."""
    user: WebUser = await current_user(request)
    lang = lang_of(request)
    detail = await cases.detail(user.principal, folio)
    result = await case_record.read(user.principal, folio)
    return _page(
        request, "record.html", user, d=detail, forms=answers.rendered_forms(result["forms"], lang),
        printed_at=datetime.now(forms.LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
        stage_label=stage_label,
    )  # fmt: skip
