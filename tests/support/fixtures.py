"""Provider payloads kept as files: tests/fixtures/<provider>/<name>.json (see its README).

Each file is one webhook body (Twilio: its form fields as a JSON object) in the shape the
provider documents, named after the provider's docs. Values that change per test are
placeholders: a string that is exactly ``"{{key}}"`` becomes the value given for `key` (any JSON
type: `"{{latitude}}"` can become a float), ``"{{key}}"`` inside a longer string is replaced by
the value as text. Ids and clocks nobody asked for get fresh values (`DEFAULTS`); any other
placeholder must be given, and a key that matches no placeholder is refused (a typo would
otherwise go unnoticed).

The Meta helpers below take the one message (or status, or event) out of such a body and put
several in one batch, as Meta delivers them.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_PLACEHOLDER = re.compile(r"\{\{([a-z0-9_]+)\}\}")


def _wamid() -> str:
    return "wamid.HBgM" + uuid.uuid4().hex.upper()


DEFAULTS: dict[str, Callable[[], Any]] = {
    "timestamp": lambda: str(int(time.time())),  # WhatsApp: seconds, as a string
    "time_ms": lambda: int(time.time() * 1000),  # Messenger / Instagram: milliseconds
    "watermark": lambda: int(time.time() * 1000),
    "expiration_timestamp": lambda: str(int(time.time()) + 24 * 3600),
    "wamid": _wamid,
    "context_wamid": _wamid,
    "reacted_wamid": _wamid,
    "mid": lambda: "m_" + uuid.uuid4().hex,
    "sid": lambda: "SM" + uuid.uuid4().hex,
    "call_sid": lambda: "CA" + uuid.uuid4().hex,
    "conversation_id": lambda: uuid.uuid4().hex,
    "sha256": lambda: uuid.uuid4().hex + uuid.uuid4().hex,
    "profile_name": lambda: "Paciente Teste",
}


def _placeholders(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for value in node.values():
            _placeholders(value, found)
    elif isinstance(node, list):
        for value in node:
            _placeholders(value, found)
    elif isinstance(node, str):
        found.update(_PLACEHOLDER.findall(node))
    return found


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, values) for v in node]
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), node)
    return node


def load_fixture(provider: str, name: str, **overrides: Any) -> Any:
    """The payload of tests/fixtures/<provider>/<name>.json with its placeholders filled."""
    path = FIXTURES / provider / f"{name}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    wanted = _placeholders(raw, set())
    unknown = set(overrides) - wanted
    if unknown:
        raise TypeError(f"{provider}/{name}: no placeholder for {sorted(unknown)}")
    values = {key: overrides[key] if key in overrides else DEFAULTS[key]()
              for key in wanted if key in overrides or key in DEFAULTS}
    missing = wanted - set(values)
    if missing:
        raise TypeError(f"{provider}/{name}: give {sorted(missing)}")
    return _fill(raw, values)


# --- WhatsApp Cloud API ------------------------------------------------------------------------------

def _wa_value(body: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = body["entry"][0]["changes"][0]["value"]
    return value


def wa_message(name: str, **overrides: Any) -> dict[str, Any]:
    """The one `value.messages[]` item of whatsapp_cloud/<name>.json."""
    message: dict[str, Any] = _wa_value(load_fixture("whatsapp_cloud", name, **overrides))["messages"][0]
    return message


def wa_status(name: str, **overrides: Any) -> dict[str, Any]:
    """The one `value.statuses[]` item of whatsapp_cloud/<name>.json."""
    status: dict[str, Any] = _wa_value(load_fixture("whatsapp_cloud", name, **overrides))["statuses"][0]
    return status


def wa_change(messages: list[dict[str, Any]] | None = None, contacts: list[tuple[str, str]] | None = None,
              statuses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One `changes[]` item (`field: messages`): the fixtures' envelope around these items;
    `contacts` are (wa_id, profile name) pairs."""
    change: dict[str, Any] = copy.deepcopy(
        load_fixture("whatsapp_cloud", "statuses_read", wa_id="-")["entry"][0]["changes"][0])
    value = change["value"]
    del value["statuses"]
    if contacts:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id} for wa_id, name in contacts]
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return change


def wa_body(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A `whatsapp_business_account` webhook body: one entry per list of changes."""
    envelope = load_fixture("whatsapp_cloud", "statuses_read", wa_id="-")
    business_id = envelope["entry"][0]["id"]
    return {"object": envelope["object"], "entry": [{"id": business_id, "changes": changes} for changes in entries]}


# --- Instagram and Messenger -------------------------------------------------------------------------

PAGE_IDS = {"instagram": "17841400000000000", "messenger": "105000000000001"}


def messaging_event(provider: str, name: str, **overrides: Any) -> dict[str, Any]:
    """The one `entry[].messaging[]` event of <provider>/<name>.json (provider: instagram or
    messenger; `page_id` defaults to the test page of that provider)."""
    overrides.setdefault("page_id", PAGE_IDS[provider])
    event: dict[str, Any] = load_fixture(provider, name, **overrides)["entry"][0]["messaging"][0]
    return event


def messaging_body(provider: str, *events: dict[str, Any], page_id: str | None = None) -> dict[str, Any]:
    """A webhook body with one entry per event (as Meta batches them), in the envelope of
    <provider>/messages_text.json."""
    page = page_id or PAGE_IDS[provider]
    envelope = load_fixture(provider, "messages_text", page_id=page, sender_id="-", text="-")
    entry = envelope["entry"][0]
    return {"object": envelope["object"],
            "entry": [{"id": page, "time": entry["time"], "messaging": [event]} for event in events]}
