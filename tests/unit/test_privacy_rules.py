"""Data-subject request rules: status table, 15-day clock, identity, corrections, legal holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from handoff.domain import privacy as p


def test_status_table_is_explicit_and_final_states_are_final() -> None:
    assert p.next_status("open", "in_progress") is p.RequestStatus.IN_PROGRESS
    assert p.next_status("open", "rejected") is p.RequestStatus.REJECTED
    assert p.next_status("in_progress", "answered") is p.RequestStatus.ANSWERED
    for bad in (("open", "answered"), ("answered", "in_progress"), ("rejected", "open"), ("in_progress", "open")):
        with pytest.raises(p.IllegalRequestTransition):
            p.next_status(*bad)


def test_clock_fifteen_days_and_escalation_once() -> None:
    created = datetime(2026, 12, 1, 12, tzinfo=UTC)
    due = p.due_at(created)
    assert due == datetime(2026, 12, 16, 12, tzinfo=UTC)
    early = p.clock(due, created + timedelta(days=1), "open", warn_days=3)
    assert (round(early.days_left), early.overdue, early.escalate) == (14, False, False)
    near = p.clock(due, created + timedelta(days=12, hours=1), "in_progress", warn_days=3)
    assert near.escalate and not near.overdue
    late = p.clock(due, created + timedelta(days=16), "open", warn_days=3)
    assert late.overdue and late.escalate and late.days_left < 0
    assert not p.clock(due, created + timedelta(days=16), "answered", warn_days=3).escalate
    assert p.should_escalate(due, created + timedelta(days=16), "open", 3, None)
    assert not p.should_escalate(due, created + timedelta(days=16), "open", 3, created + timedelta(days=13))


def test_identity_rules() -> None:
    assert not p.needs_strong_identity(identity_count=1, linked_records=1)
    assert p.needs_strong_identity(identity_count=2, linked_records=1)
    assert p.needs_strong_identity(identity_count=1, linked_records=2)
    birth = date(1980, 5, 17)
    assert p.identity_matches("52998224725", birth, "529.982.247-25", birth)
    assert not p.identity_matches("52998224725", birth, "529.982.247-25", date(1980, 5, 18))
    assert not p.identity_matches("52998224725", birth, "11111111111", birth)
    assert not p.identity_matches(None, birth, "52998224725", birth)  # a record without CPF cannot be verified
    assert not p.identity_matches("52998224725", birth, None, birth)
    assert p.mask_cpf("52998224725") == "***.982.247-**"
    a, b = p.erased_placeholder(), p.erased_placeholder()
    assert a != b and a.startswith("erased:") and len(a) == 71


def test_corrections_are_validated() -> None:
    today = date(2026, 12, 6)
    assert p.clean_name("  Maria   da Silva ") == "Maria da Silva"
    assert p.clean_email(" Maria@Exemplo.COM ") == "maria@exemplo.com"
    assert p.clean_phone("(11) 98765-4321") == "+5511987654321"
    assert p.clean_phone("+55 21 3456-7890") == "+552134567890"
    assert p.clean_birth_date(date(1990, 1, 1), today) == date(1990, 1, 1)
    for call in (lambda: p.clean_name("x"), lambda: p.clean_email("no-at"), lambda: p.clean_phone("123"),
                 lambda: p.clean_birth_date(date(2027, 1, 1), today),
                 lambda: p.clean_birth_date(date(1800, 1, 1), today)):
        with pytest.raises(p.InvalidCorrection):
            call()


def test_legal_holds_medical_record_twenty_years_fiscal_five() -> None:
    today = date(2026, 12, 6)
    holds = p.legal_holds(medical_entries=[datetime(2020, 3, 10, 9, tzinfo=UTC), date(2024, 2, 29)],
                          fiscal_documents=[date(2023, 7, 1)], today=today)
    by = {h.category: h for h in holds}
    assert by["medical_record"].until == date(2044, 2, 29)  # 20 years from the last entry
    assert p.add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)  # a leap day in a common year
    assert by["medical_record"].items == 2 and "13.787" in by["medical_record"].basis
    assert by["fiscal"].until == date(2028, 12, 31)  # CTN 173: 5 years from 1 January of the next year
    # Expired holds are not listed; nothing held = nothing listed.
    assert p.legal_holds(medical_entries=[date(2000, 1, 1)], fiscal_documents=[date(2015, 1, 1)], today=today) == []
    assert p.legal_holds(medical_entries=[], fiscal_documents=[], today=today) == []
    # A hold staff recorded wins when longer, and indefinite ones always count.
    explicit = [p.Hold("medical_record", "ordem judicial", None), p.Hold("fiscal", "x", date(2020, 1, 1))]
    holds = p.legal_holds(medical_entries=[date(2020, 1, 1)], fiscal_documents=[], today=today, explicit=explicit)
    assert [(h.category, h.until, h.basis) for h in holds] == [("medical_record", None, "ordem judicial")]
