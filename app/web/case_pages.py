"""Pages to open a case (identification form + identity, apart) and to read a child's identity.

Opening a case is the first step of the route for INM and Procuraduría officers: the
``inicio_caso`` form (the engine's, rendered from its JSON Schema) starts the workflow; the
identity (names, documents) is a second block stored in its own table, never sent to the engine,
never in lists or the audit trail. Both are validated before anything is written; on error the
page comes back with every message beside its field and the entered values kept.
"""

from __future__ import annotations

import copy
from datetime import date
from functools import cache
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app import inegi
from app.api.schemas import Identidad
from app.clock import utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.route_engine import schema_errors, start_form
from app.services import cases, custody, late_reports
from app.web import forms
from app.web.i18n import translate
from app.web.pages import _page, case_view
from app.web.session import WebUser, current_user, lang_of

#: Labels of the identity block, Spanish first (the API's ``Identidad`` gives types and limits).
IDENTITY_LABELS: dict[str, tuple[str, str, str | None, str | None]] = {
    "nombres": ("Nombre(s)", "Given name(s)", "Como la NNA lo dice.", "As the child gives it."),
    "apellidos": ("Apellidos", "Surnames", None, None),
    "alias": ("Otros nombres o alias", "Other names or aliases", None, None),
    "documento_tipo": (
        "Tipo de documento",
        "Document type",
        "Pasaporte, acta de nacimiento, constancia consular…",
        "Passport, birth certificate, consular record…",
    ),
    "documento_numero": ("Número de documento", "Document number", None, None),
    "lugar_origen": ("Lugar de origen", "Place of origin", "Ciudad y país.", "Town and country."),
    "contacto_familiar": (
        "Contacto familiar",
        "Family contact",
        "Nombre, parentesco y teléfono de un familiar, si la NNA lo da.",
        "Name, relationship and phone of a relative, if the child gives it.",
    ),
    "notas": ("Notas", "Notes", None, None),
}


