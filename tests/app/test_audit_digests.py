"""Form digests in the audit trail are keyed (issue 15, item 5): the attack that recovered a whole
needs-screening form (protection grounds included) by hashing guesses with SHA-256 finds nothing;
whoever holds the key outside the database still confirms the form."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
from datetime import timedelta
from typing import Any

from app import clock, keys
from app.audit import canonical_json
from app.route_engine import calendario
from app.tables import AuditEvent

SCREENING = "detectar_necesidades"
GROUNDS = [
    "temor_persecucion",
    "violencia_generalizada",
    "violencia_pandillas_reclutamiento",
    "violencia_domestica",
    "violencia_genero",
    "orientacion_identidad",
    "conflicto_armado",
    "otro",
]


def guesses(day) -> list[dict[str, Any]]:  # noqa: ANN001
    """Every screening form with no crime or health findings, around the day of the event:
    each combination of the yes/no answers, and one or two protection grounds (3,564 forms)."""
    out = []
    dates = [(day + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]
    flags = itertools.product([False, True], repeat=3)
    for fecha, (proteccion, asilo, retornada) in itertools.product(dates, flags):
        grounds = [[]]
        if proteccion:
            grounds = [list(c) for n in (1, 2) for c in itertools.combinations(GROUNDS, n)]
        for chosen in grounds:
            form = {
                "fecha": fecha,
                "indicadores_proteccion_internacional": proteccion,
                "indicadores_delito": False,
                "necesidades_salud": False,
                "nna_mexicana_retornada": retornada,
            }
            if proteccion:
                form["motivos_proteccion"] = chosen
                form["expresa_deseo_solicitar_asilo"] = asilo
            out.append(form)
    return out


def _values(changes: dict[str, Any]) -> set[str]:
    return {v for v in changes.values() if isinstance(v, str)}


async def test_guessing_a_form_with_sha256_no_longer_matches_its_digest(api):
    folio = await api.open_case()
    await api.drive_until(folio, SCREENING)
    today = calendario().fecha_local(clock.utcnow())
    form = {
        "fecha": today.isoformat(),
        "indicadores_proteccion_internacional": True,
        "motivos_proteccion": ["violencia_genero", "orientacion_identidad"],
        "expresa_deseo_solicitar_asilo": True,
        "indicadores_delito": False,
        "necesidades_salud": False,
        "nna_mexicana_retornada": False,
    }
    await api.complete(folio, SCREENING, form)
    rows = await AuditEvent.select(AuditEvent.changes, AuditEvent.at).where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "task.completed")
    )
    changes = next(
        c for c in (json.loads(r["changes"]) for r in rows) if c.get("task") == SCREENING
    )
    stored = _values(changes)

    candidates = guesses(today)
    assert form in candidates  # the attacker's list holds the real form
    plain = {hashlib.sha256(canonical_json(g).encode()).hexdigest() for g in candidates}
    assert not plain & stored, "a guess hashed with SHA-256 matches the audit's digest"
    other_key = secrets.token_bytes(32)
    wrong = {
        hmac.new(other_key, canonical_json(g).encode(), hashlib.sha256).hexdigest()
        for g in candidates
    }
    assert not wrong & stored

    # with the key (kept outside the database), the digest confirms the form, and only it
    key = keys.hmac_key()
    keyed = [g for g in candidates if key.digest(canonical_json(g).encode()) in stored]
    assert keyed == [form]
    assert changes["form_fields"] == sorted(form) and changes["hmac_key"] == key.key_id
    assert "form_sha256" not in changes
