"""The child's privacy notices and consents to share data (issue 16, item 4), and the security
incident log (item 5): app/services/data_protection.py and app/services/security_incidents.py."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from app.api.data_protection_schemas import (
    ConsentIn,
    ConsentRecordedOut,
    DataProtectionOut,
    IncidentIn,
    IncidentLogOut,
    IncidentNoticeIn,
    IncidentNoticeRecordedOut,
    IncidentRecordedOut,
    NoticeRecordedOut,
    PrivacyNoticeIn,
    WithdrawIn,
    WithdrawnOut,
)
from app.api.deps import AppRequest, PathId, typed
from app.api.responses import reads, writes
from app.services import data_protection, security_incidents


def _body(data: msgspec.Struct) -> dict:
    """The body as a dict; an instant without a zone is UTC (the API speaks UTC)."""
    out = {}
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        out[name] = value
    return out


class DataProtectionController(Controller):
    path = "/api/v1/cases"
    tags = ["data protection"]

    @get(
        "/{folio:str}/data-protection",
        responses=reads(
            (403, "Admins have no cases; a consulate does not read this record."),
            (404, "No case with this folio that you may see."),
        ),
    )
    async def register(self, request: AppRequest, folio: FromPath[str]) -> DataProtectionOut:
        """The privacy notices given to the child, every consent, refusal, legal basis and
        withdrawal, and, per recipient, whether data may be shared now and on what (an audited
        read: it holds the child's opinion)."""
        return typed(DataProtectionOut, await data_protection.register(request.user, folio))

    @post(
        "/{folio:str}/privacy-notices",
        status_code=201,
        responses=writes(
            (403, "Oversight and admins are read-only; a consulate does not give it."),
            (404, "No case with this folio that you may see."),
            (409, "The case is closed."),
            (422, "A field is outside its list (named), in the future or before the detection."),
        ),
    )
    async def give_notice(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[PrivacyNoticeIn]
    ) -> NoticeRecordedOut:
        """Record the privacy notice given to the child (LGPDPPSO arts. 20-22): version,
        language, how it was explained, by whom and when."""
        result = await data_protection.give_notice(request.user, folio, _body(data))
        return typed(NoticeRecordedOut, result)

    @post(
        "/{folio:str}/consents",
        status_code=201,
        responses=writes(
            (
                403,
                "Only a caseworker of the Procuraduría (a legal basis: its supervisor or head).",
            ),
            (404, "No case with this folio that you may see."),
            (
                409,
                "The case is closed, or a consent has no privacy notice given before it "
                "(rule `aviso_privacidad_previo`).",
            ),
            (422, "A field is outside its list, missing for this decision, or out of range."),
        ),
    )
    async def record_consent(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[ConsentIn]
    ) -> ConsentRecordedOut:
        """Record a consent or a refusal to share the child's data with a named third party,
        with the child's opinion (and the representative's), or the legal basis that replaces
        consent (LGPDPPSO arts. 16, 59, 64)."""
        result = await data_protection.record_consent(request.user, folio, _body(data))
        return typed(ConsentRecordedOut, result)

    @post(
        "/{folio:str}/consents/{consent_id:int}/withdraw",
        status_code=200,
        responses=writes(
            (403, "Only a caseworker of the Procuraduría (a legal basis: its supervisor or head)."),
            (404, "No case with this folio that you may see, or no such consent in it."),
            (409, "Already withdrawn, or a refusal."),
            (422, "`retirado_por` is outside its list."),
        ),
    )
    async def withdraw(
        self,
        request: AppRequest,
        folio: FromPath[str],
        consent_id: FromPath[PathId],
        data: JSONBody[WithdrawIn],
    ) -> WithdrawnOut:
        """Withdraw a consent (or a legal basis): sharing with that recipient is refused from
        now on. Audited; nothing is deleted."""
        result = await data_protection.withdraw_consent(
            request.user, folio, consent_id, _body(data)
        )
        return typed(WithdrawnOut, result)


class SecurityIncidentController(Controller):
    path = "/api/v1/security-incidents"
    tags = ["data protection"]

    @get("/", responses=reads((403, "Only admins and oversight read the log.")))
    async def log(self, request: AppRequest) -> IncidentLogOut:
        """The security incident log (LGPDPPSO art. 33), newest first: an audited read."""
        return typed(IncidentLogOut, await security_incidents.log(request.user))

    @post(
        "/",
        status_code=201,
        responses=writes(
            (403, "Only an admin records incidents."),
            (422, "A field is outside its list, in the future, or a folio names no case."),
        ),
    )
    async def record(self, request: AppRequest, data: JSONBody[IncidentIn]) -> IncidentRecordedOut:
        """Record a breach of the security of personal data: what, when, why, whose data (the
        cases), the corrective actions (LGPDPPSO arts. 32-33)."""
        return typed(
            IncidentRecordedOut, await security_incidents.record(request.user, _body(data))
        )

    @post(
        "/{incident_id:int}/notices",
        status_code=201,
        responses=writes(
            (403, "Only an admin records notices."),
            (404, "No such incident."),
            (422, "A field is outside its list, in the future or before the incident."),
        ),
    )
    async def notice(
        self, request: AppRequest, incident_id: FromPath[PathId], data: JSONBody[IncidentNoticeIn]
    ) -> IncidentNoticeRecordedOut:
        """A notice of the incident sent to the people affected, the Secretaría or the
        autoridad garante (LGPDPPSO arts. 34-35), with its date."""
        result = await security_incidents.record_notice(request.user, incident_id, _body(data))
        return typed(IncidentNoticeRecordedOut, result)
