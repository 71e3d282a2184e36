"""The page controllers: each calls the same service as the matching JSON API endpoint."""

from __future__ import annotations

import contextlib
import functools
import json
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Stream, Template
from litestar.template.config import TemplateConfig

from app import inegi, security
from app.access_rules import CONSULATE
from app.clock import utcnow
from app.errors import GuaranteeViolation, InvalidInput, NotFound, ServiceError
from app.route_engine import REOPEN_FORM, bpmn_dir, deadline_label, form_schema, library
from app.services import (
    audit_read,
    auth,
    case_files,
    cases,
    custody,
    inbox,
    oversight,
    placements,
    tasks,
)
from app.services.audit_read import AuditFilter
from app.session_cookies import CSRF_FIELD, clear_session, secure_cookies, session_cookies
from app.throttle import TooManyAttempts
from app.web import answers, charts, forms, messages, route_svg
from app.web.i18n import COOKIE as LANG_COOKIE
from app.web.i18n import LANGS, label, translate
from app.web.session import (
    LOGIN_CSRF_COOKIE,
    CsrfFailed,
    LoginRequired,
    WebUser,
    current_user,
    lang_of,
    login_csrf_ok,
    login_url,
    safe_next,
)

HERE = Path(__file__).parent
DUE_SOON = timedelta(hours=24)
#: the oversight dashboard's period when none is asked for
DEFAULT_PERIOD = timedelta(days=30)
#: Confirmation messages a redirect may ask for (``?ok=key``): only these keys are shown.
OK_KEYS = frozenset(
    {"arco_registered", "arco_extended_ok", "arco_answered", "hold_set", "hold_lifted",
     "task_done", "task_claimed", "task_reassigned", "admitted_ok", "transferred_ok",
     "discharged_ok", "left_ok", "logged_out", "case_opened", "identity_saved",
     "case_relocated", "case_relocated_away", "custody_recorded", "custody_ended_ok",
     "case_reopened", "fear_recorded", "fear_recorded_referral", "risk_reported", "note_added",
     "attachment_added", "notice_given", "consent_recorded", "consent_withdrawn",
     "incident_recorded", "incident_notice_recorded"}
)  # fmt: skip


# --------------------------------------------------------------------------- templates
def _json(value: Any) -> dict[str, Any]:
    """A JSON column as read (text on some paths)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


def local_time(value: Any) -> str:
    at = _as_datetime(value)
    return at.astimezone(forms.LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if at else ""


def template_config() -> TemplateConfig:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    env.filters["readable"] = readable_changes
    env.filters["no_notes"] = no_notes
    env.filters["value_label"] = lambda value, lang: value_label(lang, value)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


_UNCONFIRMED = re.compile(r"\s*\[(?:sin confirmar|unconfirmed)[^\]]*\]")


def no_notes(text: Any) -> str:
    """A legal source without the modelling mark of an unconfirmed rule (the docs and the
    oversight view list those, not the officers' pages)."""
    return _UNCONFIRMED.sub("", str(text or ""))


def task_label(lang: str, bpmn_id: Any) -> str:
    """A route element in words: its form's title (a user task), else its id as words."""
    if not bpmn_id:
        return ""
    schema = library().forms.schemas.get(f"{bpmn_id}.schema.json")
    title = forms._text(schema, "title", lang) if schema else None
    return title or str(bpmn_id).replace("_", " ").capitalize()


def field_label(lang: str, key: str) -> str:
    """A field of an audit event's changes in words (the catalog's ``field_*``)."""
    text = label(lang, "field_", key)
    return key.replace("_", " ") if text == key else text


@functools.cache
def bpmn_ids() -> frozenset[str]:
    """Every element id of the route's BPMN files (tasks, events, gateways): internal codes a
    page shows in words, never as they are."""
    found: set[str] = set()
    for path in bpmn_dir().glob("*.bpmn"):
        found.update(re.findall(r'<bpmn:\w+ id="([^"]+)"', path.read_text(encoding="utf-8")))
    return frozenset(found)


def value_label(lang: str, value: str) -> str:
    """A value of an audit event in the page's words: a fixed reason the services record in
    English (``case closed``) from the catalog, a route element (``aprobar_bia``) by its name."""
    text = label(lang, "value_", value)
    if text == value and value in bpmn_ids():
        return task_label(lang, value)
    return text


def actor_label(lang: str, username: Any) -> str:
    """The actor of an audit event: the platform itself in words, else the user name."""
    if username in (None, "", "system"):
        return translate(lang, "actor_system")
    return str(username)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, bool):
        return "sí" if value else "no"
    return "—" if value is None else str(value)


