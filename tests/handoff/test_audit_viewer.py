"""The audit viewer's API (`GET /api/audit`, `GET /api/audit.csv`) on both backends: who may read
it (admin, the privacy_officer grant), filters, the id cursor, the streamed CSV with its reason,
and that reading the log is itself audited. The real app in-process (tests/clinic's harness)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import AuditLog, StaffUser
from handoff.services import staff as staff_service
from tests.clinic.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Hub, start_hub
from tests.conftest import Backend

OFFICER = ("dpo@clinica.example", "dpo-senha-forte-0123")
CLERK = ("clerk@clinica.example", "clerk-senha-forte-0123")
MANAGER = ("boss@clinica.example", "boss-senha-forte-0123")


@pytest.fixture
async def hub(backend: Backend) -> AsyncIterator[Hub]:
    h, life = await start_hub(backend, seed_demo_clinic=False)
    try:
        uow = h.app.ctx.uow
        await staff_service.create_staff(uow, OFFICER[0], "Encarregada", "attendant", OFFICER[1],
                                         grants=("privacy_officer",))
        await staff_service.create_staff(uow, CLERK[0], "Atendente", "attendant", CLERK[1])
        await staff_service.create_staff(uow, MANAGER[0], "Gestor", "manager", MANAGER[1])
        yield h
    finally:
        await h.client.aclose()
        await life.stop()


async def _headers(hub: Hub, email: str, password: str) -> dict[str, str]:
    r = await hub.client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    hub.client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def _seed(hub: Hub) -> dict[str, int]:
    """Accesses to two patients by the clerk, one of them 40 days ago."""
    async with hub.app.ctx.db.session() as s:
        ids = {u.email: u.id for u in (await s.execute(select(StaffUser))).scalars().all()}
        now = utcnow()
        clerk = ids[CLERK[0]]
        for i in range(7):
            s.add(AuditLog(staff_id=clerk, action="view_patient", subject="patient:101", patient_id=101,
                           created_at=now - timedelta(minutes=i)))
        s.add(AuditLog(staff_id=clerk, action="attachment.open", subject="message:9/attachment:0", patient_id=202,
                       reason="conferir exame; pedido do médico", created_at=now))
        s.add(AuditLog(staff_id=clerk, action="view_patient", subject="patient:202", patient_id=202,
                       created_at=now - timedelta(days=40)))
    return ids


async def test_who_may_read_the_audit_log(hub: Hub) -> None:
    c = hub.client
    assert (await c.get("/api/audit")).status_code == 401
    for who in (CLERK, MANAGER):
        h = await _headers(hub, *who)
        assert (await c.get("/api/audit", headers=h)).status_code == 403
        assert (await c.get("/api/audit.csv?reason=curiosidade", headers=h)).status_code == 403
    for who in (OFFICER, (ADMIN_EMAIL, ADMIN_PASSWORD)):
        h = await _headers(hub, *who)
        assert (await c.get("/api/audit", headers=h)).status_code == 200
    # The bot's service token is not staff.
    assert (await c.get("/api/audit", headers=hub.service)).status_code == 401


async def test_filters_cursor_and_the_viewer_is_audited(hub: Hub) -> None:
    ids = await _seed(hub)
    h = await _headers(hub, *OFFICER)
    c = hub.client
    r = await c.get("/api/audit", headers=h, params={"patient_id": 101, "limit": 3})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    first = r.json()
    assert [i["patient_id"] for i in first["items"]] == [101, 101, 101] and first["next_before"] is not None
    ids_seen = [i["id"] for i in first["items"]]
    assert ids_seen == sorted(ids_seen, reverse=True)  # newest first
    pages = [first]
    while pages[-1]["next_before"] is not None:
        r = await c.get("/api/audit", headers=h, params={"patient_id": 101, "limit": 3,
                                                           "before": pages[-1]["next_before"]})
        pages.append(r.json())
    every = [i["id"] for p in pages for i in p["items"]]
    assert len(every) == 7 and len(set(every)) == 7
    # Staff member and action; the reason and the staff name come along.
    r = await c.get("/api/audit", headers=h, params={"staff_id": ids[CLERK[0]], "action": "attachment.open"})
    [item] = r.json()["items"]
    assert item["reason"] == "conferir exame; pedido do médico" and item["staff_name"] == "Atendente"
    # Period (clinic days, inclusive): the 40-day-old access is outside the last week.
    today = utcnow().date()
    r = await c.get("/api/audit", headers=h, params={"patient_id": 202, "from": str(today - timedelta(days=7)),
                                                      "to": str(today + timedelta(days=1))})
    assert [i["action"] for i in r.json()["items"]] == ["attachment.open"]
    # Malformed filters: 400 in pt-BR.
    for bad, message in (({"patient_id": "abc"}, "paciente inválido"), ({"from": "ontem"}, "AAAA-MM-DD"),
                         ({"from": "2026-02-01", "to": "2026-01-01"}, "depois do fim"),
                         ({"action": "x y"}, "ação inválida")):
        r = await c.get("/api/audit", headers=h, params=bad)
        assert r.status_code == 400 and message in r.json()["error"]["message"], (bad, r.text)
    # Every successful read wrote an `audit.view` row with its filters (never content).
    async with hub.app.ctx.db.session() as s:
        views = (await s.execute(select(AuditLog).where(AuditLog.action == "audit.view",
                                                        AuditLog.staff_id == ids[OFFICER[0]]))).scalars().all()
    assert len(views) == len(pages) + 2
    assert views[0].patient_id == 101 and views[0].data == {"filters": {"patient_id": 101}, "rows": 3}


async def test_the_csv_export_needs_a_reason_streams_and_is_audited(hub: Hub) -> None:
    ids = await _seed(hub)
    h = await _headers(hub, *OFFICER)
    c = hub.client
    r = await c.get("/api/audit.csv", headers=h, params={"patient_id": 202})
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    assert r.json()["error"]["message"] == "informe o motivo do acesso (de 3 a 300 caracteres)"
    r = await c.get("/api/audit.csv", headers=h, params={"patient_id": 202, "reason": "x" * 301})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_reason"
    r = await c.get("/api/audit.csv", headers=h, params={"patient_id": 202, "reason": "pedido do titular nº 7"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="auditoria-')
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["id", "quando", "conta_id", "conta", "acao", "objeto", "paciente_id", "motivo"]
    body = rows[1:]
    # in the order written (id); the export's own row (patient 202, with its reason) is part of it
    assert [r[4] for r in body] == ["attachment.open", "view_patient", "audit.export"]
    assert body[0][3] == CLERK[0] and body[0][7] == "conferir exame; pedido do médico"
    assert body[2][7] == "pedido do titular nº 7" and body[2][2] == str(ids[OFFICER[0]])


async def test_csv_cells_cannot_become_formulas(hub: Hub) -> None:
    async with hub.app.ctx.db.session() as s:
        s.add(AuditLog(staff_id=None, action="view_patient", subject="patient:5", patient_id=5,
                       reason="=HYPERLINK(\"http://x\")", created_at=utcnow()))
    h = await _headers(hub, ADMIN_EMAIL, ADMIN_PASSWORD)
    r = await hub.client.get("/api/audit.csv", headers=h, params={"patient_id": 5, "reason": "verificação"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8").lstrip("\ufeff")), delimiter=";"))
    assert rows[1][7] == "'=HYPERLINK(\"http://x\")"
