"""The flow kernel (bot/actions/flow.py): the new-flow example of its docstring runs as written,
every step flow is registered under a name the domain declares, and the mechanics every step flow
shares (enter, re-ask, hand off after N misses, leave, stale context, routing answers)."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import actions
import pytest
from actions import flow
from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import find_by_slug, intent_button
from actions.flow import (
    AWAITING_SLOT,
    FLOW_SLOT,
    FLOWS,
    MAX_MISSES,
    STALE_AFTER,
    Ctx,
    Flow,
    answer_values,
    answered_events,
    ask_events,
    flow_for,
    unavailable,
)
from bot_helpers import DOMAIN, make_tracker, signals, slot_events
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

SPECIALTIES = [{"slug": "cardiologia", "name": "Cardiologia"}, {"slug": "pediatria", "name": "Pediatria"}]
DOCTORS = {"cardiologia": [{"name": "Dra. Ana"}, {"name": "Dr. Beto"}], "pediatria": [{"name": "Dra. Carla"}]}


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on port 9: hand-offs still go through (hours unknown).
    monkeypatch.setenv("HUB_URL", "http://127.0.0.1:9")


# -- the documented example ------------------------------------------------------------------


def example_source() -> str:
    """The indented code block of the kernel's docstring."""
    doc = flow.__doc__ or ""
    start = doc.index("    class ActionDoctors(Action):")
    end = doc.index("\nplus, in bot/", start)
    return textwrap.dedent(doc[start:end]).strip() + "\n"


class FakeApi:
    """The two clinic API calls of the example; `fail` makes every call fail like a hub outage."""

    fail = False

    async def specialties(self) -> list[dict[str, Any]]:
        if self.fail:
            raise ClinicApiError(0, "unavailable")
        return SPECIALTIES

    async def doctors(self, specialty: str | None = None) -> list[dict[str, Any]]:
        return DOCTORS[str(specialty)]


def example_action() -> Action:
    namespace: dict[str, Any] = {
        "Action": Action, "Tracker": Tracker, "CollectingDispatcher": CollectingDispatcher,
        "DomainDict": DomainDict, "EventType": EventType, "ClinicApi": FakeApi, "ClinicApiError": ClinicApiError,
        "answer_values": answer_values, "answered_events": answered_events, "ask_events": ask_events,
        "find_by_slug": find_by_slug, "intent_button": intent_button, "unavailable": unavailable,
    }  # fmt: skip
    exec(compile(example_source(), "flow.py docstring", "exec"), namespace)
    action: Action = namespace["ActionDoctors"]()
    return action


def run(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[EventType]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def test_the_example_flow_is_short() -> None:
    assert len(example_source().splitlines()) <= 30


def test_the_example_asks_its_question_with_a_button_per_answer() -> None:
    messages, events = run(example_action(), make_tracker("ask_doctors", "quais médicos vocês têm?"))
    assert [m["response"] for m in messages] == ["utter_ask_which_specialty"]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/ask_doctors{"specialty":"cardiologia"}',
        '/ask_doctors{"specialty":"pediatria"}',
    ]
    assert events == [{"event": "slot", "timestamp": None, "name": AWAITING_SLOT, "value": "ask_doctors"}]


def test_asking_takes_over_from_a_waiting_step_flow() -> None:
    _, events = run(example_action(), make_tracker("ask_doctors", "e os médicos?", slots={FLOW_SLOT: "booking"}))
    assert slot_events(events) == {AWAITING_SLOT: "ask_doctors", FLOW_SLOT: None}


def test_the_example_answers_a_named_or_a_typed_choice() -> None:
    messages, events = run(example_action(), make_tracker("ask_doctors", "cardio", {"specialty": "cardiologia"}))
    assert messages[0]["response"] == "utter_doctors"
    assert messages[0]["doctors"] == "Dra. Ana, Dr. Beto"
    assert events == answered_events()
    asked = {"event": "bot", "data": {"buttons": [
        intent_button("Cardiologia", "ask_doctors", specialty="cardiologia"),
        intent_button("Pediatria", "ask_doctors", specialty="pediatria"),
    ]}}  # fmt: skip
    history = [{"event": "user", "text": "quais médicos?", "parse_data": {}}, asked]
    typed = make_tracker("inform", "a segunda", slots={AWAITING_SLOT: "ask_doctors"}, history=history)
    messages, _ = run(example_action(), typed)
    assert messages[0]["specialty"] == "Pediatria" and messages[0]["doctors"] == "Dra. Carla"


def test_the_example_says_when_the_clinic_api_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeApi, "fail", True)
    messages, events = run(example_action(), make_tracker("ask_doctors", "quais médicos?"))
    assert [m["response"] for m in messages] == ["utter_clinic_unavailable"]
    assert events == []


# -- registered flows ------------------------------------------------------------------------


