"""`make run`: start the action server, Rasa and the hub; Ctrl-C stops all of them cleanly."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from handoff.settings import Settings

REPO = Path(__file__).resolve().parent.parent
BOT_ENV = {"PYTHONPATH": str(REPO / "bot"), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}


def wait(url: str, name: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Wait for `url` to answer 200 while `proc` is alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode}; see var/log/{name}.log")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{name} did not become ready in {timeout:.0f}s; see var/log/{name}.log")


def rasa_endpoints(actions_port: int, tracker_db: Path, redis_url: str | None) -> str:
    """Rasa's endpoints file: the action server, dialogue state in a SQL tracker store (a SQLite file
    under var/, so a patient mid-flow carries on after a Rasa restart or a model deploy — PUT /model
    builds a new agent, which would start an in-memory store empty) and, when Redis is configured,
    Rasa's Redis lock store (one turn at a time per conversation across Rasa processes)."""
    text = (f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n"
            f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tracker_db}\n")
    if redis_url:
        r = urlsplit(redis_url)
        db = (r.path or "/0").strip("/") or "0"
        text += (
            f"lock_store:\n  type: redis\n  url: {r.hostname or '127.0.0.1'}\n"
            f"  port: {r.port or 6379}\n  db: {db}\n"
        )
        if r.password:
            text += f"  password: {r.password}\n"
    return text


@dataclass
class Child:
    """One supervised process: how to start it, and what happened to it."""

    name: str
    args: list[str]
    cwd: Path
    env: dict[str, str]
    to_log: bool = True
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    last_exit: int | None = None
    last_restart_at: str | None = None
    recent: list[float] = field(default_factory=list)  # restart times (crash-loop guard)


class Supervisor:
    """Starts the children and restarts one that dies (with backoff); every event is printed, kept
    in `var/supervisor.json` (the hub's /healthz shows it: SUPERVISOR_STATUS_FILE) and logged."""

    MAX_RESTARTS, WINDOW = 5, 120.0  # more than this many crashes in the window: give up

    def __init__(self, logs: Path, status_file: Path) -> None:
        self.logs, self.status_file = logs, status_file
        self.children: list[Child] = []
        self.events: list[dict[str, object]] = []

    def start(self, child: Child) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{child.name}.log").open("ab") if child.to_log else None
        child.popen = subprocess.Popen(child.args, cwd=child.cwd, env={**os.environ, **child.env}, stdout=out,
                                       stderr=subprocess.STDOUT if out else None, start_new_session=True)
        if child not in self.children:
            self.children.append(child)
        self.write()
        return child.popen

    def event(self, text: str, **data: object) -> None:
        at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.events = [*self.events[-19:], {"at": at, "event": text, **data}]
        print(f"[supervisor] {text}", flush=True)
        self.write()

    def write(self) -> None:
        status = {"children": {c.name: {"pid": c.popen.pid if c.popen else None,
                                        "status": "running" if c.popen and c.popen.poll() is None else "down",
                                        "restarts": c.restarts, "last_exit_code": c.last_exit,
                                        "last_restart_at": c.last_restart_at} for c in self.children},
                  "events": self.events}
        tmp = self.status_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(status, ensure_ascii=False, indent=2))
        tmp.replace(self.status_file)

    def watch_once(self) -> str | None:
        """Restart what died; the name of a child that crash-loops (give up), else None."""
        for c in self.children:
            if c.popen is None or c.popen.poll() is None:
                continue
            c.last_exit = c.popen.returncode
            now = time.monotonic()
            c.recent = [t for t in c.recent if now - t < self.WINDOW] + [now]
            if len(c.recent) > self.MAX_RESTARTS:
                self.event(f"{c.name} caiu {len(c.recent)} vezes em {self.WINDOW:.0f} s; desistindo",
                           child=c.name, exit_code=c.last_exit)
                return c.name
            time.sleep(min(30.0, 2.0 ** (len(c.recent) - 1)))  # backoff: 1, 2, 4... s
            c.restarts += 1
            c.last_restart_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            self.start(c)
            self.event(f"{c.name} encerrou com código {c.last_exit}; reiniciado (reinício nº {c.restarts})",
                       child=c.name, exit_code=c.last_exit, restarts=c.restarts)
        return None

    def stop_all(self) -> None:
        for c in reversed(self.children):
            if c.popen is not None and c.popen.poll() is None:
                print(f"parando {c.name}…", flush=True)
                c.popen.send_signal(signal.SIGTERM)
        for c in self.children:
            if c.popen is None:
                continue
            try:
                c.popen.wait(20)
            except subprocess.TimeoutExpired:
                c.popen.kill()


