"""Piccolo tables: persistence only (API shapes are msgspec Structs in app/api/schemas.py).

Layout choices, each for a reason:
- ``case_identity`` holds names and documents apart from ``nna_case`` so that lists, inboxes and
  exports never load them; reading it is an audited act.
- ``workflow_state`` holds the serialized engine state (tens to hundreds of KB) apart from the case
  row, with a ``version`` checked in every UPDATE (optimistic concurrency).
- ``task`` is an index of ready user tasks, one row per task, so inboxes are one indexed query and
  never restore a workflow.
- ``case_access`` says which authorities may see a case (least privilege: a case is visible to an
  authority only while it has a reason to be, e.g. a task routed to it or the child in its shelter).
- ``station_custody`` records a child held in an INM migration station as the fact it is (LM
  art. 99 forbids it: every row is a breach), apart from ``placement``, which is a stay in a DIF
  shelter; the station is named within the INM authority that runs it (see the class).
- ``audit_event`` is append-only and hash-chained (app/audit.py); ``changes`` is stored as the exact
  canonical JSON text that was hashed, so verification never depends on a JSON type's reordering.
  It never holds free text: ``case_text`` keeps what a person typed about a child (a relocation
  reason), owned by the case so it can be erased; the event keeps the field name and a keyed digest.
- ``audit_checkpoint`` holds signed checkpoints of the chain head (app/services/checkpoints.py),
  append-only like the trail.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    BigSerial,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

AUTHORITY_TYPES = (
    "INM",
    "PROCURADURIA",
    "DIF_CAS",
    "COMAR",
    "FISCALIA",
    "JUZGADO",
    "SRE_CONSULADO",
    "IFDP",
)
#: Authorities that are not lanes: oversight bodies (CNDH, SIPINNA, internal control) and the
#: platform operator. No task ever routes to them.
NON_LANE_TYPES = ("SUPERVISION", "SISTEMA")
NIVELES = ("federal", "estatal", "municipal")
#: ``proteccion_datos``: an authority's data protection officer (LGPDPPSO 2025, issue 16): sees
#: no casework except the records of its authority's cases that retention blocked
#: (app/services/retention.py); ARCO requests and the data protection view are its work too.
ROLES = (
    "officer",
    "supervisor",
    "head",
    "shelter_staff",
    "oversight",
    "admin",
    "proteccion_datos",
)


class Authority(Table, tablename="authority"):
    """An institution whose people work tasks: its ``tipo`` is a BPMN lane code."""

    code = Varchar(length=64, unique=True)
    name = Varchar(length=200)
    tipo = Varchar(length=20, index=True)
    nivel = Varchar(length=10)
    estado = Varchar(length=2, index=True)
    municipio = Varchar(length=200, null=True, default=None)
    capacidad = Integer(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


#: ``app_user.approval``: an account an admin created through the API waits, inactive, until a
#: second admin approves it (separation of duties, app/services/users.py); the CLI on the server
#: and the demo create approved accounts.
APPROVALS = ("approved", "pending", "rejected")


class User(Table, tablename="app_user"):
    username = Varchar(length=100, unique=True)
    display_name = Varchar(length=200)
    password_hash = Varchar(length=255, secret=True)
    role = Varchar(length=20)
    authority = ForeignKey(
        references=Authority, on_delete=OnDelete.restrict, null=False, db_column_name="authority_id"
    )
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    #: migration 0008: who asked for the account, who approved it, and how it was created
    approval = Varchar(length=10, default="approved")
    requested_by_id = Integer(null=True, default=None)
    approved_by_id = Integer(null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    created_via = Varchar(length=10, default="cli")


class LoginThrottle(Table, tablename="login_throttle"):
    """Login attempt budgets shared by every server process (app/throttle.py). ``key`` is a
    digest (no typed user name is stored); times are seconds since the epoch."""

    key = Varchar(length=80, unique=True)
    tat = DoublePrecision()
    n = Integer(default=0)
    w = DoublePrecision(default=0.0)
    expires = DoublePrecision(index=True)


class AuthToken(Table, tablename="auth_token"):
    """A browser session or an API bearer token; only the SHA-256 of the token is stored."""

    token_hash = Varchar(length=64, unique=True)
    kind = Varchar(length=10)
    user = ForeignKey(
        references=User, on_delete=OnDelete.cascade, null=False, db_column_name="user_id"
    )
    csrf_hash = Varchar(length=64, null=True, default=None)
    label = Varchar(length=100, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class Case(Table, tablename="nna_case"):
    """One child's case. Holds no identity data; ``summary`` is non-identifying facts for lists."""

    folio = Varchar(length=32, unique=True)
    estado = Varchar(length=2, index=True)
    municipio = Varchar(length=200, null=True, default=None)
    family_group = Varchar(length=64, null=True, default=None, index=True)
    status = Varchar(length=10, default="open")
    risk = Varchar(length=10, null=True, default=None)
    summary = JSON(default="{}")
    variables = JSON(default="{}")
    opened_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="opened_by_id"
    )
    opened_by_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="opened_by_authority_id",
    )
    opened_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    closed_at = Timestamptz(null=True, default=None)
    end_state = Varchar(length=100, null=True, default=None)
    spec_version = Varchar(length=64)
    #: migration 0017: ``active``, ``blocked`` (past its retention term: only the data
    #: protection officer reads it) or ``erased`` (its data key destroyed: app/services/retention.py)
    retention = Varchar(length=10, default="active")


