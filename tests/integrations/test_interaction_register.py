"""The interaction register end to end on SQLite and PostgreSQL: a conversation ends (resolved by
staff through the real inbox, or kept by the bot and idle), its record is queued only with the
patient's consent and delivered, signed, to a real local receiver; failures are retried with
backoff, dead rows replayed, and two workers never send one delivery twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from handoff.adapters.sql.database import as_utc, utcnow
from handoff.adapters.sql.models import AuditLog, Conversation, InteractionDelivery, InteractionMark, Message
from handoff.runtime import HubRuntime
from handoff.services.interactions import InteractionRegister, list_deliveries, replay
from tests.integrations.conftest import SECRET, Receiver, World, deliveries, seed_conversation, settings_for
from tests.support.wait import eventually


def register_for(w: World, receiver_url: str, **overrides: object) -> InteractionRegister:
    settings = settings_for(w.backend, crm_webhook_url=receiver_url, crm_webhook_secret=SECRET, **overrides)
    return InteractionRegister(w.rt.uow, settings, rand=lambda: 0.0)


async def resolve(w: World, conv_id: str, outcome: str = "resolved") -> None:
    assert w.rt.inbox is not None
    await w.rt.inbox.resolve(w.staff, conv_id, outcome)


async def deliver_until(register: InteractionRegister, done: object, timeout: float = 20.0) -> None:
    """Run delivery passes until `done()` (an async predicate) holds."""
    async def pass_then_check() -> bool:
        await register.deliver_due()
        return bool(await done())  # type: ignore[operator]
    await eventually(pass_then_check, timeout=timeout, what="the deliveries to finish")


async def test_a_resolved_conversation_is_delivered_signed_and_without_message_text(
        world: World, receiver: Receiver) -> None:
    seeded = await seed_conversation(world, cpf="52998224725", appointment={})
    await resolve(world, seeded.conversation_id)
    register = register_for(world, receiver.url)
    assert await register.collect() == 1
    assert await register.collect() == 0  # a closed span is recorded once
    assert await register.deliver_due() == 1

    [row] = await deliveries(world)
    assert (row.status, row.attempts, row.last_http_status, row.target) == ("delivered", 1, 200, "webhook")
    [got] = receiver.accepted
    assert got["delivery"] == str(row.id)
    record = got["body"]
    assert record["delivery_id"] == row.id and record["type"] == "atende.interaction"
    assert record["outcome"] == "resolvido_por_atendente" and record["handed_off"] is True
    assert record["channel"] == "whatsapp" and record["reason"] == "booking"
    assert record["attendant"] == {"id": world.staff.id, "name": "Ana Souza"}
    assert record["patient"] == {"id": seeded.patient_id, "cpf": "52998224725"}
    times = record["times"]
    assert times["opened_at"] < times["handoff_at"] < times["first_response_at"] < times["resolved_at"]
    [appt] = record["appointments"]
    assert appt["action"] == "agendada" and appt["doctor"] == "Dra. Helena Prado"
    assert record["transcript_url"] == f"https://atende.clinica.example/inbox?c={seeded.conversation_id}"
    assert "resolvido por atendente" in record["summary"] and "Ana Souza" in record["summary"]
    # LGPD minimisation: nothing the patient or the bot wrote (nor the CSAT question) left the hub.
    raw = got["raw"].decode()
    assert not [t for t in seeded.texts if t in raw]
    assert "avalia o atendimento" not in raw


async def test_a_conversation_the_bot_kept_is_recorded_after_the_idle_time(world: World, receiver: Receiver) -> None:
    quiet = await seed_conversation(world, handed_off=False, minutes_ago=45)
    busy = await seed_conversation(world, handed_off=False, minutes_ago=5)  # still talking
    register = register_for(world, receiver.url)
    assert await register.collect() == 1
    await register.deliver_due()
    [got] = receiver.accepted
    assert got["body"]["conversation_id"] == quiet.conversation_id
    assert got["body"]["outcome"] == "resolvido_pelo_bot" and got["body"]["handed_off"] is False
    assert got["body"]["attendant"] is None and got["body"]["times"]["handoff_at"] is None
    assert got["body"]["times"]["first_response_at"] is not None  # the bot's first reply
    # Later the second one goes quiet too (its messages are now 45 minutes old); the first is not
    # recorded again.
    async with world.rt.db.session() as s:
        for m in (await s.execute(select(Message).where(Message.conversation_id == busy.conversation_id))).scalars():
            moved = as_utc(m.created_at)
            assert moved is not None
            m.created_at = moved - timedelta(minutes=40)
    assert await register.collect() == 1
    await register.deliver_due()
    assert [a["body"]["conversation_id"] for a in receiver.accepted] == [quiet.conversation_id, busy.conversation_id]


async def test_without_consent_nothing_is_queued(world: World, receiver: Receiver) -> None:
    never = await seed_conversation(world, consent=None)
    refused = await seed_conversation(world, consent=(False, "privacidade-v1"))
    revoked = await seed_conversation(world, consent=(False, "revogacao-titular"))
    bot_only = await seed_conversation(world, consent=None, handed_off=False, minutes_ago=45)
    for seeded in (never, refused, revoked):
        await resolve(world, seeded.conversation_id)
    register = register_for(world, receiver.url)
    assert await register.collect() == 0
    assert await deliveries(world) == []
    await register.deliver_due()
    assert receiver.accepted == [] and receiver.rejected == []
    # The spans are closed all the same: the sweep does not keep finding them.
    async with world.rt.db.session() as s:
        marks = (await s.execute(select(func.count()).select_from(InteractionMark))).scalar_one()
    assert marks == 4
    assert bot_only.conversation_id


async def test_without_a_configured_target_nothing_is_swept(world: World) -> None:
    seeded = await seed_conversation(world)
    await resolve(world, seeded.conversation_id)
    register = InteractionRegister(world.rt.uow, settings_for(world.backend, crm_webhook_url="http://127.0.0.1:9/x"))
    assert register.targets == ()  # a URL without its secret is not a target
    assert await register.collect() == 0 and await deliveries(world) == []


async def test_a_bad_signature_is_refused_and_retried_until_the_secrets_match(
        world: World, receiver: Receiver) -> None:
    seeded = await seed_conversation(world)
    await resolve(world, seeded.conversation_id)
    register = register_for(world, receiver.url)
    await register.collect()
    receiver.secret = "o-crm-ainda-tem-o-segredo-antigo"
    await register.deliver_due()
    [row] = await deliveries(world)
    assert (row.status, row.attempts, row.last_http_status, row.last_error) == ("pending", 1, 401, "HTTP 401")
    parked = as_utc(row.next_attempt_at)
    assert parked is not None and parked > utcnow() - timedelta(seconds=1)  # parked for the backoff
    receiver.secret = SECRET  # the clinic fixed its configuration

    async def done() -> bool:
        return (await deliveries(world))[0].status == "delivered"

    await deliver_until(register, done)
    [row] = await deliveries(world)
    assert row.attempts == 2 and row.last_http_status == 200
    assert receiver.rejected == [str(row.id)] and [a["delivery"] for a in receiver.accepted] == [str(row.id)]


async def test_a_receiver_that_is_down_is_retried_with_backoff_then_delivered(world: World) -> None:
    down = Receiver(SECRET)  # not listening yet: connection refused
    seeded = await seed_conversation(world)
    await resolve(world, seeded.conversation_id)
    register = register_for(world, down.url, interaction_retry_base_seconds=0.4, interaction_retry_max_seconds=10)
    await register.collect()
    for attempt in (1, 2, 3):
        before = utcnow()
        assert await register.deliver_one()
        after = utcnow()
        [row] = await deliveries(world)
        assert (row.status, row.attempts, row.last_http_status, row.last_error) == (
            "pending", attempt, None, "ConnectError")
        next_at = as_utc(row.next_attempt_at)
        assert next_at is not None
        # Equal jitter with a random part of 0: half of 0.4·2^(n-1), counted from the failure, which
        # happened between `before` and `after` (on a loaded machine the attempt itself takes a
        # while: measuring from `before` alone read 0.3 for 0.2 once).
        delay = 0.2 * 2 ** (attempt - 1)
        assert (next_at - after).total_seconds() - 0.01 <= delay <= (next_at - before).total_seconds() + 0.01
        if utcnow() < next_at:
            assert not await register.deliver_one()  # not due yet
        # Kept on purpose: the backoff delay itself must pass (the row is due only then; nothing
        # else changes meanwhile to wait on).
        await asyncio.sleep((next_at - utcnow()).total_seconds() + 0.05)
    down.start()
    try:
        async def done() -> bool:
            return (await deliveries(world))[0].status == "delivered"

        await deliver_until(register, done)
    finally:
        down.stop()
    [row] = await deliveries(world)
    assert row.attempts == 4 and [a["delivery"] for a in down.accepted] == [str(row.id)]


async def test_dead_after_the_last_attempt_and_replay_sends_again(world: World) -> None:
    down = Receiver(SECRET)
    seeded = await seed_conversation(world)
    await resolve(world, seeded.conversation_id)
    register = register_for(world, down.url, interaction_max_attempts=2, interaction_retry_base_seconds=0.05)

    async def status() -> str:
        return (await deliveries(world))[0].status

    await register.collect()

    async def dead() -> bool:
        return await status() == "dead"

    await deliver_until(register, dead)
    [row] = await deliveries(world)
    assert row.attempts == 2 and not await register.deliver_one()  # dead rows are left alone
    listed = await list_deliveries(world.rt.uow, register.settings, status="dead")
    assert [d["id"] for d in listed["deliveries"]] == [row.id] and listed["counts"] == {"dead": 1}
    assert listed["deliveries"][0]["next_attempt_at"] is None

    down.start()
    try:
        view = await replay(world.rt.uow, world.staff, row.id)
        assert (view["status"], view["attempts"], view["replays"]) == ("pending", 0, 1)

        async def delivered() -> bool:
            return await status() == "delivered"

        await deliver_until(register, delivered)
        # A replay of a delivered record sends it again, with the same delivery id (idempotency key).
        await replay(world.rt.uow, world.staff, row.id)
        await deliver_until(register, delivered)
    finally:
        down.stop()
    assert [a["delivery"] for a in down.accepted] == [str(row.id), str(row.id)]
    async with world.rt.db.session() as s:
        audits = (await s.execute(select(AuditLog).where(AuditLog.action == "integrations.replay"))).scalars().all()
    assert [(a.staff_id, a.subject, a.patient_id) for a in audits] == [
        (world.staff.id, f"interaction_delivery:{row.id}", seeded.patient_id)] * 2


async def test_two_workers_send_each_delivery_once(world: World, receiver: Receiver) -> None:
    """Two registers on two separate connections pools (as two hub processes) sweep and deliver
    the same backlog at the same time: every record is queued once and sent once."""
    seeded = [await seed_conversation(world) for _ in range(8)]
    for s in seeded:
        await resolve(world, s.conversation_id)
    settings = settings_for(world.backend, crm_webhook_url=receiver.url, crm_webhook_secret=SECRET)
    other = await HubRuntime.open(settings)
    world.extra.append(other)
    a = InteractionRegister(world.rt.uow, settings, owner="replica-a")
    b = InteractionRegister(other.uow, settings, owner="replica-b")
    queued = await asyncio.gather(a.collect(), b.collect())
    assert sum(queued) == 8
    sent = await asyncio.gather(a.deliver_due(), b.deliver_due(), a.deliver_due(), b.deliver_due())
    assert sum(sent) == 8
    rows = await deliveries(world)
    assert len(rows) == 8 and {r.status for r in rows} == {"delivered"} and {r.attempts for r in rows} == {1}
    ids = sorted(a_["delivery"] for a_ in receiver.accepted)
    assert ids == sorted(str(r.id) for r in rows)  # each exactly once
    assert {a_["body"]["conversation_id"] for a_ in receiver.accepted} == {s.conversation_id for s in seeded}
    await a.stop()
    await b.stop()


async def test_a_worker_that_died_mid_send_is_taken_over_after_its_lease(world: World, receiver: Receiver) -> None:
    seeded = await seed_conversation(world)
    await resolve(world, seeded.conversation_id)
    register = register_for(world, receiver.url)
    await register.collect()
    async with world.rt.db.session() as s:  # a worker claimed it and died before answering
        row = (await s.execute(select(InteractionDelivery))).scalar_one()
        row.status, row.lease_owner, row.attempts = "sending", "dead-replica", 1
        row.lease_until = utcnow() - timedelta(seconds=1)
    assert await register.deliver_due() == 1
    [row] = await deliveries(world)
    assert (row.status, row.attempts) == ("delivered", 2)


async def test_after_a_resolve_the_next_contact_is_a_new_record(world: World, receiver: Receiver) -> None:
    """Resolved by staff, then the patient comes back and the bot answers: two records, the second
    the bot's, covering only what came after the resolve (the CSAT answer is not a contact)."""
    seeded = await seed_conversation(world)
    await resolve(world, seeded.conversation_id)
    register = register_for(world, receiver.url)
    assert await register.collect() == 1
    async with world.rt.db.session() as s:
        conv = await s.get(Conversation, seeded.conversation_id)
        assert conv is not None
        conv.state = "bot"  # BACK_TO_BOT on the next patient message
        later = utcnow() + timedelta(seconds=1)
        s.add(Message(conversation_id=conv.id, direction="in", sender="patient", channel="whatsapp", text="5",
                      payload={}, status="processed", intent="csat", created_at=later))
        s.add(Message(conversation_id=conv.id, direction="in", sender="patient", channel="whatsapp",
                      text="e o resultado do exame?", payload={}, status="processed", intent="exam_result",
                      reason="exams", created_at=later + timedelta(seconds=1)))
        s.add(Message(conversation_id=conv.id, direction="out", sender="bot", channel="whatsapp",
                      text="ja esta pronto", payload={}, status="sent", created_at=later + timedelta(seconds=2)))
    assert await register.collect() == 0  # not idle yet
    assert await register.collect(now=utcnow() + timedelta(minutes=31)) == 1
    rows = await deliveries(world)
    assert [r.interaction_key.split(":")[0] for r in rows] == ["resolved", "bot"]
    second = rows[1].summary
    assert second["outcome"] == "resolvido_pelo_bot" and second["handed_off"] is False
    assert second["times"]["opened_at"] > rows[0].summary["times"]["resolved_at"]
    assert second["attendant"] is None
    assert await register.collect(now=utcnow() + timedelta(minutes=32)) == 0


async def test_an_erased_patients_ending_is_not_recorded(world: World, receiver: Receiver) -> None:
    """An erasure closes the patient's open conversations; that ending must not reach the CRM."""
    from handoff.adapters.sql.models import Patient

    seeded = await seed_conversation(world, cpf="52998224725")
    async with world.rt.db.session() as s:
        patient = await s.get(Patient, seeded.patient_id)
        assert patient is not None
        patient.erased_at, patient.cpf, patient.display_name = utcnow(), None, None
    await resolve(world, seeded.conversation_id)
    register = register_for(world, receiver.url)
    assert await register.collect() == 0
    assert await deliveries(world) == []
