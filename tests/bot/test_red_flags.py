"""Unit tests for the deterministic red-flag rules (clinic_nlu.red_flags; bot env: `make test-bot`).

A missed emergency is a bug: every category has WhatsApp-style true positives (no accents,
abbreviations, typos, emojis, shouting), and routine messages that share words must stay quiet.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from clinic_nlu.red_flags import CATEGORIES, RedFlag, describe, detect, is_urgent


def categories(text: str) -> set[str]:
    return {f.category for f in detect(text)}


POSITIVES: dict[str, list[str]] = {
    "chest_pain": [
        "estou com dor no peito",
        "to c dor no peito mt forte",
        "dor no peito irradiando pro braço esquerdo",
        "APERTO NO PEITO 😰",
        "meu pai ta com uma pressao no peito e suando frio",
        "dor no pieto desde cedo",
        "acho q to infartando",
        "meu peito ta doendo muito",
        "quero marcar cardiologista pq tive dor no peito",  # not clearly over: fire
        "tive dor no peito ontem a noite",  # a day-old chest pain is still an emergency
        "dor tipo facada no peito",
    ],
    "breathing": [
        "to com falta de ar",
        "n consigo respirar",
        "nao to conseguindo respirar direito",
        "minha filha ta sufocando",
        "socorro meu filho nao respira",
        "falta ar qdo falo",
        "meu bebe ta com os labios roxos",
        "crise de asma forte, bombinha nao resolve",
        "fata de ar",
    ],
    "stroke": [
        "minha mae ficou com a boca torta",
        "meu avo ta com o rosto caido de um lado",
        "ele ta com a fala enrolada de repente",
        "fraqueza de um lado do corpo",
        "meu braço e minha perna do lado direito estão dormentes de repente",
        "perdi a visao de um olho do nada",
        "acho q meu pai ta tendo um AVC",
        "minha avó teve um derrame agora",
        "de repente metade do rosto dela caiu e ela ta enrolando a fala",
    ],
    "bleeding": [
        "sangramento forte",
        "to sangrando muito",
        "meu filho cortou a mao e nao para de sangrar",
        "hemorragia",
        "to vomitando sangue",
        "meu pai ta tossindo sangue",
        "perdendo muito sangue",
        "muito sangue saindo do nariz",
    ],
    "unconscious": [
        "meu avo desmaiou",
        "minha mae desmaiu agora",  # typo
        "ela desmaiou e nao acorda",
        "meu pai perdeu a consciencia",
        "encontrei minha avó desacordada",
        "DESMAIEI NO BANHEIRO",
        "ele ta inconsciente",
    ],
    "seizure": [
        "meu filho ta convulsionando",
        "convulsão",
        "comvulsao",
        "minha filha teve uma convulsao agora",
        "meu pai esta tendo ataque epileptico",
        "ele ta se debatendo e babando",
        "crise convulsiva",
    ],
    "allergy": [
        "minha garganta ta fechando",
        "comi camarao e a garganta fechou",
        "rosto inchado depois do remedio",
        "minha lingua ta inchando",
        "meus labios incharam muito",
        "reação alérgica forte",
        "choque anafilatico",
        "inchaço no rosto e na boca",
    ],
    "fever": [
        "meu bebê está com febre",
        "meu bb ta c febre",
        "bebe de 2 meses com febre",
        "recém-nascido com febre",
        "minha recém-nascida esta quentinha, 38 de febre",
        "nenê com febre de 39",
        "minha filha de 5 meses ta com febre",
        "febre de 40 graus",
        "meu filho esta com 40 de febre e nao baixa",
    ],
    "poisoning": [
        "meu filho tomou agua sanitaria",
        "minha filha engoliu remedio",
        "meu filho engoliu uns comprimidos da avó",
        "tomei uma cartela de remedio",
        "acho que é envenenamento",
        "intoxicação",
        "overdose",
        "crianca comeu chumbinho",
        "fui picado por escorpião",
        "bebeu produto de limpeza",
        "tomei 20 comprimidos",
    ],
    "injury": [
        "sofri um acidente de carro",
        "acidente de moto agora",
        "meu filho foi atropelado",
        "fratura exposta",
        "o osso ta pra fora",
        "meu pai caiu da escada e bateu a cabeça",
        "bati a cabeça forte e to vomitando",
        "queimadura grave",
        "me queimei feio com oleo quente",
        "levou uma facada",
        "meu vizinho levou um tiro",
        "tomou choque eletrico",
        "meu bebe caiu do trocador",
        "minha mae de 80 anos caiu no banheiro",
        "minha vó levou um tombo e nao consegue levantar",
    ],
    "pregnancy": [
        "estou grávida e com sangramento",
        "to gravida e sangrando",
        "gestante com sangramento",
        "minha bolsa estourou",
        "a bolsa rompeu",
        "to gravida e saindo liquido",
        "to em trabalho de parto",
        "gravida e o bebe parou de mexer",
        "gravida de 7 meses perdendo sangue",
        "perdi o bebe, to sangrando",
        "gravida de 8 meses com muita dor de cabeca e vendo pontinhos",
        "gestante com pressao alta e visao embaçada",
    ],
    "suicide": [
        "quero morrer",
        "nao aguento mais viver",
        "não aguento mais, quero acabar com tudo",
        "vou me matar",
        "to pensando em suicidio",
        "quero tirar minha vida",
        "tenho vontade de me cortar",
        "to me cortando de novo",
        "meu filho ta se cortando",
        "qro morrer",
        "tentei suicidio ano passado e to pensando nisso de novo",
        "não tenho mais vontade de viver",
        "to cansada de viver",
        "todo mundo ficaria melhor sem mim",
    ],
    "neuro": [
        "a pior dor de cabeca da minha vida",
        "dor de cabeca muito forte de repente, a pior da minha vida",
        "febre e rigidez na nuca",
        "meu pai ta desorientado de repente",
        "minha avó caiu e ta muito confusa",
    ],
    "vitals": [
        "pressao 20 por 12 e dor de cabeca forte",
        "a pressao da minha mae ta 18x11",
        "pressão 190/120",
        "minha glicose ta 450",
        "minha mae ta com a glicemia 40 e suando frio",
        "dextro deu 35",
    ],
    "general": [
        "chama uma ambulancia",
        "preciso do samu",
        "liga pro samu pfv",
        "mandem uma ambulancia urgente",
        "ambulancia agora",
    ],
}


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for c, texts in POSITIVES.items() for t in texts]
)
def test_true_positive(category: str, text: str) -> None:
    assert category in categories(text), f"{text!r} -> {detect(text)}"


def test_every_category_has_at_least_five_positives() -> None:
    assert set(POSITIVES) == set(CATEGORIES)
    assert all(len(v) >= 5 for v in POSITIVES.values())


NEGATIVES = [
    # negations
    "sem falta de ar",
    "nao tenho dor no peito",
    "não sinto dor no peito nem falta de ar, só tosse",
    "to sem febre e sem falta de ar, so tosse",
    "ele nao desmaiou, so ficou tonto",
    "nunca tive convulsao",
    "meu bebe ta sem febre, quero marcar pediatra",
    "nao quero morrer, so quero me cuidar",
    # the word "sangue" in exams
    "exame de sangue",
    "preparo pro exame de sangue",
    "precisa de jejum pro exame de sangue?",
    "vao tirar muito sangue na coleta?",
    "resultado do exame de sangue",
    "tenho medo de desmaiar na coleta de sangue",
    "posso desmaiar no exame?",
    # babies and pregnancy routine
    "consulta pediatra pro meu bebe",
    "quero marcar pediatra pro meu bebê de 3 meses, consulta de rotina",
    "grávida quero pré-natal",
    "to gravida e preciso fazer exame de sangue",
    "to gravida de 12 semanas, quero marcar ultrassom",
    "minha bolsa de mao ficou na clinica",
    # remote past, explicit
    "quero marcar cardiologista pq tive dor no peito ano passado",
    "tive um desmaio ha 3 anos, quero fazer check up",
    "minha mae teve avc ano passado, quero marcar neurologista",
    "fui na upa semana passada com falta de ar, quero retorno",
    # paperwork about an accident
    "acidente de trabalho, preciso de atestado",
    "sofri um acidente mes passado e preciso do laudo pro inss",
    # hypothetical / preventive
    "e se eu tiver falta de ar no exame, posso fazer?",
    "historico familiar de infarto, quero fazer check up",
    "quero prevenir avc, o que faço?",
    "tenho medo de ter um infarto",
    # routine messages sharing words
    "quero marcar consulta com cardiologista",
    "meu filho de 5 anos esta com febre e tosse, quero pediatra",
    "to com febre ha 3 dias, quero consulta",
    "tomei 2 comprimidos de dipirona e a dor nao passou",
    "meu filho tomou remedio pra febre",
    "nao consegui falar com ninguem da clinica",
    "o ar condicionado da sala de espera estava fraco",
    "tem falta de ar condicionado ai",
    "onde eu tiro a segunda via do boleto?",
    "me machuquei jogando bola, joelho inchado",
    "me cortei sem querer cozinhando",
    "dor tipo facada nas costas ha uma semana",
    "to com azia e queimacao no peito depois que como",
    "quero uma consulta de dermatologia pra queimadura de sol",
    "dor no peito do pé quando corro",
    "estou perdendo a visao pra perto, quero oftalmo",
    "derrame no olho, ta vermelho",
    "vou morrer de rir kkkk",
    "to morrendo de fome",
    "quero cancelar meu plano",
    "fatura do cartao",
    "minha mensagem foi gravada?",
    "boleto vencido",
    "nao é dor no peito, é nas costas",
    "minha avo caiu semana passada, quero ortopedista",
    "meu avo tem 85 anos, quero marcar cardiologista",
    "pressao 12 por 8",
    "glicemia de jejum 95",
    "quanto tempo de jejum pra glicemia? 12 horas?",
    "a pressao do meu avo ta 13 por 8, quero marcar consulta",
    "",
    "   ",
    "👍",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_true_negative(text: str) -> None:
    assert detect(text) == [], f"{text!r} -> {detect(text)}"


def test_flags_carry_code_category_and_span_into_the_original_text() -> None:
    text = "Oi, bom dia. Minha mãe DESMAIOU e tá com dor no peito 😭"
    flags = detect(text)
    assert [f.category for f in flags] == ["unconscious", "chest_pain"]
    assert all(isinstance(f, RedFlag) for f in flags)
    fainting = flags[0]
    assert fainting.code == "fainting"
    assert text[fainting.start : fainting.end] == "DESMAIOU"
    assert flags[1].evidence == "dor no peito"


def test_several_flags_in_one_message_and_dedup() -> None:
    flags = detect("dor no peito, falta de ar e dor no peito de novo")
    assert [f.code for f in flags] == ["chest_pain", "shortness_of_breath"]


def test_suicide_category_is_never_suppressed_as_past() -> None:
    assert categories("pensei em suicidio ano passado") == {"suicide"}


def test_negation_only_covers_its_own_clause() -> None:
    assert categories("nao tenho febre mas estou com falta de ar") == {"breathing"}
    assert categories("sem febre, com dor no peito") == {"chest_pain"}
    assert categories("nao sei se é falta de ar mas ta dificil") == {"breathing"}


def test_remote_past_fires_again_when_it_is_back() -> None:
    assert categories("tive dor no peito ano passado e hoje voltou") == {"chest_pain"}
    assert categories("desmaiei mes passado e agora de novo") == {"unconscious"}


def test_mixed_requests_with_a_red_flag_still_fire() -> None:
    assert is_urgent("oi quero marcar consulta, aceita unimed? to com falta de ar agora")
    assert is_urgent("qual o valor da consulta? meu pai ta com dor no peito")


def test_describe_for_the_handoff_note() -> None:
    assert describe([]) == ""
    note = describe(detect("dor no peito e falta de ar"))
    assert note.startswith("Sinais de alerta: ")
    assert "peito" in note and "falta de ar" in note


def test_distress_cue_separates_clinical_words_from_small_talk() -> None:
    from clinic_nlu.red_flags import has_distress_cue

    for text in ["socorroo", "meu pai nao ta bem", "to passando muito mal", "ajuda por favor", "DOR NO PEITO"]:
        assert has_distress_cue(text), text
    for text in ["combinado", "foto", "enviei sem querer", "qual o horario", "ok obrigado", ""]:
        assert not has_distress_cue(text), text
