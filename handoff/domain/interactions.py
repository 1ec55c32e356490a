"""Interaction records sent to the clinic's own systems (issue 14): pure rules.

When a conversation ends, a summary of it (channel, reason, outcome, appointments touched,
attendant, times, a link back to the transcript) is delivered to the clinic's CRM (a signed
webhook) and/or its FHIR server (a `Communication`). This module decides what the summary says,
whether it may be sent at all (consent), how a delivery is signed and when a failed one is
retried. It never sees message text: LGPD minimisation, the summary carries ids, labels and
times only (docs/CONTRACTS.md, "Interaction records").
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from handoff.domain.clinic.calendar import CLINIC_TZ

SCHEMA_VERSION = 1
EVENT_TYPE = "atende.interaction"
# The consent version written when the patient revokes (services/privacy_requests.REVOCATION_VERSION).
REVOCATION_VERSION = "revogacao-titular"
SIGNATURE_PREFIX = "sha256="
# A receiver should refuse a timestamp further than this from its clock (replayed captures).
SIGNATURE_TOLERANCE_SECONDS = 300


class Outcome(StrEnum):
    """How the conversation ended, as the clinic's system is told (pt-BR slugs)."""

    BOT = "resolvido_pelo_bot"
    AGENT = "resolvido_por_atendente"
    AGENT_BOOKED = "agendado_por_atendente"
    NOT_RESOLVED = "nao_resolvido"


class Target(StrEnum):
    """Where an interaction record goes."""

    WEBHOOK = "webhook"
    FHIR = "fhir"


class DeliveryStatus(StrEnum):
    """pending -> sending -> delivered; a failure goes back to pending (with a later attempt
    time) or, after the last attempt, to dead. A replay puts any of them back to pending."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class AppointmentAction(StrEnum):
    """What happened to an appointment during the conversation."""

    BOOKED = "agendada"
    CONFIRMED = "confirmada"
    CANCELLED = "cancelada"
    MOVED = "remarcada"


_OUTCOME_TEXT = {
    Outcome.BOT: "resolvido pelo assistente virtual",
    Outcome.AGENT: "resolvido por atendente",
    Outcome.AGENT_BOOKED: "agendado por atendente",
    Outcome.NOT_RESOLVED: "não resolvido",
}
CHANNEL_LABELS: Mapping[str, str] = {
    "webchat": "chat do site", "whatsapp": "WhatsApp", "whatsapp_meta": "WhatsApp", "sms": "SMS",
    "instagram": "Instagram", "messenger": "Messenger", "email": "e-mail", "phone": "telefone",
}
REASON_LABELS: Mapping[str, str] = {
    "booking": "agendamento", "confirmation": "confirmação", "exams": "exames", "billing": "financeiro",
    "urgent": "urgência", "human": "falar com atendente", "other": "outros assuntos",
}


def outcome_of(handed_off: bool, staff_outcome: str | None) -> Outcome:
    """The outcome of a conversation: the bot's when no human took part, else the attendant's
    choice on resolve (inbox OUTCOMES: resolved | booked | not_resolved)."""
    if not handed_off:
        return Outcome.BOT
    if staff_outcome == "booked":
        return Outcome.AGENT_BOOKED
    if staff_outcome == "not_resolved":
        return Outcome.NOT_RESOLVED
    return Outcome.AGENT


def consent_allows(latest: tuple[bool, str] | None) -> bool:
    """Whether the patient's latest consent decision `(granted, version)` allows sending their
    interaction out of the hub: granted, and not the revocation record. No decision = no."""
    if latest is None:
        return False
    granted, version = latest
    return bool(granted) and version != REVOCATION_VERSION


def appointment_action(created_at: datetime, updated_at: datetime, status: str,
                       start: datetime, end: datetime) -> AppointmentAction | None:
    """What the conversation spanning [start, end] did to an appointment, judged from the row:
    created in the span = booked (cancelled again in the span = cancelled); changed in the span =
    confirmed / cancelled by its status, a still-scheduled one changed = moved; else untouched."""
    created_in = start <= created_at <= end
    updated_in = start <= updated_at <= end
    if status == "cancelled" and (created_in or updated_in):
        return AppointmentAction.CANCELLED
    if created_in:
        return AppointmentAction.BOOKED
    if not updated_in:
        return None
    if status == "confirmed":
        return AppointmentAction.CONFIRMED
    if status == "scheduled":
        return AppointmentAction.MOVED
    return None


@dataclass(frozen=True)
class TouchedAppointment:
    """One appointment the conversation booked, confirmed, cancelled or moved."""

    id: int
    action: AppointmentAction
    status: str
    starts_at: datetime
    doctor_id: int
    doctor_name: str | None = None
    agenda_system: str | None = None
    agenda_ref: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The appointment as the record shows it."""
        return {"id": self.id, "action": self.action.value, "status": self.status,
                "starts_at": self.starts_at.isoformat(), "doctor_id": self.doctor_id,
                "doctor": self.doctor_name, "agenda_system": self.agenda_system, "agenda_ref": self.agenda_ref}


