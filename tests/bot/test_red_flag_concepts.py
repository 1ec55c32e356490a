"""Red flags as clinical concepts (clinic_nlu.concepts via red_flags.detect) and figurative speech.

Each concept has wordings that name no trigger phrase and still must fire, and look-alikes that
share its words and must not. Written for these tests; none is copied from bot/eval.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from clinic_nlu import concepts
from clinic_nlu.figurative import mask_figurative
from clinic_nlu.normalize import normalize
from clinic_nlu.red_flags import assess, describe, detect


def codes(text: str) -> set[str]:
    return {f.code for f in detect(text)}


FIRES: list[tuple[str, str]] = [
    # acute coronary syndrome without "dor no peito" (MTS Chest pain: cardiac pain)
    ("acs_cluster", "meu marido é diabetico, ta suando frio, enjoado e reclamando que o braço ta pesado"),
    ("acs_cluster", "minha mae de 68 anos ficou palida, suando e com uma canseira do nada"),
    ("acs_cluster", "doi o queixo e o braco esquerdo desde que acordei"),
    ("acs_cluster", "uma dor que sobe pro queixo quando ando, to meio enjoado"),
    ("acs_cluster", "sensação de peso no meio do peito e um suadouro frio"),
    # acute delirium in an older person (MTS Behaving strangely: acute onset)
    ("acute_delirium", "meu avô de 83 anos desde ontem à noite não sabe onde está e fica chamando a mãe dele"),
    ("acute_delirium", "a vovó amanheceu falando coisa sem nexo, ontem tava normal"),
    # sepsis (MTS Unwell adult; ILAS): infection with poor perfusion or confusion
    ("sepsis_signs", "meu pai ta com infecção no pulmão, febre alta, e hoje a pressão deu 7 por 4"),
    ("sepsis_signs", "operei o joelho semana passada, hoje to com febre e a cicatriz ta vazando pus"),
    # head injury with an alarm sign (MTS Head injury)
    ("head_injury_signs", "meu filho bateu a cabeça na quina da mesa e já vomitou duas vezes"),
    ("head_injury_signs", "minha mãe caiu semana passada e bateu a testa, e hoje ta cada vez mais sonolenta"),
    # burns, inhalation and electrical injury (MTS Burns and scalds)
    ("burn_signs", "derramei agua fervendo na barriga do meu filho, formou umas bolhas enormes"),
    ("burn_signs", "meu marido levou um choque no fio da obra e ta com o coração batendo estranho e tonto"),
    # eye problems (MTS Eye problems)
    ("eye_emergency", "caiu agua sanitaria no olho do meu neto enquanto eu limpava o banheiro"),
    ("eye_emergency", "entrou um caco de vidro no olho do meu marido na oficina"),
    # unwell child (MTS Unwell child)
    ("unwell_child", "meu filho de 4 anos ta vomitando desde cedo e já faz 10 horas sem fazer xixi"),
    ("unwell_child", "minha menina de 5 anos ta molinha, com febre e não quer nem levantar do sofá"),
    # thunderclap headache (MTS Headache: sudden, worst ever)
    ("thunderclap_headache", "senti um estalo na cabeça levantando peso e agora uma dor que não aguento"),
    ("thunderclap_headache", "a pior dor de cabeça da minha vida começou agora do nada"),
    # major trauma (MTS Major trauma: significant mechanism)
    ("major_trauma", "meu primo caiu do telhado e ta com falta de ar e muito pálido"),
    ("major_trauma", "o pedreiro despencou lá de cima da laje, tá com a respiração curta"),
    # cyanosis with breathing effort (MTS Shortness of breath)
    ("cyanosis_signs", "meu bebê ta com a boquinha roxa e respirando com esforço, as costelinhas afundando"),
    # obstetric alarms (MTS Pregnancy), any gestational age, and the puerperium
    ("obstetric_alarm", "to de 12 semanas e desceu um pouco de sangue agora"),
    ("obstetric_alarm", "gravida de 7 meses, molhei a calcinha toda de um liquido transparente"),
    ("obstetric_alarm", "estou de 33 semanas e o neném quase não mexeu hoje"),
    ("obstetric_alarm", "gestante, cabeça latejando muito e vendo umas luzinhas... digo, vendo pontinhos brilhantes"),
    ("obstetric_alarm", "tive o bebe faz 10 dias e to com febre alta e calafrio"),
    # anaphylaxis (MTS Allergy)
    ("anaphylaxis_signs", "comi camarao e minha boca ta formigando e inchando"),
    ("anaphylaxis_signs", "levei uma ferroada de vespa, to cheio de placas vermelhas pelo corpo e meio tonto"),
    # children and babies (MTS Shortness of breath in children, Unwell baby)
    ("child_respiratory_distress", "meu filho de 2 anos ta com as costelinhas afundando quando respira"),
    ("unwell_baby", "meu bebe de 1 mes ta molinho e nao quer mamar"),
    ("unwell_baby", "recem nascido de 20 dias bem quentinho"),
    ("meningitis_signs", "minha filha ta com febre e umas pintinhas roxas na perna que nao somem quando aperta"),
    # stroke (SAMU FAST)
    ("stroke_fast", "meu pai ta com a comida caindo pelo canto da boca"),
    ("stroke_fast", "minha tia de repente não acha as palavras"),
    ("stroke_fast", "do nada meu avo ta arrastando uma perna e meio confuso"),
    ("stroke_fast", "de repente to enxergando tudo dobrado"),
    # BE-FAST: a numb half of the face, the side named (not explained by a dental anaesthetic)
    ("stroke_fast", "nao sinto o lado esquerdo do rosto e o braço ta fraco"),
    ("stroke_fast", "o lado esquerdo da cara ficou dormente de repente"),
    # haemorrhage, seizure, consciousness, poisoning
    ("haemorrhage_signs", "o nariz sangrando faz 30 minutos e nao para, tomo xarelto"),
    ("haemorrhage_signs", "tirei o siso ontem e a boca ta sangrando muito"),
    ("seizure_signs", "minha sobrinha epilética ta tendo uma crise atrás da outra"),
    ("seizure_signs", "ele teve convulsão agora, já passou mas ta sonolento"),  # post-ictal: still urgent
    ("altered_consciousness", "minha avo ta de olho aberto mas nao reage a nada"),
    ("poisoning_signs", "meu filho de 3 anos engoliu a pilha de botao do controle"),
    ("poisoning_signs", "tomei o remedio da minha mae por engano"),
    ("poisoning_signs", "ele mexeu com agrotóxico e ta babando e tremendo"),
    # diabetes (MTS Diabetes: hypo/hyperglycaemia with altered consciousness)
    ("glycaemic_emergency", "meu pai é diabetico e ta confuso, tremendo e suando"),
    ("glycaemic_emergency", "a glicemia da minha mae deu 32 agora"),
    ("acute_confusion", "meu avô acordou confuso e com a vista escurecendo"),
    # abdomen, sudden severe pain, hypoxia, testis
    ("acute_abdomen", "dor na barriga e nao consigo ficar reto, vomitando tudo"),
    ("acute_abdomen", "barriga dura e doendo, sem fazer coco e com vomito"),
    ("sudden_severe_pain", "deu uma dor fortissima nas costas de repente, tipo rasgando"),
    ("sudden_severe_pain", "a perna dele ta gelada, branca e doendo"),
    ("arrhythmia_signs", "coração batendo muito rapido e to ficando com a vista escura"),
    ("arrhythmia_signs", "to sentindo o coração bater muito rapido e vou apagar"),
    ("arrhythmia_signs", "to com o coração a mil e quase desmaiei"),
    # added with frozen_v2 (2026-12-06): dehydrated baby, breathless between words, puerperium this
    # week, doubled insulin / a box of pills, command hallucinations, acute abdomen in lay words,
    # sudden one-eye blindness ("sem enxergar" is not a negation), febrile neutropenia, head-first
    # fall, extensive scald
    ("unwell_baby","meu filho de 6 meses ta com a boca seca, chorando sem lagrima e sem molhar fralda faz 8 horas"),
    ("unwell_baby","minha bebe de 3 meses nao molhou a fralda desde ontem"),
    ("hypoxia_signs","minha filha ta com a respiração chiando, falando so palavras soltas"),
    ("hypoxia_signs","meu pai nao consegue completar uma frase de tanta falta de ar"),
    ("obstetric_alarm","ganhei a nenem essa semana e to com febre de 39"),
    ("poisoning_signs","minha mae tomou a insulina duas vezes e ta suando muito"),
    ("poisoning_signs","tomei uma caixa de rivotril"),
    ("suicide_warning_signs","ele ta falando que ouve vozes mandando ele se machucar"),
    ("acute_abdomen","meu pai ta com uma dor de barriga horrivel e a barriga inchada e dura"),
    ("stroke_fast","estou sem enxergar de um olho desde que acordei"),
    ("stroke_fast", "hoje do nada fiquei sem enxergar nada do olho esquerdo"),
    # MTS Diarrhoea and vomiting: losses that do not stop with a sign of severe dehydration
    ("severe_dehydration", "desde o almoco diarreia sem parar, nao consigo beber nem agua e quase nao faco xixi"),
    ("severe_dehydration", "meu marido ta vomitando tudo que toma, nem agua para, e ta muito tonto"),
    ("severe_dehydration", "minha mae ta com diarreia o dia todo, nao para de ir no banheiro, sem urinar desde cedo"),
    ("stroke_fast", "a resonancia foi semana passada. hoje de manha fiquei sem enxergar do olho direito"),
    ("febrile_immunosuppressed","estou com febre, calafrio e muito fraco depois da quimio"),
    ("febrile_immunosuppressed","meu marido é transplantado de rim e ta com 38,5"),
    ("serious_injury","meu filho caiu de cabeça da cama e ta muito molinho"),
    ("serious_injury","queimei a perna toda com agua quente e ta cheio de bolha"),
    ("thrombosis_signs", "voltei de uma viagem de 12 horas de onibus e a panturrilha ta inchada e doendo"),
    ("orthopnoea", "meu avo nao consegue mais deitar de tanto que falta o ar, dorme sentado"),
    ("hypoxia_signs", "o oximetro ta marcando 86 de saturação"),
    ("testicular_torsion", "meu filho de 14 anos acordou com dor no testiculo"),
    # suicide warning signs in lay words (never dismissed)
    ("suicide_warning_signs", "escrevi uma carta de despedida pra minha familia"),
    ("suicide_warning_signs", "já juntei os comprimidos, hoje eu acabo"),
    ("suicide_warning_signs", "queria dormir e nao acordar mais"),
    ("suicide_warning_signs", "ano passado pensei em sumir pra sempre e hoje penso em não existir mais"),
    # severe abdominal pain told by what it stops the patient doing (MTS general "severe pain")
    ("acute_abdomen", "a dor do lado direito da barriga não me deixa andar e já botei tudo pra fora duas vezes"),
    ("acute_abdomen", "to me contorcendo de dor no estomago desde cedo, suando frio"),
    ("acute_abdomen", "marquei o gastro pra semana que vem mas hoje to chorando de dor na barriga e com febre"),
    ("obstetric_alarm", "tô de 5 meses e uma dor no pé da barriga que não deixa eu ficar de pé"),
    # a remote time dates an ONGOING finding when it says since when ("faz ... que", "desde")
    ("haemorrhage_signs", "faz duas semanas que to sangrando muito e hoje fiquei tonta e branca"),
    # a present-tense clause is present even after an earlier visit in the same sentence
    ("shortness_of_breath", "ja fui na upa ontem mas estou com falta de ar forte"),
    # added with the second red-flag development set (new wordings, none copied from it)
    ("swallowed_object", "meu sobrinho engoliu uma pecinha de lego e agora fica babando, não engole nem água"),
    ("dengue_alarm", "estou com dengue, a febre baixou ontem e hoje a gengiva começou a sangrar"),
    ("dengue_alarm", "deu positivo pra dengue e agora ele tá sonolento e tonto quando levanta"),
    ("haemorrhage_signs", "vomitei um negócio escuro parecendo borra de café agora há pouco"),
    ("haemorrhage_signs", "ta saindo sangue do corte da perna e eu to muito fraco"),
    ("acute_abdomen", "dor de barriga desde cedo, qualquer movimento dói e não consigo evacuar"),
    ("acute_abdomen", "uma dor que me dobra e não paro de vomitar desde a hora do almoço"),
    ("burn_signs", "a panela de água quente virou no meu braço e na perna, a pele soltou"),
    ("burn_signs", "meu filho acabou de queimar a mão no ferro, ta cheio de bolhas"),
    ("sepsis_signs", "minha esposa tá com infecção urinária, febre e desde ontem não faz xixi"),
    ("sepsis_signs", "a ferida do pé do meu pai infeccionou e hoje ele tá muito sonolento"),
    ("acute_delirium", "minha vó amanheceu confusa e muito sonolenta, não reconhece a gente"),
    ("unwell_child", "meu menino de 3 anos teve umas 8 diarreias hoje e tá quietinho demais"),
    ("suicide_warning_signs", "ando pensando em me jogar da ponte"),
    ("suicide_warning_signs", "podem cancelar minhas consultas, não vou precisar mais. obrigada por tudo, adeus"),
    ("poisoning_signs", "minha filha de 3 anos tomou o vidro todo do xarope da vó"),
    ("eye_emergency", "respingou limpa forno no meu olho"),
    ("meningitis_signs", "febre alta desde ontem e hoje não consigo mexer o pescoço"),
    ("thunderclap_headache", "uma dor de cabeça explosiva começou do nada agora"),
    ("thunderclap_headache", "dor de cabeça fortíssima, a pior que eu já senti, com vômito"),
    ("obstetric_alarm", "34 semanas e a barriga endurece de 10 em 10 minutos"),
    ("child_respiratory_distress", "o bebê tá afundando as costelinhas pra respirar"),
    # added with the fourth development set (new wordings)
    ("acute_delirium", "meu avô de 90 anos vomitando desde domingo, hoje tá confuso e sem urinar"),
    ("acute_abdomen", "dor na barriga do lado direito piorando desde ontem, não consigo ficar reto, com febre"),
    ("obstetric_alarm", "gravidez de 8 semanas, uma dor forte de um lado só e to quase desmaiando"),
    # an e-mail's subject before a dash is its own clause; a present emergency is never dated by the next sentence
    ("chest_pain", "Meu pai está com dor no peito agora! Ele teve infarto ano passado."),
    # stroke signs that have passed are a TIA: neither the next sentence nor "já passou" dates them
    ("stroke_fast", "meu pai ficou com a boca torta e a fala enrolada. já passou uns 20 minutos"),
    ("stroke_signs", "a fala da minha mãe ficou enrolada e o rosto caiu de um lado. já passou, ela tá bem"),
    # "mas" turns to what is happening now: the resolved part before it does not date the rest
    ("swallowed_object", "acho que não foi nada, mas ela engoliu uma moeda e tá babando muito"),
]


@pytest.mark.parametrize("code,text", FIRES)
def test_concept_fires_on_lay_wordings(code: str, text: str) -> None:
    assert code in codes(text), f"{text!r} -> {codes(text)}"


QUIET: list[str] = [
    # negated, hypothetical, remote or resolved
    "nao estou suando frio nem enjoado, so quero um check up com cardio",
    "se o bebe parar de mexer, o que eu faço? hoje ta mexendo bastante",
    "e se minha bolsa estourar no fim de semana, vcs atendem?",
    "tive uma crise convulsiva em 2015 e preciso do laudo pro detran",
    "minha avó teve avc ano passado, hoje está bem, quero marcar retorno com o neuro",
    # routine pregnancy, exams, chronic complaints
    "estou gravida de 10 semanas e quero marcar o pre natal",
    "gestante pode fazer exame de sangue sem jejum?",
    "meu braço fica dormente quando durmo de lado faz meses",
    "dor na barriga de leve desde ontem, quero um gastro",
    "meu filho de 6 anos com febre baixa e tosse, tem pediatra amanha?",
    "minha pressão 12 por 8 ta boa?",
    "sangue no exame de urina de rotina, o que significa?",
    # figurative speech
    "morri de rir com o video que voces postaram",
    "to morta de cansaço, quero marcar uma consulta pro sabado",
    "quase tive um infarto com o preço da ressonancia",
    "vou matar meu filho, ele rabiscou a parede toda kkkk",
    "que saudade, vou matar a saudade da dra ana na consulta",
    "esse calor ta de matar",
    "minha perna incha no fim do dia quando fico muito tempo em pe, quero um vascular",
    "esse robo nao entende o que eu falo, quero uma pessoa",
    # palpitations alone, and a numb face explained or without a side
    "meu coração bate rapido quando tomo cafe, é normal?",
    "o coração a mil de ansiedade antes da prova kkk",
    "a boca ta dormente por causa da anestesia do dentista",
    "nao sinto o lado direito da boca desde a anestesia do dentista de hoje",
    "meu rosto formiga quando fico nervoso",
    # look-alikes of the rules added with the red-flag development set
    "minha mãe tem alzheimer e às vezes não me reconhece, quero marcar com o geriatra",
    "vocês fazem teste de gravidez de sangue sem pedido médico?",
    "gestante de 20 semanas pode doar sangue?",
    "se meu filho bater a cabeça e vomitar tem que levar no hospital?",
    "queimei o dedo no forno, já passei pomada, tá só vermelhinho",
    "precisa de raio x pra ver se quebrou o dedinho? tá roxinho mas ela corre normal",
    "desmaiei de sono ontem e esqueci de confirmar a consulta",
    "esse calor ta me matando, a clinica tem ar condicionado?",
    "meu cunhado teve um derrame faz 3 anos e agora tá bem, quero um cardiologista",
    "caiu de bicicleta ontem, ralou o joelho, já limpei e tá cicatrizando",
    "meu marido ronca tanto que vai me matar de raiva, vocês fazem polissonografia?",
    "quero agendar consulta com oftalmo, meu olho fica vermelho quando uso o computador",
    # look-alikes of the rules added with frozen_v2
    "meu bebe de 4 meses mama bem e molha muitas fraldas, ta normal?",
    "falo palavras soltas em ingles, da pra consultar em ingles?",
    "fiz quimio ano passado e quero marcar retorno com o oncologista",
    "vcs fazem exame pra quem é transplantado? o medico pediu tacrolimo",
    "a caixa de remedio diz tomar duas vezes ao dia, é isso mesmo?",
    "quanto custa a insulina? o plano cobre?",
    "a voz do meu filho ta mudando, é normal na adolescencia?",
    "tive dor de barriga ontem depois da feijoada, ja passou",
    "estou sem enxergar direito de perto, quero trocar o grau do oculos",
    "fiquei sem enxergar direito de longe esse ano, queria trocar a lente",
    "sem oculos eu fico sem enxergar nada, queria marcar oftalmo",
    "to com diarreia desde ontem mas bebendo bastante agua, queria uma consulta",
    "tive diarreia sem parar semana passada e fiquei fraco, hoje ja estou bem",
    "nao consigo beber agua gelada que doi o dente, queria um dentista",
    "se eu tiver diarreia sem parar na viagem, o que faco?",
    # a remote event dated in its own clause; the "agora" belongs to the request
    "meu sogro teve um avc uns 4 anos atrás, agora a neuro pediu uma ressonância, precisa de jejum?",
    "ano passado eu tive convulsão, agora queria marcar com um neurologista",
    "teve um sangramento no começo da gestação, já foi avaliada e tá tudo bem, agora quero o pré-natal",
    # disabling pain that is chronic, or not abdominal, with no systemic sign
    "minha cólica menstrual todo mês não me deixa levantar da cama, quero marcar gineco",
    "uma dor no joelho que não me deixa andar direito faz meses, quero ortopedista",
    # a hypothesis governs the verbs joined to it by "e"; "caso ..." is a hypothesis
    "se eu escorregar no banho e bater a cabeça, preciso ir ao pronto-socorro?",
    "caso eu tenha sangramento depois da cirurgia, ligo pra quem?",
    "qual o telefone do centro de intoxicação? quero deixar anotado",
    # a known, recurring complaint, not happening now
    "toda vez que subo ladeira sinto uma pontada no peito, o cardiologista já sabe, quero retorno",
    "às vezes sinto falta de ar quando fico ansiosa, quero marcar psicólogo",
    "faz anos que tenho enxaqueca forte, quero um neurologista",
    # documents of a past event; back to normal; resolved after a normal exam
    "preciso de um atestado sobre a convulsão que meu filho teve, pra escola",
    "preciso do relatório médico do derrame do meu sogro pra perícia do INSS",
    "a glicemia baixou ontem mas voltou ao normal com um suco, queria retorno",
    "ele bateu a cabeça no carnaval, fez tomografia e não deu nada, quero o neuro pra revisão",
    # a past event told in a subject line and dated by the next sentence (e-mail shape)
    "Assunto: DESMAIEI na festa!!! — Foi no domingo passado, já estou ótima, queria um clínico pra checar",
    "Assunto: convulsão em 2019 — Hoje sem crises há anos, o neuro pediu um eletro de controle",
    # figurative
    "to sem ar de tanto rir com esse áudio",
    "minha chefe vai me enforcar se eu faltar de novo, tem horário às 7?",
]


@pytest.mark.parametrize("text", QUIET)
def test_look_alikes_stay_quiet(text: str) -> None:
    assert detect(text) == [], f"{text!r} -> {detect(text)}"


def test_figurative_speech_does_not_hide_a_real_flag_in_the_same_message() -> None:
    assert codes("morri de rir ontem, mas hoje to com dor no peito e suando frio")
    assert "suicidal_ideation" in codes("vou me matar kkk")  # laughter never cancels a cry for help
    assert codes("quero morrer de verdade")


def test_mask_keeps_offsets_and_blanks_only_the_idiom() -> None:
    norm = normalize("Morri de rir, mas estou com falta de ar")
    masked = mask_figurative(norm)
    assert len(masked) == len(norm)
    assert "rir" not in masked and "falta de ar" in masked


def test_explained_away_reasons_are_reported() -> None:
    assert "negated" in assess("nao tenho falta de ar, so quero renovar a receita").dismissed
    assert "hypothetical" in assess("se eu sentir dor no peito, vou pra onde?").dismissed
    assert "past" in assess("tive dor no peito ano passado, quero cardio").dismissed
    assert assess("bom dia").dismissed == frozenset()
    # the writer says nobody is unwell; a rule's flag is never explained away by it
    assert "negated" in assess("minha avó não tá passando mal, só quer falar com a recepcionista").dismissed
    assert codes("não é nada urgente, mas meu pai tá com a boca torta desde o almoço")
    # a question asked to be prepared, and a pet's problem, explain away a classifier's urgent guess
    assert "hypothetical" in assess("o que devo fazer se meu bebe engolir uma moeda? so pra saber").dismissed
    assert "animal" in assess("meu gato foi picado e o focinho inchou, tem veterinario?").dismissed


def test_a_remote_event_does_not_hide_what_is_happening_today() -> None:
    # the remote time belongs to the operation; the fever and the pus come after "hoje"
    assert "sepsis_signs" in codes("fiz cirurgia semana passada, hoje to com febre e saindo pus do corte")
    # ... while a remote event alone, resolved, stays quiet
    assert codes("tive febre e pus no corte semana passada, ja sarou") == set()


def test_unsure_flags_say_what_to_confirm() -> None:
    flags = detect("tive dor no peito mes passado e voltou agora")
    assert flags and flags[0].unsure
    note = describe(flags)
    assert "confirmar" in note and "peito" not in note.split("confirmar")[1]


def test_concept_flags_carry_the_protocol_item_and_a_span() -> None:
    text = "minha mae é hipertensa e ta suando frio e com enjoo, fraca do nada"
    flag = next(f for f in detect(text) if f.code == "acs_cluster")
    assert "MTS" in flag.why
    assert 0 <= flag.start < flag.end <= len(text)
    assert "MTS" in describe([flag])


def test_every_concept_rule_is_reachable_and_documented() -> None:
    fired = {code for code, _ in FIRES}
    for rule in concepts.CONCEPT_RULES:
        assert rule.why and rule.anchors
        assert rule.code in fired, f"no test fires {rule.code}"
    for name in (a for rule in concepts.CONCEPT_RULES for a in rule.anchors):
        assert name in concepts.FINDINGS, name
