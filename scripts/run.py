"""`make run`: start the action server, Rasa and the hub; Ctrl-C stops all of them cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
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


def main() -> int:
    """Run the three processes until Ctrl-C."""
    settings = Settings()
    # The action server calls the hub's clinic API with a service token; without one configured,
    # make one for this run and hand it to both processes (never printed or logged).
    token = settings.clinic_api_token or secrets.token_urlsafe(32)
    hub_url = f"http://127.0.0.1:{settings.hub_port}"
    logs = REPO / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        name: str, args: list[str], cwd: Path, env: dict[str, str], to_log: bool = True
    ) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("ab") if to_log else None
        p = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, stdout=out,
                             stderr=subprocess.STDOUT if out else None, start_new_session=True)
        procs.append((name, p))
        return p

    def stop_all(*_: object) -> None:
        for name, p in reversed(procs):
            if p.poll() is None:
                print(f"parando {name}…", flush=True)
                p.send_signal(signal.SIGTERM)
        for _name, p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        rasa_port = urlsplit(settings.rasa_url).port or 5005
        # Rasa finds the action server through an endpoints file; write one for the configured port.
        endpoints = REPO / "var" / "endpoints.yml"
        endpoints.write_text(rasa_endpoints(settings.actions_port, REPO / "var" / "rasa-tracker.db",
                                            settings.redis_url))
        print(f"iniciando servidor de ações ({settings.actions_port}), Rasa ({rasa_port}) e hub…", flush=True)
        actions = start("actions", [str(REPO / ".venv-bot/bin/python"), "-m", "rasa_sdk", "--actions", "actions",
                                    "-p", str(settings.actions_port)], REPO / "bot",
                        {**BOT_ENV, "HUB_URL": hub_url, "CLINIC_API_TOKEN": token})
        rasa = start("rasa", [str(REPO / ".venv-bot/bin/rasa"), "run", "--enable-api", "-i", "127.0.0.1",
                              "-p", str(rasa_port), "-m", "models", "--endpoints", str(endpoints),
                              "--credentials", "bot/credentials.yml"], REPO, BOT_ENV)
        wait(f"http://127.0.0.1:{settings.actions_port}/health", "actions", actions)
        wait(f"{settings.rasa_url}/status", "rasa", rasa)
        hub = start("hub", [sys.executable, "-m", "handoff"], REPO, {"CLINIC_API_TOKEN": token}, to_log=False)
        wait(f"http://127.0.0.1:{settings.hub_port}/healthz", "hub", hub, timeout=60)
        base = f"http://127.0.0.1:{settings.hub_port}"
        sandbox = (f"\n    Simulador de pacientes (canais):  {base}/sandbox" if settings.channel_sandbox else "")
        print(f"""
  atende está no ar.
    Site de demonstração com o chat:  {base}/
    Saúde do sistema:                 {base}/healthz{sandbox}
    Caixa de entrada (atendentes):    {base}/inbox
    Painel do gestor:                 {base}/dashboard
    Login da equipe (API):            POST {base}/api/auth/login  ({settings.clinic_admin_email})
  Logs do Rasa e das ações em var/log/. Ctrl-C encerra tudo.
""", flush=True)
        while all(p.poll() is None for _, p in procs):
            time.sleep(1)
        dead = [name for name, p in procs if p.poll() is not None]
        print(f"processo encerrado inesperadamente: {', '.join(dead)}", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
