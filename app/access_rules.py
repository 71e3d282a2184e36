"""Who may see a case: the rules, as pure functions (tested as a table in tests/app/test_access_rules.py).

Access follows the route. An authority may read a case while it has a reason to:

- it opened the case, the route notified it (a task with the BPMN property ``notifica``, such as
  INM's notice to the Procuraduría, LM art. 112 fr. I), or the route gave it a task; it keeps
  that access while the child is within its jurisdiction, and loses it when the child moves out
  of it and it holds nothing open there;
- it is the shelter (Centro de Asistencia Social) where the child is placed, or holds an open task;
  a shelter loses access when the child leaves it and it holds no open task.

One rule overrides every other: **no consular contact while the child may need international
protection** (non-refoulement, confidentiality of the claim: LRPCAP arts. 6 and 9, UNHCR BIP 2021).
The consulate (``SRE_CONSULADO``) loses access, including to what it saw before, as soon as fear of
return or an asylum claim is recorded. It gets access back only after a final refusal of the
claim or a withdrawal made with the child's representative present, and only when the child's
plan de restitución calls for consular contact (a measure assigned to the SRE). Never after
recognition as a refugee or complementary protection. The facts come from what the route
recorded (forms and case variables), never from a flag a side path could reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CONSULATE = "SRE_CONSULADO"
SHELTER = "DIF_CAS"
RECOGNISED = frozenset({"refugiado", "complementaria"})

Decision = Literal["grant", "revoke", "keep"]


@dataclass(frozen=True)
class ConsularFacts:
    """What the route recorded that bears on consular contact."""

    #: INM observed it, the needs screening found protection needs, or an authority recorded it
    #: later (POST /api/v1/cases/{folio}/fear-of-return)
    fear_of_return: bool = False
    claim_filed: bool = False  # a refugee claim was filed (even if later closed)
    claim_pending: bool = False
    recognised: bool = False  # refugee status or complementary protection
    finally_refused: bool = False  # the refusal is final (no appeal pending)
    withdrawn_with_representative: bool = False
    plan_calls_for_consulate: bool = False  # a measure of the plan is assigned to the SRE

    @property
    def blocked(self) -> bool:
        """Whether the consulate must not see the case now."""
        if self.recognised or self.claim_pending:
            return True
        if not (self.fear_of_return or self.claim_filed):
            return False
        cleared = self.finally_refused or self.withdrawn_with_representative
        return not (cleared and self.plan_calls_for_consulate)


def consular_facts(
    variables: Mapping[str, Any], forms: Mapping[str, Mapping[str, Any]]
) -> ConsularFacts:
    """Read the facts from the case variables and the submitted forms of the route."""
    detection = forms.get("registrar_deteccion") or {}
    claim = forms.get("apoyar_solicitud_asilo") or {}
    interview = forms.get("entrevista_elegibilidad") or {}
    plan = forms.get("elaborar_plan_restitucion") or {}
    status = variables.get("estatus_proteccion")
    pending = bool(variables.get("asilo_pendiente"))
    filed = bool(claim.get("presenta_solicitud")) or pending or status is not None
    return ConsularFacts(
        fear_of_return="temor_retorno" in (detection.get("indicadores_observados") or [])
        or bool(variables.get("indicadores_proteccion_internacional"))
        or bool(variables.get("temor_retorno")),  # recorded at any moment, never lowered
        claim_filed=filed,
        claim_pending=pending,
        recognised=status in RECOGNISED,
        finally_refused=status == "negado" and not pending,
        withdrawn_with_representative=bool(interview.get("desistimiento"))
        and bool(interview.get("representante_presente"))
        and not pending,
        plan_calls_for_consulate=any(
            (m or {}).get("institucion_responsable") == "sre" for m in plan.get("medidas") or []
        ),
    )


@dataclass(frozen=True)
class Standing:
    """One authority's relation to one case at the end of a command."""

    tipo: str
    active: bool  # holds access now
    reason: str | None  # why it was granted: opened, notified, task_routed, placement
    holds_open_task: bool
    holds_child: bool  # the child is admitted in its shelter
    newly_notified: bool  # the route notified it in this command
    covers_child: bool  # its jurisdiction includes the child's current location


def decide(standing: Standing, consular_blocked: bool) -> tuple[Decision, str]:
    """Grant, revoke or keep one authority's access, with the reason recorded in the audit."""
    s = standing
    if s.tipo == CONSULATE and consular_blocked:
        return ("revoke", "consular_contact_blocked") if s.active else ("keep", "")
    if s.holds_open_task or s.holds_child or s.newly_notified:
        if s.active:
            return "keep", ""
        reason = "placement" if s.holds_child else "notified" if s.newly_notified else "task_routed"
        return "grant", reason
    if not s.active:
        return "keep", ""
    if s.tipo == SHELTER and s.reason != "opened":
        return "revoke", "child_not_in_shelter"
    if not s.covers_child:
        return "revoke", "child_left_jurisdiction"
    return "keep", ""
