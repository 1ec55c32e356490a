"""Deterministic red-flag rules for pt-BR patient messages.

A red flag is a potentially serious clinical situation happening now. When `detect(text)` returns
anything, the NLU component `RedFlagOverride` forces the intent `urgent_symptom` (reason `urgent`):
the patient immediately gets the safety message (SAMU 192, nearest emergency room; CVV 188 when the
category is `suicide`) and the clinical team gets an urgent-priority handoff.

Design (clinical choices are deliberate; a missed emergency is a bug, a false alarm costs a nurse a
minute):
- Rules run on normalized text (`normalize.normalize_with_offsets`: lowercase, no accents,
  abbreviations expanded, "bb" -> "bebe", "n" -> "nao"...) after a conservative typo fix of a small
  vocabulary of long, distinctive clinical words ("desmaiu" -> "desmaiou", "convulsao" variants).
- When in doubt the rules FIRE. Suppression only happens for clear, explicit language:
  1. Negation right before the finding, in the same clause: "sem falta de ar", "nao tenho dor no
     peito", "nem desmaiou", "nunca tive convulsao". "Nao sei se e falta de ar" is NOT a negation;
     "nao consigo respirar" / "nao para de sangrar" are findings themselves.
  2. Hypothetical / preventive / fear language in the same clause: "e se eu tiver falta de ar no
     exame?", "em caso de dor no peito", "medo de desmaiar na coleta", "historico familiar de
     infarto", "prevenir avc".
  3. Clearly remote events: the sentence places the finding in the distant past ("ano passado",
     "mes passado", "semana passada", "ha 3 meses", "anos atras", "quando era crianca") or says it
     was already handled ("fui na upa", "tive alta") AND nothing says it is happening again ("de
     novo", "voltou", "ainda", "agora", "continua", "piorou"). "Tive dor no peito ontem" still
     fires: a day-old chest pain is still an emergency. "Ha 2 dias" still fires; "ha 2 meses" of
     chest pain is a chronic complaint for a cardiology booking, not an ambulance.
     Suicidal language is NEVER suppressed as past: any mention gets the CVV message.
  4. Rule-specific administrative or routine context: "acidente de trabalho, preciso de atestado"
     (paperwork about a past accident), "exame de sangue", "tirar sangue", "ar condicionado",
     "peito do pe", "dor tipo facada" (a pain description, not a stabbing), "azia/refluxo" with
     "queimacao no peito".
- Routine messages that share words do NOT fire: "exame de sangue", "consulta pro bebe com
  pediatra", "gravida, quero pre-natal", "bolsa" without rupture, "tiro a segunda via" (verb tirar).
- "quero marcar cardiologista pq tive dor no peito ano passado" does NOT fire (remote, explicit
  past). Without "ano passado" ("quero marcar cardiologista pq tive dor no peito") it FIRES: we
  cannot tell it is over, so the patient gets the safety message and a nurse looks at it.
- Baby fever: ANY fever in a baby ("bebe", "nene", "recem nascido", "N meses/dias de vida", "filho
  de N meses") fires: fever in infants under 3 months is an emergency and patients rarely state
  the age precisely. Fever >= 40 degrees in anyone also fires (category `fever`). Fever in an older
  child or adult alone does not fire (it is a symptom consultation).
- Poisoning: ingestion of poison/cleaning products/many pills, "remedio errado", "overdose",
  "intoxicacao" (food poisoning included: it can dehydrate fast and patients use the word loosely;
  we accept the false alarms), venomous bites (snake, scorpion, spider). "Tomei 2 dipironas" does not
  fire (a normal dose), "tomei 20 comprimidos" does.
- Serious injury: "acidente" fires unless it is paperwork about it (atestado, laudo, INSS, CAT,
  pericia, seguro) or clearly remote; any head blow fires ("bateu a cabeca"), stabbing/shooting,
  run over, open fracture, severe burn, electric shock, drowning, falls from height.
- Pregnancy: pregnancy + bleeding (miscarriage included), waters breaking ("bolsa estourou/rompeu",
  "perdendo liquido"), labor, baby not moving, pre-eclampsia signs (strong headache, seeing spots,
  high blood pressure), strong abdominal pain. "Gravida + exame de sangue" does not fire.
- Beyond the issue's list (same safety logic, each with its own category so the team sees why):
  falls of babies (from bed/changing table) and of elderly people ("minha avo caiu"), thunderclap
  headache / stiff neck / sudden confusion (`neuro`), critical numbers (blood pressure >= 18x11,
  glucose < 50 or >= 400: `vitals`), explicit calls for an ambulance/SAMU (`general`).
- NOT rules (left to the classifier, which is trained on them): vague distress such as "socorro",
  "emergencia", "meu pai ta muito mal": they are often hyperbolic ("socorro, perdi o boleto").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from clinic_nlu import concepts
from clinic_nlu.figurative import mask_figurative
from clinic_nlu.normalize import normalize_with_offsets

__all__ = ["CATEGORIES", "Assessment", "RedFlag", "assess", "describe", "detect", "has_distress_cue", "is_urgent"]

# category -> short pt-BR label (for the handoff note the clinical team reads)
CATEGORIES: dict[str, str] = {
    "chest_pain": "dor/aperto no peito",
    "breathing": "falta de ar",
    "stroke": "sinais de AVC",
    "bleeding": "sangramento intenso",
    "unconscious": "desmaio/perda de consciência",
    "seizure": "convulsão",
    "allergy": "reação alérgica grave",
    "fever": "febre em bebê/febre muito alta",
    "poisoning": "intoxicação/envenenamento",
    "injury": "acidente/lesão grave",
    "pregnancy": "gestação: sangramento/bolsa rompida/trabalho de parto",
    "suicide": "risco de suicídio/autolesão",
    "neuro": "sinais neurológicos graves (cefaleia súbita, confusão)",
    "vitals": "pressão ou glicemia em nível crítico",
    "general": "pedido de socorro/ambulância",
}


@dataclass(frozen=True)
class RedFlag:
    """One red flag found in a message. `start`/`end` point into the ORIGINAL text."""

    code: str
    category: str
    start: int = field(default=-1, compare=False)
    end: int = field(default=-1, compare=False)
    evidence: str = field(default="", compare=False)
    # pt-BR, for the team (never the patient's words): the protocol item of a concept rule, and
    # what to confirm when the rule fired although it was not sure (it prefers urgent then)
    why: str = field(default="", compare=False)
    unsure: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        return CATEGORIES.get(self.category, self.category)


@dataclass(frozen=True)
class _Rule:
    code: str
    category: str
    pattern: re.Pattern[str]
    negatable: bool = True
    past: str = "default"  # see _context_verdict: "default", "transient" (fits, faints) or "never" (suicide)
    exclude: re.Pattern[str] | None = None  # searched in the sentence
    requires: re.Pattern[str] | None = None  # searched in the whole message


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")")


_W = r"(?:\s+\w+)"  # one more word
_PEITO = r"(?:peit[oau]|pieto|peiot|peto|torax)"  # "peito", its frequent typos, and "tórax"

# --- context detectors -------------------------------------------------------------------------

# Negation cues; "nao" only counts when followed by a having/feeling verb or directly by the
# finding ("nao sei se", "nao aguento", "nao passa" keep the finding positive).
_NEG_WORDS = re.compile(r"\b(?:sem|nem|nunca|jamais|nenhum|nenhuma|ninguem|negou|nega)\b")
_NAO_VERB = re.compile(
    r"\bnao(?:\s+(?:tenho|tem|tive|teve|tinha|sinto|sente|senti|sentiu|sentia|apresenta\w*|houve|"
    r"ha|sofri|sofreu|era|foi|e|deu|estou|esta|estava|estamos|to|sao|foram)\b|\s*$)"
)
# A conditional "se" opens its clause ("se minha bolsa estourar", "e se o bebê parar de mexer"),
# unlike the reflexive one after a verb ("vai se matar"); "como se" is a simile ("como se tivesse
# um elefante no peito"), not a hypothesis. The verb of a conditional is a future subjunctive or
# an infinitive: it ends in -ar/-er/-ir/-or ("tiver", "sentir", "estourar", "for").
_HYPOTHETICAL = re.compile(
    r"(?:^|[,.?!]\s*|\b(?:e|mas|que|porque|ou|entao|saber|sei|fazer)\s+)(?<!como\s)se\s+(?:\w+\s+){0,3}?\w+(?:ar|er|ir|or)\b|"
    r"\b(?:(?<!como\s)se\s+(?:\w+\s+){0,3}?(?:tivesse|sentisse|der|acontecer)|o\s+que\s+(?:\w+\s+)?(?:devo\s+|deve\s+|posso\s+)?fazer\s+(?:em|se|quando|no\s+caso)|"
    r"primeiros\s+socorros|caso\s+(?:eu\s+)?(?:tenha|sinta|de|aconteca)|em\s+caso\s+de|"
    r"medo\s+de|receio\s+de|risco\s+de|prevenir|previnir|prevencao|evitar|historico|"
    r"antecedente|check\s*-?\s*up|quais\s+(?:sao\s+)?(?:os\s+)?(?:sintomas|sinais))\b"
)
# Remote time: the finding is placed far in the past.
_REMOTE = re.compile(
    r"\b(?:ano\s+passado|anos\s+atras|ano\s+atras|mes\s+passado|meses\s+atras|semana\s+passada|"
    r"semanas\s+atras|(?:ha|faz|fazem)\s+(?:\d+|um|uma|dois|duas|tres|uns|umas|alguns|algumas|"
    r"varios|varias|muitos|muitas)\s+(?:anos?|mes|meses|semanas?)|faz\s+(?:muito\s+)?tempo|"
    r"tempos\s+atras|quando\s+(?:eu\s+)?era\s+(?:crianca|pequen\w+|jovem|nov\w+)|em\s+(?:19|20)\d\d|"
    r"no\s+passado|(?:ha|faz)\s+(?:muitos\s+)?(?:anos|meses)|em\s+(?:janeiro|fevereiro|marco|abril|maio|junho|julho|agosto|setembro|outubro|novembro|"
    r"dezembro)|de\s+(?:19|20)\d\d|hoje\s+(?:ele\s+|ela\s+)?(?:tem|esta\s+com)\s+\d+)\b"
)
# Resolved: the event is over and was handled, or the person is well now.
_RESOLVED = re.compile(
    r"\b(?:(?:ja|uma\s+vez)\s+tive|ja\s+passou|fui\s+(?:ao|no|na|pro|para\s+o|para\s+a)\s+"
    r"(?:pronto\s+socorro|pronto\s+atendimento|ps|upa|hospital|emergencia)|fiquei\s+internad\w*|"
    r"(?:tive|recebi|deram|deu)\s+alta|(?:ja|hoje|e|mas)\s+(?:\w+\s+)?(?:esta|estou)\s+(?:\w+\s+)?(?:bem|otim\w+|em\s+casa)|"
    r"(?:esta|ta)\s+em\s+casa\s+bem|(?:agora|hoje)\s+(?:\w+\s+)?(?:ta|esta|estou|to)\s+(?:\w+\s+)?(?:bem|otim\w+|"
    r"recuperad\w+|normal)|(?:ta|esta)\s+cicatrizando|ja\s+(?:sarou|cicatrizou|desinchou))\b"
)
# A document about a past event ("relatório do AVC do meu pai para a perícia").
_DOCUMENT_OF_PAST = re.compile(
    r"\b(?:relatorio|laudo|prontuario|atestado|pericia|declaracao|seguro|inss|formulario)\b.*\b(?:teve|tive|sofreu|sofri|"
    r"tentativa|internacao|foi\s+internad\w*)\b|\b(?:teve|tive|sofreu|sofri|tentativa|internacao)\b.*\b(?:relatorio|"
    r"laudo|prontuario|atestado|pericia|declaracao|seguro|inss|formulario)\b"
)
_PRESENT = re.compile(
    r"\b(?:agora(?!\s+(?:\w+\s+)?(?:ta|esta|estou|to)\s+(?:\w+\s+)?(?:bem|otim\w+|recuperad\w+|normal))|agorinha|"
    r"neste\s+momento|nesse\s+momento|de\s+novo|novamente|voltou|voltando|"
    r"ainda|continua|continuo|piorou|piorando|outra\s+vez|cada\s+(?:dia|vez)\s+mais)\b"
)
# "today" inside the finding's OWN clause: "operei semana passada, hoje to com febre" (the remote
# time belongs to another clause; the fever is now)
_NOW_IN_CLAUSE = re.compile(
    r"\b(?:hoje|hj|agora|agorinha|nesse\s+momento|neste\s+momento|cada\s+(?:dia|vez)\s+mais|desde\s+(?:ontem|hoje|anteontem))\b"
)
# " e " ("and") splits clauses, but not "nao e" ("it is not": accents are gone, "é" == "e")
_CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:mas|porem|so\s+que|entao|agora|porque|pois)\b|(?<!nao)\s\be\b")
_SENTENCE_BREAK = re.compile(r"[.!?\n]+")

# --- shared vocabulary ------------------------------------------------------------------------------

_NUM = r"(?:\d+|um|uma|dois|duas|tres|quatro|cinco|seis|sete|oito|nove|dez|onze)"
_BABY = re.compile(
    r"\b(?:bebe(?:s|zinh[oa]s?)?\b|nene(?:s|zinh[oa]s?)?\b|recem[\s-]+nascid\w+|lactente|" + _NUM
    + r"\s+(?:mes|meses|dias|semanas)(?:inho|inhos)?"
    r"\s+de\s+(?:vida|idade|nascid\w+)|(?:filh\w+|sobrinh\w+|net[oa]s?|crianca|menin[oa]|ele|ela)\s+"
    r"(?:\w+\s+)?(?:de|com|tem)\s+" + _NUM + r"\s+(?:mes|meses|dias|semanas)(?:inho|inhos)?)\b"
)
_PREGNANT = re.compile(
    r"\b(?:gravid\w*|gestante|gestacao|gravidez|prenhe|\d+\s+semanas\s+de\s+(?:gestacao|gravidez)|"
    r"estou\s+esperando\s+(?:um\s+)?(?:bebe|nene|filho)|pre\s*-?\s*natal|barrigud\w+|aborto|abortando|"
    r"perd\w+\s+(?:o\s+|meu\s+)?(?:bebe|nene|neném)|perd\w+\s+a\s+gravidez|"
    r"\d+\s+(?:semanas|meses)\s+(?:gravida|de\s+barriga))\b"
)
_ELDERLY = re.compile(
    r"\b(?:avo|vovo|vo|bisavo|idos[oa]s?|senhor(?:a|inha|zinho)?\s+de\s+idade|(?:[6-9]\d|1[01]\d)\s+anos)\b"
)
_ADMIN = re.compile(
    r"\b(?:atestado|laudo|relatorio|pericia|inss|cat|declaracao|afastamento|seguro|dpvat|beneficio|"
    r"advogado|processo|auxilio|comprovante|documento|reembolso)\b"
)
_BODY_FACE = r"(?:rosto|cara|lingua|labios?|boca|glote|face)"

# --- rules ------------------------------------------------------------------------------------------

_RULES: tuple[_Rule, ...] = (
    # chest pain / pressure; infarction words
    _Rule(
        "chest_pain",
        "chest_pain",
        _rx(
            r"dor(?:es|zinha)?" + _W + r"{0,3}?\s+(?:n[oa]|do|da|neste|nesse|em\s+meu|meu)\s+(?:meu\s+)?" + _PEITO
            + r"\b(?!\s+do\s+pe)",
            r"dor(?:es)?\s+(?:toracica|precordial|no\s+torax)",
            r"peito" + _W + r"{0,2}\s+(?:doendo|doi|doe|dolorido|apertado|pesado|queimando|ardendo|travado|"
            r"explodindo|fisgando)",
            r"(?:doendo|doi|doe|aperta|apertando|queima|queimando)\s+(?:o|meu|muito\s+o|demais\s+o)\s+peito",
            r"(?:aperto|pressao|peso|pontadas?|agulhadas?|fisgadas?|facadas?)" + _W + r"{0,2}?\s+"
            r"(?:n[oa]|do)\s+(?:meu\s+)?" + _PEITO + r"\b(?!\s+do\s+pe)",
            r"infart\w*",
            r"enfart\w*",
            r"ataque\s+cardiaco",
            r"parada\s+cardiaca",
            r"dor" + _W + r"{0,2}\s+(?:n[oa]|do)\s+braco\s+esquerdo"
            + r"(?=.*\b(?:peito|suor|suando|falta\s+de\s+ar|enjoo|mandibula))",
        ),
    ),
    # burning in the chest: usually heartburn, so not when the patient says so
    _Rule(
        "chest_pain",
        "chest_pain",
        _rx(
            r"(?:queimacao|ardencia|queimando)" + _W + r"{0,2}?\s+(?:n[oa]|do)\s+(?:meu\s+)?" + _PEITO
            + r"\b(?!\s+do\s+pe)"
        ),
        exclude=re.compile(r"\b(?:azia|refluxo|gastrite|ma\s+digestao|depois\s+(?:de|que)\s+com\w+)\b"),
    ),
    # shortness of breath, choking, asthma attack, cyanosis
    _Rule(
        "shortness_of_breath",
        "breathing",
        _rx(
            r"falt\w*\s+(?:de\s+|o\s+)?ar\b(?!\s+condicionado)",
            r"(?:fata|fauta|falat|flata)\s+de\s+ar\b(?!\s+condicionado)",
            r"(?:nao|mal)\s+(?:esta\s+)?respira\b",
            r"parou\s+de\s+respirar",
            r"sem\s+ar\b(?!\s+condicionado)",
            r"(?:nao|sem|nem)\s+(?:\w+\s+)?(?:consig\w*|consegu\w*)\s+(?:\w+\s+)?respirar",
            r"(?:nao|mal)\s+(?:esta|estou|estava)?\s*respirando",
            r"dificuldade\s+(?:para\s+|de\s+|pra\s+|em\s+)?respirar",
            r"respir\w+\s+(?:com\s+dificuldade|mal|muito\s+rapido|ofegante)",
            r"respiracao\s+(?:dificil|curta|ofegante|pesada|fraca|acelerada)",
            r"sufoca(?:nd\w*|d\w*|mento|ndo)|sufocou",
            r"(?:labios?|boca|rosto|pele|dedos|unhas)\s+(?:\w+\s+)?(?:roxa|roxo|roxos|roxas|arroxead\w+|azulad\w+)",
            r"(?:bebe|nene|crianca|ele|ela|boca|labios?|rosto|cara)\s+(?:\w+\s+)?fic\w+\s+(?:todo\s+|toda\s+)?(?:roxo|roxa|azul)",
            r"engasg\w+",
            r"crise\s+(?:forte\s+)?de\s+(?:asma|bronquite)",
            r"asma\s+(?:atacada|forte|muito\s+forte)",
            r"cansad\w*\s+(?:para|de|pra)\s+respirar",
            r"puxando\s+o\s+ar",
        ),
    ),
    # stroke signs
    _Rule(
        "stroke_signs",
        "stroke",
        _rx(
            r"boca\s+(?:\w+\s+)?tort\w+",
            r"(?:rosto|cara|face)\s+(?:\w+\s+)?(?:tort\w+|caid\w+|paralisad\w+|repuxad\w+|dormente|cai\w*\s+de\s+um\s+lado)",
            r"(?:metade|lado)\s+(?:do|da)\s+(?:rosto|cara|face|boca)\s+(?:\w+\s+)?(?:caid|paralisad|dormente|tort|mole)\w*",
            r"fala\s+(?:\w+\s+)?(?:enrolad\w+|arrastad\w+|embolad\w+|confus\w+)",
            r"falando\s+(?:\w+\s+)?(?:enrolado|embolado|arrastado|estranho|tudo\s+errado|coisa\s+com\s+coisa|sem\s+sentido)",
            r"lingua\s+enrolad\w+",
            r"enrolando\s+(?:a\s+)?(?:fala|lingua|as\s+palavras)",
            r"(?:rosto|cara|boca)\s+(?:\w+\s+){0,3}?(?:caiu|entortou|ficou\s+tort\w+|ficou\s+caid\w+)",
            # sudden numbness/weakness anywhere ("braco e perna dormentes de repente")
            r"(?:dormente|dormentes|dormencia|formigamento|fraqueza|paralisad\w*|sem\s+forca|adormecid\w+)\s+"
            r"(?:\w+\s+){0,3}?(?:de\s+repente|do\s+nada|subitamente|repentinamente)",
            r"(?:de\s+repente|do\s+nada|subitamente)\s+(?:\w+\s+){0,5}?(?:dormente|dormentes|paralisad\w*|sem\s+forca)",
            r"nao\s+(?:consegue|esta\s+conseguindo|consigo|conseguia)\s+(?:mais\s+)?falar"
            r"(?!\s+(?:com|no|na|pelo|pela|por|ao|sobre|da|do|whatsapp|telefone|ninguem|nada|la|aqui|ai))",
            r"nao\s+(?:consegue|esta\s+conseguindo|consigo|conseguia)\s+(?:mais\s+)?(?:mexer|levantar|sentir)\s+"
            r"(?:o|a)\s+(?:braco|perna|lado|mao|rosto|boca)",
            r"(?:fraqueza|dormencia|formigamento|paralisia|dormente|sem\s+forca|adormecid\w+|paralisad\w+)" + _W
            + r"{0,4}?\s+(?:(?:de|em|d[oa]|n[oa])\s+)?(?:um\s+so\s+|so\s+um\s+|um\s+dos\s+|um\s+|o\s+|uma\s+)?lado\b",
            r"lado\s+(?:direito|esquerdo)\s+do\s+corpo\s+(?:\w+\s+)?(?:dormente|paralisad\w+|fraco|mole|sem\s+forca|"
            r"formigando|adormecid\w+|nao\s+mexe)",
            r"(?:braco|perna|mao)\s+(?:direit[oa]|esquerd[oa])\s+(?:\w+\s+)?(?:dormente|paralisad\w+|sem\s+forca|"
            r"fraco|fraca|nao\s+mexe|mole|caid\w+)",
            r"nao\s+(?:mexe|sente|consegue\s+mexer)\s+(?:o|a)\s+(?:braco|perna|lado|mao)",
            r"perd\w+\s+(?:subita|repentina)\s+(?:d[ae]\s+)?(?:a\s+)?visao",
            r"perd\w+\s+(?:d[ae]\s+)?(?:a\s+)?visao\s+(?:\w+\s+){0,3}?(?:de\s+repente|do\s+nada|subitamente|repentinamente)",
            r"(?:perdi|perdeu)\s+a\s+visao",
            r"fic\w+\s+(?:cego|cega)",
            r"parou\s+de\s+enxergar",
            r"(?:nao\s+)?(?:estou|esta|to)?\s*(?:sem\s+)?enxergando\s+nada",
            r"visao\s+(?:escureceu|apagou|sumiu)",
            r"derrame(?!\s+(?:no|nos|de|pleural)\s*(?:olho|olhos|pleural)?)",
            r"avc",
            r"acidente\s+vascular",
            r"isquemia",
        ),
    ),
    # heavy bleeding; vomiting/coughing blood
    _Rule(
        "heavy_bleeding",
        "bleeding",
        _rx(
            r"sangramento\s+(?:\w+\s+)?(?:forte|intenso|grande|abundante|que\s+nao\s+para|muito\s+forte|sem\s+parar|demais)",
            r"muito\s+sangue",
            r"sangue\s+demais",
            r"sangue\s+(?:pra|para)\s+todo\s+lado",
            r"sangr\w+\s+(?:muito|demais|sem\s+parar|bastante|horrores|pra\s+caramba|que\s+nem|igual)",
            r"nao\s+(?:para|parou|esta\s+parando|estanca)\s+de\s+sangrar",
            r"sangr\w+\s+(?:e|que)\s+nao\s+para",
            r"sangue\s+(?:e|que)\s+nao\s+para",
            r"hemorragia\w*",
            r"perd\w+\s+(?:muito\s+)?sangue",
            r"(?:vomit\w*|tossi\w*|tossindo|cusp\w*|golf\w*|escarr\w*|jorr\w*)\s+(?:\w+\s+)?sangue",
            r"sangue\s+(?:no|na|pelo|pela)\s+(?:vomito|tosse|boca\s+e\s+nariz)",
            r"poca\s+de\s+sangue",
        ),
        exclude=re.compile(
            r"\b(?:tirar|tira|tiram|tirou|tiraram|coleta\w*|colher|colhe|doar|doacao|doei|doando)\s+"
            r"(?:\w+\s+)?(?:muito\s+)?sangue"
        ),
    ),
    # fainting / unconsciousness
    _Rule(
        "fainting",
        "unconscious",
        _rx(
            r"desmai\w*",
            r"perd\w+\s+(?:a\s+)?(?:consciencia|os\s+sentidos)",
            r"inconscien\w+",
            r"desacordad\w+",
            r"nao\s+(?:acorda|esta\s+acordando|quer\s+acordar|reage|responde\s+(?:a|aos|quando))",
            r"apagou\s+(?:do\s+nada|e\s+caiu|de\s+repente)",
            r"caiu\s+(?:e\s+)?(?:nao\s+levanta|desacordad\w+|duro|dura)",
            r"sincope",
            r"(?:esta|estou|to)\s+(?:quase\s+)?apagando",
        ),
        exclude=re.compile(
            # worries about fainting at a blood draw are not fainting ("acho que vou desmaiar" is)
            r"\b(?:medo|receio)\s+de\s+(?:\w+\s+)?desmai\w*|\b(?:posso|pode|costumo|costuma|ia|iria|normal)\s+"
            r"(?:\w+\s+)?desmai\w*|\bse\s+(?:eu\s+)?desmai\w*|\bsempre\s+que\s+(?:\w+\s+){0,4}?desmai\w*"
        ),
    ),
    # seizure
    _Rule(
        "seizure",
        "seizure",
        _rx(
            r"convuls\w*",
            r"comvuls\w*",
            r"ataque\s+(?:epileptico|de\s+epilepsia|epilepsia)",
            r"crise\s+(?:epileptica|convulsiva|de\s+epilepsia|de\s+convulsao)",
            r"(?:tremendo|se\s+debatendo|se\s+tremendo|estrebuchando)\s+(?:\w+\s+)?(?:e\s+)?(?:babando|espumando)",
            r"espumando\s+(?:pela|na)\s+boca",
            r"(?:olhos?\s+revirad\w+|revirando\s+os\s+olhos)",
            r"se\s+debatendo",
        ),
        # a fit is over in minutes: "já passou" still needs care (MTS Fits: post-ictal, first fit)
        past="transient",
    ),
    # severe allergic reaction
    _Rule(
        "anaphylaxis",
        "allergy",
        _rx(
            r"garganta\s+(?:\w+\s+)?(?:fechando|fechou|fechada|trancando|trancou|inchando|inchada|inchou)",
            r"(?:inchac\w*|inchad\w*|inchou|inchando|incho)" + _W + r"{0,3}?\s+(?:n[oa]s?\s+|d[oa]s?\s+)?"
            + _BODY_FACE + r"\b",
            _BODY_FACE + r"\s+(?:\w+\s+){0,2}?(?:inchad\w*|inchando|inchou|inchaco|incha)",
            r"anafila\w*",
            r"edema\s+de\s+glote",
            r"reacao\s+alergica\s+(?:\w+\s+)?(?:grave|forte|severa|seria|feia)",
            r"(?:alergia|reacao\s+alergica)" + _W + r"{0,5}?\s+(?:sem\s+conseguir\s+respirar|fechando\s+a\s+garganta)",
            r"(?:estou|esta|to)\s+(?:tendo|com)\s+(?:uma\s+)?(?:reacao\s+alergica|crise\s+alergica)",
        ),
    ),
    # fever in a baby (any fever), very high fever in anyone
    _Rule(
        "baby_fever",
        "fever",
        _rx(r"febr\w*", r"temperatura\s+(?:alta|de\s+3[89]|de\s+4\d)", r"3[89](?:[,.]\d)?\s*(?:graus|c)\b"),
        requires=_BABY,
    ),
    _Rule(
        "very_high_fever",
        "fever",
        _rx(
            r"febre\s+(?:\w+\s+)?(?:de\s+|com\s+|a\s+)?4[0-2](?:[,.]\d)?",
            r"4[0-2](?:[,.]\d)?\s*(?:graus|c\b|de\s+febre)",
            r"temperatura\s+(?:de\s+)?4[0-2]",
        ),
    ),
    # poisoning, overdose, venomous bites
    _Rule(
        "poisoning",
        "poisoning",
        _rx(
            r"envenen\w*",
            r"intoxic\w*",
            r"overdose",
            r"(?:tomou|tomei|tomaram|bebeu|bebi|engoliu|engoli|ingeriu|ingeri|comeu|comi|tomado)" + _W + r"{0,4}?\s+"
            r"(?:veneno|chumbinho|raticida|inseticida|agua\s+sanitaria|candida|qboa|cloro|soda\s+caustica|"
            r"produtos?\s+de\s+limpeza|produto\s+quimico|desinfetante|alvejante|querosene|gasolina|solvente|"
            r"thinner|removedor|detergente|pilhas?|baterias?|cartela|caixa\s+(?:inteira|toda)|vidro\s+(?:inteiro|todo)|"
            r"frasco\s+(?:inteiro|todo)|todos?\s+os\s+(?:remedios|comprimidos)|remedios?\s+demais|"
            r"(?:muitos?|varios?|um\s+monte\s+de)\s+(?:remedios?|comprimidos?|capsulas?|pilulas?)|"
            r"(?:\d{2,}|dez|quinze|vinte|trinta)\s+(?:remedios|comprimidos|capsulas|pilulas)|"
            r"remedios?\s+(?:d[aoe]\s+)?(?:avo|vo|vovo|mae|pai|vizinh\w+|irma\w*|tia|tio)|"
            r"remedios?\s+errados?|dose\s+errada|dose\s+dupla|remedios?\s+escondid\w+|remedio\s+de\s+adulto)",
            r"engol\w+\s+(?:\w+\s+){0,3}?(?:remedios?|comprimidos?|pilulas?|capsulas?|pilhas?|baterias?|imas?|"
            r"moedas?|veneno|produtos?)",
            r"(?:tomou|tomei|comeu|comi|bebeu|pegou|engoliu)\s+(?:uns|umas|alguns|algumas|varios|varias|"
            r"um\s+monte\s+de|todos\s+os|todas\s+as)\s+(?:remedios|comprimidos|pilulas|capsulas)",
            r"(?:picad\w+|mordid\w+|picou|mordeu)\s+(?:\w+\s+)?(?:de\s+|por\s+|uma\s+|um\s+)?(?:cobra|escorpiao|aranha|jararaca|cascavel)",
            r"(?:cobra|escorpiao|aranha|jararaca|cascavel)\s+(?:\w+\s+)?(?:picou|mordeu)",
        ),
    ),
    # serious injury
    _Rule(
        "serious_injury",
        "injury",
        _rx(
            r"acidente\b(?!\s+vascular)",
            r"atropel\w*",
            r"fratura\s+exposta",
            r"osso\s+(?:\w+\s+)?(?:para|pra)\s+fora",
            r"osso\s+exposto",
            r"(?:levou|tomou|levei|tomei|deram|atingid\w+|acertaram)\s+(?:\w+\s+)?(?:tiros?|facadas?|bala)\b",
            r"balead\w+",
            r"esfaquead\w+",
            r"facadas?\b",
            r"arma\s+de\s+fogo",
            r"tiroteio",
            r"(?:bateu|bati|batido|batida|batendo|pancada|pancadao|bater)" + _W
            + r"{0,3}?\s+(?:n[ao]|[ao])\s+(?:sua\s+|minha\s+)?cabeca",
            r"(?:cabeca|cabecada)\s+(?:\w+\s+)?(?:no|na|contra)\s+(?:chao|parede|quina|mesa)",
            r"(?:caiu|cai|cairam|queda)\s+de\s+cabeca",
            r"traumatismo",
            r"queimadura\w*\s+(?:\w+\s+)?(?:grave|feia|grande|extensa|profunda|de\s+(?:segundo|terceiro|2|3)\w*\s+grau)",
            r"(?:se\s+|me\s+)?queim(?:ou|ei|aram|ado|ada)\s+(?:\w+\s+){0,2}?(?:feio|muito|todo|toda|o\s+rosto|a\s+cara|o\s+corpo)",
            r"(?:oleo|agua)\s+fervendo",
            r"(?:caiu|cai|queda)" + _W + r"{0,3}?\s+(?:da|do|de)\s+(?:escada|telhado|laje|altura|andaime|arvore|cavalo|"
            r"moto|bicicleta|beliche|segundo\s+andar|janela)",
            r"choque\s+eletrico",
            r"eletrocut\w+",
            r"afog\w+",
            r"corte\s+(?:muito\s+)?(?:profundo|grande|fundo|feio)",
            r"cortou\s+(?:\w+\s+)?(?:feio|fundo|muito)",
            r"amput\w+",
            r"decep(?:ou|ad[oa]s?|ar|ei|aram)\b",
            r"esmag\w+",
            r"bateu\s+o\s+carro|batida\s+de\s+(?:carro|moto)|capot\w+",
        ),
        exclude=re.compile(
            _ADMIN.pattern + r"|\bdor\s+(?:\w+\s+)?(?:tipo|como|de|parece)\s+(?:uma\s+)?facada|"
            r"\b(?:tipo|como|parece)\s+(?:uma\s+)?facada"
        ),
    ),
    # falls of babies (any height) and of elderly people
    _Rule(
        "baby_fall",
        "injury",
        _rx(r"(?:caiu|queda|despencou)\s+(?:\w+\s+){0,3}?(?:da|do|de|no)\s+(?:cama|trocador|berco|sofa|colo|cadeir\w+|"
            r"carrinho|bebe\s+conforto|escada|chao|alto)"),
        requires=_BABY,
    ),
    _Rule(
        "elderly_fall",
        "injury",
        _rx(r"caiu", r"levou\s+um\s+tombo", r"tombo", r"queda"),
        requires=_ELDERLY,
        exclude=re.compile(r"\b(?:cabelo|pressao|glicose|febre|temperatura|consulta|sistema|ligacao|internet)\b"),
    ),
    # pregnancy: bleeding, waters breaking, labor, baby not moving
    _Rule(
        "pregnancy_bleeding",
        "pregnancy",
        _rx(
            r"sangramento\w*",
            r"sangr(?:ando|ou|ei|a)\b",
            r"(?:perdendo|saindo|descendo|escorrendo|com|muito|manchas?\s+de|borra\s+de)\s+sangue",
            r"sangue\s+(?:na|no)\s+(?:calcinha|absorvente|papel|vaso)",
            r"hemorragia",
            r"escape\b",
        ),
        requires=_PREGNANT,
        exclude=re.compile(r"\bexames?\s+(?:\w+\s+)?(?:de\s+)?sangue|\b(?:tirar|coleta\w*|colher)\s+(?:de\s+)?sangue"),
    ),
    _Rule(
        "waters_broken",
        "pregnancy",
        _rx(
            r"bolsa\s+(?:\w+\s+)?(?:estourou|estorou|rompeu|rompida|estourada|arrebentou|rasgou|vazando)",
            r"(?:estourou|estorou|rompeu|arrebentou)\s+a\s+(?:minha\s+)?bolsa",
            r"rompimento\s+da\s+bolsa",
        ),
    ),
    _Rule(
        "waters_broken",
        "pregnancy",
        _rx(r"(?:perdendo|saindo|escorrendo|vazando|perdi)\s+(?:muito\s+)?(?:liquido|agua)"),
        requires=_PREGNANT,
    ),
    _Rule(
        "labor",
        "pregnancy",
        _rx(
            r"contracoes?\s+(?:\w+\s+)?(?:fortes?|de\s+\d+\s+em\s+\d+|ritmadas|sem\s+parar|muito)",
            r"(?:bebe|nene|neném)\s+(?:nao\s+(?:esta\s+)?(?:mexe|mexendo|se\s+mexe)|parou\s+de\s+(?:mexer|se\s+mexer))",
            r"nasce\w*\s+agora",
        ),
        requires=_PREGNANT,
    ),
    _Rule("labor", "pregnancy", _rx(r"trabalho\s+de\s+parto", r"entrei\s+em\s+trabalho")),
    # pre-eclampsia signs and strong pain in pregnancy
    _Rule(
        "pregnancy_warning",
        "pregnancy",
        _rx(
            r"(?:muita|forte|fortissima)\s+dor\s+de\s+cabeca",
            r"dor\s+de\s+cabeca\s+(?:muito\s+)?(?:forte|fortissima|insuportavel)",
            r"(?:vendo|enxergando)\s+(?:uns\s+)?(?:pontinhos|pontos|estrelinhas|luzes|brilhos?)",
            r"visao\s+(?:embacada|turva)",
            r"pressao\s+(?:muito\s+)?alta",
            r"dor\s+(?:muito\s+)?forte\s+n[ao]\s+(?:barriga|pe\s+da\s+barriga|ventre)",
            r"colicas?\s+(?:muito\s+)?fortes?",
            r"convuls\w*",
        ),
        requires=_PREGNANT,
    ),
    # suicidal thoughts / self-harm (never suppressed as "past"; explicit negation still applies)
    _Rule(
        "suicidal_ideation",
        "suicide",
        _rx(
            r"(?:quero|queria|vontade\s+de|pensando\s+em|penso\s+em|pensei\s+em|desejo\s+de)\s+(?:\w+\s+)?morrer",
            r"melhor\s+(?:eu\s+)?(?:estar\s+)?(?:morto|morta|morrer)",
            r"(?:me|se)\s+matar(?!\s+de\s+(?:rir|trabalhar|estudar))",
            r"vou\s+me\s+matar",
            r"suicid\w*",
            r"tirar\s+(?:a\s+)?(?:minha\s+)?(?:propria\s+)?vida",
            r"acabar\s+com\s+(?:a\s+)?(?:minha\s+)?vida",
            r"acabar\s+com\s+tudo",
            r"dar\s+fim\s+(?:a|na|em)\s+(?:minha\s+)?vida",
            r"nao\s+(?:aguento|suporto|quero|consigo)\s+mais\s+viver",
            r"nao\s+(?:vejo|tem|ha)\s+(?:mais\s+)?sentido\s+(?:em|na|de)\s+(?:viver|vida|continuar)",
            r"nao\s+quero\s+mais\s+(?:estar\s+aqui|existir|acordar|viver)",
            # passive ideation
            r"(?:nao\s+tenho|sem|perdi\s+a|nao\s+sinto)\s+(?:mais\s+)?(?:nenhuma\s+)?vontade\s+de\s+viver",
            r"cansad[oa]\s+de\s+viver",
            r"desistir\s+(?:de\s+tudo|da\s+vida|de\s+viver)",
            r"(?:melhor|melhores)\s+sem\s+mim",
            r"(?:se|que)\s+eu\s+(?:nao\s+existisse|sumisse|morresse)",
            r"sumir\s+(?:do\s+mundo\s+)?para\s+sempre",
            r"tomar\s+todos\s+os\s+(?:meus\s+)?(?:remedios|comprimidos)",
            r"se\s+jogar\s+(?:da|do|de|na\s+frente)",
            r"me\s+jogar\s+(?:da|do|de|na\s+frente)",
            r"enforcar",
        ),
        past="never",
    ),
    _Rule(
        "self_harm",
        "suicide",
        _rx(
            r"me\s+(?:cortar|cortando|corto|machucar|ferir|mutil\w*)\b",
            r"me\s+(?:cortei|machuquei|feri)\s+(?:\w+\s+)?(?:de\s+proposito|(?:os\s+|o\s+)?pulsos?)",
            r"se\s+(?:cortando|cortar|cortou|machucando|mutil\w*)\s+(?:de\s+proposito|os?\s+pulsos?|o\s+braco)",
            r"cort\w+\s+(?:os\s+|meus\s+|o\s+|meu\s+)?pulsos?",
            r"se\s+(?:cortando|mutilando|automutilando)\b",
            r"auto\s*-?\s*(?:lesao|mutila\w*|agressao)",
            r"automutila\w*",
        ),
        past="never",
        exclude=re.compile(r"\b(?:sem\s+querer|cozinhando|na\s+cozinha|fazendo\s+a\s+barba|depilando|cabelo|unha)\b"),
    ),
    # neurological emergencies outside the stroke list: thunderclap headache (possible brain
    # haemorrhage), headache or fever with a stiff neck (meningitis), sudden confusion
    _Rule(
        "thunderclap_headache",
        "neuro",
        _rx(
            r"pior\s+dor\s+de\s+cabeca\s+(?:\w+\s+){0,2}?(?:vida|minha\s+vida)",
            r"dor\s+de\s+cabeca\s+(?:\w+\s+){0,3}?(?:subita|explosiva|que\s+nem\s+um\s+estouro)",
            r"dor\s+de\s+cabeca\b.{0,60}?\bpior\s+(?:da|de)\s+(?:minha\s+)?vida",
            r"dor\s+de\s+cabeca\s+(?:muito\s+)?(?:forte|fortissima|insuportavel|horrivel|absurda)\s+(?:\w+\s+){0,2}?"
            r"(?:de\s+repente|do\s+nada|subita)",
            r"(?:rigidez|duro|dura|travad\w+)\s+(?:n[ao]\s+)?(?:nuca|pescoco)",
            r"(?:nuca|pescoco)\s+(?:\w+\s+)?(?:dur[oa]|rigid[oa]|travad[oa])",
        ),
    ),
    _Rule(
        "sudden_confusion",
        "neuro",
        _rx(
            r"(?:confus[oa]|desorientad[oa]|nao\s+reconhece\s+ninguem|falando\s+coisa\s+sem\s+sentido)\s+"
            r"(?:\w+\s+){0,2}?(?:de\s+repente|do\s+nada|subitamente)",
            r"(?:de\s+repente|do\s+nada)\s+(?:\w+\s+){0,3}?(?:confus[oa]|desorientad[oa])",
            r"caiu\s+(?:\w+\s+){0,3}?(?:confus[oa]|desorientad[oa])",
        ),
    ),
    # critical blood pressure (>= 18 x 11 cmHg style numbers) or blood glucose (< 50 or >= 400)
    _Rule(
        "critical_vitals",
        "vitals",
        _rx(
            r"pressao\s+(?:\w+\s+){0,4}?(?:1[89]\d?|2\d\d?)\s*(?:por|x|/)\s*\d{1,3}",
            r"(?:glicose|glicemia|dextro|hgt|acucar\s+no\s+sangue)\s+(?:\w+\s+){0,2}?(?:[1-4]\d|[4-9]\d\d)\b(?!\s*(?:anos|dias|horas|minutos|reais))",
        ),
        exclude=re.compile(r"\bjejum\s+de\s+\d|\bhoras\s+de\s+jejum"),
    ),
    # explicit request for an ambulance / emergency service
    _Rule(
        "emergency_request",
        "general",
        _rx(
            r"(?:chama|chamem|chamar|ligar?|liga|ligue|preciso\s+d[ao]|manda|mandem)\s+(?:\w+\s+){0,2}?"
            r"(?:ambulancia|samu|resgate|bombeiros?)",
            r"(?:ambulancia|samu)\s+(?:urgente|agora|rapido)",
        ),
    ),
)

# --- typo tolerance ------------------------------------------------------------------------------

# Long, distinctive words that must survive one typo. Only tokens of 7+ letters are corrected (so
# "fatura" never becomes "fratura") and only to words of this list.
_VOCAB = (
    "desmaiou desmaiei desmaiada desmaiado desmaiando desmaios convulsao convulsoes convulsionando "
    "convulsionou hemorragia sangramento sangrando respirar respirando sufocando sufocado sufocada "
    "consciencia desacordado desacordada inconsciente envenenamento envenenado envenenada intoxicacao "
    "intoxicado intoxicada anafilaxia anafilatico atropelado atropelada atropelamento suicidio "
    "suicidar gestante formigamento dormencia infarto infartando enfarto garganta inchado inchada "
    "epileptico epileptica esfaqueado esfaqueada baleado baleada overdose engasgado engasgada engasgou "
    "paralisado paralisada enrolada enrolado estourou rompeu queimadura traumatismo"
).split()
_VOCAB_SET = frozenset(_VOCAB)


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _fix_typos(text: str, offsets: list[int]) -> tuple[str, list[int]]:
    out: list[str] = []
    offs: list[int] = []
    pos = 0
    for m in re.finditer(r"[a-z]{7,}", text):
        word = m.group(0)
        out.append(text[pos : m.start()])
        offs.extend(offsets[pos : m.start()])
        fixed = word
        if word not in _VOCAB_SET:
            for cand in _VOCAB:
                if (abs(len(cand) - len(word)) <= 1 and cand[0] == word[0] and _within_one_edit(word, cand)
                        and _common_prefix(word, cand) < min(len(word), len(cand)) - 2):
                    # only typos inside the word: a different ENDING is an inflection
                    # ("respira" is not "respirar"), which the stem patterns already cover
                    fixed = cand
                    break
        out.append(fixed)
        src = offsets[m.start() : m.end()]
        offs.extend(src[min(i, len(src) - 1)] for i in range(len(fixed)))
        pos = m.end()
    out.append(text[pos:])
    offs.extend(offsets[pos:])
    return "".join(out), offs


# --- detection -----------------------------------------------------------------------------------


def _span(breaks: re.Pattern[str], text: str, start: int, end: int) -> tuple[int, int]:
    """The [begin, finish) of the segment of `text` (cut by `breaks`) that contains start..end."""
    begin, finish = 0, len(text)
    for b in breaks.finditer(text):
        if b.end() <= start:
            begin = b.end()
        elif b.start() >= end:
            finish = b.start()
            break
    return begin, finish


def _negated(before: str) -> bool:
    """Negation cue among the last words before the finding (same clause)."""
    window = " ".join(before.split()[-3:])
    if _NEG_WORDS.search(window):
        return True
    return bool(_NAO_VERB.search(window))


# blood as the SAMPLE of a test ("teste de gravidez de sangue", "exame de HIV no sangue", "doar
# sangue"): not a bleeding. Only the word "sangue" is blanked, so "sangrando" still fires.
_BLOOD_SAMPLE = re.compile(
    r"\b(?:testes?|exames?|coleta|coletar|colher|dosagem|hcg|beta|analises?|doar|doacao|hemograma)\s+"
    r"(?:\w+\s+){0,3}?(?:de|do|no|pelo|por|via)\s+(sangue)\b"
)


def _mask_blood_sample(norm: str) -> str:
    return _BLOOD_SAMPLE.sub(lambda m: m.group(0)[: m.start(1) - m.start()] + " " * len(m.group(1)), norm)


# A question asked to be prepared, not a report of something happening: explains away a
# CLASSIFIER's urgent guess when no rule found a present red flag ("o que devo fazer se minha bebê
# engolir algo?", "se um dia meu pai tiver um piripaque, pra quem ligo?", "só me informando").
_PREPAREDNESS = re.compile(
    r"\b(?:o\s+que\s+(?:eu\s+)?(?:devo|deve|posso|tenho\s+que|faco|fazer)\s+(?:\w+\s+)?(?:se|caso|quando)|"
    r"se\s+um\s+dia|caso\s+(?:um\s+dia|aconteca|ele|ela|eu)|(?:pra|para)\s+(?:ficar|estar)\s+preparad\w+|"
    r"(?:so|apenas)\s+(?:me\s+)?informando|por\s+enquanto\s+(?:\w+\s+)?(?:ta|esta)\s+(?:tudo\s+)?(?:bem|normal)|"
    r"deixar\s+anotado|se\s+acontecer)\b"
)
# An animal as the patient (the classifier reads "picada", "sangue", "inchou" alike for a dog)
_ANIMAL = re.compile(
    r"\b(?:cachorr\w+|cadel\w+|gat[oa]s?|gatinh\w+|papagai\w+|passarinh\w+|calopsita\w*|periquit\w+|coelh\w+|"
    r"hamster\w*|cavalo\w*|pet|pets|veterinari\w+|vet)\b"
)


def _prepare(text: str) -> tuple[str, list[int]]:
    norm, offsets = normalize_with_offsets(text)
    norm, offsets = _fix_typos(norm, offsets)
    # idioms ("morri de rir", "matar a saudade") are blanked: same length, offsets still valid
    return _mask_blood_sample(mask_figurative(norm)), offsets


_UNSURE_PAST = "menciona evento passado; confirmar se é atual"


def _context_verdict(
    norm: str, start: int, end: int, negatable: bool = True, past: str = "default"
) -> tuple[bool, str]:
    """(is the finding at norm[start:end] present?, why absent / what to confirm when unsure).

    Absent when negated in its clause or hypothetical. Then, unless the sentence says it is back
    or happening now (`_PRESENT`), the `past` policy decides:
    - "default": absent when placed in remote time, resolved, or the subject of a document request;
    - "transient" (fits, faints: over in minutes, "já passou" is normal and they still need care):
      absent only in remote time or a document request;
    - "never" (suicide): absent only for a document about a remote event;
    - "event" (a blow to the head, an operation: the past part of a present emergency): remote time
      never dismisses it, a hypothesis does.
    A finding after "hoje"/"agora" that follows the remote time in the sentence is present.
    Present but unsure when the sentence also speaks of the past.
    """
    s_begin, s_end = _span(_SENTENCE_BREAK, norm, start, end)
    sentence = norm[s_begin:s_end]
    c_begin, _ = _span(_CLAUSE_BREAK, sentence, start - s_begin, end - s_begin)
    before = sentence[c_begin : start - s_begin]
    if negatable and _negated(before):
        return False, "negated"
    # the verb of a hypothesis may be inside the finding itself ("se a glicose baixar"); a
    # suicidal thought is never dismissed as hypothetical ("e se eu me matar?" gets the CVV)
    if past != "never" and _HYPOTHETICAL.search(" ".join((before + norm[start:end]).split()[-10:])):
        return False, "hypothetical"
    remote, resolved = _REMOTE.search(sentence), _RESOLVED.search(sentence)
    document = _DOCUMENT_OF_PAST.search(sentence)
    if not (remote or resolved or document):
        return True, ""
    # the nearest time said BEFORE the finding decides: "operei semana passada, hoje to com febre e a
    # cicatriz solta pus" -> the fever and the pus are now (the remote time was the operation's)
    markers = [(m.start(), "remote") for m in _REMOTE.finditer(sentence, 0, start - s_begin)]
    markers += [(m.start(), "now") for m in _NOW_IN_CLAUSE.finditer(sentence, 0, start - s_begin)]
    if markers and max(markers)[1] == "now" and not _RESOLVED.search(sentence, max(markers)[0]):
        return True, _UNSURE_PAST
    if past == "event":
        return True, _UNSURE_PAST
    if not _PRESENT.search(sentence):
        if past == "default" and (remote or resolved or document):
            return False, "past"
        if past == "transient" and (remote or document):
            return False, "past"
        if past == "never" and remote and document:
            return False, "past"
    return True, _UNSURE_PAST


def _flag(code: str, category: str, text: str, offsets: list[int], start: int, end: int,
          why: str = "", unsure: str = "") -> RedFlag:
    o_start = offsets[start] if start < len(offsets) else -1
    o_end = offsets[end - 1] + 1 if 0 < end <= len(offsets) else -1
    return RedFlag(code, category, o_start, o_end, text[o_start:o_end] if o_start >= 0 else "", why, unsure)


# past policies of findings (see _context_verdict): suicidal warning signs are never dismissed as
# past (as the phrase rules of category `suicide`); fits and faints are transient by nature
_FINDING_PAST = {"passive_death_wish": "never", "self_harm_warning": "never", "seizure_signs": "transient",
                 "seizure_like": "transient", "unresponsive": "transient",
                 # the blow or the operation is the past PART of a present emergency ("caiu semana
                 # passada e hoje está sonolento": a subdural bleed; "operei semana passada, hoje febre
                 # e pus"): the rules still need a present alarm finding to fire
                 "head_trauma": "event", "recent_surgery": "event"}


# time markers, not symptoms: "sem parar desde a tarde" is not a negation of the onset
_FINDING_NOT_NEGATABLE = frozenset({"acute_onset"})


def _present_findings(norm: str, dismissed: set[str]) -> dict[str, tuple[concepts.Finding, str]]:
    """Every concept finding present in `norm` (first present occurrence) + its unsure note; the
    reasons of the occurrences judged absent are added to `dismissed`."""
    found: dict[str, tuple[concepts.Finding, str]] = {}
    for name, pattern in concepts.FINDINGS.items():
        for m in pattern.finditer(norm):
            present, note = _context_verdict(norm, m.start(), m.end(), negatable=name not in _FINDING_NOT_NEGATABLE,
                                             past=_FINDING_PAST.get(name, "default"))
            if present:
                found[name] = (concepts.Finding(name, m.start(), m.end()), note)
                break
            dismissed.add(note)
    return found


@dataclass(frozen=True)
class Assessment:
    """What the rules make of a message: its red flags, and why clinical findings that were
    mentioned were judged absent ("negated", "hypothetical", "past"): those explain away a
    classifier's urgent guess ("não tenho dor no peito", "se eu tiver falta de ar...")."""

    flags: list[RedFlag]
    dismissed: frozenset[str]