class CaseIdentity(Table, tablename="case_identity"):
    case = ForeignKey(
        references=Case,
        on_delete=OnDelete.cascade,
        null=False,
        unique=True,
        db_column_name="case_id",
    )
    data = JSON(default="{}")
    #: names folded for search (lower case, no accents; app/services/case_search.py); never
    #: listed or exported, searched only by an audited name search
    search_name = Varchar(length=600, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class WorkflowState(Table, tablename="workflow_state"):
    case = ForeignKey(
        references=Case,
        on_delete=OnDelete.cascade,
        null=False,
        unique=True,
        db_column_name="case_id",
    )
    state = Text()
    version = Integer(default=1)
    spec_version = Varchar(length=64)
    next_due_at = Timestamptz(null=True, default=None, index=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class CaseAccess(Table, tablename="case_access"):
    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    authority = ForeignKey(
        references=Authority, on_delete=OnDelete.cascade, null=False, db_column_name="authority_id"
    )
    reason = Varchar(length=40)
    active = Boolean(default=True)
    granted_at = Timestamptz(default=TimestamptzNow())


class Task(Table, tablename="task"):
    """One ready (or finished) user task: what inboxes query."""

    task_id = Varchar(length=36, unique=True)
    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    bpmn_id = Varchar(length=100)
    name = Varchar(length=300)
    name_en = Varchar(length=300)
    process_id = Varchar(length=100)
    lane = Varchar(length=20)
    rol = Varchar(length=12)
    authority = ForeignKey(
        references=Authority, on_delete=OnDelete.restrict, null=True, db_column_name="authority_id"
    )
    routing_rule = Varchar(length=30, null=True, default=None)
    assignee = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="assignee_id"
    )
    status = Varchar(length=12, default="open")
    due_at = Timestamptz(null=True, default=None)
    sort_due = Timestamptz()
    deadline_id = Varchar(length=100, null=True, default=None)
    legal_source = Varchar(length=500, null=True, default=None)
    risk = Varchar(length=10, null=True, default=None)
    escalation_level = Integer(default=0)
    context = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
    claimed_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    completed_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="completed_by_id"
    )


