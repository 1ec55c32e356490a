"""The incident register (LGPD Art. 48; rules in `handoff.domain.incidents`).

Staff with access to incidents (admins, the privacy officer grant) record a security incident
when it is detected; the ANPD deadline (3 working days after detection) is computed once, at
creation, from `detected_at`, and stored. The list flags overdue incidents (ANPD not notified
after the deadline). Status moves open -> notified -> closed (open -> closed for an incident
assessed without relevant risk); the ANPD and data-subject notice times are recorded. Every
creation and change is audit-logged (ids and changed field names, never the description).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, PrivacyIncident
from handoff.domain import incidents as rules
from handoff.domain.errors import Conflict, DomainError, Invalid, NotFound
from handoff.services.staff import StaffIdentity
from handoff.services.unit_of_work import UnitOfWork

CREATE_ACTION = "incident_create"
UPDATE_ACTION = "incident_update"
MAX_CATEGORIES = 20


class IncidentError(DomainError):
    """A refused request (code, pt-BR message); raised as one of its kinds below."""


class IncidentInvalid(IncidentError, Invalid):
    """A field out of range or inconsistent with the others."""


class IncidentNotFound(IncidentError, NotFound):
    """No incident with that id."""


class IncidentConflict(IncidentError, Conflict):
    """A status move the lifecycle refuses."""


@dataclass(frozen=True)
class NewIncident:
    """What staff record when an incident is detected."""

    title: str
    description: str
    severity: str
    data_categories: list[str]
    detected_at: datetime | None = None  # default: now
    occurred_at: datetime | None = None
    subjects_estimate: int | None = None
    measures: str | None = None


@dataclass(frozen=True)
class IncidentChanges:
    """A change of status, notice times or the description of what was done."""

    status: str | None = None
    anpd_notified_at: datetime | None = None
    subjects_notified_at: datetime | None = None
    measures: str | None = None
    subjects_estimate: int | None = None


def _iso(value: datetime | None) -> str | None:
    v = as_utc(value)
    return v.isoformat() if v is not None else None


def view(row: PrivacyIncident, now: datetime | None = None) -> dict[str, Any]:
    """An incident as the API shows it, with `overdue`."""
    now = now or utcnow()
    due = as_utc(row.anpd_due_at)
    assert due is not None
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "severity": row.severity,
        "status": row.status,
        "data_categories": list(row.data_categories or []),
        "subjects_estimate": row.subjects_estimate,
        "measures": row.measures,
        "occurred_at": _iso(row.occurred_at),
        "detected_at": _iso(row.detected_at),
        "anpd_due_at": due.isoformat(),
        "anpd_notified_at": _iso(row.anpd_notified_at),
        "subjects_notified_at": _iso(row.subjects_notified_at),
        "closed_at": _iso(row.closed_at),
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "overdue": rules.is_overdue(row.status, due, as_utc(row.anpd_notified_at), now),
    }


def _aware(value: datetime | None, name: str) -> datetime | None:
    """`value` in UTC (every stored time is UTC: SQLite keeps no offset); naive is refused."""
    if value is not None and value.tzinfo is None:
        raise IncidentInvalid("invalid_time", f"{name}: informe data e hora com fuso horário")
    return value.astimezone(UTC) if value is not None else None


async def create(uow: UnitOfWork, who: StaffIdentity, new: NewIncident, now: datetime | None = None) -> dict[str, Any]:
    """Record an incident; its ANPD deadline follows from `detected_at`."""
    now = (now or utcnow()).astimezone(UTC)
    if new.severity not in rules.SEVERITIES:
        raise IncidentInvalid("invalid_severity", "gravidade deve ser low, medium ou high")
    title, description = new.title.strip(), new.description.strip()
    if not title or not description:
        raise IncidentInvalid("missing_fields", "informe o título e a descrição do incidente")
    detected = _aware(new.detected_at, "detected_at") or now
    occurred = _aware(new.occurred_at, "occurred_at")
    if detected > now:
        raise IncidentInvalid("invalid_time", "a data de detecção não pode estar no futuro")
    if occurred is not None and occurred > detected:
        raise IncidentInvalid("invalid_time", "o incidente não pode ter ocorrido depois de detectado")
    categories = list(dict.fromkeys(c.strip() for c in new.data_categories if c.strip()))[:MAX_CATEGORIES]
    async with uow() as (session, _):
        row = PrivacyIncident(
            title=title, description=description, severity=new.severity, status=rules.IncidentStatus.OPEN.value,
            data_categories=categories, subjects_estimate=new.subjects_estimate, measures=new.measures,
            occurred_at=occurred, detected_at=detected, anpd_due_at=rules.anpd_deadline(detected).astimezone(UTC),
            created_by=who.id, created_at=now, updated_at=now,
        )
        session.add(row)
        await session.flush()
        session.add(AuditLog(staff_id=who.id, action=CREATE_ACTION, subject=f"incident:{row.id}", created_at=now,
                             data={"severity": new.severity}))
        return view(row, now)


async def list_incidents(uow: UnitOfWork, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every incident, newest detection first (the register is small)."""
    async with uow() as (session, _):
        rows = (await session.execute(select(PrivacyIncident).order_by(PrivacyIncident.detected_at.desc(),
                                                                       PrivacyIncident.id.desc()))).scalars().all()
        return [view(r, now) for r in rows]


async def update(uow: UnitOfWork, who: StaffIdentity, incident_id: int, changes: IncidentChanges,
                 now: datetime | None = None) -> dict[str, Any]:
    """Move the status and record notice times; 404 unknown id, 409 a move the lifecycle refuses."""
    now = (now or utcnow()).astimezone(UTC)
    anpd_at = _aware(changes.anpd_notified_at, "anpd_notified_at")
    subjects_at = _aware(changes.subjects_notified_at, "subjects_notified_at")
    for value in (anpd_at, subjects_at):
        if value is not None and value > now:
            raise IncidentInvalid("invalid_time", "a data da comunicação não pode estar no futuro")
    async with uow() as (session, _):
        row = (await session.execute(select(PrivacyIncident).where(PrivacyIncident.id == incident_id)
                                     .with_for_update())).scalar_one_or_none()
        if row is None:
            raise IncidentNotFound("not_found", "incidente não encontrado")
        changed: list[str] = []
        status = changes.status
        if status is not None and status != row.status:
            if not rules.can_move(row.status, status):
                raise IncidentConflict("invalid_transition", f"não é possível passar de {row.status} para {status}")
            if status == rules.IncidentStatus.NOTIFIED and anpd_at is None and row.anpd_notified_at is None:
                anpd_at = now  # "comunicado à ANPD" without a time: now
            row.status = status
            changed.append("status")
            if status == rules.IncidentStatus.CLOSED:
                row.closed_at = now
        if anpd_at is not None:
            row.anpd_notified_at = anpd_at
            changed.append("anpd_notified_at")
        if subjects_at is not None:
            row.subjects_notified_at = subjects_at
            changed.append("subjects_notified_at")
        if changes.measures is not None:
            row.measures = changes.measures.strip() or None
            changed.append("measures")
        if changes.subjects_estimate is not None:
            row.subjects_estimate = changes.subjects_estimate
            changed.append("subjects_estimate")
        if not changed:
            raise IncidentInvalid("empty", "nada a alterar")
        row.updated_at = now
        session.add(AuditLog(staff_id=who.id, action=UPDATE_ACTION, subject=f"incident:{row.id}", created_at=now,
                             data={"changed": changed, "status": row.status}))
        return view(row, now)
