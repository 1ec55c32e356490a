"""Loads the intent -> reason map from bot/reasons.yml (the one place it is defined)."""

from __future__ import annotations

from pathlib import Path

import yaml

from handoff.domain.triage import REASONS, is_new_reason_tag


def load_reason_map(path: Path, *, allow_new: bool = False) -> dict[str, str]:
    """Read `bot/reasons.yml`: either `{intent: reason}` or `{reason: [intents]}`, optionally
    under a top-level `reasons:` or `intents:` key. Unknown reasons are rejected loudly, except,
    with `allow_new`, reason tags the clinic created with a taught intent (a training run's map)."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in ("reasons", "intents", "intent_reasons"):
        if isinstance(data.get(key), dict):
            data = data[key]
            break
    mapping: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list):
            for intent in value:
                mapping[str(intent)] = str(key)
        else:
            mapping[str(key)] = str(value)
    bad = {r for r in mapping.values() if r not in REASONS and not (allow_new and is_new_reason_tag(r))}
    if bad:
        raise ValueError(f"{path}: unknown reasons {sorted(bad)}")
    return mapping
