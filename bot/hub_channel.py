"""The hub's input channel: one request per bot turn, answered with the replies AND the turn's
NLU reading (intent, confidence) and slots.

Rasa's REST channel answers only the replies, so the hub used to read the intent back with a
second HTTP call (`GET /conversations/<id>/tracker`), which serialised the whole tracker state on
every patient message. Here the tracker is read in-process right after the turn, from the same
tracker store, and only the three fields the hub records are returned.

`POST /webhooks/hub/webhook` `{"sender", "message", "metadata"}` →
`{"messages": [<bot message>...], "intent": {"name", "confidence"} | null, "slots": {...}}`.

The reading is taken from the tracker object Rasa saves at the end of the turn (the tracker
store's `save` is wrapped once per store, and records only for turns of this channel that are in
flight); reading the tracker back from the store instead replays every event of the conversation,
a cost that grew with the length of the chat. A turn whose save was not seen falls back to that
read.

Failure semantics are those of the REST channel: a turn that fails inside Rasa still answers
200 with whatever was collected (the user message is already in the tracker; retrying it would
make it a second turn). Unlike the REST channel, nothing here logs the message text: it is a
patient's health data (LGPD).
"""

from __future__ import annotations

import inspect
import logging
import time
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


class HubInput(InputChannel):
    """Registered in `credentials.yml` as `hub_channel.HubInput` (bot/ is on PYTHONPATH)."""

    @classmethod
    def name(cls) -> str:
        return "hub"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """`GET /webhooks/hub/` (health) and `POST /webhooks/hub/webhook` (one turn)."""
        module = inspect.getmodule(self)
        hub = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "send a non-empty `sender` and a `message` string"}, status=400)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            # Rasa swallows a failed custom action ("the action's events are lost") and ends the turn
            # silently: the patient would get no answer. With the action server down, refuse the turn
            # before it starts (nothing recorded; the hub retries it later, in order) ...
            if not await _actions_alive(request):
                return response.json({"error": "action server unavailable"}, status=503)
            collector = CollectingOutputChannel()
            agent = getattr(request.app.ctx, "agent", None)
            readings = remember_readings(agent.tracker_store) if agent is not None else None
            if readings is not None:
                readings.expect(sender)
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                 metadata=metadata))
            except CancelledError:
                log.error("hub channel: turn timed out")
            except Exception as exc:  # noqa: BLE001 - same contract as the REST channel (see module doc)
                log.error("hub channel: turn failed (%s)", type(exc).__name__)
            finally:
                reading = readings.take(sender) if readings is not None else None
            # ... and when it died during the turn and nothing was said, ask for the turn again (Rasa
            # then sees the message twice; the patient gets one answer)
            if not collector.messages and not await _actions_alive(request, fresh=True):
                return response.json({"error": "action server died during the turn"}, status=503)
            return response.json({"messages": collector.messages, **(reading or await _reading(request, sender))})

        # add_route rather than the @route decorator: the same routes, and sanic 21.12's decorator is
        # untyped (it would erase the handlers' types)
        hub.add_route(health, "/", methods=["GET"])
        hub.add_route(receive, "/webhook", methods=["POST"])
        return hub


_ALIVE_FOR = 1.0  # seconds a successful check is trusted before a turn (the post-turn check is fresh)
_alive_at = 0.0
_session: aiohttp.ClientSession | None = None


async def _actions_alive(request: Request, fresh: bool = False) -> bool:
    """Whether the action server answers `GET /health` (True when none is configured)."""
    global _alive_at, _session
    agent = getattr(request.app.ctx, "agent", None)
    endpoint = getattr(agent, "action_endpoint", None)
    url = getattr(endpoint, "url", None)
    if not url:
        return True
    if not fresh and time.monotonic() - _alive_at < _ALIVE_FOR:
        return True
    health = url.rsplit("/webhook", 1)[0].rstrip("/") + "/health"
    if _session is None or _session.closed:
        _session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
    try:
        async with _session.get(health) as resp:
            alive = resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        alive = False
    _alive_at = time.monotonic() if alive else 0.0
    return alive


class TurnReadings:
    """Readings (intent + slots) of the trackers saved during the hub channel's turns in flight.

    Only senders announced with `expect` are recorded, so turns of other channels (REST, the
    conversations API) sharing the store leave nothing behind; `take` ends the turn either way."""

    def __init__(self) -> None:
        self._expected: set[str] = set()
        self._readings: dict[str, dict[str, Any]] = {}

    def expect(self, sender: str) -> None:
        """A turn for `sender` starts: record its saved tracker."""
        self._expected.add(sender)
        self._readings.pop(sender, None)

    def record(self, tracker: Any) -> None:
        """Called with each tracker the store saved."""
        if tracker.sender_id in self._expected:
            self._readings[tracker.sender_id] = reading_of(tracker)

    def take(self, sender: str) -> dict[str, Any] | None:
        """The turn for `sender` ended: its reading, or None when no save was seen."""
        self._expected.discard(sender)
        return self._readings.pop(sender, None)


_READINGS_ATTR = "_atende_turn_readings"


def remember_readings(store: Any) -> TurnReadings:
    """The `TurnReadings` of `store`, wrapping its `save` the first time (Rasa's processor saves
    through the same store object as `agent.tracker_store`; a new agent after a model reload
    brings a new store, wrapped on its first turn)."""
    readings: TurnReadings | None = getattr(store, _READINGS_ATTR, None)
    if readings is not None:
        return readings
    readings = TurnReadings()
    save = store.save

    async def save_and_remember(tracker: Any, *args: Any, **kwargs: Any) -> Any:
        result = await save(tracker, *args, **kwargs)
        readings.record(tracker)
        return result

    store.save = save_and_remember
    setattr(store, _READINGS_ATTR, readings)
    return readings


def reading_of(tracker: Any) -> dict[str, Any]:
    """The hub's three fields of a tracker: the latest message's intent (name, confidence) and the
    slot values."""
    intent: dict[str, Any] | None = (tracker.latest_message.intent if tracker.latest_message else None) or None
    return {
        "intent": {"name": intent.get("name"), "confidence": intent.get("confidence")} if intent else None,
        "slots": tracker.current_slot_values(),
    }


async def _reading(request: Request, sender: str) -> dict[str, Any]:
    """The latest message's intent and the slots, from the tracker store (best effort: the
    replies must reach the patient even if this fails)."""
    agent = getattr(request.app.ctx, "agent", None)
    try:
        tracker = await agent.tracker_store.retrieve(sender) if agent is not None else None
    except Exception as exc:  # noqa: BLE001 - tags never block replies
        log.warning("hub channel: tracker unreadable (%s)", type(exc).__name__)
        tracker = None
    if tracker is None:
        return {"intent": None, "slots": {}}
    return reading_of(tracker)
