"""Counters for the reliability suite's closing summary line."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx


@dataclass
class Stats:
    requests: int = 0
    crashes: int = 0
    acked_checked: int = 0
    lost: int = 0
    matrix_cells: int = 0
    st_operations: int = 0
    st_cases: int = 0
    server_errors: int = 0
    history_tried: int = 0
    history_detected: int = 0
    #: concurrent login bursts sent (test_login_burst.py), and logins whose password was
    #: checked beyond the budget in one of them (must be 0)
    login_bursts: int = 0
    logins_past_limit: int = 0
    used: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)
            self.used = True

    def response(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.used = True
            if status >= 500:
                self.server_errors += 1

    def line(self) -> str:
        return (
            f"reliability: requests sent {self.requests}, crashes survived {self.crashes}, "
            f"acknowledged writes checked {self.acked_checked}, lost writes {self.lost}, "
            f"matrix cells checked {self.matrix_cells}, schemathesis operations "
            f"{self.st_operations} cases {self.st_cases}, 5xx {self.server_errors}, "
            f"rewritten-history attempts detected {self.history_detected}/{self.history_tried}, "
            f"concurrent login bursts tried {self.login_bursts}, "
            f"logins past the limit {self.logins_past_limit}"
        )


STATS = Stats()


async def count_response(response: httpx.Response) -> None:
    """httpx AsyncClient response hook."""
    STATS.response(response.status_code)


def count_sync_response(response: httpx.Response) -> None:
    """httpx Client response hook."""
    STATS.response(response.status_code)
