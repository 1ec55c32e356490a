"""The audit viewer: the privacy officer (grant `privacy_officer`) and admins read and export
the audit log of staff accesses (`audit_log`), filtered by patient, staff member, action and
period, newest first, paged by an id cursor. Reading the log is itself audited (`audit.view`,
`audit.export` with the reason given), with the filters used — never any content.

The CSV export streams in batches by id (a year of accesses never sits in memory) for
Brazilian Excel like the metrics CSV: `;` separator, UTF-8 with BOM, CRLF.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, StaffUser
from handoff.domain.errors import Invalid
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork

CLINIC_TZ = ZoneInfo("America/Sao_Paulo")
PAGE_DEFAULT, PAGE_MAX = 50, 500
EXPORT_BATCH = 500
MAX_DAYS = 3660
_ACTION = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
CSV_COLUMNS = ("id", "quando", "conta_id", "conta", "acao", "objeto", "paciente_id", "motivo")


class AuditQueryError(Invalid, ValueError):
    """Malformed filters (pt-BR message, shown to staff): 400 `invalid_filter`."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_filter", message)


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit viewer (all optional); `before_id` is the page cursor."""

    patient_id: int | None = None
    staff_id: int | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None
    before_id: int | None = None
    limit: int = PAGE_DEFAULT

    def filters(self) -> dict[str, Any]:
        """The filters as written to the viewer's own audit row (ids and dates only)."""
        out = {k: v for k, v in asdict(self).items() if v is not None and k not in ("limit", "before_id")}
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in out.items()}


def _int(args: Mapping[str, str | None], name: str, label: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise AuditQueryError(f"{label} inválido")
    return int(raw)


def _day(args: Mapping[str, str | None], name: str, label: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AuditQueryError(f"{label}: use a data no formato AAAA-MM-DD") from None


def parse_query(args: Mapping[str, str | None]) -> AuditQuery:
    """`patient_id`, `staff_id`, `action`, `from`/`to` (clinic-calendar days, inclusive),
    `before` (cursor: rows with a smaller id) and `limit` (1–500). Raises AuditQueryError."""
    action = (args.get("action") or "").strip() or None
    if action is not None and not _ACTION.match(action):
        raise AuditQueryError("ação inválida")
    since, until = _day(args, "from", "início do período"), _day(args, "to", "fim do período")
    if since and until and since > until:
        raise AuditQueryError("o início do período é depois do fim")
    if since and until and (until - since).days > MAX_DAYS:
        raise AuditQueryError("período longo demais")
    limit = _int(args, "limit", "limite") or PAGE_DEFAULT
    return AuditQuery(patient_id=_int(args, "patient_id", "paciente"), staff_id=_int(args, "staff_id", "conta"),
                      action=action, since=since, until=until, before_id=_int(args, "before", "cursor"),
                      limit=min(limit, PAGE_MAX))


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, CLINIC_TZ).astimezone(ZoneInfo("UTC"))


def _statement(q: AuditQuery) -> Select[AuditLog, str, str]:
    stmt = select(AuditLog, StaffUser.name, StaffUser.email).outerjoin(StaffUser, StaffUser.id == AuditLog.staff_id)
    if q.patient_id is not None:
        stmt = stmt.where(AuditLog.patient_id == q.patient_id)
    if q.staff_id is not None:
        stmt = stmt.where(AuditLog.staff_id == q.staff_id)
    if q.action is not None:
        stmt = stmt.where(AuditLog.action == q.action)
    if q.since is not None:
        stmt = stmt.where(AuditLog.created_at >= _start(q.since))
    if q.until is not None:
        stmt = stmt.where(AuditLog.created_at < _start(q.until + timedelta(days=1)))
    return stmt


def _iso(moment: datetime | None) -> str | None:
    value = as_utc(moment)
    return value.isoformat() if value is not None else None


def row_view(row: AuditLog, name: str | None, email: str | None) -> dict[str, Any]:
    """One audit row as the viewer shows it."""
    return {"id": row.id, "at": _iso(row.created_at), "staff_id": row.staff_id, "staff_name": name,
            "staff_email": email, "action": row.action, "subject": row.subject, "patient_id": row.patient_id,
            "reason": row.reason}


async def page(uow: UnitOfWork, who: StaffIdentity, q: AuditQuery) -> dict[str, Any]:
    """One page, newest first; `next_before` is the cursor of the next page (None at the end).
    Writes `audit.view` with the filters in the same transaction."""
    async with uow() as (session, _):
        stmt = _statement(q)
        if q.before_id is not None:
            stmt = stmt.where(AuditLog.id < q.before_id)
        result = (await session.execute(stmt.order_by(AuditLog.id.desc()).limit(q.limit + 1))).all()
        items = [row_view(r, n, e) for r, n, e in result[:q.limit]]
        session.add(AuditLog(staff_id=who.id, action="audit.view", subject=None, created_at=utcnow(),
                             patient_id=q.patient_id, data={"filters": q.filters(), "rows": len(items)}))
    more = len(result) > q.limit
    return {"items": items, "next_before": items[-1]["id"] if more and items else None}


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):  # no formula injection in Excel
        text = "'" + text
    if any(ch in text for ch in (";", '"', "\n", "\r")):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Any) -> str:
    """One CSV record (`;`, CRLF)."""
    return ";".join(_csv_cell(v) for v in values) + "\r\n"


async def export_csv(uow: UnitOfWork, who: StaffIdentity, q: AuditQuery, reason: str) -> AsyncIterator[str]:
    """The filtered log as CSV chunks in the order written (by id), read in batches. The `audit.export`
    row (with the reason) is committed before the first byte."""
    async with uow() as (session, _):
        session.add(AuditLog(staff_id=who.id, action="audit.export", subject=None, created_at=utcnow(),
                             patient_id=q.patient_id, reason=reason, data={"filters": q.filters()}))
    yield "\ufeff" + csv_line(CSV_COLUMNS)
    after = 0
    while True:
        async with uow() as (session, _):
            stmt = _statement(q).where(AuditLog.id > after)
            if q.before_id is not None:
                stmt = stmt.where(AuditLog.id < q.before_id)
            batch = (await session.execute(stmt.order_by(AuditLog.id).limit(EXPORT_BATCH))).all()
        if not batch:
            return
        chunk = "".join(csv_line((r.id, _iso(r.created_at), r.staff_id, e, r.action, r.subject, r.patient_id,
                                  r.reason)) for r, _n, e in batch)
        yield chunk
        after = batch[-1][0].id
