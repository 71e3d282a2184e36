"""Policy: a task whose completion shares the child's data with a third party needs the consent
on file, or the legal basis that replaces it; the consular block wins over both (issue 16).

It runs on every completion, whatever the entry point (API, pages), before anything is saved:
a refusal is a 409 naming the rule (``GuaranteeViolation``) and the whole command rolls back.
Which tasks share data with whom is ``config/datos_personales.toml`` [transferencias]; the rule
is app/data_protection_rules.py. A completion that shares data leaves ``case.data_transferred``
in the audit trail: to whom, on what (consent or which basis), never the form's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.access_rules import consular_facts
from app.cases.aggregate import Event
from app.data_protection_rules import may_share, rules
from app.errors import GuaranteeViolation
from app.tables import DataConsent

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession


async def check_transfer(session: CaseSession, event: Event) -> None:
    bpmn_id = str(event.data.get("bpmn_id") or "")
    config = rules()
    transfer = config.transfers.get(bpmn_id)
    if transfer is None:
        return
    case = session.case
    form = case.engine.forms.get(bpmn_id) or {}
    recipients = transfer.recipients(form)
    if not recipients:
        return
    consents = await DataConsent.select(
        DataConsent.id,
        DataConsent.destinatario,
        DataConsent.decision,
        DataConsent.base_legal,
        DataConsent.withdrawn_at,
    ).where(DataConsent.case == case.id)
    blocked = consular_facts(case.engine.variables, case.engine.forms).blocked
    path = f"$.data.{transfer.field}" if transfer.field else "$.data"
    granted = []
    sources: set[str] = set()
    for recipient in recipients:
        decision = may_share(recipient, consents, blocked, config)
        if not decision.allowed:
            assert decision.rule is not None and decision.legal_source is not None
            message = f"sharing the child's data with {recipient} is refused ({decision.rule})"
            raise GuaranteeViolation(
                decision.rule,
                decision.legal_source,
                f"form {bpmn_id} would break the guarantee {decision.rule}: {message}",
                [{"path": path, "message": message, "guarantee": decision.rule}],
            )
        granted.append({"destinatario": recipient, "fundamento": decision.on})
        sources.add(str(decision.legal_source))
    session.audit(
        "case.data_transferred",
        task_id=str(event.data.get("task_id") or "") or None,
        changes={"task": bpmn_id, "destinatarios": granted},
        legal_basis="; ".join(sorted(sources)),
    )
