"""Tables. Migrations in handoff/adapters/sql/migrations (Alembic) are the source of truth."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; Postgres gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


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


# --- clinic data (migration 0002): the built-in ClinicDirectory (handoff/adapters/sql/clinic_store.py) ---

# Appointments that hold their slot; the partial unique index below is the double-booking guard.
ACTIVE_APPOINTMENT = text("status <> 'cancelled'")


class ClinicProfile(Base):
    """The clinic's public card (one row)."""

    __tablename__ = "clinic_profile"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400))
    phone: Mapped[str] = mapped_column(String(32))
    whatsapp: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    parking: Mapped[str] = mapped_column(Text)
    accessibility: Mapped[str] = mapped_column(Text)
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"weekday", "intervals": [["08:00","12:00"]]}]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SpecialtyRow(Base):
    """A medical specialty (slug = the bot's entity value)."""

    __tablename__ = "specialties"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class DoctorRow(Base):
    """A doctor seeing patients for one specialty."""

    __tablename__ = "doctors"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    specialty_id: Mapped[int] = mapped_column(ForeignKey("specialties.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Where this doctor's agenda lives in the clinic's system: a CalDAV calendar URL or a FHIR
    # Schedule id (NULL = the built-in agenda).
    agenda_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)


class DoctorScheduleRow(Base):
    """A weekly working block of a doctor (weekday 0 = Monday)."""

    __tablename__ = "doctor_schedules"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)


class AppointmentRow(Base):
    """A booked consultation. Times are stored in UTC."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "uq_appointments_doctor_start_active", "doctor_id", "starts_at", unique=True,
            sqlite_where=ACTIVE_APPOINTMENT, postgresql_where=ACTIVE_APPOINTMENT,
        ),
        Index("ix_appointments_agenda_ref", "agenda_system", "agenda_ref"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The external copy when the agenda is CalDAV/FHIR: event href + ETag, or Appointment id +
    # meta.versionId (changes are written with If-Match; the reception's moves are recognised).
    agenda_system: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agenda_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)
    agenda_version: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AgendaSyncRow(Base):
    """Per doctor: the last change mark read from the external agenda (CalDAV sync token)."""

    __tablename__ = "agenda_sync"
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), primary_key=True)
    system: Mapped[str] = mapped_column(String(16))
    token: Mapped[str | None] = mapped_column(Text, nullable=True)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AgendaWriteRow(Base):
    """A change the external agenda could not take at once, retried with backoff (durable)."""

    __tablename__ = "agenda_writes"
    __table_args__ = (Index("ix_agenda_writes_due", "done_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    action: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ExamRow(Base):
    """An exam of the catalog with its standard preparation text."""

    __tablename__ = "exams"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    preparation: Mapped[str] = mapped_column(Text)
    fasting_hours: Mapped[int] = mapped_column(Integer, default=0)
    collection_hours: Mapped[str] = mapped_column(Text)
    report_how: Mapped[str] = mapped_column(Text)
    requires_appointment: Mapped[bool] = mapped_column(Boolean, default=False)


class ExamResultRow(Base):
    """One exam of a patient and where its report stands."""

    __tablename__ = "exam_results"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"))
    status: Mapped[str] = mapped_column(String(16))
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report_token: Mapped[str | None] = mapped_column(String(64), unique=True)  # capability for the report link


class BoletoRow(Base):
    """A bank slip; `link_token` is the unguessable capability in its second-copy URL."""

    __tablename__ = "boletos"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    barcode: Mapped[str] = mapped_column(String(44))
    pix_code: Mapped[str] = mapped_column(Text)
    link_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PriceRow(Base):
    """Private price of a consultation (slug = specialty) or an exam (slug = exam)."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("kind", "slug", name="uq_prices_kind_slug"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(Integer)


