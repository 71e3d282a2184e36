"""The BID panel binds (issue 12): its size, its quorum, the chair's decision and the plan after it.

What the panel did is recorded on the case in one place, the panel_bid process (bpmn/panel_bid.bpmn):
``mayoria_bid`` (the vote more than half the members cast, or ``"sin_mayoria"``), ``unanimidad_bid``,
``votos_bid`` (the count, readable by a supervisor), ``decision_bid``, ``retorno_admitido_bid``
(the BID approved a recommendation of assisted return) and ``presidencia_bid`` (who chaired the
last decision, so a review is chaired by someone else). No other process marks them, so no
subprocess can reset them (tests/route/test_panel_bid.py checks every BPMN file).

The rules below read those facts and the submission before anything is written, exactly where the
engine checks a form against the case (``RouteEngine``/``Case.complete_task``), so every command
that completes a task, the API's included, passes through them. A refusal is a form error naming
the field, the guarantee and its source (a GuaranteeError: 409 through the API).

The panel's size and quorum are the operation's choice [sin confirmar: ACNUR, Directrices BIP 2021,
parte II], so they are configuration: the ``[panel_bid]`` table of config/panel_bid.toml.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .route_files import shipped

ENV_PANEL_BID = "CAREROUTE_PANEL_BID"

#: Guarantee names and sources, as docs/care-route.md "## Guarantees" lists them.
G_PANEL = "panel_bid_integrado"
G_DECISION = "decision_bid_sigue_votos"
G_PLAN = "plan_no_contradice_bid"
G_REVISION = "revision_bid"
FUENTE_BIP = (
    "ACNUR, Directrices BIP 2021, parte II (panel BID) [sin confirmar]; config/panel_bid.toml"
)
FUENTE_REVISION = "ACNUR, Directrices BIP 2021 (revisión y reconsideración) [sin confirmar]"
FUENTE_PLAN = (
    "LGDNNA art. 123 fr. IV (plan elaborado bajo el principio del interés superior); "
    "LM art. 112 fr. III; ACNUR, Directrices BIP 2021 (la BID)"
)


@dataclass(frozen=True)
class AjustesPanelBid:
    """``[panel_bid]`` of config/panel_bid.toml."""

    miembros_minimo: int = 3
    quorum_minimo: int = 3

    @classmethod
    def cargar(cls, path: Path | str | None = None) -> AjustesPanelBid:
        """Read and check the table; a bad file stops the service at start-up (SpecError)."""
        ruta = Path(path or os.environ.get(ENV_PANEL_BID) or shipped("config") / "panel_bid.toml")
        try:
            with ruta.open("rb") as fh:
                tabla = tomllib.load(fh).get("panel_bid")
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError(f"cannot read the BID panel settings: {exc}", file=str(ruta)) from exc
        if not isinstance(tabla, dict):
            raise SpecError("missing table [panel_bid]", file=str(ruta))
        return cls.desde_dict(tabla, str(ruta))

    @classmethod
    def desde_dict(cls, tabla: Mapping[str, Any], ruta: str = "<dict>") -> AjustesPanelBid:
        valores: dict[str, int] = {}
        for campo in ("miembros_minimo", "quorum_minimo"):
            valor = tabla.get(campo)
            if not isinstance(valor, int) or isinstance(valor, bool) or not 1 <= valor <= 12:
                raise SpecError(
                    f"[panel_bid] {campo} must be a whole number from 1 to 12", file=ruta
                )
            valores[campo] = valor
        desconocidos = set(tabla) - set(valores)
        if desconocidos:
            raise SpecError(f"[panel_bid] unknown fields: {sorted(desconocidos)}", file=ruta)
        if valores["quorum_minimo"] > valores["miembros_minimo"]:
            raise SpecError(
                "[panel_bid] quorum_minimo cannot exceed miembros_minimo: the smallest panel "
                "allowed could never reach it",
                file=ruta,
            )
        return cls(**valores)


def _error(path: str, garantia: str, fuente: str, es: str, en: str) -> dict[str, str]:
    """A refusal naming the guarantee it protects (the engine then raises GuaranteeError: a 409
    through the API, not a 422: the submission is well formed, the panel would not bind)."""
    return {"path": path, "message": f"{es}; {en} [{garantia}: {fuente}]", "guarantee": garantia}


def errores(
    task_id: str,
    data: Mapping[str, Any],
    caso: Mapping[str, Any],
    ajustes: AjustesPanelBid,
    forms: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, str]]:
    """Errors of the BID guarantees for a submission of ``task_id`` (none for other tasks).

    ``forms`` are the case's latest submissions by task id, before this one."""
    regla = _REGLAS.get(task_id)
    return regla(data, caso, ajustes, forms or {}) if regla else []


def _convocar_panel(
    data: Mapping[str, Any],
    caso: Mapping[str, Any],
    ajustes: AjustesPanelBid,
    forms: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, str]]:
    miembros = [m for m in data.get("miembros") or [] if isinstance(m, Mapping)]
    sientan = [m for m in miembros if not m.get("se_excusa")]
    found = []
    if len(sientan) < ajustes.miembros_minimo:
        found.append(
            _error(
                "$.miembros",
                G_PANEL,
                FUENTE_BIP,
                f"el panel tiene {len(sientan)} integrantes sin conflicto de interés y se "
                f"requieren al menos {ajustes.miembros_minimo}",
                f"the panel has {len(sientan)} members without a conflict of interest; "
                f"at least {ajustes.miembros_minimo} are required",
            )
        )
    presiden = [m for m in sientan if m.get("funcion") == "presidencia"]
    if len(presiden) != 1:
        found.append(
            _error(
                "$.miembros",
                G_PANEL,
                FUENTE_BIP,
                f"el panel necesita exactamente una presidencia sin conflicto de interés "
                f"(tiene {len(presiden)})",
                f"the panel needs exactly one chair without a conflict of interest "
                f"(it has {len(presiden)})",
            )
        )
    usuarios = [str(m.get("usuario", "")).strip().casefold() for m in miembros]
    repetidos = sorted({u for u in usuarios if u and usuarios.count(u) > 1})
    if repetidos:
        found.append(
            _error(
                "$.miembros",
                G_PANEL,
                FUENTE_BIP,
                f"cada integrante es una persona usuaria distinta; repetidas: {', '.join(repetidos)}",
                f"each member is a different user; repeated: {', '.join(repetidos)}",
            )
        )
    revisada = caso.get("presidencia_bid")
    pide_revision = (forms.get("informar_nna_decision") or {}).get("solicita_revision") is True
    if pide_revision and revisada and any(m.get("usuario") == revisada for m in presiden):
        found.append(
            _error(
                "$.miembros",
                G_REVISION,
                FUENTE_REVISION,
                f"la revisión de la decisión no puede presidirla quien presidió la decisión "
                f"revisada ({revisada})",
                f"the review cannot be chaired by the chair of the decision under review "
                f"({revisada})",
            )
        )
    quorum = data.get("quorum")
    if isinstance(quorum, int):
        if quorum < ajustes.quorum_minimo:
            found.append(
                _error(
                    "$.quorum",
                    G_PANEL,
                    FUENTE_BIP,
                    f"el quórum no puede ser menor que {ajustes.quorum_minimo}",
                    f"the quorum cannot be below {ajustes.quorum_minimo}",
                )
            )
        elif quorum > len(sientan):
            found.append(
                _error(
                    "$.quorum",
                    G_PANEL,
                    FUENTE_BIP,
                    f"un quórum de {quorum} no se alcanza con {len(sientan)} integrantes que votan",
                    f"a quorum of {quorum} cannot be reached by {len(sientan)} voting members",
                )
            )
    return found


def _registrar_decision(
    data: Mapping[str, Any],
    caso: Mapping[str, Any],
    ajustes: AjustesPanelBid,
    forms: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, str]]:
    mayoria = caso.get("mayoria_bid")
    decision = data.get("decision")
    if not mayoria or not decision:
        return []
    found = []
    votos = caso.get("votos_bid") or ""
    se_aparta = decision != mayoria
    if se_aparta and not str(data.get("razones_apartarse_mayoria") or "").strip():
        sin = mayoria == "sin_mayoria"
        found.append(
            _error(
                "$.razones_apartarse_mayoria",
                G_DECISION,
                FUENTE_BIP,
                (
                    f"ninguna opción tuvo mayoría ({votos}): quien preside decide y registra sus razones"
                    if sin
                    else f"la decisión '{decision}' se aparta de la mayoría del panel "
                    f"('{mayoria}'; {votos}): registre las razones"
                ),
                (
                    f"no option had a majority ({votos}): the chair decides and records the reasons"
                    if sin
                    else f"the decision '{decision}' departs from the panel's majority "
                    f"('{mayoria}'; {votos}): record the reasons"
                ),
            )
        )
    if (se_aparta or caso.get("unanimidad_bid") is False) and data.get("hay_disenso") is not True:
        found.append(
            _error(
                "$.hay_disenso",
                G_DECISION,
                FUENTE_BIP,
                f"hubo votos distintos de la decisión ({votos}): el disenso se conserva",
                f"votes differ from the decision ({votos}): the dissent is kept",
            )
        )
    return found


def _elaborar_plan(
    data: Mapping[str, Any],
    caso: Mapping[str, Any],
    ajustes: AjustesPanelBid,
    forms: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, str]]:
    if caso.get("retorno_admitido_bid") is not False:
        return []  # no BID decided on this case, or it approved a return
    es = (
        f"la BID del caso no aprobó un retorno (decisión: '{caso.get('decision_bid')}'); "
        "el plan no puede ordenarlo sin una nueva BID"
    )
    en = (
        f"the case's BID did not approve a return (decision: '{caso.get('decision_bid')}'); "
        "the plan cannot order one without a new BID"
    )
    found = []
    if data.get("solucion_duradera_propuesta") == "retorno_asistido":
        found.append(_error("$.solucion_duradera_propuesta", G_PLAN, FUENTE_PLAN, es, en))
    if data.get("retorno_en_interes_superior") is True:
        found.append(_error("$.retorno_en_interes_superior", G_PLAN, FUENTE_PLAN, es, en))
    return found


_REGLAS = {
    "convocar_panel": _convocar_panel,
    "registrar_decision_bid": _registrar_decision,
    "elaborar_plan_restitucion": _elaborar_plan,
}
