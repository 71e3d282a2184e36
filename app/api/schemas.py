"""Request and response bodies as msgspec Structs, so the OpenAPI document is the real contract.

Requests: unknown fields are refused, sizes bounded, and a type error answers 400 naming the field.
Form contents (``form``, ``data``) stay free-form here because each task's JSON Schema validates
them (422 with JSON paths).

Responses (``...Out``): the controllers map each service result (dicts) onto these with
``app.api.deps.typed``. A field is required when the service always sends the key; a key it sends
only sometimes is ``UnsetType`` (absent stays absent). Keys a service adds later are dropped until
a field is added here; never set ``forbid_unknown_fields`` on an output. Free-form objects (engine
variables, audit ``changes``, a form's JSON Schema) stay ``dict[str, Any]``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

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
    #: at most 20 (50,000 were accepted: a child's record is not a place to store bulk data)
    alias: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=20)
    ] = []
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


class BidReconsiderationIn(msgspec.Struct, forbid_unknown_fields=True):
    #: the new information or changed circumstances (kept with the route, not in the audit)
    motivo: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class RepresentativeIn(msgspec.Struct, forbid_unknown_fields=True):
    #: the appointment (forms/designar_representante.schema.json)
    data: dict[str, Any]


#: Why a closed case is reopened (forms/reabrir_caso.schema.json ``categoria``; a test keeps the
#: two in step).
ReopenCategory = Literal[
    "reunificacion_fallida",
    "nueva_vulneracion",
    "nna_localizada",
    "retorno_no_concretado",
    "solicitud_nna",
    "orden_autoridad",
    "cierre_improcedente",
    "otro",
]


class ReopenIn(msgspec.Struct, forbid_unknown_fields=True):
    """Reopen a closed case (the form ``reabrir_caso``, GET /api/v1/forms/reabrir_caso)."""

    categoria: ReopenCategory
    #: what happened and why: kept in the case record, never in the audit trail
    motivo: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    #: imminent risk to life, integrity or liberty: urgent measures start (LGDNNA art. 122)
    riesgo_inminente: bool | None = None
    descripcion_riesgo: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ImminentRiskIn(msgspec.Struct, forbid_unknown_fields=True):
    """An imminent risk to the child's life, integrity or liberty (LGDNNA art. 12, art. 122)."""

    #: what is at risk: vida, integridad, libertad (each once)
    tipo_riesgo: Annotated[
        list[Literal["vida", "integridad", "libertad"]], msgspec.Meta(min_length=1, max_length=3)
    ]
    #: what happened (kept with the route, for the Procuraduría; never in the audit trail)
    descripcion: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class FearOfReturnIn(msgspec.Struct, forbid_unknown_fields=True):
    """The child fears return or wants to apply for asylum (LRPCAP art. 21)."""

    #: what the child expressed: temor_retorno, desea_solicitar_refugio (each once)
    motivos: Annotated[
        list[Literal["temor_retorno", "desea_solicitar_refugio"]],
        msgspec.Meta(min_length=1, max_length=2),
    ]
    #: the day the reporting authority learned it (default: today; not in the future, not
    #: before the detection)
    fecha_conocimiento: date | None = None


class AdmitIn(msgspec.Struct, forbid_unknown_fields=True):
    folio: Folio
    shelter_id: DbId


class TransferIn(msgspec.Struct, forbid_unknown_fields=True):
    to_shelter_id: DbId
    reason: ShortText = "transfer"


#: Where the child goes when a placement ends (app/cases/placement.py DESTINOS).
Destino = Literal[
    "familia_origen",
    "familia_extensa",
    "familia_acogida",
    "vida_independiente",
    "otra_entidad_federativa",
    "otro_pais",
    "no_localizada",
    "otro",
]


class DischargeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: ShortText
    #: where the child goes (required: no child leaves a placement without a destination)
    destino: Destino


class LeftIn(msgspec.Struct, forbid_unknown_fields=True):
    """The child left the placement (passed to the route's missing-child protocol)."""

    fecha_hora_salida: datetime
    circunstancias: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    indicios_riesgo: bool = False


