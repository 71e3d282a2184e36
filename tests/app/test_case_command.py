"""Behaviour that follows from every change to a case taking one command path (issue 10):
access follows the route, folios are unique under concurrency, slow work leaves the lock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from app import outbox
from app.clock import utcnow
from app.db import write_tx
from app.tables import AuditEvent, Case, CaseAccess, Task
from tests.app.helpers import opening_form


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def test_the_procuraduria_reads_the_case_right_after_the_notice(api):
    """LM art. 112 fr. I: INM notifies the Procuraduría at once. From that moment it may read
    the case, before INM issues the acta de canalización and routes it any task."""
    folio = await api.open_case("inm-07.officer")
    await api.complete(folio, "registrar_deteccion")
    before = await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")
    assert before.status_code == 404
    await api.complete(folio, "notificar_procuraduria")
    tasks = await api.open_tasks(folio)
    assert [t["bpmn_id"] for t in tasks] == ["emitir_acta_canalizacion"]  # INM's, not theirs
    after = await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")
    assert after.status_code == 200, after.text
    grants = await AuditEvent.select(AuditEvent.changes, AuditEvent.actor_username).where(
        (AuditEvent.case_id == await _case_id(folio)) & (AuditEvent.action == "access.granted")
    )
    assert {"changes": '{"reason":"notified"}', "actor_username": "inm-07.officer"} in grants
    listed = await api.get("procuraduria-07.officer", "/api/v1/cases", params={"limit": 200})
    assert folio in [c["folio"] for c in listed.json()["items"]]


async def _drive_to_claim(api, folio: str) -> None:
    await api.drive_until(folio, "detectar_necesidades")
    await api.complete(
        folio,
        "detectar_necesidades",
        indicadores_proteccion_internacional=True,
        motivos_proteccion=["temor_persecucion"],
    )
    await api.drive_until(folio, "apoyar_solicitud_asilo")


async def _claim_case_the_consulate_sees(api) -> tuple[str, int, int]:
    """A case at the filing of an asylum claim, with the consulate holding access (granted by
    hand, as an earlier task would have); returns folio, case id and the consulate's id."""
    folio = await api.open_case("inm-07.officer")
    await _drive_to_claim(api, folio)
    case_id = await _case_id(folio)
    sre = (await api.get("sistema.admin", "/api/v1/authorities")).json()
    sre_id = next(a["id"] for a in sre if a["code"] == "SRE-00")
    async with write_tx():
        await CaseAccess.insert(
            CaseAccess(case=case_id, authority=sre_id, reason="task_routed", active=True)
        )
    return folio, case_id, sre_id


async def test_the_consulate_loses_access_once_a_claim_is_recorded(api):
    """The consulate had access from an earlier task (as it had before this rule): the command
    that records the claim revokes it, and it gets 404 on the case and its identity."""
    folio, case_id, sre_id = await _claim_case_the_consulate_sees(api)
    assert (await api.get("sre-00.officer", f"/api/v1/cases/{folio}")).status_code == 200
    await api.complete(folio, "apoyar_solicitud_asilo")  # the claim is filed
    for url in (f"/api/v1/cases/{folio}", f"/api/v1/cases/{folio}/identity"):
        assert (await api.get("sre-00.officer", url)).status_code == 404
    listed = await api.get("sre-00.officer", "/api/v1/cases", params={"limit": 200})
    assert folio not in [c["folio"] for c in listed.json()["items"]]
    revoked = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id)
        & (AuditEvent.action == "access.revoked")
        & (AuditEvent.authority_id == sre_id)
    )
    assert revoked == [{"changes": '{"reason":"consular_contact_blocked"}'}]


async def test_the_consulate_never_reads_the_asylum_steps(api):
    """Even with access (here granted by hand, as after a final refusal), the consulate's view
    of the case leaves out the claim: its tasks, its timeline entries, its variables."""
    folio, case_id, sre_id = await _claim_case_the_consulate_sees(api)
    seen = (await api.get("sre-00.officer", f"/api/v1/cases/{folio}")).json()
    oversight = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
    assert any(t["process_id"] == "referencia_comar" for t in oversight["tasks"])
    assert not any(t["process_id"] == "referencia_comar" for t in seen["tasks"])
    comar_tasks = {
        t["task_id"] for t in oversight["tasks"] if t["process_id"] == "referencia_comar"
    }
    assert not any(e["task_id"] in comar_tasks for e in seen["timeline"])
    assert "indicadores_proteccion_internacional" in oversight["case"]["variables"]
    assert "indicadores_proteccion_internacional" not in seen["case"]["variables"]
    assert "contacto_consular_bloqueado" not in seen["case"]["variables"]


