"""A real hub (`python -m handoff` from the hub venv) with the seeded demo clinic, for action tests.

Started once per test session on a free port with a fresh SQLite file and a random service
token; the action server's `HUB_URL` / `CLINIC_API_TOKEN` point at it. Demo patients on a fresh
database: 1 Maria (2 unpaid boletos, ready + processing results), 2 João (paid boleto, ready +
collected results), 3 Ana (1 open boleto, processing result); none has a consent decision.

Tests request the `hub` fixture (tests/bot/conftest.py), which points the actions at it.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.wait import eventually_sync

REPO = Path(__file__).resolve().parents[2]
HUB_PYTHON = REPO / ".venv" / "bin" / "python"
START_TIMEOUT_S = 60.0


@dataclass
class Hub:
    url: str
    token: str

    def get(self, path: str) -> Any:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())


_state: dict[str, Any] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop() -> None:
    proc = _state.get("proc")
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    tmp = _state.get("tmp")
    if tmp is not None:
        tmp.cleanup()


def running_hub() -> Hub:
    """The hub of this test session (started on first use)."""
    if "hub" in _state:
        started: Hub = _state["hub"]
        return started
    if not HUB_PYTHON.exists():
        pytest.fail(f"hub environment missing ({HUB_PYTHON}); run `make install`")
    tmp = tempfile.TemporaryDirectory(prefix="atende-bot-tests-")
    port, token = _free_port(), secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp.name}/hub.db",
        "HUB_PORT": str(port),
        "CLINIC_API_TOKEN": token,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # Nothing listens there: the hub's own bot pipeline is not under test here.
        "RASA_URL": f"http://127.0.0.1:{_free_port()}",
        "ACTIONS_PORT": str(_free_port()),
        "CLINIC_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "PYTHONPATH": str(REPO),  # cwd is the temp dir so no repo `.env` is read
    }
    env.pop("REDIS_URL", None)
    log = open(Path(tmp.name) / "hub.log", "wb")
    proc = subprocess.Popen([str(HUB_PYTHON), "-m", "handoff"], cwd=tmp.name, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    _state.update(proc=proc, tmp=tmp)
    atexit.register(_stop)
    hub = Hub(f"http://127.0.0.1:{port}", token)

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail("hub exited:\n" + (Path(tmp.name) / "hub.log").read_text(errors="replace")[-3000:])
        hub.get("/api/clinic/info")
        return True
    try:
        eventually_sync(answers, timeout=START_TIMEOUT_S, interval=0.3, what="the hub to answer /api/clinic/info",
                        exceptions=(urllib.error.URLError, ConnectionError, OSError))
    except AssertionError:
        pytest.fail("hub did not answer /api/clinic/info in time")
    _state["hub"] = hub
    return hub
