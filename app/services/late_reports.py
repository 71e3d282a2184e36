"""Late reports: imminent risk, and fear of return or the wish to apply for asylum, recorded at any
moment of protection (issue 12, item 5).

Both are messages to the route, delivered through the one case command path: authorize, apply to
the case aggregate, one transaction with the audit event (app/cases). The route catches them in
two watches of ``proteccion`` (bpmn/ruta_proteccion_nna.bpmn: ``prot_vigilancia_riesgo``,
``prot_vigilancia_temor``) that wait again at once, so each report starts its own run while the
rest of the route goes on.

Who may report, and why:

- **Imminent risk**: any caseworker of an authority that may see the case (LGDNNA art. 12: whoever
  learns that a child's rights are violated must make it known to the competent authorities at
  once). Only the Procuraduría imposes urgent measures (art. 122 fr. VI and VII): its own report
  starts them at once; any other authority's report reaches the Procuraduría's inbox
  (``valorar_reporte_riesgo_inminente``), with a deadline counted from the report.
- **Fear of return / wish to apply for asylum**: any caseworker of an authority that may see the
  case (the Procuraduría as the child's representative, LGDNNA art. 122 fr. II and art. 106; the
  shelter where the child lives; INM; COMAR; the defensoría; the prosecutor or the court), because
  LRPCAP art. 21, third paragraph, obliges "cualquier autoridad que tenga conocimiento de la
  pretensión" to tell COMAR at once. Not the consulate: it is the contact the report blocks, and
  no authority may inform the consulate of the country of origin of someone seeking protection
  (art. 21, fourth paragraph; art. 10, confidentiality). A second report while a referral runs,
  or while a claim is pending or after COMAR decided, is recorded (the block is confirmed) and
  starts no second referral: 200 with ``comar_referral_started: false`` and the reason.

Outside protection (before the acta de canalización, after protection concluded, a closed case)
the route awaits neither: 409 and nothing is written. Free text (the risk's description) goes to
the route only, never to the audit trail.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from app.access_rules import CONSULATE
from app.cases.unit_of_work import case_command
from app.errors import Conflict, Forbidden, field_error
from app.principal import Principal
from app.services import cases
from workflows.guarantees import comar_referral_refused

RISK_MESSAGE = "riesgo_inminente_reportado"
FEAR_MESSAGE = "temor_retorno_reportado"
PROCURADURIA = "PROCURADURIA"
RISKS = ("vida", "integridad", "libertad")
REASONS = ("temor_retorno", "desea_solicitar_refugio")
#: A date is that day in central Mexico, where the route's calendar counts days.
LOCAL_TZ = ZoneInfo("America/Mexico_City")
RISK_LEGAL_BASIS = "LGDNNA art. 12; art. 122 fr. VI y VII"
FEAR_LEGAL_BASIS = "LRPCAP art. 21, tercer y cuarto párrafos; art. 18"
#: Longest description of the risk (the Procuraduría's assessment and order keep the rest).
MAX_DESCRIPTION = 1000


def _check_reporter(principal: Principal, consulate_allowed: bool) -> None:
    if not principal.is_worker:
        raise Forbidden(f"role {principal.role} is read-only")
    if principal.authority_tipo == CONSULATE and not consulate_allowed:
        raise Forbidden(
            "a consulate does not record fear of return: it is the contact the record blocks "
            "(LRPCAP art. 21, fourth paragraph; art. 10)"
        )


def _not_in_protection(what: str) -> Conflict:
    return Conflict(
        f"the route is not in protection (before the acta de canalización, or protection "
        f"concluded): {what} cannot be delivered; nothing was recorded"
    )


async def report_imminent_risk(
    principal: Principal, folio: str, tipo_riesgo: list[str], descripcion: str
) -> dict[str, Any]:
    """An authority reports an imminent risk to the child's life, integrity or liberty."""
    case_id = await cases.case_id_for(principal, folio)  # 404 first: least privilege
    _check_reporter(principal, consulate_allowed=True)
    text = descripcion.strip()
    if not text:
        raise field_error("$.descripcion", "is required")
    if len(text) > MAX_DESCRIPTION:
        raise field_error("$.descripcion", f"is longer than {MAX_DESCRIPTION} characters")
    risks = [r for r in RISKS if r in set(tipo_riesgo)]
    if not risks or len(risks) != len(tipo_riesgo):
        raise field_error("$.tipo_riesgo", f"must list one or more of {list(RISKS)}")
    by = principal.authority_tipo
    async with case_command(principal.actor, case_id) as s:
        s.case.require_open()
        payload = {
            "reportado_por": by,
            "tipo_riesgo": risks,
            "descripcion": text,
            "fecha_hora_reporte": s.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if not s.case.send_message(RISK_MESSAGE, payload, s.now):
            raise _not_in_protection("a report of imminent risk")
        next_step = "urgent_measures" if by == PROCURADURIA else "procuraduria_assessment"
        s.audit(
            "case.imminent_risk_reported",
            authority_id=principal.authority_id,
            changes={
                "message": RISK_MESSAGE,
                "reported_by": by,
                "tipo_riesgo": risks,
                "next_step": next_step,
            },
            legal_basis=RISK_LEGAL_BASIS,
        )
    return {
        "folio": folio,
        "reported_by": by,
        "next_step": next_step,
        "next_tasks": s.results.get("routed", []),
    }


async def report_fear_of_return(
    principal: Principal, folio: str, motivos: list[str], fecha_conocimiento: date | None
) -> dict[str, Any]:
    """An authority records that the child fears return or wants to apply for asylum."""
    case_id = await cases.case_id_for(principal, folio)
    _check_reporter(principal, consulate_allowed=False)
    reasons = [r for r in REASONS if r in set(motivos)]
    if not reasons or len(reasons) != len(motivos):
        raise field_error("$.motivos", f"must list one or more of {list(REASONS)}")
    async with case_command(principal.actor, case_id) as s:
        s.case.require_open()
        today = s.now.astimezone(LOCAL_TZ).date()
        learned = fecha_conocimiento or today
        if learned > today:
            raise field_error("$.fecha_conocimiento", "is in the future")
        detected = s.case.detected_at
        if detected is not None and learned < detected.astimezone(LOCAL_TZ).date():
            raise field_error("$.fecha_conocimiento", "is before the child's detection")
        before = s.case.engine.variables
        if before.get("nacionalidad_mexicana"):
            raise Conflict(
                "the child is Mexican: refugee status is for foreigners (LRPCAP art. 13); a "
                "Mexican child's fear of going back home is handled in the plan de restitución"
            )
        refused = comar_referral_refused(before)
        payload = {
            "reportado_por": principal.authority_tipo,
            "motivos": reasons,
            "fecha_conocimiento": learned.isoformat(),
        }
        if not s.case.send_message(FEAR_MESSAGE, payload, s.now):
            raise _not_in_protection("a record of fear of return")
        after = s.case.engine.variables
        started = refused is None and after.get("referencia_comar_en_curso") is True
        s.audit(
            "case.fear_of_return_recorded",
            authority_id=principal.authority_id,
            changes={
                "message": FEAR_MESSAGE,
                "reported_by": principal.authority_tipo,
                "motivos": reasons,
                "fecha_conocimiento": learned.isoformat(),
                "consular_contact_blocked": bool(after.get("contacto_consular_bloqueado")),
                "comar_referral_started": started,
                "no_referral_because": refused,
            },
            legal_basis=FEAR_LEGAL_BASIS,
        )
    return {
        "folio": folio,
        "reported_by": principal.authority_tipo,
        "consular_contact_blocked": bool(after.get("contacto_consular_bloqueado")),
        "comar_referral_started": started,
        "no_referral_because": refused,
        "next_tasks": s.results.get("routed", []),
    }
