"""Which of the options the bot just offered a typed answer means. Pure functions, no Rasa.

Inside a flow the patient's words are read against the options of the question on screen BEFORE
the NLU intent is trusted: "o quanto antes" is option 1 of "Para quando você prefere?" even when
the classifier reads it as a price question. An option is a quick-reply button as the actions
build it: `{"title": "O quanto antes", "payload": '/choose_when{"when":"o quanto antes"}'}`.

A typed answer picks an option when it is, in this order:
1. its number: "1", "opção 2", "a 2", "nº 3", "2ª", "dois";
2. an ordinal: "o primeiro", "a segunda opção", "o último", "penúltimo" ("a segunda", "a quinta"
   are also weekdays: when that reading names another option, nothing is chosen);
3. a time, weekday or date that appears in exactly one option: "às 10h", "10:30", "as 10",
   "sexta", "dia 15", "26/11", "amanhã"; several together must all hold ("quinta às 9");
4. the option's own words, accent/case/typo tolerant: "o quanto antes", "quanto antes",
   "o qunto antes", "cardiologia", "não tenho" (for "Não tenho CPF"), "o do dr beto": all of
   them, or only words of that one option (every word said is in its title, and in no other).
Anything unclear (two options fit, a negation the option does not have, nothing fits) gives
None, and the flow reads the message its own way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from clinic_nlu.dates import normalize

Option = Mapping[str, Any]

# Words that carry no choice: articles, politeness, "I want", "can be"... (normalized text).
FILLERS = frozenset(
    "o a os as um uma de do da dos das no na nos nas e em pode ser quero queria prefiro escolho fico "
    "com vou eu me para por favor entao isso ai mesmo ok que bom vai fica pro pra la".split()
)
# Words that only frame a number or an ordinal ("opção 2", "o segundo horário").
_FRAME_WORDS = frozenset("opcao opcoes op opc numero num no horario consulta alternativa item botao".split())
NEGATIONS = frozenset("nao nem nenhum nenhuma outro outra outros outras menos exceto sem".split())
_NUMBER_WORDS = {"dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7, "oito": 8,
                 "nove": 9, "dez": 10}  # fmt: skip
_ONE_WORDS = {"um": 1, "uma": 1}  # only with a frame word: "opção um"
_ORDINALS = {
    "primeiro": 1, "primeira": 1, "segundo": 2, "terceiro": 3, "terceira": 3, "quarto": 4, "quinto": 5,
    "sexto": 6, "setimo": 7, "setima": 7, "oitavo": 8, "oitava": 8, "nono": 9, "nona": 9, "decimo": 10,
    "decima": 10, "ultimo": -1, "ultima": -1, "penultimo": -2, "penultima": -2,
}  # fmt: skip
# Feminine ordinals that are also weekdays ("a segunda" = the 2nd option, or Monday's).
_WEEKDAY_ORDINALS = {"segunda": (2, 0), "quarta": (4, 2), "quinta": (5, 3), "sexta": (6, 4)}
# Weekday words after normalization (seg/qua/qui/sex are already expanded by `normalize`).
_WEEKDAYS = {
    "segunda": 0, "terca": 1, "ter": 1, "quarta": 2, "quinta": 3, "sexta": 4, "sabado": 5, "sab": 5,
    "domingo": 6, "dom": 6,
}  # fmt: skip
_TEXT_WEEKDAYS = {k: v for k, v in _WEEKDAYS.items() if k != "ter"}  # "ter" is mostly the verb

_TIME_IN_TITLE = re.compile(r"(?<![\d/:])(\d{1,2})(?::(\d{2})|h(\d{2})?(?![a-z]))(?![\d/])")
_DATE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/\d{2,4})?(?![\d/])")
_CLOCK = re.compile(r"(?<![\d/:])(\d{1,2})\s?(?::|(?:h|hs|hrs|horas?)(?![a-z]))\s?(\d{2})?(?![\d/])")
_AT_HOUR = re.compile(r"\b(?:as|das|pras|umas|para as|por volta das)\s(\d{1,2})(?![\d/:])")
_NOON = re.compile(r"\bmeio[\s-]?dia\b")
_DAY_OF_MONTH = re.compile(r"\bdia\s(\d{1,2})(?![\d/:])")
_AFTERNOON = re.compile(r"\b(?:da|de|a)\s(?:tarde|noite)\b")
_MORNING = re.compile(r"\b(?:da|de)\s(?:manha|madrugada)\b")
_TOKEN = re.compile(r"[a-z0-9]+")


def parse_payload(payload: str) -> tuple[str, dict[str, Any]] | None:
    """`/choose_when{"when":"o quanto antes"}` -> ("choose_when", {"when": "o quanto antes"});
    None for a payload that is not `/intent` or `/intent{json}` (e.g. plain text)."""
    m = re.fullmatch(r"/([A-Za-z0-9_]+)(\{.*\})?", (payload or "").strip(), flags=re.S)
    if not m:
        return None
    entities: dict[str, Any] = {}
    if m.group(2):
        try:
            loaded = json.loads(m.group(2))
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        entities = loaded
    return m.group(1), entities


def usable_options(options: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """Buttons an answer can stand for: a title and an `/intent{...}` payload."""
    usable = []
    for option in options or []:
        title, payload = option.get("title"), option.get("payload")
        if isinstance(title, str) and title and isinstance(payload, str) and parse_payload(payload):
            usable.append({"title": title, "payload": payload})
    return usable


def match_option(text: str, options: Sequence[Option], today: date | None = None) -> Option | None:
    """The offered option the patient's typed `text` means, or None when unclear (see module doc).
    `today` (clinic date) lets "hoje"/"amanhã" name an option's date."""
    if not options or not text or text.lstrip().startswith("/"):
        return None
    norm = normalize(text)
    if not norm:
        return None
    words = _TOKEN.findall(norm)
    negated = any(w in NEGATIONS for w in words)
    if not negated:
        decided, chosen = _by_number(words, options)
        if decided:
            return chosen
        decided, chosen = _by_ordinal(words, options)
        if decided:
            return chosen
        decided, chosen = _by_moment(norm, words, options, today)
        if decided:
            return chosen
    return _by_words(words, options)


