"""The bot's own red-flag rules, for the hub's use while the bot tier cannot answer.

`bot/clinic_nlu` is plain Python (no Rasa): the same clinical rules the NLU pipeline applies
(`red_flags.detect`, Manchester/SAMU discriminators). The hub loads them only to keep one promise
when every Rasa replica is down: a message describing an emergency still reaches the human queue at
once, with the safety message, instead of waiting for the bot to come back. Loaded on first use
(nothing at import time); `bot/` is put on the path because the package imports itself as
`clinic_nlu`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def red_flag_rules(bot_dir: Path) -> Callable[[str], list[str]]:
    """A function text -> the categories of the red flags found (empty: none)."""
    module: Any = None

    def categories(text: str) -> list[str]:
        nonlocal module
        if module is None:
            if str(bot_dir) not in sys.path:
                sys.path.append(str(bot_dir))
            module = importlib.import_module("clinic_nlu.red_flags")
        return sorted({flag.category for flag in module.detect(text)})

    return categories
