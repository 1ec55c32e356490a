"""The manager dashboard's aggregates, computed in SQL (docs/metrics.md, "Dashboard figures").

Every statement aggregates inside the database (GROUP BY, window functions, correlated EXISTS)
and returns at most a few hundred rows (7 x 24 cells, one row of totals), never the underlying
messages or events. The same SQLAlchemy Core expressions run on PostgreSQL and SQLite; the
only dialect differences are isolated in handoff/adapters/sql/metrics_sql.py (`LocalClock` for
clinic wall time, `seconds_between`, `within_after`) and the percentile (PostgreSQL
`percentile_cont`; on SQLite a ranked window query picks the two rows to interpolate between).
The result types live in handoff/adapters/sql/metrics_results.py.

Grouped statements GROUP BY output-column ordinals: PostgreSQL would otherwise treat an
expression holding bound parameters (a JSON key, a constant) in the SELECT list and in the
GROUP BY as two different expressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import CTE

from handoff.adapters.sql.metrics_results import ContactCell, CsatTotals, EpisodeTotals, HandoffCell, NowFigures
from handoff.adapters.sql.metrics_sql import (
    LocalClock,
    as_aware,
    as_float,
    as_int,
    epoch_millis,
    lit,
    ordinals,
    seconds_between,
    within_after,
)
from handoff.adapters.sql.models import (
    AppointmentRow,
    Conversation,
    ConversationEvent,
    CsatResponse,
    Message,
    PatientLink,
    StaffUser,
)

# Event types the dashboard reads (handoff/domain/events.py names them; repeated here as SQL
# constants so the statements stay literal and index-friendly).
HANDOFF = "handoff"
ASSIGNED = "assigned"
AGENT_REPLY = "agent_reply"
RESOLVED = "resolved"
REOPENED = "reopened"
SLA_BREACH = "sla_breach"
APPOINTMENT_BOOKED = "appointment_booked"
MILESTONE_TYPES = (ASSIGNED, AGENT_REPLY, RESOLVED, REOPENED, SLA_BREACH)
OUTCOME_CODES = ("", "resolved", "booked", "not_resolved")  # index = code in the outcome key
RESOLVED_OK = ("resolved", "booked")  # outcomes that count as solved
REASON_TAG_KEY = "reason_tag"  # optional key of the handoff event: the reason tag at handoff time
FCR_WINDOW = timedelta(days=7)
STATEMENT_TIMEOUT_MS = 60_000
_SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")


def contact_message(m: Any) -> ColumnElement[bool]:
    """A message that forms contacts: from the patient, handled by the bot side (not a message
    to humans already holding the conversation), and not the answer to the CSAT question.

    Written with inline constants so PostgreSQL matches it to the partial indexes of
    migration 0005 whatever plan (custom or generic) a prepared statement gets.
    """
    return and_(
        m.c.direction == lit("in"),
        m.c.sender == lit("patient"),
        m.c.status != lit("routed"),
        or_(m.c.intent.is_(None), m.c.intent != lit("csat")),
    )


def _event_reason(e: Any, conv: Any) -> ColumnElement[Any]:
    """The reason tag of a handoff: the event's own `reason_tag` when written, else the
    conversation's reason tag, else `other`."""
    return func.coalesce(e.c.data[REASON_TAG_KEY].as_string(), conv.c.reason, lit("other"))


def episode_closed(ms: Any) -> ColumnElement[bool]:
    """An episode whose last resolve is not followed by a reopen (from its milestones `ms`)."""
    return and_(
        ms.last_resolved_at.is_not(None),
        or_(ms.last_reopened_at.is_(None), ms.last_reopened_at < ms.last_resolved_at),
    )


def interpolated(positions: Sequence[float], n: int, value: Callable[[int], float]) -> list[float | None]:
    """`percentile_cont` at each 0-based fractional rank of `positions` among `n` sorted values,
    `value(rank)` giving the value at a 0-based rank."""
    out: list[float | None] = []
    for pos in positions:
        lo = int(pos)
        hi = min(lo + 1, n - 1)
        out.append(value(lo) + (pos - lo) * (value(hi) - value(lo)))
    return out


