"""Signed checkpoints of the audit chain (issue 15, item 6), on whichever database the suite runs
(SQLite, or PostgreSQL with DATABASE_URL): someone who can write the database rewrites an event and
recomputes every later hash, or deletes the tail; the chain alone still verifies, the checkpoints
exported before do not. Every attack runs in a transaction that is rolled back."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app import audit, clock, keys
from app.services import checkpoints
from app.services.checkpoints import CheckpointFileError
from app.tables import AuditCheckpoint, AuditEvent
from tests.app.tamper import delete_one, rewrite, tampering, truncate


async def _checkpointed(api, tmp_path):
    """A case opened, a checkpoint of the head exported, then more events after it. Returns
    (an event id before the checkpoint, the checkpoint, the exported file)."""
    folio = await api.open_case("inm-07.officer")
    opened = (
        await AuditEvent.select(AuditEvent.id)
        .where((AuditEvent.case_folio == folio) & (AuditEvent.action == "case.opened"))
        .first()
    )
    path = tmp_path / "checkpoints.json"
    doc = await checkpoints.export(path)
    signed = doc["checkpoints"][-1]
    await api.open_case("inm-07.officer")  # the chain goes on after the checkpoint
    return opened["id"], signed, path


async def test_a_rewritten_history_passes_the_chain_but_not_the_checkpoint(api, tmp_path):
    event_id, signed, path = await _checkpointed(api, tmp_path)
    assert (await checkpoints.verify(path))[0].ok
    async with tampering():
        await rewrite(event_id)
        fooled = await audit.verify()
        assert fooled.ok, "the attack must fool the chain alone, or it proves nothing"
        result, _ = await checkpoints.verify(path)
        assert not result.ok
        assert result.first_bad_id == signed["event_id"] and "rewritten" in result.reason
        stored, _ = await checkpoints.verify()  # the rows in the database catch it too
        assert not stored.ok and "rewritten" in stored.reason
    # an event deleted in the middle, the rest re-chained
    async with tampering():
        await delete_one(event_id)
        assert (await audit.verify()).ok
        result, _ = await checkpoints.verify(path)
        assert not result.ok and "rewritten" in result.reason
    # without the recompute, the chain itself names the row
    async with tampering():
        await rewrite(event_id, recompute=False)
        result, _ = await checkpoints.verify(path)
        assert not result.ok and result.first_bad_id == event_id and "altered" in result.reason
    result, _ = await checkpoints.verify(path)
    assert result.ok and result.checkpoints == len(json.loads(path.read_text())["checkpoints"])


async def test_a_deleted_tail_is_detected(api, tmp_path):
    _, signed, path = await _checkpointed(api, tmp_path)
    async with tampering():
        await truncate(signed["event_id"] - 2)  # the checkpointed head and what came after
        assert (await audit.verify()).ok, "what remains still chains"
        result, _ = await checkpoints.verify(path)
        assert not result.ok and "deleted from its end" in result.reason
        assert result.first_bad_id == signed["event_id"]
        assert result.checked < signed["event_count"]
    assert (await checkpoints.verify(path))[0].ok


async def test_a_forged_or_altered_checkpoint_file_is_refused(api, tmp_path):
    _, _, path = await _checkpointed(api, tmp_path)
    doc = json.loads(path.read_text())
    doc["checkpoints"][-1]["event_count"] -= 1  # pretend the chain was shorter
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    with pytest.raises(CheckpointFileError, match="does not verify"):
        await checkpoints.verify(altered)
    # a file signed with another key (the attacker's), carrying that key
    other = Ed25519PrivateKey.generate()
    doc = json.loads(path.read_text())
    doc["public_key"] = keys.public_key_text(other.public_key())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    with pytest.raises(CheckpointFileError, match="not the trusted key"):
        await checkpoints.verify(forged)
    # the real file checks against the public key alone (what oversight holds)
    public = keys.load_public_key(keys.public_key_text())
    assert (await checkpoints.verify(path, public))[0].ok
    with pytest.raises(CheckpointFileError):
        await checkpoints.verify(path, other.public_key())


async def test_the_worker_writes_one_per_interval_while_the_chain_grows(api, monkeypatch):
    monkeypatch.setenv(checkpoints.INTERVAL_ENV, "600")
    await api.open_case("inm-07.officer")
    now = clock.utcnow() + timedelta(days=400)  # past any checkpoint other tests wrote
    first = await checkpoints.maybe_write(now)
    assert first is not None and first.signature
    assert await checkpoints.maybe_write(now + timedelta(seconds=599)) is None  # too soon
    assert await checkpoints.maybe_write(now + timedelta(seconds=601)) is None  # nothing new
    await api.open_case("inm-07.officer")
    second = await checkpoints.maybe_write(now + timedelta(seconds=602))
    assert second is not None and second.event_count > first.event_count
    monkeypatch.setenv(checkpoints.INTERVAL_ENV, "0")
    await api.open_case("inm-07.officer")
    assert await checkpoints.maybe_write(now + timedelta(days=1)) is None  # disabled
    public = keys.signing_key().public_key()
    assert first.verifies(public) and second.verifies(public)
    # the table is append-only like the trail
    with pytest.raises(Exception, match="append-only"):
        await AuditCheckpoint.delete().where(AuditCheckpoint.id > 0)


async def test_oversight_reads_the_checkpoints(api):
    await api.open_case("inm-07.officer")
    await checkpoints.write()
    r = await api.get("cndh.oversight", "/api/v1/audit/checkpoints")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["format"] == checkpoints.FORMAT and doc["public_key"] == keys.public_key_text()
    public = keys.load_public_key(doc["public_key"])
    assert doc["checkpoints"]
    for item in doc["checkpoints"]:
        at = datetime.fromisoformat(item["at"].replace("Z", "+00:00"))
        signed = checkpoints.Signed(**(item | {"at": at}))
        assert signed.verifies(public)
    assert (await api.get("inm-07.officer", "/api/v1/audit/checkpoints")).status_code == 403
    verified = (await api.get("cndh.oversight", "/api/v1/audit/verify")).json()
    assert verified["ok"] is True and verified["checkpoints"] >= 1
