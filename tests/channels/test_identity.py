"""One patient across channels, end to end (SQLite and PostgreSQL + Redis): provider-shaped signed
webhooks from the same person on WhatsApp (Twilio and Cloud API), SMS and phone land on one
patient (Brazilian numbers with and without the ninth digit); page-scoped Instagram/Messenger
ids cannot, so attendants merge records with `POST /api/patients/merge`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from handoff.adapters.sql.clinic_store import SqlClinicDirectory
from handoff.adapters.sql.models import (
    AppointmentRow,
    AuditLog,
    ChannelIdentity,
    ConsentRow,
    Conversation,
    ConversationEvent,
    DoctorRow,
    Patient,
    PatientLink,
    PatientMerge,
)
from handoff.domain.clinic.cpf import cpf_check_digits
from handoff.sandbox.demo_clinic import DEMO_PATIENTS
from tests.channels.conftest import TWILIO_SMS_FROM, TWILIO_WHATSAPP_FROM, Hub, Providers, running_hub
from tests.conftest import Backend
from tests.support.fixtures import load_fixture, messaging_body, messaging_event

ADMIN = {"email": "admin@clinica.example", "password": "test-password-123"}


def _sid() -> str:
    return "SM" + uuid.uuid4().hex


def _cpf(base: str) -> str:
    return base + cpf_check_digits(base)


async def _patient(hub: Hub, channel: str, external_id: str) -> Patient:
    patient = await hub.patient_of(channel, external_id)
    assert patient is not None, (channel, external_id)
    return patient


async def _new_patient(hub: Hub, **fields: Any) -> int:
    async with hub.rt.db.session() as s:
        row = Patient(created_at=datetime.now(UTC), **fields)
        s.add(row)
        await s.flush()
        return row.id


async def test_one_patient_across_channels_and_staff_merge(
    backend: Backend, tmp_path: Path, providers: Providers
) -> None:
    async with running_hub(backend, tmp_path, providers) as hub:
        tw, meta = providers.twilio, providers.meta
        twilio_url, meta_url = hub.url("/channels/twilio/messages"), hub.url("/channels/meta")
        rest = "8" + str(uuid.uuid4().int)[:7]
        current, old = f"+55119{rest}", f"+5511{rest}"

        # WhatsApp via Twilio (current form), SMS (old form), Cloud API wa_id (digits, old form).
        assert tw.post_webhook(twilio_url, tw.inbound_form(sid=_sid(), from_="whatsapp:" + current,
                                                           to=TWILIO_WHATSAPP_FROM, body="Oi",
                                                           profile_name="Joana Prado")).status_code == 200
        assert tw.post_webhook(twilio_url, tw.inbound_form(sid=_sid(), from_=old, to=TWILIO_SMS_FROM,
                                                           body="Oi de novo")).status_code == 200
        wa_id = old.removeprefix("+")
        body = load_fixture("whatsapp_cloud", "messages_text", wa_id=wa_id, profile_name="Jô", body="Olá")
        assert meta.post_webhook(meta_url, body).status_code == 200
        joana = await _patient(hub, "whatsapp", current)
        assert (await _patient(hub, "sms", old)).id == joana.id
        assert (await _patient(hub, "whatsapp_meta", wa_id)).id == joana.id
        assert joana.phone == current and joana.display_name == "Joana Prado"
        async with hub.rt.db.session() as s:
            convs = (await s.execute(select(Conversation.channel).where(Conversation.patient_id == joana.id)
                                     .order_by(Conversation.channel))).scalars().all()
        assert list(convs) == ["sms", "whatsapp", "whatsapp_meta"]  # one history, one conversation per channel

        # A demo patient writing from their registered number (old form) joins their clinic record.
        maria = DEMO_PATIENTS[0]
        maria_old = maria.phone[:5] + maria.phone[6:]
        assert tw.post_webhook(twilio_url, tw.inbound_form(sid=_sid(), from_="whatsapp:" + maria_old,
                                                           to=TWILIO_WHATSAPP_FROM, body="Oi",
                                                           profile_name="Cida")).status_code == 200
        record = await _patient(hub, "whatsapp", maria_old)
        assert record.cpf == maria.cpf and record.display_name == maria.name  # the record's name is kept

        # Instagram and Messenger ids say nothing about the person: new patients.
        ig_user, fb_user = "17841" + str(uuid.uuid4().int)[:12], str(uuid.uuid4().int)[:16]
        assert meta.post_webhook(meta_url, messaging_body("instagram", messaging_event(
            "instagram", "messages_text", sender_id=ig_user, mid="aWdf" + uuid.uuid4().hex,
            text="oi"))).status_code == 200
        assert meta.post_webhook(meta_url, messaging_body("messenger", messaging_event(
            "messenger", "messages_text", page_id="1234567", sender_id=fb_user, text="oi"),
            page_id="1234567")).status_code == 200
        ig = await _patient(hub, "instagram", ig_user)
        fb = await _patient(hub, "messenger", fb_user)
        assert len({ig.id, fb.id, joana.id}) == 3
        ig_conv = await hub.conversation_of("instagram", ig_user)
        assert ig_conv is not None

        # Clinic data on the Instagram record (an appointment, a consent) goes with the merge.
        async with hub.rt.db.session() as s:
            doctor_id = (await s.execute(select(DoctorRow.id).limit(1))).scalar_one()
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
            appt = AppointmentRow(patient_id=ig.id, doctor_id=doctor_id, starts_at=start,
                                  ends_at=start + timedelta(minutes=30), status="scheduled",
                                  created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
            s.add(appt)
            s.add(ConsentRow(patient_id=ig.id, granted=True, version="privacidade-v1", created_at=datetime.now(UTC)))
            await s.flush()
            appt_id = appt.id

        merge_url = hub.url("/api/patients/merge")
        async with httpx.AsyncClient(timeout=30) as client:
            assert (await client.post(merge_url, json={"keep_id": joana.id, "merge_id": ig.id})).status_code == 401
            token = (await client.post(hub.url("/api/auth/login"), json=ADMIN)).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}

            async def merge(keep: int, other: int) -> httpx.Response:
                return await client.post(merge_url, json={"keep_id": keep, "merge_id": other}, headers=headers)

            assert (await client.post(merge_url, json={"keep_id": "x"}, headers=headers)).status_code == 400
            assert (await merge(joana.id, joana.id)).json()["error"]["code"] == "same_patient"
            assert (await merge(joana.id, 10_000_000)).status_code == 404
            resp = await merge(joana.id, ig.id)
            assert resp.status_code == 200, resp.text
            result = resp.json()
            again = await merge(fb.id, ig.id)
            assert again.status_code == 409 and again.json()["error"]["code"] == "already_merged"

            # Two records with different CPFs are two people.
            a = await _new_patient(hub, display_name="A", cpf=_cpf("123456789"))
            b = await _new_patient(hub, display_name="B", cpf=_cpf("987654321"))
            conflict = await merge(a, b)
            assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "cpf_conflict"
            # A record without CPF folded into one with it keeps the data of both.
            c = await _new_patient(hub, display_name=None, email="c@example.com", cpf=_cpf("111222333"),
                                   birth_date=datetime(1990, 5, 4).date())
            keep_c = await _new_patient(hub, display_name="Carla", phone="+5511977776666")
            assert (await merge(keep_c, c)).status_code == 200

        assert result["kept_patient_id"] == joana.id and result["merged_patient_id"] == ig.id
        assert result["conversation_ids"] == [ig_conv.id]
        assert result["moved"]["channel_identities"] == 1 and result["moved"]["conversations"] == 1
        assert result["moved"]["appointments"] == 1 and "consents" not in result["moved"]  # append-only log
        assert (await _patient(hub, "instagram", ig_user)).id == joana.id
        async with hub.rt.db.session() as s:
            conv = await s.get(Conversation, ig_conv.id)
            assert conv is not None and conv.patient_id == joana.id
            assert (await s.get(AppointmentRow, appt_id)).patient_id == joana.id  # type: ignore[union-attr]
            link = await s.get(PatientLink, ig.id)
            assert link is not None and link.linked_to_id == joana.id  # old ids still resolve
            (merge_row,) = (await s.execute(select(PatientMerge).where(
                PatientMerge.merged_patient_id == ig.id))).scalars().all()
            assert merge_row.kept_patient_id == joana.id and merge_row.moved == result["moved"]
            assert merge_row.staff_id is not None
            events = (await s.execute(select(ConversationEvent).where(
                ConversationEvent.conversation_id == ig_conv.id,
                ConversationEvent.type == "patient_merged"))).scalars().all()
            assert [e.data for e in events] == [{"kept_patient_id": joana.id, "merged_patient_id": ig.id}]
            audit = (await s.execute(select(AuditLog.subject).where(AuditLog.action == "merge_patients")
                                     .order_by(AuditLog.id))).scalars().all()
            assert audit[0] == f"patient:{joana.id}<-patient:{ig.id}" and len(audit) == 2
            carla = await s.get(Patient, keep_c)
            assert carla is not None
            assert (carla.display_name, carla.phone, carla.email, carla.cpf) == (
                "Carla", "+5511977776666", "c@example.com", _cpf("111222333"))
            assert (await s.get(Patient, c)).cpf is None  # type: ignore[union-attr]
            identities = (await s.execute(select(ChannelIdentity.channel).where(
                ChannelIdentity.patient_id == joana.id).order_by(ChannelIdentity.channel))).scalars().all()
        assert list(identities) == ["instagram", "sms", "whatsapp", "whatsapp_meta"]

        # The consent given on Instagram is the person's: it follows the link to the kept record.
        record_view = await SqlClinicDirectory(hub.rt.db).patient(joana.id)
        assert record_view is not None and record_view.consent is not None and record_view.consent.granted

        # The Instagram person writes again: same conversation, now on the kept record.
        assert meta.post_webhook(meta_url, messaging_body("instagram", messaging_event(
            "instagram", "messages_text", sender_id=ig_user, mid="aWdf" + uuid.uuid4().hex,
            text="voltei"))).status_code == 200
        again_conv = await hub.conversation_of("instagram", ig_user)
        assert again_conv is not None and again_conv.id == ig_conv.id and again_conv.patient_id == joana.id
