"""Figurative speech that borrows emergency words: masked before the red-flag rules read a message.

Brazilian Portuguese is full of death and disease used as intensifiers: "morri de rir", "tô morta
de cansaço", "vou matar meu filho (kkk)", "quase tive um infarto com o preço", "matar a saudade",
"uma fila de matar". Read literally, they look like suicide or cardiac red flags; a clinic that
sends SAMU's number to every joke teaches patients to ignore it.

`mask_figurative(norm)` blanks those spans (same length, so offsets into the original message stay
valid) in normalized text. Only the idiom itself is blanked: "morri de rir, mas agora estou com dor
no peito" still fires on the chest pain, and anything not in these closed lists is read literally.
What is deliberately NOT an idiom here (it stays a possible red flag): "quero morrer", "vou me
matar", "to morrendo" on its own, "morrendo de dor" (pain severe enough to say so is for the team
to judge). Laughter never cancels anything (the normalizer drops "kkk" and "rsrs" anyway): a
joke about dying may still be a cry for help, so only the idioms themselves are masked.
"""

from __future__ import annotations

import re

__all__ = ["FIGURATIVE", "mask_figurative"]

# "de X": what one "dies of" / is "dead of" figuratively
_DIE_OF = (
    r"rir|riso|rindo|gargalhar|fome|sede|vergonha|saudades?|tedio|calor|frio|sono|cansaco|inveja|medo|"
    r"amores?|curiosidade|ansiedade|preguica|raiva|ciumes?|alegria|felicidade|trabalhar|trabalho|estudar|"
    r"estudo|tanto\s+(?:rir|trabalhar|estudar|esperar|andar)|esperar|espera|paixao|orgulho|emocao|fofura|"
    r"tristeza\s+de\s+saudade|vontade\s+de\s+(?:comer|ir|ver|viajar|rir|dormir)|desejo|susto|agonia\s+de\s+esperar"
)
_OBJECT_OF_KILL = (
    r"a\s+saudade|saudades?|a\s+fome|a\s+sede|a\s+vontade|a\s+curiosidade|(?:a|uma)\s+aula|o\s+trabalho|o\s+servico|"
    r"o\s+tempo|tempo|a\s+charada|o\s+problema|a\s+questao|a\s+duvida|(?:uma|a)\s+cerveja|o\s+jogo|a\s+partida|"
    r"(?:o|um)\s+pao|a\s+prova|a\s+materia|o\s+expediente"
)
_JOKING_TARGET = (
    r"(?:meu|minha|meus|minhas|esse|essa|esses|essas|aquele|aquela|o|a)\s+(?:filh\w+|marido|esposo|esposa|mulher|"
    r"namorad\w+|irm\w+|cunhad\w+|sogr\w+|chefe|vizinh\w+|cachorr\w+|gat\w+|menino|menina|moleque|criancas?|"
    r"pirralh\w+|amig\w+|colega|professor\w*|time|computador|celular|internet|operadora)|voces|vcs|ele|ela|eles|elas"
)

FIGURATIVE: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        # "morri de rir", "morrendo de fome", "ia morrer de vergonha", "morta de cansaco"
        r"\b(?:morr\w*|mort[oa]s?)\s+(?:\w+\s+)?de\s+(?:" + _DIE_OF + r")\b",
        # "matar a saudade", "matar aula", "matando o tempo"
        r"\b(?:mat\w+)\s+(?:" + _OBJECT_OF_KILL + r")\b",
        # "vou matar meu filho", "minha mae vai me matar" (jocular threats, not a clinical red flag)
        r"\b(?:vou|vai|vamos|vao|ia|iria|quero|queria|posso)\s+(?:\w+\s+)?mat(?:ar|a-?l[oa]s?)\s+(?:"
        + _JOKING_TARGET + r")\b",
        r"\b(?:vai|vao|ia|iria|vem)\s+me\s+(?:matar|enforcar|esganar|esfolar|estrangular)\b",
        # "tô sem ar de tanto rir", "perdi o fôlego de rir"
        r"\b(?:sem\s+ar|sem\s+folego|perdi\s+o\s+folego|falta\s+de\s+ar)\s+de\s+(?:tanto\s+)?(?:rir|gargalhar|rindo)\b",
        r"\bme\s+(?:mata|matou|matando|matar)\s+de\s+(?:" + _DIE_OF + r")\b",
        # "desmaiei de sono", "apaguei de cansaço": fell asleep
        r"\b(?:desmai\w+|apag\w+|cai\w*\s+dur[oa])\s+de\s+(?:sono|cansaco|cansada|cansado|tedio|fome)\b",
        # "esse calor tá me matando", "a saudade me mata"
        r"\b(?:calor|frio|saudade|fome|sono|preguica|fila|espera|transito|chefe|trabalho|conta|boleto)\s+(?:\w+\s+)?"
        r"(?:ta|esta|vai|ja\s+ta)?\s*me\s+(?:mata|matando|matar)\b",
        r"\bde\s+matar\b",
        r"\b(?:de|pra|para)\s+morrer\s+(?:de\s+)?(?:rir|de\s+rir)\b",
        # "quase tive um infarto/treco com o preco", "quase infartei quando vi a conta"
        r"\bquase\s+(?:tive|tenho|deu|me\s+deu|dei)\s+(?:um|uma)\s+(?:infarto|enfarto|ataque\s+cardiaco|treco|troco|"
        r"piripaque|derrame|avc|sincope|parada\s+cardiaca)\s+(?:\w+\s+){0,2}?(?:com|quando|ao|de|vendo|por\s+causa)\b",
        r"\bquase\s+(?:infartei|enfartei|morri|desmaiei|cai\s+dura|cai\s+duro)\s+(?:\w+\s+){0,2}?(?:com|quando|ao|vendo|"
        r"de\s+susto|de\s+rir|por\s+causa)\b",
        r"\b(?:vou|vai|ia)\s+(?:ter|dar)\s+(?:um|uma)\s+(?:infarto|treco|piripaque|ataque)\s+(?:\w+\s+){0,2}?(?:com|se|quando|de\s+tanto)\b",
        r"\b(?:infarto|ataque\s+cardiaco|parada\s+cardiaca)\s+(?:no|na|do|da)\s+(?:bolso|carteira|conta|cartao)\b",
        r"\b(?:morrer|morri|morrendo)\s+(?:na|no)\s+(?:praia|fila|espera|conta|boleto|preco)\b",
        r"\b(?:morta|morto)\s+(?:de\s+)?(?:cansad[oa]|exaust[oa])\b",
        r"\bpreco\s+(?:de|pra|para)\s+(?:matar|morrer|infartar)\b",
        r"\b(?:boleto|conta|fatura|prazo)\s+(?:\w+\s+)?morr\w+\b",
        r"\bsangue\s+(?:doce|quente|bom|ruim|frio\s+para)\b",
        r"\bdar\s+o\s+sangue\b",
    )
)

def mask_figurative(norm: str) -> str:
    """`norm` with every figurative span replaced by spaces (same length, offsets unchanged)."""
    out = norm
    for pattern in FIGURATIVE:
        out = pattern.sub(lambda m: " " * len(m.group(0)), out)
    return out

