"""Sessions: login brute force is throttled (per account and address, per address, and a
progressive delay per account), without letting anyone lock the owner out; CSRF is enforced on
cookie sessions, expired and revoked credentials are refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.clock import utcnow
from app.security import token_digest
from app.tables import AuditEvent, AuthToken, LoginThrottle
from app.throttle import LOGIN_THROTTLE
from tests.app.helpers import PASSWORD
from tests.reliability.stats import count_response

pytestmark = pytest.mark.reliability


def client_from(asgi_app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=asgi_app, client=(address, 40000)),
        base_url="http://testserver",
        event_hooks={"response": [count_response]},
    )


async def login(client: httpx.AsyncClient, username: str, password: str, mode: str = "api"):
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password, "mode": mode}
    )


SETTINGS = ("account_limit", "address_limit", "window", "account_free", "delay_step", "delay_max")


@pytest.fixture
async def throttle():
    await LOGIN_THROTTLE.reset()
    saved = {name: getattr(LOGIN_THROTTLE, name) for name in SETTINGS}
    yield LOGIN_THROTTLE
    for name, value in saved.items():
        setattr(LOGIN_THROTTLE, name, value)
    await LOGIN_THROTTLE.reset()


async def _failed_since(event_id: int) -> int:
    return await AuditEvent.count().where(
        (AuditEvent.action == "auth.login_failed") & (AuditEvent.id > event_id)
    )


async def _time_passes(seconds: float) -> None:
    """Move every budget ``seconds`` into the past (as if that time had passed)."""
    await LoginThrottle.raw(
        "UPDATE login_throttle SET tat = tat - {}, w = w - {}, expires = expires - {}",
        *[float(seconds)] * 3,
    )


async def _last_event() -> int:
    row = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
    return row["id"] if row else 0


async def test_brute_force_from_one_address_is_refused_but_the_owner_is_not_locked_out(
    asgi_app, throttle
):
    throttle.account_limit, throttle.address_limit = 5, 1000
    user = "inm-27.officer"
    since = await _last_event()
    async with client_from(asgi_app, "203.0.113.10") as c:
        codes = [(await login(c, user, f"guess-{i}")).status_code for i in range(5)]
        assert codes == [401] * 5
        r = await login(c, user, "guess-5")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0, r.text
        # refused from here: the right password is not even checked
        assert (await login(c, user, PASSWORD)).status_code == 429
    # the owner, from another address, is not locked out (issue 15: any client could lock any
    # known account for 15 minutes); other accounts are unaffected
    async with client_from(asgi_app, "198.51.100.20") as c:
        assert (await login(c, user, PASSWORD)).status_code == 200
        assert (await login(c, "inm-27.supervisor", PASSWORD)).status_code == 200
    # refused attempts are not audited (no write amplification): only the 5 failures
    assert await _failed_since(since) == 5
    # the bucket refills (one attempt per window / limit): the address may try again
    await _time_passes(throttle.window)
    async with client_from(asgi_app, "203.0.113.10") as c:
        assert (await login(c, user, PASSWORD)).status_code == 200


async def test_guessing_from_many_addresses_meets_a_progressive_delay_not_a_lock(
    asgi_app, throttle
):
    """One account guessed from many addresses: after ``account_free`` failures each attempt
    waits a little longer (429 with the wait); an address the owner logged in from before is
    not delayed, so the attacker cannot keep the owner out."""
    throttle.account_limit, throttle.address_limit = 5, 1000
    throttle.account_free, throttle.delay_step, throttle.delay_max = 3, 5.0, 60.0
    user = "inm-27.supervisor"
    async with client_from(asgi_app, "192.0.2.50") as home:
        assert (await login(home, user, PASSWORD)).status_code == 200  # the owner's address
    codes = []
    for i in range(6):
        async with client_from(asgi_app, f"198.51.100.{100 + i}") as c:
            codes.append((await login(c, user, f"guess-{i}")).status_code)
    # 3 free failures, the 4th is allowed and arms a 5 s delay, then refused while it runs
    assert codes[:4] == [401] * 4 and codes[4:] == [429, 429], codes
    async with client_from(asgi_app, "198.51.100.200") as c:
        r = await login(c, user, PASSWORD)  # a new address waits too, even with the password
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 5
    async with client_from(asgi_app, "192.0.2.50") as home:
        assert (await login(home, user, PASSWORD)).status_code == 200  # not the owner's home
    await _time_passes(6)
    async with client_from(asgi_app, "198.51.100.201") as c:
        assert (await login(c, user, "guess-again")).status_code == 401  # the delay passed
        r = await login(c, user, "guess-more")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 5  # and it grows


async def test_spraying_many_accounts_from_one_address_is_refused(asgi_app, throttle):
    throttle.account_limit, throttle.address_limit = 1000, 8
    async with client_from(asgi_app, "203.0.113.99") as c:
        codes = [(await login(c, f"nobody-{i}", "x")).status_code for i in range(8)]
        assert codes == [401] * 8
        assert (await login(c, "nobody-9", "x")).status_code == 429
        assert (await login(c, "inm-07.officer", PASSWORD)).status_code == 429
    async with client_from(asgi_app, "203.0.113.100") as c:
        assert (await login(c, "inm-07.officer", PASSWORD)).status_code == 200


async def test_the_login_page_shares_the_throttle_per_account_and_address(asgi_app, throttle):
    """The pages' login counts failures with the client's address, like the API's: guesses on
    the page and on the API add up, and a locked account gets a Spanish 429 page."""
    import re

    throttle.account_limit, throttle.address_limit = 4, 6

    async def page_login(c: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
        form = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return await c.post(
            "/login",
            data={"username": user, "password": password, "csrf_token": token, "next": "/inbox"},
        )

    user = "inm-27.head"
    async with client_from(asgi_app, "203.0.113.77") as c:
        assert [(await page_login(c, user, f"g{i}")).status_code for i in range(2)] == [401, 401]
        assert [(await login(c, user, f"g{i}")).status_code for i in range(2)] == [401, 401]
        r = await page_login(c, user, PASSWORD)  # 4 failures: locked, right password or not
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "Demasiados intentos fallidos" in r.text
        # the address has 4 failures; two more guesses on other accounts lock it too
        assert (await page_login(c, "nobody-a", "x")).status_code == 401
        assert (await page_login(c, "nobody-b", "x")).status_code == 401
        assert (await page_login(c, "inm-27.officer", PASSWORD)).status_code == 429
    async with client_from(asgi_app, "203.0.113.78") as c:
        assert (await page_login(c, "inm-27.officer", PASSWORD)).status_code == 303


async def test_csrf_missing_or_wrong_is_refused(asgi_app, throttle):
    async with client_from(asgi_app, "192.0.2.1") as c:
        r = await login(c, "inm-07.officer", PASSWORD, mode="session")
        assert r.status_code == 200
        csrf = r.json()["csrf_token"]
        assert c.cookies.get("careroute_session") and csrf
        body = {"username": "x"}
        url = "/api/v1/tasks/none/reassign"
        # reads need no token
        assert (await c.get("/api/v1/me")).status_code == 200
        # writes need it
        assert (await c.post(url, json=body)).status_code == 403
        assert (await c.post(url, json=body, headers={"X-CSRF-Token": ""})).status_code == 403
        wrong = {"X-CSRF-Token": csrf[:-2] + ("AA" if not csrf.endswith("AA") else "BB")}
        assert (await c.post(url, json=body, headers=wrong)).status_code == 403
        # the token of another session is wrong too
        async with client_from(asgi_app, "192.0.2.2") as other:
            r2 = await login(other, "inm-07.supervisor", PASSWORD, mode="session")
            other_csrf = r2.json()["csrf_token"]
        r = await c.post(url, json=body, headers={"X-CSRF-Token": other_csrf})
        assert r.status_code == 403
        for method in ("PUT", "PATCH", "DELETE"):
            r = await c.request(method, "/api/v1/cases/X/identity", json={"nombres": "x"})
            assert r.status_code in (403, 405), (method, r.status_code)
        # with the right token the request reaches the handler (404: no such task)
        r = await c.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404, r.text
        # logout needs it as well, then the session is gone
        session = c.cookies.get("careroute_session")
        assert (await c.post("/api/v1/auth/logout")).status_code == 403
        r = await c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200
        c.cookies.clear()
        r = await c.get("/api/v1/me", headers={"cookie": f"careroute_session={session}"})
        assert r.status_code == 401


async def test_expired_and_revoked_credentials_are_refused(asgi_app, throttle):
    async with client_from(asgi_app, "192.0.2.3") as c:
        tokens = {}
        for mode in ("api", "session"):
            r = await login(c, "inm-07.officer", PASSWORD, mode=mode)
            tokens[mode] = r.json().get("token") or c.cookies.get("careroute_session")
        c.cookies.clear()
        bearer = {"Authorization": f"Bearer {tokens['api']}"}
        assert (await c.get("/api/v1/me", headers=bearer)).status_code == 200
        cookie = {"cookie": f"careroute_session={tokens['session']}"}
        assert (await c.get("/api/v1/me", headers=cookie)).status_code == 200
        past = utcnow() - timedelta(seconds=1)
        for token in tokens.values():
            await AuthToken.update({AuthToken.expires_at: past}).where(
                AuthToken.token_hash == token_digest(token)
            )
        assert (await c.get("/api/v1/me", headers=bearer)).status_code == 401
        assert (await c.get("/api/v1/me", headers=cookie)).status_code == 401
        assert (await c.get("/api/v1/cases", headers=bearer)).status_code == 401
        # garbage, empty and over-long tokens
        for junk in ("x", "Bearer", "' OR 1=1 --", "a" * 5000):
            r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {junk}"})
            assert r.status_code == 401, junk
        # revoked
        r = await login(c, "inm-07.officer", PASSWORD)
        fresh = {"Authorization": f"Bearer {r.json()['token']}"}
        assert (await c.post("/api/v1/auth/logout", headers=fresh)).status_code == 200
        assert (await c.get("/api/v1/me", headers=fresh)).status_code == 401
