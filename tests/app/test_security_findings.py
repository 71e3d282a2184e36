"""Issue 15, items 8 and 9: what an attacker with a demo account found, each with the test that
failed before its fix.

- ``/schema`` loaded an unpinned third-party script (``@scalar/api-reference@latest`` from a CDN,
  no integrity check, no CSP) on the app's own origin: now the OpenAPI JSON alone, under a CSP.
- ``GET /api/v1/cases?cursor=wrI`` and ``/api/v1/audit?cursor=wrI`` answered 500 ("wrI" decodes
  to "²", which passes ``isdigit()``).
- API answers carrying a child's data had no ``Cache-Control: no-store`` nor
  ``X-Content-Type-Options: nosniff``.
- ``form.grupo_familiar_id`` let a Tabasco officer join a Chiapas family group, unaudited.
- The identity's alias list had no length limit (50,000 accepted).
- Notifications kept showing the folio and task after the authority lost access.
"""

from __future__ import annotations

import base64
import uuid

import pytest

from app.clock import utcnow
from app.tables import AuditEvent, Authority, Case, CaseAccess, Notification, User
from tests.app.helpers import opening_form


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_the_api_documentation_is_the_json_alone_under_a_csp(api):
    for url in ("/schema", "/schema/openapi.json"):
        r = await api.client.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
        assert r.json()["openapi"].startswith("3.")
        assert "<script" not in r.text and "cdn.jsdelivr" not in r.text
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
    # no renderer page anywhere under /schema
    for site in ("/schema/scalar", "/schema/redoc", "/schema/swagger"):
        assert (await api.client.get(site)).status_code == 404


async def test_answers_with_a_childs_data_are_never_cached_nor_sniffed(api):
    folio = await api.open_case("inm-07.officer", name="Sin caché")
    for user, url, status in (
        ("inm-07.officer", f"/api/v1/cases/{folio}", 200),
        ("inm-07.officer", f"/api/v1/cases/{folio}/identity", 200),
        ("inm-07.officer", "/api/v1/cases", 200),
        ("cndh.oversight", "/api/v1/audit", 200),
        ("inm-27.officer", f"/api/v1/cases/{folio}/identity", 404),
    ):
        r = await api.get(user, url)
        assert r.status_code == status, (url, r.text)
        assert r.headers["cache-control"] == "no-store", url
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert "default-src 'none'" in r.headers["content-security-policy"], url
    anonymous = await api.client.get(f"/api/v1/cases/{folio}/identity")
    assert anonymous.status_code == 401 and anonymous.headers["cache-control"] == "no-store"
    # the pages keep their own policy (they load the app's own style sheet)
    page = await api.client.get("/login")
    assert "style-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "cursor", ["wrI", _cursor("٣"), _cursor("99999999999999999999"), _cursor("-1"), "!!"]
)
async def test_a_bad_cursor_answers_422_naming_it(api, cursor):
    for user, url in (
        ("inm-07.officer", "/api/v1/cases"),
        ("cndh.oversight", "/api/v1/audit"),
    ):
        r = await api.get(user, url, params={"cursor": cursor})
        assert r.status_code == 422, (url, cursor, r.text)
        assert [e["path"] for e in r.json()["errors"]] == ["$.cursor"]
    for inbox_cursor in (_cursor(f"2026-01-01T00:00:00+00:00|{cursor}"), _cursor("2026-01-01|1")):
        r = await api.get("inm-07.officer", "/api/v1/inbox", params={"cursor": inbox_cursor})
        assert r.status_code == 422, (inbox_cursor, r.text)


async def test_an_officer_cannot_join_a_family_group_of_another_state(api):
    group = f"FG-{uuid.uuid4().hex[:10]}"
    body = {"form": opening_form("07", grupo_familiar_id=group), "identidad": {"nombres": "A"}}
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201 and r.json()["family_group"] == group
    before = await Case.count()
    other = {
        "form": opening_form("27", "Centro", grupo_familiar_id=group),
        "identidad": {"nombres": "B"},
    }
    r = await api.post("inm-27.officer", "/api/v1/cases", json=other)
    assert r.status_code == 404, r.text
    assert "grupo_familiar_id" in r.json()["detail"]
    assert await Case.count() == before
    assert await Case.count().where(Case.family_group == group) == 1
    refused = await AuditEvent.select(AuditEvent.actor_username, AuditEvent.changes).where(
        AuditEvent.action == "case.family_group_refused"
    )
    assert {
        "actor_username": "inm-27.officer",
        "changes": '{"field":"form.grupo_familiar_id"}',
    } in (refused)
    # a colleague of the same authority joins it; a new id starts a new group
    body["identidad"] = {"nombres": "C"}
    assert (await api.post("inm-07.supervisor", "/api/v1/cases", json=body)).status_code == 201
    other["form"]["grupo_familiar_id"] = f"FG-{uuid.uuid4().hex[:10]}"
    assert (await api.post("inm-27.officer", "/api/v1/cases", json=other)).status_code == 201


async def test_the_alias_list_is_bounded(api):
    folio = await api.open_case("inm-07.officer")
    many = {"nombres": "Muchos", "alias": [f"a{i}" for i in range(50_000)]}
    r = await api.put("inm-07.officer", f"/api/v1/cases/{folio}/identity", json=many)
    assert r.status_code == 400 and "alias" in r.text, r.text[:300]
    r = await api.post(
        "inm-07.officer", "/api/v1/cases", json={"form": opening_form(), "identidad": many}
    )
    assert r.status_code == 400 and "alias" in r.text
    twenty = {"nombres": "Veinte", "alias": [f"a{i}" for i in range(20)]}
    r = await api.put("inm-07.officer", f"/api/v1/cases/{folio}/identity", json=twenty)
    assert r.status_code == 200, r.text
    twenty["alias"].append("uno más")
    r = await api.put("inm-07.officer", f"/api/v1/cases/{folio}/identity", json=twenty)
    assert r.status_code == 400


async def test_notifications_hide_folio_and_task_once_the_authority_lost_access(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    supervisor = await User.select(User.id).where(User.username == "inm-07.supervisor").first()
    await Notification.insert(
        Notification(
            user=supervisor["id"],
            kind="deadline.escalated",
            case_folio=folio,
            task_id=task["task_id"],
            task_bpmn_id=task["bpmn_id"],
            plazo_id="D1_notificacion_procuraduria",
            level=1,
            due_at=utcnow(),
            created_at=utcnow(),
        )
    )

    async def mine() -> dict:
        r = await api.get("inm-07.supervisor", "/api/v1/notifications")
        assert r.status_code == 200
        return next(
            n
            for n in r.json()
            if n["plazo_id"] == "D1_notificacion_procuraduria"
            and (n["case_folio"] in (folio, None))
            and n["level"] == 1
        )

    shown = await mine()
    assert shown["case_folio"] == folio and shown["task_id"] == task["task_id"]
    assert shown["task_name"]
    inm = await Authority.select(Authority.id).where(Authority.code == "INM-07").first()
    await CaseAccess.update({CaseAccess.active: False}).where(
        (CaseAccess.case == case_id) & (CaseAccess.authority == inm["id"])
    )
    hidden = await mine()
    assert hidden["id"] == shown["id"]
    assert hidden["case_folio"] is None and hidden["task_id"] is None
    assert hidden["task_bpmn_id"] is None and hidden["task_name"] is None
    # the page shows the same service's answer
    assert folio not in (await api.get("inm-07.supervisor", "/api/v1/notifications")).text