class TaskSubmission(Table, tablename="task_submission"):
    """A completed form as it was submitted, who and when (append-only; migration 0008).

    The engine keeps only the latest submission per task id (what gateways read); this keeps
    each one, so the case record shows every answer, including each instance of a
    multi-instance task (a panel member's vote, each follow-up of a measure)."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    task_id = Varchar(length=36)
    bpmn_id = Varchar(length=100)
    data = Text()
    submitted_at = Timestamptz()
    submitted_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="submitted_by_id"
    )
    submitted_by_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="submitted_by_authority_id",
    )


class Placement(Table, tablename="placement"):
    """A child's placement, admitted, then transferred / discharged / left: a stay in a shelter
    (``kind`` ``cas``) or a family placement (``familia_origen``, ``familia_extensa``,
    ``acogimiento``, ``preadoptivo``), whose ``shelter`` is the DIF authority that formalised it
    and follows it up. ``destino``: where the child went when it ended by discharge or closure."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    shelter = ForeignKey(
        references=Authority, on_delete=OnDelete.restrict, null=False, db_column_name="shelter_id"
    )
    status = Varchar(length=12, default="admitted")
    admitted_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    end_reason = Varchar(length=500, null=True, default=None)
    created_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="created_by_id"
    )
    kind = Varchar(length=16, default="cas")
    destino = Varchar(length=32, null=True, default=None)


class StationCustody(Table, tablename="station_custody"):
    """A child held in an INM migration station (or a place set up as one), from ``started_at``
    until ``ended_at`` (null while held). LM art. 99 (reform DOF 11-11-2020): "En ningún caso,
    el Instituto presentará ni alojará a niñas, niños o adolescentes migrantes en estaciones
    migratorias ni en lugares habilitados para ello", so each row is a breach from its start.

    The station is the INM authority that runs it (``station``: an authority of type ``INM``) plus
    the station's name (``station_name``). Stations are not authorities of their own: an authority
    is an institution whose people work routed tasks (the directory holds one INM office per state
    and a federal one), and an INM authority per station would become the most local INM for
    routing and need its own accounts; a custody must be recordable without an admin first adding
    the place where it happened.
    """

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    station = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=False,
        db_column_name="station_authority_id",
    )
    station_name = Varchar(length=200)
    #: when the child entered the station (may be earlier than the record: never before the
    #: detection, never in the future)
    started_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    recorded_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="recorded_by_id"
    )
    recorded_by_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="recorded_by_authority_id",
    )
    recorded_at = Timestamptz()
    ended_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="ended_by_id"
    )
    end_recorded_at = Timestamptz(null=True, default=None)


class CaseText(Table, tablename="case_text"):
    """Free text a person typed about a child's case that has no other home in the case record
    (a relocation reason). Owned by the case (deleted with it, erasable with it: issue 16); the
    audit event of the act keeps only ``field`` and a keyed digest of ``text`` (app/audit.py)."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    #: the audit action the text belongs to, e.g. ``case.relocated``
    action = Varchar(length=60)
    field = Varchar(length=60)
    text = Text()
    created_at = Timestamptz()
    created_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="created_by_id"
    )


class FolioCounter(Table, tablename="folio_counter"):
    """Last number issued per folio prefix (``CHIS-2026``)."""

    prefix = Varchar(length=20, unique=True)
    last = Integer(default=0)


class AuditEvent(Table, tablename="audit_event"):
    """Append-only, hash-chained record of every command and every read of a child's record."""

    id = BigSerial(primary_key=True)
    at = Timestamptz()
    actor_user_id = Integer(null=True, default=None, index=True)
    actor_username = Varchar(length=100)
    actor_role = Varchar(length=20)
    actor_authority_id = Integer(null=True, default=None, index=True)
    actor_authority_code = Varchar(length=64, null=True, default=None)
    action = Varchar(length=60, index=True)
    case_id = Integer(null=True, default=None, index=True)
    case_folio = Varchar(length=32, null=True, default=None)
    task_id = Varchar(length=36, null=True, default=None)
    authority_id = Integer(null=True, default=None)
    changes = Text(default="{}")
    legal_basis = Varchar(length=500, null=True, default=None)
    prev_hash = Varchar(length=64)
    hash = Varchar(length=64, unique=True)


class AuditCheckpoint(Table, tablename="audit_checkpoint"):
    """A signed statement "the chain had ``event_count`` events, the last ``event_id`` with hash
    ``head_hash``" (Ed25519, key outside the database: app/keys.py). Exported to oversight, it
    lets ``careroute audit verify --checkpoint`` detect a history rewritten with its hashes
    recomputed, or a tail deleted, by someone who can write the database."""

    id = BigSerial(primary_key=True)
    at = Timestamptz()
    event_id = BigInt()
    event_count = BigInt()
    head_hash = Varchar(length=64)
    key_id = Varchar(length=16)
    signature = Varchar(length=128)