class CustodyStartIn(msgspec.Struct, forbid_unknown_fields=True):
    """A child held in an INM migration station (LM art. 99 forbids it: the record is a breach)."""

    #: when the child entered the station (with its zone; not in the future, not before the
    #: detection); it may be earlier than now, when the fact is learnt later
    started_at: datetime
    #: the station's name, e.g. "Estación Migratoria Siglo XXI, Tapachula"
    station_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    #: the INM authority that runs the station; default: yours, if you are of the INM
    station_authority_id: DbId | None = None
    #: when the child left, if the stay is recorded after it ended (else: null while held)
    ended_at: datetime | None = None


class CustodyEndIn(msgspec.Struct, forbid_unknown_fields=True):
    #: when the child left the station (default: now; not before the start, not in the future)
    ended_at: datetime | None = None


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


# ============================================================================ responses
# ---------------------------------------------------------------------------- auth
class LogoutOut(msgspec.Struct):
    logged_out: bool


# ---------------------------------------------------------------------------- cases
class RoutedTaskOut(msgspec.Struct):
    """A task the command made ready, and where it was routed."""

    task_id: str
    bpmn_id: str
    name: str
    lane: str
    #: who in the authority may complete it: officer, supervisor or head
    rol: str
    #: None: no authority covers the child's location (``routing_rule`` unroutable)
    authority: str | None
    routing_rule: Annotated[
        str,
        msgspec.Meta(
            description="opener, placement, municipal, estatal, federal_fallback, unroutable"
        ),
    ]
    due_at: datetime | None


class CaseOpenedOut(msgspec.Struct):
    folio: str
    case_id: int
    family_group: str | None
    next_tasks: list[RoutedTaskOut]


class CaseSummaryOut(msgspec.Struct):
    """Non-identifying facts of the opening form, for lists (keys the form lacked are absent)."""

    canal_ingreso: str | UnsetType = UNSET
    sexo: str | UnsetType = UNSET
    nacionalidad: str | UnsetType = UNSET
    idioma: str | UnsetType = UNSET
    acompanamiento_declarado: str | UnsetType = UNSET
    edad_estimada: int | None | UnsetType = UNSET
    #: years, from ``fecha_nacimiento`` (else ``edad_estimada``) at opening
    edad: int | None | UnsetType = UNSET


class CaseListItemOut(msgspec.Struct):
    folio: str
    estado: str
    municipio: str | None
    status: str
    risk: str | None
    family_group: str | None
    summary: CaseSummaryOut
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    #: processes of the route with an open task (the case's current stages)
    stages: list[str] = []
    #: codes of the authorities holding the case's open tasks (responsible now)
    authorities: list[str] = []
    #: the earliest legal due date of an open task
    next_due_at: datetime | None = None
    #: an open task is past its legal due date
    overdue: bool = False
    #: the child's name: only in the answer to a name search (``nombre``), which is audited
    nombre: str | None = None


class CaseFormOut(msgspec.Struct):
    """A completed form as submitted (``task_submission``), who and when."""

    task_id: str
    #: the task's BPMN id, also the form's name (``GET /api/v1/forms/{bpmn_id}``)
    bpmn_id: str
    name: str
    name_en: str
    process_id: str
    submitted_at: datetime
    submitted_by: str | None
    authority: str | None
    #: the answers, as validated against the form's JSON Schema
    data: dict[str, Any]


class CaseFormsOut(msgspec.Struct):
    folio: str
    forms: list[CaseFormOut]


class CasePageOut(msgspec.Struct):
    items: list[CaseListItemOut]
    #: pass as ``cursor`` for the next page; None on the last page
    next_cursor: str | None


class CaseOut(msgspec.Struct):
    folio: str
    estado: str
    municipio: str | None
    family_group: str | None
    status: str
    risk: str | None
    summary: CaseSummaryOut
    #: the route's process variables (free-form; no identity data)
    variables: dict[str, Any]
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    end_state: str | None
    spec_version: str
    opened_by_authority: str | None


