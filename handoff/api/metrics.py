"""Manager dashboard data: `GET /api/metrics` (JSON) and `GET /api/metrics.csv` (export).

Both take `from`/`to` as clinic-calendar days `YYYY-MM-DD` (America/Sao_Paulo, inclusive;
both absent = the last 30 days up to today; at most 366 days) and optional Erlang C inputs
`sl`, `answer_seconds`, `max_occupancy`, `concurrency`. Managers and admins only. Formulas:
docs/metrics.md, "Dashboard figures".

The CSV is for Brazilian Excel: `;` separator, decimal comma, UTF-8 with BOM, CRLF; one tidy
table `Seção;Indicador;Dimensão;Valor;Unidade` (every row the same five columns).
"""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, raw

from handoff.api.auth import require_access
from handoff.domain.triage import REASONS
from handoff.services.handoff_config import HandoffConfig
from handoff.services.metrics import (
    DateRange,
    MetricsService,
    StaffingParams,
    parse_range,
    parse_staffing,
    to_csv,
)

bp = Blueprint("metrics", url_prefix="/api")
# The period's aggregates are reused this long per range (the "now" figures never are): a live
# dashboard refreshing on every staff event does not recompute the month each time.
PERIOD_CACHE_SECONDS = 15.0


def default_staffing(config: HandoffConfig) -> StaffingParams:
    """80% of the new handoffs answered within the clinic's normal-priority first-response
    target (the promise the SLA policy makes), occupancy at most 85%, one chat at a time."""
    target = config.policy(None, "normal").first_response_seconds or 60.0
    return StaffingParams(answer_seconds=float(target))


async def _compute(request: Request) -> tuple[DateRange, dict[str, Any]] | HTTPResponse:
    runtime = request.app.ctx.runtime
    config = await runtime.load_handoff()
    rng = parse_range(request.args.get("from"), request.args.get("to"), tz=config.calendar.tz)
    params = parse_staffing(request.args, default_staffing(config))
    service: MetricsService | None = getattr(request.app.ctx, "metrics_service", None)
    # the reason map is live (a deployed model's taught intents may bring a reason tag the clinic
    # created): a new set of reasons means a new service (and a fresh period cache)
    reasons = tuple(dict.fromkeys([*REASONS, *sorted(set(request.app.ctx.reason_map.values()))]))
    if service is None or service.reasons != tuple(dict.fromkeys([*reasons, "other"])):
        service = MetricsService(runtime.db, reasons=reasons, tz=config.calendar.tz, cache_seconds=PERIOD_CACHE_SECONDS)
        request.app.ctx.metrics_service = service
    return rng, await service.dashboard(rng, params)


@bp.get("/metrics")
@require_access("view", "metrics")
async def metrics(request: Request) -> HTTPResponse:
    """Every dashboard figure for the range (see docs/metrics.md)."""
    result = await _compute(request)
    if isinstance(result, HTTPResponse):
        return result
    return json(result[1], headers={"Cache-Control": "no-store"})


@bp.get("/metrics.csv")
@require_access("export", "metrics")
async def metrics_csv(request: Request) -> HTTPResponse:
    """The same figures as a CSV download (Brazilian Excel conventions)."""
    result = await _compute(request)
    if isinstance(result, HTTPResponse):
        return result
    rng, report = result
    name = f"atende-metricas-{rng.first.isoformat()}-a-{rng.last.isoformat()}.csv"
    return raw(to_csv(report).encode("utf-8"), content_type="text/csv; charset=utf-8",
               headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
