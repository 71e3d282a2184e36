"""The data protection officer's and oversight's view (issue 16, item 5) and legal holds through
the API and the pages (item 1's holds, until now only ``careroute retencion retener/liberar``).

**Scope.** A data protection officer (``proteccion_datos``) sees its authority's ARCO requests
and the records its authority holds or held (a ``case_access`` row, active or not): their holds,
retention instants, erasures and consents. Oversight sees every authority's. Nobody else reads it
(403). The security incident count is the whole log (the register is one for the system).

**Counts equal their rows.** Every figure of ``overview`` is the length of the list
``section`` returns for the same name and the same instant: one query per section serves both.

**Legal holds.** Set and lifted by the same service as the CLI (app/services/retention.py
``set_hold``/``lift_hold``, audited there), by a data protection officer of an authority that
holds or held the case, or by oversight (the CLI's "who orders it": a DPO or an oversight body's
request). Another authority's case or hold: 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.access import ERASED
from app.clock import utcnow
from app.errors import Forbidden, NotFound, field_error
from app.principal import Principal
from app.services import arco, retention
from app.services.cases import INT_MAX
from app.tables import (
    Case,
    CaseAccess,
    CaseRetention,
    DataConsent,
    LegalHold,
    SecurityIncident,
)

SECTIONS = (
    "arco_abiertas",
    "arco_vencidas",
    "retenciones",
    "por_bloquear",
    "por_suprimir",
    "suprimidos",
    "consentimientos",
    "incidentes",
)
HORIZON = timedelta(days=30)


def _reader(principal: Principal) -> None:
    if not (principal.is_data_protection or principal.is_oversight):
        raise Forbidden("only data protection officers and oversight read this view")


async def _scope(principal: Principal) -> list[int] | None:
    """Case ids the principal's view covers (None: every case, for oversight)."""
    if principal.is_oversight:
        return None
    rows = await CaseAccess.select(CaseAccess.case).where(
        CaseAccess.authority == principal.authority_id
    )
    return sorted({r["case_id"] for r in rows})


def _in(column: Any, scope: list[int] | None) -> Any:
    return None if scope is None else column.is_in(scope or [-1])