def main() -> int:
    """Run the action server(s), Rasa replica(s) and the hub until Ctrl-C, restarting any that dies.

    RASA_REPLICAS (default 1) starts that many Rasa + action server pairs (ports RASA_URL's + i and
    ACTIONS_PORT + i) sharing the SQLite tracker store; the hub spreads turns over them."""
    settings = Settings()
    # The action server calls the hub's clinic API with a service token; without one configured,
    # make one for this run and hand it to both processes (never printed or logged).
    token = settings.clinic_api_token or secrets.token_urlsafe(32)
    hub_url = f"http://127.0.0.1:{settings.hub_port}"
    logs = REPO / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    sup = Supervisor(logs, REPO / "var" / "supervisor.json")
    replicas = max(1, int(os.environ.get("RASA_REPLICAS", "1")))

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # Ctrl-C stops everything even when this process was started with SIGINT ignored (a shell
    # starts background jobs that way, and Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        rasa_port = urlsplit(settings.rasa_url).port or 5005
        rasa_urls, actions_urls = [], []
        print(f"iniciando {replicas} servidor(es) de ações e Rasa ({rasa_port}…) e o hub…", flush=True)
        for i in range(replicas):
            actions_port, port = settings.actions_port + i, rasa_port + i
            suffix = "" if replicas == 1 else f"-{i + 1}"
            # Rasa finds its action server through an endpoints file; one per replica.
            endpoints = REPO / "var" / f"endpoints{suffix}.yml"
            endpoints.write_text(rasa_endpoints(actions_port, REPO / "var" / "rasa-tracker.db", settings.redis_url))
            actions = sup.start(Child(f"actions{suffix}", [str(REPO / ".venv-bot/bin/python"), "-m", "rasa_sdk",
                                                            "--actions", "actions", "-p", str(actions_port)],
                                      REPO / "bot", {**BOT_ENV, "HUB_URL": hub_url, "CLINIC_API_TOKEN": token,
                                                     # links sent to patients (privacy notice)
                                                     "PUBLIC_BASE_URL": settings.public_base_url}))
            rasa = sup.start(Child(f"rasa{suffix}", [str(REPO / ".venv-bot/bin/rasa"), "run", "--enable-api", "-i",
                                                      "127.0.0.1", "-p", str(port), "-m", "models", "--endpoints",
                                                      str(endpoints), "--credentials", "bot/credentials.yml"],
                                   REPO, BOT_ENV))
            wait(f"http://127.0.0.1:{actions_port}/health", f"actions{suffix}", actions)
            wait(f"http://127.0.0.1:{port}/status", f"rasa{suffix}", rasa)
            rasa_urls.append(f"http://127.0.0.1:{port}")
            actions_urls.append(f"http://127.0.0.1:{actions_port}")
        hub_env = {"CLINIC_API_TOKEN": token, "SUPERVISOR_STATUS_FILE": str(sup.status_file),
                   "RASA_URLS": ",".join(rasa_urls), "ACTIONS_URLS": ",".join(actions_urls)}
        hub = sup.start(Child("hub", [sys.executable, "-m", "handoff"], REPO, hub_env, to_log=False))
        wait(f"http://127.0.0.1:{settings.hub_port}/healthz", "hub", hub, timeout=60)
        base = f"http://127.0.0.1:{settings.hub_port}"
        sandbox = (f"\n    Simulador de pacientes (canais):  {base}/sandbox" if settings.channel_sandbox else "")
        print(f"""
  atende está no ar.
    Site de demonstração com o chat:  {base}/
    Saúde do sistema:                 {base}/healthz{sandbox}
    Caixa de entrada (atendentes):    {base}/inbox
    Painel do gestor:                 {base}/dashboard
    Ensinar o bot (gestores):         {base}/bot
    Login da equipe (API):            POST {base}/api/auth/login  ({settings.clinic_admin_email})
  Logs do Rasa e das ações em var/log/. Um processo que cair é reiniciado. Ctrl-C encerra tudo.
""", flush=True)
        while True:
            gave_up = sup.watch_once()
            if gave_up is not None:
                print(f"processo encerrado repetidamente: {gave_up}; veja var/log/", flush=True)
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    finally:
        sup.stop_all()


if __name__ == "__main__":
    sys.exit(main())
