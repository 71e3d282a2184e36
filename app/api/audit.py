"""Audit trail for oversight: filtered pages, exports (audited), verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Controller, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import FromQuery
from litestar.response import Stream

from app.api.deps import AppRequest, clamp, typed
from app.api.responses import reads
from app.api.schemas import AuditPageOut, AuditVerifyOut, CheckpointsOut
from app.services import audit_read, checkpoints
from app.services.audit_read import AuditFilter


def _filter(case, actor, authority, action, since, until) -> AuditFilter:  # noqa: ANN001
    return AuditFilter(case, actor, authority, action, since, until)


@dataclass
class ExportOperation(Operation):
    """Documents both export formats (Litestar documents one media type per handler)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and hasattr(ok, "content"):
            text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            ok.content = {"application/x-ndjson": text, "text/csv": text}


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/", responses=reads(403, (422, "The cursor is invalid.")))
    async def events(
        self,
        request: AppRequest,
        case: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        authority: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = 100,
    ) -> AuditPageOut:
        """Newest first. ``case`` is a folio, ``actor`` a user name, ``authority`` the actor's
        authority code, ``action`` exact or a prefix ending in a dot (``task.``)."""
        flt = _filter(case, actor, authority, action, since, until)
        return typed(AuditPageOut, await audit_read.page(request.user, flt, cursor, clamp(limit)))

    @get(
        "/export",
        operation_class=ExportOperation,
        responses=reads(403, (422, "`format` is neither csv nor jsonl.")),
    )
    async def export(
        self,
        request: AppRequest,
        format: FromQuery[str] = "jsonl",  # noqa: A002
        case: FromQuery[str | None] = None,
        actor: FromQuery[str | None] = None,
        authority: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
    ) -> Stream:
        """CSV or JSON Lines, oldest first, streamed; the export itself is audited."""
        flt = _filter(case, actor, authority, action, since, until)
        await audit_read.start_export(request.user, flt, format)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        name = f"careroute-audit.{'csv' if format == 'csv' else 'jsonl'}"
        return Stream(
            audit_read.export_rows(flt, format),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get("/verify", responses=reads(403))
    async def verify(self, request: AppRequest) -> AuditVerifyOut:
        """Recompute the hash chain; names the first bad event."""
        return typed(AuditVerifyOut, await audit_read.verify(request.user))

    @get("/checkpoints", responses=reads(403))
    async def signed_checkpoints(self, request: AppRequest) -> CheckpointsOut:
        """Every signed checkpoint of the chain head, to keep outside the database; the worker
        signs one every ``CAREROUTE_CHECKPOINT_INTERVAL`` seconds while the chain grows."""
        return typed(CheckpointsOut, await checkpoints.for_oversight(request.user))
