"""Data-subject requests (LGPD Art. 18/19) through the real hub process, on SQLite and PostgreSQL.

The bot's endpoint verifies identity (channel alone, or CPF + birth date) and answers the
simplified answer at once; managers list and handle requests; the 15-day clock escalates once
across replicas; an export of a patient with 3,000 messages streams as a complete ZIP; a
correction is validated; an erasure closes the open conversation first, keeps what a legal
hold obliges, and leaves no phone, e-mail, name, CPF or message text anywhere in a dump of the
database or in the bot's tracker store — except the held record's identification.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import subprocess
import tracemalloc
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select, update

from handoff.adapters.attachments import AttachmentStore
from handoff.adapters.sql.models import (
    AppointmentRow,
    AuditLog,
    BotLabel,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    ConversationEvent,
    DoctorRow,
    LegalHold,
    Message,
    Patient,
    PrivacyRequest,
)
from handoff.services.privacy_clock import PrivacyMonitor
from handoff.services.privacy_export import PrivacyExport
from tests.conftest import Backend
from tests.handoff.conftest import ADMIN_EMAIL, ANA, LiveHub, live_hub
from tests.support.fake_rasa import FakeRasa

TOKEN = "svc-" + "k" * 40
N_MESSAGES = 3000


_EVENTS_DDL = ("CREATE TABLE events (id {pk}, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL, "
               "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)")


class Tracker:
    """A SQL tracker store shaped like Rasa's (`events`: sender_id + serialized event): a SQLite file,
    or on PostgreSQL the table `events` in the test database itself (so the dump covers it)."""

    def __init__(self, backend: Backend, tmp: Path) -> None:
        self.backend = backend
        self.path = tmp / "rasa-tracker.db"

    @property
    def pg_dsn(self) -> str:
        return self.backend.database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def create(self) -> str:
        if self.backend.name == "postgres":
            import asyncpg
            conn = await asyncpg.connect(self.pg_dsn)
            try:
                await conn.execute(_EVENTS_DDL.format(pk="SERIAL PRIMARY KEY"))
            finally:
                await conn.close()
            return self.pg_dsn
        con = sqlite3.connect(self.path)
        con.execute(_EVENTS_DDL.format(pk="INTEGER PRIMARY KEY"))
        con.commit()
        con.close()
        return f"sqlite:///{self.path}"

    async def track(self, sender: str, text: str) -> None:
        data = json.dumps({"event": "user", "text": text})
        if self.backend.name == "postgres":
            import asyncpg
            conn = await asyncpg.connect(self.pg_dsn)
            try:
                await conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) "
                                   "VALUES ($1, 'user', 0, $2)", sender, data)
            finally:
                await conn.close()
            return
        con = sqlite3.connect(self.path)
        con.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', 0, ?)",
                    (sender, data))
        con.commit()
        con.close()

    def dump(self, database_dump: str) -> str:
        if self.backend.name == "postgres":
            return database_dump
        return "\n".join(sqlite3.connect(self.path).iterdump())


async def _patient(hub: LiveHub, *, name: str, phone: str, email: str, cpf: str | None, birth: date | None,
                   identities: list[tuple[str, str]], state: str = "bot", messages: int = 2,
                   text_tag: str = "") -> tuple[int, str]:
    """A patient with channel identities and one conversation (on the first identity)."""
    now = datetime.now(UTC)
    async with hub.rt.db.session() as s:
        p = Patient(display_name=name, phone=phone, email=email, cpf=cpf, birth_date=birth, created_at=now)
        s.add(p)
        await s.flush()
        idents = []
        for channel, ext in identities:
            ident = ChannelIdentity(channel=channel, external_id=ext, patient_id=p.id, created_at=now)
            s.add(ident)
            idents.append(ident)
        await s.flush()
        conv_id = str(uuid.uuid4())
        s.add(Conversation(id=conv_id, patient_id=p.id, identity_id=idents[0].id, channel=identities[0][0],
                           state=state, priority="normal", created_at=now, updated_at=now,
                           queue="reception" if state != "bot" else None,
                           waiting_since=now if state != "bot" else None,
                           handoff_note=f"nota sobre {name}" if state != "bot" else None))
        await s.flush()
        rows: list[dict[str, object]] = [{"conversation_id": conv_id, "direction": "in" if i % 2 == 0 else "out",
                 "sender": "patient" if i % 2 == 0 else "bot", "channel": identities[0][0],
                 "provider_message_id": uuid.uuid4().hex if i % 2 == 0 else None,
                 "text": f"mensagem {text_tag}{i} do paciente", "payload": {},
                 "status": "processed" if i % 2 == 0 else "sent", "attempts": 0, "intent": "greet",
                 "created_at": now - timedelta(minutes=N_MESSAGES - i), "processed_at": now}
                for i in range(messages)]
        for start in range(0, len(rows), 1000):
            await s.execute(insert(Message), rows[start:start + 1000])
        s.add(ConversationEvent(conversation_id=conv_id, type="note", actor="agent:1",
                                data={"agent_id": 1, "text": f"observação {text_tag} {phone}"}, created_at=now))
        return p.id, conv_id


async def _attach(hub: LiveHub, conv_id: str, store: AttachmentStore, data: bytes, filename: str) -> int:
    ref = store.save(data)
    async with hub.rt.db.session() as s:
        m = Message(conversation_id=conv_id, direction="in", sender="patient", channel="email",
                    provider_message_id=uuid.uuid4().hex, text="segue o exame",
                    payload={"attachments": [{"url": ref, "content_type": "application/pdf", "filename": filename,
                                              "size": len(data)}]},
                    status="processed", attempts=0, created_at=datetime.now(UTC))
        s.add(m)
        await s.flush()
        s.add(BotLabel(message_id=m.id, text="segue o exame", intent=None, ignored=True, created_at=datetime.now(UTC)))
        return int(m.id)


def _dump(backend: Backend, tmp: Path) -> str:
    """Every row of the database as text (pg_dump --data-only; SQLite's iterdump)."""
    if backend.name == "postgres":
        url = backend.database_url.replace("postgresql+asyncpg://", "postgresql://")
        return subprocess.run(["pg_dump", "--data-only", "--no-owner", url], check=True, capture_output=True,
                              text=True, timeout=120).stdout
    path = backend.database_url.split("///", 1)[1]
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(FULL)")
        return "\n".join(con.iterdump())
    finally:
        con.close()


def _tables_with(dump: str, needle: str) -> set[str]:
    """The tables whose dumped rows contain `needle` (pg_dump COPY blocks or SQLite INSERTs)."""
    found: set[str] = set()
    table = ""
    for line in dump.splitlines():
        if line.startswith("COPY "):
            table = line.split()[1].split(".")[-1]
        elif line.startswith("INSERT INTO "):
            table = line.split()[2].strip('"')
        if needle in line:
            found.add(table or "?")
    return found


async def _export_peak(hub: LiveHub, store: AttachmentStore, request_id: int) -> tuple[int, int]:
    """Peak traced memory while streaming the ZIP (consumed and dropped chunk by chunk), and its size."""
    exporter = PrivacyExport(hub.rt.uow, store)
    plan = await exporter.plan(None, request_id, "zip-memory-probe")
    size = 0
    tracemalloc.start()
    try:
        async for chunk in exporter.zip_stream(plan):
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, size


def _bot(hub: LiveHub) -> httpx.AsyncClient:
    return hub.client(TOKEN)


async def test_bot_opens_requests_with_identity_checks_and_the_clock_escalates_once(
        backend: Backend, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, fake_rasa.url, CLINIC_API_TOKEN=TOKEN,
                        RASA_TRACKER_STORE_URL="") as hub:
        single, single_conv = await _patient(hub, name="Joana Única", phone="+5511900000001", email="j@ex.com",
                                             cpf=None, birth=None, identities=[("webchat", uuid.uuid4().hex)])
        multi, multi_conv = await _patient(hub, name="Paulo Vários", phone="+5511900000002", email="p@ex.com",
                                           cpf="90817263545", birth=date(1980, 5, 17),
                                           identities=[("whatsapp", "+5511900000002"), ("email", "p@ex.com")])
        async with _bot(hub) as bot:
            r = await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": single_conv, "kind": "access", "cpf": None, "birth_date": None, "details": None})
            assert r.status_code == 201, r.text
            body = r.json()
            assert set(body) >= {"id", "kind", "status", "due_at", "summary"}
            assert body["kind"] == "access" and body["status"] == "open"
            assert body["summary"]["messages"] == 2 and body["summary"]["identities"] == 1

            # Several identities: CPF + birth date are required and must match; nothing is stored before.
            r = await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": multi_conv, "kind": "export", "cpf": None, "birth_date": None, "details": None})
            assert r.status_code == 422 and r.json()["error"]["code"] == "needs_identity"
            r = await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": multi_conv, "kind": "export", "cpf": "111.111.111-11", "birth_date": "1980-05-17",
                "details": None})
            assert r.status_code == 403 and r.json()["error"]["code"] == "identity_mismatch"
            assert "summary" not in r.json()
            assert await hub.count(PrivacyRequest, PrivacyRequest.patient_id == multi) == 0
            r = await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": multi_conv, "kind": "export", "cpf": "908.172.635-45", "birth_date": "1980-05-17",
                "details": "quero uma cópia"})
            assert r.status_code == 201, r.text
            export_id = r.json()["id"]

            # Consent revocation applies at once.
            r = await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": single_conv, "kind": "revoke_consent", "cpf": None, "birth_date": None,
                "details": None})
            assert r.status_code == 201 and r.json()["status"] == "answered"
            consents = await hub.rows(select(ConsentRow).where(ConsentRow.patient_id == single))
            assert [c.granted for c in consents] == [False]
            # Unknown conversation, bad kind, no token.
            assert (await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": "nope", "kind": "access"})).status_code == 404
            assert (await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": single_conv, "kind": "sell"})).status_code == 400
        async with hub.client() as anon:
            assert (await anon.post("/api/clinic/privacy-requests", json={
                "conversation_id": single_conv, "kind": "access"})).status_code == 401

        # Staff: attendants may not; managers list, see the verified identity, and move the request.
        ana, manager = await hub.token(ANA), await hub.token(ADMIN_EMAIL)
        async with hub.client(ana) as c:
            assert (await c.get("/api/privacy/requests")).status_code == 403
            assert (await c.get(f"/api/privacy/requests/{export_id}/export.zip")).status_code == 403
        async with hub.client(manager) as c:
            items = (await c.get("/api/privacy/requests")).json()["items"]
            assert {i["kind"] for i in items} == {"access", "export", "revoke_consent"}
            detail = (await c.get(f"/api/privacy/requests/{export_id}")).json()
            assert detail["verified_by"] == "cpf_birth_date" and detail["patient"]["cpf"] == "***.172.635-**"
            assert detail["clock"]["days_left"] > 14.9
            r = await c.post(f"/api/privacy/requests/{export_id}/transition", json={"status": "in_progress"})
            assert r.json()["status"] == "in_progress"
            r = await c.post(f"/api/privacy/requests/{export_id}/transition", json={"status": "in_progress"})
            assert r.status_code == 409
            r = await c.post(f"/api/privacy/requests/{export_id}/answer", json={"note": "cópia enviada"})
            assert r.json()["status"] == "answered"
            assert (await c.post(f"/api/privacy/requests/{export_id}/reject", json={})).status_code == 409
            assert (await c.get("/api/privacy/requests/999999")).status_code == 404

        # Consent revoked: the person's messages are no longer offered for bot training…
        async with hub.rt.db.session() as s:
            await s.execute(update(Message).where(Message.conversation_id.in_([single_conv, multi_conv]),
                                                  Message.direction == "in")
                            .values(intent="nlu_fallback", confidence=0.2))
        async with hub.client(manager) as c:
            review = (await c.get("/api/bot/review")).json()["items"]
        offered = {cid for item in review for cid in item["conversation_ids"]}
        assert multi_conv in offered and single_conv not in offered
        # …and resolving their conversation asks no satisfaction question.
        async with hub.rt.db.session() as s:
            await s.execute(update(Conversation).where(Conversation.id == single_conv)
                            .values(state="queued", queue="reception", waiting_since=datetime.now(UTC)))
        async with hub.client(manager) as c:
            r = await c.post(f"/api/conversations/{single_conv}/resolve", json={"outcome": "resolved"})
            assert r.status_code == 200, r.text
        (resolved,) = await hub.rows(select(Conversation).where(Conversation.id == single_conv))
        assert resolved.state == "resolved" and resolved.csat_asked_at is None
        assert await hub.count(Message, Message.conversation_id == single_conv, Message.sender == "system") == 0

        # The clock: two days left -> one alert, whatever the number of replicas and passes.
        async with hub.rt.db.session() as s:
            await s.execute(update(PrivacyRequest).where(PrivacyRequest.kind == "access")
                            .values(due_at=datetime.now(UTC) + timedelta(days=2)))
        replicas = [PrivacyMonitor(hub.rt.uow, 60, 3.0), PrivacyMonitor(hub.rt.uow, 60, 3.0)]
        fired = await asyncio.gather(*(m.tick() for m in replicas))
        assert sum(fired) == 1
        assert sum([await m.tick() for m in replicas]) == 0
        assert await hub.count(AuditLog, AuditLog.action == "privacy.request.escalated") == 1


async def test_export_streams_and_erasure_leaves_nothing_but_legal_holds(
        backend: Backend, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    tracker_store = Tracker(backend, tmp_path)
    tracker_url = await tracker_store.create()
    attachments_dir = tmp_path / "attachments"
    async with live_hub(backend, tmp_path, fake_rasa.url, CLINIC_API_TOKEN=TOKEN,
                        RASA_TRACKER_STORE_URL=tracker_url, ATTACHMENTS_DIR=str(attachments_dir)) as hub:
        store = AttachmentStore(attachments_dir)
        secret = dict(name="Glória Apagável", phone="+5511912340771", email="gloria.apagavel@exemplo.com",
                      cpf="80716253434")
        held_id, held_conv = await _patient(
            hub, name=secret["name"], phone=secret["phone"], email=secret["email"], cpf=secret["cpf"],
            birth=date(1975, 3, 9), identities=[("whatsapp", secret["phone"])], state="queued",
            messages=N_MESSAGES, text_tag="sigiloG")
        pdf_bytes = b"%PDF-1.4 laudo da Gloria " + uuid.uuid4().bytes
        await _attach(hub, held_conv, store, pdf_bytes, "laudo.pdf")
        async with hub.rt.db.session() as s:  # the medical record: an appointment (legal hold)
            doctor = (await s.execute(select(DoctorRow).limit(1))).scalar_one()
            now = datetime.now(UTC)
            s.add(AppointmentRow(patient_id=held_id, doctor_id=doctor.id, starts_at=now - timedelta(days=30),
                                 ends_at=now - timedelta(days=30, minutes=-30), status="confirmed",
                                 created_at=now, updated_at=now))
        plain = dict(name="Sérgio Semguarda", phone="+5511912340772", email="sergio.semguarda@exemplo.com",
                     cpf="70615243323")
        plain_id, plain_conv = await _patient(
            hub, name=plain["name"], phone=plain["phone"], email=plain["email"], cpf=plain["cpf"],
            birth=date(1990, 1, 2), identities=[("webchat", uuid.uuid4().hex)], messages=6, text_tag="sigiloS")
        await tracker_store.track(held_conv, "mensagem sigiloG0 do paciente")
        await tracker_store.track(plain_conv, "mensagem sigiloS0 do paciente")
        await tracker_store.track("someone-else", "outra conversa")

        manager = await hub.token(ADMIN_EMAIL)  # the access matrix decides (docs/access-matrix.md)
        async with hub.client(manager) as c:
            held_req = (await c.post("/api/privacy/requests", json={"patient_id": held_id, "kind": "erasure"})).json()
            plain_req = (await c.post("/api/privacy/requests", json={"patient_id": plain_id, "kind": "erasure"})).json()
            assert held_req["status"] == "open"
            detail = (await c.get(f"/api/privacy/requests/{held_req['id']}")).json()
            assert [h["category"] for h in detail["legal_holds"]] == ["medical_record"]
            assert detail["held"]["messages"] == N_MESSAGES + 1

            # Export: streamed in chunks, a complete ZIP with every message and the attachment's bytes.
            chunks = 0
            buf = io.BytesIO()
            async with c.stream("GET", f"/api/privacy/requests/{held_req['id']}/export.zip") as r:
                assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
                assert "content-length" not in r.headers  # chunked: produced while sent
                async for part in r.aiter_raw():
                    chunks += 1
                    buf.write(part)
            assert chunks > 3
            with zipfile.ZipFile(buf) as zf:
                data = json.loads(zf.read("data.json"))
                names = zf.namelist()
                (att_name,) = [n for n in names if n.startswith("attachments/")]
                assert zf.read(att_name) == pdf_bytes
            assert data["patient"][0]["name"] == secret["name"]
            assert sum(len(conv["messages"]) for conv in data["conversations"]) == N_MESSAGES + 1
            assert data["appointments"] and data["identities"][0]["external_id"] == secret["phone"]
            assert any(a["action"] == "privacy.export" for a in data["staff_accesses"])
            # Memory: the same export produced in this process stays far below the messages' size.
            # Memory: the export streamed in this process (chunks consumed and dropped) peaks at about
            # what a patient with 6 messages needs: it grows with a batch, not with the history.
            small_peak, _ = await _export_peak(hub, store, plain_req["id"])
            peak, size = await _export_peak(hub, store, held_req["id"])
            assert size > 0 and peak < 4 * 1024 * 1024 and peak - small_peak < 2 * 1024 * 1024, (small_peak, peak)
            pdf = await c.get(f"/api/privacy/requests/{held_req['id']}/export.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.content.count(b"/Type /Page ") > 1
            exports = await hub.rows(select(AuditLog).where(AuditLog.action == "privacy.export"))
            exports = [a for a in exports if a.patient_id == held_id]
            assert {a.reason for a in exports} == {f"privacy_request:{held_req['id']}"}
            assert len(exports) == 3  # zip, the memory probe's zip, pdf (the other probe is the other patient's)

            # Correction: validated, applied, audit-logged without values.
            r = await c.post(f"/api/privacy/requests/{plain_req['id']}/correction", json={"phone": "123"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_phone"
            r = await c.post(f"/api/privacy/requests/{plain_req['id']}/correction",
                             json={"email": plain["email"].upper(), "birth_date": "1990-01-03"})
            assert r.status_code == 200, r.text
            (p,) = await hub.rows(select(Patient).where(Patient.id == plain_id))
            assert p.birth_date == date(1990, 1, 3) and p.email == plain["email"]

            # Erasure: the queued conversation is closed first; a second erasure is a no-op.
            assert (await c.post(f"/api/privacy/requests/{held_req['id']}/erasure", json={})).status_code == 400
            r = await c.post(f"/api/privacy/requests/{held_req['id']}/erasure", json={"confirm": True})
            assert r.status_code == 200, r.text
            done = r.json()
            assert done["already_erased"] is False and [h["category"] for h in done["legal_holds"]] == \
                ["medical_record"]
            assert done["attachment_files_deleted"] == 1 and done["tracker_events_deleted"] == 1
            r = await c.post(f"/api/privacy/requests/{plain_req['id']}/erasure", json={"confirm": True})
            assert r.status_code == 200 and r.json()["legal_holds"] == []
            again = await c.post(f"/api/privacy/requests/{held_req['id']}/erasure", json={"confirm": True})
            assert again.status_code == 200 and again.json()["already_erased"] is True

        (conv,) = await hub.rows(select(Conversation).where(Conversation.id == held_conv))
        assert conv.state == "resolved" and conv.redacted_at is not None and conv.handoff_note is None
        events = await hub.rows(select(ConversationEvent).where(ConversationEvent.conversation_id == held_conv,
                                                                ConversationEvent.type == "resolved"))
        assert len(events) == 1 and events[0].data["by"] == "privacy_erasure"
        assert await hub.count(Message, Message.conversation_id == held_conv) == N_MESSAGES + 1  # metadata kept
        assert await hub.count(LegalHold, LegalHold.patient_id == held_id, LegalHold.category == "medical_record") == 1
        assert await hub.count(AppointmentRow, AppointmentRow.patient_id == held_id) == 1  # held: kept
        assert not list(attachments_dir.rglob("*")) or all(p.is_dir() for p in attachments_dir.rglob("*"))

        # Nothing of theirs is left anywhere: database dump and tracker store.
        dump = await asyncio.to_thread(_dump, backend, tmp_path)
        tracker = tracker_store.dump(dump)
        assert "outra conversa" in tracker  # other dialogues untouched
        for person, tag in ((secret, "sigiloG"), (plain, "sigiloS")):
            for needle in (person["phone"], person["phone"][3:], person["email"], tag):
                assert needle not in dump, f"{needle!r} left in the database"
                assert needle not in tracker, f"{needle!r} left in the tracker store"
        assert "nota sobre" not in dump and "segue o exame" not in dump
        for needle in (plain["name"], plain["cpf"]):
            assert needle not in dump
        # The held record keeps only the identification the medical record needs, in its own row.
        for needle in (secret["name"], secret["cpf"]):
            assert _tables_with(dump, needle) == {"patients"}
        (kept,) = await hub.rows(select(Patient).where(Patient.id == held_id))
        assert kept.erased_at is not None and kept.phone is None and kept.email is None


async def test_the_answer_reaches_the_patient_with_a_download_link_that_expires(
        backend: Backend, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, fake_rasa.url, CLINIC_API_TOKEN=TOKEN, RASA_TRACKER_STORE_URL="",
                        PRIVACY_EXPORT_LINK_DAYS="7") as hub:
        patient_id, conv = await _patient(hub, name="Lia Linkada", phone="+5511900000077", email="lia@ex.com",
                                          cpf=None, birth=None, identities=[("webchat", uuid.uuid4().hex)],
                                          messages=4, text_tag="linkL")
        async with _bot(hub) as bot:
            r = await bot.post("/api/clinic/privacy-requests", json={
                "conversation_id": conv, "kind": "export", "cpf": None, "birth_date": None, "details": None})
            assert r.status_code == 201, r.text
            request_id = r.json()["id"]
        manager = await hub.token(ADMIN_EMAIL)
        async with hub.client(manager) as c:
            r = await c.post(f"/api/privacy/requests/{request_id}/answer", json={"note": "cópia enviada"})
            assert r.status_code == 200 and r.json()["status"] == "answered", r.text

        # Exactly one message, queued on the request's conversation through the outbox, with the links.
        told = await hub.rows(select(Message).where(Message.conversation_id == conv, Message.direction == "out",
                                                    Message.sender == "system"))
        assert len(told) == 1
        text = told[0].text or ""
        assert f"protocolo {request_id}" in text
        paths = re.findall(r"https?://[^/\s]+(/api/privacy/exportacao/\S+)", text)
        assert [p.rsplit(".", 1)[1] for p in paths] == ["zip", "pdf"]
        zip_path, pdf_path = paths
        token = zip_path.split("/")[5]
        (row,) = await hub.rows(select(PrivacyRequest).where(PrivacyRequest.id == request_id))
        assert token not in json.dumps(row.result)  # only its digest is stored
        assert len(row.result["export_link"]["sha256"]) == 64

        def downloads() -> object:
            return hub.count(AuditLog, AuditLog.action == "privacy.export.download",
                             AuditLog.patient_id == patient_id, AuditLog.staff_id.is_(None),
                             AuditLog.reason == f"privacy_request:{request_id}")

        async with hub.client() as anon:  # no staff token: the link is the credential
            for expected in (1, 2):
                r = await anon.get(zip_path)
                assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
                with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
                    data = zf.read("data.json")
                assert b"mensagem linkL3 do paciente" in data and json.loads(data)["request_id"] == request_id
                assert await downloads() == expected
            r = await anon.get(pdf_path)
            assert r.status_code == 200 and r.content.startswith(b"%PDF")
            assert await downloads() == 3

            # A random token, a token for another request, a malformed token: 404, nothing leaked.
            for bad in (zip_path.replace(token, "A" * len(token)),
                        zip_path.replace(f"/exportacao/{request_id}/", f"/exportacao/{request_id + 1000}/"),
                        zip_path.replace(token, "curto")):
                r = await anon.get(bad)
                assert r.status_code == 404
                assert r.json()["error"]["message"] == "link inválido ou expirado: peça um novo link à clínica"
                assert "Lia" not in r.text and "linkL" not in r.text

            # Expired (the expiry moved into the past in the database): 404.
            async with hub.rt.db.session() as s:
                current = (await s.execute(select(PrivacyRequest).where(PrivacyRequest.id == request_id))
                           ).scalar_one()
                link = dict(current.result["export_link"])
                link["expires_at"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
                await s.execute(update(PrivacyRequest).where(PrivacyRequest.id == request_id)
                                .values(result={**current.result, "export_link": link}))
            assert (await anon.get(zip_path)).status_code == 404
            assert (await anon.get(pdf_path)).status_code == 404
        assert await downloads() == 3
