"""Customer satisfaction (CSAT 1–5) asked when a human conversation is resolved, then NPS.

The question goes out as a system message with five buttons whose payloads are
``/csat{"score":N}``. The hub itself records the answer (the bot never sees it) when the
patient's next message after the question is such a payload — or, on channels without
buttons, the bare digit 1–5 (or the payload typed as text).

Right after a CSAT answer the hub asks the Net Promoter question (0–10). It goes out as plain
text, without buttons: eleven options do not fit a WhatsApp list (10 rows), and on channels
that number the options a typed "3" would pick the third option (score 2), not the score 3.
The very next message answers it when it is a bare number 0–10 (or ``/nps{"score":N}``);
anything else is an ordinary message for the bot.
"""

from __future__ import annotations

import json
import re

SCORES = range(1, 6)
NPS_SCORES = range(0, 11)
_PAYLOAD = re.compile(r"^/csat(\{.*\})$", re.DOTALL)
_NPS_PAYLOAD = re.compile(r"^/nps(\{.*\})$", re.DOTALL)
_DIGIT = re.compile(r"^\s*([1-5])\s*[.!]?\s*$")
_NPS_NUMBER = re.compile(r"^\s*(?:nota\s*)?(10|[0-9])\s*[.!]?\s*$", re.IGNORECASE)


def csat_payload(score: int) -> str:
    """The button payload for one score, e.g. ``/csat{"score":5}``."""
    if score not in SCORES:
        raise ValueError("score must be 1..5")
    return '/csat{"score":' + str(score) + "}"


def parse_csat(text: str | None, payload: str | None) -> int | None:
    """The score carried by an answer to the CSAT question, or None when it is not one."""
    for candidate in (payload, text):
        if not candidate:
            continue
        match = _PAYLOAD.match(candidate.strip())
        if match is None:
            continue
        try:
            data = json.loads(match.group(1))
        except ValueError:
            return None
        score = data.get("score") if isinstance(data, dict) else None
        if isinstance(score, int) and not isinstance(score, bool) and score in SCORES:
            return score
        return None
    if text:
        digit = _DIGIT.match(text)
        if digit is not None:
            return int(digit.group(1))
    return None


def parse_nps(text: str | None, payload: str | None) -> int | None:
    """The 0–10 score of an answer to the NPS question, or None when it is not one."""
    if payload:
        match = _NPS_PAYLOAD.match(payload.strip())
        if match is not None:
            try:
                data = json.loads(match.group(1))
            except ValueError:
                return None
            score = data.get("score") if isinstance(data, dict) else None
            if isinstance(score, int) and not isinstance(score, bool) and score in NPS_SCORES:
                return score
            return None
    if text:
        number = _NPS_NUMBER.match(text)
        if number is not None:
            return int(number.group(1))
    return None