def _where(query: Any, *conds: Any) -> Any:
    for c in conds:
        if c is not None:
            query = query.where(c)
    return query


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def section(
    principal: Principal, name: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The rows of one section of the view (the drill-down of its count)."""
    _reader(principal)
    if name not in SECTIONS:
        raise NotFound(f"no section {name}")
    now = now or utcnow()
    return await _rows(principal, name, now, await _scope(principal))


async def _rows(
    principal: Principal, name: str, now: datetime, scope: list[int] | None
) -> list[dict[str, Any]]:
    if name == "arco_abiertas":
        return await arco.list_requests(principal, estado="abierta", now=now)
    if name == "arco_vencidas":
        return await arco.list_requests(principal, vencidas=True, now=now)
    if name == "retenciones":
        return await holds(principal, scope=scope)
    if name in ("por_bloquear", "por_suprimir", "suprimidos"):
        q = CaseRetention.select(
            CaseRetention.case.folio.as_alias("folio"),
            CaseRetention.block_at,
            CaseRetention.erase_at,
            CaseRetention.blocked_at,
            CaseRetention.erased_at,
        ).order_by(CaseRetention.id)
        if name == "por_bloquear":
            conds = [
                CaseRetention.blocked_at.is_null(),
                CaseRetention.erased_at.is_null(),
                CaseRetention.block_at <= now + HORIZON,
                CaseRetention.case.retention == "active",
            ]
        elif name == "por_suprimir":
            conds = [
                CaseRetention.erased_at.is_null(),
                CaseRetention.erase_at <= now + HORIZON,
                CaseRetention.case.retention != ERASED,
            ]
        else:
            conds = [CaseRetention.erased_at.is_not_null()]
        rows = await _where(q, _in(CaseRetention.case, scope), *conds)
        out = []
        for r in rows:
            r = {k: _aware(v) if k != "folio" else v for k, v in r.items()}
            if name == "suprimidos":
                r["mes"] = r["erased_at"].strftime("%Y-%m")
            out.append(r)
        return out
    if name == "consentimientos":
        rows = await _where(
            DataConsent.select(
                DataConsent.id,
                DataConsent.case.folio.as_alias("folio"),
                DataConsent.destinatario,
                DataConsent.decision,
                DataConsent.withdrawn_at,
                DataConsent.expresado_en,
            ).order_by(DataConsent.id),
            _in(DataConsent.case, scope),
        )
        for r in rows:
            r["estado"] = (
                "retirado"
                if r["withdrawn_at"] is not None
                else {"consiente": "vigente", "rechaza": "rechazo"}.get(r["decision"], "base_legal")
            )
            r["withdrawn_at"] = _aware(r["withdrawn_at"])
            r["expresado_en"] = _aware(r["expresado_en"])
        return rows
    # incidentes: the log is the system's one register
    rows = await SecurityIncident.select(
        SecurityIncident.id,
        SecurityIncident.tipo,
        SecurityIncident.ocurrio_en,
        SecurityIncident.afectacion_significativa,
    ).order_by(SecurityIncident.id, ascending=False)
    for r in rows:
        r["ocurrio_en"] = _aware(r["ocurrio_en"])
    return rows


def _group(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    counts: dict[tuple, int] = {}
    for r in rows:
        k = tuple(r[key] for key in keys)
        counts[k] = counts.get(k, 0) + 1
    return [dict(zip(keys, k, strict=True)) | {"total": n} for k, n in sorted(counts.items())]


async def overview(principal: Principal, now: datetime | None = None) -> dict[str, Any]:
    """Every section's count (the length of its rows) and the groupings the law's reports ask
    for: erasures by month, consents by third party and status."""
    _reader(principal)
    now = now or utcnow()
    scope = await _scope(principal)
    rows = {name: await _rows(principal, name, now, scope) for name in SECTIONS}
    return {
        "al": now,
        "totales": {name: len(r) for name, r in rows.items()},
        "suprimidos_por_mes": _group(rows["suprimidos"], "mes"),
        "consentimientos_por_destinatario": _group(
            rows["consentimientos"], "destinatario", "estado"
        ),
    }


# ----------------------------------------------------------------------------- legal holds
def _holder(principal: Principal) -> None:
    if not (principal.is_data_protection or principal.is_oversight):
        raise Forbidden("only a data protection officer or oversight sets or lifts a legal hold")


async def _case_in_reach(principal: Principal, case_id: int) -> bool:
    if principal.is_oversight:
        return True
    return await CaseAccess.exists().where(
        (CaseAccess.case == case_id) & (CaseAccess.authority == principal.authority_id)
    )


async def set_hold(
    principal: Principal, folio: str, motivo: Any, referencia: Any, now: datetime | None = None
) -> dict[str, Any]:
    _holder(principal)
    case = await Case.select(Case.id, Case.retention).where(Case.folio == folio).first()
    if (
        case is None
        or case["retention"] == ERASED
        or not await _case_in_reach(principal, case["id"])
    ):
        raise NotFound("case not found")
    if not isinstance(referencia, str):
        raise field_error("$.referencia", "is required")
    return await retention.set_hold(principal.actor, folio, str(motivo), referencia, now)


async def lift_hold(
    principal: Principal, hold_id: int, now: datetime | None = None
) -> dict[str, Any]:
    _holder(principal)
    if not 1 <= hold_id <= INT_MAX:
        raise NotFound("no active legal hold with this id")
    row = await LegalHold.select(LegalHold.case).where(LegalHold.id == hold_id).first()
    if row is None or not await _case_in_reach(principal, row["case_id"]):
        raise NotFound("no active legal hold with this id")
    return await retention.lift_hold(principal.actor, hold_id, now)


async def holds(
    principal: Principal, *, scope: list[int] | None | bool = False
) -> list[dict[str, Any]]:
    """Active legal holds of the principal's scope, oldest first (no reference: it is free
    text, read in the case's own record)."""
    _reader(principal)
    if scope is False:
        scope = await _scope(principal)
    rows = await _where(
        LegalHold.select(
            LegalHold.id,
            LegalHold.case.folio.as_alias("folio"),
            LegalHold.motivo,
            LegalHold.set_at,
            LegalHold.set_by,
        ).order_by(LegalHold.id),
        LegalHold.lifted_at.is_null(),
        _in(LegalHold.case, scope),  # type: ignore[arg-type]
    )
    for r in rows:
        r["set_at"] = _aware(r["set_at"])
    return rows
