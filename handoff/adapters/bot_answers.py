"""Reads the bot's existing simple answers from bot/domain/*.yml (data, like bot/reasons.yml;
no bot code is imported): responses with exactly one variant made of a plain text — no buttons,
no custom payload, no `{slot}` placeholder — are the ones staff may reword without a developer."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def load_simple_answers(domain_dir: Path) -> dict[str, str]:
    """`{utter_name: text}` of every simple answer in the domain files."""
    answers: dict[str, str] = {}
    if not domain_dir.is_dir():
        return answers
    for path in sorted(domain_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses = data.get("responses") if isinstance(data, dict) else None
        if not isinstance(responses, dict):
            continue
        for name, variants in responses.items():
            if not isinstance(variants, list) or len(variants) != 1 or not isinstance(variants[0], dict):
                continue
            variant = variants[0]
            text = variant.get("text")
            if set(variant) - {"text"} or not isinstance(text, str) or _PLACEHOLDER.search(text):
                continue
            answers[str(name)] = text
    return answers