class CaseTaskOut(msgspec.Struct):
    task_id: str
    bpmn_id: str
    name: str
    name_en: str
    process_id: str
    lane: str
    rol: str
    status: str
    due_at: datetime | None
    risk: str | None
    escalation_level: int
    authority: str | None
    assignee: str | None
    completed_at: datetime | None
    completed_by: str | None
    created_at: datetime


class CasePlacementOut(msgspec.Struct):
    id: int
    #: the shelter, or the DIF authority that follows a family placement
    shelter: str
    status: str
    admitted_at: datetime
    ended_at: datetime | None
    #: ``cas`` or a family placement (familia_origen, familia_extensa, acogimiento, preadoptivo)
    kind: str = "cas"
    #: where the child went, when the placement ended by discharge or closure
    destino: str | None = None


class CustodyOut(msgspec.Struct):
    """A child held in a migration station (LM art. 99: a breach for as long as it lasts)."""

    id: int
    folio: str
    station_authority_id: int
    station_code: str
    station_name: str
    started_at: datetime
    #: null while the child is held
    ended_at: datetime | None
    #: the child is held now
    held: bool
    #: from the start to the end, or to now while held
    hours_held: float
    recorded_by: str | None
    recorded_by_authority: str | None
    recorded_at: datetime
    ended_by: str | None
    end_recorded_at: datetime | None
    legal_source: str


class FamilyMemberOut(msgspec.Struct):
    folio: str
    status: str


class TimelineEntryOut(msgspec.Struct):
    at: datetime
    action: str
    actor: str
    role: str
    authority: str | None
    task_id: str | None
    #: what changed (enums, field names, digests; never names or documents)
    changes: dict[str, Any]
    legal_basis: str | None


class CaseTextOut(msgspec.Struct):
    """Free text typed about the case (a relocation reason), kept out of the audit trail."""

    at: datetime
    #: the audit action it belongs to (its event holds the field name and a keyed digest)
    action: str
    field: str
    text: str
    author: str | None


class CaseRunOut(msgspec.Struct):
    """One run of the route for the case: the first from its entry channel, each reopening
    another (``canal_ingreso`` = ``reapertura``)."""

    numero: int
    canal_ingreso: str | None
    #: when the run started (detection or reception for the first; the reopening's instant)
    inicio: str | None
    #: when a reopened run's predecessor was closed, and the end event it reached
    fin: str | None = None
    end_state: str | None = None
    #: a reopening's category (forms/reabrir_caso.schema.json)
    categoria: str | None = None
    #: a reopening's reason, as recorded in the case (never in the audit trail)
    motivo: str | None = None


class CaseDetailOut(msgspec.Struct):
    case: CaseOut
    tasks: list[CaseTaskOut]
    placements: list[CasePlacementOut]
    #: times the child was held in a migration station (LM art. 99), oldest first
    custody: list[CustodyOut]
    #: cases of the same family group that you may see
    family: list[FamilyMemberOut]
    #: audit events of the case, oldest first, reads left out (at most 500)
    timeline: list[TimelineEntryOut]
    #: free text typed about the case, oldest first (not for a consulate)
    texts: list[CaseTextOut] = []
    #: the route's runs, first to last (a reopened case has more than one)
    runs: list[CaseRunOut] = []


class IdentidadOut(msgspec.Struct):
    """Identity data as stored (fields never given are absent)."""

    nombres: str | UnsetType = UNSET
    apellidos: str | None | UnsetType = UNSET
    alias: list[str] | UnsetType = UNSET
    documento_tipo: str | None | UnsetType = UNSET
    documento_numero: str | None | UnsetType = UNSET
    lugar_origen: str | None | UnsetType = UNSET
    contacto_familiar: str | None | UnsetType = UNSET
    notas: str | None | UnsetType = UNSET


class IdentityOut(msgspec.Struct):
    folio: str
    identidad: IdentidadOut
    updated_at: datetime | None