@cache
def identity_schema() -> dict[str, Any]:
    """The identity block as a JSON Schema: types and limits from the API's ``Identidad``
    struct (one source of truth), labels from IDENTITY_LABELS."""
    raw = msgspec.json.schema(Identidad)["$defs"]["Identidad"]
    props: dict[str, Any] = {}
    for key, prop in raw["properties"].items():
        branch = next((b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"), prop)
        branch = {k: v for k, v in branch.items() if k != "default"}
        es, en, help_es, help_en = IDENTITY_LABELS.get(key, (key, key, None, None))
        branch["title"] = es
        branch["x-en"] = {"title": en}
        if help_es:
            branch["description"] = help_es
            branch["x-en"]["description"] = help_en
        props[key] = branch
    return {
        "type": "object",
        "properties": props,
        "required": raw.get("required", []),
        "additionalProperties": False,
    }


@cache
def opening_schema() -> dict[str, Any]:
    """``inicio_caso`` for display: the state as a select of INEGI states (the engine still
    validates against the form itself)."""
    schema = copy.deepcopy(start_form())
    jurisdiccion = schema["properties"]["jurisdiccion"]
    codes = [c for c in inegi.STATES if c != inegi.FEDERAL]
    jurisdiccion["enum"] = codes
    jurisdiccion["x-enum-labels"] = {
        c: {"es": f"{c} · {inegi.state_name(c)}", "en": f"{c} · {inegi.state_name(c)}"}
        for c in codes
    }
    return schema


def _view(
    request: Request,
    user: WebUser,
    form_data: dict[str, Any],
    identidad: dict[str, Any],
    family_of: str,
    errors: list[dict[str, str]] | None = None,
) -> Template:
    lang = lang_of(request)
    schema = opening_schema()
    by_name, other = forms.field_errors(schema, errors or [], lang, prefix="$.form")
    fields = forms.build_fields(schema, lang, form_data, by_name, {})
    identity_fields = forms.build_fields(
        identity_schema(), lang, identidad, by_name, {}, "identidad."
    )
    unplaced = forms.attach_unplaced(fields + identity_fields, by_name)
    unplaced = [m for m in unplaced if m != by_name.get("family_of")] + other
    return _page(
        request, "new_case.html", user, status_code=422 if errors else 200, fields=fields,
        identity_fields=identity_fields, family_of=family_of,
        family_error=by_name.get("family_of"), has_errors=bool(errors), unplaced=unplaced,
        form_title=forms._text(schema, "title", lang),
        form_help=forms._text(schema, "description", lang),
    )  # fmt: skip


@get("/cases/new", include_in_schema=False)
async def new_case_page(request: Request) -> Template:
    user = await current_user(request)
    p = user.principal
    if not p.is_worker:
        return _page(request, "error.html", user, status_code=403, status=403,
                     message_key="error_403", detail=None)  # fmt: skip
    defaults: dict[str, Any] = {"fecha_deteccion": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    if p.authority_estado != inegi.FEDERAL:
        defaults["jurisdiccion"] = p.authority_estado
        if p.authority_municipio:
            defaults["municipio"] = p.authority_municipio
    return _view(request, user, defaults, {}, "")


@post("/cases/new", include_in_schema=False, status_code=303)
async def new_case_submit(request: Request) -> Response:
    user = await current_user(request)
    posted = await request.form()
    form_data, _ = forms.parse(opening_schema(), posted)
    identidad, _ = forms.parse(identity_schema(), posted, "identidad.")
    family_of = str(posted.get("family_of", "")).strip().upper()[:32]
    errors = schema_errors(identity_schema(), identidad, "$.identidad")
    if errors:  # nothing is written until both blocks are valid; show every mistake at once
        errors = schema_errors(start_form(), form_data, "$.form") + errors
        return _view(request, user, form_data, identidad, family_of, errors)
    try:
        result = await cases.open_case(user.principal, form_data, identidad, family_of or None)
    except InvalidInput as exc:
        return _view(request, user, form_data, identidad, family_of, exc.errors)
    return Redirect(f"/cases/{result['folio']}?ok=case_opened", status_code=303)


def _identity_view(
    request: Request,
    user: WebUser,
    folio: str,
    identidad: dict[str, Any],
    updated_at: Any,
    errors: list[dict[str, str]] | None = None,
    show: bool = True,
) -> Template:
    lang = lang_of(request)
    schema = identity_schema()
    rows = []
    for key, prop in schema["properties"].items():
        value = identidad.get(key)
        if show and value not in (None, "", []):
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            rows.append((forms._text(prop, "title", lang) or key, shown))
    by_name, other = forms.field_errors(schema, errors or [], lang, prefix="$")
    fields = (
        forms.build_fields(schema, lang, identidad, by_name, {}, "identidad.")
        if user.principal.is_worker
        else []
    )
    return _page(
        request, "identity.html", user, status_code=422 if errors else 200, folio=folio,
        rows=rows, show=show, updated_at=updated_at, fields=fields, has_errors=bool(errors),
        unplaced=forms.attach_unplaced(fields, by_name) + other,
        notice=translate(lang, "identity_read_audited"),
    )  # fmt: skip


@get("/cases/{folio:str}/identidad", include_in_schema=False)
async def identity_page(request: Request, folio: FromPath[str]) -> Template:
    """A child's identity: shown only on request, and the read is audited (case.identity_read).
    Caseworkers also get the form to correct it (the change is audited by field name)."""
    user = await current_user(request)
    result = await cases.identity(user.principal, folio)
    return _identity_view(request, user, folio, result["identidad"], result["updated_at"])


@post("/cases/{folio:str}/identidad", include_in_schema=False, status_code=303)
async def identity_submit(request: Request, folio: FromPath[str]) -> Response:
    user = await current_user(request)
    posted = await request.form()
    identidad, _ = forms.parse(identity_schema(), posted, "identidad.")
    errors = schema_errors(identity_schema(), identidad, "$.identidad")
    if errors:  # nothing written; the form comes back with what was typed
        await cases.case_id_for(user.principal, folio)  # 404 before showing anything
        if not user.principal.is_worker:
            raise Forbidden(f"role {user.principal.role} is read-only")
        return _identity_view(request, user, folio, identidad, None, errors, show=False)
    await cases.update_identity(user.principal, folio, identidad)
    return Redirect(f"/cases/{folio}?ok=identity_saved", status_code=303)


@post("/cases/{folio:str}/relocate", include_in_schema=False, status_code=303)
async def relocate_submit(request: Request, folio: FromPath[str]) -> Response:
    """The child moved to another place (state, municipality): the case moves, its open tasks
    re-route, authorities left behind lose access (docs/architecture.md)."""
    user = await current_user(request)
    posted = await request.form()
    move = {k: str(posted.get(k, "")).strip() for k in ("estado", "municipio", "reason")}
    lang = lang_of(request)
    if not move["reason"] or len(move["reason"]) > 500:
        await cases.case_id_for(user.principal, folio)
        message = translate(lang, "err_required" if not move["reason"] else "err_too_long")
        return await case_view(request, user, folio, 422, message, move)
    try:
        await cases.relocate(
            user.principal, folio, move["estado"], move["municipio"][:200] or None, move["reason"]
        )
    except InvalidInput as exc:
        message = "; ".join(forms.message(lang, e["message"], {}) for e in exc.errors)
        return await case_view(request, user, folio, 422, message, move)
    try:
        await cases.case_id_for(user.principal, folio)
    except NotFound:  # moved out of my authority's reach: I no longer see it
        return Redirect("/inbox?ok=case_relocated_away", status_code=303)
    return Redirect(f"/cases/{folio}?ok=case_relocated", status_code=303)


#: The custody form's fields, in the order its errors are shown (label keys of the catalog).
CUSTODY_FIELDS = {
    "station_authority_id": "custody_station_authority",
    "station_name": "custody_station_name",
    "started_at": "custody_started_at",
    "ended_at": "custody_ended_at",
}


def _custody_message(lang: str, exc: InvalidInput) -> str:
    """Every bad field of the custody form, each with its label (Spanish first)."""
    parts = []
    for e in exc.errors:
        name = e.get("path", "").removeprefix("$.")
        text = forms.message(lang, e.get("message", ""), {})
        parts.append(f"{translate(lang, CUSTODY_FIELDS[name])}: {text}" if name in CUSTODY_FIELDS
                     else text)  # fmt: skip
    return "; ".join(parts)


@post("/cases/{folio:str}/custody", include_in_schema=False, status_code=303)
async def custody_start_submit(request: Request, folio: FromPath[str]) -> Response:
    """The child was held in a migration station (LM art. 99): recorded as it happened."""
    user = await current_user(request)
    await custody.check_recorder(user.principal, folio)
    posted = await request.form()
    typed = {k: str(posted.get(k, "")).strip()[:200] for k in CUSTODY_FIELDS}
    lang = lang_of(request)
    station = typed["station_authority_id"]
    try:
        started = custody.parse_instant(
            forms.local_datetime(typed["started_at"]), "$.started_at", required=True
        )
        ended = custody.parse_instant(
            forms.local_datetime(typed["ended_at"]), "$.ended_at", required=False
        )
        assert started is not None
        await custody.start(
            user.principal, folio,
            station_authority_id=int(station) if station.isdigit() else None,
            station_name=typed["station_name"], started_at=started, ended_at=ended,
        )  # fmt: skip
    except InvalidInput as exc:
        return await case_view(
            request, user, folio, 422, custody_error=_custody_message(lang, exc),
            custody_form=typed,
        )  # fmt: skip
    return Redirect(f"/cases/{folio}?ok=custody_recorded#custody", status_code=303)


@post("/cases/{folio:str}/custody/{custody_id:int}/end", include_in_schema=False, status_code=303)
async def custody_end_submit(
    request: Request, folio: FromPath[str], custody_id: FromPath[int]
) -> Response:
    """The child left the migration station (default: now)."""
    user = await current_user(request)
    await custody.check_recorder(user.principal, folio)
    posted = await request.form()
    typed = str(posted.get("ended_at", "")).strip()[:40]
    lang = lang_of(request)
    try:
        ended = custody.parse_instant(forms.local_datetime(typed), "$.ended_at", required=False)
        await custody.end(user.principal, custody_id, ended, folio=folio)
    except InvalidInput as exc:
        return await case_view(request, user, folio, 422, custody_error=_custody_message(lang, exc))
    return Redirect(f"/cases/{folio}?ok=custody_ended_ok#custody", status_code=303)


# --------------------------------------------------------------------------- late reports
#: The late reports' fields (label keys of the catalog), for their error messages.
REPORT_FIELDS = {
    "motivos": "fear_motivos",
    "fecha_conocimiento": "fear_fecha_conocimiento",
    "tipo_riesgo": "risk_tipo",
    "descripcion": "risk_descripcion",
}


def _report_message(lang: str, exc: InvalidInput | Conflict) -> str:
    if isinstance(exc, Conflict):
        return exc.detail
    parts = []
    for e in exc.errors:
        name = e.get("path", "").removeprefix("$.")
        text = forms.message(lang, e.get("message", ""), {})
        parts.append(f"{translate(lang, REPORT_FIELDS[name])}: {text}" if name in REPORT_FIELDS
                     else text)  # fmt: skip
    return "; ".join(parts)


@post("/cases/{folio:str}/fear-of-return", include_in_schema=False, status_code=303)
async def fear_of_return_submit(request: Request, folio: FromPath[str]) -> Response:
    """The child fears return or wants to apply for asylum (LRPCAP art. 21): consular contact is
    blocked at once and COMAR is told (the same service as POST /api/v1/cases/{folio}/...)."""
    user = await current_user(request)
    posted = await request.form()
    motivos = [str(v)[:40] for v in posted.getall("motivos", [])][:4]
    typed = str(posted.get("fecha_conocimiento", "")).strip()[:10]
    lang = lang_of(request)
    try:
        learned = None
        if typed:
            try:
                learned = date.fromisoformat(typed)
            except ValueError:
                raise InvalidInput(
                    "invalid date",
                    [{"path": "$.fecha_conocimiento", "message": f"{typed!r} is not a 'date'"}],
                ) from None
        result = await late_reports.report_fear_of_return(user.principal, folio, motivos, learned)
    except (InvalidInput, Conflict) as exc:
        return await case_view(
            request, user, folio, exc.status_code, report_error=_report_message(lang, exc),
            report_form={"motivos": motivos, "fecha_conocimiento": typed},
        )  # fmt: skip
    ok = "fear_recorded_referral" if result["comar_referral_started"] else "fear_recorded"
    return Redirect(f"/cases/{folio}?ok={ok}#late-reports", status_code=303)


@post("/cases/{folio:str}/imminent-risk", include_in_schema=False, status_code=303)
async def imminent_risk_submit(request: Request, folio: FromPath[str]) -> Response:
    """An imminent risk to the child's life, integrity or liberty (LGDNNA art. 12, art. 122):
    the Procuraduría's report starts urgent measures, any other reaches its inbox."""
    user = await current_user(request)
    posted = await request.form()
    tipo = [str(v)[:40] for v in posted.getall("tipo_riesgo", [])][:4]
    descripcion = str(posted.get("descripcion", ""))[: late_reports.MAX_DESCRIPTION + 1]
    lang = lang_of(request)
    try:
        await late_reports.report_imminent_risk(user.principal, folio, tipo, descripcion)
    except (InvalidInput, Conflict) as exc:
        return await case_view(
            request, user, folio, exc.status_code, report_error=_report_message(lang, exc),
            report_form={"tipo_riesgo": tipo, "descripcion": descripcion},
        )  # fmt: skip
    return Redirect(f"/cases/{folio}?ok=risk_reported#late-reports", status_code=303)
