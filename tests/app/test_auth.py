"""Login / logout, session cookie with CSRF for unsafe methods, bearer tokens."""

from __future__ import annotations

import json

import httpx

from app.audit import keyed_digest
from app.route_engine import form_example
from app.tables import AuditEvent
from tests.app.helpers import PASSWORD


async def _browser(api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=api.client._transport, base_url="http://testserver")


async def test_session_cookie_requires_csrf_for_unsafe_methods(api):
    async with await _browser(api) as browser:
        r = await browser.post(
            "/api/v1/auth/login", json={"username": "inm-07.officer", "password": PASSWORD}
        )
        assert r.status_code == 200
        csrf = r.json()["csrf_token"]
        assert r.json()["token"] is None
        assert "careroute_session" in browser.cookies
        assert "httponly" in r.headers["set-cookie"].lower()
        assert (await browser.get("/api/v1/me")).json()["username"] == "inm-07.officer"

        body = {"form": form_example("inicio_caso.schema.json"), "identidad": {"nombres": "C"}}
        r = await browser.post("/api/v1/cases", json=body)
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
        r = await browser.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403
        r = await browser.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201

        r = await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200
        browser.cookies.clear()
        assert (await browser.get("/api/v1/me")).status_code == 401


async def test_logged_out_session_token_is_dead(api):
    async with await _browser(api) as browser:
        r = await browser.post(
            "/api/v1/auth/login", json={"username": "inm-07.officer", "password": PASSWORD}
        )
        csrf, cookie = r.json()["csrf_token"], browser.cookies["careroute_session"]
        await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        browser.cookies.clear()
        browser.cookies.set("careroute_session", cookie)
        assert (await browser.get("/api/v1/me")).status_code == 401


async def test_bearer_tokens_and_failures(api):
    last = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
    r = await api.client.post(
        "/api/v1/auth/login",
        json={"username": "inm-07.officer", "password": "wrong-password", "mode": "api"},
    )
    assert r.status_code == 401
    r = await api.client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "x", "mode": "api"}
    )
    assert r.status_code == 401 and r.json()["detail"] == "wrong user name or password"
    failed = (
        await AuditEvent.select(AuditEvent.changes)
        .where((AuditEvent.action == "auth.login_failed") & (AuditEvent.id > last["id"]))
        .order_by(AuditEvent.id)
    )
    # the account tried when it is one; what was typed only as a keyed digest (issue 15)
    changes = [json.loads(f["changes"]) for f in failed]
    assert [c["account"] for c in changes] == ["inm-07.officer", None]
    assert [c["texts"]["username"] for c in changes] == [
        keyed_digest("inm-07.officer"),
        keyed_digest("nobody"),
    ]
    assert "nobody" not in json.dumps(changes)
    assert (await api.client.get("/api/v1/me")).status_code == 401
    r = await api.client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    r = await api.get("procuraduria-07.head", "/api/v1/me")
    assert r.json() == {
        "username": "procuraduria-07.head",
        "display_name": "head · PROCURADURIA-07",
        "role": "head",
        "authority": "PROCURADURIA-07",
        "authority_name": "Procuraduría de Protección de NNA de Chiapas",
        "authority_tipo": "PROCURADURIA",
        "nivel": "estatal",
        "estado": "07",
        "municipio": None,
        "auth": "api",
    }


async def test_openapi_is_served(api):
    r = await api.client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/tasks/{task_id}/complete" in paths
    assert "/api/v1/audit/export" in paths
