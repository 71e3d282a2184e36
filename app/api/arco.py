"""ARCO requests, the data protection view and legal holds (issue 16, items 3 and 5):
app/services/arco.py and app/services/dpo.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody

from app.api.deps import AppRequest, PathId, typed
from app.api.responses import reads, writes
from app.api.schemas import Identidad
from app.services import arco, dpo

Text = Annotated[str, msgspec.Meta(max_length=4000)]
Code = Annotated[str, msgspec.Meta(max_length=60)]


class ArcoIn(msgspec.Struct, forbid_unknown_fields=True):
    folio: Annotated[str, msgspec.Meta(max_length=40)]
    #: acceso | rectificacion | cancelacion | oposicion
    derecho: Code
    #: nna | representante_legal | procuraduria_suplencia
    solicitante_relacion: Code
    solicitante_nombre: Annotated[str, msgspec.Meta(max_length=300)]
    #: how the requester's identity was verified (LGPDPPSO art. 43): identificacion_oficial |
    #: comparecencia_personal | documento_representacion | acuerdo_suplencia | firma_electronica
    verificacion: Code
    verificacion_detalle: Text
    descripcion: Text | None = None
    #: when it was received (default: now); the deadline counts from the next working day
    recibida_en: datetime | None = None


class ArcoRegisteredOut(msgspec.Struct):
    id: int
    folio: str
    recibida_en: datetime
    vence_en: datetime


class ExtendIn(msgspec.Struct, forbid_unknown_fields=True):
    razones: Text


class ExtendedOut(msgspec.Struct):
    id: int
    vence_en: datetime
    ampliada_en: datetime


class RectifyIn(msgspec.Struct, forbid_unknown_fields=True):
    identidad: Identidad


class RectifiedOut(msgspec.Struct):
    id: int
    folio: str
    changed_fields: list[str]


class DecideIn(msgspec.Struct, forbid_unknown_fields=True):
    #: procedente | improcedente
    resultado: Code
    razones: Text
    #: a refusal's ground (LGPDPPSO art. 49; config/datos_personales.toml [arco.causas_improcedencia])
    causa: Code | None = None


class DecidedOut(msgspec.Struct):
    id: int
    resultado: str
    #: what a granted cancellation did: bloqueo_adelantado | caso_abierto_sin_efecto |
    #: ya_bloqueado | ninguno
    efecto: str


class ArcoOut(msgspec.Struct):
    id: int
    folio: str
    autoridad: str
    derecho: str
    solicitante_relacion: str
    verificacion: str
    recibida_en: datetime
    vence_en: datetime
    ampliada_en: datetime | None
    estado: str
    resultado: str | None
    causa: str | None
    respondida_en: datetime | None
    vencida: bool
    escalada_en: datetime | None
    #: working days left (negative: late) on the authority's calendar; None once answered
    dias_habiles: int | None
    solicitante_nombre: str | None = None
    verificacion_detalle: str | None = None
    descripcion: str | None = None
    ampliacion_razones: str | None = None
    razones: str | None = None


class ArcoListOut(msgspec.Struct):
    items: list[ArcoOut]


class ReadOut(msgspec.Struct):
    at: datetime
    usuario: str
    rol: str
    autoridad: str | None
    accion: str
    tarea: str | None


class AccessExportOut(msgspec.Struct):
    arco_request_id: int
    folio: str
    producido_en: datetime
    vence_en: datetime
    en_plazo: bool
    #: identidad, formularios, notas, adjuntos, colocaciones, avisos_privacidad, consentimientos
    datos: dict[str, Any]
    #: every audited read of the child's record: who, role, authority, when, what
    lecturas: list[ReadOut]


class OverviewOut(msgspec.Struct):
    al: datetime
    totales: dict[str, int]
    suprimidos_por_mes: list[dict[str, Any]]
    consentimientos_por_destinatario: list[dict[str, Any]]


class SectionOut(msgspec.Struct):
    seccion: str
    items: list[dict[str, Any]]


class HoldIn(msgspec.Struct, forbid_unknown_fields=True):
    #: litigio | queja | requerimiento_supervision
    motivo: Code
    referencia: Annotated[str, msgspec.Meta(max_length=300)]


class HoldSetOut(msgspec.Struct):
    id: int
    folio: str
    motivo: str
    set_at: datetime


class HoldLiftedOut(msgspec.Struct):
    id: int
    folio: str
    lifted_at: datetime
    held_seconds: int


class HoldOut(msgspec.Struct):
    id: int
    folio: str
    motivo: str
    set_at: datetime
    set_by: str


class HoldListOut(msgspec.Struct):
    items: list[HoldOut]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class CsvOperation(Operation):
    """The access answer as CSV text (Litestar would document a ``Response`` as JSON)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None and hasattr(ok, "content"):
            ok.content = {"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}


NOT_DPO = (403, "Only a data protection officer (oversight reads).")
HIDDEN = (404, "No such request (or case) of your authority.")


class ArcoController(Controller):
    path = "/api/v1/arco-requests"
    tags = ["data protection"]

    @get("/", responses=reads((403, "Only data protection officers and oversight."),
                              (422, "`estado` is outside its list.")))  # fmt: skip
    async def list_(
        self,
        request: AppRequest,
        estado: FromQuery[str | None] = None,
        vencidas: FromQuery[bool] = False,
    ) -> ArcoListOut:
        """ARCO requests: a data protection officer's authority's, or all for oversight;
        ``vencidas``: open and past their deadline (with days late)."""
        items = await arco.list_requests(request.user, estado=estado, vencidas=vencidas)
        return typed(ArcoListOut, {"items": items})

    @post(
        "/",
        status_code=201,
        responses=writes(
            NOT_DPO,
            (404, "No case with this folio that your authority holds."),
            (422, "A field is outside its list or missing (named)."),
        ),
    )
    async def register(self, request: AppRequest, data: JSONBody[ArcoIn]) -> ArcoRegisteredOut:
        """Register an ARCO request (LGPDPPSO arts. 37-46): the requester, the right, the case,
        how the identity was verified. Deadline: 20 working days from the day after reception
        on the authority's calendar (art. 45)."""
        body = msgspec.structs.asdict(data)
        body["recibida_en"] = _aware(body["recibida_en"])
        return typed(ArcoRegisteredOut, await arco.register(request.user, body))

    @get("/{request_id:int}", responses=reads(NOT_DPO, HIDDEN))
    async def detail(self, request: AppRequest, request_id: FromPath[PathId]) -> ArcoOut:
        """One request with the requester's name and reasons (an audited read)."""
        return typed(ArcoOut, await arco.get(request.user, request_id))

    @post(
        "/{request_id:int}/extend",
        status_code=200,
        responses=writes(
            NOT_DPO,
            HIDDEN,
            (409, "Answered, past the deadline, or extended meanwhile by someone else."),
            (422, "`razones` missing, or `ampliada_en`: already extended once (art. 45)."),
        ),
    )
    async def extend(
        self, request: AppRequest, request_id: FromPath[PathId], data: JSONBody[ExtendIn]
    ) -> ExtendedOut:
        """Extend the deadline once by 10 working days, with reasons (LGPDPPSO art. 45,
        second paragraph)."""
        result = await arco.extend(request.user, request_id, msgspec.structs.asdict(data))
        return typed(ExtendedOut, result)

    @post(
        "/{request_id:int}/access",
        status_code=200,
        responses=writes(NOT_DPO, HIDDEN, (409, "Not an access request.")),
    )
    async def access(self, request: AppRequest, request_id: FromPath[PathId]) -> AccessExportOut:
        """Answer an access request: the child's data held and who read the record (the first
        production answers it; each one is audited)."""
        return typed(AccessExportOut, await arco.access_export(request.user, request_id))

    @post(
        "/{request_id:int}/access.csv",
        status_code=200,
        operation_class=CsvOperation,
        responses=writes(NOT_DPO, HIDDEN, (409, "Not an access request.")),
    )
    async def access_csv(self, request: AppRequest, request_id: FromPath[PathId]) -> Response:
        """The same export as CSV (UTF-8 with BOM, opens in a spreadsheet)."""
        export = await arco.access_export(request.user, request_id)
        return Response(
            arco.export_csv(export),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="arco-{request_id}.csv"',
                "Cache-Control": "no-store",
            },
        )

    @post(
        "/{request_id:int}/rectify",
        status_code=200,
        responses=writes(
            NOT_DPO,
            HIDDEN,
            (409, "Not a rectification request, already answered, or the record is blocked."),
        ),
    )
    async def rectify(
        self, request: AppRequest, request_id: FromPath[PathId], data: JSONBody[RectifyIn]
    ) -> RectifiedOut:
        """Answer a rectification through the identity correction (the one path that rewrites
        a child's identity), linked to the request."""
        identidad = msgspec.to_builtins(data.identidad)
        return typed(RectifiedOut, await arco.rectify(request.user, request_id, identidad))

    @post(
        "/{request_id:int}/decide",
        status_code=200,
        responses=writes(
            NOT_DPO,
            HIDDEN,
            (409, "Not a cancellation or opposition, or already answered."),
            (422, "`resultado`, `causa` (art. 49) or `razones` (named)."),
        ),
    )
    async def decide(
        self, request: AppRequest, request_id: FromPath[PathId], data: JSONBody[DecideIn]
    ) -> DecidedOut:
        """Decide a cancellation or opposition with reasons: granted, or refused on a ground of
        LGPDPPSO art. 49. A granted cancellation of a closed case blocks it at the next sweep."""
        result = await arco.decide(request.user, request_id, msgspec.structs.asdict(data))
        return typed(DecidedOut, result)


