"""Tables of the waitlist (issue 15). Imported at the end of models.py so Base.metadata holds them.

Two patients never get the same slot because of the database, not of a lock in memory:
`waitlist_offers.slot_key` is set (to the slot id) only while an offer holds the slot and is
unique, so at most one offer holds a slot at a time (NULLs, i.e. finished offers, do not clash on
SQLite or PostgreSQL); the appointments' own partial unique index admits one booking per slot.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId


class WaitlistEntry(Base):
    """A patient who asked for an earlier date for a specialty (optionally one doctor)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (Index("ix_waitlist_entries_queue", "status", "specialty", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    specialty: Mapped[str] = mapped_column(String(64))
    doctor_id: Mapped[int | None] = mapped_column(BigId)
    before: Mapped[date | None] = mapped_column(Date)
    conversation_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(12))  # waiting | booked | left
    # `patient:specialty:doctor|*` while waiting, NULL after: one active entry per patient + specialty (+doctor).
    active_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    appointment_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WaitlistOffer(Base):
    """One freed slot offered to one waiting patient, with its hold and outcome.

    `status = accepted` with `appointment_id` is a slot refilled from the waitlist (dashboard).
    """

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        Index("ix_waitlist_offers_due", "status", "hold_until"),
        Index("ix_waitlist_offers_slot", "doctor_id", "starts_at"),
        Index("ix_waitlist_offers_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id"), index=True)
    patient_id: Mapped[int] = mapped_column(BigId)
    doctor_id: Mapped[int] = mapped_column(BigId)
    specialty: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))  # held | accepting | accepted | declined | expired | failed
    hold_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The slot id while the offer holds the slot (held/accepting), NULL after: unique.
    slot_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The entry id while the offer holds the slot, NULL after: one held slot per entry at a time.
    entry_key: Mapped[int | None] = mapped_column(BigId, unique=True)
    message_id: Mapped[int | None] = mapped_column(BigId)
    appointment_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