def detect(text: str) -> list[RedFlag]:
    """All red flags in `text` (one per code, in order of appearance). Empty list = no red flag."""
    return assess(text).flags


def assess(text: str) -> Assessment:
    """Red flags of `text` + the reasons mentioned findings were dismissed.

    Two layers: the phrase rules of `_RULES` (how an emergency is usually named), then the concept
    discriminators of `concepts.CONCEPT_RULES` (findings combined with who the patient is).
    """
    if not text or not text.strip():
        return Assessment([], frozenset())
    norm, offsets = _prepare(text)
    found: dict[str, RedFlag] = {}
    dismissed: set[str] = set()
    for rule in _RULES:
        if rule.code in found:
            continue
        if rule.requires is not None and not rule.requires.search(norm):
            continue
        for m in rule.pattern.finditer(norm):
            present, unsure = _context_verdict(norm, m.start(), m.end(), rule.negatable, rule.past)
            if not present:
                dismissed.add(unsure)
                continue
            if rule.exclude is not None:
                s_begin, s_end = _span(_SENTENCE_BREAK, norm, m.start(), m.end())
                if rule.exclude.search(norm[s_begin:s_end]):
                    continue
            found[rule.code] = _flag(rule.code, rule.category, text, offsets, m.start(), m.end(), unsure=unsure)
            break
    findings = _present_findings(norm, dismissed)
    if findings:
        contexts = frozenset(name for name, rx in concepts.CONTEXTS.items() if rx.search(norm))
        present_findings = {name: finding for name, (finding, _) in findings.items()}
        for concept in concepts.CONCEPT_RULES:
            if concept.code in found or not concept.applies(present_findings, contexts):
                continue
            # the span reported is the rule's main finding, else the first finding of the message
            finding, unsure = next((findings[a] for a in concept.anchors if a in findings),
                                   min(findings.values(), key=lambda item: item[0].start))
            found[concept.code] = _flag(concept.code, concept.category, text, offsets, finding.start, finding.end,
                                        why=concept.why, unsure=unsure)
    if not found and _REMOTE.search(norm) and not _PRESENT.search(norm):
        dismissed.add("past")  # a message about a remote time ("há 6 meses", "em 2019")
    if not found and _PREPAREDNESS.search(norm):
        dismissed.add("hypothetical")  # "o que fazer se...", "quero saber pra ficar preparada"
    if not found and _ANIMAL.search(norm):
        dismissed.add("animal")  # a pet's problem: the clinic treats people
    return Assessment(sorted(found.values(), key=lambda f: f.start), frozenset(dismissed))


