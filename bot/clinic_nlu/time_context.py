"""Time and context markers of pt-BR patient messages (normalized text): negation, hypothesis,
remote and resolved time, recurrence, "now", contrast, chronic complaints, clause and sentence
breaks. `red_flags._context_verdict` combines them to judge whether a finding is present now.

Plain compiled patterns, no logic; tested through tests/bot/test_red_flags.py and
tests/bot/test_red_flag_concepts.py.
"""

from __future__ import annotations

import re

__all__ = [
    "AGAIN", "CHRONIC", "CLAUSE_BREAK", "CONTRAST", "DOCUMENT_OF_PAST", "HYPOTHESIS_BREAK",
    "HYPOTHETICAL", "NAO_VERB", "NEG_WORDS", "NOW", "ONGOING_SINCE", "PRESENT", "PRESENT_TENSE",
    "RECURRENT", "REMOTE", "RESOLVED", "SENTENCE_BREAK", "SINCE_BEFORE", "TRAILING_NOW",
]

# Negation cues; "nao" only counts when followed by a having/feeling verb or directly by the
# finding ("nao sei se", "nao aguento", "nao passa" keep the finding positive).
NEG_WORDS = re.compile(r"\b(?:sem|nem|nunca|jamais|nenhum|nenhuma|ninguem|negou|nega)\b")
NAO_VERB = re.compile(
    r"\bnao(?:\s+(?:tenho|tem|tive|teve|tinha|sinto|sente|senti|sentiu|sentia|apresenta\w*|houve|"
    r"ha|sofri|sofreu|era|foi|e|deu|estou|esta|estava|estamos|to|sao|foram)\b|\s*$)"
)
# A conditional "se" opens its clause ("se minha bolsa estourar", "e se o bebê parar de mexer"),
# unlike the reflexive one after a verb ("vai se matar"); "como se" is a simile ("como se tivesse
# um elefante no peito"), not a hypothesis. The verb of a conditional is a future subjunctive or
# an infinitive: it ends in -ar/-er/-ir/-or ("tiver", "sentir", "estourar", "for").
HYPOTHETICAL = re.compile(
    r"(?:^|[,.?!]\s*|\b(?:e|mas|que|porque|ou|entao|saber|sei|fazer)\s+)(?<!como\s)se\s+(?:\w+\s+){0,3}?\w+(?:ar|er|ir|or)\b|"
    r"\b(?:(?<!como\s)se\s+(?:\w+\s+){0,3}?(?:tivesse|sentisse|der|acontecer)|o\s+que\s+(?:\w+\s+)?(?:devo\s+|deve\s+|posso\s+)?fazer\s+(?:em|se|quando|no\s+caso)|"
    r"primeiros\s+socorros|(?<!no\s)(?<!o\s)(?<!um\s)(?<!esse\s)(?<!meu\s)(?<!seu\s)(?<!do\s)(?<!nesse\s)caso\s+\w+|"
    r"em\s+caso\s+de|"
    r"medo\s+de|receio\s+de|risco\s+de|prevenir|previnir|prevencao|evitar|historico|"
    r"antecedente|check\s*-?\s*up|quais\s+(?:sao\s+)?(?:os\s+)?(?:sintomas|sinais))\b"
)
# Remote time: the finding is placed far in the past.
REMOTE = re.compile(
    r"\b(?:ano\s+passado|anos\s+atras|ano\s+atras|mes\s+passado|meses\s+atras|semana\s+passada|"
    r"semanas\s+atras|(?:sabado|domingo|segunda|terca|quarta|quinta|sexta)(?:\s+feira)?\s+passad[oa]|"
    r"nas\s+ferias|(?:ha|faz|fazem)\s+(?:\d+|um|uma|dois|duas|tres|uns|umas|alguns|algumas|"
    r"varios|varias|muitos|muitas)\s+(?:anos?|mes|meses|semanas?)|faz\s+(?:muito\s+)?tempo|"
    r"tempos\s+atras|quando\s+(?:eu\s+)?era\s+(?:crianca|pequen\w+|jovem|nov\w+)|em\s+(?:19|20)\d\d|"
    r"no\s+passado|(?:ha|faz)\s+(?:muitos\s+)?(?:anos|meses)|em\s+(?:janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|"
    r"dezembro)|de\s+(?:19|20)\d\d|hoje\s+(?:ele\s+|ela\s+)?(?:tem|esta\s+com)\s+\d+)\b"
)
# Resolved: the event is over and was handled, or the person is well now.
# "bem" is "well" only when nothing qualifies it: "está bem molinho" is "very floppy"
RESOLVED = re.compile(
    r"\b(?:(?<!que\s)(?:ja|uma\s+vez)\s+tive|ja\s+passou(?!\s+(?:uns\s+|umas\s+|mais\s+de\s+)?(?:\d+|meia|uma|um|duas|dois)\s+"
    r"(?:min\w*|hora\w*|dia\w*))|nao\s+deu\s+nada|deu\s+(?:tudo\s+)?normal|voltou\s+ao\s+normal|"
    r"ja\s+(?:parou\s+de\s+sangrar|estancou)|fui\s+(?:ao|no|na|pro|para\s+o|para\s+a)\s+"
    r"(?:pronto\s+socorro|pronto\s+atendimento|ps|upa|hospital|emergencia)|fiquei\s+internad\w*|"
    r"(?:tive|recebi|deram|deu)\s+alta|(?:ja|hoje|e|mas)\s+(?:\w+\s+)?(?:esta|estou)\s+(?:\w+\s+)?(?:bem(?=\s*(?:[,.!?;]|$|\b(?:e|agora|hoje|graca\w*|obrigad\w*|melhor|ja|so|mas|sim)\b))|otim\w+|em\s+casa)|"
    r"(?:esta|ta)\s+em\s+casa\s+bem|(?:agora|hoje)\s+(?:\w+\s+)?(?:ta|esta|estou|to)\s+(?:\w+\s+)?(?:bem(?=\s*(?:[,.!?;]|$|\b(?:e|agora|hoje|graca\w*|obrigad\w*|melhor|ja|so|mas|sim)\b))|otim\w+|"
    r"recuperad\w+|normal)|(?:ta|esta)\s+cicatrizando|ja\s+(?:sarou|cicatrizou|desinchou)|"
    # "já foi avaliada e tá tudo bem", "já foi vista pelo médico": seen by a doctor and well
    r"(?:ja|e|mas)\s+(?:ta|esta|to|estou|ficou|ficamos)\s+tudo\s+(?:bem|certo|ok)|"
    r"ja\s+(?:foi|fui)\s+(?:avaliad\w+|examinad\w+|atendid\w+|medicad\w+|tratad\w+|vist[oa]))\b"
)
# A document about a past event ("relatório do AVC do meu pai para a perícia").
DOCUMENT_OF_PAST = re.compile(
    r"\b(?:relatorio|laudo|prontuario|atestado|pericia|declaracao|seguro|inss|formulario)\b.*\b(?:teve|tive|sofreu|sofri|"
    r"tentativa|internacao|foi\s+internad\w*)\b|\b(?:teve|tive|sofreu|sofri|tentativa|internacao)\b.*\b(?:relatorio|"
    r"laudo|prontuario|atestado|pericia|declaracao|seguro|inss|formulario)\b|"
    r"\b(?:relatorio|laudo|atestado|declaracao)\s+(?:medico\s+)?(?:\w+\s+){0,5}?(?:sobre|referente)\b|"
    r"\b(?:relatorio|laudo|atestado|declaracao)\s+(?:medico\s+)?(?:do|da|de)\s+(?:\w+\s+){0,4}?(?:pra|para)\s+"
    r"(?:pericia|inss|seguro|empresa|escola|trabalho|advogad\w+|justica)\b"
)
PRESENT = re.compile(
    r"\b(?:agora(?!\s+(?:\w+\s+)?(?:ta|esta|estou|to)\s+(?:\w+\s+)?(?:bem|otim\w+|recuperad\w+|normal))|agorinha|"
    r"neste\s+momento|nesse\s+momento|de\s+novo|novamente|voltou|voltando|"
    r"ainda|continua|continuo|piorou|piorando|outra\s+vez|cada\s+(?:dia|vez)\s+mais)\b"
)
# Recurrence: a past finding that is back ("tive dor no peito semana passada e voltou"). Unlike
# PRESENT it holds no bare "agora", which often belongs to the request, not to the finding
# ("minha mãe teve derrame faz 5 anos, agora o neuro pediu tomografia").
RECURRENT = re.compile(
    r"\b(?:de\s+novo|novamente|voltou(?!\s+(?:ao\s+normal|pra\s+casa|para\s+casa|a\s+ficar\s+bem))|voltando|ainda|"
    r"continua|continuo|piorou|piorando|outra\s+vez|"
    r"cada\s+(?:dia|vez)\s+mais)\b"
)
# A remote time that dates an ongoing finding, not a past one: "faz 2 semanas que sangra", "desde
# o mês passado".
ONGOING_SINCE = re.compile(r"\s*que\b")
SINCE_BEFORE = re.compile(r"\bdesde\s+(?:(?:o|a|os|as|um|uma)\s+)?$")
# a "now" that closes the finding's clause ("está vomitando agora, o que faço?"), not one that opens
# the next request ("... faz 5 anos agora o neuro pediu")
TRAILING_NOW = re.compile(r"\s*(?:agora|agorinha|hoje|hj)\s*(?:[,;.!?]|$)")
# "estar" in the present: the finding is happening as the patient writes
PRESENT_TENSE = re.compile(r"\b(?:to|tou|estou|ta|esta|estamos|estao|tao)\s+(?:\w+\s+)?(?:com|sentindo|\w+ndo)\b")
# "now" markers: when the nearest time said before a finding is one of these, the finding is
# present even if the sentence began in the past ("operei semana passada, hoje to com febre")
NOW = re.compile(
    r"\b(?:hoje|hj|agora|agorinha|nesse\s+momento|neste\s+momento|cada\s+(?:dia|vez)\s+mais|desde\s+(?:ontem|hoje|anteontem))\b"
)
AGAIN = re.compile(r"\b(?:tambem|de\s+novo|outra\s+vez|novamente)\b")
CONTRAST = re.compile(r"\b(?:mas|porem|so\s+que|entretanto|contudo)\b")
# A hypothesis ("se", "caso") governs the verbs joined to it by "e", up to the next punctuation or
# contrast word.
HYPOTHESIS_BREAK = re.compile(r"[,;:]|\b(?:mas|porem|so\s+que|entao|agora|porque|pois)\b")
# A recurring, known complaint ("toda vez que", "às vezes", "sempre tive", "há anos").
CHRONIC = re.compile(
    r"\b(?:toda\s+vez\s+que|sempre\s+que|as\s+vezes|de\s+vez\s+em\s+quando|sempre\s+(?:tive|teve|tem|tenho|sinto|sente)|"
    r"desde\s+(?:crianca|pequen\w+|sempre|nov[oa])|(?:ha|faz)\s+anos)\b"
)
# " e " ("and") splits clauses, but not "nao e" ("it is not": accents are gone, "é" == "e")
CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:mas|porem|so\s+que|entao|agora|porque|pois)\b|(?<!nao)\s\be\b")
SENTENCE_BREAK = re.compile(r"[.!?\n]+")
