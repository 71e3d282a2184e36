"""ARCO requests: access, rectification, cancellation and opposition over a child's data
(issue 16, item 3; LGPDPPSO arts. 37-50, read in the Cámara de Diputados text).

- **Who**: the data protection officer (role ``proteccion_datos``) of an authority that holds the
  case registers and answers (a blocked case: an authority that held it, as for reading it); any
  other authority gets 404, as for a case that does not exist. Oversight reads every request and
  writes none. Everyone else: 403.
- **Register**: the requester (the child, a legal representative, the Procuraduría acting in
  suplencia: art. 43, minors follow the civil rules of representation), the right, the case, how
  the requester's identity was verified (required: art. 43). The deadline is 20 working days
  (art. 45, first paragraph; art. 3 fr. XII: "días" are working days) counted from the day after
  reception on the answering authority's calendar (workflows/calendario.py, as the route's
  working-day deadlines), extendable **once** by 10 (art. 45, second paragraph) with reasons,
  within the response period; a second extension is a 422 naming ``$.ampliada_en``.
- **Overdue**: the worker's deadline sweep (app/services/deadlines.py) calls ``escalate_overdue``:
  an open request past its deadline is stamped ``vencida_en`` once (one conditional update: a
  replayed or concurrent sweep escalates nothing twice), audited, and its authority's data
  protection officers and heads are notified in-app (``notification``, kind ``arco.overdue``; the
  heads found as the route's level-2 escalation finds them, app/cases/handlers/escalations.py),
  plus the outgoing webhook when configured (app/outbox.py).
- **Answer**: access produces an export of the child's data held (identity, forms as submitted,
  notes, placements, notices and consents, decrypted by the service layer) and the list of who
  read the record (the audited reads of the audit trail); rectification goes through the identity
  correction of app/services/cases.py (``correct_identity``), linked to the request;
  cancellation and opposition are decided with reasons (granted, or refused on a ground of
  art. 49). A granted cancellation of a closed case brings its retention clock forward: blocked
  at the worker's next sweep (unless a legal hold stops it) and erased one blocking period later.
- **Audit**: every step (``arco.*``), with codes, field names and keyed digests; the free text
  (names, reasons) is sealed with the case's data key in ``arco_request``.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from app import outbox
from app.access import BLOCKED, ERASED
from app.audit import text_digests
from app.cases.handlers.escalations import recipients as escalation_recipients
from app.cases.unit_of_work import case_command
from app.clock import utcnow
from app.command import command
from app.data_protection_rules import config_file
from app.db import insert_rows, is_sqlite
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from app.principal import SYSTEM, Principal
from app.route_engine import calendario
from app.services import personal_data
from app.services.cases import INT_MAX, READ_ACTIONS
from app.tables import (
    ARCO_RIGHTS,
    ArcoRequest,
    AuditEvent,
    Authority,
    Case,
    CaseAccess,
    CaseRetention,
    Placement,
    User,
)

RELACIONES = ("nna", "representante_legal", "procuraduria_suplencia")
VERIFICACIONES = (
    "identificacion_oficial",
    "comparecencia_personal",
    "documento_representacion",
    "acuerdo_suplencia",
    "firma_electronica",
)
RESULTADOS_DECISION = ("procedente", "improcedente")
TEXT_MAX = 4000
NAME_MAX = 300
#: fields of the sealed free text (bound into each ciphertext)
F_NOMBRE, F_VERIFICACION, F_DESCRIPCION = "arco_nombre", "arco_verificacion", "arco_descripcion"
F_AMPLIACION, F_RAZONES = "arco_ampliacion", "arco_razones"
#: actions that are reads of a child's record, listed in an access answer
RECORD_READS = (*READ_ACTIONS, "case.data_protection_read", "arco.access_exported")
OVERDUE_KIND = "arco.overdue"
PLAZO_ID = "arco_respuesta"
REGISTER_SOURCE = "LGPDPPSO arts. 37, 43 y 45"
ACCESS_SOURCE = "LGPDPPSO arts. 38 y 45"
RECTIFY_SOURCE = "LGPDPPSO arts. 39 y 45"


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ArcoRules:
    plazo: int
    plazo_fuente: str
    ampliacion: int
    ampliacion_fuente: str
    ampliacion_desde_vencimiento: bool
    causas: dict[str, str]


@lru_cache(maxsize=4)
def _load(path: str) -> ArcoRules:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("arco")
    if not raw:
        raise ValueError(f"{path}: [arco] is missing")
    plazo, amp = raw.get("plazo_dias_habiles"), raw.get("ampliacion_dias_habiles")
    for name, value in (("plazo_dias_habiles", plazo), ("ampliacion_dias_habiles", amp)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{path}: arco.{name} must be a positive integer")
    causas = dict(raw.get("causas_improcedencia", {}))
    if not causas:
        raise ValueError(f"{path}: arco.causas_improcedencia is empty")
    return ArcoRules(
        plazo,
        raw["plazo_fuente"],
        amp,
        raw["ampliacion_fuente"],
        bool(raw.get("ampliacion_desde_vencimiento", True)),
        causas,
    )


def rules() -> ArcoRules:
    return _load(str(config_file()))


def _jurisdiccion(authority: dict[str, Any]) -> str:
    return "00" if authority["nivel"] == "federal" else authority["estado"]


def due_after(start: datetime, days: int, authority: dict[str, Any]) -> datetime:
    """The end of the ``days``-th working day after ``start`` on the authority's calendar."""
    return calendario().sumar_dias_habiles(start, days, _jurisdiccion(authority), authority["tipo"])


