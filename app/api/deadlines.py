"""Deadlines: my notifications, suspensions of terms, oversight breaches and compliance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody

from app import inegi
from app.api.deps import AppRequest, PathId, clamp, typed
from app.api.responses import reads, writes
from app.api.schemas import (
    BreachOut,
    ComplianceOut,
    DeadlinePageOut,
    Estado,
    NewAccountOut,
    NotificationOut,
    NotificationReadOut,
    ShortText,
    SuspensionOut,
)
from app.errors import field_error
from app.services import oversight, suspensions, users
from app.services.register_report import RegisterFilter

OVERSIGHT_ONLY = (403, "Oversight only.")


@dataclass
class AlsoCsvOperation(Operation):
    """A 200 that is JSON by default and CSV with ``format=csv`` (Litestar documents one media
    type per handler)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        content: Mapping[str, OpenAPIMediaType] | None = getattr(ok, "content", None)
        if content is not None:
            ok.content = {  # type: ignore[union-attr]
                **content,
                "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
            }


class SuspensionIn(msgspec.Struct, forbid_unknown_fields=True):
    jurisdiccion: Estado
    desde: date
    hasta: date
    motivo: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    fuente: ShortText


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["deadlines"]

    @get("/", responses=reads())
    async def mine(
        self, request: AppRequest, unread: FromQuery[bool] = False, limit: FromQuery[int] = 100
    ) -> list[NotificationOut]:
        """My notifications, newest first (``unread=true``: only unread ones)."""
        result = await oversight.my_notifications(request.user, unread=unread, limit=clamp(limit))
        return typed(list[NotificationOut], result)

    @post(
        "/{notification_id:int}/read",
        status_code=200,
        responses=writes((404, "No such notification of yours (someone else's answers 404).")),
    )
    async def read(
        self, request: AppRequest, notification_id: FromPath[int]
    ) -> NotificationReadOut:
        result = await oversight.mark_read(request.user, notification_id)
        return typed(NotificationReadOut, result)


class SuspensionController(Controller):
    path = "/api/v1/suspensions"
    tags = ["deadlines"]

    @get("/", responses=reads((403, "Caseworkers, oversight and admins only.")))
    async def list_all(self, request: AppRequest) -> list[SuspensionOut]:
        return typed(list[SuspensionOut], await suspensions.list_suspensions(request.user))

    @get(
        "/{suspension_id:int}",
        responses=reads(
            (403, "Caseworkers, oversight and admins only."), (404, "No such suspension.")
        ),
    )
    async def one(self, request: AppRequest, suspension_id: PathId) -> SuspensionOut:
        """A suspension and the progress of the recompute of its open cases (``recompute``:
        status queued / running / done, cases done of total)."""
        return typed(SuspensionOut, await suspensions.get_suspension(request.user, suspension_id))

    @post(
        "/",
        status_code=201,
        responses=writes(
            (403, "Only an admin, or the head of a Procuraduría for its jurisdiction."),
            (
                422,
                "`jurisdiccion` is no INEGI code (00-32), `hasta` is before `desde`, or "
                "`motivo` / `fuente` is blank.",
            ),
        ),
    )
    async def add(self, request: AppRequest, data: JSONBody[SuspensionIn]) -> SuspensionOut:
        """Admin, or the head of a Procuraduría (own jurisdiction; federal: any). Answers at
        once with the recompute queued; the deadline worker recomputes the open cases it
        touches, in batches (``GET /{id}`` shows how far it got)."""
        result = await suspensions.add_suspension(
            request.user,
            jurisdiccion=data.jurisdiccion,
            desde=data.desde,
            hasta=data.hasta,
            motivo=data.motivo,
            fuente=data.fuente,
        )
        return typed(SuspensionOut, result)


class OversightController(Controller):
    path = "/api/v1/oversight"
    tags = ["deadlines"]

    @get("/breaches", responses=reads(OVERSIGHT_ONLY))
    async def breaches(
        self,
        request: AppRequest,
        open: FromQuery[bool] = False,  # noqa: A002
    ) -> list[BreachOut]:
        return typed(list[BreachOut], await oversight.breaches(request.user, open_only=open))

    @get("/accounts", responses=reads(OVERSIGHT_ONLY))
    async def accounts(
        self,
        request: AppRequest,
        since: FromQuery[datetime | None] = None,
        limit: FromQuery[int] = 100,
    ) -> list[NewAccountOut]:
        """Every account, newest first (``since``: created from then on): role, authority, how
        it was created (api / cli / demo), who asked for it and who approved it, and how many
        children's identities it read in its first days (separation of duties, issue 15)."""
        result = await users.new_accounts(request.user, since=since, limit=clamp(limit))
        return typed(list[NewAccountOut], result)

    @get(
        "/compliance",
        operation_class=AlsoCsvOperation,
        responses=reads(
            OVERSIGHT_ONLY, (422, "`since`/`until` is no date-time, or `estado` no INEGI code.")
        ),
    )
    async def compliance(
        self,
        request: AppRequest,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        deadline: FromQuery[str | None] = None,
        authority: FromQuery[str | None] = None,
        estado: FromQuery[str | None] = None,
        format: FromQuery[str] = "json",  # noqa: A002
    ) -> Response[ComplianceOut]:
        """Counted from the deadline register, for the deadlines due in ``[since, until)``,
        of one ``deadline`` id, ``authority`` code or ``estado`` if given: on time %, breaches
        (open ones with their lateness), median lateness. ``format=csv``: the rows per deadline,
        authority and state as CSV (``text/csv``, UTF-8 with a byte-order mark)."""
        _check_estado(estado)
        report = await oversight.compliance(
            request.user,
            since=since,
            until=until,
            plazo_id=deadline,
            authority=authority,
            estado=estado,
        )
        if format == "csv":
            return Response(  # type: ignore[return-value]
                oversight.compliance_csv(report),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="careroute-compliance.csv"'},
            )
        return Response(typed(ComplianceOut, report))

    @get(
        "/deadlines",
        responses=reads(
            OVERSIGHT_ONLY,
            (422, "`status` is not one of its values, or `estado` no INEGI code."),
        ),
    )
    async def deadlines(
        self,
        request: AppRequest,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        deadline: FromQuery[str | None] = None,
        authority: FromQuery[str | None] = None,
        estado: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        after: FromQuery[int | None] = None,
        limit: FromQuery[int] = 100,
    ) -> DeadlinePageOut:
        """The deadline register's rows behind the compliance counts, same filters, by id:
        ``status`` running / met / breached / breached_open / cancelled; pass the page's
        ``next_after`` as ``after`` for the next page."""
        _check_estado(estado)
        if status is not None and status not in REGISTER_STATUSES:
            raise field_error("status", f"one of {', '.join(REGISTER_STATUSES)}")
        size = clamp(limit)
        flt = RegisterFilter(
            since=since,
            until=until,
            plazo_id=deadline,
            authority=authority,
            estado=estado,
            status=status,
        )
        items = await oversight.deadline_rows(request.user, flt, limit=size + 1, after=after)
        more = len(items) > size
        items = items[:size]
        return typed(
            DeadlinePageOut,
            {"items": items, "next_after": items[-1]["id"] if more else None},
        )


REGISTER_STATUSES = ("running", "met", "breached", "breached_open", "cancelled")


def _check_estado(estado: str | None) -> None:
    if estado is not None and not inegi.is_valid(estado):
        raise field_error("estado", "an INEGI state code, 01-32")
