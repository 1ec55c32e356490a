"""Use cases raise domain errors (handoff/domain/errors.py); handoff/api/errors.py alone maps each
kind to its HTTP status and renders `{"error": {"code", "message", **extra}}`.

The first tests need nothing; the last one runs the real app in-process (SQLite) and checks that a
route of each kind answers exactly the status and JSON body it answered before the refactor.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.migrate import upgrade
from handoff.adapters.sql.models import ChannelIdentity
from handoff.api.errors import STATUS, render, status_of
from handoff.domain import errors
from handoff.services import staff as staff_service
from handoff.services.clinic import ClinicConflict, ClinicError, ClinicInvalid, ClinicNotFound, ClinicUnavailable
from handoff.services.incidents import IncidentConflict, IncidentError, IncidentInvalid, IncidentNotFound
from handoff.services.reminders import ReminderSettingsError
from handoff.services.retention import RetentionError
from tests.clinic.conftest import Hub, start_hub
from tests.conftest import Backend
from tests.handoff.test_authorization_matrix import insert_subject

EXPECTED = {
    errors.Invalid: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.UpstreamFailed: 502,
    errors.Unavailable: 503,
}


def test_every_kind_maps_to_its_status() -> None:
    assert STATUS == EXPECTED
    for kind, status in EXPECTED.items():
        assert status_of(kind("some_code", "mensagem")) == status, kind


def test_service_errors_keep_their_names_and_take_the_status_of_their_kind() -> None:
    cases: list[tuple[errors.DomainError, type[errors.DomainError], int]] = [
        (ClinicInvalid("invalid_query", "m"), ClinicError, 400),
        (ClinicNotFound("doctor_not_found", "m"), ClinicError, 404),
        (ClinicConflict("slot_taken", "m"), ClinicError, 409),
        (ClinicUnavailable("agenda_unavailable", "m"), ClinicError, 503),
        (IncidentInvalid("invalid_body", "m"), IncidentError, 400),
        (IncidentNotFound("not_found", "m"), IncidentError, 404),
        (IncidentConflict("invalid_transition", "m"), IncidentError, 409),
        (RetentionError("empty", "m"), RetentionError, 400),
        (ReminderSettingsError("invalid_body", "m"), ReminderSettingsError, 400),
    ]
    for exc, family, status in cases:
        assert isinstance(exc, family) and isinstance(exc, errors.DomainError)
        assert status_of(exc) == status, exc


def test_a_domain_error_of_no_kind_is_a_server_error() -> None:
    assert status_of(errors.DomainError("oops", "m")) == 500


def test_render_writes_code_message_and_extra_fields() -> None:
    response = render(errors.Unprocessable("needs_identity", "informe CPF", fields=["cpf", "birth_date"]))
    assert response.status == 422
    assert json.loads(response.body) == {
        "error": {"code": "needs_identity", "message": "informe CPF", "fields": ["cpf", "birth_date"]}}
    plain = render(errors.NotFound("not_found", "conversa não encontrada"))
    assert (plain.status, json.loads(plain.body)) == (
        404, {"error": {"code": "not_found", "message": "conversa não encontrada"}})


def test_the_domain_speaks_no_http() -> None:
    source = Path(errors.__file__).read_text(encoding="utf-8")
    assert "sanic" not in source and not re.search(r"\b[1-5]\d\d\b", source)


ATTENDANT_EMAIL, ATTENDANT_PASSWORD = "dora@clinica.example", "senha-da-dora-" + "z" * 8


@dataclass
class App:
    hub: Hub
    admin: dict[str, str]
    attendant: dict[str, str]


async def _login(hub: Hub, email: str, password: str) -> dict[str, str]:
    r = await hub.client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    hub.client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await asyncio.to_thread(upgrade, url)
    hub, life = await start_hub(Backend("sqlite", url, None), seed_demo_clinic=True)
    try:
        await staff_service.create_staff(hub.app.ctx.uow, ATTENDANT_EMAIL, "Dora", "attendant", ATTENDANT_PASSWORD,
                                         queues=("exams",))
        admin = await hub.staff()
        hub.client.cookies.clear()
        yield App(hub, admin, await _login(hub, ATTENDANT_EMAIL, ATTENDANT_PASSWORD))
    finally:
        await hub.client.aclose()
        await life.stop()


async def test_a_route_of_each_kind_answers_as_before(app: App) -> None:
    client, adm, att = app.hub.client, app.admin, app.attendant
    subject = await insert_subject(app.hub.app.ctx.db)
    conv = subject.conv_id

    async def check(response: httpx.Response, status: int, body: dict[str, object]) -> None:
        assert response.status_code == status, response.text
        assert response.json() == {"error": body}, response.text

    # 404 NotFound: an unknown conversation.
    await check(await client.get(f"/api/conversations/{uuid.uuid4()}", headers=adm), 404,
                {"code": "not_found", "message": "conversa não encontrada"})
    # 400 Invalid: a scope the inbox does not know; a date the waitlist counts cannot read.
    await check(await client.get("/api/conversations", params={"scope": "bogus"}, headers=adm), 400,
                {"code": "invalid_scope", "message": "scope deve ser mine, queued ou all"})
    await check(await client.get("/api/waitlist/stats", params={"from": "ontem"}, headers=adm), 400,
                {"code": "invalid_query", "message": "from must be an ISO 8601 date or datetime"})
    # 403 Forbidden: an attendant asks for every conversation.
    await check(await client.get("/api/conversations", params={"scope": "all"}, headers=att), 403,
                {"code": "forbidden", "message": "somente gestores veem todas as conversas"})
    # 409 Conflict: claiming a conversation twice; the reason it already has.
    first = await client.post(f"/api/conversations/{conv}/claim", headers=adm)
    assert first.status_code == 200, first.text
    again = await client.post(f"/api/conversations/{conv}/claim", headers=adm)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition", again.text
    await check(await client.post(f"/api/conversations/{conv}/reason", json={"reason": "billing"}, headers=adm), 409,
                {"code": "same_reason", "message": "a conversa já tem este motivo"})
    # 502 UpstreamFailed: a call back Twilio does not take (here the sandbox stand-in is not listening).
    call = await client.post(f"/api/conversations/{conv}/call", json={"agent_phone": "+5511999990000"}, headers=adm)
    assert call.status_code == 502, call.text
    assert call.json()["error"]["code"] == "provider_error", call.text
    assert call.json()["error"]["message"].startswith("o Twilio recusou a ligação ("), call.text
    # 422 Unprocessable (extra fields kept): the bot opens a request for a patient known on two channels.
    async with app.hub.app.ctx.db.session() as s:
        s.add(ChannelIdentity(channel="webchat", external_id=f"visitor-{uuid.uuid4().hex}",
                              patient_id=subject.patient_id, created_at=utcnow()))
    await check(await client.post("/api/clinic/privacy-requests", headers=app.hub.service,
                                  json={"conversation_id": conv, "kind": "access"}), 422,
                {"code": "needs_identity",
                 "message": "informe CPF e data de nascimento para confirmarmos sua identidade",
                 "fields": ["cpf", "birth_date"]})
    # 404 from a service-token route: the bot names a conversation that does not exist.
    await check(await client.post("/api/clinic/privacy-requests", headers=app.hub.service,
                                  json={"conversation_id": str(uuid.uuid4()), "kind": "access"}), 404,
                {"code": "conversation_not_found", "message": "conversa não encontrada"})