class DataProtectionViewController(Controller):
    path = "/api/v1/data-protection"
    tags = ["data protection"]

    @get("/overview", responses=reads((403, "Only data protection officers and oversight.")))
    async def overview(self, request: AppRequest) -> OverviewOut:
        """Counts of ARCO requests open and overdue, legal holds, records due for blocking and
        erasure (next 30 days), erasures done (by month), consents on file (by third party and
        status), security incidents. Each count is the length of its section's list."""
        return typed(OverviewOut, await dpo.overview(request.user))

    @get(
        "/overview/{name:str}",
        responses=reads((403, "Only data protection officers and oversight."),
                        (404, "No such section.")),
    )  # fmt: skip
    async def section(self, request: AppRequest, name: FromPath[str]) -> SectionOut:
        """The rows one count of the overview summarises."""
        items = await dpo.section(request.user, name)
        return typed(SectionOut, {"seccion": name, "items": msgspec.to_builtins(items)})

    @get("/legal-holds", responses=reads((403, "Only data protection officers and oversight.")))
    async def holds(self, request: AppRequest) -> HoldListOut:
        """Active legal holds in your scope."""
        return typed(HoldListOut, {"items": await dpo.holds(request.user)})

    @post(
        "/legal-holds/{hold_id:int}/lift",
        status_code=200,
        responses=writes(
            (403, "Only a data protection officer or oversight."),
            (404, "No active hold with this id in your scope."),
        ),
    )
    async def lift(self, request: AppRequest, hold_id: FromPath[PathId]) -> HoldLiftedOut:
        """Lift a legal hold: the retention clock restarts where it stopped (audited)."""
        return typed(HoldLiftedOut, await dpo.lift_hold(request.user, hold_id))


class LegalHoldController(Controller):
    path = "/api/v1/cases"
    tags = ["data protection"]

    @post(
        "/{folio:str}/legal-holds",
        status_code=201,
        responses=writes(
            (403, "Only a data protection officer or oversight."),
            (404, "No case with this folio in your scope."),
            (422, "`motivo` outside its list, or `referencia` missing."),
        ),
    )
    async def set_hold(
        self, request: AppRequest, folio: FromPath[str], data: JSONBody[HoldIn]
    ) -> HoldSetOut:
        """Set a legal hold (litigation, a complaint, an oversight body's request): the case's
        retention clock stops (audited, the reference as a keyed digest)."""
        result = await dpo.set_hold(request.user, folio, data.motivo, data.referencia)
        return typed(HoldSetOut, result)
