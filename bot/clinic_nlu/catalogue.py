"""The clinic's vocabulary (bot/catalogue.yml): exams, specialties and insurers by every name
patients use. Pure functions; the NLU components store a compiled `Catalogue` inside the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from clinic_nlu.normalize import normalize, normalize_with_offsets

__all__ = ["DEFAULT_PATH", "Catalogue", "Mention", "load_catalogue"]

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "catalogue.yml"
KINDS = ("exam", "specialty", "insurer")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Mention:
    """A catalogue term found in a message; `start`/`end` point into the ORIGINAL text."""

    kind: str
    slug: str
    start: int
    end: int


@dataclass(frozen=True)
class Catalogue:
    """kind -> (normalized term -> slug), plus the capitals-only terms (kind, TERM, slug)."""

    terms: dict[str, dict[str, str]]
    capitals: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        alternatives = sorted({t for terms in self.terms.values() for t in terms}, key=len, reverse=True)
        pattern = r"\b(?:" + "|".join(re.escape(t) for t in alternatives) + r")\b" if alternatives else r"(?!x)x"
        object.__setattr__(self, "_pattern", re.compile(pattern))
        caps = r"\b(?:" + "|".join(re.escape(t) for _, t, _ in self.capitals) + r")\b" if self.capitals else r"(?!x)x"
        object.__setattr__(self, "_capitals", re.compile(caps))

    def kinds_in(self, norm: str) -> set[str]:
        """Kinds named in already-normalized text (for classifier cues; capitals-only terms excluded)."""
        found: set[str] = set()
        for m in self._pattern.finditer(norm):  # type: ignore[attr-defined]
            found.update(kind for kind, terms in self.terms.items() if m.group(0) in terms)
        return found

    def mentions(self, text: str) -> list[Mention]:
        """Every term in `text`, longest first, non-overlapping, in order of appearance."""
        norm, offsets = normalize_with_offsets(text)
        out: list[Mention] = []
        for m in self._pattern.finditer(norm):  # type: ignore[attr-defined]
            term = m.group(0)
            for kind, terms in self.terms.items():
                if term in terms:
                    out.append(Mention(kind, terms[term], offsets[m.start()], offsets[m.end() - 1] + 1))
                    break
        for m in self._capitals.finditer(text):  # type: ignore[attr-defined]
            if not any(x.start < m.end() and m.start() < x.end for x in out):
                kind, _, slug = next(c for c in self.capitals if c[1] == m.group(0))
                out.append(Mention(kind, slug, m.start(), m.end()))
        return sorted(out, key=lambda x: x.start)


def load_catalogue(path: Path = DEFAULT_PATH) -> Catalogue:
    """Parse and check bot/catalogue.yml (clear errors: it is edited by clinic staff)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(data) - set(KINDS)
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)} (expected {', '.join(KINDS)})")
    terms: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    capitals: list[tuple[str, str, str]] = []
    owner: dict[str, tuple[str, str]] = {}
    for kind in KINDS:
        for slug, names in (data.get(kind) or {}).items():
            if not _SLUG.match(str(slug)):
                raise ValueError(f"{path}: {kind} slug {slug!r} must be lowercase snake_case")
            if not isinstance(names, list) or not names:
                raise ValueError(f"{path}: {kind}.{slug} needs a list of names")
            for name in names:
                name = str(name).strip()
                if name.isupper() and len(name) > 1:
                    capitals.append((kind, name, str(slug)))
                    continue
                term = normalize(name)
                if not term:
                    continue
                if term in owner and owner[term] != (kind, str(slug)):
                    raise ValueError(f"{path}: {name!r} is listed for both {owner[term]} and {(kind, slug)}")
                owner[term] = (kind, str(slug))
                terms[kind][term] = str(slug)
    return Catalogue(terms, tuple(capitals))
