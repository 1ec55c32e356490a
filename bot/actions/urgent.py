"""Urgent path: safety message + urgent-priority handoff, immediately, at any hour, WITHOUT consent.

Deliberately independent of the hub's clinic API (no network call can delay or break it) and of
the consent gate. It never diagnoses or advises anything beyond seeking emergency care.
The handoff note carries red-flag codes only, never the patient's text.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable

from rasa_sdk.events import ActiveLoop, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.handoff import handoff_signal

log = logging.getLogger(__name__)

SUICIDE_CATEGORY = "suicide"
# Safety net used only when clinic_nlu.red_flags cannot be imported or gives no category: the
# CVV message must never be lost because of an import error. The real rules live in red_flags.py.
_SUICIDE_FALLBACK = re.compile(
    r"\b(suicid\w*|me matar|me mata|tirar (a )?minha (propria )?vida|acabar com (a )?minha vida|"
    r"(quero|vou|penso em|pensando em) morrer|nao quero (mais )?viver|me (cortar|corto|machucar)|"
    r"automutila\w*|autolesao|se matar)\b"
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def detect_flags(text: str) -> list[tuple[str, str]] | None:
    """(code, category) of every red flag in `text` via clinic_nlu.red_flags; None when the rule
    layer is unavailable or failed (then the local safety net decides about CVV)."""
    try:
        from clinic_nlu import red_flags
    except ImportError:
        log.warning("clinic_nlu.red_flags unavailable; using the suicide safety net only")
        return None
    try:
        return [(str(f.code), str(f.category)) for f in red_flags.detect(text or "")]
    except Exception:
        log.exception("red_flags.detect failed")
        return None


SUICIDE_CODE_HINTS = ("suicid", "self_harm")


def is_suicide_risk(text: str, entity_codes: Iterable[str], flags: list[tuple[str, str]] | None) -> bool:
    """True when a red flag is of category `suicide`: the rule layer on the text, or the
    `red_flag` entity codes; the local safety net only when the rule layer is unavailable."""
    if any(hint in code for code in entity_codes for hint in SUICIDE_CODE_HINTS):
        return True
    if flags is None:
        return bool(_SUICIDE_FALLBACK.search(_fold(text or "")))
    return any(category == SUICIDE_CATEGORY for _, category in flags)


def category_labels(flags: Iterable[tuple[str, str]]) -> list[str]:
    """pt-BR labels of the flags' categories (clinic_nlu.red_flags.CATEGORIES), for the team."""
    try:
        from clinic_nlu.red_flags import CATEGORIES
    except ImportError:
        CATEGORIES = {}  # noqa: N806
    labels: list[str] = []
    for _, category in flags:
        label = CATEGORIES.get(category, category)
        if label not in labels:
            labels.append(label)
    return labels


# Said to the team when the classifier alone read the message as urgent: no rule confirms it, so
# the bot preferred urgent (a false alarm costs a nurse a minute) and says so.
UNCONFIRMED_LABEL = "nenhuma regra confirmou: classificador preferiu urgente; confirmar com o paciente"


def flag_explanations(text: str) -> list[str]:
    """pt-BR reasons of the rule layer for the team: the protocol item of concept flags and what to
    confirm when a rule fired unsure ("menciona evento passado"). Never the patient's words."""
    try:
        from clinic_nlu import red_flags
    except ImportError:
        return []
    try:
        flags = red_flags.detect(text or "")
    except Exception:
        log.exception("red_flags.detect failed")
        return []
    out: list[str] = []
    for flag in flags:
        for label in (flag.why, f"confirmar: {flag.unsure}" if flag.unsure else ""):
            if label and label not in out:
                out.append(label)
    return out


def urgent_note(codes: Iterable[str], labels: Iterable[str] = ()) -> str:
    """Handoff note: red-flag codes (+ category labels), never the message text."""
    unique = sorted({c for c in codes if c})
    note = "red_flags: " + (", ".join(unique) if unique else "nenhum (classificador)")
    labels = list(labels)
    if labels:
        note += " | " + "; ".join(labels)
    return note


def red_flag_entities(tracker: Tracker) -> list[str]:
    entities = tracker.latest_message.get("entities") or []
    return [str(e.get("value")) for e in entities if e.get("entity") == "red_flag" and e.get("value")]


class ActionUrgent(Action):
    """Emergency: SAMU 192 / pronto-socorro (+ CVV 188 on suicide risk), then urgent handoff."""

    def name(self) -> str:
        return "action_urgent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        entity_codes = red_flag_entities(tracker)
        flags = detect_flags(text)
        suicide = is_suicide_risk(text, entity_codes, flags)
        if suicide:
            dispatcher.utter_message(response="utter_urgent_suicide")
        else:
            dispatcher.utter_message(response="utter_urgent_emergency")
        dispatcher.utter_message(response="utter_urgent_team_alerted")
        codes = set(entity_codes) | {code for code, _ in flags or []}
        if suicide and not codes:
            codes.add("suicide_risk_text")  # found by the safety net alone
        labels = category_labels(flags or []) + flag_explanations(text)
        if not codes:
            labels.append(UNCONFIRMED_LABEL)
        note = urgent_note(codes, labels)
        dispatcher.utter_message(json_message=handoff_signal("urgent", "urgent", note))
        # An urgent message interrupts whatever form was running.
        return [ActiveLoop(None)]