class IdentityUpdatedOut(msgspec.Struct):
    folio: str
    #: names only: the audit trail records which fields changed, never their values
    changed_fields: list[str]


class RelocatedOut(msgspec.Struct):
    folio: str
    estado: str
    municipio: str | None


class CaseReopenedOut(msgspec.Struct):
    folio: str
    status: str
    #: the number of the route's new run (the first run is 1)
    run: int
    #: the protection stage's first tasks, where they were routed
    next_tasks: list[RoutedTaskOut]


class BidReopenedOut(msgspec.Struct):
    folio: str
    reopened: bool
    #: the BID panel's first task, where it was routed
    next_tasks: list[RoutedTaskOut]


class AppointmentOut(msgspec.Struct, omit_defaults=True):
    tipo: str
    representante_usuario: str
    representante_nombre: str
    cargo: str
    fecha_designacion: str
    #: when the case recorded it (the command's instant)
    desde: str
    fundamento_suplencia: str | UnsetType = UNSET
    representacion_originaria: str | UnsetType = UNSET
    motivo_sustitucion: str | UnsetType = UNSET


class RepresentationOut(msgspec.Struct):
    folio: str
    #: every appointment, oldest first; the last one is the current representative
    representacion: list[AppointmentOut]


class ImminentRiskOut(msgspec.Struct):
    folio: str
    #: the reporting authority's type (a lane code)
    reported_by: str
    #: urgent_measures (the Procuraduría reported: its order task is open) or
    #: procuraduria_assessment (another authority reported: the Procuraduría assesses it)
    next_step: Literal["urgent_measures", "procuraduria_assessment"]
    next_tasks: list[RoutedTaskOut]


class FearOfReturnOut(msgspec.Struct):
    folio: str
    reported_by: str
    #: consular contact is blocked from now on (the consulate loses access to the case)
    consular_contact_blocked: bool
    #: a COMAR referral started with this record
    comar_referral_started: bool
    #: why none started: a referral under way, a claim pending, COMAR already decided
    no_referral_because: Literal["referral_under_way", "claim_pending", "claim_decided"] | None
    next_tasks: list[RoutedTaskOut]


# ---------------------------------------------------------------------------- tasks
class InboxItemOut(msgspec.Struct):
    task_id: str
    bpmn_id: str
    name: str
    name_en: str
    process_id: str
    lane: str
    rol: str
    due_at: datetime | None
    risk: str | None
    escalation_level: int
    created_at: datetime
    claimed_at: datetime | None
    assignee: str | None
    folio: str
    estado: str
    overdue: bool
    #: the legal deadline the due date comes from (config/plazos.toml), if any
    deadline_id: str | None = None
    #: what this instance is about, from the route's multi-instance data: ``medida`` (a row of
    #: the plan de restitución) or ``miembro`` (a member of the BID panel); empty otherwise
    context: dict[str, Any] = {}
    #: 1 the first time this task is done for this case and subject; 3 for a third follow-up
    repeat: int = 1


class InboxPageOut(msgspec.Struct):
    items: list[InboxItemOut]
    next_cursor: str | None


class TaskOut(msgspec.Struct):
    """The task's row in the task index."""

    id: int
    task_id: str
    case_id: int
    bpmn_id: str
    name: str
    name_en: str
    process_id: str
    lane: str
    rol: str
    authority_id: int | None
    routing_rule: str | None
    assignee_id: int | None
    status: str
    due_at: datetime | None
    #: ``due_at``, or 9999-12-31 for tasks without a legal deadline (the inbox order)
    sort_due: datetime
    deadline_id: str | None
    legal_source: str | None
    risk: str | None
    escalation_level: int
    #: the task's engine context as JSON text
    context: str
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by_id: int | None


class TaskDetailTaskOut(TaskOut):
    assignee_name: str | None
    #: present when the task has an assignee
    assignee_username: str | UnsetType = UNSET