async def test_concurrent_openings_in_one_state_get_distinct_folios(api):
    """The folio counter was read, then written: on PostgreSQL 10 of 12 concurrent openings
    answered 500. Now one upsert increments it under a row lock."""
    n = 30

    async def open_one(i: int):
        body = {"form": opening_form("12", "Acapulco"), "identidad": {"nombres": f"Folio {i}"}}
        return await api.post("inm-00.officer", "/api/v1/cases", json=body)

    results = await asyncio.gather(*(open_one(i) for i in range(n)))
    assert [r.status_code for r in results] == [201] * n, [r.text for r in results[:3]]
    folios = [r.json()["folio"] for r in results]
    assert len(set(folios)) == n
    numbers = sorted(int(f.rsplit("-", 1)[1]) for f in folios)
    assert numbers == list(range(numbers[0], numbers[0] + n))  # gap-free


async def test_a_slow_webhook_holds_no_write_lock(api):
    """Delivery used to call the webhook inside a write transaction: on SQLite every other
    writer waited behind it. Now the row is leased, sent outside any transaction, then marked."""
    started = asyncio.Event()

    class SlowSender(outbox.FakeSender):
        async def send(self, kind, payload):
            started.set()
            await asyncio.sleep(1.5)
            self.sent.append((kind, payload))

    async with write_tx():
        await outbox.queue("deadline.escalated", '{"case_folio": "SLOW-1"}', utcnow())
    sender = SlowSender()
    delivery = asyncio.create_task(outbox.deliver(sender, datetime.now(UTC)))
    await asyncio.wait_for(started.wait(), 10)
    t0 = time.perf_counter()
    await api.open_case("inm-07.officer")  # an unrelated write while the webhook hangs
    waited = time.perf_counter() - t0
    await delivery
    assert ("deadline.escalated", {"case_folio": "SLOW-1"}) in sender.sent
    assert waited < 0.8, f"a write waited {waited:.2f} s behind the webhook"


async def test_a_completion_from_another_authority_is_404_and_changes_nothing(api):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    r = await api.post(
        "procuraduria-07.officer",
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={"data": {}},
    )
    assert r.status_code == 404
    row = await Task.select(Task.status).where(Task.task_id == task["task_id"]).first()
    assert row["status"] == "open"


async def test_new_information_reopens_the_bid_through_the_api(api):
    """The message the route waits for during the plan de restitución (nueva_informacion_bid)
    is a command like any other: only the Procuraduría sends it, only while a plan is under
    way (409 and nothing written otherwise), and the BID panel's first task is routed."""
    folio = await api.open_case("inm-07.officer")
    url = f"/api/v1/cases/{folio}/bid-reconsideration"
    body = {"motivo": "La familia en el país de origen fue localizada."}
    await api.drive_until(folio, "determinar_acompanamiento")
    case_id = await _case_id(folio)
    before = await AuditEvent.count().where(AuditEvent.case_id == case_id)
    early = await api.post("procuraduria-07.officer", url, json=body)
    assert early.status_code == 409, early.text
    assert await AuditEvent.count().where(AuditEvent.case_id == case_id) == before
    await api.drive_until(folio, "elaborar_plan_restitucion")
    assert (await api.post("inm-07.officer", url, json=body)).status_code == 403
    blank = await api.post("procuraduria-07.officer", url, json={"motivo": " "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["path"] == "$.motivo"
    r = await api.post("procuraduria-07.officer", url, json=body)
    assert r.status_code == 200, r.text
    assert [t["bpmn_id"] for t in r.json()["next_tasks"]] == ["compilar_informe_bid"]
    tasks = {t["bpmn_id"]: t for t in await api.open_tasks(folio)}
    assert "elaborar_plan_restitucion" not in tasks and "compilar_informe_bid" in tasks
    reopened = await AuditEvent.select(AuditEvent.changes, AuditEvent.actor_username).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "case.bid_reopened")
    )
    assert reopened == [
        {
            "changes": '{"message":"nueva_informacion_bid"}',
            "actor_username": "procuraduria-07.officer",
        }
    ]