# ------------------------------------------------------------------------------------------
# 1-2. numbers and ordinals (the whole message)


def _core(words: list[str]) -> tuple[list[str], bool]:
    """The words left once fillers and framing words are dropped; True when a frame was there."""
    framed = any(w in _FRAME_WORDS for w in words)
    return [w for w in words if w not in FILLERS and w not in _FRAME_WORDS], framed


def _pick(options: Sequence[Option], index: int) -> Option | None:
    """1-based index; negative counts from the end (-1 = last)."""
    if index < 0 and -index <= len(options):
        return options[index]
    if 1 <= index <= len(options):
        return options[index - 1]
    return None


def _by_number(words: list[str], options: Sequence[Option]) -> tuple[bool, Option | None]:
    if any(w in ("as", "das", "h", "hs", "horas", "hora") for w in words):
        return False, None  # "às 2", "o das 9" are times, not options 2 and 9
    core, framed = _core(words)
    if not core and framed:
        core = [w for w in words if w in _ONE_WORDS]  # "opção um" ("um" is otherwise a filler)
    if len(core) != 1:
        return False, None
    word = core[0]
    if re.fullmatch(r"\d{1,2}", word):
        return True, _pick(options, int(word))
    if re.fullmatch(r"\d{1,2}[ao]", word):  # 2ª / 2º
        return True, _pick(options, int(word[:-1]))
    if word in _NUMBER_WORDS:
        return True, _pick(options, _NUMBER_WORDS[word])
    if framed and word in _ONE_WORDS:
        return True, _pick(options, 1)
    return False, None


def _by_ordinal(words: list[str], options: Sequence[Option]) -> tuple[bool, Option | None]:
    core, framed = _core(words)
    if len(core) != 1:
        return False, None
    word = core[0]
    if word in _ORDINALS:
        return True, _pick(options, _ORDINALS[word])
    if word in _WEEKDAY_ORDINALS and "feira" not in words:
        index, weekday = _WEEKDAY_ORDINALS[word]
        at = words.index(word)
        if not (framed or (at > 0 and words[at - 1] == "a")):
            return False, None  # "sexta" alone is the weekday: read by _by_moment
        by_index = _pick(options, index)
        if framed:
            return True, by_index
        on_day = [o for o in options if weekday in _title_facts(o)["weekdays"]]
        if not on_day:
            return True, by_index
        if by_index is None:
            return True, on_day[0] if len(on_day) == 1 else None
        return True, by_index if on_day == [by_index] else None
    return False, None


# ------------------------------------------------------------------------------------------
# 3. times, weekdays, dates


def _title_facts(option: Option) -> dict[str, Any]:
    """Times, (day, month) dates and weekdays written in an option's title."""
    norm = normalize(str(option.get("title") or ""))
    times = {(int(h), int(m or m2 or 0)) for h, m, m2 in _TIME_IN_TITLE.findall(norm)}
    dates = {(int(d), int(m)) for d, m in _DATE.findall(norm)}
    weekdays = {_WEEKDAYS[w] for w in _TOKEN.findall(norm) if w in _WEEKDAYS}
    return {"times": times, "dates": dates, "weekdays": weekdays}


def _clinic_hour(hour: int, norm: str) -> int:
    if _AFTERNOON.search(norm) and hour < 12:
        return hour + 12
    if not _MORNING.search(norm) and 1 <= hour <= 6:
        return hour + 12  # "às 2" at a clinic is 14h
    return hour


def _text_moments(norm: str, words: list[str], today: date | None) -> dict[str, Any]:
    """The time (hour, minute|None), dates and weekdays a typed answer names."""
    clock: tuple[int, int | None] | None = None
    m = _CLOCK.search(norm)
    if m:
        clock = (_clinic_hour(int(m.group(1)), norm), int(m.group(2)) if m.group(2) else None)
    elif (m := _AT_HOUR.search(norm)) is not None:
        clock = (_clinic_hour(int(m.group(1)), norm), None)
    elif _NOON.search(norm):
        clock = (12, 0)
    if clock is not None and not (0 <= clock[0] <= 23 and 0 <= (clock[1] or 0) <= 59):
        clock = None
    dates: set[tuple[int, int | None]] = {(int(d), int(mo)) for d, mo in _DATE.findall(norm)}
    dates |= {(int(d), None) for d in _DAY_OF_MONTH.findall(norm)}
    if today is not None:
        if "depois de amanha" in norm:
            day = today + timedelta(days=2)
            dates.add((day.day, day.month))
        elif "amanha" in words:
            day = today + timedelta(days=1)
            dates.add((day.day, day.month))
        elif "hoje" in words:
            dates.add((today.day, today.month))
    weekdays = {_TEXT_WEEKDAYS[w] for w in words if w in _TEXT_WEEKDAYS}
    return {"clock": clock, "dates": dates, "weekdays": weekdays}


def _fits(facts: dict[str, Any], asked: dict[str, Any], minute_exact: bool) -> bool:
    clock = asked["clock"]
    if clock is not None:
        hour, minute = clock
        if minute is None:
            wanted = {(hour, 0)} if minute_exact else {t for t in facts["times"] if t[0] == hour}
        else:
            wanted = {(hour, minute)}
        if not facts["times"] & wanted:
            return False
    for day, month in asked["dates"]:
        if not any(d == day and (month is None or m == month) for d, m in facts["dates"]):
            return False
    return not (asked["weekdays"] and not asked["weekdays"] & facts["weekdays"])


def _by_moment(
    norm: str, words: list[str], options: Sequence[Option], today: date | None
) -> tuple[bool, Option | None]:
    asked = _text_moments(norm, words, today)
    if asked["clock"] is None and not asked["dates"] and not asked["weekdays"]:
        return False, None
    facts = [_title_facts(o) for o in options]
    fits = [o for o, f in zip(options, facts, strict=True) if _fits(f, asked, minute_exact=True)]
    if not fits and asked["clock"] is not None and asked["clock"][1] is None:
        # "as 10" -> 10:30
        fits = [o for o, f in zip(options, facts, strict=True) if _fits(f, asked, minute_exact=False)]
    if len(fits) > 1:
        # "a da dra ana às 10": the words narrow the options the moment left
        moment_words = set(_TEXT_WEEKDAYS) | {"dia", "hoje", "amanha", "depois", "horas", "hora", "h", "meio"}
        narrowed = _by_words([w for w in words if w not in moment_words], fits)
        return True, narrowed
    return True, fits[0] if fits else None


# ------------------------------------------------------------------------------------------
# 4. the option's own words


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in FILLERS and not w.isdigit() and len(w) > 1]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent transpositions count 1)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def same_word(a: str, b: str) -> bool:
    """Typo-tolerant word equality: equal stems, or one edit for words of 4+ letters (two for 8+),
    same first letter."""
    a, b = _stem(a), _stem(b)
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or a[0] != b[0]:
        return False
    return _distance(a, b) <= (2 if min(len(a), len(b)) >= 8 else 1)


def _covers(words: list[str], within: list[str]) -> bool:
    return all(any(same_word(w, x) for x in within) for w in words)


def _by_words(words: list[str], options: Sequence[Option]) -> Option | None:
    said = _content(words)
    if not said:
        return None
    exact: list[Option] = []
    partial: list[Option] = []
    for option in options:
        title = _content(_TOKEN.findall(normalize(str(option.get("title") or ""))))
        if not title:
            continue
        if any(w in NEGATIONS and not any(same_word(w, t) for t in title) for w in said):
            continue  # "não quero o quanto antes" is not "O quanto antes"
        if not _covers(said, title):
            continue
        if _covers(title, said):
            exact.append(option)
        elif any(len(w) >= 3 for w in said):  # "quanto antes", "dr beto", "a de cardiologia"
            partial.append(option)
    if exact:
        return exact[0] if len(exact) == 1 else None
    return partial[0] if len(partial) == 1 else None