class DeadlineEscalation(Table, tablename="deadline_escalation"):
    """One escalation level of one legal deadline of one task (level 3 = oversight breach).

    Unique on (task_id, plazo_id, level): a replayed sweep can never escalate twice.
    """

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    case_folio = Varchar(length=32)
    task_id = Varchar(length=36)
    task_bpmn_id = Varchar(length=100, null=True, default=None)
    plazo_id = Varchar(length=100)
    level = Integer()
    authority = ForeignKey(
        references=Authority, on_delete=OnDelete.restrict, null=True, db_column_name="authority_id"
    )
    estado = Varchar(length=2, null=True, default=None)
    due_at = Timestamptz()
    level_due_at = Timestamptz()
    fired_at = Timestamptz()
    legal_source = Varchar(length=500, null=True, default=None)


class DeadlineRegister(Table, tablename="deadline_register"):
    """Every deadline instance of every case, never deleted (migration 0005; docs/deadlines.md).

    ``status``: running, met (done by its due instant), breached (due passed before it was
    done: stays breached after it is done, with ``closed_at``), cancelled (the route went another
    way before it was due; ``cancel_reason``). ``started_at`` is the instant the law counts from
    (may be before the engine armed it: ``backdated``).
    """

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    case_folio = Varchar(length=32)
    deadline_key = Varchar(length=80, unique=True)
    plazo_id = Varchar(length=100)
    task_id = Varchar(length=36, null=True, default=None)
    task_bpmn_id = Varchar(length=100, null=True, default=None)
    authority = ForeignKey(
        references=Authority, on_delete=OnDelete.restrict, null=True, db_column_name="authority_id"
    )
    estado = Varchar(length=2, null=True, default=None)
    legal_source = Varchar(length=500, null=True, default=None)
    start_event = Varchar(length=300, null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    armed_at = Timestamptz(null=True, default=None)
    backdated = Boolean(default=False)
    due_at = Timestamptz()
    calendario = Varchar(length=20, null=True, default=None)
    status = Varchar(length=12)
    breached_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    outcome = Varchar(length=12, null=True, default=None)
    cancel_reason = Varchar(length=120, null=True, default=None)
    levels_reached = Integer(default=0)
    updated_at = Timestamptz()


class Notification(Table, tablename="notification"):
    """An in-app notification for one user (escalations: supervisor, head, oversight)."""

    user = ForeignKey(
        references=User, on_delete=OnDelete.cascade, null=False, db_column_name="user_id"
    )
    kind = Varchar(length=40)
    escalation = ForeignKey(
        references=DeadlineEscalation,
        on_delete=OnDelete.cascade,
        null=True,
        db_column_name="escalation_id",
    )
    case_folio = Varchar(length=32, null=True, default=None)
    task_id = Varchar(length=36, null=True, default=None)
    task_bpmn_id = Varchar(length=100, null=True, default=None)
    plazo_id = Varchar(length=100, null=True, default=None)
    level = Integer(null=True, default=None)
    due_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class NotificationOutbox(Table, tablename="notification_outbox"):
    """Outgoing notifications (e-mail / webhook), written in the command's transaction and
    delivered after commit (at least once)."""

    kind = Varchar(length=40)
    payload = Text()
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Varchar(length=500, null=True, default=None)
    #: while set and in the future, one deliverer holds the row (it sends outside any transaction)
    lease_until = Timestamptz(null=True, default=None)


class TermSuspension(Table, tablename="term_suspension"):
    """A suspension of terms (working-day deadlines stop counting) for a jurisdiction."""

    jurisdiccion = Varchar(length=2)
    desde = Date()
    hasta = Date()
    motivo = Varchar(length=500)
    fuente = Varchar(length=500)
    created_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="created_by_id"
    )
    created_at = Timestamptz()
    #: the worker recomputes the open cases of the jurisdiction in batches: how far it got
    recompute_total = Integer(null=True, default=None)
    recompute_done = Integer(default=0)
    recompute_changed = Integer(default=0)
    recompute_failed = Integer(default=0)
    recompute_cursor = Integer(default=0)
    recompute_finished_at = Timestamptz(null=True, default=None)


