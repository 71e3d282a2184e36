"""Kinship care with a missing child (issue 12, item 5): a child in family-based care leaves it,
the search goes on in rounds, the closure as not located comes only after the configured period
and the Procuraduría's decision, and a child found in a later round re-enters with the
guarantees intact."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.route.driver import Driver
from tests.route.test_main_route import (
    ASILO,
    CIERRE_NO_LOCALIZADA,
    NO_LOCALIZADA,
    PROTOCOLO,
    judge_and_comar_pending,
    search_until_closed,
    start,
    still_pending,
    walk,
)
from workflows import GuaranteeError

#: The Procuraduría's measure: kinship care (LGDNNA art. 26, preferred).
FAMILIA_EXTENSA = {"opcion_cuidado": "familia_extensa"}


def in_kinship_care() -> Driver:
    d = start()
    walk(d, {"detectar_necesidades": ASILO}, stop="emitir_medida_proteccion")
    d.complete("emitir_medida_proteccion", **FAMILIA_EXTENSA)
    family = d.task("formalizar_acogimiento_familiar")
    assert family.lane == "DIF_CAS"
    assert "tipo_colocacion" in family.form["required"]
    d.complete("formalizar_acogimiento_familiar", tipo_colocacion="familia_extensa")
    assert "admitir_en_cas" not in d.ready()
    return d


def test_kinship_care_with_a_missing_child():
    d = in_kinship_care()
    walk(d, stop="consolidar_bia")
    # the Procuraduría records that the child left the family (app: POST .../left), which
    # sends the route the same message a shelter's record does
    d.send("nna_salio_colocacion", {"fecha_hora_salida": d.now.isoformat()})
    assert d.variables["nna_no_localizado"] is True
    assert "reportar_salida_colocacion" in d.ready()
    for task_id in PROTOCOLO[:-1]:
        d.complete(task_id)
    # round 1: not located; the case stays open, the next round comes, no closure yet
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert "resultado_busqueda" in d.ready() and "proponer_cierre" not in d.ready()
    assert d.variables["nl_busqueda"] == 2
    assert "consolidar_bia" in d.ready()  # protection goes on meanwhile
    # the rest of the search: rounds until the period, then the decision to close
    while "decidir_cierre_no_localizada" not in d.ready():
        available = datetime.fromisoformat(d.variables["nl_cierre_disponible"])
        d.advance(max(available - d.now, timedelta(0)) + timedelta(seconds=1))
        d.complete("resultado_busqueda", NO_LOCALIZADA)
    d.complete("decidir_cierre_no_localizada", decision="cerrar")
    assert d.ready() == ["proponer_cierre"]
    assert d.variables["busqueda_fiscalia_abierta"] is True
    d.complete("proponer_cierre", **CIERRE_NO_LOCALIZADA)
    walk(d)
    assert d.end_state == "fin_nna_no_localizada"
    assert d.case().forms["proponer_cierre"]["destino_nna"] == "no_localizada"


def test_closing_as_not_located_before_the_period_is_refused():
    """A child who is not missing, or whose search has not run the configured period with the
    supervisor's decision, is not closed as not located (409 through the API)."""
    d = in_kinship_care()
    walk(d, stop="proponer_cierre")
    with pytest.raises(GuaranteeError) as refused:
        d.complete("proponer_cierre", motivo="no_localizado")
    assert refused.value.guarantee == "cierre_por_no_localizacion_tras_la_busqueda"
    assert "LGMDFP" in refused.value.legal_source
    assert "$.motivo" in str(refused.value)
    with pytest.raises(GuaranteeError) as refused:
        d.complete("proponer_cierre", destino_nna="no_localizada")
    assert "$.destino_nna" in str(refused.value)
    assert d.ready() == ["proponer_cierre"]  # nothing was written
    d.complete("proponer_cierre", destino_nna="familia_extensa")


def test_no_closure_in_the_middle_of_the_search():
    """A 'not located' round before the period opens neither the decision nor the closure,
    and the case does not count as decided to close."""
    d, _pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    for task_id in PROTOCOLO[:-1]:
        d.complete(task_id)
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert "decidir_cierre_no_localizada" not in d.ready()
    assert "proponer_cierre" not in d.ready()
    assert d.variables["cierre_no_localizada_decidido"] is False


def test_a_child_located_in_a_later_round_re_enters_with_the_guarantees_intact():
    d, pending = judge_and_comar_pending()
    d.send("nna_salio_colocacion")
    for task_id in PROTOCOLO[:-1]:
        d.complete(task_id)
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    d.complete("resultado_busqueda", NO_LOCALIZADA)
    assert d.variables["nl_busqueda"] == 3
    d.complete("resultado_busqueda")  # located in round 3
    assert d.variables["nna_no_localizado"] is False
    # re-entry as today: a new protection measure, the claim and its block intact
    assert "emitir_medida_proteccion" in d.ready()
    still_pending(d, pending)
    assert d.variables["asilo_pendiente"] is True
    assert d.variables["contacto_consular_bloqueado"] is True
    d.complete("emitir_medida_proteccion", **FAMILIA_EXTENSA)
    d.complete("formalizar_acogimiento_familiar", tipo_colocacion="acogimiento")
    assert d.variables["contacto_consular_bloqueado"] is True
    # a second departure, now from the foster family, starts the protocol again
    d.send("nna_salio_colocacion")
    assert "reportar_salida_colocacion" in d.ready()
    search_until_closed(d)
    assert d.ready() == ["proponer_cierre"]
    assert d.variables["asilo_pendiente"] is True
