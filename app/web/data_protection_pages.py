"""The child's privacy notices and consents (``/cases/{folio}/datos-personales``) and the
security incident log (``/incidentes``), Spanish first (issue 16, items 4 and 5).

The pages read the posted form and call the same services as the API
(app/services/data_protection.py, app/services/security_incidents.py); a refused form comes back
with the service's messages beside it (422 or 409 naming the rule), and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.data_protection_rules import rules
from app.errors import Conflict, InvalidInput
from app.services import data_protection, security_incidents
from app.web import forms
from app.web.pages import _page
from app.web.session import WebUser, current_user, lang_of
from workflows.guarantees import IDIOMAS


def _instant(form: Any, name: str) -> datetime | None:
    """A ``datetime-local`` field (central Mexico) as an aware instant; blank: None; 422
    naming the field if it does not parse."""
    text = str(form.get(name) or "").strip()[:40]
    if not text:
        return None
    iso = forms.local_datetime(text)
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "invalid date", [{"path": f"$.{name}", "message": f"{text!r} is not a date-time"}]
        ) from None


def _messages(request: Request, exc: InvalidInput | Conflict) -> str:
    lang = lang_of(request)
    if isinstance(exc, InvalidInput):
        return "; ".join(
            f"{e['path'].removeprefix('$.')}: {forms.message(lang, e['message'], {})}"
            for e in exc.errors
        )
    errors = getattr(exc, "errors", None) or []
    return "; ".join([exc.detail] + [e["message"] for e in errors])


def _choices() -> dict[str, Any]:
    config = rules()
    return {
        "versions": config.notice_versions,
        "idiomas": list(IDIOMAS.items()),
        "modalidades": data_protection.MODALIDADES,
        "formas_explicacion": data_protection.FORMAS_EXPLICACION,
        "entregado_a": data_protection.ENTREGADO_A,
        "comprension": data_protection.COMPRENSION,
        "destinatarios": [(r.key, r.nombre, r.nombre_en) for r in config.recipients.values()],
        "finalidades": data_protection.FINALIDADES,
        "decisiones": data_protection.DECISIONES,
        "otorgado_por": data_protection.OTORGADO_POR,
        "formas": data_protection.FORMAS,
        "opiniones": data_protection.OPINIONES,
        "opiniones_rep": data_protection.OPINIONES_REPRESENTANTE,
        "bases": [(b.key, b.nombre, b.nombre_en, b.fuente) for b in config.bases.values()],
        "retirado_por": data_protection.RETIRADO_POR,
    }


async def _view(
    request: Request, user: WebUser, folio: str, status_code: int = 200, **extra: Any
) -> Template:
    register = await data_protection.register(user.principal, folio)
    p = user.principal
    return _page(
        request, "data_protection.html", user, status_code=status_code, folio=folio,
        reg=register, can_notice=p.is_worker and p.authority_tipo != data_protection.CONSULATE,
        can_consent=p.is_worker and p.authority_tipo == data_protection.REPRESENTATION_HOLDER,
        c=_choices(), **extra,
    )  # fmt: skip


@get("/cases/{folio:str}/datos-personales", include_in_schema=False)
async def data_protection_page(request: Request, folio: FromPath[str]) -> Template:
    user = await current_user(request)
    return await _view(request, user, folio)


def _posted(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: str(form.get(n, "")).strip()[:8000] or None for n in names}


@post("/cases/{folio:str}/datos-personales/aviso", include_in_schema=False, status_code=303)
async def notice_submit(request: Request, folio: FromPath[str]) -> Response:
    user = await current_user(request)
    form = await request.form()
    data = _posted(form, ("version", "modalidad", "idioma", "forma_explicacion", "entregado_a",
                          "nna_comprende", "observaciones"))  # fmt: skip
    data["interprete"] = form.get("interprete") == "true"
    try:
        data["explicado_en"] = _instant(form, "explicado_en")
        await data_protection.give_notice(user.principal, folio, data)
    except (InvalidInput, Conflict) as exc:
        return await _view(
            request, user, folio, exc.status_code, notice_error=_messages(request, exc)
        )
    return Redirect(f"/cases/{folio}/datos-personales?ok=notice_given", status_code=303)


@post(
    "/cases/{folio:str}/datos-personales/consentimiento", include_in_schema=False, status_code=303
)
async def consent_submit(request: Request, folio: FromPath[str]) -> Response:
    user = await current_user(request)
    form = await request.form()
    data = _posted(form, ("destinatario", "destinatario_nombre", "finalidad", "decision",
                          "otorgado_por", "forma", "opinion_nna", "opinion_nna_texto",
                          "opinion_representante", "razones", "base_legal",
                          "referencia_documento"))  # fmt: skip
    try:
        data["expresado_en"] = _instant(form, "expresado_en")
        await data_protection.record_consent(user.principal, folio, data)
    except (InvalidInput, Conflict) as exc:
        return await _view(
            request, user, folio, exc.status_code, consent_error=_messages(request, exc)
        )
    return Redirect(f"/cases/{folio}/datos-personales?ok=consent_recorded", status_code=303)


@post(
    "/cases/{folio:str}/datos-personales/consentimiento/{consent_id:int}/retirar",
    include_in_schema=False,
    status_code=303,
)
async def withdraw_submit(
    request: Request, folio: FromPath[str], consent_id: FromPath[int]
) -> Response:
    user = await current_user(request)
    form = await request.form()
    data = _posted(form, ("retirado_por", "motivo"))
    try:
        await data_protection.withdraw_consent(user.principal, folio, consent_id, data)
    except (InvalidInput, Conflict) as exc:
        return await _view(
            request, user, folio, exc.status_code, consent_error=_messages(request, exc)
        )
    return Redirect(f"/cases/{folio}/datos-personales?ok=consent_withdrawn", status_code=303)


# --------------------------------------------------------------------------- incidents
async def _incidents_view(
    request: Request, user: WebUser, status_code: int = 200, **extra: Any
) -> Template:
    log = await security_incidents.log(user.principal)
    return _page(
        request, "incidents.html", user, status_code=status_code, log=log["incidents"],
        can_record=user.principal.role in security_incidents.INCIDENT_RECORDERS,
        tipos=security_incidents.TIPOS, datos=security_incidents.DATOS,
        destinatarios=security_incidents.DESTINATARIOS, medios=security_incidents.MEDIOS,
        now_local=datetime.now(forms.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"), **extra,
    )  # fmt: skip


@get("/incidentes", include_in_schema=False)
async def incidents_page(request: Request) -> Template:
    user = await current_user(request)
    return await _incidents_view(request, user)


@post("/incidentes", include_in_schema=False, status_code=303)
async def incident_submit(request: Request) -> Response:
    user = await current_user(request)
    form = await request.form()
    data: dict[str, Any] = _posted(
        form, ("tipo", "descripcion", "motivo", "acciones_inmediatas", "acciones_definitivas")
    )
    data["datos_comprometidos"] = [str(v)[:40] for v in form.getall("datos_comprometidos", [])][:10]
    data["folios"] = [
        f.strip() for f in str(form.get("folios", ""))[:200_000].split() if f.strip()
    ][: security_incidents.MAX_FOLIOS + 1]
    data["afectacion_significativa"] = form.get("afectacion_significativa") == "true"
    try:
        data["ocurrio_en"] = _instant(form, "ocurrio_en")
        data["detectado_en"] = _instant(form, "detectado_en")
        await security_incidents.record(user.principal, data)
    except (InvalidInput, Conflict) as exc:
        return await _incidents_view(
            request, user, exc.status_code, incident_error=_messages(request, exc)
        )
    return Redirect("/incidentes?ok=incident_recorded", status_code=303)


@post("/incidentes/{incident_id:int}/avisos", include_in_schema=False, status_code=303)
async def incident_notice_submit(request: Request, incident_id: FromPath[int]) -> Response:
    user = await current_user(request)
    form = await request.form()
    data: dict[str, Any] = _posted(form, ("destinatario", "medio"))
    raw = str(form.get("personas_notificadas", "")).strip()[:12]
    data["personas_notificadas"] = int(raw) if raw.isascii() and raw.isdigit() else None
    try:
        data["enviado_en"] = _instant(form, "enviado_en") or datetime.now(UTC)
        await security_incidents.record_notice(user.principal, incident_id, data)
    except (InvalidInput, Conflict) as exc:
        return await _incidents_view(
            request, user, exc.status_code, incident_error=_messages(request, exc)
        )
    return Redirect("/incidentes?ok=incident_notice_recorded", status_code=303)