class CalendarDeclaration(Table, tablename="calendar_declaration"):
    """Days an authority type declared non-working by acuerdo (LFPA art. 28), loaded with
    ``careroute calendario declarar``; the worker recomputes open cases like a suspension's."""

    autoridad = Varchar(length=20)
    #: ISO dates, comma-separated, sorted (a vacation period is stored day by day)
    dias = Text()
    fuente = Varchar(length=500)
    motivo = Varchar(length=500)
    created_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="created_by_id"
    )
    created_at = Timestamptz()
    withdrawn_at = Timestamptz(null=True, default=None)
    #: why it was withdrawn, as typed (the audit event keeps a keyed digest of it)
    withdrawn_reason = Varchar(length=500, null=True, default=None)
    recompute_total = Integer(null=True, default=None)
    recompute_done = Integer(default=0)
    recompute_changed = Integer(default=0)
    recompute_failed = Integer(default=0)
    recompute_cursor = Integer(default=0)
    recompute_finished_at = Timestamptz(null=True, default=None)


class DirectoryVersion(Table, tablename="directory_version"):
    """One row; ``n`` grows whenever an authority is created or changed (app/directory.py)."""

    n = Integer(default=1)


class CaseNote(Table, tablename="case_note"):
    """A note an authority with access adds to a case (free text about a child: never copied
    to the audit trail, which holds its SHA-256 only)."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    body = Text()
    author = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="author_id"
    )
    author_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="author_authority_id",
    )
    created_at = Timestamptz()


class CaseAttachment(Table, tablename="case_attachment"):
    """A file of a case (acta, medical report, identity document). The bytes live outside the
    database, in the attachments folder under their SHA-256 (app/services/attachments.py);
    ``content_type`` is what the content is (checked from its first bytes), not what the
    uploader said."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    sha256 = Varchar(length=64)
    #: encrypted with the case's data key (a name such as ``acta_de_Kevin.pdf`` identifies the
    #: child): TEXT since migration 0017
    filename = Text()
    content_type = Varchar(length=40)
    size = Integer()
    uploaded_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="uploaded_by_id"
    )
    uploaded_by_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="uploaded_by_authority_id",
    )
    created_at = Timestamptz()


class CaseMilestone(Table, tablename="case_milestone"):
    """The first instant a case reached a stage of the oversight funnel (measure, shelter, BIA,
    BID, durable solution: app/services/dashboard.py), kept by a handler so the dashboard
    counts one indexed table instead of the task index."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    stage = Varchar(length=20)
    reached_at = Timestamptz()


# ---------------------------------------------------------------- personal data (issue 16, item 4-5)
class PrivacyNotice(Table, tablename="privacy_notice"):
    """The privacy notice given to a child (LGPDPPSO arts. 20-22): which version, in which
    language, how it was explained, by whom and when. Owned by the case (erased with it)."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    version = Varchar(length=40)
    modalidad = Varchar(length=20)  # integral | simplificado (art. 22)
    idioma = Varchar(length=40)  # the catalog of workflows/guarantees.py IDIOMAS
    forma_explicacion = Varchar(length=40)
    interprete = Boolean(default=False)
    entregado_a = Varchar(length=30)  # nna | representante | nna_y_representante
    nna_comprende = Varchar(length=20)  # si | parcialmente | no
    observaciones = Text(null=True, default=None)  # free text about the child: never audited
    explicado_por = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="explicado_por_id"
    )
    explicado_en = Timestamptz()
    recorded_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="recorded_by_id"
    )
    recorded_by_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="recorded_by_authority_id",
    )
    recorded_at = Timestamptz()


