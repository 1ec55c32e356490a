"""Pure rules of the interaction register (handoff/domain/interactions.py): outcome, consent gate,
appointments touched, the summary (no message text), the webhook signature and the backoff."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from handoff.domain.interactions import (
    AppointmentAction,
    InteractionFacts,
    Outcome,
    Target,
    TouchedAppointment,
    appointment_action,
    build_summary,
    consent_allows,
    delivered,
    gives_up,
    outcome_of,
    retry_delay,
    signature,
    summary_line,
    targets,
    transcript_url,
    verify_signature,
)

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # 09:00 in São Paulo


def facts(**over: object) -> InteractionFacts:
    base: dict[str, object] = dict(
        key="resolved:c1:7", conversation_id="c1", channel="whatsapp", reason="booking", patient_id=42,
        patient_cpf="52998224725", opened_at=T0, closed_at=T0 + timedelta(minutes=20), handed_off=True,
        staff_outcome="resolved", handoff_reason="human", first_response_at=T0 + timedelta(minutes=3),
        handoff_at=T0 + timedelta(minutes=1), attendant_id=5, attendant_name="Ana Souza",
        appointments=(TouchedAppointment(id=9, action=AppointmentAction.BOOKED, status="scheduled",
                                         starts_at=datetime(2027, 3, 3, 13, 30, tzinfo=UTC), doctor_id=2,
                                         doctor_name="Dra. Helena Prado", agenda_system="fhir",
                                         agenda_ref="Appointment/77"),),
    )
    base.update(over)
    return InteractionFacts(**base)  # type: ignore[arg-type]


# -- outcome ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("handed_off", "staff", "expected"), [
    (False, None, Outcome.BOT),
    (False, "booked", Outcome.BOT),  # no human took part: the bot's, whatever was booked
    (True, "resolved", Outcome.AGENT),
    (True, "booked", Outcome.AGENT_BOOKED),
    (True, "not_resolved", Outcome.NOT_RESOLVED),
    (True, None, Outcome.AGENT),
])
def test_outcome(handed_off: bool, staff: str | None, expected: Outcome) -> None:
    assert outcome_of(handed_off, staff) is expected


def test_outcome_slugs_are_the_documented_ones() -> None:
    assert Outcome.BOT.value == "resolvido_pelo_bot"
    assert Outcome.AGENT.value == "resolvido_por_atendente"


# -- consent -----------------------------------------------------------------------------------


def test_consent_gate() -> None:
    assert consent_allows((True, "privacidade-v1"))
    assert not consent_allows(None)  # never asked: nothing leaves the hub
    assert not consent_allows((False, "privacidade-v1"))  # refused
    assert not consent_allows((False, "revogacao-titular"))  # revoked
    assert not consent_allows((True, "revogacao-titular"))  # the revocation record is never a grant


def test_targets_follow_configuration() -> None:
    assert targets(False, False) == ()
    assert targets(True, False) == (Target.WEBHOOK,)
    assert targets(True, True) == (Target.WEBHOOK, Target.FHIR)


# -- appointments touched -------------------------------------------------------------------------


def test_appointment_actions_in_the_span() -> None:
    start, end = T0, T0 + timedelta(hours=1)
    inside, before, after = T0 + timedelta(minutes=5), T0 - timedelta(days=2), end + timedelta(minutes=1)
    assert appointment_action(inside, inside, "scheduled", start, end) is AppointmentAction.BOOKED
    assert appointment_action(inside, inside, "confirmed", start, end) is AppointmentAction.BOOKED
    assert appointment_action(inside, inside, "cancelled", start, end) is AppointmentAction.CANCELLED
    assert appointment_action(before, inside, "confirmed", start, end) is AppointmentAction.CONFIRMED
    assert appointment_action(before, inside, "cancelled", start, end) is AppointmentAction.CANCELLED
    assert appointment_action(before, inside, "scheduled", start, end) is AppointmentAction.MOVED
    assert appointment_action(before, before, "scheduled", start, end) is None
    assert appointment_action(before, after, "cancelled", start, end) is None
    assert appointment_action(before, inside, "done", start, end) is None


# -- the summary ---------------------------------------------------------------------------------


def test_summary_carries_the_facts_and_the_transcript_link() -> None:
    record = build_summary(facts(), "https://atende.clinica.example/")
    assert record["type"] == "atende.interaction" and record["version"] == 1
    assert record["outcome"] == "resolvido_por_atendente"
    assert record["channel"] == "whatsapp" and record["reason"] == "booking"
    assert record["attendant"] == {"id": 5, "name": "Ana Souza"}
    assert record["patient"] == {"id": 42, "cpf": "52998224725"}
    assert record["times"] == {"opened_at": T0.isoformat(),
                               "first_response_at": (T0 + timedelta(minutes=3)).isoformat(),
                               "handoff_at": (T0 + timedelta(minutes=1)).isoformat(),
                               "resolved_at": (T0 + timedelta(minutes=20)).isoformat()}
    assert record["appointments"][0]["action"] == "agendada"
    assert record["appointments"][0]["agenda_ref"] == "Appointment/77"
    assert record["transcript_url"] == "https://atende.clinica.example/inbox?c=c1"
    assert transcript_url("http://h:8000", "x") == "http://h:8000/inbox?c=x"


def test_summary_has_no_field_for_message_text() -> None:
    """LGPD minimisation: the record is built from facts that hold no text at all, so whatever
    the patient wrote cannot reach it; the keys are exactly the documented ones."""
    record = build_summary(facts(), "http://h")
    assert set(record) == {"type", "version", "interaction_id", "conversation_id", "channel", "reason", "outcome",
                           "handed_off", "handoff_reason", "patient", "attendant", "times", "appointments",
                           "transcript_url", "summary"}
    assert not any(name in InteractionFacts.__dataclass_fields__ for name in ("text", "messages", "transcript"))


def test_summary_line_is_pt_br_and_local_time() -> None:
    line = summary_line(facts())
    assert line == ("Atendimento por WhatsApp (agendamento) em 01/03/2027 09:00: resolvido por atendente; "
                    "atendente: Ana Souza; consulta agendada com Dra. Helena Prado para 03/03/2027 10:30.")
    bot = summary_line(facts(handed_off=False, attendant_id=None, attendant_name=None, appointments=(),
                             channel="webchat", reason=None))
    assert bot == ("Atendimento por chat do site (outros assuntos) em 01/03/2027 09:00: "
                   "resolvido pelo assistente virtual.")


# -- signature -----------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", "1700000000", body) == "sha256=" + expected


def test_verify_signature() -> None:
    body, ts = b'{"x":"y"}', "1700000000"
    good = signature("k", ts, body)
    assert verify_signature("k", ts, body, good, now=1700000010)
    assert not verify_signature("other", ts, body, good, now=1700000010)  # wrong secret
    assert not verify_signature("k", ts, body + b" ", good, now=1700000010)  # body changed
    assert not verify_signature("k", "1700000001", body, good, now=1700000010)  # timestamp changed
    assert not verify_signature("k", ts, body, good, now=1700000000 + 301)  # too old (replayed capture)
    assert not verify_signature("k", ts, body, None, now=1700000000)
    assert not verify_signature("k", "abc", body, good, now=1700000000)


# -- retries ---------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    assert retry_delay(1, 5, 3600, 0.0) == 2.5 and retry_delay(1, 5, 3600, 1.0) == 5.0
    assert retry_delay(2, 5, 3600, 0.0) == 5.0 and retry_delay(3, 5, 3600, 0.0) == 10.0
    assert retry_delay(4, 5, 3600, 0.5) == pytest.approx(30.0)  # ceiling 40: 20 fixed + 10 random
    assert retry_delay(30, 5, 3600, 1.0) == 3600.0  # capped
    assert retry_delay(10**6, 5, 3600, 0.0) == 1800.0  # no overflow
    assert retry_delay(0, 5, 3600, 0.0) == 2.5  # never zero
    spread = {retry_delay(5, 5, 3600, j / 10) for j in range(10)}
    assert len(spread) == 10 and min(spread) >= 40.0 and max(spread) <= 80.0


def test_dead_after_the_last_attempt_and_what_delivers() -> None:
    assert not gives_up(9, 10) and gives_up(10, 10) and gives_up(11, 10)
    assert delivered(200) and delivered(201) and delivered(204)
    assert not delivered(401) and not delivered(403) and not delivered(500) and not delivered(302)
