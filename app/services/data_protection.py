"""The child's privacy notice and consents to share data with third parties (issue 16, item 4).

- A **privacy notice** given (LGPDPPSO arts. 20-22): which version, in which language of the
  catalog, how it was explained to the child, by whom and when. Any caseworker who may see the
  case records it, except a consulate's (it never learns what the notice lists).
- A **consent or refusal** to share the child's data with a named third party (consulate, UNHCR,
  IOM, ICRC, a civil-society organisation), with the child's opinion and, where the case has a
  representative, the representative's (LGPDPPSO art. 14, last paragraph; LGDNNA arts. 71-72 and
  106). A consent needs a privacy notice given before it (art. 14 fr. III: informed), else 409.
  Or the **legal basis** that replaces consent (arts. 16, 59, 60, 64), recorded by a supervisor
  or head, with the document that founds it. Only the Procuraduría, which holds the child's
  representation, records them.
- A **withdrawal** stamps the record (who, when, on whose word) and stops further sharing.

Every write runs on the case command path (the case is locked, like a task's completion), so a
withdrawal and a completion that shares data never interleave: one of them goes first. The audit
trail gets the codes, never the free text (keyed digests, app/audit.py text_digests). Reads are
audited: the register holds the child's opinion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.access_rules import consular_facts
from app.audit import text_digests
from app.cases.aggregate import BEFORE_DETECTION, IN_FUTURE, NO_ZONE
from app.cases.unit_of_work import case_command
from app.command import command
from app.data_protection_rules import (
    NOTICE_RULE,
    NOTICE_SOURCE,
    may_share,
    rules,
)
from app.errors import Conflict, Forbidden, GuaranteeViolation, InvalidInput, NotFound
from app.principal import Principal
from app.route_engine import route_engine
from app.services import personal_data
from app.services.cases import INT_MAX, case_id_for
from app.tables import DataConsent, PrivacyNotice, User
from workflows.guarantees import IDIOMAS

CONSULATE = "SRE_CONSULADO"
REPRESENTATION_HOLDER = "PROCURADURIA"

MODALIDADES = ("integral", "simplificado")
FORMAS_EXPLICACION = (
    "verbal_lenguaje_sencillo",
    "escrito_simplificado",
    "material_visual",
    "lengua_de_senas",
    "con_interprete",
)
ENTREGADO_A = ("nna", "representante", "nna_y_representante")
COMPRENSION = ("si", "parcialmente", "no")
FINALIDADES = (
    "localizacion_familiar",
    "reunificacion",
    "reasentamiento",
    "retorno_asistido",
    "servicios_proteccion",
    "otra",
)
DECISIONES = ("consiente", "rechaza", "base_legal")
OTORGADO_POR = ("nna", "representante", "nna_y_representante")
FORMAS = ("escrito_firma", "firma_electronica", "verbal", "signos_inequivocos")
#: art. 15, fourth paragraph: sensitive data need an express consent in writing, signed
FORMAS_ESCRITAS = ("escrito_firma", "firma_electronica")
OPINIONES = ("de_acuerdo", "en_desacuerdo", "no_expresa", "no_en_condiciones")
OPINIONES_REPRESENTANTE = ("de_acuerdo", "en_desacuerdo")
RETIRADO_POR = ("nna", "representante", "autoridad")
TEXT_MAX = 4000
NAME_MAX = 200

#: what the audit trail cites
CONSENT_LEGAL_BASIS = (
    "LGPDPPSO art. 14, art. 15, art. 59 y art. 21 fr. VIII; LGDNNA arts. 71, 72 y 106"
)
WITHDRAWAL_LEGAL_BASIS = "LGPDPPSO art. 14 y art. 21 fr. VIII; LGDNNA art. 71"


# --------------------------------------------------------------------------- helpers
def _one_of(errors: list[dict[str, str]], path: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        errors.append({"path": path, "message": "must be one of " + ", ".join(allowed)})


def _text(errors: list[dict[str, str]], path: str, value: Any, limit: int = TEXT_MAX) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        errors.append({"path": path, "message": f"is longer than {limit}"})
    return text or None


def _instant(
    errors: list[dict[str, str]], path: str, at: datetime, now: datetime, detected: datetime | None
) -> None:
    if at.tzinfo is None:
        errors.append({"path": path, "message": NO_ZONE})
    elif at > now:
        errors.append({"path": path, "message": IN_FUTURE})
    elif detected is not None and at < detected:
        errors.append({"path": path, "message": BEFORE_DETECTION})


def _may_read(principal: Principal) -> None:
    if principal.is_oversight:
        return
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} has no access to cases")
    if principal.authority_tipo == CONSULATE:
        raise Forbidden("a consulate does not read the child's privacy and consent records")


def _holder(principal: Principal) -> None:
    if not principal.is_worker or principal.authority_tipo != REPRESENTATION_HOLDER:
        raise Forbidden(
            "only the Procuraduría handling the case records consents (it holds the child's "
            "representation: LGDNNA art. 106; LGPDPPSO art. 14, last paragraph)"
        )


async def _usernames(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await User.select(User.id, User.username).where(User.id.is_in(sorted(ids)))
    return {r["id"]: r["username"] for r in rows}


# --------------------------------------------------------------------------- privacy notice
async def give_notice(
    principal: Principal, folio: str, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Record the privacy notice given to the child; 422 naming each bad field."""
    case_id = await case_id_for(principal, folio)
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    if principal.authority_tipo == CONSULATE:
        raise Forbidden("a consulate does not give the child's privacy notice")
    config = rules()
    async with case_command(principal.actor, case_id, now) as s:
        s.case.require_open()
        errors: list[dict[str, str]] = []
        _one_of(errors, "$.version", data.get("version"), config.notice_versions)
        _one_of(errors, "$.modalidad", data.get("modalidad"), MODALIDADES)
        _one_of(errors, "$.idioma", data.get("idioma"), tuple(IDIOMAS))
        _one_of(errors, "$.forma_explicacion", data.get("forma_explicacion"), FORMAS_EXPLICACION)
        _one_of(errors, "$.entregado_a", data.get("entregado_a"), ENTREGADO_A)
        _one_of(errors, "$.nna_comprende", data.get("nna_comprende"), COMPRENSION)
        interprete = bool(data.get("interprete"))
        if data.get("idioma") in IDIOMAS and data["idioma"] != "espanol" and not interprete:
            errors.append(
                {"path": "$.interprete", "message": "is required for a language other than Spanish"}
            )
        notes = _text(errors, "$.observaciones", data.get("observaciones"))
        at = data.get("explicado_en") or s.now
        _instant(errors, "$.explicado_en", at, s.now, s.case.detected_at)
        by_name = data.get("explicado_por") or principal.username
        by = (
            await User.select(User.id, User.authority, User.active)
            .where(User.username == by_name)
            .first()
        )
        if by is None or not by["active"] or by["authority_id"] != principal.authority_id:
            errors.append(
                {"path": "$.explicado_por", "message": "no active user of your authority"}
            )
        if errors:
            raise InvalidInput("the privacy notice is not valid", errors)
        row = (
            await PrivacyNotice.insert(
                PrivacyNotice(
                    case=case_id,
                    version=data["version"],
                    modalidad=data["modalidad"],
                    idioma=data["idioma"],
                    forma_explicacion=data["forma_explicacion"],
                    interprete=interprete,
                    entregado_a=data["entregado_a"],
                    nna_comprende=data["nna_comprende"],
                    observaciones=await _seal(s, NOTICE_NOTES, notes),
                    explicado_por=by["id"],
                    explicado_en=at.astimezone(UTC),
                    recorded_by=principal.user_id,
                    recorded_by_authority=principal.authority_id,
                    recorded_at=s.now,
                )
            ).returning(PrivacyNotice.id)
        )[0]
        s.audit(
            "case.privacy_notice_given",
            authority_id=principal.authority_id,
            changes={
                "notice_id": row["id"],
                "version": data["version"],
                "modalidad": data["modalidad"],
                "idioma": data["idioma"],
                "forma_explicacion": data["forma_explicacion"],
                "interprete": interprete,
                "entregado_a": data["entregado_a"],
                "nna_comprende": data["nna_comprende"],
                "explicado_por": by_name,
                "explicado_en": at.astimezone(UTC).isoformat(),
                **(text_digests(observaciones=notes) if notes else {}),
            },
            legal_basis=NOTICE_SOURCE,
        )
    return {"folio": folio, "notice_id": row["id"]}


