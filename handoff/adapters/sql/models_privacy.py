"""Tables of privacy by design (migration 0010, issue 13). Imported at the end of models.py so
Base.metadata holds them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId


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
