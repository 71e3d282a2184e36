"""The OpenAPI document is the contract an integrator codes against (issue 10, item 7).

Every JSON API operation has a typed success body and declares each error status it can answer,
with the error body app/api/errors.py really sends (``errors``, not Litestar's ``extra``). The
second half sends requests that produce each kind of error and checks the bodies against the
documented schema, so the document cannot drift from what the API sends.
"""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from app.main import MAX_BODY_BYTES
from tests.app.helpers import PASSWORD

METHODS = ("get", "put", "post", "delete", "patch")
LOGIN = ("post", "/api/v1/auth/login")
#: A form's JSON Schema is a free-form document by nature (typed as an object).
FREE_FORM_OK = {("get", "/api/v1/forms/{name}")}


@pytest.fixture(scope="module")
async def doc(api) -> dict:
    r = await api.client.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _validator(doc: dict, name: str) -> jsonschema.Draft202012Validator:
    """A validator for component ``name``; refs resolve inside the document."""
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(root)


def test_the_document_covers_the_whole_json_api(doc):
    ops = _operations(doc)
    assert len(ops) >= 36
    assert all(path.startswith("/api/v1/") for _, path, _ in ops), "only the JSON API"


def test_every_operation_has_a_typed_success_body(doc):
    untyped = []
    for method, path, op in _operations(doc):
        ok = [r for status, r in op["responses"].items() if status.startswith("2")]
        assert len(ok) == 1, (method, path)
        for media, content in ok[0].get("content", {}).items():
            schema = content.get("schema", {})
            if media != "application/json":  # CSV, JSON Lines: text
                typed = schema == {"type": "string"}
            elif (method, path) in FREE_FORM_OK:
                typed = schema.get("type") == "object"
            else:
                target = schema.get("items", schema) if schema.get("type") == "array" else schema
                typed = "$ref" in target and bool(_resolve(doc, target).get("properties"))
            if not typed:
                untyped.append(f"{method.upper()} {path} {media}: {schema}")
    assert not untyped, "\n".join(untyped)


def test_every_operation_declares_the_statuses_it_can_answer(doc):
    missing = []
    for method, path, op in _operations(doc):
        declared = set(op["responses"])
        # 400: a body that does not parse, a bad parameter, a NUL anywhere (every operation);
        # 401: no or bad credentials (login: a wrong password)
        need = {"400", "401"}
        if "requestBody" in op or method in ("post", "put"):
            need |= {"413"}  # the body is read (NUL guard) before the handler
        if method in ("post", "put") and (method, path) != LOGIN:
            need |= {"403"}  # CSRF with a session cookie
        if "{" in path:
            need |= {"404"}
        if missing_here := need - declared:
            missing.append(f"{method.upper()} {path}: {sorted(missing_here)}")
    assert not missing, "\n".join(missing)


def test_login_is_public_and_everything_else_needs_credentials(doc):
    schemes = set(doc["components"]["securitySchemes"])
    for method, path, op in _operations(doc):
        if (method, path) == LOGIN:
            assert op["security"] == []
            assert "Retry-After" in op["responses"]["429"]["headers"]
        else:
            requirements = op.get("security", doc["security"])
            assert requirements and {k for r in requirements for k in r} <= schemes


def test_error_responses_document_the_body_as_sent(doc):
    wrong = []
    for method, path, op in _operations(doc):
        for status, response in op["responses"].items():
            if not status.startswith("4"):
                continue
            content = response["content"]["application/json"]
            for example in content.get("examples", {}).values():
                _validator(doc, "ErrorBody").validate(example["value"])
            schema = _resolve(doc, content["schema"])
            props = schema.get("properties", {})
            if "extra" in props or "errors" not in props:
                wrong.append(f"{method.upper()} {path} {status}: {sorted(props)}")
                continue
            if sorted(schema["required"]) != ["detail", "status_code"]:  # errors is optional
                wrong.append(f"{method.upper()} {path} {status}: required {schema['required']}")
            item = _resolve(doc, props["errors"]["oneOf"][0]["items"])
            if sorted(item["required"]) != ["message", "path"]:
                wrong.append(f"{method.upper()} {path} {status}: item {item}")
    assert not wrong, "\n".join(wrong)
    op = doc["paths"]["/api/v1/cases"]["post"]
    assert f"{MAX_BODY_BYTES // 1024} KiB" in op["responses"]["413"]["description"]


