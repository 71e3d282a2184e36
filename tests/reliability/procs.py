"""Real ``careroute`` processes for the crash and multi-node tests (127.0.0.1 only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.app.helpers import PASSWORD
from tests.reliability.stats import count_sync_response

CAREROUTE = [sys.executable, "-m", "app.cli"]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CAREROUTE, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Server:
    """``careroute serve`` on a free port; ``kill()`` is SIGKILL (no shutdown hooks run)."""

    def __init__(self, env: dict[str, str], log_dir: Path, tick: float | None = None):
        self.env = dict(env)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"serve-{self.port}.log"
        self.tick = tick
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Server:
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        # The deadline worker runs only where a test asks for it (a huge tick = off).
        args += ["--tick", str(self.tick or 0)]
        env = {**self.env, "CAREROUTE_WORKER": "1" if self.tick else "0"}
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*CAREROUTE, *args], env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if hasattr(self, "log"):
            self.log.close()

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, timeout=timeout, event_hooks={"response": [count_sync_response]}
        )


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post(
        "/api/v1/auth/login", json={"username": username, "password": password, "mode": "api"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
