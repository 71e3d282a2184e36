"""Login throttling: slow down password guessing per account and per client address.

A sliding window of failed logins is kept per key (``account:<username>`` and
``address:<ip>``). When a key has ``limit`` failures inside ``window`` seconds, further logins on
it answer 429 with ``Retry-After`` (seconds until the oldest failure leaves the window) *without*
checking the password, so a locked account costs an attacker nothing but time and costs the server
no argon2 work. A successful login clears its account's failures (not its address's).

Defaults: 5 failures per account and 30 per address in 15 minutes; set
``CAREROUTE_LOGIN_ACCOUNT_LIMIT``, ``CAREROUTE_LOGIN_ADDRESS_LIMIT`` and
``CAREROUTE_LOGIN_WINDOW_S`` to change them.

The state is in process memory: with N app nodes an attacker gets at most N times the budget (a
load balancer with sticky client addresses keeps it at 1x). That trade-off is deliberate: a
database table would turn every failed guess into a write on the one table every node contends
for, which is the kind of load an attacker would like to cause. See docs/security.md.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from dataclasses import dataclass, field

from app.errors import ServiceError

#: Keys kept at most; the oldest are dropped first (bounds memory under a spray of addresses).
MAX_KEYS = 100_000


class TooManyAttempts(ServiceError):
    """429: too many failed logins for this account or from this address."""

    status_code = 429

    def __init__(self, retry_after: int):
        super().__init__("too many failed logins; try again later")
        self.retry_after = retry_after


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class LoginThrottle:
    account_limit: int = field(default_factory=lambda: _env_int("CAREROUTE_LOGIN_ACCOUNT_LIMIT", 5))
    address_limit: int = field(
        default_factory=lambda: _env_int("CAREROUTE_LOGIN_ADDRESS_LIMIT", 30)
    )
    window: float = field(default_factory=lambda: float(_env_int("CAREROUTE_LOGIN_WINDOW_S", 900)))
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _keys(self, username: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"account:{username.casefold()}", self.account_limit)]
        if address:
            keys.append((f"address:{address}", self.address_limit))
        return keys

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, username: str, address: str | None, now: float | None = None) -> None:
        """Raise TooManyAttempts if the account or the address is over its limit."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        for key, limit in self._keys(username, address):
            times = self._recent(key, now)
            if len(times) >= limit > 0:
                wait = max(wait, times[len(times) - limit] + self.window - now)
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))

    def failed(self, username: str, address: str | None, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key, _limit in self._keys(username, address):
            times = self._recent(key, now)
            if key not in self._failures:
                if len(self._failures) >= MAX_KEYS:
                    self._failures.pop(next(iter(self._failures)))
                self._failures[key] = times
            times.append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"account:{username.casefold()}", None)

    def reset(self) -> None:
        self._failures.clear()


#: The process-wide throttle used by app.services.auth.login.
LOGIN_THROTTLE = LoginThrottle()
