"""The typed-answer matcher (bot/actions/option_match.py): a message read against the buttons the
bot just offered, before the NLU intent is trusted."""

from __future__ import annotations

from datetime import date

import bot_helpers  # noqa: F401 - puts bot/ on sys.path
import pytest
from actions.appointments import appointment_payload
from actions.booking_slots import slot_payload, when_buttons
from actions.common import YES_NO_BUTTONS
from actions.formatting import appointment_label
from actions.option_match import match_option, parse_payload, same_word

WHEN = when_buttons()  # O quanto antes / Esta semana / Semana que vem
SLOTS = [
    {"title": "qui 26/11 às 09:00 — Dra. Ana Souza (Cardiologia)", "payload": slot_payload("1-0900")},
    {"title": "qui 26/11 às 10:00 — Dra. Ana Souza (Cardiologia)", "payload": slot_payload("1-1000")},
    {"title": "sex 27/11 às 14:30 — Dr. Beto Lima (Cardiologia)", "payload": slot_payload("2-1430")},
    {"title": "seg 30/11 às 10:30 — Dra. Ana Souza (Cardiologia)", "payload": slot_payload("1-1030")},
]
SPECIALTIES = [
    {"title": "Cardiologia", "payload": '/inform{"specialty":"cardiologia"}'},
    {"title": "Clínica Geral", "payload": '/inform{"specialty":"clinica_geral"}'},
    {"title": "Ginecologia e Obstetrícia", "payload": '/inform{"specialty":"ginecologia"}'},
    {"title": "Dermatologia", "payload": '/inform{"specialty":"dermatologia"}'},
]
APPOINTMENTS = [
    {"title": appointment_label({"start": "2026-11-26T09:00:00-03:00", "doctor_name": "Dra. Ana Souza",
                                 "specialty_name": "Cardiologia"}), "payload": appointment_payload(11)},
    {"title": appointment_label({"start": "2026-12-04T15:00:00-03:00", "doctor_name": "Dr. Paulo Mendes",
                                 "specialty_name": "Dermatologia"}), "payload": appointment_payload(12)},
    {"title": "Confirmar todas", "payload": appointment_payload("all")},
]  # fmt: skip
CPF = [{"title": "Não tenho CPF", "payload": "/deny"}]
TODAY = date(2026, 11, 26)  # a Thursday


def chosen(text: str, options: list[dict[str, str]], today: date | None = TODAY) -> int | None:
    option = match_option(text, options, today)
    return None if option is None else options.index(option)  # type: ignore[arg-type]


# -- the option's own words --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, index",
    [
        ("o quanto antes", 0), ("O QUANTO ANTES", 0), ("quanto antes", 0), ("Ó quânto antes!", 0),
        ("o qunto antes", 0), ("o quanto ants", 0), ("o qaunto antes", 0), ("pode ser o quanto antes", 0),
        ("quero o quanto antes, por favor", 0), ("o quanto antes pfv", 0), ("antes", 0),
        ("esta semana", 1), ("esta semana mesmo", 1),
        ("semana que vem", 2), ("semana q vem", 2),
    ],
)  # fmt: skip
def test_the_option_words_accent_case_and_typo_tolerant(text: str, index: int) -> None:
    assert chosen(text, WHEN) == index


@pytest.mark.parametrize(
    "text",
    [
        "semana",  # two options say it
        "não quero o quanto antes",  # a negation the option does not have
        "o quanto antes não",
        "quanto custa a consulta?",
        "semana que vem de manhã",  # more than the option says: the flow reads the whole text
        "o quanto antes possível com a dra ana",
        "qualquer dia",
        "",
        "   ",
        '/choose_when{"when":"esta semana"}',  # a button payload is not typed text
    ],
)
def test_words_that_do_not_name_exactly_one_option(text: str) -> None:
    assert chosen(text, WHEN) is None


def test_specialties_and_yes_no_and_a_negative_option() -> None:
    assert chosen("cardiologia", SPECIALTIES) == 0
    assert chosen("cardiolgia", SPECIALTIES) == 0
    assert chosen("clínica geral", SPECIALTIES) == 1
    assert chosen("geral", SPECIALTIES) == 1
    assert chosen("ginecologia", SPECIALTIES) == 2
    assert chosen("dermato", SPECIALTIES) is None  # not the button's word (the flow's own matcher knows it)
    assert chosen("sim", YES_NO_BUTTONS) == 0
    assert chosen("Não", YES_NO_BUTTONS) == 1
    assert chosen("nao", YES_NO_BUTTONS) == 1
    assert chosen("não tenho cpf", CPF) == 0
    assert chosen("nao tenho", CPF) == 0
    assert chosen("sim, mas prefiro outro dia", YES_NO_BUTTONS) is None


