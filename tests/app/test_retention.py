"""Retention and erasure (issue 16, items 1 and 2): a closed case is blocked, then erased, on the
injected clock; a legal hold stops the clock; after the erasure the audit chain verifies and the
erased data can be read by nobody: not through the API, not through the pages, not in the raw
database (ciphertext whose key is gone, and the rows deleted)."""

from __future__ import annotations

import json
from datetime import timedelta

from app import audit, datakeys
from app.errors import NotFound
from app.principal import SYSTEM
from app.services import auth, case_files, retention
from app.tables import (
    AuditEvent,
    Case,
    CaseAttachment,
    CaseDataKey,
    CaseIdentity,
    CaseNameToken,
    CaseNote,
    CaseRetention,
    TaskSubmission,
    WorkflowState,
)
from tests.app.test_reopen import closed_case

NAME = "Xochiquetzal"
NOTE = "La niña contó que su tío vive en Houston, teléfono 555-0101."
DPO = "procuraduria-07.proteccion-datos"
OTHER_DPO = "procuraduria-27.proteccion-datos"
PDF = b"%PDF-1.4 acta de nacimiento de Xochiquetzal"
EVERYONE = ("inm-07.officer", "procuraduria-07.supervisor", "cndh.oversight", "sistema.admin")


async def _case_with_data(api, surname: str) -> tuple[str, int]:
    """A case walked to its closure, with an identity and a note (encrypted at rest)."""
    folio = await closed_case(NAME)
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    r = await api.put(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/identity",
        json={"nombres": NAME, "apellidos": surname},
    )
    assert r.status_code == 200, r.text
    officer = await auth.principal_for_user("inm-07.officer")
    await case_files.add_note(officer, folio, NOTE)
    await case_files.add_attachment(officer, folio, f"acta_{surname}.pdf", PDF)
    return folio, case_id


async def _instants(case_id: int) -> dict:
    return await CaseRetention.select().where(CaseRetention.case == case_id).first()


async def test_personal_data_is_encrypted_at_rest_and_searchable_by_name(api):
    folio, case_id = await _case_with_data(api, "Retencionuno")
    raw = json.dumps(
        [
            await CaseIdentity.select().where(CaseIdentity.case == case_id),
            await CaseNote.select(CaseNote.body).where(CaseNote.case == case_id),
            await TaskSubmission.select(TaskSubmission.data).where(TaskSubmission.case == case_id),
        ],
        default=str,
    )
    assert NAME not in raw and "Retencionuno" not in raw and "Houston" not in raw
    assert "enc1:" in raw
    files = await CaseAttachment.select().where(CaseAttachment.case == case_id)
    assert "acta_" not in json.dumps(files, default=str)
    stored = case_files.blob_path(files[0]["sha256"], case_id).read_bytes()
    assert b"Xochiquetzal" not in stored
    officer = await auth.principal_for_user("inm-07.officer")
    listed = await case_files.for_folio(officer, folio)
    assert [n["body"] for n in listed["notes"]] == [NOTE]
    assert [f["filename"] for f in listed["attachments"]] == ["acta_Retencionuno.pdf"]
    row, data = await case_files.open_attachment(officer, folio, files[0]["id"])
    assert data == PDF
    # the service decrypts: the identity, the note, and a name search by a word's beginning
    r = await api.get("inm-07.officer", f"/api/v1/cases/{folio}/identity")
    assert r.json()["identidad"] == {"nombres": NAME, "apellidos": "Retencionuno"}
    r = await api.get("inm-07.officer", "/api/v1/cases", params={"nombre": "retencionu"})
    assert [(c["folio"], c["nombre"]) for c in r.json()["items"]] == [
        (folio, f"{NAME} Retencionuno")
    ]
    tokens = await CaseNameToken.select(CaseNameToken.token).where(CaseNameToken.case == case_id)
    assert datakeys.token("retencionuno") in {t["token"] for t in tokens}


