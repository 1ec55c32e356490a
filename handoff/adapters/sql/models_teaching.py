"""Tables of the staff teaching layer (migration 0008, issue 11): what clinic staff teach the
bot. Imported at the end of models.py so Base.metadata holds them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId


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
