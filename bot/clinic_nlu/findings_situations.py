"""Findings of pregnancy, babies and children, the abdomen, metabolism, poisoning and injuries
(MTS Pregnancy, Unwell baby/child, Abdominal pain, Diabetes, Overdose and poisoning, Head injury,
Burns and scalds, Eye problems, Major trauma).

Single clinical findings as regular expressions over normalized text (lowercase, no accents,
abbreviations expanded); `concepts.py` combines them into discriminators. Names are stable codes
(they appear in the handoff note).
"""

from __future__ import annotations

import re

from clinic_nlu.concept_vocab import SUDDEN as _SUDDEN
from clinic_nlu.concept_vocab import VERY as _VERY
from clinic_nlu.concept_vocab import rx as _rx

FINDINGS_SITUATIONS: dict[str, re.Pattern[str]] = {
    # MTS Diabetes: hyperglycaemia (thirst, polyuria, weight loss) with vomiting or deep breathing: DKA
    "hyperglycaemia_signs": _rx(
        r"(?:muita|muito)\s+sede", r"bebendo\s+(?:muita|demais)\s+agua", r"(?:fazendo|faz)\s+muito\s+xixi",
        r"muito\s+xixi",
    ),
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
        r"barriga\s+(?:\w+\s+)?(?:endurec\w+|ficando\s+dura|fica\s+dura)\s+(?:\w+\s+){0,3}?(?:de\s+\d+\s+em\s+\d+|"
        r"toda\s+hora|a\s+cada|com\s+dor|ritmad\w+)",
        r"(?:colica|colicas|contracao|contracoes)\s+(?:\w+\s+){0,2}?(?:" + _VERY
        + r"|de\s+\d+\s+em\s+\d+|sem\s+parar|ritmad\w+)",
    ),
    # profuse losses (MTS Diarrhoea and vomiting): diarrhoea or vomiting that does not stop
    "profuse_losses": _rx(
        r"(?:diarreia|vomit\w+|coco\s+(?:mole|liquido))\s+(?:\w+\s+){0,2}?(?:sem\s+parar|toda\s+hora|"
        r"o\s+dia\s+(?:todo|inteiro)|a\s+noite\s+(?:toda|inteira)|de\s+\d+\s+em\s+\d+)",
        r"nao\s+(?:para|parou|paro|parei)\s+de\s+(?:vomitar|evacuar|ir\s+(?:ao|no|pro)\s+banheiro)",
        r"(?:\d{1,2}|dez|oito|nove|doze|varias|muitas)\s+vezes\s+(?:no|ao|pro)\s+banheiro",
    ),
    # cannot keep fluids down (MTS Diarrhoea and vomiting; MS "Plano C": unable to drink)
    "cannot_keep_fluids": _rx(
        r"(?:nao|nem)\s+(?:\w+\s+)?(?:consigo|consegue|conseguindo|conseguiu|para|parando)\s+(?:\w+\s+)?"
        r"(?:beber|tomar|segurar)\s+(?:nem\s+|um\s+gole\s+de\s+)?(?:agua|liquido\w*|soro|nada)",
        r"(?:vomit\w+|volta|bota\s+(?:pra|para)\s+fora)\s+(?:\w+\s+){0,2}?(?:ate\s+)?(?:a\s+|o\s+)?(?:agua|soro)",
        r"tudo\s+que\s+(?:bebe|bebo|toma|tomo)\s+(?:\w+\s+)?(?:volta|vomit\w+|bota)",
        r"(?:vomit\w+|botando\s+(?:pra|para)\s+fora)\s+tudo\s+que\s+(?:bebe|bebo|toma|tomo)",
        r"nem\s+(?:a\s+)?agua\s+(?:para|parou|fica|ficou)",
    ),
    # dehydration in a baby (MTS Unwell baby; MS AIDPI: no wet nappy for hours, crying without tears)
    "dehydration": _rx(
        r"sem\s+(?:molhar|fazer)\s+(?:a\s+)?(?:fralda|xixi)",
        r"(?:nao|nem)\s+(?:\w+\s+)?(?:molha|molhou|molhando)\s+(?:a\s+)?fralda",
        r"chora\w*\s+sem\s+lagrimas?",
        r"(?:\d{1,2}|dez|oito|nove|doze|varias|muitas)\s+(?:vezes\s+)?(?:diarreias?|evacuac\w+|coco\s+mole)\s+(?:\w+\s+)?(?:hoje|hj|no\s+dia|desde)",
        r"lingu\w+\s+(?:\w+\s+)?seca", r"perdeu\s+(?:muito\s+)?peso\s+(?:\w+\s+){0,4}?(?:diarreia|vomit\w+)",
        r"(?:diarreia|vomit\w+)\s+(?:\w+\s+){0,6}?perdeu\s+(?:muito\s+)?peso",
        r"fralda\s+(?:\w+\s+)?seca\s+(?:ha|faz|desde)",
        r"(?:nao|sem)\s+(?:\w+\s+)?(?:faz|fez|fazer|fazendo)\s+xixi\s+(?:ha|faz|desde|tem)\s+",
        r"(?:ha|faz)\s+(?:\d+|umas?|doze|dez|oito)\s+horas\s+(?:\w+\s+)?sem\s+(?:fazer\s+)?xixi",
        r"(?:hoje|hj|desde\s+ontem)\s+(?:\w+\s+)?(?:nao|sem)\s+(?:fiz|fez|faz|fazer)\s+xixi",
        r"sem\s+urinar", r"nao\s+(?:\w+\s+)?(?:urina|urinou|urinando)",
    ),
    # drowsiness proper (a narrower sign than "lethargy", which also holds "mole" and "largado")
    "drowsy": _rx(r"sonolent\w+", r"(?:dormindo|dorme)\s+(?:\w+\s+)?(?:demais|o\s+tempo\s+todo|sem\s+parar)",
                  r"(?:nao|mal)\s+(?:\w+\s+)?(?:acorda|acordando|abre\s+os\s+olhos)"),
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
        r"(?:tom\w+|beb\w+|engol\w+)\s+(?:\w+\s+){0,3}?(?:o\s+|a\s+|um\s+)?(?:xarope|remedio|vidro|frasco|cartela|caixa|"
        r"garrafa)\s+(?:\w+\s+){0,3}?(?:inteir[oa]|tod[oa])",
        r"(?:o\s+vidro|o\s+frasco|a\s+cartela|a\s+caixa)\s+(?:inteir[oa]|tod[oa])",
        r"(?:tom\w+|beb\w+|engol\w+)\s+(?:\w+\s+){0,3}?(?:querosene|gasolina|thinner|solvente|soda|agua\s+sanitaria|"
        r"alvejante|desinfetante|desentupidor|limpa\s*-?\s*forno|produto\s+de\s+limpeza|veneno|removedor|amonia)",
        r"(?:tom\w+|engol\w+)\s+(?:\w+\s+){0,2}?(?:um\s+monte|varios|varias|muitos|muitas|a\s+cartela|uma\s+cartela|o\s+vidro|"
        r"a\s+caixa|uma\s+caixa|o\s+frasco|\d{2,})\s+(?:de\s+|do\s+|da\s+)?\w+",
        # an insulin dose taken twice or doubled (MTS Diabetes / Overdose: hypoglycaemia risk)
        r"insulina\s+(?:\w+\s+){0,2}?(?:duas\s+vezes|2\s+vezes|dobrad\w+|em\s+dobro|a\s+mais)",
        r"(?:dose\s+)?(?:dupla|dobrada|em\s+dobro)\s+de\s+insulina",
    ),
    "swallowed_object": _rx(
        r"engol\w+\s+(?:\w+\s+){0,2}?(?:uma\s+|um\s+|a\s+|o\s+)?(?:moeda|bateria|pilha|ima|brinquedo|peca|pecinha|prego|"
        r"tampinha|bolinha|espinha|osso|alfinete|brinco|botao)",
    ),
    "cannot_swallow": _rx(
        r"nao\s+(?:consegue|consigo|ta\s+conseguindo|esta\s+conseguindo)\s+(?:\w+\s+)?engolir",
        r"babando", r"engasgad\w+",
    ),
    "cholinergic": _rx(
        r"babando", r"salivando\s+(?:muito|demais)", r"baba\w*\s+(?:muito|demais)",
        r"pupila\w*\s+(?:pequen\w+|contraid\w+)",
    ),
    # acute abdomen (MTS Abdominal pain in adults: severe pain, vomiting, signs of peritonism)
    "abdominal_pain": _rx(
        r"(?:dor|dores|colica\w*|doendo|pontada\w*)\s+(?:\w+\s+){0,4}?(?:barriga|abdomen|ventre|estomago|pe\s+da\s+barriga|"
        r"lado\s+direito|lado\s+esquerdo|flanco|costas\s+do\s+lado|rins?)",
        # "uma dor horrível de um lado só" (not a headache: "dor de cabeça de um lado")
        r"(?:dor|dores|colica\w*|pontada\w*)\s+(?:" + _VERY + r"\s+)?de\s+um\s+lado(?:\s+so)?",
        r"(?:barriga|abdomen)\s+(?:\w+\s+)?(?:doendo|doi|dura|inchad\w+|estufad\w+)",
    ),
    # MTS general discriminator "severe pain" (7-10 of 10): pain that stops the patient standing,
    # walking or sleeping, or makes them writhe or cry, told without a number
    "disabling_pain": _rx(
        r"nao\s+(?:me\s+|te\s+|lhe\s+)?deixa\s+(?:eu\s+|ele\s+|ela\s+)?(?:nem\s+)?(?:ficar\s+(?:em|de)\s+pe|"
        r"ficar\s+(?:sentad\w+|deitad\w+|parad\w+)|andar|levantar|dormir|respirar|me\s+mexer|se\s+mexer)",
        r"nao\s+(?:consigo|consegue|conseguia|conseguiu|to\s+conseguindo|esta\s+conseguindo)\s+(?:nem\s+)?"
        r"(?:ficar\s+(?:em|de)\s+pe|andar|levantar|me\s+mexer|se\s+mexer|endireitar)\s+de\s+(?:tanta\s+)?dor",
        r"(?:me|se)\s+(?:contorcendo|contorcer|retorcendo|dobrando|curvando)\s+de\s+dor",
        r"(?:dor|doi|doendo)\s+(?:\w+\s+){0,3}?(?:me|te|o|a)\s+(?:dobra|dobrou|derruba|derrubou)",
        r"nao\s+(?:consigo|consegue)\s+(?:nem\s+)?sair\s+da\s+cama",
        r"(?:chorando|gritando|urrando|berrando|gemendo|rolando)\s+de\s+dor",
        r"dor\s+(?:\w+\s+){0,4}?(?:insuportavel|absurda|lancinante|que\s+nunca\s+senti)",
        r"nao\s+aguent\w+\s+(?:mais\s+)?(?:de\s+)?(?:tanta\s+)?dor",
        r"dor\s+(?:nivel\s+|nota\s+)?(?:10|dez)\b",
    ),
    "abdominal_alarm": _rx(
        r"vomit\w+\s+(?:\w+\s+)?(?:sem\s+parar|verde|tudo|o\s+tempo\s+todo|muito)",
        r"(?:nao|nem)\s+(?:paro|para|parou|consigo\s+parar|consegue\s+parar)\s+de\s+vomitar",
        r"sem\s+(?:evacuar|fazer\s+coco)", r"nao\s+(?:\w+\s+)?evacu\w+",
        r"intestino\s+(?:\w+\s+)?(?:preso|parado|travado)",
        r"qualquer\s+(?:movimento|mexida|passo)\s+(?:\w+\s+)?(?:doi|doe|doendo|piora)",
        r"doi\s+(?:ate\s+)?(?:pra|para|ao|de)\s+(?:andar|pisar|tossir|respirar\s+fundo)",
        r"nao\s+(?:\w+\s+)?(?:faco|faz|fiz|fez|consigo\s+fazer)\s+coco",
        r"(?:nem|nao)\s+(?:solto|solta|soltei)\s+gases",
        r"nao\s+(?:consigo|consegue)\s+(?:\w+\s+)?(?:esticar|endireitar|ficar\s+ret\w+)",
        r"nao\s+(?:acho|acha|encontro)\s+(?:uma\s+)?posicao",
        r"barriga\s+(?:\w+\s+){0,2}?(?:dura|rigida|travada|estufad\w+)",
        r"piorando\s+(?:\w+\s+)?(?:desde|cada\s+vez)",
        r"andando\s+(?:\w+\s+)?(?:curvad\w+|dobrad\w+|tort\w+)",
        r"(?:nao|nem)\s+(?:consigo|consegue)\s+(?:nem\s+)?(?:andar|ficar)\s+(?:ret[oa]|direit[oa]|em\s+pe)",
        r"olhos?\s+(?:\w+\s+){0,2}?amarel\w+", r"pele\s+(?:\w+\s+)?amarel\w+",
        r"(?:coco|fezes)\s+(?:\w+\s+){0,3}?(?:geleia|com\s+sangue|vermelh\w+)",
        r"encolhendo\s+(?:as\s+)?(?:pernas|perninhas)",
        r"(?:curvad\w+|dobrad\w+)\s+de\s+dor",
    ),
    # MTS Major trauma: a significant mechanism of injury
    "major_mechanism": _rx(
        # "caiu de cima de um andaime": up to four words between the fall and the height
        r"(?:caiu|despencou|despencar)\s+(?:\w+\s+){0,4}?(?:andaime|telhado|laje|muro|arvore|segundo\s+andar|"
        r"terceiro\s+andar|altura)",
        r"atropelad\w+", r"capot\w+", r"(?:batida|acidente)\s+de\s+(?:carro|moto|transito|onibus)",
        r"esfaquead\w+", r"facada", r"balead\w+", r"(?:levou|tomou)\s+(?:um\s+)?tiro",
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
        r"queimad\w+", r"queimou", r"queimei", r"queimar", r"queimando", r"queimaram", r"escald\w+",
        r"(?:oleo|agua|cafe|leite|sopa|panela)\s+(?:\w+\s+)?(?:quente|fervendo)\s+(?:\w+\s+){0,3}?(?:n[oa]s?|em\s+cima|"
        r"pel[oa]|sobre)",
        r"derramou\s+(?:\w+\s+){0,2}?(?:oleo|agua\s+fervendo|cafe)",
        r"pegou\s+fogo", r"soda\s+caustica",
        r"acido\s+(?:\w+\s+){0,3}?(?:no|na|nos|nas)\s+(?:rosto|cara|pele|braco|perna|mao)",
    ),
    "burn_alarm": _rx(
        r"bolhas?", r"pele\s+(?:\w+\s+)?(?:saindo|soltando|descascando|branca|preta|soltou|saiu|descolou|desgrudou)",
        r"pegou\s+fogo\s+(?:n[ao]s?|em)\s+(?:roupa|cabelo|corpo|perna|braco)",
        r"(?:as\s+duas|ambas\s+as)\s+(?:pernas|maos|bracos)",
        r"(?:perna|braco|costas|barriga|peito)\s+(?:tod[oa]|inteir[oa])",
        r"(?:no|na)\s+(?:rosto|cara|pescoco|genitais|boca)",
        # two body regions burnt at once: "no braço e na barriga", "perna e barriga"
        r"(?:braco|perna|barriga|peito|costas|mao)\s+e\s+(?:n[ao]\s+)?(?:braco|perna|barriga|peito|costas|rosto)",
    ),
    "smoke_inhalation": _rx(r"fumaca", r"incendio", r"fuligem", r"tossindo\s+preto", r"escarro\s+preto"),
    "electric_shock": _rx(
        r"(?:levou|tomou|levei|tomei)\s+(?:um\s+)?choque", r"choque\s+(?:eletrico|na\s+tomada|no\s+fio)",
        r"fio\s+desencapado", r"alta\s+tensao", r"(?:atingid\w+\s+por|caiu)\s+(?:um\s+)?raio", r"descarga\s+eletrica",
    ),
    # MTS Eye problems: chemical injury, penetrating injury, sudden loss of vision
    "eye_chemical": _rx(
        r"(?:cai\w*|espirr\w+|entr\w+|jog\w+|respingo\w*|respingou|pingou|passou)\s+(?:\w+\s+){0,4}?(?:no|nos|dentro\s+do)\s+"
        r"(?:meu\s+|seu\s+|teu\s+)?olhos?",
        r"olhos?\s+(?:\w+\s+){0,3}?(?:desinfetante|agua\s+sanitaria|cloro|soda|acido|alvejante|cal\b|cimento|produto)",
        r"colou\s+(?:o\s+|os\s+)?olhos?",
        r"(?:acido|soda|cloro|agua\s+sanitaria|alvejante|cal)\s+(?:\w+\s+){0,5}?(?:no|na|nos)\s+(?:rosto|cara|olhos?)",
    ),
    "chemical": _rx(
        r"cola\s+(?:instantanea|super\s+bonder)", r"super\s+bonder",
        r"desinfetante", r"agua\s+sanitaria", r"cloro", r"soda", r"acido", r"alvejante", r"\bcal\b", r"cimento",
        r"produto\s+de\s+limpeza", r"removedor", r"solvente", r"limpa\s*-?\s*forno", r"desentupidor",
        r"querosene", r"gasolina", r"thinner", r"amonia",
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
