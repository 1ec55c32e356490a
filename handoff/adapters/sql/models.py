"""Tables. Migrations in handoff/adapters/sql/migrations (Alembic) are the source of truth."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; Postgres gets BIGINT.
BigId: BigInteger = BigInteger().with_variant(Integer(), "sqlite")


# Width of a provider's message id (messages, pending_status_reports; migration 0006).
PROVIDER_ID_LENGTH = 512

# Messages that form contacts for the dashboard (metrics_queries.contact_message; migration 0005).
CONTACT_MESSAGE = ("direction = 'in' AND sender = 'patient' AND status <> 'routed' "
                   "AND (intent IS NULL OR intent <> 'csat')")


class Base(DeclarativeBase):
    """Declarative base for every table."""


class Patient(Base):
    """A person who writes to the clinic; one history across channels."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    cpf: Mapped[str | None] = mapped_column(String(11), unique=True)
    birth_date: Mapped[date | None] = mapped_column(Date)  # migration 0002 (clinic)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # migration 0010 (LGPD erasure)


class ChannelIdentity(Base):
    """How a patient is known on one channel (phone on WhatsApp, visitor id on the web chat…)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Conversation(Base):
    """One conversation per channel identity; the lifecycle state says who owns it."""

    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(24), default="bot", index=True)
    reason: Mapped[str | None] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(12), default="normal")
    handoff_reason: Mapped[str | None] = mapped_column(String(64))
    # Bot-pipeline lease: exactly one worker (in any hub process) feeds a conversation to the bot.
    bot_lease_owner: Mapped[str | None] = mapped_column(String(64))
    bot_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bot_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Outbox lease: replies of one conversation leave in order, from one worker at a time.
    outbox_lease_owner: Mapped[str | None] = mapped_column(String(64))
    outbox_lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Handoff (migration 0003): queue, owner and clocks of the human episode.
    queue: Mapped[str | None] = mapped_column(String(32), index=True)
    assigned_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", name="fk_conversations_assigned_agent_id"), index=True
    )
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", name="fk_conversations_last_agent_id")
    )
    last_agent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # stickiness window
    last_agent_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16))  # resolved | booked | not_resolved
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))  # "kind:value"
    excluded_agents: Mapped[list[int]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    handoff_note: Mapped[str | None] = mapped_column(String(500))
    csat_asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # awaiting the answer
    nps_asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # migration 0007
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # migration 0010: content gone


class Message(Base):
    """Every message in and out. Inbound rows are written before the provider gets its 200."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", name="uq_message_channel_provider_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_status_next_attempt", "status", "next_attempt_at"),
        # Migration 0005 (dashboard): partial on the messages that form contacts.
        Index("ix_messages_contacts_time", "created_at", "conversation_id", "reason",
              sqlite_where=text(CONTACT_MESSAGE), postgresql_where=text(CONTACT_MESSAGE)),
        Index("ix_messages_contacts_conv_reason_time", "conversation_id", "reason", "created_at",
              sqlite_where=text(CONTACT_MESSAGE), postgresql_where=text(CONTACT_MESSAGE)),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))
    sender: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(32))
    # 512 since migration 0006 (Instagram ids exceed 128); rows stored earlier may hold `sha256:<hex>`.
    provider_message_id: Mapped[str | None] = mapped_column(String(PROVIDER_ID_LENGTH))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    intent: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(24))
    confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Migration 0010: text/payload disposed (retention) or erased (LGPD); metadata kept for metrics.
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PendingStatusReport(Base):
    """A delivery report that matched no message yet (migration 0006).

    The provider may report on a message before the outbox has committed the id it got back;
    the report waits here and is applied when that id is recorded
    (`channel_store.record_provider_id`). Purged after `channel_store.PENDING_REPORT_TTL`.
    """

    __tablename__ = "pending_status_reports"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id", "status", name="uq_pending_status_reports_report"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(PROVIDER_ID_LENGTH))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ConversationEvent(Base):
    """Append-only lifecycle log: the single source for metrics and audit."""

    __tablename__ = "conversation_events"
    __table_args__ = (  # migration 0005 (dashboard)
        Index("ix_conversation_events_type_time", "type", "created_at"),
        Index("ix_conversation_events_conv_time", "conversation_id", "created_at"),
        Index("ix_conversation_events_handoff_conv_time", "conversation_id", "created_at",
              sqlite_where=text("type = 'handoff'"), postgresql_where=text("type = 'handoff'")),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    type: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class StaffUser(Base):
    """Clinic staff: attendant, manager or admin."""

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Routing (migration 0003). `queues` empty = member of every queue.
    skills: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    queues: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    max_concurrent: Mapped[int] = mapped_column(Integer, default=4, server_default=text("4"))
    max_per_channel: Mapped[dict[str, int]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    presence: Mapped[str] = mapped_column(String(12), default="offline", server_default=text("'offline'"))
    presence_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Migration 0010: data this account may see beyond its role (handoff.domain.access).
    grants: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))


