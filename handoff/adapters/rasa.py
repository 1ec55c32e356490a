"""Rasa gateway: the hub talks to Rasa only over HTTP (its own input channel, bot/hub_channel.py).

Several Rasa replicas (each with its action server) may stand behind the hub (`RASA_URLS`). They
share dialogue state (the SQL tracker store, the Redis lock store), so any replica can take any turn;
a conversation still goes to the same replica while that one is healthy (rendezvous hashing), which
keeps its turns on one process and spreads conversations evenly.

- Health: with more than one replica, or with a deployed model to keep in place, a loop asks each
  replica's `/status` every `health_interval` seconds; a replica that fails a turn or a check is taken
  out at once and comes back when a check passes.
- A turn that fails on one replica before an answer came back (connection refused or cut, a timeout,
  a 5xx) is retried once on another replica: the first never answered, so the patient gets one
  answer. With one replica the error goes to the caller (the bot pipeline retries with backoff).
- Deploy (`load_model`): every replica loads the model, one after the other; while one loads (Rasa
  does it inside its event loop, ~2 s) it takes no new turns and its turns in flight end first, so
  patients are answered by the others (with a single replica they wait for the load). If one refuses
  or does not answer, those already swapped go back to the previous model and the deploy fails: the
  old model keeps serving everywhere.
- Reconcile: a replica that (re)starts loads the newest file of `models/`; the health loop puts the
  deployed model (`desired_model`) back on it before it takes turns again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import httpx

from handoff.adapters.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa did not answer (down, restarting, timing out or erroring)."""


class _TurnFailed(BotUnavailable):
    """This replica gave no answer to the turn; another may."""


@dataclass
class BotTurn:
    """What the bot said for one patient message, plus its NLU reading of it."""

    replies: list[dict[str, Any]] = field(default_factory=list)
    intent: str | None = None
    confidence: float | None = None
    slots: dict[str, Any] = field(default_factory=dict)  # the tracker's slots after the turn


@dataclass
class Replica:
    """One Rasa server as the hub sees it."""

    url: str
    healthy: bool = True
    model_file: str | None = None  # what /status said last
    last_error: str | None = None
    down_since: float | None = None
    turns: int = 0
    retried_elsewhere: int = 0
    inflight: int = 0
    draining: bool = False  # loading a model: no new turns while others can take them
    loaded_at: float = 0.0  # a health check that started before this says nothing about it now

    def view(self) -> dict[str, Any]:
        """For /healthz."""
        status = "ok" if self.healthy else f"down ({self.last_error or 'unknown'})"
        return {"url": self.url, "status": "loading a model" if self.draining and self.healthy else status,
                "model": self.model_file, "turns": self.turns, "turns_retried_elsewhere": self.retried_elsewhere}


def _weight(key: str, url: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}|{url}".encode(), digest_size=8).digest(), "big")


