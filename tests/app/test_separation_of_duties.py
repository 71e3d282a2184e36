"""Separation of duties (issue 15, item 2): an admin sees no case, but could create an oversight
account, log in as it and read every child's identity; the only trace was ``user.created``.

Now an account an admin creates waits, inactive, for a second admin's approval; oversight sees
every new account with who asked for it and who approved it; identity reads in an account's
first days are flagged in the audit trail.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from app.principal import SYSTEM
from app.services import users
from app.tables import AuditEvent, User
from tests.app.helpers import PASSWORD


@pytest.fixture(autouse=True)
async def retire_new_accounts():
    """Accounts a test approved are deactivated afterwards: an active oversight user or
    supervisor would receive other tests' deadline notifications."""
    yield
    await User.update({User.active: False}).where(
        User.username.like("sod-%") | User.username.like("cli-%")
    )


def _new_user(role: str = "oversight", authority: str = "CNDH") -> dict:
    name = f"sod-{role[:4]}-{uuid.uuid4().hex[:8]}"
    return {
        "username": name,
        "display_name": "Cuenta nueva",
        "role": role,
        "authority": authority,
        "password": "a-long-enough-password",
    }


async def _login(api, username: str, password: str = "a-long-enough-password"):
    return await api.client.post(
        "/api/v1/auth/login", json={"username": username, "password": password, "mode": "api"}
    )


async def test_an_admin_alone_cannot_create_an_oversight_account_and_read_identities(api):
    folio = await api.open_case("inm-07.officer", name="Reservada")
    body = _new_user()
    r = await api.post("sistema.admin", "/api/v1/users", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["approval"] == "pending"
    row = await User.select(User.active, User.approval, User.created_via).where(
        User.username == body["username"]
    )
    assert row == [{"active": False, "approval": "pending", "created_via": "api"}]
    # the pending account cannot log in, so it reads nothing
    assert (await _login(api, body["username"])).status_code == 401
    # the admin who asked for it cannot approve it
    r = await api.post("sistema.admin", f"/api/v1/users/{body['username']}/approve")
    assert r.status_code == 403, r.text
    assert (await _login(api, body["username"])).status_code == 401
    # oversight already sees it, pending, with who asked for it
    listed = await api.get("cndh.oversight", "/api/v1/oversight/accounts")
    assert listed.status_code == 200
    mine = [a for a in listed.json() if a["username"] == body["username"]]
    assert mine and mine[0]["approval"] == "pending"
    assert mine[0]["requested_by"] == "sistema.admin" and mine[0]["approved_by"] is None
    # a second admin approves: the account works, and its identity reads are flagged
    r = await api.post("sistema.admin-2", f"/api/v1/users/{body['username']}/approve")
    assert r.status_code == 200 and r.json()["approval"] == "approved", r.text
    login = await _login(api, body["username"])
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    r = await api.client.get(f"/api/v1/cases/{folio}/identity", headers=headers)
    assert r.status_code == 200
    read = (
        await AuditEvent.select(AuditEvent.changes)
        .where(
            (AuditEvent.action == "case.identity_read")
            & (AuditEvent.actor_username == body["username"])
        )
        .first()
    )
    assert json.loads(read["changes"]) == {"new_account": True}
    listed = await api.get("cndh.oversight", "/api/v1/oversight/accounts")
    mine = next(a for a in listed.json() if a["username"] == body["username"])
    assert mine["approved_by"] == "sistema.admin-2" and mine["identity_reads_while_new"] == 1
    actions = [
        e["action"]
        for e in await AuditEvent.select(AuditEvent.action)
        .where(
            AuditEvent.action.like("user.%") & AuditEvent.changes.like(f'%"{body["username"]}"%')
        )
        .order_by(AuditEvent.id)
    ]
    assert actions == ["user.created", "user.approved"]


async def test_every_role_waits_for_approval_and_the_cli_creates_approved_accounts(api):
    """An officer reads its authority's children too, and a second admin made by the first
    would approve the first's requests: both wait. The CLI on the server does not."""
    for role, authority in (("officer", "INM-27"), ("admin", "SISTEMA")):
        body = _new_user(role, authority)
        r = await api.post("sistema.admin", "/api/v1/users", json=body)
        assert r.status_code == 201 and r.json()["approval"] == "pending", r.text
        assert (await _login(api, body["username"])).status_code == 401
    created = await users.create_user(
        SYSTEM,
        None,
        username=f"cli-{uuid.uuid4().hex[:8]}",
        display_name="Desde el servidor",
        role="oversight",
        authority_code="CNDH",
        password=PASSWORD,
    )
    assert created["approval"] == "approved"
    assert (await _login(api, created["username"], PASSWORD)).status_code == 200


async def test_the_cli_on_the_server_may_approve_a_pending_account(api):
    body = _new_user("supervisor", "PROCURADURIA-27")
    assert (await api.post("sistema.admin", "/api/v1/users", json=body)).status_code == 201
    done = await users.decide(None, body["username"], approve=True)  # careroute users approve
    assert done == {"username": body["username"], "approval": "approved"}
    assert (await _login(api, body["username"])).status_code == 200
    event = (
        await AuditEvent.select(AuditEvent.actor_username)
        .where(
            (AuditEvent.action == "user.approved")
            & AuditEvent.changes.like(f'%"{body["username"]}"%')
        )
        .first()
    )
    assert event == {"actor_username": "system"}


async def test_only_oversight_lists_accounts_and_only_admins_decide(api):
    for who in ("sistema.admin", "inm-07.officer", "procuraduria-07.head"):
        assert (await api.get(who, "/api/v1/oversight/accounts")).status_code == 403
    body = _new_user()
    assert (await api.post("sistema.admin", "/api/v1/users", json=body)).status_code == 201
    for who in ("cndh.oversight", "procuraduria-07.head"):
        r = await api.post(who, f"/api/v1/users/{body['username']}/approve")
        assert r.status_code == 403
    assert (await api.post("sistema.admin-2", "/api/v1/users/nadie-x/approve")).status_code == 404
    # the requester may withdraw it; then nobody can approve it
    r = await api.post("sistema.admin", f"/api/v1/users/{body['username']}/reject")
    assert r.status_code == 200 and r.json()["approval"] == "rejected"
    r = await api.post("sistema.admin-2", f"/api/v1/users/{body['username']}/approve")
    assert r.status_code == 409
    assert (await _login(api, body["username"])).status_code == 401


async def test_concurrent_approve_and_reject_one_wins(api):
    """Read-then-write: the decision is one conditional UPDATE (on PostgreSQL the two really
    run at once): one 200, the other 409, one audit event."""
    body = _new_user()
    assert (await api.post("sistema.admin", "/api/v1/users", json=body)).status_code == 201
    url = f"/api/v1/users/{body['username']}"
    results = await asyncio.gather(
        api.post("sistema.admin-2", f"{url}/approve"), api.post("sistema.admin", f"{url}/reject")
    )
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    decided = await AuditEvent.count().where(
        AuditEvent.action.is_in(["user.approved", "user.rejected"])
        & AuditEvent.changes.like(f'%"{body["username"]}"%')
    )
    assert decided == 1
    row = await User.select(User.approval, User.active).where(User.username == body["username"])
    winner = next(r for r in results if r.status_code == 200).json()["approval"]
    assert row == [{"approval": winner, "active": winner == "approved"}]