def episode_figures(d: str, ms: Any) -> list[Any]:
    """The columns of an episode computed from its milestones `ms` (shared with the rollup
    path, handoff/adapters/sql/metrics_rollups.py, so both derive the figures identically)."""
    closed = episode_closed(ms)
    return [
        ms.cid,
        ms.handoff_at,
        ms.assigned_at,
        ms.first_reply_at,
        ms.first_resolved_at,
        ms.last_resolved_at,
        ms.fr_breach,
        ms.res_breach,
        ms.nr_breaches,
        case(*((and_(closed, ms.outcome_key % 4 == i), lit(o)) for i, o in enumerate(OUTCOME_CODES) if o)
             ).label("outcome"),
        case((closed, 1), else_=0).label("closed"),
        seconds_between(d, ms.handoff_at, ms.first_reply_at).label("tmr"),
        seconds_between(d, ms.handoff_at, ms.assigned_at).label("asa"),
        case(
            (ms.first_resolved_at >= ms.assigned_at, seconds_between(d, ms.assigned_at, ms.first_resolved_at))
        ).label("aht"),
    ]


def episode_totals_from(row: Any, sums: tuple[float, float, float], percentiles: tuple[float | None, float | None],
                        pending: int) -> EpisodeTotals:
    """`EpisodeTotals` from a row of counts keyed as `episode_totals_statement` names them, the
    ASA/TMR/AHT sums in seconds, the TMR median and p90, and the FCR passes still pending."""
    asa_sum, tmr_sum, aht_sum = sums
    return EpisodeTotals(
        episodes=as_int(row["episodes"]),
        assigned=as_int(row["assigned"]),
        asa_sum=asa_sum,
        answered=as_int(row["answered"]),
        tmr_sum=tmr_sum,
        tmr_p50=percentiles[0],
        tmr_p90=percentiles[1],
        handled=as_int(row["handled"]),
        aht_sum=aht_sum,
        closed=as_int(row["closed"]),
        resolved_ok=as_int(row["resolved_ok"]),
        outcomes={"resolved": as_int(row["o_resolved"]), "booked": as_int(row["o_booked"]),
                  "not_resolved": as_int(row["o_not"])},
        fcr_eligible=as_int(row["resolved_ok"]),
        fcr_ok=as_int(row["fcr_ok"]),
        fcr_pending=pending,
        fr_met=as_int(row["fr_met"]),
        fr_breached=as_int(row["fr_breached"]),
        res_met=as_int(row["res_met"]),
        res_breached=as_int(row["res_breached"]),
        next_response_breaches=as_int(row["nr_breaches"]),
    )


# -- statements ---------------------------------------------------------------------------


