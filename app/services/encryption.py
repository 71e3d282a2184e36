"""Encrypt what was stored in clear: ``careroute retencion cifrar`` (issue 16, item 2).

Rows written before migration 0017 (identities, forms as submitted, notes, free text, attachment
names), and before this version (the engine state, the case variables, the free text of privacy
notices and consents) hold a child's personal data in clear; the readers take a value without
``enc1:`` as it is. This backfill seals every such value with its case's data key (made if the
case has none), the same way the command path writes it (app/datakeys.py, the same associated
data), so readers cannot tell a backfilled row from a new one.

- **Batched**: ``size`` cases per transaction, in case id order.
- **Idempotent and resumable**: only values without ``enc1:`` are touched; a run that stops
  (an error, a kill) keeps every batch it committed, and the next run finds only what is left.
- **Concurrent with the service**: a batch locks its cases' ``workflow_state`` rows as every case
  command does (PostgreSQL ``FOR UPDATE``, in id order; SQLite: the one write transaction), so
  no command writes a case while its rows are sealed.
- **Audited per case**: each case with rows sealed gets one ``case.data_encrypted`` event (how
  many values per table and column, never their content). Per case, not per batch: an access
  request (ARCO) or the case's timeline then shows when that child's data was sealed, and a case
  with nothing in clear gets no event, so a second run audits nothing.
- Erased cases are skipped (their rows were deleted with the key).

Identities in clear also had no blind name index (``case_name_token``): they get one, and the
old clear ``search_name`` is emptied, as ``personal_data.write_identity`` does.

Not covered: attachment *files* stored before 0017 (one file per content, possibly shared by
cases, not encrypted per case; docs/data-protection.md "What it cannot undo").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app import datakeys
from app.command import command
from app.db import is_sqlite
from app.principal import Actor
from app.services import personal_data
from app.services.data_protection import SEALED_COLUMNS
from app.tables import Case

#: (table, column, associated data field, how the value is sealed)
TEXT, JSON_VALUE, FORM, STATE = "text", "json", "form", "state"
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("case_identity", "data", personal_data.IDENTITY, JSON_VALUE),
    ("task_submission", "data", personal_data.SUBMISSION, FORM),
    ("case_note", "body", personal_data.NOTE, TEXT),
    ("case_text", "text", personal_data.TEXT, TEXT),
    ("case_attachment", "filename", personal_data.ATTACHMENT_NAME, TEXT),
    ("workflow_state", "state", datakeys.STATE, STATE),
    ("nna_case", "variables", datakeys.VARIABLES, JSON_VALUE),
    *(
        (table, column, aad, TEXT)
        for table, columns in SEALED_COLUMNS.items()
        for column, aad in columns
    ),
)


@dataclass
class Progress:
    cases_seen: int = 0
    cases_sealed: int = 0
    batches: int = 0
    #: ``table.column`` -> values sealed
    values: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.values.values())


def _clear(value: Any, how: str) -> bool:
    """A stored value that holds something and is not sealed."""
    if value is None:
        return False
    if how != JSON_VALUE:
        return isinstance(value, str) and value != "" and not datakeys.is_sealed(value)
    if isinstance(value, str):  # a JSON column read as its text
        value = json.loads(value or "null")
    return value not in ({}, None) and not datakeys.is_sealed(value)


def _seal(key: bytes, case_id: int, aad: str, how: str, value: Any) -> Any:
    if how == STATE:
        return datakeys.seal_state(key, case_id, value)
    if how == FORM:
        return datakeys.seal(key, case_id, aad, value)
    if how == JSON_VALUE:
        obj = json.loads(value) if isinstance(value, str) else value
        return json.dumps(datakeys.seal_json(key, case_id, aad, obj))
    return datakeys.seal(key, case_id, aad, value)


async def _rows(table: str, column: str, ids: list[int]) -> list[dict[str, Any]]:
    key_column = "id" if table == "nna_case" else "case_id"
    marks = ", ".join("{}" for _ in ids)
    # Only constant names are formatted in (COLUMNS); the ids are bound parameters.
    return await Case.raw(
        f"SELECT id, {key_column} AS case_id, {column} AS value FROM {table}"  # noqa: S608
        f" WHERE {key_column} IN ({marks}) AND {column} IS NOT NULL ORDER BY id",
        *ids,
    )


async def _lock(ids: list[int]) -> None:
    if is_sqlite():  # BEGIN IMMEDIATE + the process lock: this transaction is the only writer
        return
    marks = ", ".join("{}" for _ in ids)
    await Case.raw(
        f"SELECT case_id FROM workflow_state WHERE case_id IN ({marks})"  # noqa: S608
        " ORDER BY case_id FOR UPDATE",
        *ids,
    )


async def _batch(actor: Actor, after: int, size: int, progress: Progress) -> int | None:
    """Seal the clear values of the next ``size`` cases after id ``after``; the last case id,
    or None when there are none left."""
    async with command(actor) as cmd:
        cases = await Case.raw(
            "SELECT id, folio FROM nna_case WHERE id > {} AND retention <> 'erased'"
            " ORDER BY id LIMIT {}",
            after,
            size,
        )
        if not cases:
            return None
        ids = [c["id"] for c in cases]
        await _lock(ids)
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for table, column, _aad, how in COLUMNS:
            rows = [r for r in await _rows(table, column, ids) if _clear(r["value"], how)]
            if rows:
                found[(table, column)] = rows
        touched = sorted({r["case_id"] for rows in found.values() for r in rows})
        keys = {case_id: await datakeys.key_for(case_id, cmd.now) for case_id in touched}
        counts: dict[int, dict[str, int]] = {case_id: {} for case_id in touched}
        for table, column, aad, how in COLUMNS:
            for r in found.get((table, column), []):
                case_id = r["case_id"]
                sealed = _seal(keys[case_id], case_id, aad, how, r["value"])
                await Case.raw(
                    f"UPDATE {table} SET {column} = {{}} WHERE id = {{}}",  # noqa: S608
                    sealed,
                    r["id"],
                )
                name = f"{table}.{column}"
                counts[case_id][name] = counts[case_id].get(name, 0) + 1
                if table == "case_identity":
                    await _index_names(case_id, r["value"])
        folios = {c["id"]: c["folio"] for c in cases}
        for case_id, per_column in counts.items():
            cmd.audit(
                "case.data_encrypted",
                case_id=case_id,
                case_folio=folios[case_id],
                changes={"sealed": per_column, "key": "case_data_key"},
            )
            for name, n in per_column.items():
                progress.values[name] = progress.values.get(name, 0) + n
        progress.cases_seen += len(cases)
        progress.cases_sealed += len(touched)
        progress.batches += 1
        return ids[-1]


async def _index_names(case_id: int, value: Any) -> None:
    """The blind name index of an identity that was in clear (it had none)."""
    from app.services.case_search import search_name
    from app.tables import CaseIdentity, CaseNameToken

    identidad = json.loads(value) if isinstance(value, str) else value
    await CaseIdentity.update({CaseIdentity.search_name: ""}).where(CaseIdentity.case == case_id)
    await CaseNameToken.delete().where(CaseNameToken.case == case_id)
    tokens = datakeys.name_tokens(search_name(identidad or {}))
    if tokens:
        await CaseNameToken.insert(*[CaseNameToken(case=case_id, token=t) for t in tokens])


async def encrypt_all(
    actor: Actor,
    size: int = 200,
    on_batch: Callable[[Progress], None] | None = None,
) -> Progress:
    """Seal every clear value of every case that is not erased, ``size`` cases a transaction."""
    if size < 1:
        raise ValueError("--lote must be at least 1")
    progress = Progress()
    after = 0
    while (last := await _batch(actor, after, size, progress)) is not None:
        after = last
        if on_batch is not None:
            on_batch(progress)
    return progress