class InsurerRow(Base):
    """A health insurer the clinic accepts."""

    __tablename__ = "insurers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    plans: Mapped[list[str]] = mapped_column(JSON)
    covers_consultations: Mapped[bool] = mapped_column(Boolean, default=True)
    covers_exams: Mapped[bool] = mapped_column(Boolean, default=True)
    requires_authorization: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsentRow(Base):
    """Append-only LGPD consent log: the latest row per patient is the current decision."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_patient_id_id", "patient_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    granted: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PatientLink(Base):
    """A channel patient identified (by CPF) as an existing record: all clinic data lives there."""

    __tablename__ = "patient_links"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    linked_to_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PatientMerge(Base):
    """Two records of one person merged by staff (migration 0004): the merged one keeps a
    `PatientLink` to the kept one; everything that pointed at it now points at the kept one."""

    __tablename__ = "patient_merges"
    __table_args__ = (UniqueConstraint("merged_patient_id", name="uq_patient_merges_merged_patient_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kept_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    merged_patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)  # rows moved per table
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- staff teaching layer (migration 0008, issue 11): what clinic staff teach the bot ---


class BotLayer(Base):
    """The staff layer's version (one row, id 1, created by the migration): every change bumps it."""

    __tablename__ = "bot_layer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BotLayerChange(Base):
    """Append-only history of the staff layer: who changed what, at which version."""

    __tablename__ = "bot_layer_changes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BotStaffIntent(Base):
    """An intent taught by staff (`staff_<slug>`): examples, reason tag, answer and/or handoff."""

    __tablename__ = "bot_staff_intents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(24))
    examples: Mapped[list[str]] = mapped_column(JSON)
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    handoff: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"queue", "skill"}
    red_flag_override: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {by, by_id, reason, examples, at}
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BotAnswerEdit(Base):
    """Staff's text for an existing simple bot answer (`utter_*` with one text, no buttons)."""

    __tablename__ = "bot_answer_edits"
    utter: Mapped[str] = mapped_column(String(96), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BotLabel(Base):
    """A patient message labelled by staff: an existing intent, or ignored (intent NULL)."""

    __tablename__ = "bot_labels"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    text: Mapped[str] = mapped_column(Text)  # masked (domain.bot_teaching.mask_personal_data)
    intent: Mapped[str | None] = mapped_column(String(64))
    ignored: Mapped[bool] = mapped_column(Boolean, default=False)
    red_flag_override: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"by", "by_id", "reason", "at"}
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BotModel(Base):
    """The model registry (issue 11): one row per training run of the staff layer.

    status: queued -> training -> evaluating -> ready | failed; ready -> deployed -> retired (a
    newer deploy or a rollback); a retired model can be deployed again by a rollback.
    `previous_model` is the model file Rasa served before this one was deployed (what a rollback loads).
    """

    __tablename__ = "bot_models"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    layer_version: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    progress_pct: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    progress_stage: Mapped[str | None] = mapped_column(String(32))
    model_path: Mapped[str | None] = mapped_column(String(512))
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"passed", "reasons"}
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    gate_override: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"by", "by_id", "reason", "at"}
    previous_model: Mapped[str | None] = mapped_column(String(512))
    # intent -> reason of the staff-taught intents this model knows (what the hub's reason map gains
    # while it is deployed, so a taught intent carries its reason into the inbox, routing and dashboard)
    reasons: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deployed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deployed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- privacy by design (migration 0010, issue 13) ---


class PrivacyRequest(Base):
    """A data-subject request (LGPD Art. 18/19): kind access | export | correction | erasure |
    revoke_consent; status open -> in_progress -> answered | rejected. `due_at` is the 15-day
    clock for the complete answer; `result` holds counts and legal holds, never content."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    channel: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    verified_by: Mapped[str | None] = mapped_column(String(32))  # channel | cpf_birth_date | staff
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    simplified_answer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LegalHold(Base):
    """Data the law obliges the clinic to keep (category medical_record | fiscal): erasure and
    disposal skip it until `until` (NULL = indefinitely) or until it is released."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    basis: Mapped[str] = mapped_column(String(200))  # e.g. "Lei 13.787/2018, art. 6º"
    until: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RetentionPolicy(Base):
    """How many days the clinic keeps one data category (NULL days = keep)."""

    __tablename__ = "retention_policies"
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    days: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DisposalRun(Base):
    """One run of the daily disposal job (one per `run_date`: the unique key makes it
    idempotent across hub replicas); `cursor` is where a cut run resumes, `counts` what it removed."""

    __tablename__ = "disposal_runs"
    __table_args__ = (UniqueConstraint("run_date", name="uq_disposal_runs_run_date"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cutoffs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_date: Mapped[date] = mapped_column(Date)


class PrivacyIncident(Base):
    """The incident register (LGPD Art. 48): ANPD notice due 3 working days after detection."""

    __tablename__ = "privacy_incidents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))  # low | medium | high
    status: Mapped[str] = mapped_column(String(16))  # open | notified | closed
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    subjects_estimate: Mapped[int | None] = mapped_column(Integer)
    measures: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    anpd_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    anpd_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subjects_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed logins per key (`email:<addr>` or `ip:<addr>`) in the current window; a key past
    the limit is locked until `locked_until`."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- interaction records (migration 0012, issue 14): every ended conversation told to the clinic's systems ---


class InteractionDelivery(Base):
    """One interaction record on its way to one target (`webhook` | `fhir`): a durable outbox row.

    `summary` holds ids, labels and times only (never message text). Delivery rows are claimed
    with a lease (`lease_owner`/`lease_until`) by any hub replica; `(target, interaction_key)` is
    unique, so a conversation's ending is recorded once per target whatever the number of replicas.
    """

    __tablename__ = "interaction_deliveries"
    __table_args__ = (
        UniqueConstraint("target", "interaction_key", name="uq_interaction_deliveries_target_key"),
        Index("ix_interaction_deliveries_due", "status", "next_attempt_at"),
        Index("ix_interaction_deliveries_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    interaction_key: Mapped[str] = mapped_column(String(96))
    target: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str] = mapped_column(String(36), index=True)
    patient_id: Mapped[int | None] = mapped_column(BigId, index=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # pending | sending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    remote_ref: Mapped[str | None] = mapped_column(String(300))  # e.g. Communication/<id>
    replays: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InteractionMark(Base):
    """Per conversation: up to when its activity has been summarised (the end of the last
    closed span); the next interaction starts after it."""

    __tablename__ = "interaction_marks"
    conversation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    closed_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Tables of later issues live in their own modules; importing them here registers them on Base.
from handoff.adapters.sql import models_reminders, models_waitlist  # noqa: E402, F401
