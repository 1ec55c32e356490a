"""Neurological and mental findings (MTS Headache, Fits, Behaving strangely, Mental illness /
Self-harm; SAMU FAST/BE-FAST), and the onset markers.

Single clinical findings as regular expressions over normalized text (lowercase, no accents,
abbreviations expanded); `concepts.py` combines them into discriminators. Names are stable codes
(they appear in the handoff note).
"""

from __future__ import annotations

import re

from clinic_nlu.concept_vocab import SUDDEN as _SUDDEN
from clinic_nlu.concept_vocab import VERY as _VERY
from clinic_nlu.concept_vocab import rx as _rx

FINDINGS_NEURO: dict[str, re.Pattern[str]] = {
    "confusion": _rx(
        r"confus[oa]",
        r"desorientad\w+", r"delirando", r"delirio\w*",
        r"(?:falando|fala)\s+(?:\w+\s+)?(?:coisa\s+com\s+coisa|sem\s+sentido|besteira|enrolad\w+)",
        r"nao\s+(?:reconhece|sabe\s+onde\s+esta|fala\s+coisa)",
        r"(?:estranh[oa]|aerea|aereo|grogue|lent[oa])\s+(?:\w+\s+)?" + _SUDDEN,
    ),
    "trembling": _rx(r"tremend\w*", r"tremedeira", r"treme\w*\s+(?:\w+\s+)?(?:todo|toda|inteiro)"),
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
        r"dor\s+de\s+cabeca\s+(?:\w+\s+)?explosiva",
        r"dor\s+de\s+cabeca\s+(?:\w+\s+){0,4}?(?:a\s+)?pior\s+que\s+(?:eu\s+|ela\s+|ele\s+)?(?:ja\s+)?(?:senti|sentiu|tive|teve)",
    ),
    "visual_disturbance": _rx(
        r"(?:vendo|enxergando|aparecendo)\s+(?:uns\s+|umas\s+)?(?:pontinhos|pontos|estrelinhas|estrelas|luzes|brilhos?|"
        r"mosquinhas|flashes|manchas|borr\w+)",
        r"(?:pontinhos|pontos|luzes|estrelinhas|mosquinhas|flashes)\s+(?:\w+\s+)?(?:brilhantes\s+)?(?:na|nos)\s+(?:vista|olhos?)",
        r"(?:visao|vista)\s+(?:\w+\s+)?(?:embacad\w*|turv\w*|borrad\w*|escur\w*|dupla|estranh\w*|falhando|sumindo)",
        r"(?:enxergando|vendo)\s+(?:\w+\s+)?(?:embacado|borrado|turvo|dobrado|duplo|mal)",
    ),
    "seizure_like": _rx(
        r"convuls\w*", r"se\s+debatend\w*", r"olhos?\s+revirad\w*", r"revirando\s+os\s+olhos",
        r"espuma\w*\s+(?:pela|na)\s+boca",
    ),
    "stiff_neck": _rx(
        r"(?:pescoco|nuca)\s+(?:\w+\s+)?(?:dur[oa]|rigid[oa]|travad[oa]|nao\s+dobra|nao\s+mexe)",
        r"(?:rigidez|duro|dura|travad\w+)\s+(?:n[ao]\s+)?(?:nuca|pescoco)",
        r"nao\s+(?:consegue|consigo)\s+(?:\w+\s+)?(?:encostar|dobrar|abaixar)\s+(?:o\s+)?(?:queixo|pescoco|cabeca)",
        r"nao\s+(?:consegue|consigo|da\s+pra)\s+(?:\w+\s+)?(?:mexer|virar|movimentar)\s+(?:o\s+)?pescoco",
        r"(?:levant\w+|dobr\w+|abaix\w+|mex\w+)\s+(?:\w+\s+)?(?:a\s+)?cabeca\s+(?:\w+\s+){0,3}?(?:chora|grita|berra|"
        r"dobra\s+os\s+joelhos|doi)",
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
        # "fiquei sem enxergar" tells an onset; "sem enxergar nada do olho esquerdo" one eye gone
        # ("sem enxergar direito de perto" is a reading-glasses matter and stays out)
        r"(?:fiquei|ficou)\s+(?:\w+\s+){0,2}?sem\s+enxergar(?!\s+direito\s+de\s+(?:perto|longe))",
        r"sem\s+enxergar\s+nada\s+(?:d[oe]|com\s+o)\s+(?:um\s+)?olho",
    ),
    "ataxia": _rx(
        r"nao\s+(?:consigo|consegue)\s+(?:\w+\s+)?(?:andar\s+reto|ficar\s+de\s+pe|me\s+equilibrar|se\s+equilibrar)",
        r"cambaleando",
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
        r"(?:penso|pensando|pensei|pensou|pensa|vontade|planejando|planejei|quero|queria)\s+(?:\w+\s+)?em\s+(?:me\s+|se\s+)?"
        r"(?:jogar|pular|atirar)\s+(?:\w+\s+){0,3}?(?:d[ao]s?|de|na\s+frente|com|pela|janela|predio|ponte|viaduto|laje)",
        r"(?:penso|pensando|pensei|pensou|vontade|planejando|planejei)\s+(?:\w+\s+)?em\s+(?:me\s+|se\s+)?(?:enforcar|envenenar|"
        r"cortar\s+os\s+pulsos|tomar\s+(?:todos|tudo|todas))",
        r"(?:obrigad[oa]\s+por\s+tudo|nao\s+vou\s+(?:mais\s+)?precisar\s+mais)\W+(?:\w+\W+){0,4}?adeus",
        r"adeus\s+(?:\w+\s+){0,2}?(?:pra\s+sempre|para\s+sempre)",
        r"(?:ja\s+)?decidi\s+(?:\w+\s+){0,3}?(?:to|estou|fiquei)\s+em\s+paz",
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
        r"hoje\s+(?:de\s+manha\s+|cedo\s+)?(?:\w+\s+)?(?:acordou|amanheceu|ficou)",
        r"(?:acordou|amanheceu)\s+(?:\w+\s+)?(?:confus\w+|estranh\w+|diferente|sem\s+saber|delirando)",
        r"(?:faz|ha)\s+(?:1|2|um|dois|uns\s+dois)\s+dias?\s+que\s+(?:\w+\s+){0,3}?(?:ta|esta)\s+(?:\w+\s+)?(?:diferente|estranh\w+)",
        _SUDDEN,
    ),
}
