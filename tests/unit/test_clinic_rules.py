"""The clinic's pure rules: holidays, business hours, free slots, CPF, appointments, billing, identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from handoff.domain.clinic import appointments as rules
from handoff.domain.clinic.appointments import AppointmentRuleError, AppointmentStatus
from handoff.domain.clinic.billing import (
    barcode_from_linha,
    boleto_barcode,
    boleto_status,
    crc16_ccitt,
    due_factor,
    format_brl,
    linha_digitavel,
    mod11_barcode,
    pix_copia_e_cola,
)
from handoff.domain.clinic.calendar import (
    CLINIC_TZ,
    closes_at,
    easter_sunday,
    holiday_name,
    hours_text,
    is_open,
    national_holidays,
    next_opening,
)
from handoff.domain.clinic.cpf import cpf_check_digits, format_cpf, normalize_cpf, valid_cpf
from handoff.domain.clinic.identity import IdentityAction, IdentityError, KnownPerson, decide_identity
from handoff.domain.clinic.slots import (
    DoctorSchedule,
    free_slots,
    offered_slot,
    parse_slot_id,
    slot_id,
)

HOURS = {
    **{wd: [(time(8), time(12)), (time(13), time(18))] for wd in range(5)},
    5: [(time(8), time(12))],
}


def sp(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """São Paulo wall time."""
    return datetime(y, mo, d, h, mi, tzinfo=CLINIC_TZ)


# --- holidays ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
     (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22))],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 2, 16), "Carnaval (segunda-feira)"),
        (date(2026, 2, 17), "Carnaval (terça-feira)"),
        (date(2026, 4, 3), "Sexta-feira Santa"),
        (date(2026, 6, 4), "Corpus Christi"),
        (date(2027, 2, 8), "Carnaval (segunda-feira)"),
        (date(2027, 2, 9), "Carnaval (terça-feira)"),
        (date(2027, 3, 26), "Sexta-feira Santa"),
        (date(2027, 5, 27), "Corpus Christi"),
        (date(2026, 1, 1), "Confraternização Universal"),
        (date(2026, 4, 21), "Tiradentes"),
        (date(2026, 5, 1), "Dia do Trabalho"),
        (date(2026, 9, 7), "Independência do Brasil"),
        (date(2026, 10, 12), "Nossa Senhora Aparecida"),
        (date(2026, 11, 2), "Finados"),
        (date(2026, 11, 15), "Proclamação da República"),
        (date(2026, 11, 20), "Dia Nacional de Zumbi e da Consciência Negra"),
        (date(2026, 12, 25), "Natal"),
    ],
)
def test_national_holidays(day: date, name: str) -> None:
    assert holiday_name(day) == name


@pytest.mark.parametrize(
    "day",
    [date(2026, 2, 18), date(2026, 2, 15), date(2026, 4, 5), date(2026, 6, 3), date(2027, 2, 10),
     date(2027, 5, 28), date(2023, 11, 20), date(2026, 12, 24)],
)
def test_ordinary_days_are_not_holidays(day: date) -> None:
    # Ash Wednesday, Easter Sunday itself (a Sunday anyway), the days around Corpus Christi,
    # and 20 November before Lei 14.759/2023 took effect.
    assert holiday_name(day) is None


def test_every_year_has_the_same_number_of_closed_days() -> None:
    assert {len(national_holidays(y)) for y in range(2024, 2060)} == {13}


# --- business hours ---------------------------------------------------------------------------


def test_open_during_intervals_closed_at_lunch_and_on_sunday() -> None:
    assert is_open(HOURS, sp(2026, 11, 24, 8, 0))  # a Tuesday
    assert is_open(HOURS, sp(2026, 11, 24, 11, 59))
    assert not is_open(HOURS, sp(2026, 11, 24, 12, 0))
    assert not is_open(HOURS, sp(2026, 11, 24, 12, 30))
    assert is_open(HOURS, sp(2026, 11, 24, 17, 59))
    assert not is_open(HOURS, sp(2026, 11, 24, 18, 0))
    assert not is_open(HOURS, sp(2026, 11, 29, 10, 0))  # Sunday
    assert is_open(HOURS, sp(2026, 11, 28, 9, 0))  # Saturday morning
    assert not is_open(HOURS, sp(2026, 11, 28, 14, 0))  # Saturday afternoon


def test_input_in_utc_is_read_in_clinic_time() -> None:
    # 11:30 UTC = 08:30 in São Paulo (UTC-3, no daylight saving since 2019).
    assert is_open(HOURS, datetime(2026, 11, 24, 11, 30, tzinfo=UTC))
    assert not is_open(HOURS, datetime(2026, 11, 24, 10, 30, tzinfo=UTC))


def test_next_opening() -> None:
    assert next_opening(HOURS, sp(2026, 11, 24, 10, 0)) is None  # open now
    assert next_opening(HOURS, sp(2026, 11, 24, 12, 15)) == sp(2026, 11, 24, 13, 0)  # lunch
    assert next_opening(HOURS, sp(2026, 11, 24, 19, 0)) == sp(2026, 11, 25, 8, 0)  # evening
    assert next_opening(HOURS, sp(2026, 11, 24, 6, 0)) == sp(2026, 11, 24, 8, 0)  # early morning
    assert next_opening(HOURS, sp(2026, 11, 28, 12, 0)) == sp(2026, 11, 30, 8, 0)  # Saturday noon -> Monday


def test_next_opening_skips_holidays() -> None:
    # Saturday before Carnaval 2026: Sunday closed, Carnaval Monday and Tuesday closed -> Ash Wednesday.
    assert next_opening(HOURS, sp(2026, 2, 14, 12, 30)) == sp(2026, 2, 18, 8, 0)
    # Thursday evening before Good Friday 2026 -> Saturday morning.
    assert next_opening(HOURS, sp(2026, 4, 2, 18, 30)) == sp(2026, 4, 4, 8, 0)
    assert not is_open(HOURS, sp(2026, 6, 4, 10, 0))  # Corpus Christi 2026 (a Thursday)
    assert not is_open(HOURS, sp(2027, 5, 27, 10, 0))  # Corpus Christi 2027
    assert next_opening(HOURS, sp(2027, 5, 26, 18, 0)) == sp(2027, 5, 28, 8, 0)


def test_closes_at_and_hours_text() -> None:
    assert closes_at(HOURS, sp(2026, 11, 24, 9, 0)) == sp(2026, 11, 24, 12, 0)
    assert closes_at(HOURS, sp(2026, 11, 24, 14, 0)) == sp(2026, 11, 24, 18, 0)
    assert closes_at(HOURS, sp(2026, 11, 24, 12, 30)) is None
    assert hours_text(HOURS) == (
        "Segunda a sexta, das 8h às 12h e das 13h às 18h; sábado, das 8h às 12h. "
        "Fechado aos domingos e feriados nacionais."
    )


# --- slots ------------------------------------------------------------------------------------


FULL_WEEK = [DoctorSchedule(7, wd, time(8), time(18), 30) for wd in range(6)]  # rows span lunch and Sat pm


def test_slots_skip_lunch_and_saturday_afternoon_and_sunday() -> None:
    now = sp(2026, 11, 20, 6, 0)  # Friday before the week
    slots = free_slots(FULL_WEEK, HOURS, {}, sp(2026, 11, 23), sp(2026, 11, 30), now)
    starts = [s.start for s in slots]
    assert starts[0] == sp(2026, 11, 23, 8, 0)
    monday = [s for s in starts if s.date() == date(2026, 11, 23)]
    assert len(monday) == 8 + 10  # 08:00..11:30 and 13:00..17:30
    assert all(not (time(12) <= s.timetz().replace(tzinfo=None) < time(13)) for s in starts)
    saturday = [s for s in starts if s.date() == date(2026, 11, 28)]
    assert saturday[-1] == sp(2026, 11, 28, 11, 30) and len(saturday) == 8
    assert not [s for s in starts if s.date() == date(2026, 11, 29)]  # Sunday
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert starts == sorted(starts)
    assert all(s.start.utcoffset() == timedelta(hours=-3) for s in slots)


def test_slot_length_per_doctor_never_crosses_a_break() -> None:
    rows = [DoctorSchedule(1, 0, time(8), time(18), 40)]
    slots = free_slots(rows, HOURS, {}, sp(2026, 11, 23), sp(2026, 11, 24), sp(2026, 11, 1))
    morning = [s.start.strftime("%H:%M") for s in slots if s.start.hour < 12]
    assert morning == ["08:00", "08:40", "09:20", "10:00", "10:40", "11:20"]
    afternoon = [s.start.strftime("%H:%M") for s in slots if s.start.hour >= 13]
    assert afternoon == ["13:00", "13:40", "14:20", "15:00", "15:40", "16:20", "17:00"]  # 17:40 would end at 18:20


def test_no_slots_in_the_past_or_within_the_next_hour() -> None:
    now = sp(2026, 11, 23, 9, 10)
    slots = free_slots(FULL_WEEK, HOURS, {}, sp(2026, 11, 23), sp(2026, 11, 24), now)
    assert slots[0].start == sp(2026, 11, 23, 10, 30)  # 10:10 is the earliest allowed start
    now_utc = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 17:00 in São Paulo: nothing left today
    later = free_slots(FULL_WEEK, HOURS, {}, sp(2026, 11, 23), sp(2026, 11, 25), now_utc)
    assert later[0].start == sp(2026, 11, 24, 8, 0)


def test_booked_appointments_remove_overlapping_slots() -> None:
    busy = {
        7: [
            (sp(2026, 11, 23, 8, 0), sp(2026, 11, 23, 8, 30)),  # exactly one slot
            (sp(2026, 11, 23, 9, 15), sp(2026, 11, 23, 9, 45)),  # overlaps two slots
        ],
        99: [(sp(2026, 11, 23, 10, 0), sp(2026, 11, 23, 10, 30))],  # another doctor: irrelevant
    }
    slots = free_slots(FULL_WEEK, HOURS, busy, sp(2026, 11, 23), sp(2026, 11, 23, 12), sp(2026, 11, 1))
    assert [s.start.strftime("%H:%M") for s in slots] == ["08:30", "10:00", "10:30", "11:00", "11:30"]


def test_holidays_have_no_slots() -> None:
    rows = [DoctorSchedule(3, wd, time(8), time(12), 30) for wd in range(5)]
    for start, end in ((sp(2026, 2, 16), sp(2026, 2, 18)), (sp(2026, 6, 4), sp(2026, 6, 5)),
                       (sp(2027, 2, 8), sp(2027, 2, 10)), (sp(2027, 5, 27), sp(2027, 5, 28))):
        assert free_slots(rows, HOURS, {}, start, end, sp(2026, 1, 1)) == []
    ash_wednesday = free_slots(rows, HOURS, {}, sp(2026, 2, 16), sp(2026, 2, 19), sp(2026, 1, 1))
    assert {s.start.date() for s in ash_wednesday} == {date(2026, 2, 18)}


def test_limit_and_ordering_across_doctors() -> None:
    rows = [DoctorSchedule(2, 0, time(8), time(12), 30), DoctorSchedule(1, 0, time(8), time(12), 20)]
    slots = free_slots(rows, HOURS, {}, sp(2026, 11, 23), sp(2026, 11, 24), sp(2026, 11, 1), limit=4)
    assert [(s.doctor_id, s.start.strftime("%H:%M")) for s in slots] == [
        (1, "08:00"), (2, "08:00"), (1, "08:20"), (2, "08:30"),
    ]


def test_slot_ids_round_trip_and_offered_slot_validation() -> None:
    start = sp(2026, 11, 23, 13, 30)
    sid = slot_id(7, start)
    assert sid == "7-202611231330"
    assert parse_slot_id(sid) == (7, start)
    assert parse_slot_id(slot_id(7, start.astimezone(UTC))) == (7, start)
    for bad in ("", "7", "x-202611231330", "7-2026112313", "7-202611231330-1"):
        with pytest.raises(ValueError, match="malformed"):
            parse_slot_id(bad)
    now = sp(2026, 11, 20, 9, 0)
    assert offered_slot(FULL_WEEK, HOURS, 7, start, now) is not None
    assert offered_slot(FULL_WEEK, HOURS, 7, sp(2026, 11, 23, 13, 45), now) is None  # not aligned
    assert offered_slot(FULL_WEEK, HOURS, 7, sp(2026, 11, 23, 12, 0), now) is None  # lunch
    assert offered_slot(FULL_WEEK, HOURS, 8, start, now) is None  # another doctor's agenda
    assert offered_slot(FULL_WEEK, HOURS, 7, start, start - timedelta(minutes=59)) is None  # within the hour
    assert offered_slot(FULL_WEEK, HOURS, 7, sp(2026, 11, 20, 8, 0), now) is None  # past


# --- CPF --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["529.982.247-25", "52998224725", " 111.444.777-35 ", "111 444 777 35"])
def test_valid_cpfs(raw: str) -> None:
    assert valid_cpf(raw)


@pytest.mark.parametrize(
    "raw",
    ["529.982.247-24", "52998224735", "111.111.111-11", "00000000000", "99999999999", "5299822472", "529982247250",
     "529.982.247-2a", "abc", "", "529.982.247/25", "５２９９８２２４７２５"],
)
def test_invalid_cpfs(raw: str) -> None:
    assert not valid_cpf(raw)


def test_cpf_helpers() -> None:
    assert cpf_check_digits("529982247") == "25"
    assert normalize_cpf("529.982.247-25") == "52998224725"
    assert format_cpf("52998224725") == "529.982.247-25"
    # Repeated digits have arithmetically valid check digits; only the explicit rule rejects them.
    assert cpf_check_digits("111111111") == "11"


# --- appointments -----------------------------------------------------------------------------


def test_appointment_lifecycle() -> None:
    start, before, after = sp(2026, 12, 1, 9), sp(2026, 11, 30, 9), sp(2026, 12, 1, 9, 1)
    s = AppointmentStatus
    assert rules.confirm(s.SCHEDULED, start, before) is s.CONFIRMED
    assert rules.confirm(s.CONFIRMED, start, before) is s.CONFIRMED
    assert rules.cancel(s.CONFIRMED, start, before) is s.CANCELLED
    assert rules.cancel(s.CANCELLED, start, after) is s.CANCELLED  # idempotent
    assert rules.check_reschedule(s.CONFIRMED, start, before) is s.SCHEDULED  # the new time needs confirming
    assert rules.complete(s.CONFIRMED, start, after) is s.DONE
    for call, status, now, code in [
        (rules.confirm, s.CANCELLED, before, "appointment_cancelled"),
        (rules.confirm, s.SCHEDULED, start, "appointment_started"),
        (rules.cancel, s.SCHEDULED, start, "appointment_started"),
        (rules.cancel, s.DONE, before, "appointment_started"),
        (rules.check_reschedule, s.CANCELLED, before, "appointment_cancelled"),
        (rules.check_reschedule, s.CONFIRMED, after, "appointment_started"),
        (rules.complete, s.SCHEDULED, after, "appointment_not_confirmed"),
        (rules.complete, s.CONFIRMED, before, "appointment_not_started"),
    ]:
        with pytest.raises(AppointmentRuleError) as exc:
            call(status, start, now)
        assert exc.value.code == code
    assert rules.is_upcoming(s.SCHEDULED, start, before)
    assert not rules.is_upcoming(s.CANCELLED, start, before)
    assert not rules.is_upcoming(s.CONFIRMED, start, after)


# --- billing ----------------------------------------------------------------------------------


def test_linha_digitavel_of_a_real_boleto_round_trips() -> None:
    linha = "23793.38128 60007.827136 95000.063305 9 75520000370000"
    barcode = barcode_from_linha(linha)
    assert len(barcode) == 44
    assert mod11_barcode(barcode[:4] + barcode[5:]) == int(barcode[4])
    assert linha_digitavel(barcode) == linha


def test_boleto_barcode_fields() -> None:
    barcode = boleto_barcode("341", 35000, date(2026, 12, 4), "1" * 25)
    assert barcode[:4] == "3419" and barcode[5:9] == due_factor(date(2026, 12, 4))
    assert barcode[9:19] == "0000035000"
    linha = linha_digitavel(barcode)
    assert barcode_from_linha(linha) == barcode
    assert len(linha.replace(".", "").replace(" ", "")) == 47
    assert due_factor(date(2000, 7, 3)) == "1000"
    assert due_factor(date(2025, 2, 21)) == "9999"
    assert due_factor(date(2025, 2, 22)) == "1000"  # the FEBRABAN factor wrap


def test_pix_copia_e_cola_has_a_valid_crc() -> None:
    assert crc16_ccitt(b"123456789") == "29B1"  # the CRC-16/CCITT-FALSE check value
    code = pix_copia_e_cola("chave-pix", 35000, "CLINICA EXEMPLO", "SAO PAULO", "BOL1")
    assert code.startswith("000201") and "br.gov.bcb.pix" in code and "5406350.00" in code
    assert code[-4:] == crc16_ccitt(code[:-4].encode())


def test_boleto_status_and_money() -> None:
    due = date(2026, 12, 10)
    assert boleto_status(due, False, date(2026, 12, 10)) == "open"
    assert boleto_status(due, False, date(2026, 12, 11)) == "overdue"
    assert boleto_status(due, True, date(2027, 1, 1)) == "paid"
    assert format_brl(35000) == "R$ 350,00"
    assert format_brl(123456789) == "R$ 1.234.567,89"
    assert format_brl(5) == "R$ 0,05"


# --- identity ---------------------------------------------------------------------------------


def test_identity_linking_rules() -> None:
    bday = date(1968, 3, 14)
    nobody = KnownPerson(None, None)
    holder = KnownPerson("52998224725", bday)
    assert decide_identity(nobody, "52998224725", None, None) is IdentityAction.UPDATE_OWN
    assert decide_identity(nobody, "52998224725", bday, holder) is IdentityAction.LINK
    assert decide_identity(KnownPerson(None, bday), "52998224725", None, holder) is IdentityAction.LINK
    assert decide_identity(nobody, "52998224725", None, KnownPerson("52998224725", None)) is IdentityAction.LINK
    for own, cpf, birth, other, code in [
        (nobody, "52998224725", None, holder, "birth_date_required"),
        (nobody, "52998224725", date(1968, 3, 15), holder, "identity_mismatch"),
        (KnownPerson("11144477735", None), "52998224725", bday, holder, "cpf_mismatch"),
        (KnownPerson(None, bday), None, date(1990, 1, 1), None, "identity_mismatch"),
    ]:
        with pytest.raises(IdentityError) as exc:
            decide_identity(own, cpf, birth, other)
        assert exc.value.code == code
