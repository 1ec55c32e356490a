"""Normalization of pt-BR patient messages written the WhatsApp way.

Pure functions, no Rasa imports. Used by:
- the red-flag rules (`red_flags.py`), which match on normalized text;
- the NLU tokenizer (`components.NormalizingTokenizer`), which replaces each token's text by its
  normalized form while keeping the token's offsets in the original message (so entities still
  point at what the patient wrote);
- the actions, whenever they compare free text.

What "normalized" means here:
- lowercase, accents and cedilla stripped ("não" -> "nao", "ç" -> "c");
- emojis and other symbols dropped (kept: letters, digits, whitespace and . , ; : ! ? / - %);
- letters repeated 3+ times collapsed ("socorrooo" -> "socorro", "oiiii" -> "oi", "siiim" -> "sim");
- common WhatsApp abbreviations expanded as whole words ("vc" -> "voce", "pq" -> "porque",
  "qro" -> "quero", "n" -> "nao", "bb" -> "bebe", "to" -> "estou", "pra" -> "para"...).

`normalize_with_offsets` also returns, for every character of the normalized text, the index of
the character of the original text it comes from, so a match on normalized text can be mapped
back to the patient's own words.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ABBREVIATIONS",
    "emoji_words",
    "expand_word",
    "normalize",
    "normalize_for_classifier",
    "normalize_token",
    "normalize_with_offsets",
    "strip_accents",
]

# Whole-word abbreviations and spellings as patients type them (keys already accentless and
# lowercase). Values may be several words. Deliberately NOT expanded because they are ambiguous:
# "s" (sim/se), "ne" (né/nem), "min", "sab", "c" only as "com" (see below), "ta"/"to" are expanded
# because in patient messages they are overwhelmingly "está"/"estou".
ABBREVIATIONS: dict[str, str] = {
    # pronouns / people
    "vc": "voce", "vcs": "voces", "vce": "voce", "voc": "voce", "ce": "voce", "oce": "voce",
    "cmg": "comigo", "ctg": "contigo", "ngm": "ninguem", "nguem": "ninguem",
    "bb": "bebe", "bbzinho": "bebezinho", "bbzinha": "bebezinha", "nenem": "nene", "nenen": "nene",
    "rn": "recem nascido", "recem-nascido": "recem nascido",
    "dr": "doutor", "dra": "doutora", "drs": "doutores", "dras": "doutoras", "doc": "doutor",
    # question words / connectors
    "q": "que", "k": "que", "qe": "que", "oq": "o que", "oque": "o que", "pq": "porque",
    "pqe": "porque", "prq": "porque", "porq": "porque", "poque": "porque",
    "qdo": "quando", "qnd": "quando", "qndo": "quando", "qd": "quando", "qto": "quanto",
    "qnt": "quanto", "qnto": "quanto", "qt": "quanto", "qts": "quantos", "qnts": "quantos",
    "qtos": "quantos", "ql": "qual", "qlq": "qualquer", "qq": "qualquer",
    "kd": "cade", "cad": "cade", "p": "para", "pra": "para", "pr": "para", "pro": "para o",
    "pros": "para os", "pras": "para as", "prum": "para um", "pruma": "para uma",
    "c": "com", "cm": "com", "cmo": "como", "tb": "tambem", "tbm": "tambem", "tmb": "tambem",
    "tbem": "tambem", "dps": "depois", "dpois": "depois", "agr": "agora", "agra": "agora",
    "aq": "aqui", "aki": "aqui", "entt": "entao", "ent": "entao",
    "msm": "mesmo", "mesm": "mesmo", "nd": "nada", "td": "tudo", "tdo": "tudo", "tds": "todos",
    "mt": "muito", "mto": "muito", "mtu": "muito", "mtt": "muito", "mta": "muita",
    "mtos": "muitos", "mts": "muitos", "mtas": "muitas", "dnv": "de novo", "denovo": "de novo",
    "ctz": "certeza", "vdd": "verdade", "tlgd": "entendeu", "sla": "sei la", "ss": "sim",
    "hj": "hoje", "hje": "hoje", "amnh": "amanha", "amh": "amanha",
    "mnh": "manha", "hr": "hora", "hrs": "horas", "hra": "hora", "hras": "horas",
    "seg": "segunda", "qua": "quarta", "qui": "quinta", "sex": "sexta",
    "fds": "fim de semana", "n": "nao", "nn": "nao", "naum": "nao",
    "eh": "e", "tah": "esta", "ta": "esta", "to": "estou", "tou": "estou",
    "tava": "estava", "tavam": "estavam", "tamo": "estamos", "tamos": "estamos",
    # wishes / politeness
    "qro": "quero", "qero": "quero", "kero": "quero", "qr": "quer", "qria": "queria",
    "keria": "queria", "qeria": "queria", "qrs": "quer",
    "obg": "obrigado", "obgd": "obrigado", "obgda": "obrigada", "obgdo": "obrigado",
    "obrigad": "obrigado", "brigado": "obrigado", "brigada": "obrigada", "obrg": "obrigado",
    "pfv": "por favor", "pfvr": "por favor", "pf": "por favor", "plz": "por favor",
    "pls": "por favor", "porfavor": "por favor", "porfa": "por favor",
    "blz": "beleza", "bls": "beleza", "vlw": "valeu", "vlww": "valeu", "vlew": "valeu",
    "flw": "falou", "flws": "falou", "abs": "abraco", "bjs": "beijos", "bj": "beijo",
    "tmj": "estamos juntos", "sdds": "saudades", "add": "adicionar",
    # clinic words
    "msg": "mensagem", "msgm": "mensagem", "msgs": "mensagens", "cel": "celular",
    "tel": "telefone", "fone": "telefone", "whats": "whatsapp", "wpp": "whatsapp",
    "zap": "whatsapp", "zapzap": "whatsapp", "end": "endereco", "ender": "endereco",
    "info": "informacao", "infos": "informacoes", "consul": "consulta", "cons": "consulta",
    "exam": "exame", "urg": "urgente", "urgt": "urgente", "emerg": "emergencia",
    "ps": "pronto socorro", "pa": "pronto atendimento", "upa": "upa",
}

_EMOJI_OR_SYMBOL = re.compile(r"[^\w\s.,;:!?/%-]", re.UNICODE)
_REPEATS = re.compile(r"([a-z])\1{2,}")
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*|[^\sa-z0-9]+|\s+")
# laughter carries no meaning here ("kkkk" must not become "que")
_LAUGH = re.compile(r"k{2,}|(?:ha){2,}h?|(?:he){2,}h?|(?:hi){2,}h?|(?:rs){1,}|(?:ah){2,}")


def strip_accents(text: str) -> str:
    """'Não tô bem, coração' -> 'Nao to bem, coracao' (same length when input is NFC)."""
    out = []
    for ch in text:
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        # keep one char per input char so offsets stay aligned ("ﬁ" ligature etc. are rare)
        out.append(base[:1] if base else ch)
    return "".join(out)


def _collapse(word: str) -> str:
    """Collapse letters repeated 3+ times; keep 'rr'/'ss' doubles ('socorrrro' -> 'socorro')."""

    def repl(m: re.Match[str]) -> str:
        return m.group(1) * (2 if m.group(1) in "rs" else 1)

    return _REPEATS.sub(repl, word)


def expand_word(word: str) -> str:
    """Expand one already lowercase/accentless word ('vc' -> 'voce'); unknown words unchanged."""
    return ABBREVIATIONS.get(word, word)


def normalize_token(token: str) -> str:
    """Normalize one token as the NLU tokenizer sees it (may return several words: 'pfv')."""
    word = _collapse(strip_accents(token).lower())
    if _LAUGH.fullmatch(word):
        return word[:2]
    return expand_word(word)


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalize `text`; also return, per normalized char, the index of its source char."""
    if not text:
        return "", []
    # NFC first so that "a" + combining tilde counts as one char; offsets then refer to the
    # NFC form, which is what patients' phones send in practice.
    base = unicodedata.normalize("NFC", text)
    lowered = strip_accents(base).lower()
    if len(lowered) != len(base):  # pragma: no cover - defensive, lower() of exotic chars
        lowered = "".join(ch.lower()[:1] or ch for ch in strip_accents(base))
    # an em/en dash separates an e-mail's subject from its body, or two thoughts: a clause break,
    # kept one char for one char so offsets stay valid
    cleaned = _EMOJI_OR_SYMBOL.sub(" ", lowered.replace("\u2014", ";").replace("\u2013", ";"))

    out: list[str] = []
    offsets: list[int] = []
    for m in _WORD.finditer(cleaned):
        piece, start, end = m.group(0), m.start(), m.end()
        if piece.isspace():
            sep = "\n" if "\n" in piece else " "
            if out and out[-1] == " " and sep == "\n":
                out[-1] = "\n"
            elif out and out[-1] not in " \n":
                out.append(sep)
                offsets.append(start)
            continue
        if piece[0].isalnum():
            if _LAUGH.fullmatch(piece):
                continue
            word = _collapse(piece)
            word = expand_word(word)
            if word == piece:
                out.extend(piece)
                offsets.extend(range(start, end))
            else:
                out.extend(word)
                # every char of an expansion points into the abbreviation it replaced
                offsets.extend(min(start + i, end - 1) for i in range(len(word)))
        else:
            out.extend(piece)
            offsets.extend(range(start, end))
    # trim leading/trailing space
    while out and out[0] in " \n":
        out.pop(0)
        offsets.pop(0)
    while out and out[-1] in " \n":
        out.pop()
        offsets.pop()
    return "".join(out), offsets


def normalize(text: str) -> str:
    """'Vc tá bem? Tô c/ falta de ar 😰 pfv' -> 'voce esta bem? estou c/ falta de ar por favor'."""
    return normalize_with_offsets(text)[0]


def emoji_words(text: str) -> str:
    """Replace each emoji/pictographic symbol by a word ('👍' -> ' emoji_thumbs_up_sign ').

    Emojis carry meaning in patient messages (👍 = yes, 😡 = complaint, 🙏 = thanks/please), so the
    intent classifier sees them as words; `normalize` alone drops them.
    """
    out = []
    for ch in text:
        if ch in "\u200d\ufe0f" or 0x1F3FB <= ord(ch) <= 0x1F3FF:  # joiners, variation, skin tones
            continue
        cat = unicodedata.category(ch)
        if cat == "So" or (cat == "Sk" and ord(ch) > 0x2000):
            name = unicodedata.name(ch, "")
            if name:
                out.append(" emoji_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") + " ")
                continue
        out.append(ch)
    return "".join(out)


def normalize_for_classifier(text: str) -> str:
    """Text the intent classifier sees: `normalize` with emojis kept as words."""
    return normalize(emoji_words(text))
