"""Red flags as clinical concepts: findings combined by discriminators of a triage protocol.

The phrase rules of `red_flags.py` catch how an emergency is usually NAMED ("dor no peito",
"falta de ar"). Patients often describe one instead, in lay words and in pieces: "suando frio,
enjoado e com o braço pesado, ele é diabético". Phrase lists do not generalise to that, so this
module works one level up:

1. FINDINGS: small detectors of single clinical findings in normalized text (a site of pain, cold
   sweat, nausea, a sudden onset, a baby, a pregnancy...). Each is a regex over the output of
   `normalize.normalize_with_offsets` (lowercase, no accents, abbreviations expanded).
2. CONTEXT: who the patient is (baby, child, pregnant or postpartum, older or at cardiovascular
   risk), found in the whole message.
3. DISCRIMINATORS (`CONCEPT_RULES`): plain predicates over the set of findings that are present
   (the caller, `red_flags.detect`, drops negated, hypothetical and clearly remote findings with
   the same clause logic as the phrase rules). Each cites the protocol item it models: the
   Manchester Triage System (MTS, Grupo Brasileiro de Classificação de Risco edition) flowcharts
   and discriminators, and the Ministério da Saúde / SAMU 192 protocols (Protocolos de Suporte
   Básico de Vida). A concept only needs to be plausible to fire: the clinical team sees the
   `why` in the handoff note and decides in a minute; a missed emergency is the error we avoid.

Pure functions, no Rasa imports; tested in tests/bot/test_red_flag_concepts.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["CONCEPT_RULES", "CONTEXTS", "FINDINGS", "ConceptRule", "Finding"]


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_SUDDEN = r"(?:de\s+repente|do\s+nada|derrepente|subit\w*|repentin\w*|de\s+uma\s+hora\s+para\s+(?:a\s+)?outra)"
_VERY = r"(?:muito|mt|demais|bem|super|forte|fortissim\w+|insuportavel|horrivel)"

# --- single findings ------------------------------------------------------------------------------

# name -> pattern over normalized text. Names are stable codes (they appear in the handoff note).
FINDINGS: dict[str, re.Pattern[str]] = {
    # pain or discomfort at a site typical of cardiac ischaemia other than "peito" (MTS Chest pain:
    # "cardiac pain" may be felt in the jaw, arm, neck, back or epigastrium)
    "pain_jaw_neck": _rx(
        r"(?:dor|doendo|doi|pressao|aperto|queimacao)\s+(?:\w+\s+){0,3}?(?:n[ao]s?|d[ao]s?)\s+(?:queixo|mandibula|maxilar|pescoco|garganta\s+e\s+braco)",
        r"(?:queixo|mandibula|maxilar)\s+(?:\w+\s+)?(?:doendo|doi|travad\w*|dormente|formigando)",
        r"(?:doendo|doi|doe|dor)\s+(?:\w+\s+){0,6}?(?:e\s+)?(?:a\s+|o\s+)?(?:mandibula|queixo|maxilar)",
    ),
    # pain that spreads to the jaw, arm, neck or back, or "an elephant sitting on the chest": the
    # classic descriptions of "cardiac pain"
    "radiating_pain": _rx(
        r"elefante\s+(?:\w+\s+){0,2}?(?:sentado|em\s+cima|pisando)",
        r"(?:irradi\w+|vai|indo|sobe|subindo|desce|descendo|espalha\w*|pega)\s+(?:\w+\s+)?(?:para|pro|ate|pelo|pela|no|na)\s+"
        r"(?:o\s+|a\s+)?(?:queixo|mandibula|maxilar|braco|bracos|pescoco|ombro\s+esquerdo)",
    ),
    "arm_symptom": _rx(
        r"(?:doendo|doi|doe|pesando)\s+(?:o|a|meu|minha|os)\s+bracos?",
        r"(?:doendo|doi|doe|dor)\s+(?:\w+\s+){0,5}?e\s+(?:o|no|do|meu)\s+bracos?",
        r"(?:dor|doendo|doi|peso|dormencia|formigamento|formigando|dormente|pesado|pesada|adormecid\w*|"
        r"agonia|fraqueza|sem\s+forca)\s+(?:\w+\s+){0,3}?(?:n[oa]s?|d[oa]s?|em|nos)\s+(?:\w+\s+)?bracos?",
        r"bracos?\s+(?:esquerdo\s+|direito\s+)?(?:\w+\s+)?(?:pesad\w+|dormente\w*|formigando|adormecid\w+|"
        r"doendo|doi|doe|sem\s+forca|amortecid\w*|travad\w*|latejando)",
    ),
    "pain_upper_back": _rx(
        r"(?:dor|doendo|pressao|aperto|pontada)\s+(?:\w+\s+){0,3}?(?:n[ao]s?|d[ao]s?)\s+(?:costas|omoplata|escapula|"
        r"meio\s+das\s+costas|entre\s+as\s+(?:escapulas|omoplatas|costelas))(?=.{0,100}\b(?:suor|suand\w+|suad[oa]|"
        r"sua(?:ndo)?\s+frio|gelad[oa]|falta\s+de\s+ar|enjo\w*|tont\w*|peito))",
    ),
    "pain_epigastric": _rx(
        r"(?:dor|queimacao|aperto|pressao|peso)\s+(?:\w+\s+){0,3}?(?:n[ao]s?|d[ao]s?)\s+(?:boca\s+do\s+estomago|estomago|"
        r"alto\s+da\s+barriga)",
        r"(?:mal\s+estar|mal-estar|agonia|angustia)\s+(?:\w+\s+){0,2}?(?:n[oa]\s+)?(?:peito|estomago)",
    ),
    "chest_discomfort": _rx(
        r"(?:aperto|aperta|apertando|pressao|peso|pesado|agonia|angustia|desconforto|"
        r"incomodo|ruim|estranho)\s+(?:\w+\s+){0,2}?(?:n[oa]|do|no\s+meio\s+do)\s+(?:peito|torax)",
        r"(?:peito|torax)\s+(?:\w+\s+){0,2}?(?:apertad\w*|pesad\w*|estranho|esquisito|ruim)",
        # the sternum in lay words, and the classic "elephant sitting on my chest"
        r"(?:dor|pressao|aperto|peso|queimacao|queimando)\s+(?:\w+\s+){0,2}?(?:atras\s+d[oa]|n[oa]|d[oa])\s+(?:osso\s+do\s+meio|esterno|meio\s+do\s+peito)",

    ),
    # autonomic / systemic features (MTS Chest pain, Collapsed adult)
    "cold_sweat": _rx(
        r"sua(?:ndo|ndo\s+muito|ndo\s+frio|ou\s+frio|r\s+frio|da)",
        r"suor\w*(?:\s+frio)?",
        r"suad(?:o|a|eira|ouro)",
        r"sudorese",
        r"molhad[oa]\s+de\s+suor",
        r"pingando\s+de\s+suor",
        r"encharcad[oa]",
        r"frio\s+e\s+suad\w+",
    ),
    "nausea_vomiting": _rx(r"enjo\w*", r"nausea\w*", r"ansia\s+de\s+vomito", r"(?:com|sentindo|dando)\s+ansia\b",
                           r"vomit\w*", r"golf\w*", r"enjoad\w*"),
    "dyspnoea": _rx(
        r"falt\w*\s+(?:de\s+)?ar(?!\s+condicionado)",
        r"(?:sem|pouco)\s+folego",
        r"(?:dificil|dificuldade|custando)\s+(?:de\s+|para\s+|pra\s+)?respirar",
        r"ofegant\w*",
        r"(?:cansad\w*|cansaco)\s+(?:para|de|ao)\s+respirar",
        r"respira\w*\s+(?:\w+\s+)?(?:curt\w*|dificil|pesad\w*|rapid\w*|acelerad\w*)",
        r"puxando\s+(?:o\s+)?ar",
        r"nao\s+(?:\w+\s+)?(?:consig\w+|consegu\w+)\s+(?:\w+\s+)?respirar",
        r"abafad\w+",
    ),
    "presyncope": _rx(
        r"tont\w*",
        r"tontura\w*",
        r"zonz\w*",
        r"vista\s+(?:\w+\s+)?(?:escur\w+|apag\w+|embaralh\w+)",
        r"escurec\w+\s+(?:\w+\s+)?(?:a\s+)?vista",
        r"quase\s+(?:desmai\w+|apag\w+|cai\w*)",
        r"(?:vou|vai)\s+(?:desmaiar|apagar|cair\s+dur[oa])",
        r"(?:sensacao|sentindo)\s+(?:\w+\s+)?(?:de\s+)?desmaio",
        r"fraco\s+(?:e\s+)?(?:tonto|zonzo)",
    ),
    "sudden_fatigue": _rx(
        r"(?:cansaco|cansad\w+|fraqueza|fraco|fraca|moleza|mole|sem\s+forca|exaust\w+|esgotad\w+)\s+"
        r"(?:\w+\s+){0,3}?" + _SUDDEN,
        _SUDDEN + r"\s+(?:\w+\s+){0,4}?(?:cansaco|cansad\w+|fraqueza|fraco|fraca|mole|moleza|sem\s+forca)",
        r"(?:cansaco|fraqueza|moleza)\s+(?:muito\s+)?(?:estranh\w+|absurd\w+|anormal|enorme|que\s+nunca\s+senti)",
        r"(?:nao|mal)\s+(?:consegue|consigo|conseguia)\s+(?:nem\s+)?(?:ficar\s+em\s+pe|levantar\s+da\s+cama|andar)",
    ),
    "pallor": _rx(
        r"palid\w+", r"(?:branc[oa]|amarel[oa])\s+(?:que\s+nem|igual|como)\s+(?:papel|vela|cera)", r"sem\s+cor"
    ),
    "palpitation": _rx(
        r"coracao\s+(?:\w+\s+)?(?:disparad\w*|disparou|acelerad\w*|(?:batendo|bater|bate)\s+(?:muito\s+|tao\s+|mt\s+)?(?:rapido|forte|errado|descompassado))",
        # "o coração a mil", "o coração saindo pela boca"
        r"coracao\s+(?:\w+\s+)?(?:a\s+mil|saindo\s+pela\s+boca)",
        r"batedeira",
        r"taquicardi\w*",
    ),
    "confusion": _rx(
        r"confus[oa]",
        r"desorientad\w+",
        r"(?:falando|fala)\s+(?:\w+\s+)?(?:coisa\s+com\s+coisa|sem\s+sentido|besteira|enrolad\w+)",
        r"nao\s+(?:reconhece|sabe\s+onde\s+esta|fala\s+coisa)",
        r"(?:estranh[oa]|aerea|aereo|grogue|lent[oa])\s+(?:\w+\s+)?" + _SUDDEN,
    ),
    # MTS Diabetes: hyperglycaemia (thirst, polyuria, weight loss) with vomiting or deep breathing: DKA
    "hyperglycaemia_signs": _rx(
        r"(?:muita|muito)\s+sede", r"bebendo\s+(?:muita|demais)\s+agua", r"(?:fazendo|faz)\s+muito\s+xixi",
        r"muito\s+xixi",
    ),
    "trembling": _rx(r"tremend\w*", r"tremedeira", r"treme\w*\s+(?:\w+\s+)?(?:todo|toda|inteiro)"),
    # obstetric findings (MTS Pregnancy flowchart; MS Gestação de Alto Risco, sinais de alerta)
    "vaginal_bleeding": _rx(
        r"sangr\w*",
        # blood, but not a blood test ("exame de sangue", "tirar sangue")
        r"(?<!exame de )(?<!exames de )(?<!tirar )(?<!tira )(?<!coleta de )(?<!colher )(?<!doar )sangue",
        r"borra\s+de\s+cafe",
        r"encharc\w+\s+(?:\w+\s+){0,2}?absorvente\w*",
        r"absorvente\w*\s+(?:\w+\s+){0,3}?(?:por|a\s+cada)\s+(?:hora|meia\s+hora)",
        r"coagulos?",
        r"hemorragi\w*",
        r"escape",
        r"mancha\w*\s+(?:\w+\s+)?(?:vermelh\w+|marrom|escur\w+)\s+(?:na|no)\s+(?:calcinha|absorvente|papel)",
    ),
    "fluid_loss": _rx(
        r"(?:saindo|escorrendo|descendo|vazando|perdendo|perdi|saiu|escorreu|desceu|vazou)\s+(?:\w+\s+){0,2}?"
        r"(?:agua|aguinha|liquido|liquidinho)",
        r"(?:agua|liquido)\s+(?:\w+\s+)?(?:escorrendo|saindo|descendo|vazando|escorreu|saiu)",
        r"(?:molhou|molhei|molhada|encharcou)\s+(?:\w+\s+){0,2}?(?:calcinha|cama|roupa|perna|lencol|sofa|tudo)",
        r"bolsa\s+(?:\w+\s+)?(?:estour\w+|romp\w+|arrebent\w+|vaz\w+)",
    ),
    "reduced_fetal_movement": _rx(
        r"(?:bebe|nene|neném|filho|filha|ele|ela|barriga)\s+(?:\w+\s+)?(?:mexendo|mexe|se\s+mexe|se\s+mexendo)\s+"
        r"(?:\w+\s+)?(?:menos|pouco|pouquinho|quase\s+nada|bem\s+menos|muito\s+menos)",
        r"(?:bebe|nene|neném|filho|filha|ele|ela)\s+(?:\w+\s+)?(?:nao\s+(?:\w+\s+)?(?:mexe|mexeu|mexendo|se\s+mexe)|"
        r"parou\s+de\s+(?:se\s+)?mexer|(?:esta|ta)\s+paradinh\w+|(?:esta|ta)\s+parado)",
        r"nao\s+(?:\w+\s+)?(?:sinto|senti|sente|sentindo)\s+(?:\w+\s+)?(?:o\s+)?(?:bebe|nene|neném|ele|ela)\s+(?:se\s+)?mexer",
        r"nao\s+(?:sinto|senti|sentindo)\s+(?:mais\s+)?(?:os\s+)?(?:chutes|mexidas|movimentos)",
        r"nao\s+(?:\w+\s+)?(?:sinto|senti|sente)\s+(?:mais\s+)?(?:o|a|meu|minha)\s+(?:bebe|nene|filh\w+)",
        r"(?:parou|pararam)\s+(?:os\s+)?(?:chutes|movimentos)",
        r"(?:chutes|movimentos)\s+(?:\w+\s+)?(?:diminu\w+|sumiram|pararam)",
    ),
    "headache": _rx(
        r"dor\s+de\s+cabeca", r"cabeca\s+(?:\w+\s+)?(?:doendo|latejando|explodindo|estourando)", r"enxaqueca",
        r"cefaleia",
    ),
    "severe_headache": _rx(
        r"(?:dor\s+de\s+cabeca|cabeca\s+(?:doendo|latejando|explodindo|estourando))\s+(?:\w+\s+){0,2}?"
        + r"(?:" + _VERY + r"|que\s+nao\s+passa|que\s+nao\s+melhora|diferente)",
        _VERY + r"\s+dor\s+de\s+cabeca",
        r"cabeca\s+(?:\w+\s+)?(?:explodindo|estourando)",
        r"cabeca\s+(?:\w+\s+)?vai\s+(?:estourar|explodir)",
    ),
    # thunderclap headache (MTS Headache: "sudden onset" of the worst headache ever: subarachnoid
    # haemorrhage until proven otherwise)
    "thunderclap": _rx(
        r"(?:estalo|explosao|estouro|pancada\s+por\s+dentro)\s+(?:\w+\s+){0,2}?(?:na|dentro\s+da)\s+cabeca",
        r"pior\s+dor\s+(?:de\s+cabeca\s+)?d[ae]\s+(?:minha\s+|sua\s+|toda\s+a\s+)?vida",
        r"(?:dor\s+de\s+cabeca|enxaqueca|dor)\s+(?:\w+\s+){0,6}?(?:veio\s+de\s+uma\s+vez|de\s+uma\s+vez\s+so|"
        r"como\s+uma\s+(?:paulada|pancada|martelada))",
        r"nunca\s+(?:senti|sentiu|teve|tive)\s+(?:nada|uma\s+dor|dor)\s+(?:\w+\s+)?(?:igual|assim|parecid\w+)",
        r"dor\s+de\s+cabeca\s+(?:\w+\s+){0,4}?(?:em\s+um\s+segundo|num\s+segundo|como\s+um\s+raio|de\s+uma\s+vez)",
        r"(?:a|foi\s+a)\s+mais\s+forte\s+que\s+(?:eu\s+)?(?:ja\s+)?(?:senti|sentiu|tive|teve)",
    ),
    "visual_disturbance": _rx(
        r"(?:vendo|enxergando|aparecendo)\s+(?:uns\s+|umas\s+)?(?:pontinhos|pontos|estrelinhas|estrelas|luzes|brilhos?|"
        r"mosquinhas|flashes|manchas|borr\w+)",
        r"(?:pontinhos|pontos|luzes|estrelinhas|mosquinhas|flashes)\s+(?:\w+\s+)?(?:brilhantes\s+)?(?:na|nos)\s+(?:vista|olhos?)",
        r"(?:visao|vista)\s+(?:\w+\s+)?(?:embacad\w*|turv\w*|borrad\w*|escur\w*|dupla|estranh\w*|falhando|sumindo)",
        r"(?:enxergando|vendo)\s+(?:\w+\s+)?(?:embacado|borrado|turvo|dobrado|duplo|mal)",
    ),
    "sudden_swelling": _rx(
        r"(?:inchad\w+|inchou|inchando|inchaco)\s+(?:\w+\s+){0,3}?" + _SUDDEN,
        _SUDDEN + r"\s+(?:\w+\s+){0,3}?(?:inchad\w+|inchou|inchando)",
        r"(?:rosto|cara|maos|mao|olhos|face)\s+(?:\w+\s+)?(?:muito\s+)?(?:inchad\w+|inchou|inchando)",
        r"(?:inchad\w+|inchou|inchando|inchaco)\s+(?:\w+\s+){0,2}?(?:n[oa]s?\s+|d[oa]s?\s+)?(?:rosto|cara|maos|face)",
        r"(?:muito|mt|super)\s+inchad\w+",
    ),
    "high_blood_pressure": _rx(
        r"pressao\s+(?:\w+\s+)?(?:muito\s+)?(?:alta|subiu|subindo|nas\s+alturas|altissima|14\s*(?:por|x|/)\s*\d+|1[5-9]\s*(?:por|x|/)\s*\d+)",
        r"(?:14|1[5-9]|2\d)\s*(?:por|x|/)\s*(?:9|1[0-4])\b",
    ),
    "severe_abdominal_pain": _rx(
        r"dor\s+(?:\w+\s+){0,2}?" + _VERY
        + r"\s+(?:\w+\s+)?(?:n[ao]|d[ao])\s+(?:barriga|ventre|pe\s+da\s+barriga|abdomen|utero)",
        r"dor\s+(?:n[ao]|d[aoe])\s+(?:barriga|ventre|pe\s+da\s+barriga|abdomen)\s+(?:\w+\s+)?" + _VERY,
        r"barriga\s+(?:\w+\s+)?(?:dura|endurecida|rigida|dura\s+como\s+(?:uma\s+)?pedra|travada)",
        r"(?:colica|colicas|contracao|contracoes)\s+(?:\w+\s+){0,2}?(?:" + _VERY
        + r"|de\s+\d+\s+em\s+\d+|sem\s+parar|ritmad\w+)",
    ),
    "seizure_like": _rx(
        r"convuls\w*", r"se\s+debatend\w*", r"olhos?\s+revirad\w*", r"revirando\s+os\s+olhos",
        r"espuma\w*\s+(?:pela|na)\s+boca",
    ),
    # allergic findings (MTS Allergy flowchart: airway compromise, oedema of face/tongue, stridor)
    "hives": _rx(
        r"urticaria\w*",
        r"verg(?:ao|oes)",
        r"empolad\w+",
        r"(?:placas|bolinhas|manchas|caroços|carocos|vergoes|pipocou|brotoeja\w*)\s+(?:\w+\s+){0,2}?(?:vermelh\w+|"
        r"pelo\s+corpo|no\s+corpo\s+todo|no\s+corpo\s+inteiro)",
        r"(?:corpo|pele)\s+(?:\w+\s+)?(?:tod[oa]\s+)?(?:vermelh\w+|empolad\w+|cheio\s+de\s+placas)",
        r"coceira\s+(?:\w+\s+)?(?:no\s+corpo\s+todo|no\s+corpo\s+inteiro|pelo\s+corpo)",
    ),
    "face_tongue_swelling": _rx(
        r"(?:apertando|fechando|trancando)\s+(?:a\s+)?garganta",
        r"garganta\s+(?:\w+\s+)?(?:apertando|fechando|trancando|apertada|fechada)",
        r"(?:labios?|boca|lingua|olhos?|palpebras?|rosto|cara|garganta)\s+(?:\w+\s+){0,3}?(?:inch\w+|"
        r"grossa|grosso|formigando|fechando|estufad\w*)",
        r"(?:inch\w+)\s+(?:\w+\s+){0,2}?(?:n[oa]s?\s+|d[oa]s?\s+)?(?:labios?|boca|lingua|olhos?|"
        r"palpebras?|rosto|cara|garganta)",
        r"voz\s+(?:\w+\s+)?(?:rouca|sumindo|mudou|estranha)",
        r"(?:dificuldade|dificil)\s+(?:\w+\s+)?(?:de\s+|para\s+)?engolir",
        r"(?:chiado|chiando|assobio)",
    ),
    "allergen_exposure": _rx(
        r"picad\w+|picou|ferroad\w+|abelha|vespa|marimbondo",
        r"(?:comeu|comi|tomou|tomei|tomar|tomado|ingeriu|ingeri|usou|usei|aplicou|apliquei|tomando|comendo)\s+(?:\w+\s+){0,3}?"
        r"(?:camarao|frutos\s+do\s+mar|amendoim|castanha\w*|nozes|remedio|antibiotico|dipirona|amoxicilina|"
        r"penicilina|injecao|benzetacil|ovo|leite|peixe|anti\s*-?inflamatorio|ibuprofeno|diclofenaco)",
        r"alergi\w+",
        r"depois\s+(?:d[ao]|de|que)\s+(?:\w+\s+){0,2}?(?:remedio|injecao|vacina|comer|comeu|comi|tomar|tomou|tomei)",
    ),
    # paediatric findings (MTS Shortness of breath in children, Unwell baby/child)
    "child_respiratory_distress": _rx(
        r"(?:costela\w*|costelinha\w*|peito|pescoco|barriga|barriguinha)\s+(?:\w+\s+){0,2}?(?:afund\w+|afunda|"
        r"aparecendo|puxando|subindo\s+e\s+descendo|chupando)",
        r"respira\w*\s+(?:\w+\s+)?(?:muito\s+)?(?:rapid\w*|rapidinho|acelerad\w*|ofegante|gemendo|pesad\w*|com\s+barulho)",
        r"(?:gemendo|gemido)\s+(?:\w+\s+)?(?:para|pra|ao)\s+respirar",
        r"respira\w*\s+(?:\w+\s+){0,4}?(?:um\s+|uns\s+)?(?:gemid\w+|gemendo|grunhid\w+)",
        r"(?:barriga|barriguinha|peito)\s+(?:\w+\s+)?sobe\s+e\s+desce\s+(?:muito|rapido|demais|forte)",
        r"(?:narinas?|nariz\w*)\s+(?:\w+\s+)?(?:abrindo|mexendo|batendo)",
        r"cabe\w+\s+(?:\w+\s+)?balanc\w+\s+(?:\w+\s+)?(?:pra|para|ao)\s+respirar",
        r"chiado\s+(?:\w+\s+)?(?:forte|alto|no\s+peito)|chiando\s+(?:muito|forte)",
        r"cansad\w*\s+(?:para|pra|de)\s+respirar",
    ),
    # dehydration in a baby (MTS Unwell baby; MS AIDPI: no wet nappy for hours, crying without tears)
    "dehydration": _rx(
        r"sem\s+(?:molhar|fazer)\s+(?:a\s+)?(?:fralda|xixi)",
        r"(?:nao|nem)\s+(?:\w+\s+)?(?:molha|molhou|molhando)\s+(?:a\s+)?fralda",
        r"chora\w*\s+sem\s+lagrimas?",
        r"lingu\w+\s+(?:\w+\s+)?seca", r"perdeu\s+(?:muito\s+)?peso\s+(?:\w+\s+){0,4}?(?:diarreia|vomit\w+)",
        r"(?:diarreia|vomit\w+)\s+(?:\w+\s+){0,6}?perdeu\s+(?:muito\s+)?peso",
        r"fralda\s+(?:\w+\s+)?seca\s+(?:ha|faz|desde)",
        r"(?:nao|sem)\s+(?:\w+\s+)?(?:faz|fez|fazer|fazendo)\s+xixi\s+(?:ha|faz|desde|tem)\s+",
        r"(?:ha|faz)\s+(?:\d+|umas?|doze|dez|oito)\s+horas\s+(?:\w+\s+)?sem\s+(?:fazer\s+)?xixi",
    ),
    "lethargy": _rx(
        r"molinh\w+",
        r"(?:meio\s+)?paradinh\w+",
        r"(?:muito\s+)?mole(?!\s+(?:de\s+)?(?:rir|cansaco))",
        r"largad\w+",
        r"jogad[oa]\s+(?:\w+\s+){0,2}?(?:no|na|pelo|pela)\s+(?:sofa|cama|chao|canto)",
        r"prostrad\w+",
        r"quietinh\w+\s+demais", r"(?:muito|bem)\s+abatid\w+",
        r"sonolent\w+\s+(?:\w+\s+)?(?:demais|muito|estranh\w+)",
        r"(?:muito\s+)?sonolent\w+",
        r"(?:nao|quase\s+nao)\s+(?:\w+\s+)?(?:quer\s+)?(?:mama|mamar|mamando|acorda|acordando|reage|reagindo|chora|"
        r"abre\s+os\s+olhos|quer\s+comer\s+nada)",
        r"(?:dormindo|dorme)\s+(?:\w+\s+)?(?:demais|o\s+tempo\s+todo|sem\s+parar)",
        r"(?:gemendo|gemidinho)",
        r"(?:nao|mal)\s+(?:\w+\s+)?(?:faz|fez|fazendo)\s+xixi",
        r"moleira\s+(?:\w+\s+)?(?:funda|afundada|afundando|estufada|alta)",
        r"olhos?\s+fund\w+",
    ),
    "fever_or_hot": _rx(
        r"febr\w*", r"(?:esta|ta|muito|bem|super)\s+quent\w*", r"quentinh\w*",
        r"\b3[89](?:[,.]\d)?(?!\s*(?:anos|semanas|dias|reais|minutos))", r"queimando\s+(?:de|em)\s+febre",
        r"ardendo\s+(?:em|de)\s+febre",
        r"temperatura\s+(?:\w+\s+)?(?:alta|3[7-9]|4\d)", r"3[89](?:[,.]\d)?\s*(?:graus|c)\b",
    ),
    "purpuric_rash": _rx(
        r"(?:manch\w*|pintinh\w*|pontinh\w*|bolinh\w*)\s+(?:\w+\s+){0,2}?(?:roxas?|roxos?|arroxead\w+|vermelh\w+\s+escur\w+|"
        r"que\s+nao\s+(?:some|somem|sai|saem|desaparece\w*)(?:\s+quando\s+aperta)?)",
        r"petequia\w*",
        r"purpura\w*",
    ),
    "stiff_neck": _rx(
        r"(?:pescoco|nuca)\s+(?:\w+\s+)?(?:dur[oa]|rigid[oa]|travad[oa]|nao\s+dobra|nao\s+mexe)",
        r"(?:rigidez|duro|dura|travad\w+)\s+(?:n[ao]\s+)?(?:nuca|pescoco)",
        r"nao\s+(?:consegue|consigo)\s+(?:\w+\s+)?(?:encostar|dobrar|abaixar)\s+(?:o\s+)?(?:queixo|pescoco|cabeca)",
        r"(?:levant\w+|dobr\w+|abaix\w+|mex\w+)\s+(?:\w+\s+)?(?:a\s+)?cabeca\s+(?:\w+\s+){0,3}?(?:chora|grita|berra|"
        r"dobra\s+os\s+joelhos|doi)",
    ),
    # metabolic (MTS Diabetes flowchart: hypo-/hyperglycaemia with altered consciousness)
    "extreme_glucose": _rx(
        r"(?:glicose|glicemia|dextro|hgt|acucar|diabete\w*)\s+(?:\w+\s+){0,5}?(?:muito\s+)?(?:baix\w+|caiu|despencou|"
        r"(?:[1-4]\d|[4-9]\d\d)\b(?!\s*(?:anos|dias|horas|minutos|reais|semanas|mg\s+de)))",
        r"(?:glicose|glicemia|dextro|hgt|aparelho)\s+(?:\w+\s+){0,6}?(?:hi|high|marcando\s+hi|nem\s+marca|nao\s+marca)\b",
        r"hipoglicemi\w*",
    ),
    # MTS Testicular pain: sudden-onset pain (torsion)
    "testicular_pain": _rx(
        r"dor\s+(?:\w+\s+){0,7}?(?:n[oa]s?|d[oa]s?)\s+(?:testicul\w+|saco|escroto)",
        r"dor\s+(?:\w+\s+){0,3}?(?:n[oa]s?|d[oa]s?)\s+(?:bolas?|ovos?)",
        r"dor\s+(?:\w+\s+){0,3}?(?:num|numa|em\s+um)\s+(?:testicul\w+|ovo)",
        r"(?:saquinho|saco|testicul\w+|escroto)\s+(?:\w+\s+){0,4}?(?:roxo|inchad\w+)",
        r"(?:joelhada|chute|pancada|bolada)\s+(?:\w+\s+)?(?:no|nos)\s+(?:saco|testicul\w+)",
        r"(?:testicul\w+|saco|escroto)\s+(?:\w+\s+)?(?:doendo|inchad\w+|roxo)",
    ),
    # MTS Mental illness / Self-harm: lay wordings of suicidal intent that name no act
    "passive_death_wish": _rx(
        r"(?:dormir|deitar)\s+e\s+(?:nao\s+acordar|nunca\s+mais\s+acordar)",
        r"(?:queria|quero|vontade\s+de)\s+(?:\w+\s+)?(?:sumir|desaparecer)\s+(?:\w+\s+){0,2}?(?:para\s+sempre|de\s+vez|do\s+mapa|da\s+vida)",
        r"(?:carta|cartas|mensagem)\s+de\s+despedida",
        r"(?:me\s+)?despedi\w*\s+de\s+(?:todo\s+mundo|todos|voces|minha\s+familia)",
        r"(?:ja\s+)?(?:separei|juntei|guardei|comprei)\s+(?:\w+\s+){0,2}?(?:os\s+|uns\s+)?(?:remedios|comprimidos|cartelas|corda)",
        r"(?:corda|remedios|comprimidos|cartelas|faca|lamina|gilete|veneno|arma|revolver)\s+(?:\w+\s+){0,5}?"
        r"(?:pensando|penso|pensei|vou|quero|vontade)\s+(?:em\s+)?(?:usar|tomar|tomar\s+tudo)",
        r"(?:ninguem|nao)\s+(?:\w+\s+){0,2}?(?:vai\s+)?sentir\s+(?:a\s+)?(?:minha\s+)?falta",
        r"(?:dizendo|falando|ameacando|jurando)\s+que\s+vai\s+(?:pular|se\s+jogar|se\s+matar|acabar\s+com\s+tudo)",
        r"nao\s+(?:aguento|suporto)\s+mais\s+(?:essa\s+|esta\s+|a\s+)?(?:vida|existir|viver)",
        r"sem\s+(?:motivo|razao)\s+(?:para|pra)\s+(?:viver|continuar)",
        r"(?:todos|todo\s+mundo|minha\s+familia)\s+(?:\w+\s+){0,2}?(?:melhor|melhores)\s+sem\s+mim",
        r"(?:seria|era)\s+melhor\s+(?:eu\s+)?(?:nao\s+estar\s+aqui|nao\s+existir|sumir|ir\s+embora\s+de\s+vez)",
        r"(?:pensamentos?|ideias?)\s+(?:\w+\s+)?(?:ruins|de\s+morte|de\s+me\s+machucar|de\s+acabar)",
    ),

    # FAST / BE-FAST (SAMU; MTS "neurological deficit"): one new focal deficit is enough
    "face_droop": _rx(
        r"(?:comida|agua|baba|saliva|liquido)\s+(?:\w+\s+){0,2}?(?:caindo|escorrendo|saindo)\s+(?:\w+\s+)?(?:da|pela|pelo\s+canto\s+da)\s+boca",
        r"(?:boca|rosto|cara|sorriso|olho)\s+(?:\w+\s+){0,2}?(?:tort\w*|caid\w*|entort\w+|repuxad\w+|paralisad\w+)",
        r"bab\w+\s+(?:\w+\s+)?(?:de|por)\s+um\s+(?:lado|canto)",
    ),
    # BE-FAST / AHA "sudden numbness of the face, especially on one side": a numb half of the face
    # (the side said); without a side it is not enough (anxiety, dental anaesthesia...).
    "face_numbness": _rx(
        r"(?:nao\s+sinto|perdi\s+a\s+sensibilidade\s+d\w)\s+(?:\w+\s+){0,2}?(?:lado|metade)\s+(?:direit\w|esquerd\w)\s+d\w\s+(?:rosto|cara|boca)",
        r"(?:lado|metade)\s+(?:direit\w|esquerd\w)\s+d\w\s+(?:rosto|cara|boca)\s+(?:\w+\s+){0,2}?(?:dormente|adormecid\w+|formigando|sem\s+sensibilidade)",
        r"(?:rosto|cara|boca)\s+(?:\w+\s+){0,2}?(?:dormente|adormecid\w+|formigando|sem\s+sensibilidade)\s+(?:\w+\s+)?(?:de\s+um\s+lado|do\s+lado\s+(?:direito|esquerdo))",
    ),
    # a numb mouth/face explained by a local anaesthetic (dentist) is expected, not a deficit
    "local_anaesthesia": _rx(r"anestesi\w+", r"dentista", r"extra\w+\s+(?:o\s+|um\s+|do\s+)?(?:dente|siso)"),
    "limb_weakness": _rx(
        r"(?:braco|perna|mao|lado)\s+(?:\w+\s+){0,2}?(?:ficou\s+|esta\s+|ta\s+)?(?:mole|fraco|fraca|sem\s+forca|pesad\w+|"
        r"dormente|paralisad\w+|caid\w+|nao\s+obedece|morto|morta)",
        r"(?:arrastando|arrastar|puxando|puxar|mancando)\s+(?:\w+\s+)?(?:de\s+)?(?:uma|a)\s+(?:perna|pe)",
        r"lado\s+(?:direito|esquerdo)\s+(?:\w+\s+)?(?:fraco|mole|pesado|dormente|paralisado|sem\s+forca)",
        r"nao\s+(?:consegue|consigo)\s+(?:\w+\s+)?(?:levantar|mexer|segurar)\s+(?:\w+\s+)?(?:o\s+braco|a\s+perna|a\s+mao|nada\s+com\s+a\s+mao)",
    ),
    "speech_disturbance": _rx(
        r"(?:nao|sem)\s+(?:acha|achar|encontra|consegue\s+achar|lembra)\s+(?:as\s+)?palavras",
        r"troca\w*\s+(?:as\s+)?palavras",
        r"parou\s+de\s+falar",
        r"nao\s+(?:consegue|conseguia|consigo)\s+(?:\w+\s+)?(?:repetir|falar|formar|montar)\s+(?:\w+\s+)?frases?",
        r"(?:fala|falando|voz)\s+(?:\w+\s+)?(?:enrolad\w+|embolad\w+|arrastad\w+|estranh\w+|pastos\w+|sem\s+sentido)",
        r"(?:fala|falando)\s+(?:nada\s+com\s+nada|coisa\s+com\s+coisa|coisas?\s+sem\s+sentido)",
        # a PERSON who no longer understands speech (not "esse robô não entende o que eu falo")
        r"(?:ele|ela|vo|avo|vovo|mae|pai|marido|esposa|esposo|tia|tio|sogr[oa])\s+(?:\w+\s+){0,2}?nao\s+(?:entende|entendia|esta\s+entendendo)\s+"
        r"(?:\w+\s+)?(?:o\s+que\s+)?(?:a\s+gente|falam|falo|eu\s+falo|ninguem)",
    ),
    "sudden_vision_loss": _rx(
        r"(?:sem\s+|nao\s+(?:esta\s+)?(?:consigo|consegue)?\s*)?enxerg\w+\s+(?:\w+\s+)?(?:de|com)\s+um\s+(?:dos\s+)?olhos?",
        r"(?:cortina|sombra|mancha\s+preta)\s+(?:\w+\s+)?(?:descendo|descesse|desceu|caindo|na\s+frente|cobrindo)",
        r"(?:vendo|enxergando)\s+(?:\w+\s+)?(?:dobrado|duplo|em\s+dobro|duas\s+vezes)",
        r"visao\s+dupla",
    ),
    "ataxia": _rx(
        r"nao\s+(?:consigo|consegue)\s+(?:\w+\s+)?(?:andar\s+reto|ficar\s+de\s+pe|me\s+equilibrar|se\s+equilibrar)",
        r"cambaleando",
    ),
    # haemorrhage (MTS Haemorrhage / GI bleeding: "uncontrollable major haemorrhage", "shock")
    "bleeding_any": _rx(
        r"sangr\w*",
        r"(?<!exame de )(?<!exames de )(?<!tirar )(?<!tira )(?<!coleta de )(?<!colher )(?<!doar )(?<!tipo )sangue",
        r"hemorrag\w*",
        r"(?:fezes|coco|cocô)\s+(?:\w+\s+)?(?:pret\w+|escur\w+|com\s+sangue|borra)",
        r"menstruacao\s+(?:\w+\s+)?(?:descendo|vindo|muito|forte|nao\s+para)",
        r"jorrand\w+", r"encharc\w+\s+(?:\w+\s+){0,2}?(?:toalhas?|panos?|roupa|absorvente\w*)", r"coagulos?",
        r"borra\s+de\s+cafe", r"vomit\w+\s+(?:\w+\s+){0,3}?(?:escur\w+|pret\w+|sangue)",
        r"absorvente\w*\s+(?:\w+\s+){0,3}?(?:toda\s+hora|a\s+cada\s+hora|por\s+hora)",
    ),
    "bleeding_uncontrolled": _rx(
        r"nao\s+(?:para|parou|estanca|estancou|esta\s+parando)",
        r"encharc\w+",
        r"(?:a\s+cada|de)\s+(?:meia\s+hora|\d+\s+minutos|uma\s+hora)",
        r"jorr\w+",
        r"litros",
        r"(?:um\s+)?monte\s+de\s+sangue",
        r"(?:poca|pocas)\s+de\s+sangue",
        r"(?:nem|mesmo)\s+apertando",
        r"faz\s+\d+\s+minutos",
        r"pulsando", r"esguich\w+", r"continua\s+vazando",
    ),
    "recent_surgery": _rx(
        r"cirurgi\w+", r"operei", r"operou", r"operad[oa]", r"pos\s*-?\s*operatori\w+",
        r"(?:tirei|tirou|extrai\w*)\s+(?:\w+\s+)?(?:dente|amigdala\w*|siso)",
    ),
    # MTS Wounds: "uncontrollable haemorrhage", deep wounds with exposed structures
    "deep_wound": _rx(
        r"(?:corte|cortei|cortou|ferida|machucado)\s+(?:\w+\s+){0,5}?(?:e|esta|ficou|bem|muito)\s+(?:muito\s+)?(?:fundo|profundo)",
        r"(?:da|de)\s+para\s+ver\s+(?:\w+\s+)?(?:por\s+dentro|o\s+osso|a\s+carne|o\s+tendao|a\s+gordura)",
        r"(?:aparecendo|expost\w+)\s+(?:\w+\s+)?(?:o\s+)?(?:osso|tendao|carne)",
    ),
    "anticoagulated": _rx(
        r"marevan", r"varfarina", r"warfarin\w*", r"xarelto", r"rivaroxaban\w*", r"eliquis", r"apixaban\w*",
        r"anticoagul\w+",
    ),
    # seizure (MTS Fits: currently fitting, or a first/prolonged/repeated fit)
    "seizure_signs": _rx(
        r"(?:epilep|epilet)\w*\s+(?:\w+\s+){0,4}?crise",
        r"crise\s+(?:\w+\s+){0,3}?(?:atras\s+da\s+outra|em\s+seguida|seguid\w+|sem\s+parar|que\s+nao\s+para|ja\s+dura|dura\s+mais)",
        r"(?:uma\s+)?crise\s+e\s+(?:logo\s+)?(?:em\s+seguida\s+)?outra",
        r"corpo\s+(?:\w+\s+)?(?:tod[oa]\s+)?(?:dur[oa]|durinh[oa]|rigid[oa]|duro)\s+(?:\w+\s+){0,3}?(?:tremendo|se\s+batendo|roxo|debatendo)",
        r"se\s+batendo",
        r"se\s+(?:sacudindo|tremendo|debatendo)\s+tod[oa]",
        r"(?:tremer|tremendo|treme)\s+(?:\w+\s+){0,4}?sem\s+parar\s+(?:\w+\s+){0,2}?(?:nao\s+responde|e\s+nao\s+responde)",
        r"estal\w+\s+a\s+boca",
        r"(?:tremor\w*|tremend\w+|treme\w*|sacudind\w+|se\s+sacudindo|puxoes|repuxando)\s+(?:\w+\s+){0,8}?"
        r"(?:que\s+)?nao\s+(?:param|para|passam|passa)\s+(?:\w+\s+)?(?:faz|ha|tem|desde)",
        r"parou\s+de\s+olhar",
    ),
    # altered conscious level (MTS Collapsed adult, Unwell adult: "altered conscious level")
    "unresponsive": _rx(
        r"(?<!ninguem\s)(?<!voces\s)(?<!clinica\s)nao\s+(?:responde|reage|respondia|reagia)(?!\s+(?:a\s+)?(?:mensage\w*|whatsapp|email|e-mail|ninguem|o\s+telefone|minhas?))",
        r"apagao",
        r"nao\s+(?:parece\s+que\s+)?(?:ta|esta)\s+respirando", r"parou\s+de\s+respirar",
        r"apag\w+\s+(?:de\s+novo|outra\s+vez|toda\s+hora)", r"(?:ficou|fica)\s+(?:\w+\s+){0,4}?sem\s+responder",
        r"caiu\s+(?:\w+\s+){0,3}?(?:ta|esta)\s+(?:roxo|roxa|mole|desacordad\w+)",
        r"fic\w+\s+(?:uns\s+)?(?:\d+\s+)?(?:segundos|minutos)\s+fora(?:\s+do\s+ar)?",
        r"abre\s+o\s+olho\s+mas\s+nao\s+fala",
        r"nao\s+(?:consegue|consegui)\s+(?:\w+\s+)?abrir\s+(?:o|os)\s+olhos?",
        r"(?:achei|encontrei|esta|estava)\s+(?:\w+\s+){0,3}?caid[oa]\s+no\s+chao",
    ),
    # poisoning (MTS Overdose and poisoning; CIATox)
    "toxic_exposure": _rx(
        r"chumbinho",
        r"veneno\w*",
        r"agrotoxic\w*",
        r"inseticida",
        r"raticida",
        r"cogumelo\w*",
        r"monoxido",
        r"vazamento\s+de\s+gas",
        r"(?:baterias?|pilhas?)\s+(?:de\s+)?(?:botao|relogio|moeda)",
        r"imas?\b", r"misturou\s+(?:\w+\s+){0,3}?(?:cloro|agua\s+sanitaria|produtos?|amonia)",
    ),
    "toxic_ingestion": _rx(
        r"(?:tom\w+|engol\w+|com\w+|beb\w+|ingeri\w*)\s+(?:\w+\s+){0,6}?(?:por\s+engano|sem\s+querer|achando\s+que\s+era)",
        r"(?:duas|2|tres|3)\s+vezes\s+(?:\w+\s+){0,2}?por\s+engano",
        r"engol\w+\s+(?:nao\s+sei\s+quant\w+|um\s+monte|varios|varias)",
        r"(?:dose|remedios?|comprimidos)\s+(?:\w+\s+){0,6}?de\s+uma\s+vez", r"confundiu\s+(?:\w+\s+)?remedios",
        r"(?:tom\w+|engol\w+)\s+(?:\w+\s+){0,2}?(?:um\s+monte|varios|varias|muitos|muitas|a\s+cartela|uma\s+cartela|o\s+vidro|"
        r"a\s+caixa|uma\s+caixa|o\s+frasco|\d{2,})\s+(?:de\s+|do\s+|da\s+)?\w+",
        # an insulin dose taken twice or doubled (MTS Diabetes / Overdose: hypoglycaemia risk)
        r"insulina\s+(?:\w+\s+){0,2}?(?:duas\s+vezes|2\s+vezes|dobrad\w+|em\s+dobro|a\s+mais)",
        r"(?:dose\s+)?(?:dupla|dobrada|em\s+dobro)\s+de\s+insulina",
    ),
    "cholinergic": _rx(
        r"babando", r"salivando\s+(?:muito|demais)", r"baba\w*\s+(?:muito|demais)",
        r"pupila\w*\s+(?:pequen\w+|contraid\w+)",
    ),
    # acute abdomen (MTS Abdominal pain in adults: severe pain, vomiting, signs of peritonism)
    "abdominal_pain": _rx(
        r"(?:dor|dores|colica\w*|doendo|pontada\w*)\s+(?:\w+\s+){0,4}?(?:barriga|abdomen|ventre|estomago|pe\s+da\s+barriga|"
        r"lado\s+direito|lado\s+esquerdo|flanco|costas\s+do\s+lado|rins?)",
        r"(?:barriga|abdomen)\s+(?:\w+\s+)?(?:doendo|doi|dura|inchad\w+|estufad\w+)",
    ),
    "abdominal_alarm": _rx(
        r"vomit\w+\s+(?:\w+\s+)?(?:sem\s+parar|verde|tudo|o\s+tempo\s+todo|muito)",
        r"nao\s+(?:\w+\s+)?(?:faco|faz|fiz|fez|consigo\s+fazer)\s+coco",
        r"(?:nem|nao)\s+(?:solto|solta|soltei)\s+gases",
        r"nao\s+(?:consigo|consegue)\s+(?:\w+\s+)?(?:esticar|endireitar|ficar\s+ret\w+)",
        r"nao\s+(?:acho|acha|encontro)\s+(?:uma\s+)?posicao",
        r"barriga\s+(?:\w+\s+){0,2}?(?:dura|rigida|travada|estufad\w+)",
        r"piorando\s+(?:\w+\s+)?(?:desde|cada\s+vez)",
        r"andando\s+(?:\w+\s+)?(?:curvad\w+|dobrad\w+|tort\w+)",
        r"olhos?\s+(?:\w+\s+){0,2}?amarel\w+", r"pele\s+(?:\w+\s+)?amarel\w+",
        r"(?:coco|fezes)\s+(?:\w+\s+){0,3}?(?:geleia|com\s+sangue|vermelh\w+)",
        r"encolhendo\s+(?:as\s+)?(?:pernas|perninhas)",
        r"(?:curvad\w+|dobrad\w+)\s+de\s+dor",
    ),
    # sudden severe pain anywhere (MTS general discriminators "severe pain" + "abrupt onset";
    # aortic dissection "tearing" pain; acute limb ischaemia: cold, pale, painful limb)
    "tearing_pain": _rx(r"(?:dor|doendo)\s+(?:\w+\s+){0,6}?(?:rasgando|rasgar|rasgo|dilacerante)", r"tipo\s+rasgando"),
    "sudden_severe_pain": _rx(
        r"(?:dor|doendo|doi)\s+(?:\w+\s+){0,5}?" + _VERY + r"\s+(?:\w+\s+){0,3}?" + _SUDDEN,
        _SUDDEN + r"\s+(?:\w+\s+){0,3}?(?:uma\s+)?(?:dor|doendo)\s+(?:\w+\s+){0,4}?" + _VERY,
    ),
    "cold_pale_limb": _rx(
        r"(?:perna|braco|pe|mao)\s+(?:\w+\s+){0,2}?(?:fria|frio|gelad\w+)\s*,?\s+(?:e\s+)?(?:\w+\s+)?"
        r"(?:branc\w+|palid\w+|roxa|roxo)"
    ),
    # also MTS Shortness of breath "unable to talk in sentences" (breathless between words)
    "hypoxia": _rx(
        r"(?:falando|fala|consigo\s+falar|consegue\s+falar)\s+(?:so\s+|somente\s+|apenas\s+)?(?:palavras\s+soltas|"
        r"(?:umas\s+)?palavras\s+(?:e\s+)?(?:para|puxa)|frases\s+curtas|uma\s+palavra\s+por\s+vez)",
        r"nao\s+(?:consigo|consegue)\s+(?:nem\s+)?(?:completar|terminar)\s+(?:uma\s+|as\s+)?frases?",
        r"(?:saturacao|saturando|oximetro|satura)\s+(?:\w+\s+){0,6}?(?:[5-8]\d|9[0-2])\b(?!\s*anos)",
        r"(?:ofegante|sem\s+ar|sem\s+folego|cansad\w+)\s+(?:so\s+)?(?:de|ao|para|pra)\s+falar",
        r"barulho\s+(?:\w+\s+)?(?:ao|para|pra|quando)\s+(?:puxar\s+o\s+ar|respirar)",
        r"tosse\s+de\s+cachorro\s+(?:\w+\s+){0,6}?(?:barulho|chiado|agitad\w+|cansad\w+)",
    ),
    # MTS Limb problems / Shortness of breath: a swollen, painful calf (deep vein thrombosis),
    # more so after immobility, and with breathlessness or chest pain (pulmonary embolism)
    "swollen_painful_leg": _rx(
        r"(?:perna|panturrilha|batata\s+da\s+perna|coxa)\s+(?:\w+\s+){0,3}?(?:inchad\w+|inchou|inchando|vermelh\w+|quente)"
        r"(?:\s+e\s+|\s*,\s*|\s+)(?:\w+\s+){0,2}?(?:doendo|doi|dolorid\w+|dura|quente|vermelh\w+)",
        r"(?:dor|doendo|doi)\s+(?:\w+\s+){0,3}?(?:na|da)\s+(?:panturrilha|batata\s+da\s+perna)\s+(?:\w+\s+){0,3}?(?:inchad\w+|inchou|inchando|vermelh\w+|quente)",
    ),
    # immunosuppression: chemotherapy, transplant, immunosuppressants (febrile neutropenia risk)
    "immunosuppressed": _rx(
        r"quimio\w*", r"transplantad\w+", r"transplante", r"imunossuprimid\w+", r"imunossupressor\w*",
        r"neutropeni\w+",
    ),
    "immobility": _rx(
        r"viage\w+\s+(?:\w+\s+){0,3}?(?:longa|de\s+onibus|de\s+aviao|de\s+\d+\s+horas)",
        r"(?:voo|voei|aviao)\s+(?:\w+\s+)?(?:longo|de\s+\d+\s+horas)",
        r"(?:muitas|\d+)\s+horas\s+(?:\w+\s+)?(?:sentad\w+|de\s+viagem|de\s+onibus)", r"acamad\w+", r"engess\w+",
        r"gesso",
        r"anticoncepcional", r"(?:depois|pos)\s+(?:d[ae]\s+)?(?:cirurgia|parto|cesarea)",
    ),
    # MTS Shortness of breath: breathless at rest or lying flat (orthopnoea), waking up breathless
    "orthopnoea": _rx(
        r"(?:nao\s+(?:consigo|consegue)|sem\s+conseguir)\s+(?:\w+\s+)?(?:deitar|ficar\s+deitad\w+|dormir\s+deitad\w+)",
        r"(?:acordo|acordou|acordei|acorda)\s+(?:\w+\s+){0,2}?(?:sem\s+ar|sufocad\w+|afogad\w+|buscando\s+ar|puxando\s+ar)",
        r"(?:dormir|dorme|dormindo)\s+(?:\w+\s+){0,2}?sentad\w+\s+(?:\w+\s+){0,3}?(?:ar|respirar)",
        r"(?:falta\s+de\s+ar|cansaco)\s+(?:\w+\s+){0,2}?(?:deitad\w+|parad\w+|em\s+repouso|sem\s+fazer\s+nada)",
        r"respira\w*\s+(?:\w+\s+){0,3}?(?:curt\w*|rapid\w*|ofegante)\s+(?:\w+\s+){0,4}?(?:mesmo\s+)?(?:sentad\w+|"
        r"parad\w+|deitad\w+|em\s+repouso|sem\s+fazer\s+nada)",
    ),
    # self-harm warning signs (MS "Prevenção do suicídio", CVV): farewells, giving away belongings,
    # "the last day", ongoing self-injury
    "self_harm_warning": _rx(
        r"(?:me\s+)?cortei\s+(?:\w+\s+)?(?:de\s+novo|outra\s+vez|novamente)",
        r"nao\s+vou\s+(?:mais\s+)?estar\s+aqui",
        r"(?:penso|pensando|pensei|vontade)\s+em\s+(?:nao\s+)?(?:existir|sumir|desaparecer)\s*(?:mais)?",
        r"(?:e|sera|vai\s+ser)\s+(?:o\s+)?(?:meu\s+)?ultimo\s+dia",
        r"decidi\s+(?:\w+\s+){0,3}?ultimo\s+dia",
        r"(?:melhor|melhores)\s+sem\s+(?:mim|ele|ela)",
        r"(?:deu|deram|dando|doou|doando|distribuiu|distribuindo)\s+(?:\w+\s+){0,2}?coisas\s+(?:dele|dela|minhas|dele\s+tudo)",
        r"nao\s+sei\s+se\s+(?:eu\s+)?(?:volto|vou\s+voltar|aguento|vou\s+aguentar)",
        r"(?:na|em\s+cima\s+da|no\s+alto\s+da)\s+(?:ponte|laje|janela|beirada|predio)\s+(?:\w+\s+){0,3}?(?:agora|pensando)",
        r"(?:machucar|fazer\s+mal\s+a[o]?|ferir)\s+(?:o\s+|meu\s+|minha\s+|a\s+)?(?:bebe|filh\w+|nene)",
        # command hallucinations (MTS Mental illness: "high risk of harm to self or others")
        r"vozes?\s+(?:\w+\s+){0,2}?(?:mandando|mandam|mandou|dizendo|falando)\s+(?:\w+\s+){0,3}?"
        r"(?:machucar|matar|morrer|ferir|cortar|pular)",
    ),
    # behaviour or orientation changed: the lay words of delirium (MTS Behaving strangely /
    # Confusion; MS Caderno de Atenção ao Idoso: delirium is an acute illness until proven otherwise)
    # MTS Unwell child / Unwell baby: "unresponsive", no eye contact, a vacant stare
    "no_eye_contact": _rx(
        r"nao\s+(?:olha|olhou|fixa)\s+(?:\w+\s+)?(?:pra|para|nos?)\s+(?:mim|a\s+gente|ninguem|olhos)",
        r"olhando\s+(?:pro|para\s+o)\s+nada", r"olhar\s+(?:parado|vidrado|perdido)",
    ),
    "disoriented": _rx(
        r"nao\s+(?:sabe|sabia|reconhece|reconheceu|lembra)\s+(?:mais\s+)?(?:onde\s+(?:esta|ta|estava)|que\s+dia|"
        r"o\s+nome|quem\s+(?:e|sou)|a\s+gente|ninguem|os\s+netos|os\s+filhos|(?:o|a|os|as|me|minha|meu)\b)",
        r"(?:fala|falando|falou|dizendo)\s+(?:\w+\s+)?coisas?\s+sem\s+(?:nexo|sentido)",
        r"nao\s+(?:\w+\s+)?(?:fala|falando|falou|diz|dizendo)\s+coisa\s+com\s+coisa",
        r"(?:vendo|ve|enxergando|viu)\s+(?:\w+\s+)?(?:bichos?|insetos|pessoas\s+que|gente\s+que|coisas\s+que\s+nao)",
        r"(?:falando|conversando|fala)\s+com\s+(?:\w+\s+){0,2}?(?:que\s+(?:ja\s+)?(?:morreu|faleceu|nao\s+esta|nao\s+estao|"
        r"nao\s+existe)|que\s+ja\s+(?:morreram|faleceram))",
        r"repetindo\s+(?:\w+\s+){0,2}?(?:mesmas?|mesmos)\s+(?:perguntas|coisas|historias)",
        r"nao\s+lembra\s+(?:\w+\s+)?(?:do\s+que|o\s+que)\s+aconteceu", r"coisa\s+sem\s+coisa",
        r"achando\s+que\s+(?:a\s+casa|o\s+quarto|esta\s+em\s+outro|e\s+outra\s+pessoa|alguem\s+(?:vai|quer))",
        r"(?:muito\s+)?agitad[oa]\s+(?:\w+\s+){0,3}?(?:arrancando|tirando\s+a\s+roupa|querendo\s+sair|gritando)",
        r"tentando\s+sair\s+de\s+casa\s+(?:\w+\s+)?(?:de\s+madrugada|a\s+noite)",
        r"(?:ficou|ta|esta)\s+(?:muito\s+)?agressiv[oa]",
        r"(?:ta|esta|ficou)\s+(?:muito\s+)?diferente\s+(?:desde|hoje)",
    ),
    # an onset within the last day: "desde ontem", "de ontem pra hoje", "ontem tava normal",
    # "nunca foi assim" (MTS discriminator "acute onset" / "new")
    "acute_onset": _rx(
        r"desde\s+(?:ontem|hoje|de\s+manha|a\s+tarde|de\s+tarde|a\s+noite|de\s+noite|cedo|a\s+madrugada|anteontem)",
        r"de\s+ontem\s+(?:pra|para)\s+hoje",
        r"ontem\s+(?:ela\s+|ele\s+)?(?:tava|estava|era)\s+(?:normal|bem|otim\w+)",
        r"nunca\s+(?:foi|ficou|tinha\s+ficado)\s+assim",
        r"veio\s+de\s+uma\s+vez", r"(?:em|num)\s+(?:um\s+)?segundo", r"comec\w+\s+(?:faz|ha)\s+(?:uma|meia|\d+)\s+hora",
        r"hoje\s+(?:de\s+manha\s+|cedo\s+)?(?:acordou|amanheceu|ficou)",
        _SUDDEN,
    ),
    # MTS Unwell adult / sepsis (ILAS, Sepsis-3 qSOFA): signs of poor perfusion or shock
    # MTS Shortness of breath / Unwell child: central cyanosis
    "cyanosis": _rx(
        r"(?:cor|pele|labios?|boca|boquinha|rosto|dedos?|unhas?)\s+(?:\w+\s+){0,2}?(?:acinzentad\w+|cinza|roxa|roxo|"
        r"roxinh\w+|arroxead\w+|azulad\w+)",
        r"ficando\s+(?:\w+\s+)?(?:roxo|roxa|roxinh\w+|azul\w*|cinza)",
    ),
    # MTS Major trauma: a significant mechanism of injury
    "major_mechanism": _rx(
        r"caiu\s+(?:\w+\s+){0,3}?(?:andaime|telhado|laje|muro|arvore|segundo\s+andar|terceiro\s+andar|altura)",
        r"atropelad\w+", r"capot\w+", r"(?:batida|acidente)\s+de\s+(?:carro|moto|transito|onibus)",
        r"esfaquead\w+", r"facada", r"balead\w+", r"(?:levou|tomou)\s+(?:um\s+)?tiro",
    ),
    "poor_perfusion": _rx(
        r"pele\s+(?:\w+\s+){0,3}?(?:pintad\w+|manchad\w+|marmorizad\w+|rendad\w+|arroxead\w+)",
        r"pressao\s+(?:\w+\s+){0,2}?(?:[4-8]\s*(?:por|x|/)\s*\d|muito\s+baixa|baixa\s+demais|caiu|baixou|nao\s+marca)",
        r"(?:ta|esta|ficou|muito)\s+gelad[oa]",
        r"(?:pouco|quase\s+(?:nao|sem))\s+(?:faz(?:endo)?\s+)?xixi",
    ),
    "tachy": _rx(
        r"coracao\s+(?:\w+\s+){0,2}?(?:muito\s+)?(?:acelerad\w+|disparad\w+|a\s+mil)",
        r"respira\w*\s+(?:\w+\s+){0,2}?(?:muito\s+)?(?:rapid\w+|acelerad\w+)",
    ),
    "infection_source": _rx(
        r"infec\w+", r"pus\b", r"antibiotic\w+", r"pneumonia", r"sonda\b", r"cicatriz\s+(?:\w+\s+){0,3}?(?:vermelh\w+|"
        r"quente|abriu|soltando|vazando)", r"xixi\s+(?:\w+\s+){0,3}?(?:cheiro\s+forte|escuro|com\s+pus)",
    ),
    # MTS Head injury: mechanism, then the discriminators (altered consciousness, vomiting, CSF leak,
    # anticoagulation, amnesia)
    "head_trauma": _rx(
        r"(?:bat\w+|batendo)\s+(?:\w+\s+){0,2}?(?:a\s+|com\s+a\s+)?(?:cabeca|nuca|testa)",
        r"(?:caiu|cai|caido|caida|queda|tombo)\s+(?:\w+\s+){0,4}?de\s+cabeca",
        r"(?:pancada|batida|porrada)\s+(?:\w+\s+){0,2}?(?:na|da)\s+(?:cabeca|nuca|testa)",
        r"traumatismo\s+craniano",
        r"(?:bolada|pedrada|paulada|cotovelada|joelhada|cabecada)\s+(?:\w+\s+){0,2}?(?:na|da)\s+cabeca",
        r"(?:caiu|cai|queda|tombo)\s+(?:\w+\s+){0,3}?(?:sem\s+capacete|de\s+moto|da\s+moto|de\s+skate|de\s+patinete)",
    ),
    "csf_leak": _rx(
        r"(?:saindo|escorrendo|sai|saiu)\s+(?:\w+\s+){0,2}?(?:liquido|agua)\s+(?:\w+\s+)?(?:do|pelo)\s+(?:nariz|ouvido)",
        r"(?:sangue|sangrando)\s+(?:\w+\s+)?(?:pelo|do)\s+ouvido",
    ),
    # MTS Burns and scalds: extensive, full thickness, face/airway, electrical, inhalation
    "burn": _rx(
        r"queimad\w+", r"queimou", r"queimei", r"escald\w+",
        r"(?:oleo|agua|cafe|leite|sopa|panela)\s+(?:\w+\s+)?(?:quente|fervendo)\s+(?:\w+\s+){0,3}?(?:n[oa]s?|em\s+cima|"
        r"pel[oa]|sobre)",
        r"derramou\s+(?:\w+\s+){0,2}?(?:oleo|agua\s+fervendo|cafe)",
        r"pegou\s+fogo", r"soda\s+caustica",
        r"acido\s+(?:\w+\s+){0,3}?(?:no|na|nos|nas)\s+(?:rosto|cara|pele|braco|perna|mao)",
    ),
    "burn_alarm": _rx(
        r"bolhas?", r"pele\s+(?:\w+\s+)?(?:saindo|soltando|descascando|branca|preta)",
        r"(?:as\s+duas|ambas\s+as)\s+(?:pernas|maos|bracos)",
        r"(?:perna|braco|costas|barriga|peito)\s+(?:tod[oa]|inteir[oa])",
        r"(?:no|na)\s+(?:rosto|cara|pescoco|genitais|boca)",
    ),
    "smoke_inhalation": _rx(r"fumaca", r"incendio", r"fuligem", r"tossindo\s+preto", r"escarro\s+preto"),
    "electric_shock": _rx(
        r"(?:levou|tomou|levei|tomei)\s+(?:um\s+)?choque", r"choque\s+(?:eletrico|na\s+tomada|no\s+fio)",
        r"fio\s+desencapado", r"alta\s+tensao", r"(?:atingid\w+\s+por|caiu)\s+(?:um\s+)?raio", r"descarga\s+eletrica",
    ),
    # MTS Eye problems: chemical injury, penetrating injury, sudden loss of vision
    "eye_chemical": _rx(
        r"(?:cai\w*|espirr\w+|entr\w+|jog\w+|respingo\w*|respingou|pingou|passou)\s+(?:\w+\s+){0,4}?(?:no|nos|dentro\s+do)\s+olhos?",
        r"olhos?\s+(?:\w+\s+){0,3}?(?:desinfetante|agua\s+sanitaria|cloro|soda|acido|alvejante|cal\b|cimento|produto)",
        r"colou\s+(?:o\s+|os\s+)?olhos?",
        r"(?:acido|soda|cloro|agua\s+sanitaria|alvejante|cal)\s+(?:\w+\s+){0,5}?(?:no|na|nos)\s+(?:rosto|cara|olhos?)",
    ),
    "chemical": _rx(
        r"cola\s+(?:instantanea|super\s+bonder)", r"super\s+bonder",
        r"desinfetante", r"agua\s+sanitaria", r"cloro", r"soda", r"acido", r"alvejante", r"\bcal\b", r"cimento",
        r"produto\s+de\s+limpeza", r"removedor", r"solvente",
    ),
    "eye_trauma": _rx(
        r"(?:pancada|batida|galho|soco|bola|bolada|estilhac\w+|lasca|pedaco|prego|anzol|furou)\s+(?:\w+\s+){0,4}?(?:no|o|do)\s+olho",
        r"olho\s+(?:\w+\s+){0,2}?(?:furad\w+|perfurad\w+|sangrando)",
    ),
    # MTS Eye problems: a penetrating injury is very urgent on its own
    "eye_penetrating": _rx(
        r"(?:lasca|estilhac\w+|caco|prego|anzol|farpa|pedaco)\s+(?:de\s+\w+\s+)?(?:\w+\s+)?(?:no|dentro\s+do|cravad\w+\s+no)\s+olho",
        r"olho\s+(?:\w+\s+){0,2}?(?:furad\w+|perfurad\w+)", r"sangue\s+dentro\s+(?:\w+\s+){0,4}?olho",
    ),
    "red_painful_eye": _rx(
        r"olho\s+(?:\w+\s+){0,2}?(?:muito\s+)?vermelho\s+(?:\w+\s+){0,6}?(?:dor|doendo|duro)",
    ),
    "blurred_or_lost_vision": _rx(
        r"visao\s+(?:\w+\s+)?(?:caiu|piorou|sumiu|baixou)", r"rodinhas?\s+(?:\w+\s+){0,2}?(?:em\s+volta|ao\s+redor)",
        r"(?:so\s+)?(?:ve|vendo|enxerga|enxergando)\s+(?:\w+\s+)?vultos?",
        r"(?:ta|esta|ficou|tudo)\s+(?:\w+\s+)?(?:embacad\w+|borrad\w+|escur\w+)",
        r"nao\s+(?:\w+\s+)?(?:enxerga|enxergo|ve|vejo)\s+(?:nada|direito)",
    ),
}

# --- who the patient is (searched in the whole message) ---------------------------------------------

_NUM = r"(?:\d+|um|uma|dois|duas|tres|quatro|cinco|seis|sete|oito|nove|dez|onze|doze)"

CONTEXTS: dict[str, re.Pattern[str]] = {
    # infants: MTS Unwell baby (under 1 year); fever under 3 months is always an emergency
    "baby": _rx(
        r"bebe(?:s|zinh[oa]s?)?", r"nene(?:s|zinh[oa]s?)?", r"recem\s+nascid\w+", r"lactente", r"neonat\w*",
        _NUM + r"\s+(?:mes|meses|dias|semanas)(?:inho|inhos)?\s+de\s+(?:vida|idade|nascid\w+)",
        r"(?:filh\w+|crianca|menin[oa]|net[oa]|netinh[oa]|sobrinh\w+)\s+(?:\w+\s+)?(?:de|com|tem)\s+" + _NUM
        + r"\s+(?:mes|meses|dias|semanas)",
        r"nasceu\s+(?:ha|faz)\s+" + _NUM + r"\s+(?:mes|meses|dias|semanas)",
        r"mama(?:ndo|r)?\s+no\s+peito",
    ),
    "child": _rx(
        r"filh\w+", r"crianc\w+", r"menin[oa]\w*", r"garot[oa]\w*", r"sobrinh\w+", r"net[oa]s?", r"enteado\w*",
        r"pequen[oa]", r"(?:[1-9]|1[0-2])\s+anos(?:\s+de\s+idade)?", r"pediatr\w+",
    ),
    "pregnant": _rx(
        r"gravid\w*", r"gestante", r"gestacao", r"gravidez", r"gestando", r"prenhe",
        r"\d+\s+(?:semanas|meses)\s+(?:de\s+)?(?:gestacao|gravidez|gravida|barriga)",
        r"(?:barriga|barrigao)\s+de\s+" + _NUM + r"\s+(?:semanas|meses)",
        r"esperando\s+(?:um\s+|uma\s+|o\s+|meu\s+)?(?:bebe|nene|filho|filha|menino|menina)",
        r"pre\s*-?\s*natal", r"obstetra",
        r"(?:estou|esta|ela\s+esta|eu\s+estou)\s+de\s+(?:\d{1,2}|um|dois|tres|quatro|cinco|seis|sete|oito|nove)\s+(?:semanas|meses)",
        # "to com 34 semanas" (first person: "ele ta com 3 semanas" is a baby's age)
        r"(?:to|estou|eu\s+to|eu\s+estou)\s+com\s+(?:[4-9]|[1-3]\d|4[0-2])\s+semanas",
    ),
    # puerperium: the MS alarm signs of pregnancy apply up to 42 days after birth, plus fever
    "postpartum": _rx(
        r"puerper\w*", r"resguardo", r"pos\s*-?\s*parto", r"dei\s+a\s+luz", r"pari\b",
        r"ganhei\s+(?:o\s+|meu\s+|minha\s+)?(?:bebe|nene|filho|filha|nenem)",
        r"(?:cesarea|cesariana|parto\s+normal)\s+(?:\w+\s+){0,2}?(?:ha|faz)\s+\w+\s+(?:dias|semanas)",
        r"(?:tive|teve)\s+(?:o\s+|meu\s+)?(?:bebe|nene|filho|parto)\s+(?:ha|faz)\s+\w+\s+(?:dias|semanas)",
        r"(?:tive|teve|ganhei|ganhou)\s+(?:o\s+|meu\s+|a\s+|minha\s+)?(?:bebe|nene|nenem|filho|filha|parto)\s+(?:\w+\s+)?"
        r"(?:semana\s+passada|ontem|anteontem|essa\s+semana|nessa\s+semana|esse\s+mes)",
        r"(?:tive|teve|ganhei|ganhou)\s+(?:o\s+|meu\s+|a\s+|minha\s+|um\s+|uma\s+)?(?:bebe|nene|nenem|filho|filha|"
        r"parto|menino|menina)\s+(?:\w+\s+)?(?:ha|faz)\s+(?:\d+|um|uma|dois|duas|tres|quatro|cinco|seis)\s+(?:dias|semanas)",
    ),
    # cardiovascular risk (ESC/AHA: atypical ACS presentations are commoner in older, diabetic people
    # and women)
    "cardiovascular_risk": _rx(
        r"diabet\w*", r"hipertens\w*", r"pressao\s+alta", r"cardiac\w*", r"cardiopat\w*", r"infart\w*",
        r"ponte\s+de\s+safena", r"stent", r"marca\s*-?\s*passo", r"colesterol\s+alto", r"fumante", r"fuma\b",
        r"idos[oa]\w*", r"avo\b", r"avos\b", r"vovo\w*", r"bisavo\w*",
        r"(?:[5-9]\d|1[01]\d)\s+anos", r"(?:meu|minha)\s+(?:pai|mae|sogr[oa]|marido|esposo|esposa|tio|tia)",
    ),
    "diabetic": _rx(r"diabet\w*", r"insulina", r"glicemia", r"glicose", r"dextro"),
    # older adults (Estatuto da Pessoa Idosa: 60+; delirium and atypical sepsis are commoner)
    "elderly": _rx(
        r"idos[oa]s?", r"avo\b", r"avos\b", r"vovo\w*", r"bisavo\w*", r"(?:6\d|[7-9]\d|1[01]\d)\s+anos",
        r"senhora\s+de", r"senhor\s+de", r"(?:lar|casa)\s+de\s+(?:idosos|repouso)", r"do\s+lar\b", r"cuidadora?",
    ),
}


@dataclass(frozen=True)
class Finding:
    """A finding present in the message (not negated, hypothetical or remote), with its span."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class ConceptRule:
    """A discriminator: `applies(findings, contexts)` -> fires; `anchor` = the finding whose span
    is reported; `why` (pt-BR, for the team's handoff note) cites the protocol item."""

    code: str
    category: str
    why: str
    applies: Callable[[Mapping[str, Finding], frozenset[str]], bool]
    anchors: tuple[str, ...]