# -- numbers and ordinals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, index",
    [
        ("1", 0), ("2", 1), ("3", 2), ("4", 3), ("opção 2", 1), ("opcao 3", 2), ("a 2", 1), ("o 3", 2),
        ("nº 2", 1), ("numero 4", 3), ("2ª", 1), ("a 3ª opção", 2), ("o 2º", 1), ("dois", 1),
        ("opção um", 0), ("quero a 2", 1), ("pode ser o 1", 0),
        ("o primeiro", 0), ("a primeira", 0), ("primeiro horário", 0), ("o segundo", 1),
        ("a segunda opção", 1), ("o terceiro", 2), ("o quarto", 3), ("o último", 3), ("ultimo", 3),
        ("a última", 3), ("o penúltimo", 2),
    ],
)  # fmt: skip
def test_numbers_and_ordinals(text: str, index: int) -> None:
    assert chosen(text, SLOTS) == index


@pytest.mark.parametrize("text", ["5", "0", "15", "o quinto", "opção 9", "1 e 2", "não, o primeiro"])
def test_numbers_and_ordinals_out_of_range_or_unclear(text: str) -> None:
    assert chosen(text, SLOTS) is None


def test_a_segunda_is_an_ordinal_unless_a_monday_option_makes_it_ambiguous() -> None:
    assert chosen("a segunda", WHEN) == 1  # no weekday in these options: the 2nd
    assert chosen("a quinta", [*SPECIALTIES, {"title": "Pediatria", "payload": "/inform"}]) == 4
    # SLOTS[1] is the 2nd option but SLOTS[3] is on Monday: do not guess
    assert chosen("a segunda", SLOTS) is None
    # "a segunda opção" is only the ordinal, "segunda" alone / "na segunda" only the weekday
    assert chosen("a segunda opção", SLOTS) == 1
    assert chosen("segunda", SLOTS) == 3
    assert chosen("na segunda-feira", SLOTS) == 3
    # no 6th option: "a sexta" can only be Friday's
    assert chosen("a sexta", SLOTS) == 2


# -- times, weekdays and dates -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, index",
    [
        ("às 10h", 1), ("as 10", 1), ("10:00", 1), ("10h", 1), ("10 horas", 1), ("o das 9", 0),
        ("9h", 0), ("09:00", 0), ("10:30", 3), ("10h30", 3), ("às 14:30", 2), ("o das 14h30", 2),
        ("as 2 da tarde", 2), ("às 2", 2), ("sexta", 2), ("sex", 2), ("na sexta-feira", 2),
        ("a de sexta", 2), ("segunda", 3), ("dia 27", 2), ("27/11", 2), ("dia 30", 3),
        ("quinta às 9", 0), ("quinta 10h", 1), ("amanhã", 2), ("o de amanhã às 14h30", 2),
        ("26/11 às 10", 1), ("o das 10 com a dra ana", 1),
    ],
)  # fmt: skip
def test_a_time_weekday_or_date_in_exactly_one_option(text: str, index: int) -> None:
    assert chosen(text, SLOTS) == index


@pytest.mark.parametrize(
    "text", ["quinta", "26/11", "hoje", "às 15h", "quarta", "dia 12", "terça", "às 11h", "quinta às 14h30"]
)
def test_a_moment_in_no_option_or_in_several(text: str) -> None:
    assert chosen(text, SLOTS) is None


def test_as_10_prefers_the_exact_hour_then_the_only_option_in_that_hour() -> None:
    options = [SLOTS[3], SLOTS[2]]  # 10:30 and 14:30
    assert chosen("as 10", options) == 0  # no 10:00: the only option in the 10 o'clock hour
    assert chosen("às 10h", SLOTS) == 1  # 10:00 exists: not 10:30


def test_words_narrow_the_options_a_moment_left_and_name_a_doctor() -> None:
    assert chosen("o do dr beto", SLOTS) == 2
    assert chosen("com o doutor beto lima", SLOTS) == 2
    assert chosen("dra ana", SLOTS) is None  # three of hers


def test_appointment_choice() -> None:
    assert chosen("a de cardiologia", APPOINTMENTS) == 0
    assert chosen("a do dr paulo", APPOINTMENTS) == 1
    assert chosen("dia 4", APPOINTMENTS) == 1
    assert chosen("sexta", APPOINTMENTS) == 1
    assert chosen("quinta", APPOINTMENTS) == 0
    assert chosen("todas", APPOINTMENTS) == 2
    assert chosen("2", APPOINTMENTS) == 1
    assert chosen("a última", APPOINTMENTS) == 2


def test_without_today_relative_days_name_nothing() -> None:
    assert chosen("amanhã", SLOTS, today=None) is None


def test_no_options_no_choice() -> None:
    assert match_option("1", []) is None
    assert match_option("o quanto antes", []) is None


def test_payloads_and_word_equality() -> None:
    assert parse_payload('/choose_when{"when":"o quanto antes"}') == ("choose_when", {"when": "o quanto antes"})
    assert parse_payload("/affirm") == ("affirm", {})
    assert parse_payload("Quero marcar uma consulta") is None
    assert parse_payload("/x{not json}") is None
    assert same_word("quanto", "qunto") and same_word("antes", "ants") and same_word("horarios", "horario")
    assert same_word("cardiologia", "cardiolgoia")
    assert not same_word("ana", "ama") and not same_word("quanto", "tanto") and not same_word("dia", "dias_x")