# ----------------------------------------------------------------------- real error bodies
def _errors_conform(doc: dict, method: str, path: str, response: httpx.Response) -> dict:
    """The response's status is declared for the operation and its body is an ErrorBody."""
    op = doc["paths"][path][method]
    assert str(response.status_code) in op["responses"], (response.status_code, path)
    body = response.json()
    _validator(doc, "ErrorBody").validate(body)
    assert "extra" not in body
    assert body["status_code"] == response.status_code
    return body


async def test_real_error_bodies_match_the_document(api, doc):
    officer = await api.headers("inm-07.officer")
    c = api.client

    r = await c.get("/api/v1/inbox")
    _errors_conform(doc, "get", "/api/v1/inbox", r)
    assert r.status_code == 401

    r = await c.post(  # an unknown account: no other test's login throttle is touched
        "/api/v1/auth/login", json={"username": "nobody.openapi", "password": "wrong-password!"}
    )
    assert r.status_code == 401
    _errors_conform(doc, "post", "/api/v1/auth/login", r)

    r = await c.post(
        "/api/v1/cases", headers=officer, json={"form": {}, "identidad": {"nombres": 5}}
    )
    body = _errors_conform(doc, "post", "/api/v1/cases", r)
    assert r.status_code == 400 and body["errors"][0]["path"] == "$.identidad.nombres"

    r = await c.get("/api/v1/shelters", headers=officer, params={"x": "a\x00b"})
    body = _errors_conform(doc, "get", "/api/v1/shelters", r)
    assert r.status_code == 400 and body["errors"] == [
        {"path": "query", "message": "contains a NUL (U+0000) character"}
    ]

    r = await c.get("/api/v1/cases/NO-SUCH-FOLIO", headers=officer)
    assert r.status_code == 404
    _errors_conform(doc, "get", "/api/v1/cases/{folio}", r)

    r = await c.get("/api/v1/shelters/not-a-number/children", headers=officer)
    assert r.status_code == 404
    _errors_conform(doc, "get", "/api/v1/shelters/{shelter_id}/children", r)

    r = await c.get("/api/v1/inbox", headers=officer, params={"scope": "everything"})
    body = _errors_conform(doc, "get", "/api/v1/inbox", r)
    assert r.status_code == 422 and body["errors"][0]["path"] == "$.scope"

    r = await c.get("/api/v1/oversight/breaches", headers=officer)
    assert r.status_code == 403
    _errors_conform(doc, "get", "/api/v1/oversight/breaches", r)

    big = b'{"username": "' + b"x" * MAX_BODY_BYTES + b'"}'
    r = await c.post(
        "/api/v1/tasks/any/claim",
        headers={**officer, "content-type": "application/json"},
        content=big,
    )
    assert r.status_code == 413
    _errors_conform(doc, "post", "/api/v1/tasks/{task_id}/claim", r)

    async with httpx.AsyncClient(
        transport=api.client._transport, base_url="http://testserver"
    ) as browser:  # a session cookie, apart from the shared client's bearer tokens
        r = await browser.post(
            "/api/v1/auth/login", json={"username": "inm-07.officer", "password": PASSWORD}
        )
        assert r.status_code == 200
        r = await browser.post("/api/v1/auth/logout")  # no X-CSRF-Token
        assert r.status_code == 403
        _errors_conform(doc, "post", "/api/v1/auth/logout", r)
        r = await browser.post(
            "/api/v1/auth/logout", headers={"X-CSRF-Token": browser.cookies["careroute_csrf"]}
        )
        assert r.status_code == 200