class DataConsent(Table, tablename="data_consent"):
    """A consent or a refusal to share the child's data with a named third party, with the
    child's opinion (and the representative's), or the legal basis that replaces consent
    (LGPDPPSO arts. 14-16, 59, 64). A withdrawal stamps ``withdrawn_at``; nothing is deleted
    while the case lives. Owned by the case (erased with it)."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    destinatario = Varchar(length=30)  # config/datos_personales.toml [destinatarios]
    destinatario_nombre = Varchar(length=200)  # the named third party
    finalidad = Varchar(length=40)
    decision = Varchar(length=20)  # consiente | rechaza | base_legal
    otorgado_por = Varchar(length=30, null=True, default=None)
    forma = Varchar(length=30, null=True, default=None)
    opinion_nna = Varchar(length=30, null=True, default=None)
    opinion_nna_texto = Text(null=True, default=None)  # free text about the child: never audited
    opinion_representante = Varchar(length=30, null=True, default=None)
    representante_usuario = Varchar(length=150, null=True, default=None)
    razones = Text(null=True, default=None)  # free text: never audited
    base_legal = Varchar(length=40, null=True, default=None)
    referencia_documento = Varchar(length=300, null=True, default=None)
    privacy_notice = ForeignKey(
        references=PrivacyNotice,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="privacy_notice_id",
    )
    expresado_en = Timestamptz()
    recorded_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="recorded_by_id"
    )
    recorded_by_authority = ForeignKey(
        references=Authority,
        on_delete=OnDelete.restrict,
        null=True,
        db_column_name="recorded_by_authority_id",
    )
    recorded_at = Timestamptz()
    withdrawn_at = Timestamptz(null=True, default=None)
    withdrawn_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="withdrawn_by_id"
    )
    retirado_por = Varchar(length=30, null=True, default=None)  # nna | representante | autoridad
    motivo_retiro = Text(null=True, default=None)  # free text: never audited


class SecurityIncident(Table, tablename="security_incident"):
    """A breach of the security of personal data (LGPDPPSO art. 32 fr. I-IV) in the log the
    responsable keeps (art. 33): what, when, why, the corrective actions. Not owned by a case:
    the log outlives the cases it names (``security_incident_case`` keeps the folio)."""

    tipo = Varchar(length=40)
    descripcion = Text()
    motivo = Text(null=True, default=None)
    ocurrio_en = Timestamptz()
    detectado_en = Timestamptz()
    datos_comprometidos = JSON(default=[])
    afectacion_significativa = Boolean(default=False)
    acciones_inmediatas = Text(null=True, default=None)
    acciones_definitivas = Text(null=True, default=None)
    recorded_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="recorded_by_id"
    )
    recorded_at = Timestamptz()


class SecurityIncidentCase(Table, tablename="security_incident_case"):
    """A case whose data an incident touched; the folio stays when the case is erased."""

    incident = ForeignKey(
        references=SecurityIncident,
        on_delete=OnDelete.cascade,
        null=False,
        db_column_name="incident_id",
    )
    case = ForeignKey(
        references=Case, on_delete=OnDelete.set_null, null=True, db_column_name="case_id"
    )
    folio = Varchar(length=40)


class SecurityIncidentNotice(Table, tablename="security_incident_notice"):
    """A notice of an incident sent (art. 34: the people affected, the Secretaría or the
    autoridad garante), when and how."""

    incident = ForeignKey(
        references=SecurityIncident,
        on_delete=OnDelete.cascade,
        null=False,
        db_column_name="incident_id",
    )
    destinatario = Varchar(length=30)  # titulares | autoridad_garante | secretaria
    medio = Varchar(length=30)
    enviado_en = Timestamptz()
    personas_notificadas = Integer(null=True, default=None)
    recorded_by = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="recorded_by_id"
    )
    recorded_at = Timestamptz()


class CaseFigure(Table, tablename="case_figure"):
    """What the oversight dashboard counts of one case (migration 0014,
    app/cases/handlers/figures.py): the opening's non-identifying characteristics, the detection
    instant and each funnel stage's first instant, kept in the command's transaction."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    opened_at = Timestamptz()
    detected_at = Timestamptz(null=True, default=None)
    sexo = Varchar(length=40, null=True, default=None)
    edad = Varchar(length=8, null=True, default=None)
    nacionalidad = Varchar(length=8, null=True, default=None)
    acompanamiento = Varchar(length=40, null=True, default=None)
    notified_at = Timestamptz(null=True, default=None)
    medida_at = Timestamptz(null=True, default=None)
    albergue_at = Timestamptz(null=True, default=None)
    bia_at = Timestamptz(null=True, default=None)
    bid_at = Timestamptz(null=True, default=None)
    solucion_at = Timestamptz(null=True, default=None)


