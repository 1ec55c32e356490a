"""The dashboard's statements over the rollups of migration 0016 (PostgreSQL): a 30-day period
reads one row per handoff episode and one per contact instead of a month of messages and events.

`metrics_episodes` holds each episode's milestones, reason, person and FCR re-contact flag;
`metrics_contact_days` each contact's clinic weekday/hour, first booking message, reason tags,
handoff flag and last conversion. Triggers keep both current in the writer's transaction (see the
migration), so every figure equals the one of `MetricsQueries` (today's statements over the
source tables, kept as the reference path): the same expressions turn milestones into
durations and rates (`episode_figures`), the same `percentile_cont` gives the percentiles, and
tests/metrics/test_rollups.py compares both paths field by field on the same data.

Used only on PostgreSQL and for the zone the triggers were written for (`ROLLUP_TZ`); anything
else runs `MetricsQueries` (see `queries_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal_column, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import CTE

from handoff.adapters.sql.metrics_queries import MetricsQueries, episode_figures
from handoff.adapters.sql.metrics_results import ContactCell, HandoffCell
from handoff.adapters.sql.metrics_sql import as_int, lit, ordinals
from handoff.adapters.sql.models_metrics import MetricsContactDay, MetricsEpisode

ROLLUP_TZ = "America/Sao_Paulo"  # the zone of the local day/weekday/hour columns (migration 0016)


def queries_for(dialect: str, tz: ZoneInfo, start: datetime, end: datetime, now: datetime, *,
                rollups: bool = True) -> MetricsQueries:
    """The rollup statements when they apply (PostgreSQL, the rollups' zone, a range of whole
    clinic days), else today's statements over the source tables."""
    if rollups and dialect == "postgresql" and tz.key == ROLLUP_TZ:
        first, last = start.astimezone(tz), end.astimezone(tz)
        if first.time() == last.time() == datetime.min.time():  # whole days: contacts are per day
            return RollupQueries(dialect, tz, start, end, now)
    return MetricsQueries(dialect, tz, start, end, now)


class RollupQueries(MetricsQueries):
    """`MetricsQueries` reading `metrics_episodes` and `metrics_contact_days` (PostgreSQL)."""

    materialize_scored = False  # the re-contact flag is a stored column: nothing costly to share

    @property
    def days(self) -> tuple[date, date]:
        """The first and last clinic day of the range (both inclusive)."""
        tz = self.clock.tz
        return self.start.astimezone(tz).date(), (self.end.astimezone(tz) - timedelta(days=1)).date()

    def episodes(self) -> CTE:
        """The episodes started in the range, from the rollup: the same columns as
        `MetricsQueries.episodes()` (plus the stored re-contact flag)."""
        ms = MetricsEpisode.__table__.c
        # episode_figures ends with tmr, asa, aht: the stored values (same expressions, computed
        # once on write) replace them, so a month's aggregate does no interval arithmetic.
        figures = episode_figures(self.dialect, ms)[:-3]
        return (
            select(*figures, ms.tmr, ms.asa, ms.aht, ms.reason, ms.person, ms.recontacted)
            .where(ms.handoff_at >= self.start, ms.handoff_at < self.end)
            .cte("episodes")
        )

    def _recontacted(self, eps: CTE) -> ColumnElement[bool]:
        """Kept current by the triggers with `MetricsQueries._recontacted`'s conditions."""
        return eps.c.recontacted == true()

    async def handoff_cells(self, session: AsyncSession) -> list[HandoffCell]:
        """Handoffs started in the range per reason tag and clinic (weekday, hour): one row per
        episode (an episode is one handoff; its reason is the handoff's reason tag)."""
        ms, clock = MetricsEpisode.__table__.c, self.clock
        stmt = (
            select(ms.reason, clock.weekday_raw(ms.handoff_at), clock.hour(ms.handoff_at), func.count())
            .where(ms.handoff_at >= self.start, ms.handoff_at < self.end)
            .group_by(*ordinals(3))
        )
        rows = (await session.execute(stmt)).all()
        return [HandoffCell(str(reason), clock.weekday(wd), int(h), as_int(n)) for reason, wd, h, n in rows]

    def contact_cells_statement(self, reasons: Sequence[str]) -> Any:
        """Contacts per clinic (weekday, hour) of their first message, from one row per contact.

        Two levels: contacts are first counted per (weekday, hour, reason set, handoff, booking,
        converted), a few thousand groups, so the per-reason tests on the tag arrays run on
        those groups instead of on every contact."""
        k = MetricsContactDay.__table__.c
        first, last = self.days
        booked = k.booking_at.is_not(None)
        converted = func.coalesce(k.conversion_at >= k.booking_at, False)
        groups = (
            select(k.weekday, k.hour, k.reasons, k.handoff, booked.label("booked"), converted.label("converted"),
                   func.count().label("n"))
            .where(and_(k.day >= first, k.day <= last))
            .group_by(*ordinals(6))
            .subquery("groups")
        )
        g = groups.c
        specific = [r for r in reasons if r != "other"]
        flags: list[Any] = [case((lit(r) == func.any(g.reasons), 1), else_=0) for r in specific]
        any_specific: Any = sum(flags[1:], flags[0]) if flags else literal_column("0")
        return (
            select(
                g.weekday,
                g.hour,
                func.sum(g.n),
                func.sum((1 - g.handoff) * g.n),
                func.sum(case((g.booked, g.n), else_=0)),
                func.sum(case((g.converted, g.n), else_=0)),
                func.sum(case((any_specific == 0, g.n), else_=0)),
                *[func.sum(flag * g.n) for flag in flags],
            )
            .group_by(*ordinals(2))
        )

    async def contact_cells(self, session: AsyncSession, reasons: Sequence[str]) -> list[ContactCell]:
        """Contacts per clinic (weekday, hour) of their first message (weekday stored 0 = Monday)."""
        specific = [r for r in reasons if r != "other"]
        cells: list[ContactCell] = []
        for row in (await session.execute(self.contact_cells_statement(reasons))).all():
            wd, h, n, contained, booking, conv, other, *per = row
            by_reason = {r: as_int(v) for r, v in zip(specific, per, strict=True)}
            by_reason["other"] = as_int(other)
            cells.append(ContactCell(int(wd), int(h), as_int(n), as_int(contained), as_int(booking), as_int(conv),
                                     by_reason))
        return cells


async def rebuild(session: AsyncSession) -> None:
    """Recompute both rollups from the source tables (after a bulk load that bypassed the
    triggers, e.g. COPY with session_replication_role = replica). PostgreSQL only."""
    await session.execute(select(func.metrics_rollup_rebuild()))
