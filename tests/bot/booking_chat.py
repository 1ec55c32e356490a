"""The REAL hub for the bot's action tests, and `Chat`, a tiny stand-in for Rasa's dialogue loop.

`start_hub()` starts `.venv/bin/python -m handoff` (seeded demo clinic, temporary SQLite) and
points the actions' clinic API at it; `Chat` routes each intent to the action the rules in
bot/data/rules/ name, runs it with rasa_sdk's own Tracker/CollectingDispatcher and applies the
returned slot events. Used by test_booking_actions.py and test_reminder_replies.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bot"))

from actions.booking import ActionBookingStart, ActionRescheduleStart  # noqa: E402
from actions.clinic_api import ClinicApi  # noqa: E402
from actions.input_route import ActionFlowContinue  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402
from rasa_sdk.interfaces import Tracker  # noqa: E402

from tests.support.wait import eventually_sync  # noqa: E402

SP = ZoneInfo("America/Sao_Paulo")
TOKEN = "booking-tests-token"
HUB_PYTHON = ROOT / ".venv" / "bin" / "python"

# ------------------------------------------------------------------------------------------
# the hub


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Hub:
    def __init__(self, url: str, db_path: str) -> None:
        self.url = url
        self.db_path = db_path

    def api(self) -> ClinicApi:
        return ClinicApi(self.url, TOKEN)

    def new_patient(self, name: str = "Paciente Teste") -> int:
        """A patient as the hub creates it on first contact: no CPF, no birth date."""
        with sqlite3.connect(self.db_path) as db:
            cur = db.execute(
                "INSERT INTO patients (display_name, created_at) VALUES (?, ?)",
                (name, datetime.now(SP).isoformat(sep=" ")),
            )
            return int(cur.lastrowid or 0)


def start_hub() -> Iterator[Hub]:
    if not HUB_PYTHON.exists():
        pytest.skip("hub environment (.venv) not installed")
    tmp = tempfile.mkdtemp(prefix="atende-booking-")
    db_path = os.path.join(tmp, "hub.db")
    port = _free_port()
    env = {
        **os.environ,
        "CLINIC_API_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "HUB_PORT": str(port),
        "HUB_HOST": "127.0.0.1",
    }
    log = open(os.path.join(tmp, "hub.log"), "wb")
    proc = subprocess.Popen([str(HUB_PYTHON), "-m", "handoff"], cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            return True  # exited: stop waiting, reported below
        request = urllib.request.Request(f"{url}/api/clinic/specialties", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=2) as resp:
            return bool(resp.status == 200)
    try:
        eventually_sync(answers, timeout=90, interval=0.5, what="the hub to answer", exceptions=(OSError,))
        up = proc.poll() is None
    except AssertionError:
        up = False
    if not up:
        proc.kill()
        log.close()
        raise RuntimeError("hub did not start: " + Path(tmp, "hub.log").read_text(errors="replace")[-2000:])
    old = {k: os.environ.get(k) for k in ("HUB_URL", "CLINIC_API_TOKEN")}
    os.environ["HUB_URL"] = url
    os.environ["CLINIC_API_TOKEN"] = TOKEN
    try:
        yield Hub(url, db_path)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()



# ------------------------------------------------------------------------------------------
# a tiny stand-in for Rasa's dialogue loop

ROUTES = {
    "book_appointment": "booking_start",
    "ask_availability": "booking_start",
    "symptom_consult": "booking_start",
    "reschedule_appointment": "reschedule_start",
    "check_appointment": "check",
    "confirm_appointment": "confirm",
    "cancel_appointment": "cancel",
}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class RasaStandIn:
    """Rasa's part in one conversation: `say` builds the user event, asks `action_for` which action
    the rules would run, runs it with rasa_sdk's Tracker/CollectingDispatcher and applies the
    returned slot events. Subclasses route intents (`action_for`) and may change the metadata."""

    sender = "test"
    domain: ClassVar[Any] = {}  # the domain dict passed to Action.run (read only)
    confidence = 1.0  # the NLU confidence of a typed message

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.slots: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.last: list[dict[str, Any]] = []

    def action_for(self, intent: str) -> Any:
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        """What the hub sends with each message (the reminder tests add theirs)."""
        return {"patient_id": self.pid, "channel": "webchat"} if self.pid is not None else {}

    def say(self, text: str, intent: str, confidence: float | None = None, **entities: Any) -> list[dict[str, Any]]:
        metadata = self.metadata()
        message = {
            "text": text,
            "intent": {"name": intent, "confidence": self.confidence if confidence is None else confidence},
            "entities": [{"entity": k, "value": v} for k, v in entities.items()],
            "metadata": metadata,
        }
        self.events.append({"event": "user", "text": text, "parse_data": message, "metadata": metadata})
        action = self.action_for(intent)
        tracker = Tracker(self.sender, dict(self.slots), message, list(self.events), False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = run(action.run(dispatcher, tracker, self.domain))
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.events.append({"event": "action", "name": action.name()})
        self.events.extend(events)
        self.last = dispatcher.messages
        return dispatcher.messages

    def responses(self) -> list[str]:
        return [m.get("response") or "" for m in self.last]


class Chat(RasaStandIn):
    """One patient's conversation: routes intents like bot/data/rules/{booking,confirmation}.yml."""

    def __init__(self, hub: Hub, pid: int | None, consent: bool = True) -> None:
        super().__init__(pid)
        self.hub = hub
        self.actions: list[str] = []
        if consent and pid is not None:
            run(hub.api().record_consent(pid, True, "privacidade-v1"))

    def action_for(self, intent: str) -> Any:
        from actions import confirmation

        route = ROUTES.get(intent)
        if route is None:
            assert intent in {"choose_slot", "choose_when", "choose_appointment"} or self.slots.get("active_flow"), (
                f"no rule for {intent} without an active flow"
            )
            return ActionFlowContinue()
        return {
            "booking_start": ActionBookingStart(),
            "reschedule_start": ActionRescheduleStart(),
            "check": confirmation.ActionCheckAppointment(),
            "confirm": confirmation.ActionConfirmAppointment(),
            "cancel": confirmation.ActionCancelAppointment(),
        }[route]

    def click(self, button: dict[str, Any]) -> list[dict[str, Any]]:
        """Tap a button: parse `/intent{json}` like Rasa's payload parser."""
        payload = button["payload"]
        match = re.fullmatch(r"/(\w+)(\{.*\})?", payload)
        assert match, payload
        entities = json.loads(match.group(2)) if match.group(2) else {}
        return self.say(payload, match.group(1), **entities)

    # -- reading the bot's answer ------------------------------------------------------------

    def buttons(self) -> list[dict[str, Any]]:
        return [b for m in self.last for b in (m.get("buttons") or [])]

    def slot_buttons(self) -> list[dict[str, Any]]:
        return [b for b in self.buttons() if b["payload"].startswith("/choose_slot")]

    @property
    def ctx(self) -> dict[str, Any]:
        return self.slots.get("booking_ctx") or {}


def upcoming(hub: Hub, pid: int) -> list[dict[str, Any]]:
    return [a for a in run(hub.api().appointments(pid, scope="upcoming")) if a["status"] in ("scheduled", "confirmed")]


def next_weekday(weekday: int) -> datetime:
    now = datetime.now(SP)
    days = (weekday - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