class RegisterDay(Table, tablename="register_day"):
    """Deadline register rows counted per day due (central Mexico), deadline, authority
    (0: none), state ('': none), status and open or closed (migration 0014,
    app/cases/register_counts.py): kept by the statements that write the register."""

    day = Date()
    plazo_id = Varchar(length=100)
    authority_id = Integer(default=0)
    estado = Varchar(length=2, default="")
    status = Varchar(length=12)
    open = Integer(default=0)
    n = Integer(default=0)


class CaseDataKey(Table, tablename="case_data_key"):
    """A case's data key (AES-256-GCM), wrapped by the master key kept outside the database
    (app/keys.py, app/datakeys.py). Erasing the case sets ``wrapped`` to NULL: every copy of its
    encrypted data, backups included, is then unreadable (migration 0017)."""

    case = ForeignKey(
        references=Case,
        on_delete=OnDelete.cascade,
        null=False,
        unique=True,
        db_column_name="case_id",
    )
    #: which master key wrapped it (its public name: app/keys.py)
    key_id = Varchar(length=16)
    wrapped = Text(null=True, default=None)
    created_at = Timestamptz()
    destroyed_at = Timestamptz(null=True, default=None)


class CaseNameToken(Table, tablename="case_name_token"):
    """The blind index of a child's names: a keyed HMAC of each folded word and of its prefixes
    (app/datakeys.py ``name_tokens``), so the name search finds a case without decrypting every
    identity and without a readable name in the database (migration 0017)."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    token = Varchar(length=64, index=True)


class CaseRetention(Table, tablename="case_retention"):
    """A closed case's retention clock (config/retencion.toml; app/services/retention.py): when
    its term started (closure, or the child's majority), when it is blocked and erased, and how
    long legal holds stopped it."""

    case = ForeignKey(
        references=Case,
        on_delete=OnDelete.cascade,
        null=False,
        unique=True,
        db_column_name="case_id",
    )
    #: the closure this clock counts from (a reopened and closed again case gets a new clock)
    closed_at = Timestamptz()
    counted_from = Timestamptz()
    block_at = Timestamptz(index=True)
    erase_at = Timestamptz(index=True)
    blocked_at = Timestamptz(null=True, default=None)
    erased_at = Timestamptz(null=True, default=None)
    #: seconds legal holds kept the clock stopped (added to both instants when a hold is lifted)
    held_seconds = BigInt(default=0)


#: ``legal_hold.motivo``: why a case's retention clock stops
HOLD_KINDS = ("litigio", "queja", "requerimiento_supervision")


class LegalHold(Table, tablename="legal_hold"):
    """A legal hold on a case: while any is active its retention clock is stopped and nothing
    of it is blocked or erased. The reference (a docket, a complaint number) is free text: the
    audit event keeps its keyed digest."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    motivo = Varchar(length=30)
    referencia = Varchar(length=200)
    set_at = Timestamptz()
    set_by = Varchar(length=100)
    lifted_at = Timestamptz(null=True, default=None)
    lifted_by = Varchar(length=100, null=True, default=None)


class CaseDay(Table, tablename="case_day"):
    """The case figures counted per day of opening (central Mexico), figure and value
    (migration 0021, app/cases/figure_counts.py): cases, each value of a disaggregation
    dimension, and hour histograms of the funnel stages and of the notification."""

    day = Date()
    figure = Varchar(length=20)
    value = Varchar(length=40, default="")
    n = Integer(default=0)


class RegisterLate(Table, tablename="register_late"):
    """The register's breaches per day due, deadline, authority, state, open or closed and
    hour (migration 0021, app/cases/register_counts.py): a closed breach's whole hours late, an
    open breach's due hour in its day."""

    day = Date()
    plazo_id = Varchar(length=100)
    authority_id = Integer(default=0)
    estado = Varchar(length=2, default="")
    open = Integer(default=0)
    hours = Integer()
    n = Integer(default=0)


class CaseCount(Table, tablename="case_count"):
    """Cases per status and risk ('' : none) now (migration 0021, app/cases/figure_counts.py)."""

    status = Varchar(length=12)
    risk = Varchar(length=20, default="")
    n = Integer(default=0)


# ---------------------------------------------------------------- ARCO requests (issue 16, item 3)
#: ``arco_request.derecho`` (LGPDPPSO arts. 38-41)
ARCO_RIGHTS = ("acceso", "rectificacion", "cancelacion", "oposicion")


class ArcoRequest(Table, tablename="arco_request"):
    """A request to exercise an ARCO right over a child's data (LGPDPPSO arts. 37-50), held by
    the authority whose data protection officer registered it. The free text (the requester's
    name, how the identity was verified, the description, reasons) is sealed with the case's data
    key (app/services/personal_data.py): erasing the case makes it unreadable; the codes stay."""

    case = ForeignKey(
        references=Case, on_delete=OnDelete.cascade, null=False, db_column_name="case_id"
    )
    case_folio = Varchar(length=32)
    authority = ForeignKey(
        references=Authority, on_delete=OnDelete.restrict, null=False, db_column_name="authority_id"
    )
    derecho = Varchar(length=20)
    solicitante_relacion = Varchar(length=30)
    solicitante_nombre = Text()  # sealed
    verificacion = Varchar(length=40)
    verificacion_detalle = Text()  # sealed
    descripcion = Text(null=True, default=None)  # sealed
    recibida_en = Timestamptz()
    vence_en = Timestamptz(index=True)
    jurisdiccion = Varchar(length=2)
    calendario = Varchar(length=20)
    ampliada_en = Timestamptz(null=True, default=None)
    ampliacion_razones = Text(null=True, default=None)  # sealed
    estado = Varchar(length=12, default="abierta")  # abierta | respondida
    resultado = Varchar(length=20, null=True, default=None)
    causa = Varchar(length=40, null=True, default=None)
    razones = Text(null=True, default=None)  # sealed
    respondida_en = Timestamptz(null=True, default=None)
    respondida_por = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="respondida_por_id"
    )
    vencida_en = Timestamptz(null=True, default=None)  # when the worker escalated it as overdue
    registrada_por = ForeignKey(
        references=User, on_delete=OnDelete.restrict, null=True, db_column_name="registrada_por_id"
    )
    registrada_en = Timestamptz()


