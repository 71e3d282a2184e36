"""Every secret key careroute uses, kept outside the database.

Why outside: whoever can write the database (a DBA, a stolen backup, SQL running as the table
owner) must not be able to recompute what the keys protect. With the keys in the database they
could guess a form back from its digest, or sign a checkpoint of a history they rewrote.

| key | file in the keys folder | environment override | protects |
|---|---|---|---|
| HMAC key | ``audit-hmac.key`` | ``CAREROUTE_HMAC_KEY`` | the audit trail's digests of forms and free text (app/audit.py): without it nobody can confirm a guess |
| signing key (Ed25519) | ``checkpoint-signing.key`` (``.pub``: its public half, for oversight) | ``CAREROUTE_SIGNING_KEY`` | the signed checkpoints of the chain head (app/services/checkpoints.py) |
| master key (AES-256) | ``data-master.key`` | ``CAREROUTE_MASTER_KEY`` | wraps each case's data key (app/datakeys.py) and keys the name search's blind index: a copy of the database without it holds no readable identity, form or note |

Losing the master key loses every case's personal data: back it up apart from the database
(docs/data-protection.md).

Every key file holds 32 random bytes in base64 (the Ed25519 key as its raw private seed), one
line; an override holds the same text. The folder is ``CAREROUTE_KEYS_DIR``, else
``careroute-keys`` next to the SQLite file, else ``./careroute-keys``. ``careroute keys init``
(and the demo) create whatever is missing, never overwriting a key; ``careroute serve`` and
``careroute worker`` refuse to start without them (``KeysUnavailable``: one line saying what to
do), so a production server never runs with digests nobody can check later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HMAC_FILE = "audit-hmac.key"
SIGNING_FILE = "checkpoint-signing.key"
PUBLIC_FILE = "checkpoint-signing.pub"
HMAC_ENV = "CAREROUTE_HMAC_KEY"
SIGNING_ENV = "CAREROUTE_SIGNING_KEY"
MASTER_FILE = "data-master.key"
MASTER_ENV = "CAREROUTE_MASTER_KEY"
DIR_ENV = "CAREROUTE_KEYS_DIR"
DEFAULT_DIR_NAME = "careroute-keys"
KEY_BYTES = 32


class KeysUnavailable(Exception):
    """A key is missing or unreadable: the operator's to fix. The message is one line naming
    the key, where it was looked for, and what to do."""


@dataclass(frozen=True)
class HmacKey:
    secret: bytes = b""
    #: short public name of the key, recorded next to each digest so a later key rotation can
    #: tell which key made which digest (it reveals nothing about the key)
    key_id: str = ""

    def digest(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


def keys_dir() -> Path:
    """Where the key files are (see the module docstring)."""
    configured = os.environ.get(DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    from app.db import database_url  # no engine is built: only the URL is read

    url = database_url()
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :]).expanduser().resolve().parent / DEFAULT_DIR_NAME
    return Path(DEFAULT_DIR_NAME).resolve()


def _decode(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise KeysUnavailable(
            f"{what} is not {KEY_BYTES} bytes in base64: run careroute keys init with an empty "
            f"{DIR_ENV} folder to make new keys, or restore the right file"
        )
    return raw


def _read(filename: str, env: str) -> bytes:
    override = os.environ.get(env, "").strip()
    if override:
        return _decode(override, env)
    path = keys_dir() / filename
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeysUnavailable(
            f"no key {path} (nor {env}): run `careroute keys init` (or set {DIR_ENV} to the "
            "folder holding the keys); keep that folder outside the database and its backups"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeysUnavailable(f"cannot read the key {path} ({exc}): fix its permissions") from exc
    return _decode(text, str(path))


def _key_id(purpose: bytes, material: bytes) -> str:
    return hashlib.sha256(purpose + material).hexdigest()[:16]


@cache
def hmac_key() -> HmacKey:
    """The audit's HMAC-SHA256 key (loaded once per process; ``reload()`` forgets it)."""
    secret = _read(HMAC_FILE, HMAC_ENV)
    return HmacKey(secret, _key_id(b"careroute-hmac-key-id\x00", secret))


@cache
def signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key that signs checkpoints of the audit chain."""
    return Ed25519PrivateKey.from_private_bytes(_read(SIGNING_FILE, SIGNING_ENV))


@dataclass(frozen=True)
class MasterKey:
    secret: bytes = b""
    key_id: str = ""


@cache
def master_key() -> MasterKey:
    """The AES-256 key that wraps the per-case data keys (app/datakeys.py)."""
    secret = _read(MASTER_FILE, MASTER_ENV)
    return MasterKey(secret, _key_id(b"careroute-master-key-id\x00", secret))


def public_key_text(key: Ed25519PublicKey | None = None) -> str:
    """The public half (of ``key``, else of the signing key) as base64: what oversight keeps."""
    key = key or signing_key().public_key()
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_id(key: Ed25519PublicKey | None = None) -> str:
    """Short name of a public key (the signing key's by default), printed with checkpoints."""
    key = key or signing_key().public_key()
    return _key_id(b"", key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as base64 (the ``.pub`` file's content or ``public_key_text()``)."""
    return Ed25519PublicKey.from_public_bytes(_decode(text, "the public key"))


def require() -> None:
    """Raise KeysUnavailable unless every key loads: servers and workers call it at start."""
    hmac_key()
    signing_key()
    master_key()


def reload() -> None:
    """Forget the loaded keys (tests; a process that was given new keys)."""
    hmac_key.cache_clear()
    signing_key.cache_clear()
    master_key.cache_clear()


def init(directory: Path | None = None) -> list[Path]:
    """Create the keys missing in ``directory`` (default: keys_dir()); returns the files made.

    Never overwrites: a lost HMAC key makes every digest unverifiable, a replaced signing key
    invalidates the checkpoints oversight holds. Files are 0600 in a 0700 folder."""
    folder = Path(directory) if directory is not None else keys_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    made: list[Path] = []
    for name in (HMAC_FILE, SIGNING_FILE, MASTER_FILE):
        path = folder / name
        if path.exists():
            continue
        _write_private(path, base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        made.append(path)
    public = folder / PUBLIC_FILE
    private = Ed25519PrivateKey.from_private_bytes(
        _decode((folder / SIGNING_FILE).read_text(encoding="ascii"), SIGNING_FILE)
    )
    text = public_key_text(private.public_key()) + "\n"
    if not public.exists() or public.read_text(encoding="ascii") != text:
        public.write_text(text, encoding="ascii")
        made.append(public)
    reload()
    return made


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)