async def test_retention_blocks_then_erases_a_closed_case_on_the_clock(api, tmp_path):
    folio, case_id = await _case_with_data(api, "Retenciondos")
    closed = (await Case.select(Case.closed_at).where(Case.id == case_id).first())["closed_at"]
    now = closed + timedelta(minutes=1)
    await retention.sweep(now, cases=[case_id])
    clock = await _instants(case_id)
    sched = retention.schedule()
    assert clock["block_at"] > now and clock["erase_at"] == retention.add_duration(
        clock["block_at"], sched.bloqueo
    )
    # the day before the term: nothing changes
    await retention.sweep(clock["block_at"] - timedelta(days=1), cases=[case_id])
    assert (await _retention(case_id)) == "active"

    # past the term: blocked. Only the data protection officer of an authority that held it reads it
    await retention.sweep(clock["block_at"] + timedelta(seconds=1), cases=[case_id])
    assert (await _retention(case_id)) == "blocked"
    for who in EVERYONE + (OTHER_DPO,):
        r = await api.get(who, f"/api/v1/cases/{folio}")
        assert r.status_code == 404, (who, r.status_code)
    r = await api.get(DPO, f"/api/v1/cases/{folio}/identity")
    assert r.status_code == 200, r.text
    assert r.json()["identidad"]["apellidos"] == "Retenciondos"
    listed = await api.get(DPO, "/api/v1/cases")
    assert folio in {c["folio"] for c in listed.json()["items"]}
    listed = await api.get("cndh.oversight", "/api/v1/cases", params={"nombre": "retenciondos"})
    assert listed.json()["items"] == []
    r = await api.put(DPO, f"/api/v1/cases/{folio}/identity", json={"nombres": "X"})
    assert r.status_code == 403  # reads, never edits

    # past the blocking period: erased
    await retention.sweep(clock["erase_at"] + timedelta(seconds=1), cases=[case_id])
    assert (await _retention(case_id)) == "erased"
    key = await CaseDataKey.select().where(CaseDataKey.case == case_id).first()
    assert key["wrapped"] is None and key["destroyed_at"] is not None
    for table in (
        CaseIdentity,
        CaseNote,
        TaskSubmission,
        WorkflowState,
        CaseNameToken,
        CaseAttachment,
    ):
        assert await table.count().where(table.case == case_id) == 0, table
    assert not list(case_files.storage_dir().glob(f"*/*.{case_id}"))  # the file is gone too
    # the case page and the file download answer 404 to everyone
    for who in EVERYONE + (DPO,):
        officer = await auth.principal_for_user(who)
        for call in (case_files.for_folio(officer, folio),):
            try:
                await call
            except NotFound:
                continue
            raise AssertionError(who)
    # every role, through the API and the pages
    for who in EVERYONE + (DPO, OTHER_DPO):
        for url in (f"/api/v1/cases/{folio}", f"/api/v1/cases/{folio}/identity"):
            r = await api.get(who, url)
            assert r.status_code in (403, 404), (who, url, r.status_code)
            assert "Retenciondos" not in r.text
    # the audit chain still verifies, and it says what happened, never what the data said
    result = await audit.verify()
    assert result.ok, result.reason
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.changes).where(
        AuditEvent.case_id == case_id
    )
    actions = [e["action"] for e in events]
    assert "case.retention_blocked" in actions and "case.erased" in actions
    erased = next(json.loads(e["changes"]) for e in events if e["action"] == "case.erased")
    assert erased["data_key"] == "destroyed" and erased["rows"]["case_identity"] == 1
    assert "Retenciondos" not in json.dumps(events) and "Houston" not in json.dumps(events)


async def test_a_copy_of_the_database_taken_before_the_erasure_is_unreadable_after_it(api):
    """A backup holds the ciphertext; once the key is destroyed the ciphertext opens for no one."""
    folio, case_id = await _case_with_data(api, "Retenciontres")
    backup = (await CaseIdentity.select(CaseIdentity.data).where(CaseIdentity.case == case_id))[0]
    closed = (await Case.select(Case.closed_at).where(Case.id == case_id).first())["closed_at"]
    await retention.sweep(closed + timedelta(minutes=1), cases=[case_id])
    clock = await _instants(case_id)
    await retention.sweep(clock["block_at"] + timedelta(seconds=1), cases=[case_id])
    await retention.sweep(clock["erase_at"] + timedelta(seconds=1), cases=[case_id])
    keys_now = await datakeys.existing_keys([case_id])
    assert keys_now == {case_id: None}
    data = backup["data"]
    data = json.loads(data) if isinstance(data, str) else data
    try:
        datakeys.open_json(keys_now[case_id], case_id, "identidad", data)
    except datakeys.DataErased:
        pass
    else:
        raise AssertionError("an erased identity was decrypted")


