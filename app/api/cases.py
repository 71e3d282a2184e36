"""Cases: open, list, detail (audited), identity (audited), relocate; forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.deps import AppRequest, clamp, typed
from app.api.responses import reads, writes
from app.api.schemas import (
    BidReconsiderationIn,
    BidReopenedOut,
    CaseDetailOut,
    CaseFormsOut,
    CaseOpenedOut,
    CasePageOut,
    FearOfReturnIn,
    FearOfReturnOut,
    Identidad,
    IdentityOut,
    IdentityUpdatedOut,
    ImminentRiskIn,
    ImminentRiskOut,
    OpenCaseIn,
    RelocatedOut,
    RelocateIn,
)
from app.route_engine import library
from app.services import case_record, cases, late_reports


def _aware(value: datetime | None) -> datetime | None:
    """An instant without a zone is UTC (the API speaks UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


NOT_WORKER = (403, "Your role is read-only (oversight) or has no cases (admin).")


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]

    @post(
        "/",
        status_code=201,
        responses=writes(
            NOT_WORKER,
            (
                422,
                "The form is invalid (`$.form.*`), its `jurisdiccion` is not a state or outside "
                "your authority's, or `family_of` names no case you see.",
            ),
        ),
    )
    async def open_case(self, request: AppRequest, data: JSONBody[OpenCaseIn]) -> CaseOpenedOut:
        """Open a child's case from the ``inicio_caso`` form and start the route."""
        result = await cases.open_case(
            request.user, data.form, msgspec.to_builtins(data.identidad), data.family_of
        )
        return typed(CaseOpenedOut, result)

    @get(
        "/",
        responses=reads(
            (403, "Admins have no cases."),
            (422, "A filter is out of its list (named in the error), or the cursor is invalid."),
        ),
    )
    async def list_cases(
        self,
        request: AppRequest,
        folio: FromQuery[str | None] = None,
        nombre: FromQuery[str | None] = None,
        estado: FromQuery[str | None] = None,
        municipio: FromQuery[str | None] = None,
        stage: FromQuery[str | None] = None,
        risk: FromQuery[str | None] = None,
        overdue: FromQuery[bool | None] = None,
        authority: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        family_group: FromQuery[str | None] = None,
        opened_from: FromQuery[datetime | None] = None,
        opened_to: FromQuery[datetime | None] = None,
        sort: FromQuery[str] = "opened",
        order: FromQuery[str] = "desc",
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> CasePageOut:
        """Cases visible to the caller (oversight: all; a shelter: the children placed with it),
        filtered, sorted (``opened``, ``updated`` or ``folio``; ``desc`` or ``asc``) and
        cursor-paginated. No identity data, except the name in the answer to a name search
        (``nombre``, searched in the identity table), which is an audited read."""
        result = await cases.list_cases(
            request.user, estado=estado, status=status, family_group=family_group,
            cursor=cursor, limit=clamp(limit), folio=folio, nombre=nombre, municipio=municipio,
            stage=stage, risk=risk, overdue=overdue, authority=authority,
            opened_from=_aware(opened_from), opened_to=_aware(opened_to), sort=sort, order=order,
        )  # fmt: skip
        return typed(CasePageOut, result)

    @get("/{folio:str}/forms", responses=reads(404))
    async def forms(self, request: AppRequest, folio: FromPath[str]) -> CaseFormsOut:
        """Every completed form of the case as submitted, who and when, oldest first (an
        audited read: ``case.forms_read`` names the forms, never their content)."""
        return typed(CaseFormsOut, await case_record.read(request.user, folio))

    @get("/{folio:str}/forms/{task_id:str}", responses=reads(404))
    async def form(
        self, request: AppRequest, folio: FromPath[str], task_id: FromPath[str]
    ) -> CaseFormsOut:
        """One completed form (by task id) of the case (an audited read)."""
        return typed(CaseFormsOut, await case_record.read(request.user, folio, task_id))

    @get("/{folio:str}", responses=reads(404))
    async def detail(self, request: AppRequest, folio: FromPath[str]) -> CaseDetailOut:
        """Case, tasks, placements, family links and timeline (audited read)."""
        return typed(CaseDetailOut, await cases.detail(request.user, folio))

    @get("/{folio:str}/identity", responses=reads(404))
    async def identity(self, request: AppRequest, folio: FromPath[str]) -> IdentityOut:
        """The child's identity data (audited read)."""
        return typed(IdentityOut, await cases.identity(request.user, folio))

    @put("/{folio:str}/identity", responses=writes(NOT_WORKER, 404))
    async def update_identity(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[Identidad]
    ) -> IdentityUpdatedOut:
        """Replace the identity data; the audit trail records the changed field names only."""
        result = await cases.update_identity(request.user, folio, msgspec.to_builtins(data))
        return typed(IdentityUpdatedOut, result)

    @post(
        "/{folio:str}/relocate",
        status_code=200,
        responses=writes(
            NOT_WORKER,
            404,
            (409, "The case is closed."),
            (422, "`estado` is not the INEGI code of a state."),
        ),
    )
    async def relocate(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[RelocateIn]
    ) -> RelocatedOut:
        """The child is now in another state/municipality: open tasks re-route."""
        result = await cases.relocate(request.user, folio, data.estado, data.municipio, data.reason)
        return typed(RelocatedOut, result)

    @post(
        "/{folio:str}/bid-reconsideration",
        status_code=200,
        responses=writes(
            (403, "Only a caseworker of the Procuraduría handling the case."),
            404,
            (409, "The case is closed, or no plan de restitución is under way."),
            (422, "`motivo` is blank."),
        ),
    )
    async def reconsider_bid(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[BidReconsiderationIn]
    ) -> BidReopenedOut:
        """New information or changed circumstances reopen the best-interests determination
        (BID): the plan de restitución under way stops and the BID panel meets again."""
        result = await cases.reconsider_bid(request.user, folio, data.motivo)
        return typed(BidReopenedOut, result)

    @post(
        "/{folio:str}/imminent-risk",
        status_code=200,
        responses=writes(
            NOT_WORKER,
            404,
            (
                409,
                "The case is closed, or the route is not in protection (before the acta de "
                "canalización, or protection concluded): nothing is written.",
            ),
            (422, "`tipo_riesgo` repeats a value, or `descripcion` is blank."),
        ),
    )
    async def report_imminent_risk(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[ImminentRiskIn]
    ) -> ImminentRiskOut:
        """An imminent risk to the child's life, integrity or liberty, at any moment of
        protection (LGDNNA art. 12 and art. 122 fr. VI–VII): the Procuraduría's report starts
        urgent measures at once; any other authority's reaches the Procuraduría, which assesses
        it within a deadline counted from the report. Each report starts its own run."""
        result = await late_reports.report_imminent_risk(
            request.user, folio, list(data.tipo_riesgo), data.descripcion
        )
        return typed(ImminentRiskOut, result)

    @post(
        "/{folio:str}/fear-of-return",
        status_code=200,
        responses=writes(
            (403, "Oversight and admins are read-only; a consulate may not record it."),
            404,
            (
                409,
                "The case is closed, the child is Mexican, or the route is not in protection: "
                "nothing is written.",
            ),
            (
                422,
                "`motivos` repeats a value, or `fecha_conocimiento` is in the future or before "
                "the detection.",
            ),
        ),
    )
    async def report_fear_of_return(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[FearOfReturnIn]
    ) -> FearOfReturnOut:
        """The child fears return or wants to apply for asylum, recorded at any moment of
        protection by an authority with access (LRPCAP art. 21): consular contact is blocked at
        once and the COMAR referral starts, unless one is under way or a claim is pending or
        decided (then 200 with ``comar_referral_started: false`` and the reason)."""
        result = await late_reports.report_fear_of_return(
            request.user, folio, list(data.motivos), data.fecha_conocimiento
        )
        return typed(FearOfReturnOut, result)


class FormController(Controller):
    path = "/api/v1/forms"
    tags = ["forms"]

    @get("/{name:str}", responses=reads(404))
    async def form(self, name: FromPath[str]) -> dict[str, Any]:
        """A form's JSON Schema (draft 2020-12), e.g. ``inicio_caso``: a free-form document."""
        schema = library().forms.schemas.get(f"{name}.schema.json")
        if schema is None:
            raise NotFoundException(f"form {name} not found")
        return schema
