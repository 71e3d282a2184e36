"""Login throttling in the database: counted before the password is checked, shared by every
server process, and shaped so that nobody can lock someone else out.

Every login attempt first *reserves* a place in three budgets, in one write transaction that
commits before any password work (so 40 requests sent at once are counted one after another,
whichever process receives them):

``pair`` (the account typed, from this client address)
    a token bucket of ``account_limit`` attempts (default 5) refilled over ``window`` (15 min):
    5 guesses at once, then one every 3 minutes. Only this address is slowed for this account;
    the account's owner, elsewhere, is not.
``address`` (every account, from this client address)
    a bucket of ``address_limit`` attempts (default 30) over the same window: spraying many
    accounts from one place.
``account`` (the account typed, from every address, for guessing spread over many addresses)
    a progressive delay, never a lock: the first ``account_free`` failures (default 10) in a
    window cost nothing, then each attempt must wait ``delay_step`` seconds more than the last
    (2 s, 4 s, ...) up to ``delay_max`` (60 s). An address this account logged in from before
    (in the last 30 days) skips it, so an attacker holding the delay up does not keep the owner
    out.

A refused reservation answers 429 with ``Retry-After`` and changes nothing (no row updated, no
audit row, no argon2 work). After the password check, a success gives its reservation back
(``succeeded``): only failures stay counted, so people behind one NAT do not use up each
other's budget; a failure keeps it, and it is the only attempt the audit trail records. Failed
logins in the audit trail are therefore bounded by the budgets too.

Keys are SHA-256 digests of the account name (case-folded) and the address, so the table holds
no typed user names (a password typed in the name field). Rows past their use are purged now and
then. Settings: ``CAREROUTE_LOGIN_ACCOUNT_LIMIT``, ``CAREROUTE_LOGIN_ADDRESS_LIMIT``,
``CAREROUTE_LOGIN_WINDOW_S``, ``CAREROUTE_LOGIN_ACCOUNT_FREE``, ``CAREROUTE_LOGIN_DELAY_STEP_S``,
``CAREROUTE_LOGIN_DELAY_MAX_S``. docs/security.md, "Login throttle".
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from app.db import is_sqlite, write_tx
from app.errors import ServiceError
from app.tables import LoginThrottle as Row

#: A successful login makes its address "known" for the account this long (seconds).
KNOWN_ADDRESS_S = 30 * 24 * 3600
#: One reservation in this many also purges rows nobody needs any more.
PURGE_ONE_IN = 50


class TooManyAttempts(ServiceError):
    """429: too many login attempts for this account from this address, from this address, or
    (progressive delay) for this account from everywhere."""

    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__("too many failed logins; try again later")
        self.retry_after = retry_after


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass
class Reservation:
    """What one attempt took, so a success can give it back."""

    account: str
    address: str
    keys: list[tuple[str, float]]  # (key, the bucket's interval T, or 0 for the account delay)
    now: float


def _sql(text: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """``:name`` placeholders -> Piccolo's positional ``{}`` and the argument list. Numbers are
    cast, so PostgreSQL never has to guess a parameter's type from ``$1 + $2``."""
    args: list[Any] = []

    def one(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        args.append(value)
        if isinstance(value, float):
            return "CAST({} AS DOUBLE PRECISION)"
        if isinstance(value, int):
            return "CAST({} AS INTEGER)"
        return "{}"

    return re.sub(r":([a-z_]+)", one, text), args


async def _run(text: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    sql, args = _sql(text, values)
    return await Row.raw(sql, *args)


#: A token bucket (GCRA): ``tat`` is the theoretical arrival time of the next attempt. Allowed
#: while ``tat <= now + tau`` (tau = window - T: ``limit`` attempts at once); each attempt moves
#: ``tat`` on by T. When refused the row is left as it was.
_BUCKET = """
INSERT INTO login_throttle (key, tat, n, w, expires) VALUES (:key, :fresh_tat, 1, :now, :fresh_tat)
ON CONFLICT (key) DO UPDATE SET
  tat = CASE WHEN login_throttle.tat > :now THEN login_throttle.tat + :t ELSE :fresh_tat END,
  expires = CASE WHEN login_throttle.tat > :now THEN login_throttle.tat + :t ELSE :fresh_tat END
WHERE login_throttle.tat <= :allow_until
RETURNING tat
"""

#: The account's progressive delay: ``n`` failures counted since ``w`` (a fixed window); the
#: next attempt is allowed from ``tat`` = the last attempt + (n - free) * step, capped.
_NEW_N = "(CASE WHEN login_throttle.w <= :window_floor THEN 1 ELSE login_throttle.n + 1 END)"
_ACCOUNT = """
INSERT INTO login_throttle (key, tat, n, w, expires) VALUES (:key, :now, 1, :now, :window_end)
ON CONFLICT (key) DO UPDATE SET
  n = {_NEW_N},
  w = CASE WHEN login_throttle.w <= :window_floor THEN :now ELSE login_throttle.w END,
  tat = :now + CASE
    WHEN {_NEW_N} <= :free THEN 0
    WHEN ({_NEW_N} - :free) * :step >= :max_delay THEN :max_delay
    ELSE ({_NEW_N} - :free) * :step END,
  expires = :expires
WHERE login_throttle.tat <= :now
RETURNING tat
""".replace("{_NEW_N}", _NEW_N)

_GIVE_BACK_BUCKET = "UPDATE login_throttle SET tat = tat - :t, expires = tat - :t WHERE key = :key"
_GIVE_BACK_ACCOUNT = "UPDATE login_throttle SET n = n - 1 WHERE key = :key AND n > 0"


@dataclass
class LoginThrottle:
    account_limit: int = field(
        default_factory=lambda: int(_env_number("CAREROUTE_LOGIN_ACCOUNT_LIMIT", 5))
    )
    address_limit: int = field(
        default_factory=lambda: int(_env_number("CAREROUTE_LOGIN_ADDRESS_LIMIT", 30))
    )
    window: float = field(default_factory=lambda: _env_number("CAREROUTE_LOGIN_WINDOW_S", 900))
    account_free: int = field(
        default_factory=lambda: int(_env_number("CAREROUTE_LOGIN_ACCOUNT_FREE", 10))
    )
    delay_step: float = field(
        default_factory=lambda: _env_number("CAREROUTE_LOGIN_DELAY_STEP_S", 2)
    )
    delay_max: float = field(default_factory=lambda: _env_number("CAREROUTE_LOGIN_DELAY_MAX_S", 60))

    def _interval(self, limit: int) -> float:
        return self.window / max(1, limit)

    async def reserve(
        self, username: str, address: str | None, now: float | None = None
    ) -> Reservation:
        """Take this attempt's place in every budget, or raise TooManyAttempts (nothing taken).

        One write transaction, committed before the caller checks the password."""
        now = time.time() if now is None else now
        account = username.casefold()
        addr = address or "-"
        pair_t = self._interval(self.account_limit)
        addr_t = self._interval(self.address_limit)
        buckets = [
            ("a:" + _digest(addr), addr_t, self.address_limit),
            ("p:" + _digest(account, addr), pair_t, self.account_limit),
        ]
        taken: list[tuple[str, float]] = []
        wait = 0.0
        async with write_tx():
            for key, t, limit in buckets:
                if limit <= 0:
                    continue
                rows = await _run(
                    _BUCKET,
                    {
                        "key": key,
                        "now": now,
                        "t": t,
                        "fresh_tat": now + t,
                        "allow_until": now + self.window - t,
                    },
                )
                if not rows:
                    wait = await self._wait(key, now + self.window - t)
                    break
                taken.append((key, t))
            if not wait and self.delay_max > 0 and not await self._known(account, addr, now):
                key = "u:" + _digest(account)
                rows = await _run(
                    _ACCOUNT,
                    {
                        "key": key,
                        "now": now,
                        "window_floor": now - self.window,
                        "window_end": now + self.window,
                        "free": self.account_free,
                        "step": self.delay_step,
                        "max_delay": self.delay_max,
                        "expires": now + self.window + self.delay_max,
                    },
                )
                if rows:
                    taken.append((key, 0.0))
                else:
                    wait = await self._wait(key, now)
            if wait:
                raise _Refused(wait)  # rolls the transaction back: nothing taken
        if random.random() < 1 / PURGE_ONE_IN:  # noqa: S311 (housekeeping, not security)
            await self.purge(now)
        return Reservation(account, addr, taken, now)

    async def _wait(self, key: str, offset: float) -> float:
        row = await Row.select(Row.tat).where(Row.key == key).first()
        return max(1.0, (row["tat"] if row else 0.0) - offset)

    async def _known(self, account: str, addr: str, now: float) -> bool:
        return await Row.exists().where(
            (Row.key == "k:" + _digest(account, addr)) & (Row.expires > now)
        )

    async def succeeded(self, reservation: Reservation) -> None:
        """The password was right: give the attempt back, forget this pair's failures, and
        remember the address as one this account logs in from."""
        now = reservation.now
        known = "k:" + _digest(reservation.account, reservation.address)
        async with write_tx():
            for key, t in reservation.keys:
                if key.startswith("p:"):
                    await Row.delete().where(Row.key == key)
                elif t:
                    await _run(_GIVE_BACK_BUCKET, {"key": key, "t": t})
                else:
                    await _run(_GIVE_BACK_ACCOUNT, {"key": key})
            await _run(
                "INSERT INTO login_throttle (key, tat, n, w, expires)"
                " VALUES (:key, :now, 0, :now, :until)"
                " ON CONFLICT (key) DO UPDATE SET expires = :until",
                {"key": known, "now": now, "until": now + KNOWN_ADDRESS_S},
            )

    async def purge(self, now: float | None = None) -> None:
        """Drop rows that no longer slow anyone (their bucket is full again, their window over,
        their known address expired)."""
        now = time.time() if now is None else now
        if is_sqlite():
            async with write_tx():
                await Row.delete().where(Row.expires < now)
            return
        await Row.raw(  # never wait for a row a login holds: skip it, the next purge gets it
            "DELETE FROM login_throttle WHERE id IN (SELECT id FROM login_throttle"
            " WHERE expires < {} LIMIT 1000 FOR UPDATE SKIP LOCKED)",
            now,
        )

    async def reset(self) -> None:
        """Forget everything (tests, and an operator after an incident)."""
        async with write_tx():
            await Row.delete(force=True)


class _Refused(Exception):
    def __init__(self, wait: float):
        super().__init__("refused")
        self.wait = wait


#: The throttle used by app.services.auth.login (settings read once, at import).
LOGIN_THROTTLE = LoginThrottle()


async def reserve(username: str, address: str | None) -> Reservation:
    """LOGIN_THROTTLE.reserve, with a refusal as the 429 error."""
    try:
        return await LOGIN_THROTTLE.reserve(username, address)
    except _Refused as exc:
        raise TooManyAttempts(max(1, math.ceil(exc.wait))) from None
