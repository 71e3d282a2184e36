"""Page tests: the same database and demo accounts as tests/app (the session's ``database``
fixture of tests/conftest.py), browser-like clients with cookies."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.app.helpers import PASSWORD, Api

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture(scope="session")
async def web_app(database):
    from app.main import create_app

    return create_app(manage_db=False)


class Browser:
    """One user's cookie jar against the ASGI app (no JavaScript, like a plain browser)."""

    def __init__(self, app):
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get("/login")
        token = CSRF_INPUT.search(page.text).group(1)
        return await self.client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": token,
                "next": "/inbox",
            },
        )

    def csrf(self) -> str:
        return self.client.cookies.get("careroute_csrf", "")

    async def get(self, url: str, **kw):
        return await self.client.get(url, **kw)

    async def post(self, url: str, data, csrf: bool = True):
        if isinstance(data, dict):
            data = list(data.items())
        if csrf:
            data = [*data, ("csrf_token", self.csrf())]
        return await self.client.post(
            url, content=httpx.QueryParams(data).__str__().encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip

    async def close(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def browser(web_app):
    opened: list[Browser] = []

    async def make(username: str | None = None) -> Browser:
        b = Browser(web_app)
        opened.append(b)
        if username:
            r = await b.login(username)
            assert r.status_code == 303, r.text
        return b

    yield make
    for b in opened:
        await b.close()


@pytest.fixture(scope="session")
async def json_api(web_app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web_app), base_url="http://testserver"
    ) as client:
        yield Api(client)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: headless Chromium tests (tests/web/setup.sh installs what they need)"
    )