# Clinical or distress vocabulary. Used to sanity-check the CLASSIFIER's urgent guesses that no
# rule confirms: an urgent message always says something clinical ("socorro", "passando mal",
# "dor", "febre", "caiu"...), while "combinado", "foto" or "enviei sem querer" never do. Deliberately
# broad: it only removes urgent guesses with no clinical word at all.
_DISTRESS = re.compile(
    r"\b(?:socorr\w*|emergenc\w*|urgen\w*|ajud\w*|sos|samu|ambulancia|resgate|bombeiro\w*|hospital|"
    r"pronto\s+socorro|upa|grave|gravissim\w*|mal|piorou|piorando|pior|passando|desespero|desesperad\w*|"
    r"nao\s+(?:esta|estou|ta|to)\s+bem|estranh\w*|dor\w*|doi|doe|doendo|peito|coracao|infart\w*|"
    r"respir\w*|ar|sufoc\w*|engasg\w*|roxo|roxa|palid\w*|suando|suor|febre\w*|febril|quente|"
    r"temperatura|convuls\w*|tremendo|debatendo|desmai\w*|desacordad\w*|inconscien\w*|acorda\w*|"
    r"reage|responde|confus\w*|desorientad\w*|tont\w*|mole|molinho|caiu|caido|queda|tombo|bateu|"
    r"sangu\w*|sangr\w*|hemorrag\w*|vomit\w*|gravid\w*|gestante|bolsa|contrac\w*|parto|bebe|nene|"
    r"alergi\w*|inch\w*|garganta|veneno|envenen\w*|intoxic\w*|remedio\w*|comprimido\w*|engol\w*|"
    r"tomou|bebeu|acidente|atropel\w*|queim\w*|cort\w*|fratur\w*|osso|tiro|facada|morr\w*|"
    r"matar|suicid\w*|vida|viver|crise|ataque|avc|derrame|piripaque|passou|fraqueza|formig\w*|"
    r"dormen\w*|visao|enxerg\w*|fala|falar|falando|mexe|mexer|boca|rosto|machuc\w*|ferid\w*|pressao|"
    r"glicose|glicemia|consciencia|sentidos|anafila\w*|overdose|chumbinho|picad\w*|picou|escorpi\w*|"
    r"cobra|aranha|esfaque\w*|balead\w*|afog\w*|choque|sanitaria|produto|aguento|sentido|sumir|"
    r"acabar|morto|morta|chorando|assustad\w*|medo|preocupad\w*|nervos\w*|panico|ansiedade)\b"
)


def has_distress_cue(text: str) -> bool:
    """True when the message contains any clinical/distress word (see `_DISTRESS`)."""
    if not text:
        return False
    return bool(_DISTRESS.search(_prepare(text)[0])) or bool(detect(text))


def is_urgent(text: str) -> bool:
    return bool(detect(text))


def describe(flags: list[RedFlag]) -> str:
    """pt-BR summary for the handoff note: 'Sinais de alerta: dor/aperto no peito; falta de ar'.

    Concept flags add their protocol item, unsure ones what to confirm (never the patient's words).
    """
    if not flags:
        return ""
    labels: list[str] = []
    for f in flags:
        for label in (f.label, f.why, f"confirmar: {f.unsure}" if f.unsure else ""):
            if label and label not in labels:
                labels.append(label)
    return "Sinais de alerta: " + "; ".join(labels)
