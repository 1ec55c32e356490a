"""Findings of the chest, breathing, circulation, allergy and bleeding (MTS Chest pain, Shortness
of breath, Allergy, Haemorrhage, Unwell adult / sepsis).

Single clinical findings as regular expressions over normalized text (lowercase, no accents,
abbreviations expanded); `concepts.py` combines them into discriminators. Names are stable codes
(they appear in the handoff note).
"""

from __future__ import annotations

import re

from clinic_nlu.concept_vocab import SUDDEN as _SUDDEN
from clinic_nlu.concept_vocab import VERY as _VERY
from clinic_nlu.concept_vocab import rx as _rx

FINDINGS_CIRCULATION: dict[str, re.Pattern[str]] = {
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
                           r"vomit\w*", r"golf\w*", r"enjoad\w*",
                           # lay "threw everything up": "botei/coloquei tudo pra fora"
                           r"(?:bot|coloc|pus|pos|por|pondo)\w*\s+tudo\s+(?:pra|para)\s+fora"),
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
        r"afund\w+\s+(?:\w+\s+){0,3}?(?:costela\w*|costelinha\w*|pescoco|peito|barriga|barriguinha)",
        r"respira\w*\s+(?:\w+\s+)?(?:muito\s+)?(?:rapid\w*|rapidinho|acelerad\w*|ofegante|gemendo|pesad\w*|com\s+barulho)",
        r"(?:gemendo|gemido)\s+(?:\w+\s+)?(?:para|pra|ao)\s+respirar",
        r"respira\w*\s+(?:\w+\s+){0,4}?(?:um\s+|uns\s+)?(?:gemid\w+|gemendo|grunhid\w+)",
        r"(?:barriga|barriguinha|peito)\s+(?:\w+\s+)?sobe\s+e\s+desce\s+(?:muito|rapido|demais|forte)",
        r"(?:narinas?|nariz\w*)\s+(?:\w+\s+)?(?:abrindo|mexendo|batendo)",
        r"cabe\w+\s+(?:\w+\s+)?balanc\w+\s+(?:\w+\s+)?(?:pra|para|ao)\s+respirar",
        r"chiado\s+(?:\w+\s+)?(?:forte|alto|no\s+peito)|chiando\s+(?:muito|forte)",
        r"cansad\w*\s+(?:para|pra|de)\s+respirar",
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
    "haematemesis": _rx(
        r"vomit\w+\s+(?:\w+\s+){0,4}?(?:sangue|borra\s+de\s+cafe)", r"borra\s+de\s+cafe",
        r"vomit\w+\s+(?:\w+\s+){0,3}?(?:preto|escuro|escura)\s+(?:\w+\s+)?(?:tipo|como|parecendo)\s+(?:\w+\s+)?(?:borra|cafe)",
    ),
    # weakness said plainly ("tô fraco") with a bleeding: a sign of shock (MTS Haemorrhage)
    "weakness": _rx(r"(?:to|ta|tou|estou|esta|fiquei|ficou|muito|bem|tao)\s+frac[oa]", r"fraqueza"),
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
    # MTS Unwell adult / sepsis (ILAS, Sepsis-3 qSOFA): signs of poor perfusion or shock
    # MTS Shortness of breath / Unwell child: central cyanosis
    "cyanosis": _rx(
        r"(?:cor|pele|labios?|boca|boquinha|rosto|dedos?|unhas?)\s+(?:\w+\s+){0,2}?(?:acinzentad\w+|cinza|roxa|roxo|"
        r"roxinh\w+|arroxead\w+|azulad\w+)",
        r"ficando\s+(?:\w+\s+)?(?:roxo|roxa|roxinh\w+|azul\w*|cinza)",
    ),
    "poor_perfusion": _rx(
        r"pele\s+(?:\w+\s+){0,3}?(?:pintad\w+|manchad\w+|marmorizad\w+|rendad\w+|arroxead\w+)",
        r"pressao\s+(?:\w+\s+){0,2}?(?:[4-8]\s*(?:por|x|/)\s*\d|muito\s+baixa|baixa\s+demais|caiu|baixou|nao\s+marca)",
        r"(?:ta|esta|ficou|muito)\s+gelad[oa]",
        r"(?:pouco|quase\s+(?:nao|sem))\s+(?:(?:faz(?:endo)?|faco|fiz|fez)\s+)?xixi",
    ),
    "tachy": _rx(
        r"coracao\s+(?:\w+\s+){0,2}?(?:muito\s+)?(?:acelerad\w+|disparad\w+|a\s+mil)",
        r"respira\w*\s+(?:\w+\s+){0,2}?(?:muito\s+)?(?:rapid\w+|acelerad\w+)",
    ),
    "infection_source": _rx(
        r"infec\w+", r"pus\b", r"antibiotic\w+", r"pneumonia", r"sonda\b", r"cicatriz\s+(?:\w+\s+){0,3}?(?:vermelh\w+|"
        r"quente|abriu|soltando|vazando)", r"xixi\s+(?:\w+\s+){0,3}?(?:cheiro\s+forte|escuro|com\s+pus)",
    ),
}