def working_days_between(start: datetime, end: datetime, authority: dict[str, Any]) -> int:
    """Working days from ``start``'s day (excluded) to ``end``'s day (included): days left when
    ``end`` is the deadline, days late (negative) when it passed."""
    cal = calendario()
    a, b = cal.fecha_local(start), cal.fecha_local(end)
    sign = 1
    if b < a:
        a, b, sign = b, a, -1
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        if cal.es_habil(d, _jurisdiccion(authority), authority["tipo"]):
            n += 1
    return sign * n


# ----------------------------------------------------------------------------- who
def _dpo(principal: Principal) -> None:
    if not principal.is_data_protection:
        raise Forbidden("only the data protection officer of the authority answers ARCO requests")


def _reader(principal: Principal) -> None:
    if not (principal.is_data_protection or principal.is_oversight):
        raise Forbidden("only data protection officers and oversight read ARCO requests")


async def holds_case(principal: Principal, case_id: int, retention: str) -> bool:
    """The officer's authority holds the case (a blocked one: held it at any time)."""
    where = (CaseAccess.case == case_id) & (CaseAccess.authority == principal.authority_id)
    if retention != BLOCKED:
        where &= CaseAccess.active.eq(True)
    return await CaseAccess.exists().where(where)


async def _case_for_officer(principal: Principal, folio: str) -> dict[str, Any]:
    case = (
        await Case.select(Case.id, Case.folio, Case.retention, Case.status, Case.closed_at)
        .where(Case.folio == str(folio))
        .first()
    )
    if (
        case is None
        or case["retention"] == ERASED
        or not await holds_case(principal, case["id"], case["retention"])
    ):
        raise NotFound("case not found")
    return case


async def _authority(authority_id: int) -> dict[str, Any]:
    return (
        await Authority.select(
            Authority.id, Authority.code, Authority.tipo, Authority.nivel, Authority.estado
        )
        .where(Authority.id == authority_id)
        .first()
    )


async def _row(principal: Principal, request_id: int) -> dict[str, Any]:
    """The request, if this principal may see it (else 404: another authority's request)."""
    _reader(principal)
    if not 1 <= request_id <= INT_MAX:
        raise NotFound("ARCO request not found")
    row = await ArcoRequest.select().where(ArcoRequest.id == request_id).first()
    if row is None or (
        not principal.is_oversight and row["authority_id"] != principal.authority_id
    ):
        raise NotFound("ARCO request not found")
    return row


