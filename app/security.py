"""Passwords (argon2id) and opaque tokens (sessions, API bearer tokens, CSRF tokens).

Tokens are 256-bit random values; the database stores only their SHA-256, so a copy of the
database does not let anyone act as a user, and no server-wide signing secret is needed (the
reason careroute has no CAREROUTE_SECRET: nothing is signed, everything is looked up).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check: an unknown user costs one argon2 verification as well."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_digest(token: str, digest: str | None) -> bool:
    return digest is not None and hmac.compare_digest(token_digest(token), digest)


def generate_password() -> str:
    """A random password for demo and bootstrap accounts (never a fixed one in the repo)."""
    return secrets.token_urlsafe(12)