class RasaGateway:
    """Sends one patient message to a Rasa replica and reads back the replies and the parsed intent."""

    def __init__(self, base_urls: str | Sequence[str], timeout: float, health_interval: float = 2.0) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("at least one Rasa URL")
        self.replicas = [Replica(u.rstrip("/")) for u in urls]
        self.base_url = self.replicas[0].url
        self.health_interval = health_interval
        self.desired_model: str | None = None  # the deployed model's path (None: whatever models/ has)
        self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=50))
        self._health: asyncio.Task[None] | None = None
        self._swap = asyncio.Lock()  # a deploy and a reconcile never load models at the same time

    async def start(self) -> None:
        """Start the health loop (idempotent)."""
        if self._health is None:
            self._health = asyncio.create_task(self._health_loop())

    async def close(self) -> None:
        """Stop the health loop and close the HTTP pool."""
        await cancel_and_wait([self._health])
        await self._client.aclose()

    # -- choosing a replica ---------------------------------------------------------------------

    def _order(self, key: str) -> list[Replica]:
        """Healthy replicas by rendezvous weight for `key`, then the unhealthy ones (a last resort)."""
        ranked = sorted(self.replicas, key=lambda r: _weight(key, r.url), reverse=True)
        ready = [r for r in ranked if r.healthy and not r.draining]
        return ready + [r for r in ranked if r not in ready]

    def _down(self, replica: Replica, why: str) -> None:
        if replica.healthy:
            log.warning("rasa replica %s taken out: %s", replica.url, why)
            replica.down_since = time.monotonic()
        replica.healthy, replica.last_error = False, why

    # -- turns ----------------------------------------------------------------------------------

    async def turn(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        """Run one bot turn. Raises BotUnavailable when no replica could answer."""
        candidates = self._order(conversation_id)[:2] if len(self.replicas) > 1 else self.replicas
        last: BotUnavailable | None = None
        for i, replica in enumerate(candidates):
            try:
                turn = await self._turn_on(replica, conversation_id, text, metadata)
            except _TurnFailed as exc:
                last = exc
                if len(self.replicas) > 1:
                    self._down(replica, str(exc))
                    if i == 0 and len(candidates) > 1:
                        replica.retried_elsewhere += 1
                continue
            replica.turns += 1
            return turn
        assert last is not None
        raise BotUnavailable(str(last)) from last

    async def _turn_on(self, replica: Replica, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotTurn:
        replica.inflight += 1
        try:
            resp = await self._client.post(
                f"{replica.url}/webhooks/hub/webhook",
                json={"sender": conversation_id, "message": text, "metadata": metadata},
            )
        except httpx.HTTPError as exc:
            raise _TurnFailed(type(exc).__name__) from exc
        finally:
            replica.inflight -= 1
        if resp.status_code != 200:
            raise _TurnFailed(f"rasa answered {resp.status_code}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise _TurnFailed("rasa answered a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise _TurnFailed("rasa answered an unexpected body")
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

    # -- status, parse --------------------------------------------------------------------------

    async def _status_of(self, replica: Replica, timeout: float = 3) -> dict[str, Any]:
        try:
            resp = await self._client.get(f"{replica.url}/status", timeout=timeout)
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BotUnavailable(type(exc).__name__) from exc
        replica.model_file = data.get("model_file") if isinstance(data.get("model_file"), str) else None
        return data

    async def status(self) -> dict[str, Any]:
        """Rasa's /status of a replica that answers (model loaded?). Raises BotUnavailable."""
        last: BotUnavailable | None = None
        for replica in self._order("status"):
            try:
                return await self._status_of(replica)
            except BotUnavailable as exc:
                last = exc
        assert last is not None
        raise last

    def replicas_view(self) -> list[dict[str, Any]]:
        """Every replica's state (for /healthz)."""
        return [r.view() for r in self.replicas]

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (used by the triage API and the teaching red-flag check)."""
        last: BotUnavailable | None = None
        for replica in self._order(text)[:2]:
            try:
                resp = await self._client.post(f"{replica.url}/model/parse", json={"text": text})
                resp.raise_for_status()
                data: dict[str, Any] = resp.json()
                return data
            except (httpx.HTTPError, ValueError) as exc:
                last = BotUnavailable(type(exc).__name__)
        assert last is not None
        raise last

    # -- deploy ---------------------------------------------------------------------------------

    async def _load_on(self, replica: Replica, model_file: str, timeout: float) -> None:
        # Rasa loads a model inside its event loop (~2 s on 2 vCPU, turns wait meanwhile): when other
        # replicas can answer, this one gets no new turns and its turns in flight end first.
        others = any(r is not replica and r.healthy and not r.draining for r in self.replicas)
        replica.draining = others
        try:
            deadline = time.monotonic() + 10
            while others and replica.inflight and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            resp = await self._client.put(f"{replica.url}/model", json={"model_file": model_file}, timeout=timeout)
        except httpx.HTTPError as exc:
            raise BotUnavailable(f"{replica.url}: {type(exc).__name__}") from exc
        finally:
            replica.draining = False
        if resp.status_code not in (200, 204):
            raise BotUnavailable(f"{replica.url}: rasa answered {resp.status_code}: {resp.text[:300]}")
        replica.model_file = PurePath(model_file).name
        # While it loaded, its event loop was blocked and a health check may have taken it out: it
        # answers again now, so it is back at once (the next replica to load relies on it).
        with contextlib.suppress(BotUnavailable):
            await self._status_of(replica)
            replica.healthy, replica.last_error, replica.down_since = True, None, None
            replica.loaded_at = time.monotonic()

    async def load_model(self, model_file: str, timeout: float = 120.0, previous: str | None = None) -> None:
        """Every replica loads `model_file` (`PUT /model`, needs `rasa run --enable-api`); each keeps
        serving the old model until the new one is loaded. When one refuses or does not answer, the
        replicas already swapped load `previous` again and BotUnavailable is raised."""
        async with self._swap:
            done: list[Replica] = []
            for replica in self.replicas:
                try:
                    await self._load_on(replica, model_file, timeout)
                except BotUnavailable:
                    for back in done:
                        if previous is None:
                            break
                        try:
                            await self._load_on(back, previous, timeout)
                        except BotUnavailable:  # the health loop's reconcile tries again
                            log.error("rasa replica %s could not go back to the previous model", back.url)
                    raise
                done.append(replica)
            self.desired_model = model_file

    # -- health loop ----------------------------------------------------------------------------

    async def _check(self, replica: Replica) -> None:
        started = time.monotonic()
        try:
            data = await self._status_of(replica, timeout=max(0.5, self.health_interval * 0.75))
        except BotUnavailable as exc:
            # a check that began while the replica was loading a model (its loop blocked) is stale
            if len(self.replicas) > 1 and not replica.draining and started >= replica.loaded_at:
                self._down(replica, f"status: {exc}")
            return
        if not (data.get("model_file") or data.get("model_id")):
            self._down(replica, "no model loaded")
            return
        desired = self.desired_model
        if desired is not None and replica.model_file != PurePath(desired).name and not self._swap.locked():
            # a replica that restarted serves models/'s newest file: put the deployed model back
            self._down(replica, "loading the deployed model")
            async with self._swap:
                try:
                    await self._load_on(replica, desired, 120.0)
                except BotUnavailable as exc:
                    log.error("rasa replica %s did not load the deployed model: %s", replica.url, exc)
                    return
            log.info("rasa replica %s now serves the deployed model", replica.url)
        if not replica.healthy:
            log.info("rasa replica %s back in service", replica.url)
        replica.healthy, replica.last_error, replica.down_since = True, None, None

    async def _health_loop(self) -> None:
        while True:
            # one replica and nothing deployed: nothing to take out or put back (turns report errors)
            if len(self.replicas) > 1 or self.desired_model is not None:
                await asyncio.gather(*(self._check(r) for r in self.replicas), return_exceptions=True)
            await asyncio.sleep(self.health_interval)