def _any(found: Mapping[str, Finding], *names: str) -> bool:
    return any(n in found for n in names)


def _count(found: Mapping[str, Finding], *names: str) -> int:
    return sum(1 for n in names if n in found)


_AUTONOMIC = ("cold_sweat", "nausea_vomiting", "dyspnoea", "presyncope", "sudden_fatigue", "pallor")
_ATYPICAL_SITE = ("pain_jaw_neck", "arm_symptom", "pain_upper_back", "pain_epigastric", "chest_discomfort")
_CARDIAC_PAIN = ("radiating_pain",)


def _acs(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Chest pain, discriminator "cardiac pain" (very urgent); ESC 2023 ACS guideline on
    # atypical presentations: an ischaemic site + autonomic features, two ischaemic sites at once
    # (jaw and arm), or (in a person at risk) a cluster of autonomic features with no pain at all.
    if _any(found, *_ATYPICAL_SITE) and _any(found, *_AUTONOMIC, "palpitation"):
        return True
    if _count(found, *_ATYPICAL_SITE) >= 2 or _any(found, *_CARDIAC_PAIN):
        return True
    autonomic = _count(found, *_AUTONOMIC)
    return autonomic >= 3 or (autonomic >= 2 and "cold_sweat" in found and "cardiovascular_risk" in ctx)


def _obstetric(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Pregnancy flowchart (any gestational age) + MS "sinais de alerta na gestação e no
    # puerpério": vaginal bleeding, loss of fluid, reduced fetal movements, severe headache or visual
    # disturbance (pre-eclampsia), sudden swelling with headache or high pressure, seizure, severe
    # abdominal pain or contractions; in the puerperium also fever (puerperal infection).
    pregnant, postpartum = "pregnant" in ctx, "postpartum" in ctx
    if not (pregnant or postpartum):
        return False
    if postpartum and _any(found, "fever_or_hot", "vaginal_bleeding", "severe_headache", "visual_disturbance",
                           "dyspnoea", "self_harm_warning"):
        return True
    if not pregnant:
        return False
    if _any(found, "vaginal_bleeding", "fluid_loss", "reduced_fetal_movement", "visual_disturbance",
            "severe_headache", "seizure_like", "severe_abdominal_pain", "high_blood_pressure"):
        return True
    if "sudden_swelling" in found and _any(found, "headache", "high_blood_pressure", "visual_disturbance"):
        return True
    return "headache" in found and _any(found, "presyncope", "nausea_vomiting", "sudden_swelling")


def _anaphylaxis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Allergy flowchart: airway compromise, stridor, facial/tongue oedema, shock; WAO 2020
    # anaphylaxis criteria: skin/mucosa involvement + respiratory or circulatory compromise, or
    # two systems (skin, breathing, circulation, gut) after a likely allergen.
    if "face_tongue_swelling" in found and _any(found, "allergen_exposure", "hives", "dyspnoea"):
        return True
    if "hives" in found and _any(found, "dyspnoea", "presyncope", "face_tongue_swelling"):
        return True
    if "allergen_exposure" in found and "hives" in found and _any(found, "nausea_vomiting", "lethargy", "pallor"):
        return True
    return (
        "allergen_exposure" in found
        and _any(found, "dyspnoea")
        and _any(found, "hives", "face_tongue_swelling", "presyncope")
    )


def _child_breathing(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath in children: increased work of breathing (recession, grunting, nasal
    # flaring, fast breathing) is very urgent.
    return "child_respiratory_distress" in found and _any_ctx(ctx, "baby", "child")


def _unwell_baby(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell baby: "floppy", not feeding, signs of dehydration (sunken fontanelle, no urine),
    # "hot baby" (any fever under 3 months: MS AIDPI Neonatal).
    if "baby" not in ctx:
        return False
    return _any(found, "lethargy", "fever_or_hot", "dehydration")


def _meningitis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS discriminators "non-blanching rash" and "meningism"; MS Guia de Vigilância: fever +
    # petechiae or neck stiffness = suspected meningococcal disease.
    return ("purpuric_rash" in found and _any(found, "fever_or_hot", "lethargy", "stiff_neck")) or (
        "stiff_neck" in found and _any(found, "fever_or_hot", "severe_headache", "nausea_vomiting", "lethargy")
    )


def _glycaemic(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Diabetes flowchart: hypoglycaemia or hyperglycaemia with altered conscious level,
    # sweating or vomiting.
    if "extreme_glucose" in found:
        return True
    if "hyperglycaemia_signs" in found and _any(found, "nausea_vomiting", "tachy", "dyspnoea", "confusion",
                                                "disoriented", "lethargy"):
        return True
    return (
        "diabetic" in ctx
        and _any(found, "confusion", "disoriented")
        and _any(found, "cold_sweat", "trembling", "presyncope", "lethargy")
    )


def _acute_abdomen(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Abdominal pain in adults: severe pain is very urgent, more so with vomiting, collapse,
    # sweating or fever (peritonitis, obstruction, ruptured viscus, pancreatitis, appendicitis,
    # obstructed infected kidney).
    if "severe_abdominal_pain" in found and _any(
        found, "nausea_vomiting", "presyncope", "cold_sweat", "fever_or_hot", "pallor", "sudden_fatigue"
    ):
        return True
    if "abdominal_pain" in found and (
        "abdominal_alarm" in found or _count(found, "fever_or_hot", "nausea_vomiting") == 2
    ):
        return True
    return "abdominal_alarm" in found and "nausea_vomiting" in found


def _stroke(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # SAMU / Ministério da Saúde "SAMU (FAST)": face, arm, speech, time; BE-FAST adds balance and
    # eyes. Face droop, speech disturbance or sudden visual loss alone; limb weakness or ataxia with
    # a sudden onset, another deficit, confusion or a person at risk.
    # A one-sided numb face counts too (AHA/ASA BE-FAST "sudden numbness of the face, one side"),
    # unless a local anaesthetic explains it.
    if _any(found, "face_droop", "speech_disturbance", "sudden_vision_loss"):
        return True
    if "face_numbness" in found and "local_anaesthesia" not in found:
        return True
    if _any(found, "limb_weakness", "ataxia"):
        return (_any(found, "sudden_fatigue", "confusion", "presyncope", "severe_headache", "sudden_severe_pain")
                or _count(found, "limb_weakness", "ataxia") == 2 or "cardiovascular_risk" in ctx)
    return False


def _haemorrhage(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Haemorrhage / GI bleeding: "uncontrollable major haemorrhage" and bleeding with signs of
    # shock (dizziness, pallor, weakness); any bleeding on anticoagulants (warfarin, DOACs).
    return ("bleeding_any" in found and _any(
        found, "bleeding_uncontrolled", "presyncope", "pallor", "sudden_fatigue", "anticoagulated", "cold_sweat",
        "recent_surgery"
    )) or "deep_wound" in found


def _seizure(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Fits: currently fitting, repeated or prolonged (> 5 min: status epilepticus), first fit.
    return _any(found, "seizure_signs", "seizure_like")


def _altered_consciousness(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Collapsed adult / Unwell adult: "altered conscious level", "unresponsive".
    return "unresponsive" in found


def _poisoning(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Overdose and poisoning (CIATox): an ingestion by mistake or in quantity; a toxic substance
    # with any symptom, or in a child (toxic exposure in children is always seen at once).
    if "toxic_ingestion" in found:
        return True
    return "toxic_exposure" in found and (
        _any_ctx(ctx, "baby", "child")
        or _any(found, "nausea_vomiting", "cold_sweat", "trembling", "cholinergic", "presyncope", "confusion",
                "lethargy", "dyspnoea", "unresponsive", "face_tongue_swelling", "palpitation")
    )


def _sudden_severe_pain(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS general discriminators "severe pain" + "abrupt onset"; tearing pain (aortic dissection);
    # a cold, pale, painful limb (acute limb ischaemia).
    return _any(found, "sudden_severe_pain", "tearing_pain", "cold_pale_limb")


def _hypoxia(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath: SpO2 < 92-95% on air is very urgent; stridor (noisy breath in).
    return "hypoxia" in found


def _torsion(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Testicular pain: any testicular pain of sudden onset in a child or young man is very urgent
    # (torsion: the testis is lost after ~6 h).
    return "testicular_pain" in found


def _new_neuro(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Behaving strangely / Headache: acute confusion; SAMU: confusion + headache or weakness.
    return "confusion" in found and _any(found, "severe_headache", "sudden_fatigue", "visual_disturbance", "presyncope")


def _febrile_immunosuppressed(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell adult / "hot adult": fever in an immunosuppressed patient is very urgent (febrile
    # neutropenia after chemotherapy: MASCC / INCA guidance, antibiotics within 1 hour).
    return "immunosuppressed" in found and "fever_or_hot" in found


def _any_ctx(ctx: frozenset[str], *names: str) -> bool:
    return any(n in ctx for n in names)


def _arrhythmia(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Palpitations: palpitations with presyncope, breathlessness, chest discomfort or sweating
    # (haemodynamic compromise) are very urgent.
    return "palpitation" in found and _any(found, "presyncope", "dyspnoea", "chest_discomfort", "cold_sweat", "pallor")


def _thrombosis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Limb problems ("swollen painful calf") and Shortness of breath (pleuritic pain, PE):
    # a swollen painful leg after immobility, or with breathlessness or chest pain.
    return "swollen_painful_leg" in found and (
        "immobility" in found or _any(found, "dyspnoea", "chest_discomfort", "presyncope", "palpitation")
    )


def _heart_failure(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath: breathless at rest / unable to lie flat is very urgent.
    return "orthopnoea" in found


def _suicide_lay(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Mental illness / Self-harm: "high risk of self-harm"; Ministério da Saúde / CVV: passive
    # death wishes, farewells, gathered means, giving belongings away, repeated self-injury and
    # thoughts of harming the baby (postpartum) are warning signs to act on at once.
    return _any(found, "passive_death_wish", "self_harm_warning")


def _delirium(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Behaving strangely / Unwell adult: new confusion of acute onset; MS Caderno de Atenção
    # Básica 19 (Envelhecimento): delirium in an older person is a medical emergency (infection,
    # hypoxia, drugs, stroke). Chronic dementia alone ("às vezes não me reconhece") does not fire:
    # an acute onset, a fever or an infection must be said.
    if not _any(found, "disoriented", "confusion"):
        return False
    return _any(found, "acute_onset", "fever_or_hot", "infection_source", "poor_perfusion")


def _sepsis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell adult / Unwell child ("hot" with signs of shock or altered conscious level);
    # Sepsis-3 qSOFA and ILAS (Instituto Latino-Americano de Sepse): infection + altered mentation,
    # hypotension or poor perfusion (mottled skin, little urine). After surgery, fever with pus or
    # dizziness is a wound/abdominal sepsis until proven otherwise.
    infected = _any(found, "fever_or_hot", "infection_source")
    if infected and _any(found, "poor_perfusion", "disoriented", "confusion", "unresponsive"):
        return True
    if infected and "lethargy" in found and _any_ctx(ctx, "elderly", "baby", "child"):
        return True
    if infected and "tachy" in found and _any(found, "presyncope", "dyspnoea", "lethargy"):
        return True
    return "recent_surgery" in found and _count(found, "fever_or_hot", "infection_source", "presyncope") >= 2


def _head_injury(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Head injury: altered conscious level, vomiting, CSF leak from nose/ear, a fit, amnesia or
    # anticoagulation after a blow to the head (NICE CG176 CT criteria use the same signs).
    return "head_trauma" in found and _any(
        found, "lethargy", "confusion", "disoriented", "nausea_vomiting", "csf_leak", "unresponsive",
        "anticoagulated", "seizure_like", "seizure_signs", "presyncope", "severe_headache",
    )


def _burns(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Burns and scalds: extensive or full-thickness burns, burns of the face, hands or
    # genitals, inhalation injury (smoke + hoarse voice, soot, breathlessness) and electrical injury.
    if "burn" in found and "burn_alarm" in found:
        return True
    if "smoke_inhalation" in found and _any(
        found, "face_tongue_swelling", "dyspnoea", "headache", "nausea_vomiting", "confusion", "presyncope",
    ):
        return True
    return "electric_shock" in found and (
        _any(found, "burn", "palpitation", "presyncope", "unresponsive", "arm_symptom", "chest_discomfort",
             "confusion", "dyspnoea")
        or _any_ctx(ctx, "baby", "child")
    )


def _eye_emergency(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Eye problems: chemical injury (irrigate, then very urgent), penetrating injury, a blow to
    # the eye with loss of vision, and a red painful eye with reduced vision (acute glaucoma, keratitis).
    if ("eye_chemical" in found and "chemical" in found) or "eye_penetrating" in found:
        return True
    if "red_painful_eye" in found and _any(found, "blurred_or_lost_vision", "visual_disturbance", "nausea_vomiting"):
        return True
    return "eye_trauma" in found and _any(found, "blurred_or_lost_vision", "sudden_vision_loss", "visual_disturbance")


def _unwell_child(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Unwell child: floppy, unresponsive or no eye contact, signs of dehydration (no urine for
    # hours); MS AIDPI Criança "sinais gerais de perigo" (letárgica, não consegue beber).
    if "child" not in ctx:
        return False
    if _any(found, "dehydration", "no_eye_contact"):
        return True
    return "lethargy" in found and _any(found, "fever_or_hot", "nausea_vomiting", "dyspnoea")


def _major_trauma(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Major trauma: a significant mechanism (fall from height, run over, crash, stab or gunshot)
    # with any sign of injury to breathing, circulation or consciousness.
    return "major_mechanism" in found and _any(
        found, "dyspnoea", "hypoxia", "presyncope", "unresponsive", "bleeding_any", "lethargy", "confusion",
        "disoriented", "nausea_vomiting", "tachy", "poor_perfusion", "abdominal_pain", "pallor", "cold_sweat",
    )


def _cyanosis(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Shortness of breath / Unwell child: central cyanosis with breathing effort, drowsiness or
    # a fit.
    return "cyanosis" in found and _any(
        found, "dyspnoea", "child_respiratory_distress", "lethargy", "unresponsive", "seizure_like", "seizure_signs",
        "tachy", "hypoxia",
    )


def _thunderclap(found: Mapping[str, Finding], ctx: frozenset[str]) -> bool:
    # MTS Headache: "sudden onset" and "severe pain" (very urgent); SAMU / AHA: the worst headache
    # of one's life, sudden, is a subarachnoid haemorrhage until proven otherwise.
    if "thunderclap" in found:
        return True
    return "severe_headache" in found and _any(found, "acute_onset", "nausea_vomiting", "stiff_neck")


CONCEPT_RULES: tuple[ConceptRule, ...] = (
    ConceptRule("acs_cluster", "chest_pain",
                "sintomas compatíveis com síndrome coronariana (MTS Dor torácica: dor cardíaca)",
                _acs, _ATYPICAL_SITE + _AUTONOMIC),
    ConceptRule("obstetric_alarm", "pregnancy", "sinal de alerta na gestação/puerpério (MTS Gravidez)",
                _obstetric, ("vaginal_bleeding", "fluid_loss", "reduced_fetal_movement", "visual_disturbance",
                             "severe_headache", "seizure_like", "severe_abdominal_pain", "high_blood_pressure",
                             "sudden_swelling", "headache")),
    ConceptRule("anaphylaxis_signs", "allergy", "sinais de anafilaxia (MTS Alergia: comprometimento de via aérea)",
                _anaphylaxis, ("face_tongue_swelling", "hives", "dyspnoea", "allergen_exposure")),
    ConceptRule("child_respiratory_distress", "breathing", "esforço respiratório em criança (MTS Dispneia em criança)",
                _child_breathing, ("child_respiratory_distress",)),
    ConceptRule("unwell_baby", "fever", "bebê prostrado/desidratado/febril (MTS Bebê doente)",
                _unwell_baby, ("lethargy", "fever_or_hot", "dehydration")),
    ConceptRule("meningitis_signs", "neuro", "febre com manchas/rigidez de nuca (MTS: petéquias, meningismo)",
                _meningitis, ("purpuric_rash", "stiff_neck")),
    ConceptRule("glycaemic_emergency", "vitals", "glicemia extrema ou diabético confuso (MTS Diabetes)",
                _glycaemic, ("extreme_glucose", "confusion")),
    ConceptRule("acute_abdomen", "general", "dor abdominal intensa com sinais sistêmicos (MTS Dor abdominal)",
                _acute_abdomen, ("severe_abdominal_pain", "abdominal_pain", "abdominal_alarm")),
    ConceptRule("testicular_torsion", "general", "dor testicular (MTS Dor testicular: possível torção)",
                _torsion, ("testicular_pain",)),
    ConceptRule("acute_confusion", "neuro", "confusão aguda com sinais neurológicos (MTS Comportamento estranho)",
                _new_neuro, ("confusion",)),
    ConceptRule("suicide_warning_signs", "suicide", "sinais de alerta de suicídio (MTS Autoagressão; CVV)",
                _suicide_lay, ("passive_death_wish", "self_harm_warning")),
    ConceptRule("stroke_fast", "stroke", "déficit neurológico súbito (SAMU: escala FAST/BE-FAST)",
                _stroke, ("face_droop", "speech_disturbance", "sudden_vision_loss", "limb_weakness", "ataxia",
                          "face_numbness")),
    ConceptRule("haemorrhage_signs", "bleeding", "sangramento descontrolado ou com sinais de choque (MTS Hemorragia)",
                _haemorrhage, ("bleeding_any", "deep_wound")),
    ConceptRule("seizure_signs", "seizure", "crise convulsiva atual, repetida ou prolongada (MTS Convulsão)",
                _seizure, ("seizure_signs", "seizure_like")),
    ConceptRule("altered_consciousness", "unconscious", "nível de consciência alterado (MTS Adulto em colapso)",
                _altered_consciousness, ("unresponsive",)),
    ConceptRule("poisoning_signs", "poisoning", "ingestão/exposição tóxica (MTS Intoxicação; CIATox)",
                _poisoning, ("toxic_ingestion", "toxic_exposure")),
    ConceptRule("sudden_severe_pain", "general", "dor intensa de início súbito (MTS: dor intensa, início abrupto)",
                _sudden_severe_pain, ("sudden_severe_pain", "tearing_pain", "cold_pale_limb")),
    ConceptRule("arrhythmia_signs", "chest_pain", "palpitação com pré-síncope/dispneia (MTS Palpitações)",
                _arrhythmia, ("palpitation",)),
    ConceptRule("thrombosis_signs", "breathing",
                "perna inchada e dolorida após imobilidade ou com falta de ar (MTS Problemas em membros)",
                _thrombosis, ("swollen_painful_leg",)),
    ConceptRule("orthopnoea", "breathing", "falta de ar em repouso/deitado (MTS Dispneia)",
                _heart_failure, ("orthopnoea",)),
    ConceptRule("febrile_immunosuppressed", "fever",
                "febre em paciente imunossuprimido/quimioterapia (MTS Adulto doente: neutropenia febril)",
                _febrile_immunosuppressed, ("fever_or_hot",)),
    ConceptRule("hypoxia_signs", "breathing", "saturação baixa ou estridor (MTS Dispneia)",
                _hypoxia, ("hypoxia",)),
    ConceptRule("acute_delirium", "neuro", "confusão de início agudo/delírio (MTS Comportamento estranho)",
                _delirium, ("disoriented", "confusion")),
    ConceptRule("sepsis_signs", "fever", "infecção com sinais de choque ou confusão (MTS Adulto doente; ILAS sepse)",
                _sepsis, ("poor_perfusion", "fever_or_hot", "infection_source")),
    ConceptRule("head_injury_signs", "injury", "trauma de crânio com sinal de alerta (MTS Trauma craniano)",
                _head_injury, ("head_trauma",)),
    ConceptRule("burn_signs", "injury", "queimadura extensa, inalação de fumaça ou choque elétrico (MTS Queimaduras)",
                _burns, ("burn", "smoke_inhalation", "electric_shock")),
    ConceptRule("eye_emergency", "injury", "lesão química ou trauma ocular com perda de visão (MTS Problemas oculares)",
                _eye_emergency, ("eye_chemical", "eye_trauma")),
    ConceptRule("unwell_child", "fever", "criança prostrada/desidratada/sem contato visual (MTS Criança doente)",
                _unwell_child, ("lethargy", "dehydration", "no_eye_contact")),
    ConceptRule("major_trauma", "injury", "mecanismo de trauma importante com sinal de alerta (MTS Trauma maior)",
                _major_trauma, ("major_mechanism",)),
    ConceptRule("cyanosis_signs", "breathing", "cianose com esforço respiratório ou sonolência (MTS Dispneia)",
                _cyanosis, ("cyanosis",)),
    ConceptRule("thunderclap_headache", "neuro", "cefaleia súbita e intensa, a pior da vida (MTS Cefaleia)",
                _thunderclap, ("thunderclap", "severe_headache")),
)