def test_every_step_flow_is_registered_under_a_name_the_domain_declares() -> None:
    for module in pkgutil.iter_modules(actions.__path__):  # as the action server does
        importlib.import_module(f"actions.{module.name}")
    assert {name: cls.__name__ for name, cls in FLOWS.items()} == {
        "booking": "BookingFlow",
        "confirmation": "ConfirmationFlow",
        "privacy": "PrivacyFlow",
    }
    slots = DOMAIN["slots"]
    assert set(FLOWS) == set(slots[FLOW_SLOT]["values"])
    for cls in FLOWS.values():
        assert cls.ctx_slot in slots, cls.ctx_slot
    assert [cls.name for cls in FLOWS.values() if cls.catch_all] == ["confirmation"]
    # only the flow of the patient's LGPD rights answers without the consent gate
    assert [cls.name for cls in FLOWS.values() if not cls.needs_consent] == ["privacy"]


# -- the mechanics every step flow shares --------------------------------------------------------


class Toy(Flow):
    """A two-answer flow: "ok" ends it, anything else is a miss."""

    ctx_slot = "toy_ctx"
    miss_note = "toy: respostas não compreendidas"
    button_intents = frozenset({"choose_toy"})

    async def on_ask(self, ctx: Ctx) -> list[EventType]:
        if self.text == "ok":
            self.d.utter_message(response="utter_ok")
            return self.done()
        return await self.miss(ctx, "utter_again", buttons=[{"title": "Ok", "payload": "/affirm"}])


Toy.name = "toy"  # set after the class statement: registered only by the fixture below


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Toy]]:
    monkeypatch.setitem(FLOWS, "toy", Toy)
    yield Toy


def step(text: str, ctx: Ctx | None, **slots: Any) -> tuple[list[dict[str, Any]], list[EventType]]:
    tracker = make_tracker("inform", text, slots={FLOW_SLOT: "toy", "toy_ctx": ctx, **slots})
    dispatcher = CollectingDispatcher()
    events = asyncio.run(Toy(dispatcher, tracker, ClinicApi()).resume())
    return dispatcher.messages, events


def test_a_miss_reasks_and_keeps_the_flow_waiting(toy: type[Toy]) -> None:
    messages, events = step("hã?", {"step": "ask"}, **{AWAITING_SLOT: "exam_preparation"})
    assert [m["response"] for m in messages] == ["utter_again"]
    assert [e["name"] for e in events] == [FLOW_SLOT, "toy_ctx", AWAITING_SLOT]
    ctx = slot_events(events)["toy_ctx"]
    assert ctx["misses"] == 1 and ctx["step"] == "ask" and ctx["asked_at"]
    assert ctx["choices"] == [{"title": "Ok", "payload": "/affirm"}]
    assert slot_events(events)[FLOW_SLOT] == "toy" and slot_events(events)[AWAITING_SLOT] is None


def test_the_last_allowed_miss_hands_off_and_leaves(toy: type[Toy]) -> None:
    messages, events = step("hã?", {"step": "ask", "misses": MAX_MISSES - 1})
    assert signals(messages) == [{"handoff": {"reason": "misunderstood", "priority": "normal", "note": Toy.miss_note}}]
    assert events == [
        {"event": "slot", "timestamp": None, "name": FLOW_SLOT, "value": None},
        {"event": "slot", "timestamp": None, "name": "toy_ctx", "value": None},
    ]


def test_leaving_frees_active_flow_only_when_it_is_ours(toy: type[Toy]) -> None:
    _, events = step("ok", {"step": "ask"}, **{FLOW_SLOT: "booking"})
    assert [e["name"] for e in events] == ["toy_ctx"]


def test_a_stale_or_unknown_context_is_lost(toy: type[Toy]) -> None:
    old = (flow.clinic_now() - STALE_AFTER - timedelta(minutes=1)).isoformat()
    for ctx in ({"step": "ask", "asked_at": old}, {"step": "nowhere"}, None):
        messages, events = step("ok", ctx)
        assert [m["response"] for m in messages] == ["utter_booking_lost_context"], ctx
        assert slot_events(events) == {FLOW_SLOT: None, "toy_ctx": None}


def test_answers_go_to_the_waiting_flow_unless_they_are_another_flows_button(toy: type[Toy]) -> None:
    importlib.import_module("actions.confirmation")  # registers booking and confirmation
    waiting_toy = make_tracker("inform", "x", slots={FLOW_SLOT: "toy", "toy_ctx": {"step": "ask"}})
    assert flow_for(waiting_toy, "inform") is Toy
    assert flow_for(waiting_toy, "choose_toy") is Toy
    assert flow_for(waiting_toy, "choose_slot") is FLOWS["booking"]
    waiting_none = make_tracker("choose_toy", "")
    assert flow_for(waiting_none, "choose_toy") is Toy
    assert flow_for(waiting_none, "inform") is FLOWS["confirmation"]  # the catch-all
