"""Plain rules of the staff teaching layer (issue 11): masking personal data, grouping
near-duplicate messages, naming and validating staff intents, reading a red flag in an NLU parse.

Nothing here touches the database, HTTP or the bot: the use cases are in
`handoff/services/bot_teaching.py`. Messages are pt-BR.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handoff.domain.clinic.cpf import normalize_cpf
from handoff.domain.triage import is_new_reason_tag

STAFF_PREFIX = "staff_"
MIN_EXAMPLES = 5
WARN_EXAMPLES = 10
MAX_EXAMPLES = 200
MAX_EXAMPLE_CHARS = 300
MAX_ANSWER_CHARS = 2000
MAX_BUTTONS = 10
# Below this confidence a bot reading goes to the review inbox (unless the caller says otherwise).
REVIEW_CONFIDENCE = 0.6
UNSURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
HUMAN_INTENTS = frozenset({"request_human", "complain"})
URGENT_INTENT = "urgent_symptom"
RED_FLAG_ENTITY = "red_flag"

# -- personal data ----------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 13–19 digits in groups (cards); checked with Luhn so an order number is not taken for a card.
_CARD = re.compile(r"(?<!\d)(?:\d[ .-]?){12,18}\d(?!\d)")
_CPF = re.compile(r"(?<!\d)\d{3}[.\s]?\d{3}[.\s]?\d{3}[-.\s]?\d{2}(?!\d)")
# Brazilian phones: +55, (DD), 8–9 digits with optional separators.
_PHONE = re.compile(
    r"(?<![\w])(?:\+?55[\s.-]?)?(?:\(?0?\d{2}\)?[\s.-]?)?9?[\s.]?\d{4}[\s.-]?\d{4}(?!\d)"
)
_NAME_WORD = r"[A-ZÁÉÍÓÚÂÊÔÃÕÇ][a-záéíóúâêôãõçü]+"
_NAME_LINK = r"(?:\s+(?:d[aeo]s?|e)\s+|\s+)"
# A name is only detectable after a cue. After "meu nome é" / "me chamo" / "nome:" any word is a
# name (patients type names in lower case); after weaker cues ("sou a", "aqui é", "paciente",
# "minha filha") only capitalised words are.
_NAME_TAIL = rf"(?:{_NAME_LINK}{_NAME_WORD})*"
_NAME_STRONG = re.compile(
    rf"(?i:\b(meu nome (?:é|e)|me chamo|nome:))\s+((?:{_NAME_WORD}|[a-záéíóúâêôãõç]{{2,}}){_NAME_TAIL})"
)
_NAME_WEAK = re.compile(
    r"(?i:\b(sou (?:o|a)|aqui (?:é|e)(?: o| a)?|paciente|minha (?:filha|mãe|mae|esposa)|"
    rf"meu (?:filho|pai|marido)))\s+({_NAME_WORD}{_NAME_TAIL})"
)
_NOT_NAMES = frozenset({"eu", "que", "uma", "um", "muito", "bem", "nova", "novo", "paciente", "da", "de",
                        "do", "a", "o", "sim", "não", "nao", "cliente", "casada", "casado"})


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_cards(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return "[CARTAO]" if 13 <= len(digits) <= 19 and _luhn(digits) else m.group(0)
    return _CARD.sub(repl, text)


def _mask_names(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(2)
        if name.split()[0].lower() in _NOT_NAMES:
            return m.group(0)
        return m.group(0)[: m.start(2) - m.start(0)] + "[NOME]"
    return _NAME_WEAK.sub(repl, _NAME_STRONG.sub(repl, text))


def mask_personal_data(text: str) -> str:
    """The text with e-mails, card numbers (Luhn), CPFs, phone numbers and names that follow a
    cue ("meu nome é…", "me chamo…", "sou a…") replaced by `[EMAIL]`, `[CARTAO]`, `[CPF]`,
    `[TELEFONE]`, `[NOME]`. Used before any patient text becomes a training example or is shown
    in the review inbox."""
    out = _EMAIL.sub("[EMAIL]", text)
    out = _mask_cards(out)
    # A valid CPF (check digits) is a CPF; other 11 digits are left to the phone rule below.
    out = _CPF.sub(lambda m: "[CPF]" if normalize_cpf(m.group(0)) else m.group(0), out)

    def phone(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return "[TELEFONE]" if len(digits) >= 8 else m.group(0)
    out = _PHONE.sub(phone, out)
    return _mask_names(out)


# -- grouping ---------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """The grouping key of a message: lower case, no accents, letters/digits/placeholders only,
    single spaces ("Vocês abrem SÁBADO??" and "voces abrem sabado" are one group)."""
    folded = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    plain = re.sub(r"(.)\1{2,}", r"\1\1", plain)  # "oiii" ~ "oii"
    return " ".join(re.findall(r"\[[a-z]+\]|[a-z0-9]+", plain))


# -- names ------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z][a-z0-9_]{1,56}$")


def staff_intent_name(raw: str) -> str | None:
    """`staff_<slug>` for a proposed name ("Vacina gripe" -> `staff_vacina_gripe`; an already
    prefixed name is kept), or None when nothing usable is left."""
    folded = unicodedata.normalize("NFKD", raw.strip().lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    if slug.startswith(STAFF_PREFIX):
        slug = slug[len(STAFF_PREFIX):]
    if not _SLUG.match(slug):
        return None
    return STAFF_PREFIX + slug


# -- validation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a staff change is refused (code + pt-BR message)."""

    code: str
    message: str


