"""Plain rules of the staff teaching layer: masking, grouping, names, validation, red flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handoff.adapters.bot_answers import load_simple_answers
from handoff.domain.bot_teaching import (
    mask_personal_data,
    normalize_text,
    parse_has_red_flag,
    review_flags,
    staff_intent_name,
    validate_intent,
)
from handoff.domain.triage import REASONS


@pytest.mark.parametrize(("text", "expected"), [
    ("meu cpf é 529.982.247-25", "meu cpf é [CPF]"),
    ("cpf 52998224725 por favor", "cpf [CPF] por favor"),
    ("me liga no (11) 98765-4321", "me liga no [TELEFONE]"),
    ("whats +55 11 987654321", "whats [TELEFONE]"),
    ("fixo 3333-4444", "fixo [TELEFONE]"),
    ("manda pra maria.silva+exames@gmail.com", "manda pra [EMAIL]"),
    ("cartão 4111 1111 1111 1111 venceu", "cartão [CARTAO] venceu"),
    ("meu nome é Joana da Silva e quero marcar", "meu nome é [NOME] e quero marcar"),
    ("Oi, me chamo Pedro", "Oi, me chamo [NOME]"),
    ("aqui é a Fernanda Souza", "aqui é a [NOME]"),
    ("quero marcar consulta amanhã às 10", "quero marcar consulta amanhã às 10"),
    ("pedido 2024 de 3 exames", "pedido 2024 de 3 exames"),
])
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


def test_an_order_number_that_fails_luhn_is_not_a_card() -> None:
    assert "[CARTAO]" not in mask_personal_data("protocolo 1234 5678 9012 3456")


def test_near_duplicates_share_a_key() -> None:
    assert normalize_text("Vocês abrem SÁBADO??") == normalize_text("voces abrem sabado")
    assert normalize_text("oiiiii") == normalize_text("oiii")
    assert normalize_text("meu cpf é [CPF]") == "meu cpf e [cpf]"


def test_staff_intent_names() -> None:
    assert staff_intent_name("Vacina da gripe") == "staff_vacina_da_gripe"
    assert staff_intent_name("staff_estacionamento") == "staff_estacionamento"
    assert staff_intent_name("!!!") is None
    assert staff_intent_name("9abc") is None


def _check_args() -> dict[str, Any]:
    return {
        "name": "staff_vacina", "reason": "other",
        "examples": ["tem vacina da gripe", "vocês vacinam", "vacina de gripe quanto custa",
                     "campanha de vacinação", "posso tomar vacina aí"],
        "answer_text": "Sim, temos vacina.", "buttons": [], "handoff": None, "reasons": REASONS,
        "bot_intents": {"greet": "other"}, "queues": ["reception"], "other_examples": {},
    }


def _check(**over: Any) -> list[str]:
    return [p.code for p in validate_intent(**{**_check_args(), **over}).problems]


def test_validation() -> None:
    assert _check() == []
    assert "too_few_examples" in _check(examples=["a b", "c d", "e f", "g h"])
    assert "duplicate_examples" in _check(examples=["Tem vacina?", "tem vacina", "x y", "z w", "k j", "l m"])
    assert "empty_example" in _check(examples=["", "a", "b", "c", "d", "e"])
    assert "example_too_long" in _check(examples=["x" * 301, "a", "b", "c", "d", "e"])
    assert "unknown_reason" in _check(reason="Vacinas!")
    assert "unknown_reason" in _check(reason="x" * 25)
    assert _check(reason="vacinas") == []  # a new reason tag the clinic creates: allowed, with a warning
    warned = validate_intent(**{**_check_args(), "reason": "vacinas"}).warnings
    assert [w.code for w in warned] == ["new_reason", "few_examples"] and "vacinas" in warned[0].message
    assert "name_clash" in _check(name="greet")
    assert "name_clash" in _check(name="staff_greet")  # "greet" taught again under the prefix
    assert "example_in_other_intent" in _check(other_examples={"voces vacinam": "staff_outra"})
    assert "no_action" in _check(answer_text=None)
    assert "unknown_queue" in _check(handoff={"queue": "nowhere"})
    assert "empty_handoff" in _check(handoff={"queue": None, "skill": None})
    assert _check(answer_text=None, handoff={"queue": None, "skill": "specialty:cardiologia"}) == []
    assert _check(answer_text=None, handoff={"queue": "reception"}) == []
    verdict = validate_intent(name="staff_x", reason="other", examples=["a1", "b2", "c3", "d4", "e5"],
                              answer_text="ok", buttons=[], handoff=None, reasons=REASONS, bot_intents={},
                              queues=[], other_examples={})
    assert verdict.ok and [w.code for w in verdict.warnings] == ["few_examples"]


def test_red_flag_in_a_parse() -> None:
    assert parse_has_red_flag({"intent": {"name": "urgent_symptom", "confidence": 1.0}, "entities": []})
    assert parse_has_red_flag({"intent": {"name": "greet"}, "entities": [{"entity": "red_flag", "value": "x"}]})
    assert not parse_has_red_flag({"intent": {"name": "greet"}, "entities": [{"entity": "specialty"}]})
    assert not parse_has_red_flag({})


def test_review_flags() -> None:
    assert review_flags("nlu_fallback", 0.9, 0.6) == ["fallback"]
    assert review_flags("greet", 0.4, 0.6) == ["low_confidence"]
    assert review_flags("greet", 0.9, 0.6) == []


def test_simple_answers_are_read_from_the_domain_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "responses:\n"
        "  utter_plain:\n    - text: \"Estamos na Rua A, 10.\"\n"
        "  utter_buttons:\n    - text: \"Escolha\"\n      buttons:\n        - title: x\n          payload: /x\n"
        "  utter_slot:\n    - text: \"Olá {name}\"\n"
        "  utter_two:\n    - text: \"um\"\n    - text: \"dois\"\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("intents:\n  - greet\n", encoding="utf-8")
    assert load_simple_answers(tmp_path) == {"utter_plain": "Estamos na Rua A, 10."}
    assert load_simple_answers(tmp_path / "missing") == {}
    real = load_simple_answers(Path(__file__).resolve().parents[2] / "bot" / "domain")
    assert "utter_goodbye" in real


@pytest.mark.parametrize(("text", "expected"), [
    ("me chamo joana e preciso de ajuda", "me chamo [NOME] e preciso de ajuda"),
    ("Sou a Maria das Dores", "Sou a [NOME]"),
    ("sou o responsável", "sou o responsável"),
    ("liga 11987654321 ou manda email pra a@b.com.br", "liga [TELEFONE] ou manda email pra [EMAIL]"),
])
def test_more_masking(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected
