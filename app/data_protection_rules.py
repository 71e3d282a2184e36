"""Sharing a child's data with a third party: the rules, as pure functions (issue 16, item 4).

A transfer (LGPDPPSO art. 3 fr. XXX) needs the consent of the person whose data it is, or one of
the legal bases that replace it (art. 59: save arts. 16, 60 and 64). For a child, consent follows
the rules of representation (art. 14, last paragraph) and the child is heard (LGDNNA arts. 71-72).
Which commands transfer data, to whom, and which bases this authority applies to which recipient
are configuration (``config/datos_personales.toml``, [U]); the rule itself is here, and one rule
overrides every consent: no consular contact while the child may need international protection
(LRPCAP art. 21, fourth paragraph; app/access_rules.py).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from workflows.route_files import shipped

ENV_FILE = "CAREROUTE_DATOS_PERSONALES"

#: The rule a refusal names (409) and its legal source.
CONSENT_RULE = "consentimiento_transferencia"
CONSENT_SOURCE = "LGPDPPSO art. 59; art. 14 fr. I-III y último párrafo; art. 64"
CONSULAR_RULE = "contacto_consular_bloqueado"
CONSULAR_SOURCE = (
    "LRPCAP art. 21, cuarto párrafo; arts. 5 fr. I, 6 y 10 (no devolución y confidencialidad)"
)
NOTICE_RULE = "aviso_privacidad_previo"
NOTICE_SOURCE = "LGPDPPSO art. 14 fr. III; arts. 20 y 21"


@dataclass(frozen=True)
class Recipient:
    key: str
    nombre: str
    nombre_en: str
    internacional: bool
    contacto_consular: bool


@dataclass(frozen=True)
class LegalBasis:
    key: str
    nombre: str
    nombre_en: str
    fuente: str
    destinatarios: frozenset[str]


@dataclass(frozen=True)
class Transfer:
    """A task whose completion shares data: always with ``always``, or per a form field."""

    bpmn_id: str
    always: tuple[str, ...]
    field: str | None
    values: Mapping[str, str]

    def recipients(self, form: Mapping[str, Any]) -> list[str]:
        found = list(self.always)
        if self.field:
            chosen = form.get(self.field)
            items = chosen if isinstance(chosen, list) else [chosen]
            found += [self.values[v] for v in items if isinstance(v, str) and v in self.values]
        return sorted(set(found))


@dataclass(frozen=True)
class Rules:
    notice_versions: tuple[str, ...]
    recipients: Mapping[str, Recipient]
    bases: Mapping[str, LegalBasis]
    transfers: Mapping[str, Transfer]


def config_file() -> Path:
    override = os.environ.get(ENV_FILE, "").strip()
    return Path(override) if override else shipped("config") / "datos_personales.toml"


@lru_cache(maxsize=4)
def _load(path: str) -> Rules:
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    recipients = {
        k: Recipient(
            k,
            v["nombre"],
            v.get("nombre_en", v["nombre"]),
            bool(v.get("internacional")),
            bool(v.get("contacto_consular")),
        )
        for k, v in raw.get("destinatarios", {}).items()
    }
    bases = {
        k: LegalBasis(
            k,
            v["nombre"],
            v.get("nombre_en", v["nombre"]),
            v["fuente"],
            frozenset(v.get("destinatarios", [])),
        )
        for k, v in raw.get("bases_legales", {}).items()
    }
    transfers = {
        k: Transfer(k, tuple(v.get("destinatarios", [])), v.get("campo"), v.get("valores", {}))
        for k, v in raw.get("transferencias", {}).items()
    }
    for t in transfers.values():
        unknown = (set(t.always) | set(t.values.values())) - set(recipients)
        if unknown:
            raise ValueError(f"{path}: transferencias.{t.bpmn_id} names unknown {sorted(unknown)}")
    for b in bases.values():
        if b.destinatarios - set(recipients):
            raise ValueError(f"{path}: bases_legales.{b.key} names an unknown recipient")
    versions = tuple(raw.get("aviso_privacidad", {}).get("versiones", []))
    if not versions:
        raise ValueError(f"{path}: aviso_privacidad.versiones is empty")
    return Rules(versions, recipients, bases, transfers)


def rules() -> Rules:
    return _load(str(config_file()))


# --------------------------------------------------------------------------- the decision
@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str | None = None
    legal_source: str | None = None
    #: what allowed it: "consentimiento" or a legal basis key
    on: str | None = None


def may_share(
    recipient: str,
    consents: Iterable[Mapping[str, Any]],
    consular_blocked: bool,
    config: Rules | None = None,
) -> Decision:
    """Whether data may go to ``recipient`` now. ``consents`` are the case's records for any
    recipient (``destinatario``, ``decision``: consiente | rechaza | base_legal, ``base_legal``,
    ``withdrawn_at``, ``id``), in any order.

    The consular block wins over any consent or basis. Otherwise an active legal basis that
    this authority applies to the recipient, or the latest consent-or-refusal (by id) when it is
    a consent not withdrawn. A refusal, a withdrawal or nothing on file refuses."""
    config = config or rules()
    target = config.recipients.get(recipient)
    if target is not None and target.contacto_consular and consular_blocked:
        return Decision(False, CONSULAR_RULE, CONSULAR_SOURCE)
    mine = [c for c in consents if c["destinatario"] == recipient]
    for c in mine:
        basis = config.bases.get(str(c.get("base_legal") or ""))
        if (
            c["decision"] == "base_legal"
            and c.get("withdrawn_at") is None
            and basis is not None
            and recipient in basis.destinatarios
        ):
            return Decision(True, on=basis.key, legal_source=basis.fuente)
    said = [c for c in mine if c["decision"] in ("consiente", "rechaza")]
    if said:
        last = max(said, key=lambda c: c["id"])
        if last["decision"] == "consiente" and last.get("withdrawn_at") is None:
            return Decision(True, on="consentimiento", legal_source=CONSENT_SOURCE)
    return Decision(False, CONSENT_RULE, CONSENT_SOURCE)


def recipients_of(bpmn_id: str, form: Mapping[str, Any], config: Rules | None = None) -> list[str]:
    """The third parties a task's completion shares data with (none for most tasks)."""
    config = config or rules()
    transfer = config.transfers.get(bpmn_id)
    return transfer.recipients(form) if transfer else []