@dataclass
class Verdict:
    """What validation found: refusals (nothing may change) and warnings (shown, allowed)."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_examples(examples: Iterable[str]) -> list[str]:
    """Examples trimmed, inner whitespace collapsed (empty ones kept as "" for the validator)."""
    return [" ".join(e.split()) for e in examples]


def validate_intent(
    *,
    name: str,
    reason: str,
    examples: Sequence[str],
    answer_text: str | None,
    buttons: Sequence[Mapping[str, str]],
    handoff: Mapping[str, Any] | None,
    reasons: Iterable[str],
    bot_intents: Iterable[str],
    queues: Iterable[str],
    other_examples: Mapping[str, str],
) -> Verdict:
    """Check a staff intent before it is stored.

    `bot_intents` are the intents of bot/reasons.yml (a staff intent may not take their names);
    `other_examples` maps the normalized examples of the other staff intents to their intent.
    """
    v = Verdict()
    add = v.problems.append
    known = set(bot_intents)
    bare = name[len(STAFF_PREFIX):] if name.startswith(STAFF_PREFIX) else name
    if name in known or bare in known:
        add(Problem("name_clash", f"já existe uma intenção do bot chamada {bare if bare in known else name}"))
    if reason not in set(reasons):
        if is_new_reason_tag(reason):  # the clinic creates a reason tag (routing, filters, dashboard)
            v.warnings.append(Problem("new_reason", f"o motivo '{reason}' é novo: depois de implantado, ele "
                                                    "aparece nas conversas, nas filas e no painel"))
        else:
            add(Problem("unknown_reason", f"motivo desconhecido: {reason!r}; use um de "
                                          f"{', '.join(sorted(reasons))} ou crie um novo em letras minúsculas, "
                                          "números e _ (2 a 32 caracteres)"))
    if any(not e for e in examples):
        add(Problem("empty_example", "há exemplos vazios"))
    long = [i + 1 for i, e in enumerate(examples) if len(e) > MAX_EXAMPLE_CHARS]
    if long:
        add(Problem("example_too_long",
                    f"exemplos com mais de {MAX_EXAMPLE_CHARS} caracteres: {', '.join(map(str, long))}"))
    if len(examples) > MAX_EXAMPLES:
        add(Problem("too_many_examples", f"no máximo {MAX_EXAMPLES} exemplos por intenção"))
    keys = [normalize_text(e) for e in examples if e]
    distinct = set(keys)
    if len(distinct) < len(keys):
        add(Problem("duplicate_examples", "há exemplos repetidos (iguais sem acentos, maiúsculas e pontuação)"))
    if len(distinct) < MIN_EXAMPLES:
        add(Problem("too_few_examples", f"são necessários pelo menos {MIN_EXAMPLES} exemplos diferentes"))
    elif len(distinct) < WARN_EXAMPLES:
        v.warnings.append(Problem("few_examples",
                                  f"menos de {WARN_EXAMPLES} exemplos: o bot pode não reconhecer bem"))
    taken = sorted({other_examples[k] for k in distinct if k in other_examples})
    if taken:
        add(Problem("example_in_other_intent", f"exemplos que já estão em outra intenção: {', '.join(taken)}"))
    if answer_text is None and handoff is None:
        add(Problem("no_action", "informe uma resposta e/ou um encaminhamento para a equipe"))
    if answer_text is not None and not answer_text.strip():
        add(Problem("empty_answer", "a resposta está vazia"))
    if answer_text is not None and len(answer_text) > MAX_ANSWER_CHARS:
        add(Problem("answer_too_long", f"a resposta passa de {MAX_ANSWER_CHARS} caracteres"))
    if len(buttons) > MAX_BUTTONS:
        add(Problem("too_many_buttons", f"no máximo {MAX_BUTTONS} botões"))
    if buttons and answer_text is None:
        add(Problem("buttons_without_answer", "botões precisam de um texto de resposta"))
    if handoff is not None:
        queue = handoff.get("queue")
        if not queue and not handoff.get("skill"):
            add(Problem("empty_handoff", "o encaminhamento precisa de uma fila ou de uma habilidade"))
        if queue is not None and queue not in set(queues):
            add(Problem("unknown_queue", f"fila desconhecida: {queue!r}"))
    return v


# -- red flags --------------------------------------------------------------------------------


def parse_has_red_flag(parsed: Mapping[str, Any]) -> bool:
    """Whether an NLU parse (Rasa's `POST /model/parse` answer) reads a red flag: the bot turns
    every red flag into `urgent_symptom` and tags its words with the `red_flag` entity."""
    intent = parsed.get("intent")
    if isinstance(intent, Mapping) and intent.get("name") == URGENT_INTENT:
        return True
    entities = parsed.get("entities")
    if isinstance(entities, list):
        return any(isinstance(e, Mapping) and e.get("entity") == RED_FLAG_ENTITY for e in entities)
    return False


def review_flags(intent: str | None, confidence: float | None, threshold: float) -> list[str]:
    """Why a bot reading of one message is worth a human look (empty = it is not)."""
    flags: list[str] = []
    if intent in UNSURE_INTENTS:
        flags.append("fallback")
    elif intent is not None and confidence is not None and confidence < threshold:
        flags.append("low_confidence")
    return flags
