"""Tables of the reminders (issue 15). Imported at the end of models.py so Base.metadata holds them.

models.py imports this module on its last line, when `Base` and `BigId` already exist, so the
import below is not a cycle in practice. Columns mirror migrations 0013 and 0015 (the source of truth).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId


class ReminderRuleRow(Base):
    """The reminder schedule of one specialty (specialty_id NULL = the clinic's default)."""

    __tablename__ = "reminder_rules"
    __table_args__ = (UniqueConstraint("specialty_id", name="uq_reminder_rules_specialty"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    specialty_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    offsets_hours: Mapped[list[int]] = mapped_column(JSON)  # e.g. [48, 24]
    morning_of: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReminderRow(Base):
    """One planned reminder of one appointment start; its status records what became of it.

    No foreign keys: the row is a record that outlives erasure of the appointment's content,
    like interaction_deliveries.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("appointment_id", "kind", "appointment_start", name="uq_reminders_appointment_kind_start"),
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_patient_id", "patient_id", "sent_at"),
        Index("ix_reminders_conversation_id", "conversation_id"),
        Index("ix_reminders_token_hash", "token_hash", unique=True),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    appointment_id: Mapped[int] = mapped_column(BigId)
    patient_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(16))  # "48h" | "24h" | "morning" | "<n>h"
    appointment_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # scheduled | sending | sent | skipped_stale | skipped_opt_out | skipped_no_contact |
    # skipped_inactive | failed
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(32))
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    message_id: Mapped[int | None] = mapped_column(BigId)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply: Mapped[str | None] = mapped_column(String(16))  # confirmed | cancelled | reschedule | other
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(64))  # a short code, never content
    token_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the e-mail confirm token
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # specialty/doctor ids for stats
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReminderOptOutRow(Base):
    """A patient who asked not to receive reminders (any channel)."""

    __tablename__ = "reminder_opt_outs"
    patient_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str | None] = mapped_column(String(32))


class ReminderTextRow(Base):
    """The clinic's own text of one reminder kind (no row: the built-in text). The body holds
    placeholders ({nome} {quando} {medico} {especialidade} {endereco} {preparo})."""

    __tablename__ = "reminder_texts"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(BigId)  # the staff member who saved it
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