class MetricsQueries:
    """The dashboard's statements for one range [start, end) of UTC instants."""

    def __init__(self, dialect: str, tz: ZoneInfo, start: datetime, end: datetime, now: datetime) -> None:
        self.dialect = dialect
        self.start, self.end, self.now = start, end, now
        self.clock = LocalClock(dialect, tz, start, end)

    async def prepare(self, session: AsyncSession, snapshot: str | None = None) -> str | None:
        """PostgreSQL: a read-only REPEATABLE READ transaction, a time cap, room for in-memory
        sorts and no JIT. Without `snapshot` it exports its snapshot and returns the id; with
        one it adopts it, so statements on two connections see exactly the same data."""
        if self.dialect != "postgresql":
            return None
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        if snapshot is not None:
            if not _SNAPSHOT_ID.match(snapshot):
                raise ValueError("bad snapshot id")
            await session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        await session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        # Sorts of a month of events fit in memory; JIT compilation costs more than it saves on
        # these one-off aggregates (measured: 1.5 s of compiling for a 2 s statement).
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
        await session.execute(text("SET LOCAL jit = off"))
        if snapshot is not None:
            return snapshot
        return str((await session.execute(text("SELECT pg_export_snapshot()"))).scalar_one())

    # -- the operation now ----------------------------------------------------------------

    async def now_figures(self, session: AsyncSession) -> NowFigures:
        """Queue length and oldest wait (per queue), agents online/away, capacity and load."""
        c = Conversation.__table__.alias("c")
        queues = (
            await session.execute(
                select(c.c.queue, func.count(), func.min(c.c.waiting_since))
                .where(c.c.state == "queued")
                .group_by(c.c.queue)
            )
        ).all()
        s = StaffUser.__table__.alias("s")
        staff_rows = (
            await session.execute(
                select(s.c.presence, func.count(), func.coalesce(func.sum(s.c.max_concurrent), 0))
                .where(s.c.active.is_(True), s.c.role == "attendant")
                .group_by(s.c.presence)
            )
        ).all()
        held = (
            await session.execute(
                select(func.count())
                .select_from(c.join(s, s.c.id == c.c.assigned_agent_id))
                .where(
                    c.c.state.in_(("assigned", "waiting_patient")),
                    s.c.active.is_(True),
                    s.c.role == "attendant",
                    s.c.presence == "online",
                )
            )
        ).scalar_one()
        by_queue = sorted(
            ((str(q or "—"), as_int(n), as_aware(w)) for q, n, w in queues), key=lambda r: (-r[1], r[0])
        )
        oldest = min((w for _, _, w in by_queue if w is not None), default=None)
        presence = {str(p): (as_int(n), as_int(cap)) for p, n, cap in staff_rows}
        return NowFigures(
            queue_length=sum(n for _, n, _ in by_queue),
            oldest_waiting_since=oldest,
            by_queue=by_queue,
            agents_online=presence.get("online", (0, 0))[0],
            agents_away=presence.get("away", (0, 0))[0],
            capacity_online=presence.get("online", (0, 0))[1],
            open_held_by_online=as_int(held),
        )

    # -- handoff episodes -----------------------------------------------------------------

    def episodes(self) -> CTE:
        """One row per handoff episode that started in the range, with its milestones.

        An episode of a conversation runs from a ``handoff`` event to the next one (LEAD over
        the handoffs only); its milestones are the events of the conversation inside that
        interval (an index range scan per episode on (conversation_id, created_at)).
        """
        d = self.dialect
        h = ConversationEvent.__table__.alias("h")
        handoffs = (
            select(
                h.c.id.label("hid"),
                h.c.conversation_id.label("cid"),
                h.c.created_at.label("handoff_at"),
                h.c.data[REASON_TAG_KEY].as_string().label("tag"),
                func.lead(h.c.created_at)
                .over(partition_by=h.c.conversation_id, order_by=(h.c.created_at, h.c.id))
                .label("next_at"),
            )
            .where(h.c.type == lit(HANDOFF), h.c.created_at >= self.start)
            .cte("handoffs")
        )
        hh = handoffs.c
        e = ConversationEvent.__table__.alias("e")
        inside = and_(
            e.c.conversation_id == hh.cid,
            e.c.created_at >= self.start,  # lets the planner range-scan instead of reading all history
            e.c.created_at >= hh.handoff_at,
            or_(hh.next_at.is_(None), e.c.created_at < hh.next_at),
            e.c.type.in_([lit(t) for t in MILESTONE_TYPES]),
        )

        def first(type_: str) -> Any:
            return func.min(case((e.c.type == lit(type_), e.c.created_at)))

        def last(type_: str) -> Any:
            return func.max(case((e.c.type == lit(type_), e.c.created_at)))

        def flag(cond: Any) -> Any:
            return func.max(case((cond, 1), else_=0))

        # The outcome of the episode's last resolve without a second window: MAX over
        # (milliseconds since the epoch x 4 + outcome code), then the code is the remainder.
        outcome = e.c.data["outcome"].as_string()
        code = case(*((outcome == lit(o), i) for i, o in enumerate(OUTCOME_CODES) if o), else_=0)
        resolved_key = case((e.c.type == lit(RESOLVED), epoch_millis(d, e.c.created_at) * 4 + code))
        metric = e.c.data["metric"].as_string()
        breach = e.c.type == lit(SLA_BREACH)
        milestones = (
            select(
                hh.cid,
                hh.handoff_at,
                hh.tag,
                first(ASSIGNED).label("assigned_at"),
                first(AGENT_REPLY).label("first_reply_at"),
                first(RESOLVED).label("first_resolved_at"),
                last(RESOLVED).label("last_resolved_at"),
                last(REOPENED).label("last_reopened_at"),
                func.max(resolved_key).label("outcome_key"),
                flag(and_(breach, metric == lit("first_response"))).label("fr_breach"),
                flag(and_(breach, metric == lit("resolution"))).label("res_breach"),
                func.sum(case((and_(breach, metric == lit("next_response")), 1), else_=0)).label("nr_breaches"),
            )
            .select_from(handoffs.outerjoin(e, inside))
            .where(hh.handoff_at < self.end)
            .group_by(hh.hid, hh.cid, hh.handoff_at, hh.tag)
            .cte("milestones")
        )
        ms = milestones.c
        cv = Conversation.__table__.alias("cv")
        pl = PatientLink.__table__.alias("pl")
        return (
            select(
                *episode_figures(d, ms),
                func.coalesce(ms.tag, cv.c.reason, lit("other")).label("reason"),
                cv.c.patient_id,
                func.coalesce(pl.c.linked_to_id, cv.c.patient_id).label("person"),
            )
            .select_from(milestones.join(cv, cv.c.id == ms.cid).outerjoin(pl, pl.c.patient_id == cv.c.patient_id))
            .cte("episodes")
        )

    def _recontacted(self, eps: CTE) -> ColumnElement[bool]:
        """The patient (any channel, through patient links) came back with the same reason
        within 7 days after the final resolve: a bot-side message tagged with that reason
        (not for `other`), or a new handoff whose reason tag is the same.

        The person's conversations are those of the person's own record plus those of every
        record linked to it; each is its own EXISTS so that both use indexes (conversations by
        patient, then messages/events by conversation and time) instead of an OR that would
        force a scan per episode.
        """
        d, x = self.dialect, eps.c

        def probe(table: Any, linked: bool, conditions: Any) -> ColumnElement[bool]:
            """EXISTS a row of `table` on a conversation of the person meeting `conditions`."""
            row, conv = table.alias(), Conversation.__table__.alias()
            src = conv.join(row, row.c.conversation_id == conv.c.id)
            who = conv.c.patient_id == x.person
            if linked:
                link = PatientLink.__table__.alias()
                src = link.join(src, link.c.patient_id == conv.c.patient_id)
                who = link.c.linked_to_id == x.person
            return exists().select_from(src).where(who, *conditions(row, conv)).correlate(eps)

        def same_reason_message(m2: Any, c2: Any) -> list[ColumnElement[bool]]:
            return [
                contact_message(m2),
                m2.c.reason == x.reason,
                m2.c.created_at > x.last_resolved_at,
                within_after(d, m2.c.created_at, x.last_resolved_at, FCR_WINDOW, inclusive=True),
            ]

        def same_reason_handoff(e3: Any, c3: Any) -> list[ColumnElement[bool]]:
            return [
                e3.c.type == lit(HANDOFF),
                e3.c.created_at > x.last_resolved_at,
                within_after(d, e3.c.created_at, x.last_resolved_at, FCR_WINDOW, inclusive=True),
                _event_reason(e3, c3) == x.reason,
            ]

        by_message = or_(*(probe(Message.__table__, linked, same_reason_message) for linked in (False, True)))
        by_handoff = or_(
            *(probe(ConversationEvent.__table__, linked, same_reason_handoff) for linked in (False, True))
        )
        return or_(and_(x.reason != lit("other"), by_message), by_handoff)

    async def episode_totals(self, session: AsyncSession) -> EpisodeTotals:
        """Counts, sums and (PostgreSQL) percentiles over the episodes, in one statement."""
        stmt, eps = self.episode_totals_statement()
        row = (await session.execute(stmt)).mappings().one()
        answered = as_int(row["answered"])
        if self.dialect == "postgresql":
            p50, p90 = as_float(row["p50"]), as_float(row["p90"])
        else:
            p50, p90 = await self._percentiles(session, eps, answered, (0.5, 0.9))
        sums = (float(row["asa_sum"] or 0), float(row["tmr_sum"] or 0), float(row["aht_sum"] or 0))
        return episode_totals_from(row, sums, (p50, p90), as_int(row["fcr_pending"]))

    def episode_totals_statement(self) -> tuple[Any, CTE]:
        """The one-row aggregate over `episodes()` (and the CTE, for the SQLite percentiles)."""
        eps = self.episodes()
        e = eps.c
        ok = and_(e.closed == 1, e.outcome.in_([lit(o) for o in RESOLVED_OK]))
        in_window = within_after(self.dialect, bindparam("now", self.now, type_=DateTime(timezone=True)),
                                 e.last_resolved_at, FCR_WINDOW, inclusive=True)
        # The re-contact probes run once per episode: the flags are materialized before summing.
        scored = (
            select(
                eps,
                case((ok, 1), else_=0).label("ok"),
                # Only solved episodes count (a resolve without a known outcome is not: `ok` is
                # NULL there, and `~ok` would let it through to the re-contact test).
                case((ok, case((self._recontacted(eps), 0), else_=1)), else_=0).label("fcr"),
                case((ok, case((in_window, 1), else_=0)), else_=0).label("in_window"),
            )
            .cte("scored")
            .prefix_with("MATERIALIZED")
        )
        x = scored.c
        fr_stopped = or_(x.first_reply_at.is_not(None), x.first_resolved_at.is_not(None))
        cols: list[Any] = [
            func.count().label("episodes"),
            func.count(x.asa).label("assigned"),
            func.coalesce(func.sum(x.asa), 0.0).label("asa_sum"),
            func.count(x.tmr).label("answered"),
            func.coalesce(func.sum(x.tmr), 0.0).label("tmr_sum"),
            func.count(x.aht).label("handled"),
            func.coalesce(func.sum(x.aht), 0.0).label("aht_sum"),
            func.coalesce(func.sum(x.closed), 0).label("closed"),
            func.coalesce(func.sum(x.ok), 0).label("resolved_ok"),
            func.coalesce(func.sum(case((x.outcome == lit("resolved"), 1), else_=0)), 0).label("o_resolved"),
            func.coalesce(func.sum(case((x.outcome == lit("booked"), 1), else_=0)), 0).label("o_booked"),
            func.coalesce(func.sum(case((x.outcome == lit("not_resolved"), 1), else_=0)), 0).label("o_not"),
            func.coalesce(func.sum(x.fcr), 0).label("fcr_ok"),
            func.coalesce(func.sum(x.fcr * x.in_window), 0).label("fcr_pending"),
            func.coalesce(func.sum(case((and_(x.fr_breach == 0, fr_stopped), 1), else_=0)), 0).label("fr_met"),
            func.coalesce(func.sum(x.fr_breach), 0).label("fr_breached"),
            func.coalesce(func.sum(case((and_(x.res_breach == 0, x.closed == 1), 1), else_=0)), 0).label("res_met"),
            func.coalesce(func.sum(x.res_breach), 0).label("res_breached"),
            func.coalesce(func.sum(x.nr_breaches), 0).label("nr_breaches"),
        ]
        if self.dialect == "postgresql":
            cols += [
                func.percentile_cont(0.5).within_group(x.tmr).label("p50"),
                func.percentile_cont(0.9).within_group(x.tmr).label("p90"),
            ]
        return select(*cols).select_from(scored), eps

    async def _percentiles(
        self, session: AsyncSession, eps: CTE, n: int, ps: Sequence[float]
    ) -> tuple[float | None, float | None]:
        """Portable `percentile_cont`: rank the values with a window function and fetch only
        the rows on either side of each percentile's position, then interpolate."""
        if n == 0:
            return None, None
        positions = [p * (n - 1) for p in ps]  # 0-based fractional rank
        ranks = sorted({int(pos) + 1 for pos in positions} | {min(int(pos) + 2, n) for pos in positions})
        ordered = (
            select(eps.c.tmr.label("v"), func.row_number().over(order_by=eps.c.tmr).label("rn"))
            .where(eps.c.tmr.is_not(None))
            .subquery()
        )
        rows = (await session.execute(select(ordered.c.rn, ordered.c.v).where(ordered.c.rn.in_(ranks)))).all()
        values = {int(rn): float(v) for rn, v in rows}
        out = interpolated(positions, n, lambda rank: values[rank + 1])  # row_number is 1-based
        return out[0], out[1]

    async def handoff_cells(self, session: AsyncSession) -> list[HandoffCell]:
        """Handoffs started in the range per reason tag and clinic (weekday, hour)."""
        e, cv = ConversationEvent.__table__.alias("e"), Conversation.__table__.alias("cv")
        clock = self.clock
        stmt = (
            select(_event_reason(e, cv), clock.weekday_raw(e.c.created_at), clock.hour(e.c.created_at), func.count())
            .select_from(e.join(cv, cv.c.id == e.c.conversation_id))
            .where(e.c.type == lit(HANDOFF), e.c.created_at >= self.start, e.c.created_at < self.end)
            .group_by(*ordinals(3))
        )
        rows = (await session.execute(stmt)).all()
        return [HandoffCell(str(reason), clock.weekday(wd), int(h), as_int(n)) for reason, wd, h, n in rows]

    # -- contacts -------------------------------------------------------------------------

    def contact_cells_statement(self, reasons: Sequence[str]) -> Any:
        """Contacts (conversation x clinic day with at least one contact message) per clinic
        (weekday, hour) of their first message, with containment, booking conversion and
        reason counts (a contact counts once under each specific reason it had; `other`
        only when it had none).

        One GROUP BY over "facts" of a conversation on a clinic day (UNION ALL): its contact
        messages, its handoffs, and its conversions (appointments created for its patient or the
        linked record, `appointment_booked` events, resolves with outcome `booked`). "There was
        a handoff that day" and "a conversion came after the first booking message that day"
        (max(conversion time) >= first booking message) then need no join and no subquery.
        """
        clock = self.clock
        specific = [r for r in reasons if r != "other"]
        start, end = self.start, self.end
        m, e = Message.__table__.alias("m"), ConversationEvent.__table__.alias("e")
        a, c = AppointmentRow.__table__.alias("a"), Conversation.__table__.alias("c")
        a2, c2 = AppointmentRow.__table__.alias("a2"), Conversation.__table__.alias("c2")
        link = PatientLink.__table__.alias("link")
        e2 = ConversationEvent.__table__.alias("e2")
        msg_kind: ColumnElement[Any] = literal_column("1")
        handoff_kind: ColumnElement[Any] = literal_column("2")
        conversion_kind: ColumnElement[Any] = literal_column("3")
        facts = union_all(
            select(m.c.conversation_id.label("cid"), m.c.created_at.label("at"), m.c.reason.label("reason"),
                   msg_kind.label("kind"))
            .where(contact_message(m), m.c.created_at >= start, m.c.created_at < end),
            select(e.c.conversation_id, e.c.created_at, null(), handoff_kind)
            .where(e.c.type == lit(HANDOFF), e.c.created_at >= start, e.c.created_at < end),
            select(c.c.id, a.c.created_at, null(), conversion_kind)
            .select_from(a.join(c, c.c.patient_id == a.c.patient_id))
            .where(a.c.created_at >= start, a.c.created_at < end),
            select(c2.c.id, a2.c.created_at, null(), conversion_kind)
            .select_from(a2.join(link, link.c.linked_to_id == a2.c.patient_id)
                         .join(c2, c2.c.patient_id == link.c.patient_id))
            .where(a2.c.created_at >= start, a2.c.created_at < end),
            select(e2.c.conversation_id, e2.c.created_at, null(), conversion_kind)
            .where(
                e2.c.type.in_((lit(APPOINTMENT_BOOKED), lit(RESOLVED))),
                e2.c.created_at >= start,
                e2.c.created_at < end,
                or_(e2.c.type == lit(APPOINTMENT_BOOKED), e2.c.data["outcome"].as_string() == lit("booked")),
            ),
        ).subquery("facts")
        f = facts.c
        is_msg = f.kind == msg_kind
        booking_at = func.min(case((and_(is_msg, f.reason == lit("booking")), f.at)))
        cols: list[Any] = [
            f.cid.label("cid"),
            clock.day(f.at).label("d"),
            func.min(case((is_msg, f.at))).label("first_at"),
            booking_at.label("booking_at"),
            func.max(case((f.kind == handoff_kind, 1), else_=0)).label("handoff"),
            case((func.max(case((f.kind == conversion_kind, f.at))) >= booking_at, 1), else_=0).label("converted"),
        ]
        cols += [func.max(case((f.reason == lit(r), 1), else_=0)).label(f"r{i}") for i, r in enumerate(specific)]
        contacts = (
            select(*cols)
            .group_by(*ordinals(2))
            .having(func.max(case((is_msg, 1), else_=0)) == 1)
            .cte("contacts")
        )
        k = contacts.c
        flags = [k[f"r{i}"] for i in range(len(specific))]
        any_specific: Any = sum(flags[1:], flags[0]) if flags else literal_column("0")
        out: list[Any] = [
            clock.weekday_raw(k.first_at),
            clock.hour(k.first_at),
            func.count(),
            func.sum(1 - k.handoff),
            func.count(k.booking_at),
            func.sum(k.converted),
            func.sum(case((any_specific == 0, 1), else_=0)),
            *[func.sum(flag) for flag in flags],
        ]
        return select(*out).select_from(contacts).group_by(*ordinals(2))

    async def contact_cells(self, session: AsyncSession, reasons: Sequence[str]) -> list[ContactCell]:
        """Contacts per clinic (weekday, hour) of their first message (see `contact_cells_statement`)."""
        clock = self.clock
        specific = [r for r in reasons if r != "other"]
        stmt = self.contact_cells_statement(reasons)
        cells: list[ContactCell] = []
        for row in (await session.execute(stmt)).all():
            wd, h, n, contained, booking, conv, other, *per = row
            by_reason = {r: as_int(v) for r, v in zip(specific, per, strict=True)}
            by_reason["other"] = as_int(other)
            cells.append(ContactCell(clock.weekday(wd), int(h), as_int(n), as_int(contained), as_int(booking),
                                     as_int(conv), by_reason))
        return cells

    # -- satisfaction ---------------------------------------------------------------------

    async def csat(self, session: AsyncSession) -> CsatTotals:
        """CSAT (1–5) and NPS (0–10, when asked) answers given in the range."""
        r = CsatResponse.__table__.alias("r")
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(r.c.score), 0),
                    func.coalesce(func.sum(case((r.c.score >= 4, 1), else_=0)), 0),
                    func.count(r.c.nps),
                    func.coalesce(func.sum(case((r.c.nps >= 9, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((r.c.nps <= 6, 1), else_=0)), 0),
                ).where(r.c.created_at >= self.start, r.c.created_at < self.end)
            )
        ).one()
        return CsatTotals(*(as_int(v) for v in row))
