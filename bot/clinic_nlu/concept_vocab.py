"""Shared pieces of the concept findings' regular expressions (normalized pt-BR text)."""

from __future__ import annotations

import re

__all__ = ["NUM", "SUDDEN", "VERY", "rx"]


def rx(*alternatives: str) -> re.Pattern[str]:
    """One pattern matching any of `alternatives` as whole words."""
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


# a sudden onset: "de repente", "do nada", "de uma hora para outra"
SUDDEN = r"(?:de\s+repente|do\s+nada|derrepente|subit\w*|repentin\w*|de\s+uma\s+hora\s+para\s+(?:a\s+)?outra)"
# intensity words
VERY = r"(?:muito|mt|demais|bem|super|forte|fortissim\w+|insuportavel|horrivel)"
# a small number, in digits or words
NUM = r"(?:\d+|um|uma|dois|duas|tres|quatro|cinco|seis|sete|oito|nove|dez|onze|doze)"