class StaffToken(Base):
    """API/session tokens, stored as SHA-256 digests (a leaked table cannot be replayed)."""

    __tablename__ = "staff_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditLog(Base):
    """Every access by staff to patient data (LGPD)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_time", "patient_id", "created_at"),
        Index("ix_audit_log_action_time", "action", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Migration 0010: whose data (for the privacy officer's filters and the patient's export),
    # the reason staff gave for a sensitive view, and ids/counts (never content).
    patient_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CsatResponse(Base):
    """A patient's answer to the satisfaction question asked on resolve (1–5; NPS 0–10 optional)."""

    __tablename__ = "csat_responses"
    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_responses_score"),
        CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="ck_csat_responses_nps"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)  # who resolved
    score: Mapped[int] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SlaEscalation(Base):
    """One fired escalation level; the unique key (inserted before acting) makes firing idempotent."""

    __tablename__ = "sla_escalations"
    __table_args__ = (UniqueConstraint("conversation_id", "key", name="uq_sla_escalations_conversation_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    key: Mapped[str] = mapped_column(String(96))  # sla.escalation_key: episode:metric:cycle:level
    metric: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(128))  # comma-separated EscalationAction values
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoundRobinCursor(Base):
    """The last agent a round-robin queue handed a conversation to."""

    __tablename__ = "round_robin_cursors"
    queue: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_agent_id: Mapped[int] = mapped_column(BigId)


# Tables by area live in their own modules; importing them here registers them on Base. The names
# of the clinic, teaching, privacy and interaction tables stay importable from here.
from handoff.adapters.sql import models_metrics, models_reminders, models_waitlist  # noqa: E402, F401
from handoff.adapters.sql.models_clinic import (  # noqa: E402
    ACTIVE_APPOINTMENT,
    AgendaSyncRow,
    AgendaWriteRow,
    AppointmentRow,
    BoletoRow,
    ClinicProfile,
    ConsentRow,
    DoctorRow,
    DoctorScheduleRow,
    ExamResultRow,
    ExamRow,
    InsurerRow,
    PatientLink,
    PatientMerge,
    PriceRow,
    SpecialtyRow,
)
from handoff.adapters.sql.models_interactions import (  # noqa: E402
    InteractionDelivery,
    InteractionMark,
)
from handoff.adapters.sql.models_privacy import (  # noqa: E402
    DisposalRun,
    LegalHold,
    LoginThrottle,
    PrivacyIncident,
    PrivacyRequest,
    RetentionPolicy,
)
from handoff.adapters.sql.models_teaching import (  # noqa: E402
    BotAnswerEdit,
    BotLabel,
    BotLayer,
    BotLayerChange,
    BotModel,
    BotStaffIntent,
)

__all__ = [  # the tables of the area modules, re-exported for their callers
    "ACTIVE_APPOINTMENT",
    "AgendaSyncRow",
    "AgendaWriteRow",
    "AppointmentRow",
    "BoletoRow",
    "BotAnswerEdit",
    "BotLabel",
    "BotLayer",
    "BotLayerChange",
    "BotModel",
    "BotStaffIntent",
    "ClinicProfile",
    "ConsentRow",
    "DisposalRun",
    "DoctorRow",
    "DoctorScheduleRow",
    "ExamResultRow",
    "ExamRow",
    "InsurerRow",
    "InteractionDelivery",
    "InteractionMark",
    "LegalHold",
    "LoginThrottle",
    "PatientLink",
    "PatientMerge",
    "PriceRow",
    "PrivacyIncident",
    "PrivacyRequest",
    "RetentionPolicy",
    "SpecialtyRow",
]
