"""The dashboard's statements over the rollups of migrations 0016 and 0017 (PostgreSQL): a 30-day
period reads per clinic day x hour cells instead of a month of messages and events.

`metrics_episodes` holds each episode's milestones, reason, person and FCR re-contact flag;
`metrics_contact_days` each contact's clinic weekday/hour, first booking message, reason tags,
handoff flag and last conversion. Triggers keep both current in the writer's transaction (0016),
and the cells (0017) current with them: `metrics_episode_cells` sums what the dashboard takes
over episodes, `metrics_tmr_cells` counts answered episodes per TMR bucket, `metrics_contact_cells`
counts contacts, `metrics_csat_cells` the satisfaction answers. Every figure equals the one of
`MetricsQueries` (today's statements over the source tables, kept as the reference path):
tests/metrics/test_rollups.py compares both paths field by field on the same data.

Used only on PostgreSQL and for the zone the triggers were written for (`ROLLUP_TZ`); anything
else runs `MetricsQueries` (see `queries_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from handoff.adapters.sql.metrics_queries import (
    FCR_WINDOW,
    OUTCOME_CODES,
    RESOLVED_OK,
    MetricsQueries,
    episode_closed,
    episode_totals_from,
    interpolated,
)
from handoff.adapters.sql.metrics_results import ContactCell, CsatTotals, EpisodeTotals, HandoffCell
from handoff.adapters.sql.metrics_sql import as_int, lit, ordinals
from handoff.adapters.sql.models_metrics import (
    MetricsContactHourCell,
    MetricsContactReasonCell,
    MetricsContactTaughtCell,
    MetricsCsatCell,
    MetricsEpisode,
    MetricsEpisodeCell,
    MetricsFcrCell,
    MetricsTmrCell,
)
from handoff.domain.triage import REASONS

# The episode cells' counts and sums (migration 0017), in episode_totals_statement's terms.
EPISODE_SUMS = ("episodes", "assigned", "asa_us", "answered", "tmr_us", "handled", "aht_us", "closed",
                "resolved_ok", "o_resolved", "o_booked", "o_not", "fcr_ok", "fr_met", "fr_breached", "res_met",
                "res_breached", "nr_breaches")

# The specific reasons every dashboard counts (the contact cells' `plain`, migration 0018).
BUILT_IN_REASONS = tuple(r for r in REASONS if r != "other")
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
    """`MetricsQueries` reading the cells of migration 0017 (PostgreSQL): per clinic day and hour
    sums of the rollup rows, a few thousand rows a month whatever the traffic. Two figures read
    rollup rows, through indexes, in small numbers: the TMR percentiles (the rank is located by
    counting the TMR cells, then read among one bucket's episodes) and the FCR answers still
    inside their 7-day window (they depend on `now`)."""

    @property
    def days(self) -> tuple[date, date]:
        """The first and last clinic day of the range (both inclusive)."""
        tz = self.clock.tz
        return self.start.astimezone(tz).date(), (self.end.astimezone(tz) - timedelta(days=1)).date()

    def _in_days(self, c: Any) -> ColumnElement[bool]:
        first, last = self.days
        return and_(c.day >= first, c.day <= last)

    async def episode_totals(self, session: AsyncSession) -> EpisodeTotals:
        """The sums of the episode cells of the range, the percentiles and the pending FCR."""
        c = MetricsEpisodeCell.__table__.c
        row = (await session.execute(
            select(*[func.coalesce(func.sum(c[k]), 0).label(k) for k in EPISODE_SUMS]).where(self._in_days(c))
        )).mappings().one()
        answered = as_int(row["answered"])
        p50, p90 = await self._tmr_percentiles(session, answered, (0.5, 0.9))
        sums = (as_int(row["asa_us"]) / 1e6, as_int(row["tmr_us"]) / 1e6, as_int(row["aht_us"]) / 1e6)
        return episode_totals_from(row, sums, (p50, p90), await self._fcr_pending(session))

    async def _fcr_pending(self, session: AsyncSession) -> int:
        """Episodes of the range counted as first-contact resolved whose 7-day window is still
        open at `now` (the reference's `fcr * in_window`: last resolve >= now - 7 days): the FCR
        cells of the whole UTC hours after the bound's hour, plus the passes of the bound's own
        hour counted among its episodes (an hour of resolves, through the last-resolve index)."""
        bound = self.now - FCR_WINDOW
        hour = bound.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        f = MetricsFcrCell.__table__.c
        whole = select(func.coalesce(func.sum(f.n), 0)).where(self._in_days(f), f.resolved_hour > hour)
        e = MetricsEpisode.__table__.c
        edge = select(func.count()).where(
            e.last_resolved_at >= bound, e.last_resolved_at < hour + timedelta(hours=1),
            e.handoff_at >= self.start, e.handoff_at < self.end,
            episode_closed(e), (e.outcome_key % 4).in_([OUTCOME_CODES.index(o) for o in RESOLVED_OK]),
            e.recontacted.is_not(True),
        )
        row = (await session.execute(select(whole.scalar_subquery(), edge.scalar_subquery()))).one()
        return as_int(row[0]) + as_int(row[1])

    async def _tmr_percentiles(
        self, session: AsyncSession, n: int, ps: Sequence[float]
    ) -> tuple[float | None, float | None]:
        """`percentile_cont` over the TMRs of the range, exactly: the 0-based ranks either side of
        each position are located in the TMR cells (answered episodes per bucket, in bucket order),
        then each value is the j-th TMR of its bucket's episodes in the range (an index scan)."""
        if n == 0:
            return None, None
        positions = [p * (n - 1) for p in ps]
        wanted = sorted({int(pos) for pos in positions} | {min(int(pos) + 1, n - 1) for pos in positions})
        t = MetricsTmrCell.__table__.c
        counts = (await session.execute(
            select(t.bucket, func.sum(t.n)).where(self._in_days(t)).group_by(t.bucket).order_by(t.bucket)
        )).all()
        located: dict[int, tuple[int, int]] = {}  # rank -> (bucket, offset inside it)
        below = 0
        for bucket, count in counts:
            count = as_int(count)
            for rank in wanted:
                if below <= rank < below + count:
                    located[rank] = (int(bucket), rank - below)
            below += count
        e = MetricsEpisode.__table__.c

        def probe(bucket: int, offset: int) -> Any:
            # The index range is the bucket's bounds with a margin; the bucket function itself
            # (migration 0017) decides membership, so a TMR on a bound's float edge is counted
            # where the cells counted it.
            lo, hi = tmr_bucket_bounds(bucket)
            return (select(e.tmr)
                    .where(e.tmr >= lo - 1, e.tmr < hi + 1, func.metrics_tmr_bucket(e.tmr) == bucket,
                           e.handoff_at >= self.start, e.handoff_at < self.end)
                    .order_by(e.tmr).offset(offset).limit(1).scalar_subquery())

        probes = [probe(bucket, offset) for bucket, offset in located.values()]
        row = (await session.execute(select(*probes))).one()
        values = {rank: float(v) for rank, v in zip(located, row, strict=True)}
        out = interpolated(positions, n, values.__getitem__)
        return out[0], out[1]

    async def csat(self, session: AsyncSession) -> CsatTotals:
        """CSAT and NPS answers given in the range, from the CSAT cells."""
        c = MetricsCsatCell.__table__.c
        cols = (c.answers, c.score_sum, c.satisfied, c.nps_answers, c.promoters, c.detractors)
        row = (await session.execute(
            select(*[func.coalesce(func.sum(col), 0) for col in cols]).where(self._in_days(c))
        )).one()
        return CsatTotals(*(as_int(v) for v in row))

    async def handoff_cells(self, session: AsyncSession) -> list[HandoffCell]:
        """Handoffs started in the range per reason tag and clinic (weekday, hour), from the
        episode cells (an episode is one handoff; its reason is the handoff's reason tag)."""
        c = MetricsEpisodeCell.__table__.c
        n = func.sum(c.episodes)
        stmt = (
            select(c.reason, _weekday(c.day), c.hour, n)
            .where(self._in_days(c))
            .group_by(*ordinals(3))
            .having(n != 0)
        )
        rows = (await session.execute(stmt)).all()
        return [HandoffCell(str(reason), int(wd), int(h), as_int(k)) for reason, wd, h, k in rows]

    async def contact_cells(self, session: AsyncSession, reasons: Sequence[str]) -> list[ContactCell]:
        """Contacts per clinic (weekday, hour) of their first message (weekday stored 0 = Monday),
        from the contact cells of migration 0018 (their keys are bounded: a month is at most
        24 x 30 hour cells and as many per reason, whatever the traffic).

        "other" counts a contact with none of `reasons`' specific reasons. The built-in ones are
        always among them, so that is a `plain` contact (none of the built-in ones) without any of
        the taught reasons asked for: `plain` minus the taught cells that meet those."""
        specific = [r for r in reasons if r != "other"]
        taught = [r for r in specific if r not in BUILT_IN_REASONS]
        h, k, t = (table.__table__.c for table in (MetricsContactHourCell, MetricsContactReasonCell,
                                                      MetricsContactTaughtCell))
        sums = [func.sum(h[c]) for c in ("n", "contained", "booked", "converted", "plain")]
        hours = (await session.execute(
            select(_weekday(h.day), h.hour, *sums)
            .where(self._in_days(h)).group_by(*ordinals(2)).having(func.sum(h.n) != 0)
        )).all()
        per_reason: dict[tuple[int, int], dict[str, int]] = {}
        if specific:
            for wd, hour, reason, n in (await session.execute(
                select(_weekday(k.day), k.hour, k.reason, func.sum(k.n))
                .where(self._in_days(k), k.reason.in_(specific)).group_by(*ordinals(3))
            )).all():
                per_reason.setdefault((int(wd), int(hour)), {})[str(reason)] = as_int(n)
        not_other: dict[tuple[int, int], int] = {}
        if taught:
            wanted: ColumnElement[Any] = literal_column("ARRAY[" + ", ".join(str(lit(r)) for r in taught) + "]::text[]")
            for wd, hour, n in (await session.execute(
                select(_weekday(t.day), t.hour, func.sum(t.n))
                .where(self._in_days(t), t.reasons.op("&&")(wanted)).group_by(*ordinals(2))
            )).all():
                not_other[(int(wd), int(hour))] = as_int(n)
        cells: list[ContactCell] = []
        for wd, hour, n, contained, booked, converted, plain in hours:
            key = (int(wd), int(hour))
            counts = per_reason.get(key, {})
            by_reason = {r: counts.get(r, 0) for r in specific}
            by_reason["other"] = as_int(plain) - not_other.get(key, 0)
            cells.append(ContactCell(key[0], key[1], as_int(n), as_int(contained), as_int(booked), as_int(converted),
                                     by_reason))
        return cells


def tmr_bucket_bounds(bucket: int) -> tuple[float, float]:
    """The TMR seconds [lo, hi) of a bucket of `metrics_tmr_bucket` (migration 0017): 5 s wide
    below 1 h, 5 min below 24 h, 1 h beyond."""
    if bucket < 720:
        return 5.0 * bucket, 5.0 * bucket + 5
    if bucket < 996:
        return 3600.0 + 300 * (bucket - 720), 3600.0 + 300 * (bucket - 719)
    return 86400.0 + 3600 * (bucket - 996), 86400.0 + 3600 * (bucket - 995)


def _weekday(day: Any) -> ColumnElement[int]:
    """0 = Monday, of a clinic calendar day: days since a Monday, modulo 7 (date arithmetic;
    `extract(isodow)` goes through a timestamp per row: a third of the contact statement's time
    on 35k cells)."""
    since_monday = cast(day - literal_column("DATE '2000-01-03'"), Integer)
    return (since_monday % 7 + 7) % 7


async def compact(session: AsyncSession) -> int:
    """Fold every cell's new rows into one row per cell (`metrics_cells_compact`, migration
    0017); returns how many rows were folded. PostgreSQL only."""
    return as_int(await session.scalar(select(func.metrics_cells_compact())))


async def rebuild(session: AsyncSession) -> None:
    """Recompute both rollups and every cell from the source tables (after a bulk load that
    bypassed the triggers, e.g. COPY with session_replication_role = replica; the CSAT cells sum
    csat_responses directly), folded. PostgreSQL only."""
    await session.execute(select(func.metrics_rollup_rebuild()))
    await session.execute(select(func.metrics_cells_rebuild()))
