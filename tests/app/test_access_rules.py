"""The access rules (app/access_rules.py) as a table: who may see a case, and when the consulate
may not. Pure functions: no database, no engine."""

from __future__ import annotations

import pytest

from app.access_rules import ConsularFacts, Standing, consular_facts, decide

PLAN_WITH_SRE = {"medidas": [{"institucion_responsable": "sre"}]}
PLAN_WITHOUT_SRE = {"medidas": [{"institucion_responsable": "sistema_dif"}]}
FEAR = {"registrar_deteccion": {"indicadores_observados": ["temor_retorno"]}}
CLAIM = {"apoyar_solicitud_asilo": {"presenta_solicitud": True}}


@pytest.mark.parametrize(
    ("variables", "forms", "blocked"),
    [
        # nothing on record: the consulate may help trace the family
        ({}, {}, False),
        ({}, {"registrar_deteccion": {"indicadores_observados": ["documento_falso"]}}, False),
        # fear of return recorded by INM, or protection needs found at screening
        ({}, FEAR, True),
        ({"indicadores_proteccion_internacional": True}, {}, True),
        # recorded later by any authority (POST .../fear-of-return), even if a later screening
        # found no indicators
        ({"temor_retorno": True, "indicadores_proteccion_internacional": False}, {}, True),
        # a claim filed, pending
        ({"asilo_pendiente": True}, CLAIM, True),
        # a pending claim blocks even if a plan calls for the consulate
        (
            {"asilo_pendiente": True},
            CLAIM | {"elaborar_plan_restitucion": PLAN_WITH_SRE},
            True,
        ),
        # final refusal, plan calls for the consulate: contact again
        (
            {"asilo_pendiente": False, "estatus_proteccion": "negado"},
            CLAIM | {"elaborar_plan_restitucion": PLAN_WITH_SRE},
            False,
        ),
        # final refusal, but the plan does not call for consular contact
        (
            {"asilo_pendiente": False, "estatus_proteccion": "negado"},
            CLAIM | {"elaborar_plan_restitucion": PLAN_WITHOUT_SRE},
            True,
        ),
        ({"asilo_pendiente": False, "estatus_proteccion": "negado"}, CLAIM, True),
        # withdrawal with the child's representative present, plan calls for the consulate
        (
            {"asilo_pendiente": False},
            CLAIM
            | {
                "entrevista_elegibilidad": {"desistimiento": True, "representante_presente": True},
                "elaborar_plan_restitucion": PLAN_WITH_SRE,
            },
            False,
        ),
        # withdrawal recorded with no representative: still blocked
        (
            {"asilo_pendiente": False},
            CLAIM
            | {
                "entrevista_elegibilidad": {"desistimiento": True, "representante_presente": False},
                "elaborar_plan_restitucion": PLAN_WITH_SRE,
            },
            True,
        ),
        # recognised as a refugee or with complementary protection: never again
        (
            {"asilo_pendiente": False, "estatus_proteccion": "refugiado"},
            CLAIM | {"elaborar_plan_restitucion": PLAN_WITH_SRE},
            True,
        ),
        ({"estatus_proteccion": "complementaria"}, {}, True),
        # a flag reset by a side path does not unblock: the filed claim is on record
        ({"asilo_pendiente": False, "contacto_consular_bloqueado": False}, CLAIM, True),
        # fear of return, then a final refusal and a plan with the consulate
        (
            {"estatus_proteccion": "negado"},
            FEAR | CLAIM | {"elaborar_plan_restitucion": PLAN_WITH_SRE},
            False,
        ),
    ],
)
def test_consular_block(variables, forms, blocked):
    assert consular_facts(variables, forms).blocked is blocked


def _standing(**kw) -> Standing:
    base = dict(
        tipo="PROCURADURIA",
        active=False,
        reason=None,
        holds_open_task=False,
        holds_child=False,
        newly_notified=False,
        covers_child=True,
    )
    return Standing(**(base | kw))


@pytest.mark.parametrize(
    ("standing", "consular_blocked", "expected"),
    [
        # the route notifies an authority: it may read the case at once
        (_standing(newly_notified=True), False, ("grant", "notified")),
        (_standing(holds_open_task=True), False, ("grant", "task_routed")),
        (_standing(tipo="DIF_CAS", holds_child=True), False, ("grant", "placement")),
        (_standing(active=True, holds_open_task=True), False, ("keep", "")),
        # kept while the child is in its jurisdiction, even with nothing open
        (_standing(active=True, reason="task_routed"), False, ("keep", "")),
        # lost when the child moved away and it holds nothing there
        (
            _standing(active=True, reason="task_routed", covers_child=False),
            False,
            ("revoke", "child_left_jurisdiction"),
        ),
        (
            _standing(active=True, reason="task_routed", covers_child=False, holds_open_task=True),
            False,
            ("keep", ""),
        ),
        # a shelter keeps access while the child is there or it has work open
        (
            _standing(tipo="DIF_CAS", active=True, reason="placement"),
            False,
            ("revoke", "child_not_in_shelter"),
        ),
        (
            _standing(tipo="DIF_CAS", active=True, reason="placement", holds_open_task=True),
            False,
            ("keep", ""),
        ),
        # the consulate: blocked overrides an open task, a notice, anything
        (
            _standing(
                tipo="SRE_CONSULADO", active=True, reason="task_routed", holds_open_task=True
            ),
            True,
            ("revoke", "consular_contact_blocked"),
        ),
        (_standing(tipo="SRE_CONSULADO", holds_open_task=True), True, ("keep", "")),
        (_standing(tipo="SRE_CONSULADO", newly_notified=True), True, ("keep", "")),
        # not blocked: the consulate is like any other authority
        (_standing(tipo="SRE_CONSULADO", holds_open_task=True), False, ("grant", "task_routed")),
        # the block is only about the consulate
        (_standing(tipo="COMAR", holds_open_task=True), True, ("grant", "task_routed")),
        (_standing(), False, ("keep", "")),
    ],
)
def test_decide(standing, consular_blocked, expected):
    assert decide(standing, consular_blocked) == expected


def test_facts_default_to_no_block():
    assert ConsularFacts().blocked is False
