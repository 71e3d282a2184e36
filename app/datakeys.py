"""Per-case data keys: a child's personal data is encrypted with its case's own key, so erasing
the case is destroying one key (issue 16, item 2).

Why a key per case: the audit trail is append-only and backups are copies nobody can edit;
deleting rows would leave the data in every backup. With the data encrypted under a key that
only the live database holds (wrapped by the master key kept outside it, app/keys.py), setting
``case_data_key.wrapped`` to NULL makes every copy unreadable, the backups' included once they
age out of the window in which they still hold the wrapped key (docs/data-protection.md).

What is encrypted (AES-256-GCM, a fresh 96-bit nonce per value, the case id and the field bound
in as associated data so a ciphertext cannot be moved to another case or field): the identity
(``case_identity.data``), the forms as submitted (``task_submission.data``), notes
(``case_note.body``), free text (``case_text.text``), attachments' bytes, the engine state
(``workflow_state.state``, compressed first), the case variables (``nna_case.variables``) and
the free text of privacy notices and consents. Reads decrypt in
the service layer; the web layer never sees this module. A value without the ``enc1:`` prefix
is a row written before it was encrypted and is read as it is (``careroute retencion cifrar``,
app/services/encryption.py, encrypts those).

The name search cannot decrypt every identity: ``name_tokens`` gives a keyed HMAC (a key derived
from the master key) of each folded word of the names and of its prefixes, kept in
``case_name_token`` (a blind index).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import zlib
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app import keys
from app.tables import CaseDataKey

PREFIX = "enc1:"
#: a JSON column holds its ciphertext as ``{"cifrado": "enc1:..."}`` (JSON text, not a string)
JSON_FIELD = "cifrado"
NONCE = 12
#: prefixes shorter than this are not indexed (the search asks for 2 letters at least)
MIN_PREFIX = 2
MAX_WORD = 40


class DataErased(Exception):
    """The case's data key was destroyed: its personal data no longer exists."""


def _master() -> AESGCM:
    return AESGCM(keys.master_key().secret)


def wrap(data_key: bytes, case_id: int) -> str:
    nonce = secrets.token_bytes(NONCE)
    sealed = _master().encrypt(nonce, data_key, f"careroute-dk:{case_id}".encode())
    return base64.b64encode(nonce + sealed).decode()


def unwrap(wrapped: str, case_id: int) -> bytes:
    raw = base64.b64decode(wrapped)
    return _master().decrypt(raw[:NONCE], raw[NONCE:], f"careroute-dk:{case_id}".encode())


async def key_for(case_id: int, now: datetime) -> bytes:
    """The case's data key, made on first use (``DataErased`` once destroyed).

    Two commands making the first key of a case at once: the unique case id keeps one, and both
    read that one back."""
    row = await _row(case_id)
    if row is None:
        wrapped = wrap(secrets.token_bytes(32), case_id)
        await CaseDataKey.raw(
            "INSERT INTO case_data_key (case_id, key_id, wrapped, created_at)"
            " VALUES ({}, {}, {}, {}) ON CONFLICT (case_id) DO NOTHING",
            case_id,
            keys.master_key().key_id,
            wrapped,
            now,
        )
        row = await _row(case_id)
    if row is None or row["wrapped"] is None:
        raise DataErased(f"the data of case {case_id} was erased")
    return unwrap(row["wrapped"], case_id)


async def existing_keys(case_ids: list[int]) -> dict[int, bytes | None]:
    """The data keys of these cases (one statement): None for a destroyed key; a case without
    a key yet (only plaintext rows from before 0017) is absent."""
    if not case_ids:
        return {}
    rows = await CaseDataKey.select(
        CaseDataKey.case.id.as_alias("case_id"), CaseDataKey.wrapped
    ).where(CaseDataKey.case.is_in(case_ids))
    return {
        r["case_id"]: (unwrap(r["wrapped"], r["case_id"]) if r["wrapped"] is not None else None)
        for r in rows
    }


async def _row(case_id: int) -> dict[str, Any] | None:
    return await CaseDataKey.select(CaseDataKey.wrapped).where(CaseDataKey.case == case_id).first()