#: The free text of these records, encrypted with the case's data key (app/datakeys.py): what
#: people wrote about the child. The codes, dates, the recipient's name and the founding
#: document stay in clear (docs/data-protection.md, "What is kept").
NOTICE_NOTES = "privacy_notice.observaciones"
CONSENT_OPINION = "data_consent.opinion_nna_texto"
CONSENT_REASONS = "data_consent.razones"
CONSENT_WITHDRAWAL = "data_consent.motivo_retiro"
#: table -> (column, associated data field), for the backfill (app/services/encryption.py)
SEALED_COLUMNS = {
    "privacy_notice": (("observaciones", NOTICE_NOTES),),
    "data_consent": (
        ("opinion_nna_texto", CONSENT_OPINION),
        ("razones", CONSENT_REASONS),
        ("motivo_retiro", CONSENT_WITHDRAWAL),
    ),
}


async def _seal(s: Any, field: str, text: str | None) -> str | None:
    return await personal_data.seal_in(s, field, text) if text else None


async def _notices(case_id: int) -> list[dict[str, Any]]:
    rows = (
        await PrivacyNotice.select().where(PrivacyNotice.case == case_id).order_by(PrivacyNotice.id)
    )
    opener = await personal_data.Opener.of(case_id)
    for r in rows:
        r["observaciones"] = opener.text(NOTICE_NOTES, r["observaciones"])
    names = await _usernames({r["explicado_por_id"] for r in rows if r["explicado_por_id"]})
    return [
        {
            "id": r["id"],
            "version": r["version"],
            "modalidad": r["modalidad"],
            "idioma": r["idioma"],
            "forma_explicacion": r["forma_explicacion"],
            "interprete": r["interprete"],
            "entregado_a": r["entregado_a"],
            "nna_comprende": r["nna_comprende"],
            "observaciones": r["observaciones"],
            "explicado_por": names.get(r["explicado_por_id"]),
            "explicado_en": r["explicado_en"],
            "recorded_at": r["recorded_at"],
        }
        for r in rows
    ]