def _text(errors: list, path: str, value: Any, limit: int, required: bool = False) -> str | None:
    text = str(value).strip() if value is not None else ""
    if len(text) > limit:
        errors.append({"path": path, "message": f"is longer than {limit}"})
    if required and not text:
        errors.append({"path": path, "message": "is required"})
    return text or None


def _one_of(errors: list, path: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        errors.append({"path": path, "message": "must be one of " + ", ".join(allowed)})


# ----------------------------------------------------------------------------- register
async def register(
    principal: Principal, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Register a request; 403 unless a data protection officer; 404 for a case its authority
    does not hold; 422 naming each bad field, nothing written."""
    _dpo(principal)
    case = await _case_for_officer(principal, data.get("folio") or "")
    errors: list[dict[str, str]] = []
    _one_of(errors, "$.derecho", data.get("derecho"), ARCO_RIGHTS)
    _one_of(errors, "$.solicitante_relacion", data.get("solicitante_relacion"), RELACIONES)
    _one_of(errors, "$.verificacion", data.get("verificacion"), VERIFICACIONES)
    name = _text(errors, "$.solicitante_nombre", data.get("solicitante_nombre"), NAME_MAX, True)
    how = _text(errors, "$.verificacion_detalle", data.get("verificacion_detalle"), TEXT_MAX, True)
    description = _text(errors, "$.descripcion", data.get("descripcion"), TEXT_MAX)
    if data.get("derecho") in ("cancelacion", "oposicion") and not description:
        # art. 46: the requester states the causes of a cancellation or an opposition
        errors.append({"path": "$.descripcion", "message": "is required (LGPDPPSO art. 46)"})
    authority = await _authority(principal.authority_id)
    async with command(principal.actor, now) as cmd:
        received = data.get("recibida_en") or cmd.now
        if received.tzinfo is None:
            errors.append({"path": "$.recibida_en", "message": "has no time zone"})
        elif received > cmd.now:
            errors.append({"path": "$.recibida_en", "message": "is in the future"})
        if errors:
            raise InvalidInput("the ARCO request is not valid", errors)
        received = received.astimezone(UTC)
        config = rules()
        due = due_after(received, config.plazo, authority)
        cid = case["id"]
        row = (
            await ArcoRequest.insert(
                ArcoRequest(
                    case=cid,
                    case_folio=case["folio"],
                    authority=principal.authority_id,
                    derecho=data["derecho"],
                    solicitante_relacion=data["solicitante_relacion"],
                    solicitante_nombre=await personal_data.seal_text(cid, F_NOMBRE, name, cmd.now),
                    verificacion=data["verificacion"],
                    verificacion_detalle=await personal_data.seal_text(
                        cid, F_VERIFICACION, how, cmd.now
                    ),
                    descripcion=(
                        await personal_data.seal_text(cid, F_DESCRIPCION, description, cmd.now)
                        if description
                        else None
                    ),
                    recibida_en=received,
                    vence_en=due,
                    jurisdiccion=_jurisdiccion(authority),
                    calendario=authority["tipo"],
                    estado="abierta",
                    registrada_por=principal.user_id,
                    registrada_en=cmd.now,
                )
            ).returning(ArcoRequest.id)
        )[0]
        texts = {"solicitante_nombre": name, "verificacion_detalle": how}
        if description:
            texts["descripcion"] = description
        cmd.audit(
            "arco.registered",
            case_id=cid,
            case_folio=case["folio"],
            authority_id=principal.authority_id,
            changes={
                "arco_request_id": row["id"],
                "derecho": data["derecho"],
                "solicitante_relacion": data["solicitante_relacion"],
                "verificacion": data["verificacion"],
                "recibida_en": received.isoformat(),
                "vence_en": due.isoformat(),
                **text_digests(**texts),
            },
            legal_basis=f"{REGISTER_SOURCE}; {config.plazo_fuente}"[:500],
        )
    return {"id": row["id"], "folio": case["folio"], "vence_en": due, "recibida_en": received}


# ----------------------------------------------------------------------------- extend
async def extend(
    principal: Principal, request_id: int, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Extend the deadline once by the configured working days (art. 45, second paragraph).
    A second extension: 422 on ``$.ampliada_en``; past the deadline: 409; two at once: the
    conditional update lets one through, the other is a 409."""
    _dpo(principal)
    row = await _row(principal, request_id)
    errors: list[dict[str, str]] = []
    reasons = _text(errors, "$.razones", data.get("razones"), TEXT_MAX, True)
    if row["ampliada_en"] is not None:
        errors.append(
            {
                "path": "$.ampliada_en",
                "message": "the deadline was already extended once (LGPDPPSO art. 45, "
                "second paragraph: por una sola vez)",
            }
        )
    if errors:
        raise InvalidInput("the extension is not valid", errors)
    if row["estado"] != "abierta":
        raise Conflict("the request was already answered")
    config = rules()
    authority = await _authority(row["authority_id"])
    async with command(principal.actor, now) as cmd:
        due = _aware(row["vence_en"])
        if cmd.now > due:
            raise Conflict(
                "the response period ended: an extension is notified within it (LGPDPPSO art. "
                "45, second paragraph)"
            )
        start = due if config.ampliacion_desde_vencimiento else _aware(row["recibida_en"])
        days = (
            config.ampliacion
            if config.ampliacion_desde_vencimiento
            else (config.plazo + config.ampliacion)
        )
        new_due = due_after(start, days, authority)
        sealed = await personal_data.seal_text(row["case_id"], F_AMPLIACION, reasons, cmd.now)
        # one statement claims the extension: of two at once, one wins
        claimed = await ArcoRequest.raw(
            "UPDATE arco_request SET ampliada_en = {}, ampliacion_razones = {}, vence_en = {}"
            " WHERE id = {} AND ampliada_en IS NULL AND estado = 'abierta' RETURNING id",
            cmd.now,
            sealed,
            new_due,
            request_id,
        )
        if not claimed:
            raise Conflict("the request changed meanwhile (extended or answered): reload it")
        cmd.audit(
            "arco.extended",
            case_id=row["case_id"],
            case_folio=row["case_folio"],
            authority_id=row["authority_id"],
            changes={
                "arco_request_id": request_id,
                "vence_en_antes": due.isoformat(),
                "vence_en": new_due.isoformat(),
                **text_digests(razones=reasons),
            },
            legal_basis=config.ampliacion_fuente,
        )
    return {"id": request_id, "vence_en": new_due, "ampliada_en": cmd.now}


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


async def _close(
    request_id: int, now: datetime, user_id: int | None, resultado: str, **extra: Any
) -> None:
    """Mark the request answered; 409 if it was answered meanwhile (one conditional update)."""
    sets = [
        "estado = 'respondida'",
        "resultado = {}",
        "respondida_en = {}",
        "respondida_por_id = {}",
    ]
    args: list[Any] = [resultado, now, user_id]
    for column, value in extra.items():
        sets.append(f"{column} = {{}}")
        args.append(value)
    claimed = await ArcoRequest.raw(
        f"UPDATE arco_request SET {', '.join(sets)}"  # noqa: S608 (column names are ours)
        " WHERE id = {} AND estado = 'abierta' RETURNING id",
        *args,
        request_id,
    )
    if not claimed:
        raise Conflict("the request was already answered")


def _on_time(row: dict[str, Any], now: datetime) -> bool:
    return now <= _aware(row["vence_en"])


# ----------------------------------------------------------------------------- access
async def _reads(case_id: int) -> list[dict[str, Any]]:
    rows = (
        await AuditEvent.select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor_username,
            AuditEvent.actor_role,
            AuditEvent.actor_authority_code,
            AuditEvent.action,
            AuditEvent.task_id,
        )
        .where((AuditEvent.case_id == case_id) & AuditEvent.action.is_in(list(RECORD_READS)))
        .order_by(AuditEvent.id)
    )
    return [
        {
            "at": _aware(r["at"]),
            "usuario": r["actor_username"],
            "rol": r["actor_role"],
            "autoridad": r["actor_authority_code"],
            "accion": r["action"],
            "tarea": r["task_id"],
        }
        for r in rows
    ]


async def _data_held(principal: Principal, case_id: int) -> dict[str, Any]:
    """Everything careroute holds about the child, decrypted through the service layer."""
    from app.services import case_files, case_record, cases, data_protection

    identity = await cases._identity_row(case_id)
    forms = await case_record.submissions(principal, case_id)
    files = await case_files.of_case(case_id)
    placements = (
        await Placement.select(
            Placement.id,
            Placement.kind,
            Placement.shelter.code.as_alias("autoridad"),
            Placement.status,
            Placement.admitted_at,
            Placement.ended_at,
            Placement.end_reason,
            Placement.destino,
        )
        .where(Placement.case == case_id)
        .order_by(Placement.id)
    )
    return {
        "identidad": identity["data"] if identity else {},
        "formularios": forms,
        "notas": files["notes"],
        "adjuntos": [
            {k: f[k] for k in ("id", "filename", "content_type", "size", "created_at")}
            for f in files["attachments"]
        ],
        "colocaciones": placements,
        "avisos_privacidad": await data_protection._notices(case_id),
        "consentimientos": await data_protection._consents(case_id),
    }


async def access_export(
    principal: Principal, request_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Answer an access request: the child's data held and the list of who read the record.
    The first production answers the request (``entregada``, on time or late); each production
    is audited (``arco.access_exported``) and so appears in the next export's reads."""
    _dpo(principal)
    row = await _row(principal, request_id)
    if row["derecho"] != "acceso":
        raise Conflict(f"request {request_id} is not an access request ({row['derecho']})")
    case = await Case.select(Case.retention).where(Case.id == row["case_id"]).first()
    if case is None or case["retention"] == ERASED:
        raise NotFound("case not found")
    data = await _data_held(principal, row["case_id"])
    reads = await _reads(row["case_id"])
    async with command(principal.actor, now) as cmd:
        first = row["estado"] == "abierta"
        if first:
            await _close(request_id, cmd.now, principal.user_id, "entregada")
        cmd.audit(
            "arco.access_exported",
            case_id=row["case_id"],
            case_folio=row["case_folio"],
            authority_id=row["authority_id"],
            changes={
                "arco_request_id": request_id,
                "answers": first,
                "on_time": _on_time(row, cmd.now),
                "forms": len(data["formularios"]),
                "notes": len(data["notas"]),
                "reads": len(reads),
            },
            legal_basis=ACCESS_SOURCE,
        )
    return {
        "arco_request_id": request_id,
        "folio": row["case_folio"],
        "producido_en": cmd.now,
        "vence_en": _aware(row["vence_en"]),
        "en_plazo": _on_time(row, cmd.now),
        "datos": data,
        "lecturas": reads,
    }


def export_csv(export: dict[str, Any]) -> bytes:
    """The export as a spreadsheet-friendly CSV (UTF-8 with BOM): one row per datum, then one
    per read of the record."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["seccion", "campo", "valor"])
    data = export["datos"]
    for key, value in sorted(data["identidad"].items()):
        w.writerow(["identidad", key, _cell(value)])
    for form in data["formularios"]:
        for key, value in sorted(form["data"].items()):
            w.writerow([f"formulario:{form['bpmn_id']}", key, _cell(value)])
    for section in ("notas", "adjuntos", "colocaciones", "avisos_privacidad", "consentimientos"):
        for item in data[section]:
            w.writerow([section, str(item.get("id", "")), _cell(item)])
    w.writerow([])
    w.writerow(["lectura", "usuario", "rol", "autoridad", "cuando", "que"])
    for r in export["lecturas"]:
        w.writerow(["lectura", r["usuario"], r["rol"], r["autoridad"], r["at"].isoformat(),
                    r["accion"]])  # fmt: skip
    return "\ufeff".encode() + out.getvalue().encode()


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


# ----------------------------------------------------------------------------- rectification
async def rectify(
    principal: Principal, request_id: int, identidad: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Answer a rectification request through the identity correction command
    (app/services/cases.py ``correct_identity``), in one transaction with the answer."""
    from app.services import cases

    _dpo(principal)
    row = await _row(principal, request_id)
    if row["derecho"] != "rectificacion":
        raise Conflict(f"request {request_id} is not a rectification request ({row['derecho']})")
    if row["estado"] != "abierta":
        raise Conflict("the request was already answered")
    if not isinstance(identidad, dict) or not identidad:
        raise field_error("$.identidad", "is required")
    case = await Case.select(Case.retention).where(Case.id == row["case_id"]).first()
    if case is None or case["retention"] != "active":
        raise Conflict("a blocked record is not corrected: it is kept only for responsibilities")
    async with case_command(principal.actor, row["case_id"], now) as s:
        changed = await cases.correct_identity(
            s, row["case_id"], identidad, link={"arco_request_id": request_id}
        )
        await _close(request_id, s.now, principal.user_id, "rectificada")
        s.audit(
            "arco.rectified",
            authority_id=row["authority_id"],
            changes={
                "arco_request_id": request_id,
                "fields": changed,
                "on_time": _on_time(row, s.now),
            },
            legal_basis=RECTIFY_SOURCE,
        )
    return {"id": request_id, "folio": row["case_folio"], "changed_fields": changed}


# ----------------------------------------------------------------------------- decide
async def decide(
    principal: Principal, request_id: int, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Decide a cancellation or an opposition: ``procedente`` or ``improcedente`` on a ground of
    art. 49, with reasons. A granted cancellation of a closed case moves its retention clock to
    block now (the worker blocks it at its next sweep unless a legal hold stops it)."""
    from app.services import retention

    _dpo(principal)
    row = await _row(principal, request_id)
    if row["derecho"] not in ("cancelacion", "oposicion"):
        raise Conflict(
            f"request {request_id} is answered by "
            + ("the access export" if row["derecho"] == "acceso" else "the correction")
        )
    config = rules()
    errors: list[dict[str, str]] = []
    resultado = data.get("resultado")
    _one_of(errors, "$.resultado", resultado, RESULTADOS_DECISION)
    reasons = _text(errors, "$.razones", data.get("razones"), TEXT_MAX, True)
    causa = data.get("causa")
    if resultado == "improcedente":
        _one_of(errors, "$.causa", causa, tuple(config.causas))
    elif causa is not None:
        errors.append({"path": "$.causa", "message": "only a refusal names a ground of art. 49"})
    if errors:
        raise InvalidInput("the decision is not valid", errors)
    if row["estado"] != "abierta":
        raise Conflict("the request was already answered")
    efecto = "ninguno"
    if resultado == "procedente" and row["derecho"] == "cancelacion":
        # a closed case gets the clock the worker would give it (its own transaction; enrolling
        # twice changes nothing), so the decision below can bring it forward
        await retention.enroll(now or utcnow(), 1, [row["case_id"]])
    async with command(principal.actor, now) as cmd:
        sealed = await personal_data.seal_text(row["case_id"], F_RAZONES, reasons, cmd.now)
        await _close(request_id, cmd.now, principal.user_id, resultado, causa=causa, razones=sealed)
        if resultado == "procedente" and row["derecho"] == "cancelacion":
            efecto = await _bring_forward(row["case_id"], cmd.now, retention)
        cmd.audit(
            "arco.decided",
            case_id=row["case_id"],
            case_folio=row["case_folio"],
            authority_id=row["authority_id"],
            changes={
                "arco_request_id": request_id,
                "derecho": row["derecho"],
                "resultado": resultado,
                "causa": causa,
                "efecto": efecto,
                "on_time": _on_time(row, cmd.now),
                **text_digests(razones=reasons),
            },
            legal_basis=(
                config.causas[causa]
                if causa
                else ("LGPDPPSO art. 40" if row["derecho"] == "cancelacion" else "LGPDPPSO art. 41")
            )[:500],
        )
    return {"id": request_id, "resultado": resultado, "efecto": efecto}


async def _bring_forward(case_id: int, now: datetime, retention: Any) -> str:
    """A granted cancellation: a closed case's clock is set to block now (and erase one blocking
    period later); an open case keeps its data while its protection runs (nothing changes: the
    clock starts at closure); an already blocked case keeps its erasure instant."""
    case = await Case.select(Case.status, Case.retention).where(Case.id == case_id).first()
    if case["retention"] == BLOCKED:
        return "ya_bloqueado"
    if case["status"] != "closed":
        return "caso_abierto_sin_efecto"
    erase_at = retention.add_duration(now, retention.schedule().bloqueo)
    await CaseRetention.update(
        {CaseRetention.block_at: now, CaseRetention.erase_at: erase_at}
    ).where((CaseRetention.case == case_id) & CaseRetention.blocked_at.is_null())
    return "bloqueo_adelantado"


# ----------------------------------------------------------------------------- read
async def _view(row: dict[str, Any], now: datetime, full: bool) -> dict[str, Any]:
    authority = await _authority(row["authority_id"])
    due = _aware(row["vence_en"])
    out = {
        "id": row["id"],
        "folio": row["case_folio"],
        "autoridad": authority["code"],
        "derecho": row["derecho"],
        "solicitante_relacion": row["solicitante_relacion"],
        "verificacion": row["verificacion"],
        "recibida_en": _aware(row["recibida_en"]),
        "vence_en": due,
        "ampliada_en": _aware(row["ampliada_en"]) if row["ampliada_en"] else None,
        "estado": row["estado"],
        "resultado": row["resultado"],
        "causa": row["causa"],
        "respondida_en": _aware(row["respondida_en"]) if row["respondida_en"] else None,
        "vencida": row["estado"] == "abierta" and now > due,
        "escalada_en": _aware(row["vencida_en"]) if row["vencida_en"] else None,
        "dias_habiles": (
            working_days_between(now, due, authority) if row["estado"] == "abierta" else None
        ),
    }
    if full:
        opener = await personal_data.Opener.of(row["case_id"])

        def open_(field: str, value: str | None) -> str | None:
            try:
                return opener.text(field, value)
            except Exception:  # erased: the key is gone
                return None

        out |= {
            "solicitante_nombre": open_(F_NOMBRE, row["solicitante_nombre"]),
            "verificacion_detalle": open_(F_VERIFICACION, row["verificacion_detalle"]),
            "descripcion": open_(F_DESCRIPCION, row["descripcion"]),
            "ampliacion_razones": open_(F_AMPLIACION, row["ampliacion_razones"]),
            "razones": open_(F_RAZONES, row["razones"]),
        }
    return out


async def get(principal: Principal, request_id: int, now: datetime | None = None) -> dict:
    """One request with its free text (an audited read: it names the requester)."""
    row = await _row(principal, request_id)
    async with command(principal.actor, now) as cmd:
        cmd.audit(
            "arco.read",
            case_id=row["case_id"],
            case_folio=row["case_folio"],
            changes={"arco_request_id": request_id},
        )
    return await _view(row, cmd.now, full=True)


async def list_requests(
    principal: Principal,
    *,
    estado: str | None = None,
    vencidas: bool = False,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The requests this principal may see (an officer: its authority's; oversight: all),
    without free text; ``vencidas``: open and past their deadline."""
    _reader(principal)
    now = now or utcnow()
    q = ArcoRequest.select().order_by(ArcoRequest.vence_en).order_by(ArcoRequest.id)
    if not principal.is_oversight:
        q = q.where(ArcoRequest.authority == principal.authority_id)
    if estado is not None:
        if estado not in ("abierta", "respondida"):
            raise field_error("$.estado", "must be one of abierta, respondida")
        q = q.where(ArcoRequest.estado == estado)
    if vencidas:
        q = q.where((ArcoRequest.estado == "abierta") & (ArcoRequest.vence_en < now))
    return [await _view(r, now, full=False) for r in await q]


# ----------------------------------------------------------------------------- overdue
async def escalate_overdue(now: datetime) -> int:
    """Escalate every open request past its deadline, once: stamp it, audit it, notify its
    authority's data protection officers and heads (and the webhook). Returns how many."""
    lock = "" if is_sqlite() else " FOR UPDATE SKIP LOCKED"
    async with command(SYSTEM, now) as cmd:
        rows = await ArcoRequest.raw(
            "SELECT id, case_id, case_folio, authority_id, vence_en FROM arco_request"  # noqa: S608
            " WHERE estado = 'abierta' AND vencida_en IS NULL AND vence_en < {}"
            " ORDER BY vence_en, id LIMIT 200" + lock,
            now,
        )
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        marks = ", ".join("{}" for _ in ids)
        claimed = await ArcoRequest.raw(
            f"UPDATE arco_request SET vencida_en = {{}} WHERE id IN ({marks})"  # noqa: S608
            " AND vencida_en IS NULL RETURNING id",
            now,
            *ids,
        )
        mine = {r["id"] for r in claimed}
        notices: list[tuple[Any, ...]] = []
        cache: dict[str, Any] = {}
        for r in rows:
            if r["id"] not in mine:
                continue
            users = await _overdue_recipients(r["authority_id"], cache)
            due = _aware(r["vence_en"])
            notices += [
                (u, OVERDUE_KIND, None, r["case_folio"], None, None, PLAZO_ID, 2, due, now, None)
                for u in users
            ]
            cmd.audit(
                "arco.overdue",
                case_id=r["case_id"],
                case_folio=r["case_folio"],
                authority_id=r["authority_id"],
                changes={
                    "arco_request_id": r["id"],
                    "vence_en": due.isoformat(),
                    "recipients": len(users),
                },
                legal_basis="LGPDPPSO arts. 45 y 50",
            )
            if outbox.enabled():
                payload = {
                    "kind": OVERDUE_KIND,
                    "arco_request_id": r["id"],
                    "case_folio": r["case_folio"],
                    "authority_id": r["authority_id"],
                    "due_at": due.isoformat(),
                    "recipients": users,
                }
                await outbox.queue(OVERDUE_KIND, json.dumps(payload), now)
        if notices:
            from app.cases.writes import NOTIFICATION_COLUMNS

            await insert_rows("notification", NOTIFICATION_COLUMNS, notices)
    return len(mine)


class _Recipients:
    """A stand-in session for the route's recipient lookup (its cache lives in ``results``)."""

    def __init__(self, cache: dict[str, Any]) -> None:
        self.results = cache


async def _overdue_recipients(authority_id: int, cache: dict[str, Any]) -> list[int]:
    """The authority's active data protection officers and its heads (the route's level 2)."""
    heads = await escalation_recipients(_Recipients(cache), 2, authority_id)  # type: ignore[arg-type]
    key = ("dpo", authority_id)
    if key not in cache:
        rows = await User.select(User.id).where(
            (User.authority == authority_id)
            & (User.role == "proteccion_datos")
            & (User.active.eq(True))
        )
        cache[key] = [r["id"] for r in rows]
    return sorted(set(cache[key]) | set(heads))
