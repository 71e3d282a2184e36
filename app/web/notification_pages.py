"""The notifications page: deadline escalations and breaches addressed to me, marked read here.

Supervisors and heads get them when a task of their authority misses a legal deadline; oversight
users get the breach records (level 3). Same service as ``GET /api/v1/notifications``.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.api.schemas import MAX_DB_ID
from app.errors import NotFound
from app.route_engine import deadline_label
from app.services import oversight
from app.services.arco import PLAZO_ID as ARCO_DEADLINE
from app.web.i18n import translate
from app.web.pages import _page
from app.web.session import current_user, lang_of


@get("/notifications", include_in_schema=False)
async def notifications_page(request: Request) -> Template:
    user = await current_user(request)
    unread_only = request.query_params.get("unread") == "1"
    items = await oversight.my_notifications(user.principal, unread=unread_only, limit=200)
    lang = lang_of(request)
    for item in items:
        item["deadline_label"] = (
            translate(lang, "arco_deadline")  # an ARCO request past its deadline (issue 16)
            if item["plazo_id"] == ARCO_DEADLINE
            else deadline_label(item["plazo_id"], lang)
        )
    return _page(request, "notifications.html", user, items=items, unread_only=unread_only)


@post("/notifications/{notification_id:int}/read", include_in_schema=False, status_code=303)
async def notification_read(request: Request, notification_id: FromPath[int]) -> Redirect:
    user = await current_user(request)
    if notification_id > MAX_DB_ID:  # beyond any row id: not found, never a driver overflow
        raise NotFound("notification not found")
    await oversight.mark_read(user.principal, notification_id)
    return Redirect("/notifications", status_code=303)