# --------------------------------------------------------------------------- consents
async def record_consent(
    principal: Principal, folio: str, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Record a consent, a refusal or the legal basis that replaces consent. 403 unless a
    Procuraduría caseworker (a legal basis: its supervisor or head); 409 naming the rule when a
    consent has no privacy notice given before it; 422 naming each bad field."""
    case_id = await case_id_for(principal, folio)
    _holder(principal)
    config = rules()
    decision = data.get("decision")
    if decision == "base_legal" and not principal.supervises:
        raise Forbidden("a supervisor or head of the Procuraduría records a legal basis")
    async with case_command(principal.actor, case_id, now) as s:
        s.case.require_open()
        errors: list[dict[str, str]] = []
        recipient = data.get("destinatario")
        _one_of(errors, "$.destinatario", recipient, tuple(config.recipients))
        name = _text(errors, "$.destinatario_nombre", data.get("destinatario_nombre"), NAME_MAX)
        if not name:
            errors.append({"path": "$.destinatario_nombre", "message": "is required"})
        _one_of(errors, "$.finalidad", data.get("finalidad"), FINALIDADES)
        _one_of(errors, "$.decision", decision, DECISIONES)
        at = data.get("expresado_en") or s.now
        _instant(errors, "$.expresado_en", at, s.now, s.case.detected_at)
        opinion_text = _text(errors, "$.opinion_nna_texto", data.get("opinion_nna_texto"))
        reasons = _text(errors, "$.razones", data.get("razones"))
        reference = _text(errors, "$.referencia_documento", data.get("referencia_documento"), 300)
        representative = s.case.engine.representative
        fields: dict[str, Any] = {}
        if decision in ("consiente", "rechaza"):
            _one_of(errors, "$.otorgado_por", data.get("otorgado_por"), OTORGADO_POR)
            _one_of(errors, "$.forma", data.get("forma"), FORMAS)
            _one_of(errors, "$.opinion_nna", data.get("opinion_nna"), OPINIONES)
            if representative is not None:
                _one_of(
                    errors,
                    "$.opinion_representante",
                    data.get("opinion_representante"),
                    OPINIONES_REPRESENTANTE,
                )
            elif data.get("opinion_representante") is not None:
                errors.append(
                    {"path": "$.opinion_representante", "message": "the case has no representative"}
                )
            if data.get("otorgado_por") in ("representante", "nna_y_representante") and (
                representative is None
            ):
                errors.append(
                    {"path": "$.otorgado_por", "message": "the case has no representative"}
                )
            if decision == "consiente":
                if data.get("forma") in FORMAS and data["forma"] not in FORMAS_ESCRITAS:
                    errors.append(
                        {
                            "path": "$.forma",
                            "message": "a consent to share sensitive data is express and in "
                            "writing (LGPDPPSO art. 15, fourth paragraph)",
                        }
                    )
                if data.get("opinion_nna") == "en_desacuerdo" and not reasons:
                    errors.append(
                        {
                            "path": "$.razones",
                            "message": "is required when the child disagrees (LGDNNA art. 71)",
                        }
                    )
            fields = {
                "otorgado_por": data.get("otorgado_por"),
                "forma": data.get("forma"),
                "opinion_nna": data.get("opinion_nna"),
                "opinion_representante": data.get("opinion_representante"),
                "representante_usuario": (representative or {}).get("representante_usuario"),
            }
        elif decision == "base_legal":
            basis = config.bases.get(str(data.get("base_legal")))
            if basis is None:
                errors.append(
                    {"path": "$.base_legal", "message": "must be one of " + ", ".join(config.bases)}
                )
            elif recipient in config.recipients and recipient not in basis.destinatarios:
                errors.append({"path": "$.base_legal", "message": f"does not apply to {recipient}"})
            if not reference:
                errors.append({"path": "$.referencia_documento", "message": "is required"})
            fields = {"base_legal": data.get("base_legal")}
        if errors:
            raise InvalidInput("the consent is not valid", errors)
        notice_id = None
        if decision == "consiente":
            notice = (
                await PrivacyNotice.select(PrivacyNotice.id)
                .where((PrivacyNotice.case == case_id) & (PrivacyNotice.explicado_en <= at))
                .order_by(PrivacyNotice.id, ascending=False)
                .first()
            )
            if notice is None:
                raise GuaranteeViolation(
                    NOTICE_RULE,
                    NOTICE_SOURCE,
                    "a consent is informed: give the child the privacy notice first",
                    [
                        {
                            "path": "$.decision",
                            "message": "no privacy notice was given before this consent",
                            "guarantee": NOTICE_RULE,
                        }
                    ],
                )
            notice_id = notice["id"]
        row = (
            await DataConsent.insert(
                DataConsent(
                    case=case_id,
                    destinatario=recipient,
                    destinatario_nombre=name,
                    finalidad=data["finalidad"],
                    decision=decision,
                    opinion_nna_texto=await _seal(s, CONSENT_OPINION, opinion_text),
                    razones=await _seal(s, CONSENT_REASONS, reasons),
                    referencia_documento=reference,
                    privacy_notice=notice_id,
                    expresado_en=at.astimezone(UTC),
                    recorded_by=principal.user_id,
                    recorded_by_authority=principal.authority_id,
                    recorded_at=s.now,
                    **fields,
                )
            ).returning(DataConsent.id)
        )[0]
        texts = {
            k: v
            for k, v in (
                ("destinatario_nombre", name),
                ("opinion_nna_texto", opinion_text),
                ("razones", reasons),
                ("referencia_documento", reference),
            )
            if v
        }
        s.audit(
            "case.data_consent_recorded",
            authority_id=principal.authority_id,
            changes={
                "consent_id": row["id"],
                "destinatario": recipient,
                "finalidad": data["finalidad"],
                "decision": decision,
                "expresado_en": at.astimezone(UTC).isoformat(),
                "privacy_notice_id": notice_id,
                **{k: v for k, v in fields.items() if v is not None},
                **text_digests(**texts),
            },
            legal_basis=(
                config.bases[data["base_legal"]].fuente
                if decision == "base_legal"
                else CONSENT_LEGAL_BASIS
            ),
        )
    return {"folio": folio, "consent_id": row["id"]}


async def withdraw_consent(
    principal: Principal, folio: str, consent_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Withdraw a consent (or a legal basis that no longer holds): further sharing with that
    recipient is refused from now on. 404 if the record is not of this case; 409 if it was
    already withdrawn or is a refusal; 422 naming the field."""
    case_id = await case_id_for(principal, folio)
    _holder(principal)
    if not 1 <= consent_id <= INT_MAX:
        raise NotFound("consent not found")
    async with case_command(principal.actor, case_id) as s:
        row = (
            await DataConsent.select()
            .where((DataConsent.id == consent_id) & (DataConsent.case == case_id))
            .first()
        )
        if row is None:
            raise NotFound("consent not found")
        if row["decision"] == "base_legal" and not principal.supervises:
            raise Forbidden("a supervisor or head of the Procuraduría withdraws a legal basis")
        if row["decision"] == "rechaza":
            raise Conflict("a refusal is not withdrawn: record a new consent")
        if row["withdrawn_at"] is not None:
            raise Conflict(f"consent {consent_id} was already withdrawn")
        errors: list[dict[str, str]] = []
        _one_of(errors, "$.retirado_por", data.get("retirado_por"), RETIRADO_POR)
        reason = _text(errors, "$.motivo", data.get("motivo"))
        if errors:
            raise InvalidInput("the withdrawal is not valid", errors)
        await DataConsent.update(
            {
                DataConsent.withdrawn_at: s.now,
                DataConsent.withdrawn_by: principal.user_id,
                DataConsent.retirado_por: data["retirado_por"],
                DataConsent.motivo_retiro: await _seal(s, CONSENT_WITHDRAWAL, reason),
            }
        ).where(DataConsent.id == consent_id)
        s.audit(
            "case.data_consent_withdrawn",
            authority_id=principal.authority_id,
            changes={
                "consent_id": consent_id,
                "destinatario": row["destinatario"],
                "decision": row["decision"],
                "retirado_por": data["retirado_por"],
                **(text_digests(motivo=reason) if reason else {}),
            },
            legal_basis=WITHDRAWAL_LEGAL_BASIS,
        )
    return {"folio": folio, "consent_id": consent_id, "withdrawn_at": s.now}


async def _consents(case_id: int) -> list[dict[str, Any]]:
    rows = await DataConsent.select().where(DataConsent.case == case_id).order_by(DataConsent.id)
    opener = await personal_data.Opener.of(case_id)
    for r in rows:
        for column, field in SEALED_COLUMNS["data_consent"]:
            r[column] = opener.text(field, r[column])
    names = await _usernames(
        {r["recorded_by_id"] for r in rows if r["recorded_by_id"]}
        | {r["withdrawn_by_id"] for r in rows if r["withdrawn_by_id"]}
    )
    keys = (
        "id", "destinatario", "destinatario_nombre", "finalidad", "decision", "otorgado_por",
        "forma", "opinion_nna", "opinion_nna_texto", "opinion_representante",
        "representante_usuario", "razones", "base_legal", "referencia_documento",
        "expresado_en", "recorded_at", "withdrawn_at", "retirado_por", "motivo_retiro",
    )  # fmt: skip
    return [
        {k: r[k] for k in keys}
        | {
            "privacy_notice_id": r["privacy_notice_id"],
            "recorded_by": names.get(r["recorded_by_id"]),
            "withdrawn_by": names.get(r["withdrawn_by_id"]),
        }
        for r in rows
    ]


async def sharing_status(case_id: int, consents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configured recipient: whether data may go there now, and on what (the same rule the
    task completions check: app/cases/handlers/data_sharing.py)."""
    state = await personal_data.engine_state(case_id)
    blocked = False
    if state:
        engine = route_engine().restore(state)
        blocked = consular_facts(engine.variables, engine.forms).blocked
    out = []
    for key in rules().recipients:
        d = may_share(key, consents, blocked)
        out.append(
            {"destinatario": key, "permitido": d.allowed, "fundamento": d.on, "regla": d.rule}
        )
    return out


async def register(principal: Principal, folio: str) -> dict[str, Any]:
    """The case's privacy notices, consents and what may be shared now: an audited read."""
    case_id = await case_id_for(principal, folio)
    _may_read(principal)
    notices = await _notices(case_id)
    consents = await _consents(case_id)
    status = await sharing_status(case_id, consents)
    async with command(principal.actor) as cmd:
        cmd.audit(
            "case.data_protection_read",
            case_id=case_id,
            case_folio=folio,
            changes={"notices": len(notices), "consents": len(consents)},
        )
    return {"folio": folio, "avisos": notices, "consentimientos": consents, "estado": status}