async def test_a_legal_hold_stops_the_clock_until_lifted(api):
    folio, case_id = await _case_with_data(api, "Retencioncuatro")
    closed = (await Case.select(Case.closed_at).where(Case.id == case_id).first())["closed_at"]
    await retention.sweep(closed + timedelta(minutes=1), cases=[case_id])
    before = await _instants(case_id)
    hold_at = before["block_at"] - timedelta(days=30)
    hold = await retention.set_hold(SYSTEM, folio, "litigio", "Amparo 123/2031", hold_at)
    # far past the term and the blocking period: held, so still active
    late = before["erase_at"] + timedelta(days=400)
    await retention.sweep(late, cases=[case_id])
    assert (await _retention(case_id)) == "active"
    # lifted: the time it lasted is added; the clock restarts where it stopped (30 days left)
    await retention.lift_hold(SYSTEM, hold["id"], late)
    after = await _instants(case_id)
    held = late - hold_at
    assert after["block_at"] == before["block_at"] + held
    assert after["erase_at"] == before["erase_at"] + held
    await retention.sweep(late + timedelta(days=29), cases=[case_id])
    assert (await _retention(case_id)) == "active"
    await retention.sweep(late + timedelta(days=31), cases=[case_id])
    assert (await _retention(case_id)) == "blocked"
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.changes).where(
        AuditEvent.case_id == case_id
    )
    set_event = next(
        json.loads(e["changes"]) for e in events if e["action"] == "case.legal_hold_set"
    )
    assert set_event["motivo"] == "litigio" and "Amparo" not in json.dumps(set_event)
    assert any(e["action"] == "case.legal_hold_lifted" for e in events)


async def test_a_hold_refuses_bad_input_naming_the_field(database):
    from app.errors import InvalidInput, NotFound

    for motivo, ref, field in (("capricho", "x", "$.motivo"), ("queja", " ", "$.referencia")):
        try:
            await retention.set_hold(SYSTEM, "NO-EXISTE", motivo, ref)
        except InvalidInput as exc:
            assert exc.errors[0]["path"] == field
        else:
            raise AssertionError(field)
    try:
        await retention.set_hold(SYSTEM, "NO-EXISTE", "queja", "Q-1")
    except NotFound:
        pass
    else:
        raise AssertionError("a hold on no case")


async def _retention(case_id: int) -> str:
    return (await Case.select(Case.retention).where(Case.id == case_id).first())["retention"]


async def test_two_lifts_of_one_hold_at_once_one_wins(api):
    """Read-then-write on the hold: two lifts at once (PostgreSQL: concurrent transactions) lift
    it once and shift the clock once; the other is a 404."""
    import asyncio

    folio = await api.open_case(name="Retencioncinco")
    hold = await retention.set_hold(SYSTEM, folio, "queja", "Queja CNDH/1/2031/1")
    results = await asyncio.gather(
        retention.lift_hold(SYSTEM, hold["id"]),
        retention.lift_hold(SYSTEM, hold["id"]),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["NotFound", "dict"], results
    lifted = await AuditEvent.count().where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "case.legal_hold_lifted")
    )
    assert lifted == 1


async def test_erasure_deletes_the_consents_and_privacy_notices_of_the_case(api):
    """What was said about the child when a notice was given or a consent recorded (observaciones,
    the child's own words, reasons) goes with the rest of the case's personal data."""
    from app.tables import DataConsent, PrivacyNotice

    folio, case_id = await _case_with_data(api, "Retencioncuatro")
    closed = (await Case.select(Case.closed_at).where(Case.id == case_id).first())["closed_at"]
    notice = await PrivacyNotice.insert(
        PrivacyNotice(
            case=case_id,
            version="2026-1",
            modalidad="simplificado",
            idioma="espanol",
            forma_explicacion="verbal",
            entregado_a="nna",
            nna_comprende="si",
            observaciones="Dijo que su tío en Houston no debe saber dónde está.",
            explicado_en=closed,
            recorded_at=closed,
        )  # fmt: skip
    ).returning(PrivacyNotice.id)
    await DataConsent.insert(
        DataConsent(
            case=case_id,
            destinatario="acnur",
            destinatario_nombre="ACNUR Tapachula",
            finalidad="reasentamiento",
            decision="consiente",
            opinion_nna_texto="Quiero ir con mi tía.",
            privacy_notice=notice[0]["id"],
            expresado_en=closed,
            recorded_at=closed,
        )  # fmt: skip
    )
    await retention.sweep(closed + timedelta(minutes=1), cases=[case_id])
    clock = await _instants(case_id)
    await retention.sweep(clock["block_at"] + timedelta(seconds=1), cases=[case_id])
    consents = await DataConsent.count().where(DataConsent.case == case_id)
    notices = await PrivacyNotice.count().where(PrivacyNotice.case == case_id)
    assert consents >= 1 and notices >= 1  # blocked: kept
    await retention.sweep(clock["erase_at"] + timedelta(seconds=1), cases=[case_id])
    assert (await _retention(case_id)) == "erased"
    assert await DataConsent.count().where(DataConsent.case == case_id) == 0
    assert await PrivacyNotice.count().where(PrivacyNotice.case == case_id) == 0
    erased = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "case.erased")
    )
    rows = json.loads(erased[0]["changes"])["rows"]
    assert rows["data_consent"] == consents and rows["privacy_notice"] == notices
    assert (await audit.verify()).ok
