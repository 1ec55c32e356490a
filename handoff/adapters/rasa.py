"""Rasa gateway: the hub talks to Rasa only over HTTP (its own input channel, bot/hub_channel.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


class BotUnavailable(Exception):
    """Rasa did not answer (down, restarting, timing out or erroring)."""


@dataclass
class BotTurn:
    """What the bot said for one patient message, plus its NLU reading of it."""

    replies: list[dict[str, Any]] = field(default_factory=list)
    intent: str | None = None
    confidence: float | None = None
    slots: dict[str, Any] = field(default_factory=dict)  # the tracker's slots after the turn


class RasaGateway:
    """Sends one patient message to Rasa and reads back the replies and the parsed intent."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=50))

    async def close(self) -> None:
        """Close the HTTP pool."""
        await self._client.aclose()

    async def turn(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        """Run one bot turn. Raises BotUnavailable when Rasa cannot answer."""
        try:
            resp = await self._client.post(
                f"{self.base_url}/webhooks/hub/webhook",
                json={"sender": conversation_id, "message": text, "metadata": metadata},
            )
            if resp.status_code != 200:
                raise BotUnavailable(f"rasa answered {resp.status_code}")
            body = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(type(exc).__name__) from exc
        if not isinstance(body, dict):
            raise BotUnavailable("rasa answered an unexpected body")
        # One call carries the replies and the turn's NLU reading (bot/hub_channel.py): the
        # intent tags the message for routing and metrics, the slots give staff the bot context.
        replies = body.get("messages")
        turn = BotTurn(replies=replies if isinstance(replies, list) else [])
        intent = body.get("intent")
        if isinstance(intent, dict):
            name, confidence = intent.get("name"), intent.get("confidence")
            turn.intent = name if isinstance(name, str) else None
            turn.confidence = float(confidence) if isinstance(confidence, int | float) else None
        slots = body.get("slots")
        turn.slots = slots if isinstance(slots, dict) else {}
        return turn

    async def status(self) -> dict[str, Any]:
        """Rasa's /status (model loaded?). Raises BotUnavailable."""
        try:
            resp = await self._client.get(f"{self.base_url}/status", timeout=3)
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(type(exc).__name__) from exc

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (used by the triage API)."""
        try:
            resp = await self._client.post(f"{self.base_url}/model/parse", json={"text": text})
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(type(exc).__name__) from exc

    async def load_model(self, model_file: str, timeout: float = 120.0) -> None:
        """Tell Rasa to load a model file (`PUT /model`, needs `rasa run --enable-api`); Rasa keeps
        serving the old model until the new one is loaded. Raises BotUnavailable on any refusal."""
        try:
            resp = await self._client.put(f"{self.base_url}/model", json={"model_file": model_file},
                                          timeout=timeout)
        except httpx.HTTPError as exc:
            raise BotUnavailable(type(exc).__name__) from exc
        if resp.status_code != 204 and resp.status_code != 200:
            raise BotUnavailable(f"rasa answered {resp.status_code}: {resp.text[:300]}")
