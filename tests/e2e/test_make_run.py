"""`make run`'s entry point on a fresh state: it starts the action server, Rasa and the hub,
serves the demo clinic with the chat widget, restarts Rasa after a kill -9 (shown in /healthz), and
Ctrl-C stops all three."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.support.net import free_port
from tests.support.stack import REPO
from tests.support.wait import eventually_sync


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_serves_the_demo_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    hub, actions, rasa = free_port(), free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HUB_PORT": str(hub), "ACTIONS_PORT": str(actions),
           "RASA_URL": f"http://127.0.0.1:{rasa}", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
           "CLINIC_ADMIN_PASSWORD": "run-test-password-123"}
    proc = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "atende está no ar" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(300), "".join(lines[-30:])
        base = f"http://127.0.0.1:{hub}"
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and '<script src="/webchat/widget.js" defer></script>' in page.text
        health = httpx.get(f"{base}/healthz", timeout=10).json()
        assert health["status"] == "ok", health
        printed = "".join(lines)
        assert f"{base}/inbox" in printed and f"{base}/dashboard" in printed
        assert all(_listening(p) for p in (hub, actions, rasa))

        # a crashed Rasa is restarted by the supervisor; the event shows in /healthz
        supervised = health["supervisor"]["children"]
        assert set(supervised) == {"actions", "rasa", "hub"} and supervised["rasa"]["status"] == "running"
        os.kill(supervised["rasa"]["pid"], signal.SIGKILL)
        last = {"health": health}

        def restarted() -> bool:
            last["health"] = seen = httpx.get(f"{base}/healthz", timeout=10).json()
            return bool(seen["supervisor"]["children"]["rasa"]["restarts"] == 1 and seen["status"] == "ok")
        with contextlib.suppress(AssertionError):  # the state seen last is reported just below
            eventually_sync(restarted, timeout=240, interval=1, what="rasa restarted by the supervisor")
        health = last["health"]
        rasa_state = health["supervisor"]["children"]["rasa"]
        assert rasa_state["restarts"] == 1 and rasa_state["last_exit_code"] == -signal.SIGKILL, health
        assert health["status"] == "ok", health  # Rasa is back with its model
        assert any("rasa encerrou com código -9" in e["event"] for e in health["supervisor"]["events"])
        assert "[supervisor] rasa encerrou com código -9; reiniciado" in "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        code = proc.wait(90)
    assert code == 0, "".join(lines[-30:])
    with contextlib.suppress(AssertionError):  # checked just below
        eventually_sync(lambda: not any(_listening(p) for p in (hub, actions, rasa)), timeout=30, interval=0.5,
                        what="every process gone after Ctrl-C")
    assert not any(_listening(p) for p in (hub, actions, rasa)), "a process survived Ctrl-C"