def readable_changes(changes: Any) -> list[tuple[str, str]]:
    """An audit event's ``changes`` as (field, value) pairs in plain text (accents as they are,
    not escaped JSON), for the audit page."""
    if isinstance(changes, str):
        import json

        try:
            changes = json.loads(changes or "{}")
        except ValueError:
            return [("", changes)]
    if not isinstance(changes, dict):
        return [("", _plain(changes))]
    return [(str(k), _plain(v)) for k, v in changes.items()]


def _page(
    request: Request,
    name: str,
    user: WebUser | None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    lang = lang_of(request)
    ok = request.query_params.get("ok")
    return Template(
        template_name=name,
        context={
            "lang": lang,
            "other_lang": "en" if lang == "es" else "es",
            "t": partial(translate, lang),
            "action_label": partial(label, lang, "action_"),
            "field_label": partial(field_label, lang),
            "task_label": partial(task_label, lang),
            "actor_label": partial(actor_label, lang),
            "me": user.principal if user else None,
            "csrf": user.csrf if user else "",
            "csrf_field": CSRF_FIELD,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "ok": ok if ok in OK_KEYS else None,
            **context,
        },
        status_code=status_code,
        media_type="text/html",
    )


def _error_page(request: Request, status: int, message_key: str, detail: str | None = None):
    return _page(
        request, "error.html", None, status_code=status, status=status,
        message_key=message_key, detail=detail,
    )  # fmt: skip


# --------------------------------------------------------------------------- errors
def _login_required(request: Request, exc: LoginRequired) -> Response:
    return Redirect(login_url(request, exc.expired), status_code=303)


def _csrf_failed(request: Request, _: CsrfFailed) -> Response:
    return _error_page(request, 403, "error_csrf")


def _service_error(request: Request, exc: ServiceError) -> Response:
    status = exc.status_code
    key = f"error_{status}" if status in (400, 403, 404, 409, 422) else "error_400"
    detail = None if status == 404 else messages.service_message(lang_of(request), exc)
    return _error_page(request, status, key, detail)


def _http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code if exc.status_code < 500 else 500
    key = f"error_{status}" if status in (400, 403, 404, 409) else "error_400"
    return _error_page(request, status, key)


# --------------------------------------------------------------------------- session
@get("/", include_in_schema=False)
async def home(request: Request) -> Redirect:
    user = await current_user(request)
    if user.principal.is_oversight or user.principal.is_admin:
        return Redirect("/audit", status_code=303)
    if user.principal.is_data_protection:  # no inbox: its authority's blocked records
        return Redirect("/cases", status_code=303)
    return Redirect("/inbox", status_code=303)


@get("/login", include_in_schema=False)
async def login_page(request: Request) -> Template:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or security.new_token()
    page = _page(
        request,
        "login.html",
        None,
        login_csrf=token,
        next=safe_next(request.query_params.get("next")),
        expired=request.query_params.get("expired") == "1",
        failed=False,
        username="",
    )
    page.cookies.append(_login_csrf_cookie(token))
    return page


def _login_csrf_cookie(token: str) -> Cookie:
    return Cookie(
        key=LOGIN_CSRF_COOKIE, value=token, httponly=True, samesite="strict",
        secure=secure_cookies(), path="/login", max_age=3600,
    )  # fmt: skip


@post("/login", include_in_schema=False, status_code=303)
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", ""))[:100]
    password = str(form.get("password", ""))[:1000]
    target = safe_next(str(form.get("next", "")))
    if not login_csrf_ok(request, str(form.get(CSRF_FIELD, ""))):
        return _error_page(request, 403, "error_csrf")
    address = request.client.host if request.client else None
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    try:
        result = await auth.login(username, password, "session", address)
    except auth.LoginFailed:
        return _page(
            request, "login.html", None, status_code=401, login_csrf=token, next=target,
            expired=False, failed=True, username=username,
        )  # fmt: skip
    except TooManyAttempts as exc:  # the same throttle as the API: per account and per address
        page = _page(
            request, "login.html", None, status_code=429, login_csrf=token, next=target,
            expired=False, failed=False, throttled=True, username=username,
            retry_minutes=max(1, -(-exc.retry_after // 60)),
        )  # fmt: skip
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if target == "/inbox" and (result.principal.is_oversight or result.principal.is_admin):
        target = "/audit"
    elif target == "/inbox" and result.principal.is_data_protection:
        target = "/cases"
    cookies = session_cookies(
        result.token, result.csrf_token, int(auth.SESSION_TTL.total_seconds())
    )
    return Redirect(target, status_code=303, cookies=cookies)


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Request) -> Response:
    user = await current_user(request)
    await auth.logout(user.principal)
    response = Redirect("/login?ok=logged_out", status_code=303)
    clear_session(response)
    return response


@get("/lang/{code:str}", include_in_schema=False)
async def set_language(request: Request, code: FromPath[str]) -> Redirect:
    """The language switch: a cookie (one year), then back to the page."""
    target = safe_next(request.query_params.get("next"), "/")
    response = Redirect(target, status_code=303)
    if code in LANGS:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 86400, path="/", samesite="lax",
            secure=secure_cookies(), httponly=True,
        )  # fmt: skip
    return response


# --------------------------------------------------------------------------- inbox
@get("/inbox", include_in_schema=False)
async def inbox_page(
    request: Request,
    inbox_scope: Annotated[str, QueryParameter(name="scope")] = "all",
    risk: FromQuery[str | None] = None,
    task_state: Annotated[str | None, QueryParameter(name="state")] = None,
    cursor: FromQuery[str | None] = None,
) -> Template:
    user = await current_user(request)
    now = utcnow()
    result = await inbox.inbox(
        user.principal, now=now, scope=inbox_scope if inbox_scope in inbox.SCOPES else "all",
        risk=risk or None, state=task_state or None, cursor=cursor or None, limit=50,
    )  # fmt: skip
    lang = lang_of(request)
    for item in result["items"]:
        due = _as_datetime(item["due_at"])
        item["soon"] = bool(due and not item["overdue"] and due - now <= DUE_SOON)
        item["about"] = answers.subject(item, lang)
    return _page(
        request, "inbox.html", user, items=result["items"], next_cursor=result["next_cursor"],
        scope=inbox_scope, risk=risk or "", state=task_state or "", scopes=inbox.SCOPES,
        risks=inbox.RISKS, states=inbox.STATES,
    )  # fmt: skip


# --------------------------------------------------------------------------- tasks
def _task_view(
    request: Request,
    user: WebUser,
    detail: dict[str, Any],
    data: dict[str, Any],
    errors: dict[str, str],
    rows: dict[str, int],
    status_code: int = 200,
    top_errors: list[str] | None = None,
    assignees: list[dict[str, Any]] | None = None,
    reassign_error: str | None = None,
) -> Template:
    lang = lang_of(request)
    schema = detail["form"]
    fields = forms.build_fields(schema, lang, data, errors, rows)
    unplaced = forms.attach_unplaced(fields, errors) + (top_errors or [])
    task = detail["task"]
    p = user.principal
    can_act = detail["permissions"]["complete"]
    return _page(
        request, "task.html", user, status_code=status_code, task=task, case=detail["case"],
        schema=schema, form_title=forms._text(schema, "title", lang),
        form_help=forms._text(schema, "description", lang), fields=fields,
        has_errors=bool(errors or top_errors), unplaced=unplaced, can_act=can_act,
        mine=task["assignee_id"] == p.user_id, supervises=p.supervises,
        assignees=assignees or [], reassign_error=reassign_error,
        approved=answers.rendered_forms(detail.get("approved_forms") or [], lang),
        about=answers.subject({**task, "context": _json(task.get("context"))}, lang),
    )  # fmt: skip


async def _assignees(user: WebUser, task: dict[str, Any]) -> list[dict[str, Any]]:
    return await tasks.assignable(user.principal, task)


@get("/tasks/{task_id:str}", include_in_schema=False)
async def task_page(request: Request, task_id: FromPath[str]) -> Template:
    user = await current_user(request)
    detail = await tasks.detail(user.principal, task_id)
    assignees = await _assignees(user, detail["task"])
    return _task_view(request, user, detail, {}, {}, {}, assignees=assignees)


@post("/tasks/{task_id:str}", include_in_schema=False, status_code=200)
async def task_submit(request: Request, task_id: FromPath[str]) -> Response:
    user = await current_user(request)
    form = await request.form()
    schema = await tasks.form_for(user.principal, task_id)  # not a read of the child's record
    data, rows = forms.parse(schema, form)
    add, remove = form.get("_add"), form.get("_remove")
    if add in rows or remove in rows:  # the no-JavaScript "Agregar fila" / "Quitar fila"
        if add in rows:
            rows[add] += 1
        if remove in rows and rows[remove] > 0:
            rows[remove] -= 1
            if isinstance(data.get(remove.split(".")[-1]), list):
                data[remove.split(".")[-1]] = data[remove.split(".")[-1]][: rows[remove]]
        detail = await tasks.detail(user.principal, task_id, audited=False)
        return _task_view(request, user, detail, data, {}, rows)
    try:
        result = await tasks.complete(user.principal, task_id, data)
    except (InvalidInput, GuaranteeViolation) as exc:
        # The form comes back to the user who opened it (that read was audited): not a new read.
        # A form the law forbids (409) shows the guarantee next to the field, as a bad one does.
        detail = await tasks.detail(user.principal, task_id, audited=False)
        errors, other = forms.field_errors(schema, exc.errors, lang_of(request))
        return _task_view(request, user, detail, data, errors, rows, exc.status_code, other)
    folio = result["case"]["folio"]
    return Redirect(f"/cases/{folio}?ok=task_done", status_code=303)


@post("/tasks/{task_id:str}/claim", include_in_schema=False, status_code=303)
async def task_claim(request: Request, task_id: FromPath[str]) -> Redirect:
    user = await current_user(request)
    await tasks.claim(user.principal, task_id)
    return Redirect(f"/tasks/{task_id}?ok=task_claimed", status_code=303)


@post("/tasks/{task_id:str}/reassign", include_in_schema=False, status_code=303)
async def task_reassign(request: Request, task_id: FromPath[str]) -> Response:
    """A supervisor hands an open task of the authority to a colleague (audited)."""
    user = await current_user(request)
    form = await request.form()
    username = str(form.get("username", "")).strip()[:100]
    try:
        await tasks.reassign(user.principal, task_id, username)
    except InvalidInput as exc:
        detail = await tasks.detail(user.principal, task_id)
        lang = lang_of(request)
        message = "; ".join(forms.message(lang, e["message"], {}) for e in exc.errors)
        return _task_view(
            request, user, detail, {}, {}, {}, 422,
            assignees=await _assignees(user, detail["task"]), reassign_error=message,
        )  # fmt: skip
    return Redirect(f"/tasks/{task_id}?ok=task_reassigned", status_code=303)


@post("/tasks/{task_id:str}/unclaim", include_in_schema=False, status_code=303)
async def task_unclaim(request: Request, task_id: FromPath[str]) -> Redirect:
    user = await current_user(request)
    await tasks.unclaim(user.principal, task_id)
    return Redirect(f"/tasks/{task_id}", status_code=303)


# --------------------------------------------------------------------------- cases
@get("/cases/{folio:str}", include_in_schema=False)
async def case_page(request: Request, folio: FromPath[str]) -> Template:
    user = await current_user(request)
    return await case_view(request, user, folio)


async def case_view(
    request: Request,
    user: WebUser,
    folio: str,
    status_code: int = 200,
    move_error: str | None = None,
    move: dict[str, str] | None = None,
    custody_error: str | None = None,
    custody_form: dict[str, str] | None = None,
    reopen_form: dict[str, Any] | None = None,
    reopen_errors: list[dict[str, str]] | None = None,
    report_error: str | None = None,
    report_form: dict[str, Any] | None = None,
    **extra: Any,
) -> Template:
    """The case page (an audited read); also re-shown with the relocation, custody, late
    report or reopening form's error, or the notes and attachments form's (``extra``:
    note_error, note_body, file_error)."""
    detail = await cases.detail(user.principal, folio)
    lang = lang_of(request)
    p = user.principal
    # a closed case: its Procuraduría's supervisors and heads may reopen it (the service
    # decides; the page only offers the form to whom it would not refuse on role alone)
    can_reopen = (
        p.is_worker
        and p.authority_tipo == cases.REOPENING_AUTHORITY
        and p.supervises
        and detail["case"]["status"] == "closed"
    )
    reopen_fields: list[Any] = []
    reopen_unplaced: list[str] = []
    if can_reopen:
        schema = form_schema(REOPEN_FORM)
        by_name, other = forms.field_errors(schema, reopen_errors or [], lang, prefix="$")
        reopen_fields = forms.build_fields(schema, lang, reopen_form or {}, by_name, {}, "")
        reopen_unplaced = forms.attach_unplaced(reopen_fields, by_name) + other
    svgs = route_svg.route_svgs(
        detail["tasks"], translate(lang, "route_svg_title"), dict(request.query_params)
    )
    states = [(c, f"{c} · {inegi.state_name(c)}") for c in inegi.STATES if c != inegi.FEDERAL]
    can_move = p.is_worker and detail["case"]["status"] == "open"
    can_custody = p.is_worker and p.authority_tipo in custody.RECORDERS
    # Late reports (app/services/late_reports.py): any caseworker who sees an open case; fear of
    # return, not the consulate (it is the contact the record blocks).
    can_report = p.is_worker and detail["case"]["status"] == "open"
    can_report_fear = can_report and p.authority_tipo != CONSULATE
    return _page(
        request, "case.html", user, status_code=status_code, d=detail, svgs=svgs,
        states=states, can_move=can_move, move_error=move_error, move=move or {},
        can_custody=can_custody, stations=await custody.stations() if can_custody else [],
        custody_error=custody_error, custody_form=custody_form or {},
        can_report=can_report, can_report_fear=can_report_fear, report_error=report_error,
        report_form=report_form or {}, today_local=datetime.now(forms.LOCAL_TZ).date().isoformat(),
        now_local=datetime.now(forms.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"),
        can_reopen=can_reopen, reopen_fields=reopen_fields, reopen_unplaced=reopen_unplaced,
        reopen_has_errors=bool(reopen_errors),
        files=await case_files.for_folio(p, folio), can_write_files=p.is_worker, **extra,
    )  # fmt: skip


# --------------------------------------------------------------------------- shelters
def _chart(rows: list[dict[str, Any]], lang: str) -> str:
    return charts.bar_chart(
        [(r["code"], r["occupancy"]) for r in rows],
        translate(lang, "occupancy_chart"),
        "",
    )


@get("/shelters", include_in_schema=False)
async def shelters_page(request: Request) -> Template:
    user = await current_user(request)
    rows = await placements.shelters(user.principal)
    return _page(request, "shelters.html", user, shelters=rows)


async def _shelter_view(
    request: Request, user: WebUser, shelter_id: int, status_code: int = 200,
    error: str | None = None, folio: str = "",
) -> Template:  # fmt: skip
    rows = await placements.shelters(user.principal)
    shelter = next((r for r in rows if r["id"] == shelter_id), None)
    if shelter is None:
        raise HTTPException(status_code=404)
    children = await placements.children(user.principal, shelter_id)
    return _page(
        request, "shelter.html", user, status_code=status_code, shelter=shelter,
        children=children, others=[r for r in rows if r["id"] != shelter_id], error=error,
        folio=folio, now_local=datetime.now(forms.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"),
        destinos=placements.DESTINOS,
    )  # fmt: skip


@get("/shelters/{shelter_id:int}", include_in_schema=False)
async def shelter_page(request: Request, shelter_id: FromPath[int]) -> Template:
    user = await current_user(request)
    return await _shelter_view(request, user, shelter_id)


async def _shelter_command(request: Request, user: WebUser, shelter_id: int, run, ok: str):
    form = await request.form()
    try:
        await run(form)
    except ServiceError as exc:
        if exc.status_code == 404:
            raise
        lang = lang_of(request)
        detail = messages.service_message(lang, exc) or translate(lang, f"error_{exc.status_code}")
        if isinstance(exc, InvalidInput):
            detail = "; ".join(forms.message(lang, e["message"], {}) for e in exc.errors)
        return await _shelter_view(
            request, user, shelter_id, exc.status_code, detail, str(form.get("folio", ""))
        )
    return Redirect(f"/shelters/{shelter_id}?ok={ok}", status_code=303)


@post("/shelters/{shelter_id:int}/admit", include_in_schema=False, status_code=303)
async def shelter_admit(request: Request, shelter_id: FromPath[int]) -> Response:
    user = await current_user(request)

    form = await request.form()
    folio = str(form.get("folio", "")).strip().upper()

    async def run(_form):
        await placements.admit(user.principal, folio, shelter_id)

    try:
        return await _shelter_command(request, user, shelter_id, run, "admitted_ok")
    except NotFound as exc:
        if exc.detail != "case not found":
            raise
        # A folio one may not see answers 404 like any hidden record (a mistyped one is the same
        # answer, so nothing tells them apart), but on the shelter page with what was typed.
        message = forms.message(lang_of(request), "no visible case with this folio", {})
        return await _shelter_view(request, user, shelter_id, 404, message, folio)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


@post("/shelters/{shelter_id:int}/placements/{pid:int}/{what:str}", include_in_schema=False,
      status_code=303)  # fmt: skip
async def placement_command(
    request: Request, shelter_id: FromPath[int], pid: FromPath[int], what: FromPath[str]
) -> Response:
    user = await current_user(request)

    async def run(form):
        reason = str(form.get("reason", "")).strip()[:500] or "-"
        if what == "transfer":
            await placements.transfer(user.principal, pid, _int(form.get("to_shelter_id")), reason)
        elif what == "discharge":
            await placements.discharge(user.principal, pid, reason, form.get("destino"))
        elif what == "left":  # the service validates; the page only reads the local time
            payload = {
                "fecha_hora_salida": forms.local_datetime(str(form.get("fecha_hora_salida", ""))),
                "circunstancias": str(form.get("circunstancias", "")),
                "indicios_riesgo": form.get("indicios_riesgo") == "true",
            }
            await placements.left(user.principal, pid, payload)
        else:
            raise HTTPException(status_code=404)

    ok = {"transfer": "transferred_ok", "discharge": "discharged_ok"}.get(what, "left_ok")
    return await _shelter_command(request, user, shelter_id, run, ok)


# --------------------------------------------------------------------------- oversight
def _short(text: str, n: int = 26) -> str:
    """A chart's label: at most ``n`` characters (the table beside it has the whole text)."""
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _day(value: str | None, end: bool = False) -> datetime | None:
    """A date field (central Mexico day) → its UTC start (or the next day's start for 'until')."""
    if not value:
        return None
    try:
        day = datetime.fromisoformat(value).replace(tzinfo=forms.LOCAL_TZ)
    except ValueError:
        return None
    return (day + timedelta(days=1) if end else day).astimezone(UTC)


def _audit_filter(q: Any) -> AuditFilter:
    def val(k: str) -> str | None:
        return (q.get(k) or "").strip() or None

    return AuditFilter(
        case=val("case"), actor=val("actor"), authority=val("authority"), action=val("action"),
        since=_day(val("since")), until=_day(val("until"), end=True),
    )  # fmt: skip


@get("/audit", include_in_schema=False)
async def audit_page(request: Request) -> Template:
    user = await current_user(request)
    q = request.query_params
    flt = _audit_filter(q)
    result = await audit_read.page(user.principal, flt, q.get("cursor") or None, 100)
    filters = {k: q.get(k, "") for k in ("case", "actor", "authority", "action", "since", "until")}
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in filters.items() if v})
    return _page(
        request, "audit.html", user, items=result["items"], next_cursor=result["next_cursor"],
        f=filters, query=query,
    )  # fmt: skip


@get("/audit/export", include_in_schema=False)
async def audit_export(request: Request) -> Stream:
    user = await current_user(request)
    q = request.query_params
    fmt = "csv" if q.get("format", "csv") == "csv" else "jsonl"
    flt = _audit_filter(q)
    await audit_read.start_export(user.principal, flt, fmt)
    return Stream(
        audit_read.export_rows(flt, fmt),
        media_type="text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="careroute-audit.{fmt}"'},
    )


@get("/audit/verify", include_in_schema=False)
async def audit_verify(request: Request) -> Template:
    user = await current_user(request)
    result = await audit_read.verify(user.principal)
    return _page(request, "verify.html", user, r=result)


@get("/compliance", include_in_schema=False)
async def compliance_page(request: Request) -> Template:
    """The same report as ``GET /api/v1/oversight/compliance`` (one service, one query), with
    its filters: period (days in central Mexico), deadline, authority, state."""
    user = await current_user(request)
    lang = lang_of(request)
    t = partial(translate, lang)
    q = request.query_params
    if "since" not in q and "until" not in q:
        # the last 30 days unless a period is asked for (an empty "Desde" means since ever):
        # the figures of a month are what oversight reads first, and they stay fast at scale
        since = (datetime.now(forms.LOCAL_TZ).date() - DEFAULT_PERIOD).isoformat()
        q = {**{k: q.get(k) for k in q}, "since": since}

    def val(k: str) -> str | None:
        return (q.get(k) or "").strip() or None

    estado = val("estado")
    data = await oversight.compliance(
        user.principal,
        since=_day(val("since")),
        until=_day(val("until"), end=True),
        plazo_id=val("deadline"),
        authority=val("authority"),
        estado=estado if estado and inegi.is_valid(estado) else None,
    )
    filters = {k: q.get(k, "") for k in ("since", "until", "deadline", "authority", "estado")}
    labels = {pid: deadline_label(pid, lang) for pid in library().plazos.ids()}
    figures = {
        "on_time": charts.bar_chart(
            [(_short(labels.get(r["key"], r["key"])), r["on_time_pct"])
             for r in data["deadlines"]["by_deadline"] if r["on_time_pct"] is not None],
            t("on_time_by_deadline"), "%",
        ),
        "open": charts.bar_chart(
            [(r["authority"], r["open_tasks"]) for r in data["workload"]],
            t("open_tasks_by_authority"), "",
        ),
        "overdue": charts.bar_chart(
            [(r["authority"], r["open_overdue"]) for r in data["workload"]],
            t("overdue_by_authority"), "",
        ),
        "risk": charts.bar_chart(
            [(t(f"risk_{r['risk']}") if r["risk"] else t("risk_none"), r["n"])
             for r in data["cases_by_risk"]],
            t("cases_by_risk"), "",
        ),
    }  # fmt: skip
    from urllib.parse import urlencode

    from app.services import dashboard
    from app.web.oversight_pages import case_filter, value_labels

    cases_report = await dashboard.report(user.principal, case_filter(q))
    figures["funnel"] = charts.bar_chart(
        [(t(f"stage_{r['stage']}"), r["n"]) for r in cases_report["funnel"]],
        t("funnel_title"),
        "",
    )
    return _page(
        request, "compliance.html", user, data=data, charts=figures, f=filters,
        labels=labels, estados=sorted(inegi.STATES.items()), cases=cases_report,
        values=value_labels(lang, t),
        base=urlencode({k: v for k, v in filters.items() if v}),
        period=urlencode({k: filters[k] for k in ("since", "until", "estado") if filters[k]}),
    )  # fmt: skip
