"""Request bodies as msgspec Structs: unknown fields are refused, sizes bounded, and a type error
answers 400 naming the field. Form contents (``form``, ``data``) stay free-form here because each
task's JSON Schema validates them (422 with JSON paths)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ShortText = Annotated[str, msgspec.Meta(max_length=500)]
Folio = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Estado = Annotated[str, msgspec.Meta(pattern="^[0-9]{2}$")]
#: A row id: primary keys are SERIAL (32-bit signed on PostgreSQL); anything larger is refused
#: (400) instead of overflowing the driver (500).
MAX_DB_ID = 2**31 - 1
DbId = Annotated[int, msgspec.Meta(ge=1, le=MAX_DB_ID)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    #: ``session``: cookie + CSRF token (browsers); ``api``: bearer token (API clients)
    mode: Literal["session", "api"] = "session"


class Identidad(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Identity data: stored apart, never sent to the engine, never in lists or the audit trail."""

    nombres: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    apellidos: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    alias: list[Annotated[str, msgspec.Meta(max_length=200)]] = []
    documento_tipo: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    documento_numero: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    lugar_origen: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    contacto_familiar: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    notas: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class OpenCaseIn(msgspec.Struct, forbid_unknown_fields=True):
    #: the ``inicio_caso`` form (see GET /api/v1/forms/inicio_caso)
    form: dict[str, Any]
    identidad: Identidad
    #: folio of a sibling's / companion's case to join its family group
    family_of: Folio | None = None


class CompleteIn(msgspec.Struct, forbid_unknown_fields=True):
    #: the task's form data (validated against the task's JSON Schema)
    data: dict[str, Any]


class ReassignIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username


class RelocateIn(msgspec.Struct, forbid_unknown_fields=True):
    estado: Estado
    municipio: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    reason: ShortText = "relocation"


class AdmitIn(msgspec.Struct, forbid_unknown_fields=True):
    folio: Folio
    shelter_id: DbId


class TransferIn(msgspec.Struct, forbid_unknown_fields=True):
    to_shelter_id: DbId
    reason: ShortText = "transfer"


class DischargeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: ShortText


class LeftIn(msgspec.Struct, forbid_unknown_fields=True):
    """The child left the placement (passed to the route's missing-child protocol)."""

    fecha_hora_salida: datetime
    circunstancias: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    indicios_riesgo: bool = False


class AuthorityIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=2, max_length=64, pattern="^[A-Z0-9_-]+$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    tipo: str
    nivel: str
    estado: Estado
    municipio: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    capacidad: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=3, max_length=100, pattern="^[a-z0-9._-]+$")]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    role: str
    authority: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=1000)]


class MeOut(msgspec.Struct):
    username: str
    display_name: str
    role: str
    authority: str
    authority_name: str
    authority_tipo: str
    nivel: str
    estado: str
    municipio: str | None
    auth: str


class LoginOut(msgspec.Struct):
    user: MeOut
    expires_at: datetime
    #: session mode: echo in X-CSRF-Token on POST/PUT/PATCH/DELETE
    csrf_token: str | None = None
    #: api mode: send as "Authorization: Bearer <token>"
    token: str | None = None
