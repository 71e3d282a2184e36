"""Where a child's personal data is written and read, encrypted with the case's data key
(app/datakeys.py). The services call these; nothing else touches the ciphertext.

Writes always encrypt (and make the case's key on first use); reads decrypt, and read a row
written before migration 0017 (plaintext) as it is. ARCO requests (issue 16, item 3) export a
person's data through these same readers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app import datakeys
from app.tables import CaseIdentity, CaseNameToken

IDENTITY = "identidad"
SUBMISSION = "formulario"
NOTE = "nota"
TEXT = "texto"
ATTACHMENT = "adjunto"
ATTACHMENT_NAME = "adjunto_nombre"


async def write_identity(
    case_id: int, identidad: dict[str, Any], now: datetime, *, insert: bool
) -> None:
    """Store the identity encrypted and refresh its blind name index (no readable name)."""
    from app.services.case_search import search_name  # (case_search imports services.cases)

    key = await datakeys.key_for(case_id, now)
    sealed = datakeys.seal_json(key, case_id, IDENTITY, identidad)
    if insert:
        await CaseIdentity.insert(
            CaseIdentity(case=case_id, data=sealed, search_name="", updated_at=now)
        )
    else:
        await CaseIdentity.update(
            {
                CaseIdentity.data: sealed,
                CaseIdentity.search_name: "",
                CaseIdentity.updated_at: now,
            }
        ).where(CaseIdentity.case == case_id)
        await CaseNameToken.delete().where(CaseNameToken.case == case_id)
    tokens = datakeys.name_tokens(search_name(identidad))
    if tokens:
        await CaseNameToken.insert(*[CaseNameToken(case=case_id, token=t) for t in tokens])


async def read_identities(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """``rows`` of ``case_identity`` (``case_id``, ``data``) decrypted, by case id (one
    statement for the keys). An erased case's identity is absent."""
    found = await datakeys.existing_keys([r["case_id"] for r in rows])
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        try:
            out[r["case_id"]] = (
                datakeys.open_json(found.get(r["case_id"]), r["case_id"], IDENTITY, r["data"]) or {}
            )
        except datakeys.DataErased:
            continue
    return out


async def seal_text(case_id: int, field: str, text: str, now: datetime) -> str:
    return datakeys.seal(await datakeys.key_for(case_id, now), case_id, field, text)


async def seal_form(case_id: int, data: dict[str, Any], now: datetime) -> str:
    return await seal_text(case_id, SUBMISSION, json.dumps(data, ensure_ascii=False), now)


async def seal_in(session: Any, field: str, text: str) -> str:
    """``text`` sealed inside a case command (``session``: its ``CaseSession``): the key the
    command loaded with the case, unwrapped once for every value it writes."""
    key = await session.case.key(session.now)
    return datakeys.seal(key, session.case.id, field, text)


async def seal_form_in(session: Any, data: dict[str, Any]) -> str:
    return await seal_in(session, SUBMISSION, json.dumps(data, ensure_ascii=False))


async def engine_state(case_id: int) -> str | None:
    """The case's engine state (JSON) decrypted, outside a command (a read); None if none."""
    from app.tables import WorkflowState

    row = (
        await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id).first()
    )
    if row is None:
        return None
    if not datakeys.is_sealed(row["state"]):
        return row["state"]
    return (await Opener.of(case_id)).state(row["state"])


async def seal_file(case_id: int, data: bytes, now: datetime) -> bytes:
    return datakeys.seal_bytes(await datakeys.key_for(case_id, now), case_id, ATTACHMENT, data)


class Opener:
    """Decrypts the values of one case (its key read once)."""

    def __init__(self, case_id: int, key: bytes | None) -> None:
        self.case_id = case_id
        self.key = key

    @classmethod
    async def of(cls, case_id: int) -> Opener:
        found = await datakeys.existing_keys([case_id])
        return cls(case_id, found.get(case_id))

    def text(self, field: str, value: str | None) -> str | None:
        if value is None:
            return None
        return datakeys.open_text(self.key, self.case_id, field, value)

    def form(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str) and datakeys.is_sealed(value):
            value = self.text(SUBMISSION, value)
        if isinstance(value, str):
            return json.loads(value or "{}")
        return value or {}

    def json(self, field: str, value: Any) -> Any:
        return datakeys.open_json(self.key, self.case_id, field, value)

    def state(self, value: str | None) -> str:
        return datakeys.open_state(self.key, self.case_id, value)

    def variables(self, value: Any) -> dict[str, Any]:
        return datakeys.open_json(self.key, self.case_id, datakeys.VARIABLES, value) or {}

    def file(self, data: bytes) -> bytes:
        return datakeys.open_bytes(self.key, self.case_id, ATTACHMENT, data)