@dataclass(frozen=True)
class InteractionFacts:
    """Everything a summary is built from: ids, labels and times (never message text)."""

    key: str
    conversation_id: str
    channel: str
    reason: str | None
    patient_id: int
    patient_cpf: str | None
    opened_at: datetime
    closed_at: datetime
    handed_off: bool
    staff_outcome: str | None = None
    handoff_reason: str | None = None
    first_response_at: datetime | None = None
    handoff_at: datetime | None = None
    attendant_id: int | None = None
    attendant_name: str | None = None
    appointments: Sequence[TouchedAppointment] = field(default_factory=tuple)


def transcript_url(public_base_url: str, conversation_id: str) -> str:
    """Where staff open the conversation (the inbox deep link; login and access rules apply)."""
    return f"{public_base_url.rstrip('/')}/inbox?c={conversation_id}"


def _local(moment: datetime) -> str:
    return moment.astimezone(CLINIC_TZ).strftime("%d/%m/%Y %H:%M")


def summary_line(facts: InteractionFacts) -> str:
    """The one pt-BR sentence a person reads in the clinic's system (FHIR `payload`, CRM note)."""
    channel = CHANNEL_LABELS.get(facts.channel, facts.channel)
    reason = REASON_LABELS.get(facts.reason or "other", facts.reason or "outros assuntos")
    outcome = _OUTCOME_TEXT[outcome_of(facts.handed_off, facts.staff_outcome)]
    parts = [f"Atendimento por {channel} ({reason}) em {_local(facts.opened_at)}: {outcome}"]
    if facts.attendant_name:
        parts.append(f"atendente: {facts.attendant_name}")
    for a in facts.appointments:
        who = f" com {a.doctor_name}" if a.doctor_name else ""
        parts.append(f"consulta {a.action.value}{who} para {_local(a.starts_at)}")
    return "; ".join(parts) + "."


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def build_summary(facts: InteractionFacts, public_base_url: str) -> dict[str, Any]:
    """The interaction record (the webhook body; the FHIR sink reads it too). No message text."""
    outcome = outcome_of(facts.handed_off, facts.staff_outcome)
    attendant = ({"id": facts.attendant_id, "name": facts.attendant_name}
                 if facts.attendant_id is not None else None)
    return {
        "type": EVENT_TYPE,
        "version": SCHEMA_VERSION,
        "interaction_id": facts.key,
        "conversation_id": facts.conversation_id,
        "channel": facts.channel,
        "reason": facts.reason,
        "outcome": outcome.value,
        "handed_off": facts.handed_off,
        "handoff_reason": facts.handoff_reason,
        "patient": {"id": facts.patient_id, "cpf": facts.patient_cpf},
        "attendant": attendant,
        "times": {"opened_at": _iso(facts.opened_at), "first_response_at": _iso(facts.first_response_at),
                  "handoff_at": _iso(facts.handoff_at), "resolved_at": _iso(facts.closed_at)},
        "appointments": [a.as_json() for a in facts.appointments],
        "transcript_url": transcript_url(public_base_url, facts.conversation_id),
        "summary": summary_line(facts),
    }


def targets(webhook_configured: bool, fhir_configured: bool) -> tuple[Target, ...]:
    """The targets the clinic configured (none = nothing is recorded)."""
    out: list[Target] = []
    if webhook_configured:
        out.append(Target.WEBHOOK)
    if fhir_configured:
        out.append(Target.FHIR)
    return tuple(out)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Atende-Signature`: ``sha256=`` + hex HMAC-SHA256 of ``<timestamp>.<body>`` with the secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str | None, now: float,
                     tolerance: float = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver checks: the signature matches (constant-time) and the timestamp (Unix
    seconds) is within `tolerance` of its clock."""
    if not header or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before the next try after `attempts` failed ones: exponential (base·2^(n-1)) up to
    `cap`, with "equal jitter" — half fixed, half random (`jitter` in [0, 1)) — so many receivers'
    retries after one outage spread out and a retry never comes at once."""
    attempts = max(1, attempts)
    ceiling = min(cap, base * 2.0 ** min(attempts - 1, 30))
    j = min(max(jitter, 0.0), 1.0)
    return ceiling / 2 + ceiling / 2 * j


def gives_up(attempts: int, max_attempts: int) -> bool:
    """After the last allowed attempt a delivery is dead (staff may replay it)."""
    return attempts >= max_attempts


def delivered(status_code: int) -> bool:
    """A 2xx answer delivers; anything else (a wrong signature's 401/403 included: the secret may
    be fixed on either side) is retried until the attempts run out."""
    return 200 <= status_code < 300


def has_text_fields(record: Mapping[str, Any], texts: Iterable[str]) -> list[str]:
    """The given texts (e.g. the conversation's messages) found anywhere in a record: a test
    helper for the "no message text" rule, kept beside the rule it checks."""
    blob = repr(record)
    return [t for t in texts if t and t in blob]
