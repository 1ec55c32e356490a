"""The incident register (LGPD Art. 48) on real SQLite and PostgreSQL: the ANPD deadline is 3
working days after detection (weekends and national holidays skipped), overdue incidents are
flagged, the status moves open -> notified -> closed with the notice times recorded, every change
is audit-logged — and through the real hub, only admins and the privacy officer may use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from handoff.adapters.sql.models import AuditLog, PrivacyIncident, StaffUser
from handoff.api.errors import status_of
from handoff.domain.clinic.calendar import CLINIC_TZ
from handoff.runtime import HubRuntime
from handoff.services import incidents
from handoff.services.staff import StaffIdentity
from tests.conftest import Backend
from tests.handoff.conftest import ADMIN_EMAIL, ANA, MANAGER, live_hub
from tests.support.hub import make_settings

# Friday 2026-12-04 10:00 in São Paulo.
DETECTED = datetime(2026, 12, 4, 10, 0, tzinfo=CLINIC_TZ)


@pytest.fixture
async def rt(backend: Backend) -> AsyncIterator[HubRuntime]:
    runtime = await HubRuntime.open(make_settings(backend, "http://127.0.0.1:9"))
    try:
        yield runtime
    finally:
        await runtime.close()


async def _admin(rt: HubRuntime) -> StaffIdentity:
    async with rt.db.session() as s:
        row = StaffUser(email="dpo@x.example", name="Encarregada", role="admin", password_hash="x", active=True,
                        created_at=DETECTED)
        s.add(row)
        await s.flush()
        return StaffIdentity(row.id, row.email, row.name, row.role)


def _new(**kw: object) -> incidents.NewIncident:
    values: dict[str, object] = {"title": "E-mail enviado ao paciente errado",
                                 "description": "Resultado de exame enviado a outro endereço.",
                                 "severity": "high", "data_categories": ["nome", "resultado de exame"],
                                 "detected_at": DETECTED, **kw}
    return incidents.NewIncident(**values)  # type: ignore[arg-type]


async def test_deadline_overdue_flag_lifecycle_and_audit(rt: HubRuntime) -> None:
    who = await _admin(rt)
    monday = DETECTED + timedelta(days=3)
    created = await incidents.create(rt.uow, who, _new(), now=monday)
    due = datetime.fromisoformat(created["anpd_due_at"]).astimezone(CLINIC_TZ)
    assert due.date() == date(2026, 12, 9)  # Mon 7, Tue 8, Wed 9 (the weekend is skipped)
    assert (due.hour, due.minute) == (23, 59)
    assert created["status"] == "open" and created["overdue"] is False

    # Not overdue on the last day, overdue the morning after.
    on_time = await incidents.list_incidents(rt.uow, now=due.astimezone(UTC))
    assert on_time[0]["overdue"] is False
    late = await incidents.list_incidents(rt.uow, now=due.astimezone(UTC) + timedelta(hours=8))
    assert late[0]["overdue"] is True

    # closed -> open is refused; open -> notified records the ANPD time; notified -> closed.
    with pytest.raises(incidents.IncidentError) as bad:
        await incidents.update(rt.uow, who, created["id"], incidents.IncidentChanges(status="bogus"))
    assert status_of(bad.value) == 409
    notified_at = datetime(2026, 12, 10, 9, 0, tzinfo=CLINIC_TZ)
    after = await incidents.update(rt.uow, who, created["id"],
                                   incidents.IncidentChanges(status="notified", anpd_notified_at=notified_at,
                                                             subjects_notified_at=notified_at),
                                   now=notified_at + timedelta(hours=1))
    assert after["status"] == "notified" and after["overdue"] is False  # notified (late, but notified)
    assert datetime.fromisoformat(after["anpd_notified_at"]) == notified_at
    assert datetime.fromisoformat(after["subjects_notified_at"]) == notified_at
    closed = await incidents.update(rt.uow, who, created["id"], incidents.IncidentChanges(status="closed"))
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    with pytest.raises(incidents.IncidentError) as reopen:
        await incidents.update(rt.uow, who, created["id"], incidents.IncidentChanges(status="open"))
    assert status_of(reopen.value) == 409
    with pytest.raises(incidents.IncidentError) as missing:
        await incidents.update(rt.uow, who, 999_999, incidents.IncidentChanges(status="closed"))
    assert status_of(missing.value) == 404

    async with rt.db.session() as s:
        audit = list((await s.execute(select(AuditLog.action, AuditLog.subject, AuditLog.data)
                                      .order_by(AuditLog.id))).all())
    assert [a[0] for a in audit] == ["incident_create", "incident_update", "incident_update"]
    assert all(a[1] == f"incident:{created['id']}" for a in audit)
    assert "exame" not in str(audit)  # ids and field names only, never the description


async def test_national_holidays_push_the_deadline_and_bad_input_is_refused(rt: HubRuntime) -> None:
    who = await _admin(rt)
    # Tuesday 22 December: Wed 23, Thu 24, (Fri 25 Natal, weekend), Mon 28.
    xmas = await incidents.create(rt.uow, who, _new(detected_at=datetime(2026, 12, 22, 15, 0, tzinfo=CLINIC_TZ)),
                                  now=datetime(2026, 12, 22, 16, 0, tzinfo=CLINIC_TZ))
    assert datetime.fromisoformat(xmas["anpd_due_at"]).astimezone(CLINIC_TZ).date() == date(2026, 12, 28)
    with pytest.raises(incidents.IncidentError):
        await incidents.create(rt.uow, who, _new(severity="catastrophic"))
    with pytest.raises(incidents.IncidentError):
        await incidents.create(rt.uow, who, _new(detected_at=datetime.now(UTC) + timedelta(days=1)))
    with pytest.raises(incidents.IncidentError):
        await incidents.create(rt.uow, who, _new(occurred_at=DETECTED + timedelta(hours=1)))
    with pytest.raises(incidents.IncidentError):
        await incidents.create(rt.uow, who, _new(detected_at=datetime(2026, 12, 4, 10, 0)))  # naive
    async with rt.db.session() as s:
        assert len((await s.execute(select(PrivacyIncident))).scalars().all()) == 1


async def test_the_api_is_for_admins_and_the_privacy_officer(backend: Backend, tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, None) as hub:
        admin, manager, ana = await hub.token(ADMIN_EMAIL), await hub.token(MANAGER), await hub.token(ANA)
        body = {"title": "Notebook furtado", "description": "Notebook da recepção com planilha de contatos.",
                "severity": "medium", "data_categories": ["nome", "telefone"],
                "detected_at": datetime(2026, 11, 6, 10, 0, tzinfo=CLINIC_TZ).isoformat()}  # a Friday
        async with hub.client() as anon:
            assert (await anon.get("/api/privacy/incidents")).status_code == 401
        for token in (manager, ana):
            async with hub.client(token) as c:
                assert (await c.get("/api/privacy/incidents")).status_code == 403
                assert (await c.post("/api/privacy/incidents", json=body)).status_code == 403
        async with hub.client(admin) as c:
            r = await c.post("/api/privacy/incidents", json=body)
            assert r.status_code == 201, r.text
            created = r.json()
            assert datetime.fromisoformat(created["anpd_due_at"]).astimezone(CLINIC_TZ).date() == date(2026, 11, 11)
            assert created["overdue"] is True  # detected in the past, deadline gone, ANPD not notified
            assert (await c.post("/api/privacy/incidents", json={**body, "severity": "x"})).status_code == 400
            assert (await c.patch("/api/privacy/incidents/999999", json={"status": "closed"})).status_code == 404

        # The privacy officer grant opens the register to an attendant.
        await _grant(hub.rt, ANA)
        async with hub.client(ana) as c:
            listed = (await c.get("/api/privacy/incidents")).json()["incidents"]
            assert [i["id"] for i in listed] == [created["id"]]
            r = await c.patch(f"/api/privacy/incidents/{created['id']}", json={"status": "notified"})
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "notified" and r.json()["overdue"] is False
            assert (await c.patch(f"/api/privacy/incidents/{created['id']}",
                                  json={"status": "open"})).status_code == 409


async def _grant(rt: HubRuntime, email: str) -> None:
    async with rt.db.session() as s:
        await s.execute(update(StaffUser).where(StaffUser.email == email).values(grants=["privacy_officer"]))
