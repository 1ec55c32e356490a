"""Unit tests for clinic_nlu.normalize (bot env: `make test-bot`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from clinic_nlu.normalize import (
    expand_word,
    normalize,
    normalize_token,
    normalize_with_offsets,
    strip_accents,
)


def test_strip_accents_keeps_length_and_letters() -> None:
    text = "Não tô bem, coração! Você já está aí? Açúcar, pêssego, ônibus, lâmpada"
    out = strip_accents(text)
    assert out == "Nao to bem, coracao! Voce ja esta ai? Acucar, pessego, onibus, lampada"
    assert len(out) == len(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Vc pode me ajudar?", "voce pode me ajudar?"),
        ("qro marcar consulta hj", "quero marcar consulta hoje"),
        ("pq vc n responde", "porque voce nao responde"),
        ("obg, vlw, blz", "obrigado, valeu, beleza"),
        ("td bem? tb qro saber", "tudo bem? tambem quero saber"),
        ("pfv manda a msg amanhã", "por favor manda a mensagem amanha"),
        ("to c falta de ar", "estou com falta de ar"),
        ("meu bb ta c febre", "meu bebe esta com febre"),
        ("q horas abre?", "que horas abre?"),
        ("pra mim e pro meu filho", "para mim e para o meu filho"),
        ("dps eu vejo, mt obg", "depois eu vejo, muito obrigado"),
        ("qnd é minha consulta", "quando e minha consulta"),
    ],
)
def test_whatsapp_abbreviations_are_expanded(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_case_emojis_repeats_and_laughter() -> None:
    assert normalize("SOCORROOOO 😭😭 minha mãe desmaiou") == "socorro minha mae desmaiou"
    assert normalize("oiiii tudo bem??") == "oi tudo bem??"
    assert normalize("kkkkk blz") == "beleza"  # laughter must not become "que"
    assert normalize("siiiim 👍") == "sim"
    assert normalize("  muitos   espaços \t aqui  ") == "muitos espacos aqui"


def test_whole_words_only() -> None:
    # "to" inside "ponto", "q" inside "qual", "n" inside "nao" must not be touched
    assert normalize("ponto de onibus") == "ponto de onibus"
    assert normalize("qual o valor") == "qual o valor"
    assert normalize("nao") == "nao"


def test_newlines_survive_as_sentence_breaks() -> None:
    assert normalize("oi\n\nqro marcar") == "oi\nquero marcar"


def test_offsets_point_into_the_original_text() -> None:
    text = "Tô c/ DOR no peito 😰"
    norm, offsets = normalize_with_offsets(text)
    assert norm == "estou com/ dor no peito"
    assert len(offsets) == len(norm)
    start = norm.index("dor no peito")
    end = start + len("dor no peito")
    assert text[offsets[start] : offsets[end - 1] + 1] == "DOR no peito"
    # an expansion maps back to the abbreviation it replaced
    i = norm.index("estou")
    assert text[offsets[i]] == "T"


def test_empty_and_symbol_only_messages() -> None:
    assert normalize("") == ""
    assert normalize("👍👍") == ""
    assert normalize("???") == "???"


def test_token_normalization_used_by_the_tokenizer() -> None:
    assert normalize_token("Vc") == "voce"
    assert normalize_token("NÃO") == "nao"
    assert normalize_token("pfv") == "por favor"
    assert normalize_token("Cardiologista") == "cardiologista"
    assert expand_word("xyz") == "xyz"


def test_classifier_text_keeps_emojis_as_words() -> None:
    from clinic_nlu.normalize import emoji_words, normalize_for_classifier

    assert normalize_for_classifier("👍") == "emoji_thumbs_up_sign"
    assert normalize_for_classifier("😡 que atendimento") == "emoji_pouting_face que atendimento"
    # skin tones, joiners and variation selectors do not become words
    assert normalize_for_classifier("oi 👋🏽") == "oi emoji_waving_hand_sign"
    assert emoji_words("sem figurinha aqui") == "sem figurinha aqui"
