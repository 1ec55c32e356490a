"""Retention rules (handoff.domain.retention) and the incident register's working-day deadline
(handoff.domain.incidents): periods, cutoffs, legal holds, what disposal may touch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from handoff.domain import incidents
from handoff.domain import retention as r
from handoff.domain.clinic.calendar import CLINIC_TZ

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_every_category_has_a_default_a_label_and_a_place_in_the_run() -> None:
    assert set(r.DEFAULT_DAYS) == set(r.Category) == set(r.LABELS) == set(r.DESCRIPTIONS) == set(r.RUN_ORDER)
    assert r.DEFAULT_DAYS[r.Category.TRANSCRIPTS] == 730
    assert r.DEFAULT_DAYS[r.Category.ATTACHMENTS] == 365
    assert r.DEFAULT_DAYS[r.Category.AUDIT] == 1825


def test_stored_rows_win_over_defaults_and_none_means_keep() -> None:
    periods = r.effective_days({"transcripts": 90, "audit": None})
    assert periods[r.Category.TRANSCRIPTS] == 90
    assert periods[r.Category.AUDIT] is None
    assert periods[r.Category.ATTACHMENTS] == 365  # no row: default


def test_cutoff_is_now_minus_the_period_and_none_keeps() -> None:
    assert r.cutoff(NOW, 30) == NOW - timedelta(days=30)
    assert r.cutoff(NOW, None) is None
    cuts = r.cutoffs(NOW, {r.Category.TRANSCRIPTS: 10, r.Category.AUDIT: None})
    assert cuts[r.Category.TRANSCRIPTS] == NOW - timedelta(days=10)
    assert cuts[r.Category.AUDIT] is None
    with pytest.raises(ValueError):
        r.cutoff(NOW.replace(tzinfo=None), 1)


@pytest.mark.parametrize(("category", "days", "ok"), [
    (r.Category.TRANSCRIPTS, 1, True),
    (r.Category.TRANSCRIPTS, 0, False),
    (r.Category.TRANSCRIPTS, -5, False),
    (r.Category.TRANSCRIPTS, None, True),
    (r.Category.AUDIT, 179, False),  # Marco Civil: at least 6 months
    (r.Category.AUDIT, 180, True),
    (r.Category.ATTACHMENTS, r.MAX_DAYS + 1, False),
])
def test_validate_days(category: r.Category, days: int | None, ok: bool) -> None:
    if ok:
        assert r.validate_days(category, days) == days
    else:
        with pytest.raises(r.PolicyError):
            r.validate_days(category, days)


def test_validate_days_refuses_non_integers_and_unknown_categories() -> None:
    with pytest.raises(r.PolicyError):
        r.validate_days(r.Category.TRANSCRIPTS, True)
    with pytest.raises(r.PolicyError):
        r.parse_category("everything")
    assert r.parse_category("audit") is r.Category.AUDIT


def test_legal_holds_protect_until_released_or_past_their_date() -> None:
    today = date(2026, 12, 7)
    holds = [
        r.Hold(1, None, None),  # indefinite
        r.Hold(2, date(2026, 12, 7), None),  # through today (inclusive)
        r.Hold(3, date(2026, 12, 6), None),  # expired yesterday
        r.Hold(4, None, NOW),  # released
    ]
    assert r.held_patients(holds, today) == frozenset({1, 2})


def test_open_conversations_and_in_flight_messages_are_never_disposable() -> None:
    for state in ("queued", "assigned", "waiting_patient"):
        assert not r.conversation_disposable(state)
    assert r.conversation_disposable("bot") and r.conversation_disposable("resolved")
    for status in ("pending", "queued", "sending"):
        assert not r.message_disposable(status)
    for status in ("processed", "routed", "handed_off", "sent", "delivered", "read", "failed"):
        assert r.message_disposable(status)


def test_strip_free_text_keeps_what_metrics_read() -> None:
    data = {"reason_tag": "exams", "outcome": "resolved", "note": "paciente com dor", "text": "x", "agent_id": 3}
    stripped = r.strip_free_text(data)
    assert stripped == {"reason_tag": "exams", "outcome": "resolved", "agent_id": 3, "redacted": True}
    assert r.strip_free_text({"outcome": "resolved"}) is None


def test_describe_days_in_portuguese() -> None:
    assert r.describe_days(730) == "2 anos"
    assert r.describe_days(365) == "1 ano"
    assert r.describe_days(90) == "3 meses"
    assert r.describe_days(45) == "45 dias"
    assert r.describe_days(None).startswith("mantido")


# -- incidents: 3 working days (ANPD Res. 15/2024) ---------------------------------------------

def _local(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, 0, tzinfo=CLINIC_TZ)


def test_anpd_deadline_skips_the_weekend() -> None:
    # Detected Friday 2026-12-04: Monday 7, Tuesday 8, Wednesday 9 -> end of Wednesday.
    due = incidents.anpd_deadline(_local(2026, 12, 4))
    assert due.astimezone(CLINIC_TZ).date() == date(2026, 12, 9)
    assert (due.astimezone(CLINIC_TZ).hour, due.astimezone(CLINIC_TZ).minute) == (23, 59)


def test_anpd_deadline_skips_national_holidays_but_not_pontos_facultativos() -> None:
    # Detected Tuesday 2026-12-22: Wed 23, Thu 24, (Fri 25 Natal), Mon 28 -> Monday.
    assert incidents.anpd_deadline(_local(2026, 12, 22)).astimezone(CLINIC_TZ).date() == date(2026, 12, 28)
    # Carnaval 2027 is Mon 8 / Tue 9 February: counted as working days (conservative).
    assert incidents.anpd_deadline(_local(2027, 2, 5)).astimezone(CLINIC_TZ).date() == date(2027, 2, 10)
    assert incidents.is_working_day(date(2027, 2, 8))
    assert not incidents.is_working_day(date(2027, 4, 21))  # Tiradentes


def test_the_detection_day_is_excluded_in_the_clinic_zone() -> None:
    # 01:00 UTC on Tuesday is still Monday 22:00 in São Paulo: counting starts on Tuesday.
    detected = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert incidents.anpd_deadline(detected).astimezone(CLINIC_TZ).date() == date(2026, 12, 10)
    with pytest.raises(ValueError):
        incidents.anpd_deadline(detected.replace(tzinfo=None))


def test_overdue_and_status_moves() -> None:
    due = incidents.anpd_deadline(_local(2026, 12, 4))
    after = due + timedelta(seconds=1)
    assert incidents.is_overdue("open", due, None, after)
    assert not incidents.is_overdue("open", due, None, due)
    assert not incidents.is_overdue("notified", due, after, after)
    assert not incidents.is_overdue("closed", due, None, after)
    assert incidents.can_move("open", "notified") and incidents.can_move("notified", "closed")
    assert incidents.can_move("open", "closed")
    assert not incidents.can_move("closed", "open") and not incidents.can_move("notified", "open")
    assert not incidents.can_move("open", "bogus")
