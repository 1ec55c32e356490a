"""Interaction register tests: the real hub runtime (no HTTP workers) on SQLite and PostgreSQL,
a real local HTTP receiver that verifies the webhook signature as docs/CONTRACTS.md tells a CRM
to, and the local FHIR R4 server (tests/support/fhir_server.py)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from handoff.adapters.sql.database import utcnow
from handoff.adapters.sql.models import (
    AppointmentRow,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    ConversationEvent,
    DoctorRow,
    InteractionDelivery,
    Message,
    Patient,
    SpecialtyRow,
    StaffUser,
)
from handoff.runtime import HubRuntime
from handoff.services.staff import StaffIdentity
from tests.conftest import Backend
from tests.support.hub import make_settings
from tests.support.net import free_port

_SLOTS = itertools.count()  # distinct appointment times (one active appointment per doctor and time)
SECRET = "segredo-do-webhook-" + "k" * 16
PUBLIC = "https://atende.clinica.example"


class Receiver:
    """The clinic's CRM endpoint: a real HTTP server that checks X-Atende-Signature (HMAC-SHA256
    of "<timestamp>.<body>", timestamp within 5 minutes) and answers 401 when it does not match."""

    def __init__(self, secret: str, port: int | None = None) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.accepted: list[dict[str, Any]] = []  # {"delivery", "body", "raw"}
        self.rejected: list[str] = []  # delivery ids refused (bad signature)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/atende"

    def verify(self, timestamp: str, body: bytes, header: str) -> bool:
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        expected = "sha256=" + hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, header)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's method name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = self.headers.get("X-Atende-Delivery") or ""
                ok = receiver.verify(self.headers.get("X-Atende-Timestamp") or "", body,
                                     self.headers.get("X-Atende-Signature") or "")
                with receiver._lock:
                    if ok:
                        receiver.accepted.append({"delivery": delivery, "body": json.loads(body), "raw": body})
                    else:
                        receiver.rejected.append(delivery)
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Any:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


@dataclass
class World:
    """A hub runtime (database, bus, inbox) with a manager and a doctor."""

    rt: HubRuntime
    staff: StaffIdentity
    doctor_id: int
    backend: Backend
    extra: list[HubRuntime] = field(default_factory=list)


def settings_for(backend: Backend, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "public_base_url": PUBLIC, "interaction_retry_base_seconds": 0.2, "interaction_retry_max_seconds": 1.0,
        "interaction_max_attempts": 5, "interaction_bot_idle_minutes": 30, "seed_demo_clinic": False,
        **overrides,
    }
    return make_settings(backend, "http://127.0.0.1:9", **values)


@pytest.fixture
async def world(backend: Backend) -> AsyncIterator[World]:
    rt = await HubRuntime.open(settings_for(backend))
    await rt.load_handoff()
    now = utcnow()
    async with rt.db.session() as s:
        manager = StaffUser(email=f"gerente-{uuid.uuid4().hex[:6]}@clinica.example", name="Ana Souza", role="manager",
                            password_hash="x", active=True, created_at=now, presence="online")
        spec = SpecialtyRow(slug=f"cardio-{uuid.uuid4().hex[:6]}", name="Cardiologia")
        s.add_all([manager, spec])
        await s.flush()
        doctor = DoctorRow(name="Dra. Helena Prado", specialty_id=spec.id, active=True)
        s.add(doctor)
        await s.flush()
        staff = StaffIdentity(id=manager.id, email=manager.email, name=manager.name, role="manager")
        doctor_id = doctor.id
    w = World(rt=rt, staff=staff, doctor_id=doctor_id, backend=backend)
    yield w
    for other in w.extra:
        await other.close()
    await rt.close()


@dataclass
class Seeded:
    patient_id: int
    conversation_id: str
    texts: tuple[str, ...]  # what the patient and the bot wrote (must never leave the hub)


async def seed_conversation(w: World, *, consent: tuple[bool, str] | None = (True, "privacidade-v1"),
                            handed_off: bool = True, minutes_ago: float = 0.0, cpf: str | None = None,
                            appointment: dict[str, Any] | None = None) -> Seeded:
    """The rows the channel pipeline, the bot and the handoff would have written: a WhatsApp
    conversation with a patient message and a bot reply `minutes_ago`; handed off (assigned to the
    world's manager, who replied) or still with the bot; optionally an appointment booked in it."""
    tag = uuid.uuid4().hex[:10]
    start = utcnow() - timedelta(minutes=minutes_ago or 1)  # the whole conversation before "now"
    texts = (f"quero marcar consulta segredo-{tag}", f"claro, temos horarios-{tag}")
    async with w.rt.db.session() as s:
        patient = Patient(display_name=f"Paciente {tag}", phone=f"+55119{tag[:8]}", cpf=cpf, created_at=start)
        s.add(patient)
        await s.flush()
        ident = ChannelIdentity(channel="whatsapp", external_id=patient.phone or tag, patient_id=patient.id,
                                created_at=start)
        s.add(ident)
        await s.flush()
        state = "assigned" if handed_off else "bot"
        conv = Conversation(id=str(uuid.uuid4()), patient_id=patient.id, identity_id=ident.id, channel="whatsapp",
                            state=state, reason="booking", priority="normal", created_at=start, updated_at=start,
                            last_inbound_at=start, queue="reception" if handed_off else None,
                            assigned_agent_id=w.staff.id if handed_off else None,
                            assigned_at=start if handed_off else None,
                            handoff_reason="human" if handed_off else None)
        s.add(conv)
        await s.flush()
        s.add(Message(conversation_id=conv.id, direction="in", sender="patient", channel="whatsapp", text=texts[0],
                      payload={}, status="processed", intent="book_appointment", reason="booking", created_at=start))
        s.add(Message(conversation_id=conv.id, direction="out", sender="bot", channel="whatsapp", text=texts[1],
                      payload={}, status="sent", created_at=start + timedelta(seconds=2)))
        if handed_off:
            s.add(ConversationEvent(conversation_id=conv.id, type="handoff", actor="bot",
                                    data={"reason": "human"}, created_at=start + timedelta(seconds=3)))
            s.add(ConversationEvent(conversation_id=conv.id, type="assigned", actor="system",
                                    data={"agent_id": w.staff.id}, created_at=start + timedelta(seconds=4)))
            s.add(ConversationEvent(conversation_id=conv.id, type="agent_reply", actor=f"agent:{w.staff.id}",
                                    data={"agent_id": w.staff.id}, created_at=start + timedelta(seconds=5)))
        if consent is not None:
            s.add(ConsentRow(patient_id=patient.id, granted=consent[0], version=consent[1],
                             created_at=start - timedelta(days=1)))
        if appointment is not None:
            when = datetime(2027, 3, 3, 13, 30, tzinfo=start.tzinfo) + timedelta(minutes=30 * next(_SLOTS))
            s.add(AppointmentRow(patient_id=patient.id, doctor_id=w.doctor_id, starts_at=when,
                                 ends_at=when + timedelta(minutes=30), status="scheduled",
                                 created_at=start + timedelta(seconds=6), updated_at=start + timedelta(seconds=6),
                                 **appointment))
        await s.flush()
        return Seeded(patient.id, conv.id, texts)


async def deliveries(w: World) -> list[InteractionDelivery]:
    async with w.rt.db.session() as s:
        return list((await s.execute(select(InteractionDelivery).order_by(InteractionDelivery.id))).scalars().all())
