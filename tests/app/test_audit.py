"""Audit trail: reads of a child's record are audited, exports, filters, verification, tamper
detection and the append-only guard."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app import audit, db
from app.tables import AuditEvent


async def test_reads_of_a_childs_record_are_audited(api):
    folio = await api.open_case("inm-07.officer", name="Leída")
    task = (await api.open_tasks(folio, username="inm-07.officer"))[0]
    await api.get("inm-07.officer", f"/api/v1/tasks/{task['task_id']}")
    await api.get("inm-07.officer", f"/api/v1/cases/{folio}/identity")
    await api.get("cndh.oversight", f"/api/v1/cases/{folio}")
    r = await api.get("cndh.oversight", "/api/v1/audit", params={"case": folio, "limit": 200})
    events = r.json()["items"]
    reads = {(e["action"], e["actor_username"]) for e in events}
    assert ("case.read", "inm-07.officer") in reads
    assert ("task.read", "inm-07.officer") in reads
    assert ("case.identity_read", "inm-07.officer") in reads
    assert ("case.read", "cndh.oversight") in reads
    oversight_read = next(e for e in events if e["actor_username"] == "cndh.oversight")
    assert oversight_read["actor_role"] == "oversight"
    assert oversight_read["actor_authority_code"] == "CNDH"
    # no identity data in clear anywhere in the trail of this case
    blob = json.dumps(events, ensure_ascii=False)
    assert "Leída" not in blob and "Prueba" not in blob
    opened = next(e for e in events if e["action"] == "case.opened")
    assert opened["changes"]["identity_fields"] == ["apellidos", "nombres"]
    assert len(opened["hash"]) == 64 and len(opened["prev_hash"]) == 64


async def test_filters_and_pagination(api):
    folio = await api.open_case("inm-07.officer")
    await api.complete(folio, "registrar_deteccion")
    who = "cndh.oversight"
    r = await api.get(who, "/api/v1/audit", params={"case": folio, "action": "task."})
    assert {e["action"] for e in r.json()["items"]} <= {
        "task.routed",
        "task.completed",
        "task.read",
        "task.claimed",
    }
    r = await api.get(who, "/api/v1/audit", params={"actor": "inm-07.officer", "limit": 2})
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    r2 = await api.get(
        who, "/api/v1/audit", params={"actor": "inm-07.officer", "cursor": page["next_cursor"]}
    )
    assert r2.json()["items"][0]["id"] < page["items"][-1]["id"]
    r = await api.get(who, "/api/v1/audit", params={"authority": "INM-07", "limit": 5})
    assert all(e["actor_authority_code"] == "INM-07" for e in r.json()["items"])
    r = await api.get(who, "/api/v1/audit", params={"since": "2999-01-01T00:00:00Z"})
    assert r.json()["items"] == []
    assert (await api.get("inm-07.officer", "/api/v1/audit")).status_code == 403


async def test_exports_are_streamed_and_audited(api):
    folio = await api.open_case("inm-07.officer")
    who = "cndh.oversight"
    r = await api.get(who, "/api/v1/audit/export", params={"format": "jsonl", "case": folio})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[0]["action"] == "case.opened" and lines[0]["case_folio"] == folio
    r = await api.get(who, "/api/v1/audit/export", params={"format": "csv", "case": folio})
    assert r.content.startswith(b"\xef\xbb\xbf")  # a byte-order mark, for Excel
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0]["action"] == "case.opened" and rows[0]["hash"] == lines[0]["hash"]
    r = await api.get(who, "/api/v1/audit", params={"action": "audit.exported", "limit": 2})
    assert r.json()["items"][0]["changes"]["filters"]["case"] == folio
    assert (await api.get(who, "/api/v1/audit/export", params={"format": "xml"})).status_code == 422


async def test_append_only_guard_refuses_update_and_delete(api):
    await api.open_case("inm-07.officer")
    with pytest.raises(Exception, match="append-only"):
        await AuditEvent.update({AuditEvent.action: "x"}).where(AuditEvent.id == 1)
    with pytest.raises(Exception, match="append-only"):
        await AuditEvent.delete().where(AuditEvent.id == 1)
    assert (await audit.verify()).ok


async def test_verify_fails_after_a_row_is_altered_directly(api):
    folio = await api.open_case("inm-07.officer")
    assert (await api.get("cndh.oversight", "/api/v1/audit/verify")).json()["ok"] is True
    row = (
        await AuditEvent.select(AuditEvent.id, AuditEvent.action)
        .where((AuditEvent.case_folio == folio) & (AuditEvent.action == "case.opened"))
        .first()
    )
    engine = db.engine()
    # a DBA who bypasses the guard: drop it, alter a row, then put everything back
    if db.is_sqlite():
        off = ["DROP TRIGGER audit_event_no_update"]
        on = [
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        ]
    else:
        off = ["ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"]
        on = ["ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"]
    for sql in off:
        await engine.run_ddl(sql)
    try:
        await AuditEvent.update({AuditEvent.action: "case.deleted"}).where(
            AuditEvent.id == row["id"]
        )
        result = await audit.verify()
        assert not result.ok and result.first_bad_id == row["id"]
        assert "altered" in result.reason
        r = (await api.get("cndh.oversight", "/api/v1/audit/verify")).json()
        assert r["ok"] is False and r["first_bad_id"] == row["id"]
        await AuditEvent.update({AuditEvent.action: row["action"]}).where(
            AuditEvent.id == row["id"]
        )
    finally:
        for sql in on:
            await engine.run_ddl(sql)
    assert (await audit.verify()).ok
