"""The phrase rules of the red-flag layer: how an emergency is usually NAMED ("dor no peito",
"falta de ar", "desmaiou", "convulsão"...), one `PhraseRule` per code, each with its category and
its context policy (negatable, past). `red_flags.assess` runs them first, then the concept rules
of `concepts.py`; the rules' docstring is in `red_flags.py`. Data-like tables of regular
expressions over normalized text, no logic beyond them; tested in tests/bot/test_red_flags.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RULES", "PhraseRule"]

@dataclass(frozen=True)
class PhraseRule:
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

RULES: tuple[PhraseRule, ...] = (
    # chest pain / pressure; infarction words
    PhraseRule(
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
    PhraseRule(
        "chest_pain",
        "chest_pain",
        _rx(
            r"(?:queimacao|ardencia|queimando)" + _W + r"{0,2}?\s+(?:n[oa]|do)\s+(?:meu\s+)?" + _PEITO
            + r"\b(?!\s+do\s+pe)"
        ),
        exclude=re.compile(r"\b(?:azia|refluxo|gastrite|ma\s+digestao|depois\s+(?:de|que)\s+com\w+)\b"),
    ),
    # shortness of breath, choking, asthma attack, cyanosis
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
        "baby_fever",
        "fever",
        _rx(r"febr\w*", r"temperatura\s+(?:alta|de\s+3[89]|de\s+4\d)", r"3[89](?:[,.]\d)?\s*(?:graus|c)\b"),
        requires=_BABY,
    ),
    PhraseRule(
        "very_high_fever",
        "fever",
        _rx(
            r"febre\s+(?:\w+\s+)?(?:de\s+|com\s+|a\s+)?4[0-2](?:[,.]\d)?",
            r"4[0-2](?:[,.]\d)?\s*(?:graus|c\b|de\s+febre)",
            r"temperatura\s+(?:de\s+)?4[0-2]",
        ),
    ),
    # poisoning, overdose, venomous bites
    PhraseRule(
        "poisoning",
        "poisoning",
        _rx(
            r"envenen\w*",
            r"(?<!centro de )(?<!centro de informacao e assistencia )intoxic\w*",
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
    PhraseRule(
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
    PhraseRule(
        "baby_fall",
        "injury",
        _rx(r"(?:caiu|queda|despencou)\s+(?:\w+\s+){0,3}?(?:da|do|de|no)\s+(?:cama|trocador|berco|sofa|colo|cadeir\w+|"
            r"carrinho|bebe\s+conforto|escada|chao|alto)"),
        requires=_BABY,
    ),
    PhraseRule(
        "elderly_fall",
        "injury",
        _rx(r"caiu", r"levou\s+um\s+tombo", r"tombo", r"queda"),
        requires=_ELDERLY,
        exclude=re.compile(r"\b(?:cabelo|pressao|glicose|febre|temperatura|consulta|sistema|ligacao|internet)\b"),
    ),
    # pregnancy: bleeding, waters breaking, labor, baby not moving
    PhraseRule(
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
    PhraseRule(
        "waters_broken",
        "pregnancy",
        _rx(
            r"bolsa\s+(?:\w+\s+)?(?:estourou|estorou|rompeu|rompida|estourada|arrebentou|rasgou|vazando)",
            r"(?:estourou|estorou|rompeu|arrebentou)\s+a\s+(?:minha\s+)?bolsa",
            r"rompimento\s+da\s+bolsa",
        ),
    ),
    PhraseRule(
        "waters_broken",
        "pregnancy",
        _rx(r"(?:perdendo|saindo|escorrendo|vazando|perdi)\s+(?:muito\s+)?(?:liquido|agua)"),
        requires=_PREGNANT,
    ),
    PhraseRule(
        "labor",
        "pregnancy",
        _rx(
            r"contracoes?\s+(?:\w+\s+)?(?:fortes?|de\s+\d+\s+em\s+\d+|ritmadas|sem\s+parar|muito)",
            r"(?:bebe|nene|neném)\s+(?:nao\s+(?:esta\s+)?(?:mexe|mexendo|se\s+mexe)|parou\s+de\s+(?:mexer|se\s+mexer))",
            r"nasce\w*\s+agora",
        ),
        requires=_PREGNANT,
    ),
    PhraseRule("labor", "pregnancy", _rx(r"trabalho\s+de\s+parto", r"entrei\s+em\s+trabalho")),
    # pre-eclampsia signs and strong pain in pregnancy
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
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
    PhraseRule(
        "critical_vitals",
        "vitals",
        _rx(
            r"pressao\s+(?:\w+\s+){0,4}?(?:1[89]\d?|2\d\d?)\s*(?:por|x|/)\s*\d{1,3}",
            r"(?:glicose|glicemia|dextro|hgt|acucar\s+no\s+sangue)\s+(?:\w+\s+){0,2}?(?:[1-4]\d|[4-9]\d\d)\b(?!\s*(?:anos|dias|horas|minutos|reais))",
        ),
        exclude=re.compile(r"\bjejum\s+de\s+\d|\bhoras\s+de\s+jejum"),
    ),
    # explicit request for an ambulance / emergency service
    PhraseRule(
        "emergency_request",
        "general",
        _rx(
            r"(?:chama|chamem|chamar|ligar?|liga|ligue|preciso\s+d[ao]|manda|mandem)\s+(?:\w+\s+){0,2}?"
            r"(?:ambulancia|samu|resgate|bombeiros?)",
            r"(?:ambulancia|samu)\s+(?:urgente|agora|rapido)",
        ),
    ),
)
