"""The manager dashboard: every figure of `GET /api/metrics` and its CSV export.

Formulas: docs/metrics.md, "Dashboard figures". The database does the aggregation
(handoff/adapters/sql/metrics_queries.py); this module turns sums and counts into means and
rates, lays out the 7 x 24 grids and runs the Erlang C staffing (handoff/domain/staffing.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handoff.adapters.sql.database import Database, utcnow
from handoff.adapters.sql.metrics_queries import MetricsQueries
from handoff.adapters.sql.metrics_results import ContactCell, CsatTotals, EpisodeTotals, HandoffCell, NowFigures
from handoff.adapters.sql.metrics_rollups import queries_for
from handoff.domain import staffing
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.domain.errors import Invalid
from handoff.domain.triage import REASONS

T = TypeVar("T")
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
WEEKDAYS_PT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")
REASON_LABELS_PT = {
    "booking": "Agendamento",
    "confirmation": "Confirmação",
    "exams": "Exames",
    "billing": "Financeiro",
    "urgent": "Urgência",
    "human": "Pediu atendente",
    "other": "Outros",
}


class RangeError(Invalid, ValueError):
    """A bad `from`/`to` (the message is shown to the user, in pt-BR): 400 `invalid_range`."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_range", message)


@dataclass(frozen=True)
class DateRange:
    """Inclusive clinic-calendar days and the UTC instants they cover: [start, end)."""

    first: date
    last: date
    tz: ZoneInfo = CLINIC_TZ

    @property
    def days(self) -> int:
        """Number of calendar days (inclusive)."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """Midnight opening the first day, in UTC."""
        return datetime.combine(self.first, time(0), tzinfo=self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """Midnight closing the last day (exclusive), in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC)

    def weekday_counts(self) -> list[int]:
        """How many times each weekday (0 = Monday) occurs in the range."""
        counts = [self.days // 7] * 7
        for i in range(self.days % 7):
            counts[(self.first.weekday() + i) % 7] += 1
        return counts


def today_in(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The clinic's calendar date now."""
    return (now or utcnow()).astimezone(tz).date()


def parse_range(raw_from: str | None, raw_to: str | None, *, tz: ZoneInfo = CLINIC_TZ,
                now: datetime | None = None) -> DateRange:
    """`from`/`to` as ``YYYY-MM-DD`` clinic days (inclusive). Both absent: the last 30 days up
    to today. Raises RangeError on a missing half, a bad date, `from` after `to` or more than
    366 days."""
    raw_from, raw_to = (raw_from or "").strip(), (raw_to or "").strip()
    if not raw_from and not raw_to:
        last = today_in(tz, now)
        return DateRange(last - timedelta(days=DEFAULT_RANGE_DAYS - 1), last, tz)
    if not raw_from or not raw_to:
        raise RangeError("informe as duas datas: from e to (AAAA-MM-DD)")
    try:
        first, last = date.fromisoformat(raw_from), date.fromisoformat(raw_to)
    except ValueError as exc:
        raise RangeError("datas inválidas: use AAAA-MM-DD") from exc
    if len(raw_from) != 10 or len(raw_to) != 10:
        raise RangeError("datas inválidas: use AAAA-MM-DD")
    if first > last:
        raise RangeError("a data inicial é posterior à final")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise RangeError(f"o período máximo é de {MAX_RANGE_DAYS} dias")
    return DateRange(first, last, tz)


@dataclass(frozen=True)
class StaffingParams:
    """Erlang C inputs chosen by the manager (defaults documented in docs/metrics.md)."""

    target_service_level: float = 0.8
    answer_seconds: float = 60.0
    max_occupancy: float = 0.85
    concurrency: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.target_service_level < 1:
            raise RangeError("nível de serviço deve estar entre 0 e 1 (exclusivo)")
        if not 0 < self.answer_seconds <= 86_400:
            raise RangeError("tempo de atendimento-alvo deve estar entre 1 s e 24 h")
        if not 0 < self.max_occupancy <= 1:
            raise RangeError("ocupação máxima deve estar em (0, 1]")
        if not 1 <= self.concurrency <= 20:
            raise RangeError("conversas simultâneas por atendente deve estar entre 1 e 20")


def parse_staffing(args: Any, defaults: StaffingParams | None = None) -> StaffingParams:
    """Optional query parameters `sl`, `answer_seconds`, `max_occupancy`, `concurrency` over
    `defaults` (a mapping-like `args.get`)."""
    base = defaults or StaffingParams()
    values: dict[str, float] = {
        "target_service_level": base.target_service_level,
        "answer_seconds": base.answer_seconds,
        "max_occupancy": base.max_occupancy,
        "concurrency": base.concurrency,
    }
    for key, field in (("sl", "target_service_level"), ("answer_seconds", "answer_seconds"),
                       ("max_occupancy", "max_occupancy"), ("concurrency", "concurrency")):
        raw = args.get(key)
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = float(str(raw).replace(",", "."))
        except ValueError as exc:
            raise RangeError(f"parâmetro {key} inválido") from exc
        if not math.isfinite(value):
            raise RangeError(f"parâmetro {key} inválido")
        values[field] = value
    return StaffingParams(**values)


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


def _secs(value: float | None) -> float | None:
    """Durations to the millisecond (SQLite's julianday arithmetic is only that precise)."""
    return None if value is None else round(value, 3)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True)
class PeriodFigures:
    """The SQL aggregates of a period (everything but "now")."""

    episodes: EpisodeTotals
    handoffs: list[HandoffCell]
    contacts: list[ContactCell]
    csat: CsatTotals
    computed_at: datetime


class MetricsService:
    """Computes the dashboard for a date range (read-only).

    With `cache_seconds > 0` (the API: one service per app) the period's aggregates are reused
    for that long per range, one computation at a time per range, while the "now" figures
    (queue, agents) are read on every call: a live dashboard refreshing on every staff event
    costs one cheap query instead of the whole month each time.

    With `rollups` (the default) PostgreSQL reads the rollup tables of migration 0016
    (handoff/adapters/sql/metrics_rollups.py); `rollups=False` runs today's statements over the
    source tables (the reference the rollups are tested against; SQLite always does).
    """

    def __init__(self, db: Database, *, reasons: Sequence[str] = REASONS, tz: ZoneInfo = CLINIC_TZ,
                 cache_seconds: float = 0.0, rollups: bool = True) -> None:
        self.db = db
        self.rollups = rollups
        self.reasons = tuple(dict.fromkeys([*reasons, "other"]))
        self.tz = tz
        self.cache_seconds = cache_seconds
        self._cache: dict[tuple[date, date, str], PeriodFigures] = {}
        self._locks: dict[tuple[date, date, str], asyncio.Lock] = {}

    async def dashboard(
        self, rng: DateRange, staffing_params: StaffingParams | None = None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """Every figure of the dashboard as JSON-ready data."""
        now = now or utcnow()
        params = staffing_params or StaffingParams()
        q = queries_for(self.db.dialect, rng.tz, rng.start, rng.end, now, rollups=self.rollups)
        key = (rng.first, rng.last, rng.tz.key)
        current: NowFigures | None = None
        period = self._fresh(key, now)
        if period is None and self.cache_seconds > 0:
            async with self._locks.setdefault(key, asyncio.Lock()):
                period = self._fresh(key, now)  # computed meanwhile by the caller we waited for?
                if period is None:
                    current, period = await self._compute(q, now)
                    self._remember(key, period)
        elif period is None:
            current, period = await self._compute(q, now)
        if current is None:  # the period came from the cache: "now" is always read fresh
            async with self.db.session() as session:
                current = await q.now_figures(session)
        report = build_report(rng, now, params, self.reasons, current, period.episodes, period.handoffs,
                              period.contacts, period.csat)
        report["period_computed_at"] = period.computed_at.isoformat()
        return report

    def _fresh(self, key: tuple[date, date, str], now: datetime) -> PeriodFigures | None:
        cached = self._cache.get(key)
        if cached is None or self.cache_seconds <= 0:
            return None
        if not 0 <= (now - cached.computed_at).total_seconds() < self.cache_seconds:
            return None
        return cached

    def _remember(self, key: tuple[date, date, str], period: PeriodFigures) -> None:
        if len(self._cache) > 64:  # ranges are few; drop everything stale
            self._cache = {k: v for k, v in self._cache.items() if self._fresh(k, period.computed_at)}
        self._cache[key] = period

    async def _compute(self, q: MetricsQueries, now: datetime) -> tuple[NowFigures, PeriodFigures]:
        """Every statement; on PostgreSQL at once on three connections sharing one snapshot."""
        async with self.db.session() as session:
            snapshot = await q.prepare(session)
            if snapshot is None:  # SQLite: one connection, one statement at a time
                current = await q.now_figures(session)
                episodes = await q.episode_totals(session)
                contacts = await q.contact_cells(session, self.reasons)
                handoffs = await q.handoff_cells(session)
                csat = await q.csat(session)
            else:
                # PostgreSQL: the statements run at once on three connections that share one
                # snapshot (pg_export_snapshot), so the figures stay mutually consistent.
                async def elsewhere(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
                    async with self.db.session() as other:
                        await q.prepare(other, snapshot)
                        return await work(other)

                async def small(other: AsyncSession) -> tuple[list[HandoffCell], CsatTotals]:
                    return await q.handoff_cells(other), await q.csat(other)

                contacts_task = asyncio.ensure_future(elsewhere(lambda other: q.contact_cells(other, self.reasons)))
                small_task = asyncio.ensure_future(elsewhere(small))
                try:
                    current = await q.now_figures(session)
                    episodes = await q.episode_totals(session)
                finally:
                    # Never leave a task running past this transaction (its snapshot's owner).
                    await asyncio.wait([contacts_task, small_task])
                contacts = contacts_task.result()
                handoffs, csat = small_task.result()
        return current, PeriodFigures(episodes, handoffs, contacts, csat, now)


def build_report(
    rng: DateRange,
    now: datetime,
    params: StaffingParams,
    reasons: Sequence[str],
    current: NowFigures,
    ep: EpisodeTotals,
    handoffs: Sequence[HandoffCell],
    contacts: Sequence[ContactCell],
    csat: CsatTotals,
) -> dict[str, Any]:
    """Means, rates, grids and staffing from the SQL aggregates (pure)."""
    contact_grid = [[0] * 24 for _ in range(7)]
    handoff_grid = [[0] * 24 for _ in range(7)]
    reason_contacts = dict.fromkeys(reasons, 0)
    reason_handoffs = dict.fromkeys(reasons, 0)
    total_contacts = contained = booking = converted = 0
    for cell in contacts:
        contact_grid[cell.weekday][cell.hour] += cell.contacts
        total_contacts += cell.contacts
        contained += cell.contained
        booking += cell.booking
        converted += cell.converted
        for reason, n in cell.by_reason.items():
            reason_contacts[reason if reason in reason_contacts else "other"] += n
    for h in handoffs:
        handoff_grid[h.weekday][h.hour] += h.count
        reason_handoffs[h.reason if h.reason in reason_handoffs else "other"] += h.count

    days = rng.days
    hourly: list[dict[str, Any]] = [
        {
            "hour": hour,
            "contacts": sum(contact_grid[wd][hour] for wd in range(7)),
            "handoffs": sum(handoff_grid[wd][hour] for wd in range(7)),
        }
        for hour in range(24)
    ]
    for row in hourly:
        row["contacts_per_day"] = row["contacts"] / days
        row["handoffs_per_day"] = row["handoffs"] / days

    aht = _secs(_mean(ep.aht_sum, ep.handled))
    occupancy_now = _rate(current.open_held_by_online, current.capacity_online)
    longest_wait = (now - current.oldest_waiting_since).total_seconds() if current.oldest_waiting_since else None
    fr_total, res_total = ep.fr_met + ep.fr_breached, ep.res_met + ep.res_breached
    nps = (100.0 * (csat.promoters - csat.detractors) / csat.nps_responses) if csat.nps_responses else None

    return {
        "range": {
            "from": rng.first.isoformat(),
            "to": rng.last.isoformat(),
            "days": days,
            "timezone": rng.tz.key,
            "start": rng.start.isoformat(),
            "end": rng.end.isoformat(),
        },
        "generated_at": now.isoformat(),
        "now": {
            "queue_length": current.queue_length,
            "longest_wait_seconds": max(longest_wait, 0.0) if longest_wait is not None else None,
            "oldest_waiting_since": _iso(current.oldest_waiting_since),
            "by_queue": [
                {"queue": name, "waiting": n,
                 "longest_wait_seconds": max((now - w).total_seconds(), 0.0) if w else None}
                for name, n, w in current.by_queue
            ],
            "agents_online": current.agents_online,
            "agents_away": current.agents_away,
            "capacity_online": current.capacity_online,
            "open_conversations_online": current.open_held_by_online,
            "occupancy": occupancy_now,
        },
        "handoffs": {
            "episodes": ep.episodes,
            "assigned": ep.assigned,
            "answered": ep.answered,
            "closed": ep.closed,
            "open": ep.episodes - ep.closed,
            "resolved": ep.resolved_ok,
            "outcomes": ep.outcomes,
        },
        "tmr": {"count": ep.answered, "mean_seconds": _secs(_mean(ep.tmr_sum, ep.answered)),
                "median_seconds": _secs(ep.tmr_p50), "p90_seconds": _secs(ep.tmr_p90)},
        "asa": {"count": ep.assigned, "mean_seconds": _secs(_mean(ep.asa_sum, ep.assigned))},
        "aht": {"count": ep.handled, "mean_seconds": aht},
        "resolution_rate": _rate(ep.resolved_ok, ep.episodes),
        "fcr": {"eligible": ep.fcr_eligible, "first_contact": ep.fcr_ok, "pending": ep.fcr_pending,
                "rate": _rate(ep.fcr_ok, ep.fcr_eligible)},
        "containment": {"contacts": total_contacts, "contained": contained, "rate": _rate(contained, total_contacts)},
        "conversion": {"booking_contacts": booking, "converted": converted, "rate": _rate(converted, booking)},
        "sla": {
            "met": ep.fr_met + ep.res_met,
            "breached": ep.fr_breached + ep.res_breached,
            "compliance": _rate(ep.fr_met + ep.res_met, fr_total + res_total),
            "first_response": {"met": ep.fr_met, "breached": ep.fr_breached,
                               "compliance": _rate(ep.fr_met, fr_total)},
            "resolution": {"met": ep.res_met, "breached": ep.res_breached, "compliance": _rate(ep.res_met, res_total)},
            "next_response": {"breached": ep.next_response_breaches},
        },
        "csat": {
            "responses": csat.responses,
            "mean": _mean(csat.score_sum, csat.responses),
            "satisfied_rate": _rate(csat.satisfied, csat.responses),
            "nps": nps,
            "nps_responses": csat.nps_responses,
        },
        "reasons": [
            {"reason": r, "label": REASON_LABELS_PT.get(r, r), "contacts": reason_contacts[r],
             "handoffs": reason_handoffs[r]}
            for r in reasons
        ],
        "hourly": hourly,
        "heatmap": {"weekdays": list(WEEKDAYS_PT), "contacts": contact_grid, "handoffs": handoff_grid},
        "staffing": staffing_grid(rng, handoff_grid, aht, params),
    }


def staffing_grid(
    rng: DateRange, handoff_grid: list[list[int]], aht: float | None, params: StaffingParams
) -> dict[str, Any]:
    """Erlang C per hour of the week from the measured handoff volume and handle time.

    λ(weekday, hour) = handoffs started in that hour ÷ occurrences of that weekday in the range;
    the handle time per contact is AHT ÷ concurrency (chat: an attendant holds several).
    """
    occurrences = rng.weekday_counts()
    effective = aht / params.concurrency if aht else None
    cells: list[list[dict[str, Any]]] = []
    peak: dict[str, Any] | None = None
    for wd in range(7):
        row: list[dict[str, Any]] = []
        for hour in range(24):
            n = handoff_grid[wd][hour]
            rate = n / occurrences[wd] if occurrences[wd] else 0.0
            cell: dict[str, Any] = {"volume_per_hour": rate, "agents": None, "service_level": None,
                                    "occupancy": None, "asa_seconds": None}
            if effective:
                agents = staffing.agents_needed(rate, effective, params.answer_seconds,
                                                params.target_service_level, params.max_occupancy)
                cell["agents"] = agents
                if agents:
                    rep = staffing.report(rate, effective, agents, params.answer_seconds)
                    cell.update(service_level=rep.service_level, occupancy=rep.occupancy,
                                asa_seconds=rep.asa_seconds)
                    if peak is None or agents > peak["agents"] or (
                            agents == peak["agents"] and rate > peak["volume_per_hour"]):
                        peak = {"weekday": wd, "hour": hour, "agents": agents, "volume_per_hour": rate}
            row.append(cell)
        cells.append(row)
    return {
        "aht_seconds": aht,
        "effective_handle_seconds": effective,
        "target_service_level": params.target_service_level,
        "answer_seconds": params.answer_seconds,
        "max_occupancy": params.max_occupancy,
        "concurrency": params.concurrency,
        "weekday_occurrences": occurrences,
        "cells": cells,
        "peak": peak,
    }


# -- CSV ------------------------------------------------------------------------------------

CSV_HEADER = ("Seção", "Indicador", "Dimensão", "Valor", "Unidade")


def _num(value: float | int | None, digits: int = 2) -> str:
    """Brazilian number: decimal comma, no thousands separator, empty for None."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}".replace(".", ",")


def _pct(value: float | None) -> str:
    return "" if value is None else _num(100.0 * value, 1)


def csv_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The report as one tidy table (same five columns on every row)."""
    rows: list[tuple[str, str, str, str, str]] = []

    def add(section: str, name: str, dim: str, value: str, unit: str = "") -> None:
        rows.append((section, name, dim, value, unit))

    rg, now = report["range"], report["now"]
    add("Período", "Data inicial", "", rg["from"], "data")
    add("Período", "Data final", "", rg["to"], "data")
    add("Período", "Dias", "", str(rg["days"]), "dias")
    add("Período", "Fuso horário", "", rg["timezone"])
    add("Período", "Gerado em", "", report["generated_at"], "UTC")
    add("Agora", "Conversas na fila", "", str(now["queue_length"]), "conversas")
    add("Agora", "Maior espera na fila", "", _num(now["longest_wait_seconds"], 0), "s")
    for q in now["by_queue"]:
        add("Agora", "Conversas na fila", q["queue"], str(q["waiting"]), "conversas")
    add("Agora", "Atendentes online", "", str(now["agents_online"]), "pessoas")
    add("Agora", "Atendentes ausentes", "", str(now["agents_away"]), "pessoas")
    add("Agora", "Ocupação", "", _pct(now["occupancy"]), "%")
    s = "Resumo"
    ho = report["handoffs"]
    add(s, "Transferências para humanos", "", str(ho["episodes"]), "atendimentos")
    add(s, "Atendimentos encerrados", "", str(ho["closed"]), "atendimentos")
    add(s, "Atendimentos em aberto", "", str(ho["open"]), "atendimentos")
    for outcome, label in (("resolved", "resolvido"), ("booked", "agendado"), ("not_resolved", "não resolvido")):
        add(s, "Desfecho", label, str(ho["outcomes"][outcome]), "atendimentos")
    tmr = report["tmr"]
    add(s, "TMR médio (1ª resposta)", "", _num(tmr["mean_seconds"], 1), "s")
    add(s, "TMR mediana", "", _num(tmr["median_seconds"], 1), "s")
    add(s, "TMR p90", "", _num(tmr["p90_seconds"], 1), "s")
    add(s, "TMR amostras", "", str(tmr["count"]), "atendimentos")
    add(s, "ASA (espera média até atribuição)", "", _num(report["asa"]["mean_seconds"], 1), "s")
    add(s, "AHT (tempo médio de atendimento)", "", _num(report["aht"]["mean_seconds"], 1), "s")
    add(s, "Taxa de resolução", "", _pct(report["resolution_rate"]), "%")
    fcr = report["fcr"]
    add(s, "Resolução no primeiro contato (FCR)", "", _pct(fcr["rate"]), "%")
    add(s, "FCR elegíveis", "", str(fcr["eligible"]), "atendimentos")
    add(s, "FCR ainda na janela de 7 dias", "", str(fcr["pending"]), "atendimentos")
    co = report["containment"]
    add(s, "Contatos", "", str(co["contacts"]), "contatos")
    add(s, "Contenção do bot", "", _pct(co["rate"]), "%")
    cv = report["conversion"]
    add(s, "Contatos de agendamento", "", str(cv["booking_contacts"]), "contatos")
    add(s, "Conversão em consulta", "", _pct(cv["rate"]), "%")
    sla = report["sla"]
    add(s, "Cumprimento de SLA", "", _pct(sla["compliance"]), "%")
    add(s, "SLA 1ª resposta", "", _pct(sla["first_response"]["compliance"]), "%")
    add(s, "SLA resolução", "", _pct(sla["resolution"]["compliance"]), "%")
    add(s, "Estouros de SLA de próxima resposta", "", str(sla["next_response"]["breached"]), "relógios")
    cs = report["csat"]
    add(s, "CSAT médio (1 a 5)", "", _num(cs["mean"], 2), "nota")
    add(s, "CSAT satisfeitos (4 e 5)", "", _pct(cs["satisfied_rate"]), "%")
    add(s, "Respostas CSAT", "", str(cs["responses"]), "respostas")
    add(s, "NPS", "", _num(cs["nps"], 1), "pontos")
    add(s, "Respostas NPS", "", str(cs["nps_responses"]), "respostas")
    for r in report["reasons"]:
        add("Motivo", "Contatos", r["label"], str(r["contacts"]), "contatos")
        add("Motivo", "Transferências para humanos", r["label"], str(r["handoffs"]), "atendimentos")
    for h in report["hourly"]:
        label = f"{h['hour']:02d}h"
        add("Por hora", "Contatos", label, str(h["contacts"]), "contatos")
        add("Por hora", "Transferências para humanos", label, str(h["handoffs"]), "atendimentos")
    heat = report["heatmap"]
    for wd, name in enumerate(heat["weekdays"]):
        for hour in range(24):
            add("Mapa de calor", "Contatos", f"{name} {hour:02d}h", str(heat["contacts"][wd][hour]), "contatos")
    st = report["staffing"]
    add("Dimensionamento", "AHT usado", "", _num(st["aht_seconds"], 1), "s")
    add("Dimensionamento", "Conversas simultâneas por atendente", "", _num(st["concurrency"], 1), "conversas")
    add("Dimensionamento", "Nível de serviço alvo", "", _pct(st["target_service_level"]), "%")
    add("Dimensionamento", "Tempo de resposta alvo", "", _num(st["answer_seconds"], 0), "s")
    add("Dimensionamento", "Ocupação máxima", "", _pct(st["max_occupancy"]), "%")
    for wd, name in enumerate(WEEKDAYS_PT):
        for hour in range(24):
            cell = st["cells"][wd][hour]
            if cell["volume_per_hour"] > 0:
                dim = f"{name} {hour:02d}h"
                add("Dimensionamento", "Volume por hora", dim, _num(cell["volume_per_hour"], 2), "atendimentos/h")
                add("Dimensionamento", "Atendentes recomendados", dim, _num(cell["agents"]), "pessoas")
    return rows


def to_csv(report: dict[str, Any]) -> str:
    """Brazilian-Excel CSV: `;` separator, decimal comma, CRLF lines, UTF-8 with BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report))
    return "\ufeff" + buf.getvalue()