def _aad(case_id: int, field: str) -> bytes:
    return f"careroute:{case_id}:{field}".encode()


def seal_bytes(key: bytes, case_id: int, field: str, data: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE)
    return nonce + AESGCM(key).encrypt(nonce, data, _aad(case_id, field))


def open_bytes(key: bytes | None, case_id: int, field: str, data: bytes) -> bytes:
    if key is None:
        raise DataErased(f"the data of case {case_id} was erased")
    try:
        return AESGCM(key).decrypt(data[:NONCE], data[NONCE:], _aad(case_id, field))
    except InvalidTag as exc:  # another case's or field's ciphertext, or a tampered one
        raise DataErased(f"the {field} of case {case_id} cannot be decrypted") from exc


def seal(key: bytes, case_id: int, field: str, text: str) -> str:
    """``text`` encrypted, as ASCII text for a TEXT column."""
    sealed = seal_bytes(key, case_id, field, text.encode())
    return PREFIX + base64.b64encode(sealed).decode()


def is_sealed(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {JSON_FIELD}
    return isinstance(value, str) and value.startswith(PREFIX)


def open_text(key: bytes | None, case_id: int, field: str, value: str) -> str:
    """The text of a sealed value; an old plaintext value as it is."""
    if not is_sealed(value):
        return value
    raw = base64.b64decode(value[len(PREFIX) :])
    return open_bytes(key, case_id, field, raw).decode()


def seal_json(key: bytes, case_id: int, field: str, obj: Any) -> dict[str, str]:
    """A JSON column's value: ``{"cifrado": "enc1:..."}``."""
    return {JSON_FIELD: seal(key, case_id, field, json.dumps(obj, ensure_ascii=False))}


def open_json(key: bytes | None, case_id: int, field: str, value: Any) -> Any:
    """A JSON column's value decrypted (an old plaintext value as it is)."""
    if isinstance(value, str):
        value = json.loads(value or "null")
    if isinstance(value, dict) and is_sealed(value):
        return json.loads(open_text(key, case_id, field, value[JSON_FIELD]))
    return value


# ----------------------------------------------------------------------------- engine state
#: the associated data's field for ``workflow_state.state``
STATE = "workflow_state.state"
#: the associated data's field for ``nna_case.variables``
VARIABLES = "nna_case.variables"


def unwrap_row(wrapped: str | None, case_id: int) -> bytes | None:
    """A key read with the case (``case_data_key.wrapped``): None when absent or destroyed."""
    return unwrap(wrapped, case_id) if wrapped is not None else None


def seal_state(key: bytes, case_id: int, state: str) -> str:
    """The serialized engine state, compressed then encrypted (``enc1:``). Compressed first
    because a ciphertext does not compress: PostgreSQL's TOAST compressed the plain JSON (it
    repeats every form's answers), and the state is the largest value a command writes."""
    sealed = seal_bytes(key, case_id, STATE, zlib.compress(state.encode(), 1))
    return PREFIX + base64.b64encode(sealed).decode()


def open_state(key: bytes | None, case_id: int, value: str | None) -> str:
    """The engine state's JSON; a state written before it was encrypted as it is."""
    if not value or not is_sealed(value):
        return value or ""
    raw = base64.b64decode(value[len(PREFIX) :])
    return zlib.decompress(open_bytes(key, case_id, STATE, raw)).decode()


# ----------------------------------------------------------------------------- blind index
def _index_key() -> bytes:
    return hmac.new(keys.master_key().secret, b"careroute-name-index", hashlib.sha256).digest()


def token(word: str) -> str:
    """The blind index entry of one folded word (or prefix)."""
    return hmac.new(_index_key(), word.encode(), hashlib.sha256).hexdigest()


def name_tokens(folded_names: str) -> list[str]:
    """Index entries for a folded name string: each word and each of its prefixes of
    ``MIN_PREFIX`` letters or more, so "jos" and "jose" both find "José" (a word's middle
    does not: the price of not storing the name)."""
    words: set[str] = set()
    for word in folded_names.split():
        word = word[:MAX_WORD]
        words.update(word[:n] for n in range(MIN_PREFIX, len(word) + 1))
    return sorted(token(w) for w in words)