ALL_TABLES: tuple[type[Table], ...] = (
    Authority,
    User,
    AuthToken,
    Case,
    CaseIdentity,
    WorkflowState,
    CaseAccess,
    Task,
    TaskSubmission,
    Placement,
    StationCustody,
    CaseText,
    FolioCounter,
    AuditEvent,
    AuditCheckpoint,
    DeadlineEscalation,
    DeadlineRegister,
    Notification,
    NotificationOutbox,
    TermSuspension,
    DirectoryVersion,
    CalendarDeclaration,
    LoginThrottle,
    CaseNote,
    CaseAttachment,
    CaseMilestone,
    CaseFigure,
    RegisterDay,
    PrivacyNotice,
    DataConsent,
    SecurityIncident,
    SecurityIncidentCase,
    SecurityIncidentNotice,
    CaseDataKey,
    CaseNameToken,
    CaseRetention,
    LegalHold,
    CaseDay,
    RegisterLate,
    CaseCount,
    ArcoRequest,
)


class RouteVersion(Table, tablename="route_version"):
    """The files of one route version (migration 0016): cases run on the version they were
    started on until migrated, so every server rebuilds that version's engine from here. ``id``
    is the version's number; ``version`` the content hash cases record (workflows/versions.py)."""

    id = Serial(primary_key=True)
    version = Varchar(length=64, unique=True)
    files = Text()
    file_count = Integer()
    registered_at = Timestamptz()
