"""Tables of the interaction records (migration 0012, issue 14): every ended conversation told
to the clinic's systems. Imported at the end of models.py so Base.metadata holds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId


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
