"""The demo has every role each path of the route needs (issue 12, item 7): before, COMAR had no
supervisor or head, so an asylum claim could not be decided in the demo."""

from __future__ import annotations

from app.demo import AUTHORITIES, demo_users
from app.route_engine import library

#: how a lane's "officer" is called where the staff are not caseworkers
STAFF_ROLE = {"DIF_CAS": "shelter_staff"}


def test_every_role_a_lane_asks_for_has_an_account_in_each_authority_of_its_type():
    accounts = {(code, role) for _user, role, code in demo_users()}
    missing = []
    for task in library().tasks.values():
        role = STAFF_ROLE.get(task.lane, task.rol) if task.rol == "officer" else task.rol
        for code, _name, tipo, *_ in AUTHORITIES:
            if tipo == task.lane and (code, role) not in accounts:
                missing.append(f"{code} {role} ({task.bpmn_id})")
    assert sorted(set(missing)) == []


def test_every_authority_that_works_cases_has_someone_escalations_reach():
    """Level 1 notifies supervisors (else heads), level 2 heads: each authority has a head."""
    roles: dict[str, set[str]] = {}
    for _user, role, code in demo_users():
        roles.setdefault(code, set()).add(role)
    for code, _name, tipo, *_ in AUTHORITIES:
        if tipo not in ("SISTEMA", "SUPERVISION"):
            assert "head" in roles[code], code


def test_every_entry_channel_and_the_reopening_have_demo_accounts():
    """Each entry channel is received by an authority type the demo has, with a caseworker to
    open the case; a Procuraduría supervisor and head reopen a closed case."""
    from app.route_engine import route_engine
    from app.services.cases import REOPENING_AUTHORITY

    accounts = {(tipo, role) for _user, role, code in demo_users() for c, _n, tipo, *_ in
                AUTHORITIES if c == code}  # fmt: skip
    for canal in route_engine().canales.canales.values():
        openers = {t for t in canal.recibe if {(t, "officer"), (t, "shelter_staff")} & accounts}
        assert openers, canal.nombre
    assert {(REOPENING_AUTHORITY, "supervisor"), (REOPENING_AUTHORITY, "head")} <= accounts
