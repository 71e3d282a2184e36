"""The data protection officer's pages (issue 16, items 3 and 5), Spanish first:

- ``/proteccion-datos``: the view's counts, each a link to its rows (``/proteccion-datos/
  seccion/{name}``), the ARCO requests with the form to register one, the legal holds with the
  form to set one and a button to lift each;
- ``/proteccion-datos/arco/{id}``: one request, with its answer (the access export as CSV, the
  rectification of the identity, the decision on a cancellation or opposition) and its one
  extension.

Same services as the API (app/services/arco.py, app/services/dpo.py); a refused form comes back
with the service's messages (422 or 409) and nothing is written. Oversight reads these pages and
sees no form.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.api.schemas import MAX_DB_ID
from app.errors import Conflict, InvalidInput, NotFound
from app.services import arco, dpo, retention
from app.web.data_protection_pages import _instant, _messages
from app.web.pages import _page
from app.web.session import WebUser, current_user


def _posted(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: (str(form.get(n) or "").strip()[:4000] or None) for n in names}


def _id(value: int) -> int:
    if not 1 <= value <= MAX_DB_ID:
        raise NotFound("ARCO request not found")
    return value


async def _home(request: Request, user: WebUser, status_code: int = 200, **extra: Any) -> Template:
    view = await dpo.overview(user.principal)
    return _page(
        request, "dpo.html", user, status_code=status_code, view=view,
        requests=await arco.list_requests(user.principal),
        holds=await dpo.holds(user.principal),
        can_write=user.principal.is_data_protection, derechos=arco.ARCO_RIGHTS,
        relaciones=arco.RELACIONES, verificaciones=arco.VERIFICACIONES, motivos=retention.HOLD_KINDS,
        **extra,
    )  # fmt: skip


@get("/proteccion-datos", include_in_schema=False)
async def dpo_page(request: Request) -> Template:
    user = await current_user(request)
    return await _home(request, user)


@get("/proteccion-datos/seccion/{name:str}", include_in_schema=False)
async def dpo_section_page(request: Request, name: FromPath[str]) -> Template:
    user = await current_user(request)
    rows = await dpo.section(user.principal, name[:40])
    return _page(request, "dpo_section.html", user, section=name, rows=rows)


@post("/proteccion-datos/arco", include_in_schema=False, status_code=303)
async def arco_submit(request: Request) -> Response:
    user = await current_user(request)
    form = await request.form()
    data = _posted(
        form,
        ("folio", "derecho", "solicitante_relacion", "solicitante_nombre", "verificacion",
         "verificacion_detalle", "descripcion"),
    )  # fmt: skip
    try:
        data["recibida_en"] = _instant(form, "recibida_en")
        made = await arco.register(user.principal, data)
    except (InvalidInput, Conflict) as exc:
        return await _home(request, user, exc.status_code, arco_error=_messages(request, exc))
    return Redirect(f"/proteccion-datos/arco/{made['id']}?ok=arco_registered", status_code=303)


@post("/proteccion-datos/retenciones", include_in_schema=False, status_code=303)
async def hold_submit(request: Request) -> Response:
    user = await current_user(request)
    form = await request.form()
    data = _posted(form, ("folio", "motivo", "referencia"))
    try:
        await dpo.set_hold(user.principal, data["folio"] or "", data["motivo"], data["referencia"])
    except (InvalidInput, Conflict) as exc:
        return await _home(request, user, exc.status_code, hold_error=_messages(request, exc))
    return Redirect("/proteccion-datos?ok=hold_set", status_code=303)


@post("/proteccion-datos/retenciones/{hold_id:int}/liberar", include_in_schema=False,
      status_code=303)  # fmt: skip
async def hold_lift_submit(request: Request, hold_id: FromPath[int]) -> Response:
    user = await current_user(request)
    await dpo.lift_hold(user.principal, _id(hold_id))
    return Redirect("/proteccion-datos?ok=hold_lifted", status_code=303)


async def _request(
    request: Request, user: WebUser, request_id: int, status_code: int = 200, **extra: Any
) -> Template:
    item = await arco.get(user.principal, request_id)
    return _page(
        request, "arco_request.html", user, status_code=status_code, item=item,
        can_write=user.principal.is_data_protection and item["estado"] == "abierta",
        causas=list(arco.rules().causas), **extra,
    )  # fmt: skip


@get("/proteccion-datos/arco/{request_id:int}", include_in_schema=False)
async def arco_page(request: Request, request_id: FromPath[int]) -> Template:
    user = await current_user(request)
    return await _request(request, user, _id(request_id))


@post("/proteccion-datos/arco/{request_id:int}/ampliar", include_in_schema=False,
      status_code=303)  # fmt: skip
async def arco_extend_submit(request: Request, request_id: FromPath[int]) -> Response:
    user = await current_user(request)
    form = await request.form()
    try:
        await arco.extend(user.principal, _id(request_id), _posted(form, ("razones",)))
    except (InvalidInput, Conflict) as exc:
        return await _request(
            request, user, request_id, exc.status_code, arco_error=_messages(request, exc)
        )
    return Redirect(f"/proteccion-datos/arco/{request_id}?ok=arco_extended_ok", status_code=303)


@post("/proteccion-datos/arco/{request_id:int}/acceso.csv", include_in_schema=False,
      status_code=200)  # fmt: skip
async def arco_access_csv(request: Request, request_id: FromPath[int]) -> Response:
    user = await current_user(request)
    try:
        export = await arco.access_export(user.principal, _id(request_id))
    except Conflict as exc:
        return await _request(
            request, user, request_id, exc.status_code, arco_error=_messages(request, exc)
        )
    return Response(
        arco.export_csv(export),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="arco-{request_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


@post("/proteccion-datos/arco/{request_id:int}/rectificar", include_in_schema=False,
      status_code=303)  # fmt: skip
async def arco_rectify_submit(request: Request, request_id: FromPath[int]) -> Response:
    user = await current_user(request)
    form = await request.form()
    identidad = {k: v for k, v in _posted(form, ("nombres", "apellidos")).items() if v}
    try:
        if not identidad.get("nombres"):
            raise InvalidInput("invalid", [{"path": "$.nombres", "message": "is required"}])
        await arco.rectify(user.principal, _id(request_id), identidad)
    except (InvalidInput, Conflict) as exc:
        return await _request(
            request, user, request_id, exc.status_code, arco_error=_messages(request, exc)
        )
    return Redirect(f"/proteccion-datos/arco/{request_id}?ok=arco_answered", status_code=303)


@post("/proteccion-datos/arco/{request_id:int}/decidir", include_in_schema=False,
      status_code=303)  # fmt: skip
async def arco_decide_submit(request: Request, request_id: FromPath[int]) -> Response:
    user = await current_user(request)
    form = await request.form()
    data = _posted(form, ("resultado", "causa", "razones"))
    try:
        await arco.decide(user.principal, _id(request_id), data)
    except (InvalidInput, Conflict) as exc:
        return await _request(
            request, user, request_id, exc.status_code, arco_error=_messages(request, exc)
        )
    return Redirect(f"/proteccion-datos/arco/{request_id}?ok=arco_answered", status_code=303)


ROUTES = (
    dpo_page, dpo_section_page, arco_submit, hold_submit, hold_lift_submit, arco_page,
    arco_extend_submit, arco_access_csv, arco_rectify_submit, arco_decide_submit,
)  # fmt: skip
