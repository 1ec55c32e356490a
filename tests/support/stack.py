"""Start and stop the real processes tests talk to: Rasa, the action server, the hub."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.net import free_port, wait_http

REPO = Path(__file__).resolve().parents[2]
BOT_PY = REPO / ".venv-bot" / "bin" / "python"
HUB_PY = Path(sys.executable)
BOT_ENV = {"PYTHONPATH": str(REPO / "bot"), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}


@dataclass
class Proc:
    """A child process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    def restart(self) -> None:
        """Start the same command again (after a kill), output appended to the same log."""
        self.kill()
        fh = self.log.open("ab")
        self.popen = subprocess.Popen(self.args, cwd=self.cwd, env={**os.environ, **self.env}, stdout=fh,
                                      stderr=subprocess.STDOUT)

    def tail(self, n: int = 40) -> str:
        """Last lines of its output (for failure messages)."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop it (SIGKILL simulates a crash)."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


def spawn(name: str, args: list[str], *, env: dict[str, str], cwd: Path, log_dir: Path, port: int) -> Proc:
    """Start a process with output to `log_dir/name.log`."""
    log = log_dir / f"{name}.log"
    fh = log.open("ab")
    popen = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT)
    return Proc(name, popen, log, port, args, env, cwd)


@dataclass
class BotStack:
    """A real trained Rasa model behind a real Rasa server, plus the action server."""

    rasa: Proc
    actions: Proc
    hub_port: int
    clinic_api_token: str
    procs: list[Proc] = field(default_factory=list)

    def hub_env(self) -> dict[str, str]:
        """Environment for a hub the action server can call back (its clinic API)."""
        return {"RASA_URL": self.rasa_url, "HUB_PORT": str(self.hub_port),
                "CLINIC_API_TOKEN": self.clinic_api_token, "ACTIONS_URL": self.actions_url}

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL."""
        return f"http://127.0.0.1:{self.rasa.port}"

    @property
    def actions_url(self) -> str:
        """The action server's base URL."""
        return f"http://127.0.0.1:{self.actions.port}"

    def stop(self) -> None:
        """Stop both."""
        self.rasa.kill()
        self.actions.kill()


def start_bot_stack(log_dir: Path, *, tracker_store: str | None = None, hub_port: int | None = None,
                    token: str | None = None) -> BotStack:
    """Start the action server and Rasa on free ports; wait until the model is loaded.

    The actions call the clinic API of a hub on `hub_port` (reserved here unless given): a test that
    needs clinic data starts its hub with `stack.hub_env()`; one such hub runs at a time. Replicas of
    one bot tier share `hub_port`, `token` and a `tracker_store` (endpoints YAML, e.g. PostgreSQL +
    Redis lock store); by default each stack keeps its dialogue state in its own SQLite file.
    """
    models = sorted((REPO / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError("no trained model in models/: run `make train` (make test does it)")
    actions_port, rasa_port, hub_port = free_port(), free_port(), hub_port or free_port()
    token = token or secrets.token_urlsafe(32)
    endpoints = log_dir / "endpoints.yml"
    # Dialogue state in a SQL tracker store (a SQLite file per stack), as `make run` does: a model
    # deploy (PUT /model builds a new agent) or a Rasa restart keeps every conversation's flow.
    tracker_store = tracker_store or (f"tracker_store:\n  type: SQL\n  dialect: sqlite\n"
                                      f"  db: {log_dir / 'rasa-tracker.db'}\n")
    endpoints.write_text(f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n{tracker_store}")
    actions = spawn("actions", [str(BOT_PY), "-m", "rasa_sdk", "--actions", "actions", "-p", str(actions_port)],
                    env={**BOT_ENV, "HUB_URL": f"http://127.0.0.1:{hub_port}", "CLINIC_API_TOKEN": token},
                    cwd=REPO / "bot", log_dir=log_dir, port=actions_port)
    rasa = spawn("rasa", [str(REPO / ".venv-bot" / "bin" / "rasa"), "run", "--enable-api", "-p", str(rasa_port),
                          "-i", "127.0.0.1", "-m", str(REPO / "models"), "--endpoints", str(endpoints),
                          "--credentials", str(REPO / "bot" / "credentials.yml")],
                 env=BOT_ENV, cwd=REPO, log_dir=log_dir, port=rasa_port)
    stack = BotStack(rasa, actions, hub_port, token)
    try:
        wait_http(f"{stack.actions_url}/health", timeout=120)
        wait_http(f"{stack.rasa_url}/status", timeout=240)
    except TimeoutError as exc:
        stack.stop()
        raise RuntimeError(f"bot stack did not start\n--- rasa\n{rasa.tail()}\n--- actions\n{actions.tail()}") from exc
    return stack


def start_hub(log_dir: Path, env: dict[str, str], name: str = "hub") -> Proc:
    """Start `python -m handoff` (real process) and wait for it to listen."""
    port = int(env.get("HUB_PORT") or free_port())
    proc = spawn(name, [str(HUB_PY), "-m", "handoff"], env={**env, "HUB_PORT": str(port)}, cwd=REPO,
                 log_dir=log_dir, port=port)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, ok=(200, 503))
    except TimeoutError as exc:
        proc.kill()
        raise RuntimeError(f"hub did not start\n{proc.tail()}") from exc
    return proc
