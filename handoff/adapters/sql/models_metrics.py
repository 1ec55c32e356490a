"""Rollup tables of the manager dashboard (migration 0016, issue 16): what the 30-day view reads
instead of a month of messages and events. Imported at the end of models.py so Base.metadata
holds them.

On PostgreSQL, triggers of migration 0016 keep both tables current in the same transaction as
every write to the rows they summarise (messages, conversation_events, conversations,
patient_links, appointments), so they cannot drift; handoff/adapters/sql/metrics_rollups.py reads
them. On SQLite the tables exist (one schema for both) but stay empty: the dashboard runs
today's statements there (handoff/adapters/sql/metrics_queries.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, Index, Integer, String, Text, false, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from handoff.adapters.sql.models import Base, BigId

# The distinct reason tags of a contact: a text[] on PostgreSQL (the only dialect that fills it).
ReasonTags = JSON().with_variant(postgresql.ARRAY(Text()), "postgresql")


class MetricsEpisode(Base):
    """One handoff episode (one `handoff` event) with its milestones, as
    `MetricsQueries.episodes()` derives them, plus its reason tag, the person it belongs to and
    whether that person came back with the same reason within 7 days of the last resolve."""

    __tablename__ = "metrics_episodes"
    __table_args__ = (
        Index("ix_metrics_episodes_handoff_at", "handoff_at"),
        Index("ix_metrics_episodes_cid_handoff_at", "cid", "handoff_at"),
        Index("ix_metrics_episodes_person_resolved", "person", "last_resolved_at"),
        Index("ix_metrics_episodes_last_resolved", "last_resolved_at", "handoff_at"),  # FCR still pending
        Index("ix_metrics_episodes_tmr", "tmr", "handoff_at", postgresql_where=text("tmr IS NOT NULL"),
              sqlite_where=text("tmr IS NOT NULL")),  # TMR percentiles (migration 0017)
    )
    hid: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # the handoff event's id
    cid: Mapped[str] = mapped_column(String(36))
    handoff_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tag: Mapped[str | None] = mapped_column(Text)  # the event's data.reason_tag
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_key: Mapped[int | None] = mapped_column(BigInteger)  # epoch ms x 4 + outcome code of the last resolve
    fr_breach: Mapped[int] = mapped_column(Integer)
    res_breach: Mapped[int] = mapped_column(Integer)
    nr_breaches: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)  # coalesce(tag, conversation reason, 'other')
    person: Mapped[int | None] = mapped_column(BigInteger)  # linked record, else the patient
    recontacted: Mapped[bool | None] = mapped_column(Boolean)  # null while never resolved
    # TMR, ASA and AHT in seconds, computed with the reference statements' own expressions.
    tmr: Mapped[float | None] = mapped_column(Float)
    asa: Mapped[float | None] = mapped_column(Float)
    aht: Mapped[float | None] = mapped_column(Float)


class MetricsContactDay(Base):
    """One contact: a conversation on a clinic calendar day with at least one contact message,
    with what `MetricsQueries.contact_cells_statement` folds per (conversation, day)."""

    __tablename__ = "metrics_contact_days"
    __table_args__ = (Index("ix_metrics_contact_days_day", "day"),)
    cid: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # clinic calendar day
    weekday: Mapped[int] = mapped_column(Integer)  # of first_at, clinic time, 0 = Monday
    hour: Mapped[int] = mapped_column(Integer)  # of first_at, clinic time
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    booking_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reasons: Mapped[list[str]] = mapped_column(ReasonTags)
    handoff: Mapped[int] = mapped_column(Integer)  # 1 when a handoff happened that day
    conversion_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last conversion that day


# -- cells (migration 0017): per clinic day aggregates of the rollup rows above ------------------

_FRESH = text("NOT compact")


def _cell_indexes(table: str) -> tuple[Index, Index]:
    """The period read (by day) and the compaction's look-up of cells with rows not folded yet."""
    return (Index(f"ix_{table}_day", "day"),
            Index(f"ix_{table}_fresh", "day", postgresql_where=_FRESH, sqlite_where=_FRESH))