class TaskCaseOut(msgspec.Struct):
    id: int
    folio: str
    estado: str
    municipio: str | None
    status: str
    risk: str | None
    summary: CaseSummaryOut
    family_group: str | None
    opened_at: datetime


class TaskDetailOut(msgspec.Struct):
    task: TaskDetailTaskOut
    case: TaskCaseOut
    #: the task's form as a JSON Schema (empty when the task has no form)
    form: dict[str, Any]
    #: for an approval or decision task (BPMN ``aprueba``): the latest submission of each form
    #: it approves, read with the task (the ``task.read`` audit event names them)
    approved_forms: list[CaseFormOut] = []


class CaseVersionOut(msgspec.Struct):
    folio: str
    status: str
    version: int


class TaskCompletedOut(msgspec.Struct):
    task_id: str
    status: str
    case: CaseVersionOut
    #: the engine's events of this command: ``kind`` plus its data
    events: list[dict[str, Any]]
    next_tasks: list[RoutedTaskOut]


# ---------------------------------------------------------------------------- placements
class PlacementOut(msgspec.Struct):
    id: int
    folio: str
    #: a shelter (kind ``cas``), or the DIF authority that follows a family placement
    shelter_id: int
    shelter_code: str
    #: ``cas``, ``familia_origen``, ``familia_extensa``, ``acogimiento``, ``preadoptivo``
    kind: str
    status: str
    admitted_at: datetime
    ended_at: datetime | None
    #: where the child went, when the placement ended by discharge or closure
    destino: str | None


class PlacementLeftOut(PlacementOut):
    #: the route was waiting for ``nna_salio_colocacion`` and got it (missing-child protocol)
    route_notified: bool


class ShelterOut(msgspec.Struct):
    id: int
    code: str
    name: str
    estado: str
    municipio: str | None
    capacidad: int | None
    occupancy: int
    #: None when the shelter has no declared capacity
    available: int | None


class ShelterChildOut(msgspec.Struct):
    id: int
    case_id: int
    folio: str
    risk: str | None
    admitted_at: datetime


# ---------------------------------------------------------------------------- audit
class AuditEventOut(msgspec.Struct):
    id: int
    #: server UTC with microseconds, exactly as hashed (``2026-12-01T11:32:01.172330Z``)
    at: str
    actor_user_id: int | None
    actor_username: str
    actor_role: str
    actor_authority_id: int | None
    actor_authority_code: str | None
    action: str
    case_id: int | None
    case_folio: str | None
    task_id: str | None
    authority_id: int | None
    changes: dict[str, Any]
    legal_basis: str | None
    prev_hash: str
    hash: str


class AuditPageOut(msgspec.Struct):
    items: list[AuditEventOut]
    next_cursor: str | None


class AuditVerifyOut(msgspec.Struct):
    ok: bool
    checked: int
    head_hash: str
    first_bad_id: int | None
    reason: str | None
    #: stored signed checkpoints the chain passed through (a forged one fails verification)
    checkpoints: int = 0


class CheckpointOut(msgspec.Struct):
    """A signed statement of the chain head (app/services/checkpoints.py)."""

    at: str
    event_id: int
    event_count: int
    head_hash: str
    key_id: str
    #: Ed25519 signature (base64) of the canonical JSON of format, at, event_id, event_count
    #: and head_hash
    signature: str


class CheckpointsOut(msgspec.Struct):
    """What ``careroute audit checkpoint export`` writes: keep a copy outside the database and
    check it with ``careroute audit verify --checkpoint FILE``."""

    format: str
    exported_at: str
    key_id: str
    #: the Ed25519 public key (base64); trust it only as obtained from the server's operator
    public_key: str
    checkpoints: list[CheckpointOut]


# ---------------------------------------------------------------------------- admin
class AuthorityOut(msgspec.Struct):
    id: int
    code: str
    name: str
    tipo: str
    nivel: str
    estado: str
    municipio: str | None
    capacidad: int | None
    active: bool


class AuthorityCreatedOut(msgspec.Struct):
    id: int
    code: str


