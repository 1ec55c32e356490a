"""pt-BR date/period parsing (bot/clinic_nlu/dates.py) with fixed clocks in the clinic zone."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from clinic_nlu.dates import WhenRange, parse_birth_date, parse_when

SP = ZoneInfo("America/Sao_Paulo")
# Tuesday 24/11/2026, 14:05 in São Paulo.
NOW = datetime(2026, 11, 24, 14, 5, tzinfo=SP)
# Wednesday 16/12/2026, 09:00.
DECEMBER = datetime(2026, 12, 16, 9, 0, tzinfo=SP)
# Saturday 31/01/2026, 10:00 (month rollover for "dia 30"/"dia 31").
END_OF_JANUARY = datetime(2026, 1, 31, 10, 0, tzinfo=SP)


def day_window(text: str, now: datetime = NOW) -> tuple[date, date]:
    """(first day, last day) of the window, in clinic time."""
    when = parse_when(text, now)
    assert when is not None, text
    last = (when.end - timedelta(microseconds=1)).astimezone(SP).date()
    return when.start.astimezone(SP).date(), last


def one_day(text: str, now: datetime = NOW) -> date:
    first, last = day_window(text, now)
    assert first == last, (text, first, last)
    return first


# -- relative days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hoje", date(2026, 11, 24)),
        ("hj", date(2026, 11, 24)),
        ("amanhã", date(2026, 11, 25)),
        ("amanha", date(2026, 11, 25)),
        ("AMANHÃ!!", date(2026, 11, 25)),
        ("pode ser amanhã 😊", date(2026, 11, 25)),
        ("depois de amanhã", date(2026, 11, 26)),
        ("depois de amanha", date(2026, 11, 26)),
        ("daqui a 3 dias", date(2026, 11, 27)),
        ("daqui a tres dias", date(2026, 11, 27)),
    ],
)
def test_relative_days(text: str, expected: date) -> None:
    assert one_day(text) == expected


def test_today_starts_now_not_at_midnight() -> None:
    when = parse_when("hoje", NOW)
    assert when is not None
    assert when.start == NOW
    assert when.end == datetime(2026, 11, 25, 0, 0, tzinfo=SP)
    assert when.day_given


def test_tomorrow_or_the_day_after_is_two_days() -> None:
    assert day_window("amanhã ou depois") == (date(2026, 11, 25), date(2026, 11, 26))


# -- weekdays --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("segunda", date(2026, 11, 30)),
        ("seg", date(2026, 11, 30)),
        ("2ª feira", date(2026, 11, 30)),
        ("segunda-feira", date(2026, 11, 30)),
        ("quarta", date(2026, 11, 25)),
        ("qua", date(2026, 11, 25)),
        ("qui", date(2026, 11, 26)),
        ("sexta-feira", date(2026, 11, 27)),
        ("sexta feira", date(2026, 11, 27)),
        ("sex", date(2026, 11, 27)),
        ("sábado", date(2026, 11, 28)),
        ("sab", date(2026, 11, 28)),
        ("domingo", date(2026, 11, 29)),
        # today's weekday alone means next week's
        ("terça", date(2026, 12, 1)),
        ("na ter", date(2026, 12, 1)),
        ("3a feira", date(2026, 12, 1)),
        # "que vem" / "próxima": the day in next calendar week
        ("terça que vem", date(2026, 12, 1)),
        ("quarta que vem", date(2026, 12, 2)),
        ("próxima sexta", date(2026, 12, 4)),
        ("sexta da semana que vem", date(2026, 12, 4)),
        ("segunda da próxima semana", date(2026, 11, 30)),
        # "essa/esta": this week's
        ("essa sexta", date(2026, 11, 27)),
        ("quinta dessa semana", date(2026, 11, 26)),
    ],
)
def test_weekdays(text: str, expected: date) -> None:
    assert one_day(text) == expected


def test_weekday_on_sunday_and_next_week_qualifier() -> None:
    sunday = datetime(2026, 11, 29, 11, 0, tzinfo=SP)
    assert one_day("segunda", sunday) == date(2026, 11, 30)
    assert one_day("segunda que vem", sunday) == date(2026, 11, 30)
    assert one_day("domingo", sunday) == date(2026, 12, 6)


@pytest.mark.parametrize(
    "text",
    ["segunda via do boleto", "quero a segunda via", "é a segunda vez que peço", "quero uma segunda opinião"],
)
def test_ordinal_segunda_is_not_a_weekday(text: str) -> None:
    assert parse_when(text, NOW) is None


def test_ter_as_a_verb_is_not_tuesday() -> None:
    assert parse_when("quero ter uma consulta", NOW) is None


# -- weeks and months ------------------------------------------------------------------------


def test_next_week_is_monday_to_sunday() -> None:
    assert day_window("semana que vem") == (date(2026, 11, 30), date(2026, 12, 6))
    assert day_window("próxima semana") == (date(2026, 11, 30), date(2026, 12, 6))
    assert day_window("proxima semana") == (date(2026, 11, 30), date(2026, 12, 6))


def test_this_week_starts_now() -> None:
    when = parse_when("essa semana", NOW)
    assert when is not None and when.start == NOW
    assert day_window("esta semana") == (date(2026, 11, 24), date(2026, 11, 29))


def test_next_month_and_named_month() -> None:
    assert day_window("mês que vem") == (date(2026, 12, 1), date(2026, 12, 31))
    assert day_window("em dezembro") == (date(2026, 12, 1), date(2026, 12, 31))
    # a month already past this year is next year's
    assert day_window("em março") == (date(2027, 3, 1), date(2027, 3, 31))


def test_weekend() -> None:
    assert day_window("fim de semana") == (date(2026, 11, 28), date(2026, 11, 29))


# -- explicit dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dia 15", date(2026, 12, 15)),
        ("no dia 30", date(2026, 11, 30)),
        ("dia 24", date(2026, 11, 24)),  # today still counts
        ("dia 5", date(2026, 12, 5)),  # past in this month -> next month
        ("dia primeiro", date(2026, 12, 1)),
        ("15/12", date(2026, 12, 15)),
        ("15/12/2026", date(2026, 12, 15)),
        ("15/12/26", date(2026, 12, 15)),
        ("15-12", date(2026, 12, 15)),
        ("5/1", date(2027, 1, 5)),
        ("15 de dezembro", date(2026, 12, 15)),
        ("15 dez", date(2026, 12, 15)),
        ("dia 2 de março", date(2027, 3, 2)),
        ("quinta 14/01", date(2027, 1, 14)),
    ],
)
def test_explicit_dates(text: str, expected: date) -> None:
    assert one_day(text) == expected


def test_year_rollover_asked_in_december() -> None:
    assert one_day("15/01", DECEMBER) == date(2027, 1, 15)
    assert one_day("dia 10", DECEMBER) == date(2027, 1, 10)
    assert one_day("15 de janeiro", DECEMBER) == date(2027, 1, 15)
    # next year is shown in the description
    when = parse_when("15/01", DECEMBER)
    assert when is not None and "2027" in when.description


def test_month_rollover_skips_months_without_that_day() -> None:
    # January 31st: "dia 30" is not in February -> March 30th
    assert one_day("dia 30", END_OF_JANUARY) == date(2026, 3, 30)
    assert one_day("dia 31", END_OF_JANUARY) == date(2026, 1, 31)
    assert one_day("dia 31", NOW) == date(2026, 12, 31)


def test_february_29th_goes_to_the_next_leap_year() -> None:
    assert one_day("29/02", NOW) == date(2028, 2, 29)


def test_impossible_dates_are_not_dates() -> None:
    assert parse_when("32/12", NOW) is None
    assert parse_when("dia 40", NOW) is None
    assert parse_when("31/04/2027", NOW) is None


def test_an_explicit_past_year_is_kept_and_reported_expired() -> None:
    when = parse_when("10/10/2025", NOW)
    assert when is not None
    assert when.start.date() == date(2025, 10, 10)
    assert when.expired(NOW)


def test_numbers_that_are_not_dates() -> None:
    assert parse_when("meu cpf é 529.982.247-25", NOW) is None
    assert parse_when("meu telefone 11 98765-4321", NOW) is None
    assert parse_when("quero marcar uma consulta", NOW) is None
    assert parse_when("", NOW) is None


# -- periods and times -----------------------------------------------------------------------


def test_morning_afternoon_evening_on_a_day() -> None:
    morning = parse_when("amanhã de manhã", NOW)
    assert morning is not None
    assert (morning.start, morning.end) == (
        datetime(2026, 11, 25, 8, 0, tzinfo=SP),
        datetime(2026, 11, 25, 12, 0, tzinfo=SP),
    )
    assert (morning.time_from, morning.time_to) == (time(8), time(12))
    afternoon = parse_when("depois de amanhã à tarde", NOW)
    assert afternoon is not None
    assert (afternoon.start.hour, afternoon.end.hour) == (12, 18)
    evening = parse_when("sexta à noite", NOW)
    assert evening is not None
    assert evening.start == datetime(2026, 11, 27, 18, 0, tzinfo=SP)
    assert evening.end == datetime(2026, 11, 28, 0, 0, tzinfo=SP)
    assert evening.time_to is None


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("de manhã", time(8), time(12)),
        ("manha", time(8), time(12)),
        ("pela manhã", time(8), time(12)),
        ("à tarde", time(12), time(18)),
        ("de tarde", time(12), time(18)),
        ("a noite", time(18), None),
        ("depois das 18h", time(18), None),
        ("depois das 14h", time(14), None),
        ("a partir das 15", time(15), None),
        ("após as 16:30", time(16, 30), None),
        ("antes das 10", None, time(10)),
        ("até as 11h", None, time(11)),
        ("às 9h", time(9), time(10)),
        ("as 9", time(9), time(10)),
        ("9:30", time(9, 30), time(10, 30)),
        ("9h30", time(9, 30), time(10, 30)),
        ("às 10 e meia", time(10, 30), time(11, 30)),
        ("14 horas", time(14), time(15)),
        ("às 2", time(14), time(15)),  # afternoon: the clinic does not open at 2 a.m.
        ("às duas da tarde", time(14), time(15)),
        ("as 7 da noite", time(19), time(20)),
        ("meio dia", time(12), time(13)),
        ("das 14 às 16", time(14), time(16)),
        ("entre 9 e 11", time(9), time(11)),
        ("depois do almoço", time(13), None),
    ],
)
def test_daily_windows_without_a_day(text: str, start: time | None, end: time | None) -> None:
    when = parse_when(text, NOW)
    assert when is not None, text
    assert (when.time_from, when.time_to) == (start, end)
    assert not when.day_given
    assert when.end == datetime(2026, 12, 25, 0, 0, tzinfo=SP)  # default horizon: 30 days


def test_period_combined_with_a_bound() -> None:
    when = parse_when("terça de tarde depois das 15h", NOW)
    assert when is not None
    assert (when.time_from, when.time_to) == (time(15), time(18))
    assert when.start == datetime(2026, 12, 1, 15, 0, tzinfo=SP)


def test_good_afternoon_greeting_is_not_a_period() -> None:
    assert parse_when("boa tarde, quero marcar", NOW) is None
    assert parse_when("boa noite", NOW) is None
    assert parse_when("bom dia", NOW) is None


def test_date_with_time() -> None:
    when = parse_when("dia 10 às 14:30", NOW)
    assert when is not None
    assert when.start == datetime(2026, 12, 10, 14, 30, tzinfo=SP)
    assert when.end == datetime(2026, 12, 10, 15, 30, tzinfo=SP)
    when = parse_when("15 de dez as 10h", NOW)
    assert when is not None and when.start == datetime(2026, 12, 15, 10, 0, tzinfo=SP)


def test_period_of_a_multi_day_window_is_a_daily_filter() -> None:
    when = parse_when("semana que vem de manhã", NOW)
    assert when is not None
    assert when.matches(datetime(2026, 12, 2, 9, 0, tzinfo=SP))
    assert not when.matches(datetime(2026, 12, 2, 14, 0, tzinfo=SP))
    assert not when.matches(datetime(2026, 11, 27, 9, 0, tzinfo=SP))


def test_today_morning_asked_in_the_afternoon_is_expired() -> None:
    when = parse_when("hoje de manhã", NOW)
    assert when is not None and when.expired(NOW)
    later = parse_when("hoje à noite", NOW)
    assert later is not None and not later.expired(NOW)


# -- flexible --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["qualquer dia", "tanto faz", "qualquer horário", "sem preferência"])
def test_any_day(text: str) -> None:
    when = parse_when(text, NOW)
    assert when is not None
    assert not when.day_given and not when.asap
    assert when.start == NOW
    assert when.end - NOW > timedelta(days=29)
    assert when.description == "qualquer dia"


@pytest.mark.parametrize(
    "text", ["o quanto antes", "mais cedo possível", "o mais rápido possível", "primeiro horário disponível"]
)
def test_as_soon_as_possible(text: str) -> None:
    when = parse_when(text, NOW)
    assert when is not None
    assert when.asap and not when.day_given
    assert when.start == NOW
    assert when.description == "o quanto antes"


def test_any_day_in_the_morning() -> None:
    when = parse_when("qualquer dia de manhã", NOW)
    assert when is not None
    assert (when.time_from, when.time_to) == (time(8), time(12))
    assert when.description == "qualquer dia de manhã"


def test_open_ended_and_bounded_ranges() -> None:
    assert day_window("a partir de segunda")[0] == date(2026, 11, 30)
    assert day_window("depois do dia 10")[0] == date(2026, 12, 11)
    assert day_window("até sexta") == (date(2026, 11, 24), date(2026, 11, 27))


# -- the window itself ------------------------------------------------------------------------


def test_windows_are_timezone_aware_in_the_clinic_zone() -> None:
    for text in ["amanhã", "dia 15", "de manhã", "qualquer dia", "semana que vem"]:
        when = parse_when(text, NOW)
        assert when is not None
        assert when.start.tzinfo is not None and when.end.tzinfo is not None
        assert when.start < when.end


def test_now_in_utc_or_naive_is_read_as_clinic_time() -> None:
    utc_now = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 22:00 on the 24th in São Paulo
    assert one_day("amanhã", utc_now) == date(2026, 11, 25)
    naive = datetime(2026, 11, 24, 14, 5)
    assert one_day("amanhã", naive) == date(2026, 11, 25)


def test_matches_accepts_other_offsets() -> None:
    when = parse_when("amanhã de manhã", NOW)
    assert when is not None
    assert when.matches(datetime(2026, 11, 25, 12, 30, tzinfo=UTC))  # 09:30 in São Paulo
    assert not when.matches(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))  # 13:00


def test_round_trip_through_a_slot_value() -> None:
    when = parse_when("sexta à tarde depois das 15h", NOW)
    assert when is not None
    assert WhenRange.from_dict(when.to_dict()) == when


def test_descriptions_are_pt_br() -> None:
    cases = {
        "amanhã de manhã": "amanhã (quarta, 25/11) de manhã",
        "segunda": "segunda, 30/11",
        "terça que vem": "terça que vem, 01/12",
        "dia 15": "terça, 15/12",
        "depois das 18h": "depois das 18h",
        "às 9h30": "às 9h30",
        "semana que vem": "semana que vem (30/11 a 06/12)",
    }
    for text, description in cases.items():
        when = parse_when(text, NOW)
        assert when is not None and when.description == description, (text, when)


# -- birth dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("25/03/1980", date(1980, 3, 25)),
        ("25-03-1980", date(1980, 3, 25)),
        ("25.03.1980", date(1980, 3, 25)),
        ("25031980", date(1980, 3, 25)),
        ("nasci em 25 de março de 1980", date(1980, 3, 25)),
        ("25/03/80", date(1980, 3, 25)),
        ("05/07/05", date(2005, 7, 5)),
    ],
)
def test_birth_dates(text: str, expected: date) -> None:
    assert parse_birth_date(text, NOW.date()) == expected


@pytest.mark.parametrize("text", ["31/02/1990", "01/01/2030", "01/01/1890", "12/05", "não sei", ""])
def test_invalid_birth_dates(text: str) -> None:
    assert parse_birth_date(text, NOW.date()) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("semana q vem", (date(2026, 11, 30), date(2026, 12, 6))),
        ("sexta q vem", (date(2026, 12, 4), date(2026, 12, 4))),
        ("dps de amanha", (date(2026, 11, 26), date(2026, 11, 26))),
        ("amnh de mnh", (date(2026, 11, 25), date(2026, 11, 25))),
        ("pro dia 15", (date(2026, 12, 15), date(2026, 12, 15))),
    ],
)
def test_whatsapp_abbreviations(text: str, expected: tuple[date, date]) -> None:
    assert day_window(text) == expected


def test_any_day_abbreviated() -> None:
    when = parse_when("n sei, qlq horario", NOW)
    assert when is not None and not when.day_given and when.description == "qualquer dia"