class _CellRow:
    """What every cell row has: its id, whether it is a folded row, and the clinic day."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    compact: Mapped[bool] = mapped_column(Boolean, server_default=false())  # a folded row
    day: Mapped[date] = mapped_column(Date)


class MetricsEpisodeCell(_CellRow, Base):
    """One contribution (+1 or -1 of an episode row, or a folded sum) to the episode cell (clinic
    day and hour of the handoff, reason): the counts and sums of `episode_totals_statement`.
    Durations are whole microseconds, so sums are exact in any order."""

    __tablename__ = "metrics_episode_cells"
    __table_args__ = _cell_indexes("metrics_episode_cells")
    hour: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    episodes: Mapped[int] = mapped_column(BigInteger)
    assigned: Mapped[int] = mapped_column(BigInteger)
    asa_us: Mapped[int] = mapped_column(BigInteger)
    answered: Mapped[int] = mapped_column(BigInteger)
    tmr_us: Mapped[int] = mapped_column(BigInteger)
    handled: Mapped[int] = mapped_column(BigInteger)
    aht_us: Mapped[int] = mapped_column(BigInteger)
    closed: Mapped[int] = mapped_column(BigInteger)
    resolved_ok: Mapped[int] = mapped_column(BigInteger)
    o_resolved: Mapped[int] = mapped_column(BigInteger)
    o_booked: Mapped[int] = mapped_column(BigInteger)
    o_not: Mapped[int] = mapped_column(BigInteger)
    fcr_ok: Mapped[int] = mapped_column(BigInteger)
    fr_met: Mapped[int] = mapped_column(BigInteger)
    fr_breached: Mapped[int] = mapped_column(BigInteger)
    res_met: Mapped[int] = mapped_column(BigInteger)
    res_breached: Mapped[int] = mapped_column(BigInteger)
    nr_breaches: Mapped[int] = mapped_column(BigInteger)


class MetricsTmrCell(_CellRow, Base):
    """Answered episodes per clinic day of the handoff and TMR bucket (`metrics_tmr_bucket`)."""

    __tablename__ = "metrics_tmr_cells"
    __table_args__ = _cell_indexes("metrics_tmr_cells")
    bucket: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(BigInteger)


class MetricsFcrCell(_CellRow, Base):
    """FCR passes (solved, not re-contacted) per clinic day of the handoff and UTC hour of the
    last resolve: what is still inside its 7-day window at `now` is a sum of whole hours."""

    __tablename__ = "metrics_fcr_cells"
    __table_args__ = _cell_indexes("metrics_fcr_cells")
    resolved_hour: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    n: Mapped[int] = mapped_column(BigInteger)


class MetricsContactHourCell(_CellRow, Base):
    """Contacts per clinic day and hour of the first message: all, contained (no handoff that
    day), with a booking message, converted after it, and `plain` (none of the built-in specific
    reasons; migration 0018)."""

    __tablename__ = "metrics_contact_hour_cells"
    __table_args__ = _cell_indexes("metrics_contact_hour_cells")
    hour: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(BigInteger)
    contained: Mapped[int] = mapped_column(BigInteger)
    booked: Mapped[int] = mapped_column(BigInteger)
    converted: Mapped[int] = mapped_column(BigInteger)
    plain: Mapped[int] = mapped_column(BigInteger)


class MetricsContactReasonCell(_CellRow, Base):
    """Contacts per clinic day, hour of the first message and reason tag they had."""

    __tablename__ = "metrics_contact_reason_cells"
    __table_args__ = _cell_indexes("metrics_contact_reason_cells")
    hour: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    n: Mapped[int] = mapped_column(BigInteger)


class MetricsContactTaughtCell(_CellRow, Base):
    """The `plain` contacts that had a reason tag the clinic created, per clinic day, hour and
    sorted set of such tags: what "other" subtracts when the dashboard counts taught reasons."""

    __tablename__ = "metrics_contact_taught_cells"
    __table_args__ = _cell_indexes("metrics_contact_taught_cells")
    hour: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(ReasonTags)
    n: Mapped[int] = mapped_column(BigInteger)


class MetricsCsatCell(_CellRow, Base):
    """CSAT (1-5) and NPS (0-10) answers given on one clinic day: counts, score sum and bands."""

    __tablename__ = "metrics_csat_cells"
    __table_args__ = _cell_indexes("metrics_csat_cells")
    answers: Mapped[int] = mapped_column(BigInteger)
    score_sum: Mapped[int] = mapped_column(BigInteger)
    satisfied: Mapped[int] = mapped_column(BigInteger)  # score 4-5
    nps_answers: Mapped[int] = mapped_column(BigInteger)
    promoters: Mapped[int] = mapped_column(BigInteger)  # NPS 9-10
    detractors: Mapped[int] = mapped_column(BigInteger)  # NPS 0-6