Approval = Annotated[
    str,
    msgspec.Meta(
        description="approved, pending (inactive until a second admin approves) or rejected"
    ),
]


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    authority: str
    approval: Approval
    created_via: Annotated[str, msgspec.Meta(description="api, cli or demo")]
    created_at: datetime


class UserCreatedOut(msgspec.Struct):
    id: int
    username: str
    role: str
    authority: str
    approval: Approval


class UserDecidedOut(msgspec.Struct):
    username: str
    approval: Approval


class NewAccountOut(msgspec.Struct):
    """An account as oversight sees it: who asked for it, who approved it, and how many
    children's identities it read in its first days (each such read is flagged in the audit
    trail: ``changes.new_account``)."""

    username: str
    role: str
    authority: str
    active: bool
    approval: Approval
    created_via: str
    created_at: datetime
    requested_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    identity_reads_while_new: int


# ---------------------------------------------------------------------------- deadlines
class NotificationOut(msgspec.Struct):
    id: int
    kind: Annotated[str, msgspec.Meta(description="deadline.escalated or deadline.breach")]
    case_folio: str | None
    task_id: str | None
    task_bpmn_id: str | None
    plazo_id: str | None
    level: int | None
    due_at: datetime | None
    created_at: datetime
    read_at: datetime | None
    task_name: str | None
    task_name_en: str | None
    task_status: str | None


class NotificationReadOut(msgspec.Struct):
    id: int
    read_at: datetime


class RecomputeOut(msgspec.Struct):
    """How far the worker got recomputing the open cases a suspension touches."""

    status: Literal["queued", "running", "done"]
    cases_total: int
    cases_done: int
    #: cases whose working-day deadlines moved
    cases_changed: int
    cases_failed: int
    finished_at: datetime | None


class SuspensionOut(msgspec.Struct):
    id: int
    jurisdiccion: str
    desde: date
    hasta: date
    motivo: str
    fuente: str
    created_by: str | None
    created_at: datetime
    recompute: RecomputeOut


class BreachOut(msgspec.Struct):
    id: int
    case_folio: str
    task_id: str
    task_bpmn_id: str | None
    plazo_id: str
    authority: str | None
    estado: str | None
    due_at: datetime
    fired_at: datetime
    legal_source: str | None
    task_status: str
    open: bool


class RegisterCountsOut(msgspec.Struct):
    """Deadline register rows counted by status (a row is one deadline instance of a case)."""

    #: rows counted (= running + met + breached + cancelled)
    deadlines: int
    running: int
    #: done by its due instant
    met: int
    #: its due instant passed before it was done (stays breached once done)
    breached: int
    #: breached and still not done
    breached_open: int
    #: the route went another way before it was due
    cancelled: int
    #: met / (met + breached), in %; null when none is decided yet
    on_time_pct: float | None
    #: median hours from the due instant to done (or to now, while open), of breached rows
    median_hours_late: float | None


class ComplianceRowOut(RegisterCountsOut):
    deadline_id: str
    authority: str | None
    estado: str | None


class ComplianceGroupOut(RegisterCountsOut):
    #: the deadline id, authority code or state code the counts are summed over
    key: str


class OpenBreachOut(msgspec.Struct):
    case_folio: str
    plazo_id: str
    authority: str | None
    estado: str | None
    task_bpmn_id: str | None
    due_at: datetime
    closed_at: datetime | None
    levels_reached: int
    hours_late: float


class DeadlineComplianceOut(msgspec.Struct):
    """Counted from the deadline register, for the deadlines due in the period."""

    rows: list[ComplianceRowOut]
    totals: RegisterCountsOut
    by_deadline: list[ComplianceGroupOut]
    by_authority: list[ComplianceGroupOut]
    by_state: list[ComplianceGroupOut]
    #: breached and not done, the longest late first (at most 100; the listing has them all)
    open_breaches: list[OpenBreachOut]
    #: how close the lateness medians are to the exact ones: 0.5 when read from the kept hour
    #: histogram (a period of whole days), 0 when counted from the rows
    median_within_hours: float = 0.0


class DeadlineRowOut(msgspec.Struct):
    """One row of the deadline register."""

    id: int
    case_folio: str
    plazo_id: str
    task_id: str | None
    task_bpmn_id: str | None
    authority: str | None
    estado: str | None
    legal_source: str | None
    #: the event the law counts from, in words
    start_event: str | None
    #: when that event happened (null: armed before the register existed)
    started_at: datetime | None
    #: when the route armed the deadline
    armed_at: datetime | None
    #: started_at is before armed_at (the form gave the real date; audited)
    backdated: bool
    due_at: datetime
    calendario: str | None
    #: running | met | breached | cancelled
    status: str
    breached_at: datetime | None
    closed_at: datetime | None
    #: completed | cancelled (null while running)
    outcome: str | None
    cancel_reason: str | None
    levels_reached: int


class DeadlinePageOut(msgspec.Struct):
    items: list[DeadlineRowOut]
    #: pass as ``after`` for the next page; null on the last page
    next_after: int | None


class NotificationTimesOut(msgspec.Struct):
    """Detection to ``notificar_procuraduria`` completed (LM art. 112 fr. I)."""

    notified: int
    median_hours: float | None
    max_hours: float | None
    within_24h: int
    #: how close the median and the maximum are to the exact ones: 0.5 when read from the kept
    #: hour histogram (a period of whole days), 0 when counted from the rows
    within_hours: float = 0.0


class AuthorityLoadOut(msgspec.Struct):
    """Open tasks of one authority now (with or without a legal deadline)."""

    authority: str
    open_tasks: int
    #: open tasks whose legal due date has passed
    open_overdue: int
    #: open tasks with at least one escalation level
    escalated: int


class CaseCountOut(msgspec.Struct, omit_defaults=True):
    n: int
    risk: str | None = None
    status: str | None = None


class CalendarWarningOut(msgspec.Struct):
    """A year in use for which an authority type has no declared non-working days loaded (LFPA
    art. 28): its working-day terms are counted without them and may fall due too early."""

    code: str
    autoridad: str
    anio: int
    regimen: str
    #: the working-day deadlines (config/plazos.toml ids) counted on this authority's calendar
    plazos: list[str]
    mensaje: str
    message_en: str


class MigrationStationsOut(msgspec.Struct):
    """Children held in migration stations, from the custody records (LM art. 99)."""

    #: children held now (custody records without an end)
    held_now: int
    #: custody records that overlap the period (``since``/``until``; open ends: all, to now)
    records: int
    #: distinct children of those records
    children: int
    #: hours held within the period, summed over the records (a child held now counts to now)
    hours_total: float
    median_hours: float | None
    max_hours: float | None
    legal_source: str


class RouteVersionOut(msgspec.Struct):
    #: the version's number (null: a version whose files were never stored)
    number: int | None
    #: the content hash cases record
    version: str
    registered_at: datetime | None
    #: new cases start on it
    current: bool
    open_cases: int
    closed_cases: int


class ComplianceOut(msgspec.Struct):
    generated_at: datetime
    #: the period: deadlines due at or after ``since`` and before ``until``
    since: datetime | None
    until: datetime | None
    plazo_id: str | None
    authority: str | None
    estado: str | None
    deadlines: DeadlineComplianceOut
    #: open tasks per authority now
    workload: list[AuthorityLoadOut]
    #: open cases per risk level (``risk`` null: not assessed yet)
    cases_by_risk: list[CaseCountOut]
    cases_by_status: list[CaseCountOut]
    procuraduria_notification: NotificationTimesOut
    #: custody records in migration stations (LM art. 99: every figure must be 0)
    children_in_migration_stations: MigrationStationsOut
    #: years in use without an authority's declared non-working days (app/services/calendars.py)
    calendar_warnings: list[CalendarWarningOut]
    #: route versions with the cases running on each (app/services/route_versions.py)
    route_versions: list[RouteVersionOut] = []
