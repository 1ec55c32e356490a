"""Staff teach the bot (issue 11, hub side): the review inbox, the reason correction from the
inbox, staff intents with validation and the red-flag gate, labels, edited answers and the layer
export — a real hub process with the real trained bot (Rasa + actions), on SQLite and on
PostgreSQL + Redis.

The patients' messages go through the real web chat and the real bot; two of them then have their
bot reading set to `out_of_scope` / 0.42 in the database (what an unsure reading looks like), so
the review groups do not depend on how the current model reads a given sentence. The red-flag
check asks the real Rasa server (`POST /model/parse`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from handoff.adapters.sql.models import (
    AuditLog,
    BotLabel,
    BotLayer,
    BotLayerChange,
    BotStaffIntent,
    ConversationEvent,
    Message,
)
from tests.conftest import Backend
from tests.handoff.conftest import ADMIN_EMAIL, ANA, MANAGER, LiveHub, eventually, live_hub, say
from tests.support.stack import BotStack

VACINA = ["vocês têm vacina da gripe", "tem vacina contra gripe aí", "quero tomar a vacina da gripe",
          "a campanha de vacinação já começou", "quanto custa a vacina da gripe", "vacinam criança contra gripe"]
RED_FLAG = "estou com dor no peito forte e falta de ar"
RED_FLAG_2 = "meu filho desmaiou e não acorda"
UNSURE = ["meu cpf é 529.982.247-25 e meu nome é Joana Souza, vocês fazem tatuagem?",
          "Meu CPF é 111.444.777-35 e meu nome é Joana Souza: VOCÊS FAZEM TATUAGEM"]


async def _version(hub: LiveHub) -> int:
    async with hub.rt.db.session() as s:
        return int((await s.execute(select(BotLayer.version))).scalar_one())


async def _processed(hub: LiveHub, text: str) -> Message:
    async def check() -> Message | None:
        rows = await hub.rows(select(Message).where(Message.text == text, Message.direction == "in"))
        return rows[0] if rows and rows[0].processed_at is not None else None
    found: Message = await eventually(check, what=f"bot turn for {text!r}")
    return found


async def _actions(hub: LiveHub) -> list[str]:
    return [a.action for a in await hub.rows(select(AuditLog).order_by(AuditLog.id))]


async def test_staff_teach_the_bot(backend: Backend, bot_stack: BotStack, tmp_path: Path) -> None:
    async with live_hub(backend, tmp_path, bot_stack.rasa_url, ACTIONS_URL=bot_stack.actions_url) as hub:
        admin, manager, ana = await hub.token(ADMIN_EMAIL), await hub.token(MANAGER), await hub.token(ANA)

        # -- patients on the real web chat and the real bot ------------------------------------
        _, p1 = await hub.patient()
        await say(p1, "oi")
        await _processed(hub, "oi")
        await p1.wait_for(lambda f: f.get("type") == "message" and f.get("sender") == "bot", what="greeting")
        await say(p1, "quero falar com um atendente")
        human = await _processed(hub, "quero falar com um atendente")
        unsure: list[Message] = []
        for text in UNSURE:
            _, feed = await hub.patient()
            await say(feed, text)
            unsure.append(await _processed(hub, text))
            await feed.close()
        _, p4 = await hub.patient()
        await say(p4, RED_FLAG_2)
        urgent = await _processed(hub, RED_FLAG_2)
        await p4.close()
        async with hub.rt.db.session() as s:
            await s.execute(update(Message).where(Message.id.in_([m.id for m in unsure]))
                            .values(intent="out_of_scope", confidence=0.42))

        # -- the review inbox ------------------------------------------------------------------
        async with hub.client() as anon:
            assert (await anon.get("/api/bot/review")).status_code == 401
        async with hub.client(ana) as c:
            r = await c.get("/api/bot/review")
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            group = next(i for i in items if "tatuagem" in i["text"].lower())
            assert group["count"] == 2 and group["intent"] == "out_of_scope" and group["confidence"] == 0.42
            assert "fallback" in group["flags"] and set(group["message_ids"]) == {m.id for m in unsure}
            assert "529" not in group["text"] and "Joana" not in group["text"] and "[CPF]" in group["text"]
            assert len(group["conversation_ids"]) == 2 and group["conversation_id"] in group["conversation_ids"]
            asked = next(i for i in items if i["id"] == human.id)
            assert "asked_for_human" in asked["flags"] and asked["intent"] == "request_human"
            assert (await c.get("/api/bot/review?days=0")).status_code == 400

            # -- an attendant corrects the reason of the handed-off conversation ---------------
            conv = human.conversation_id
            bad = await c.post(f"/api/conversations/{conv}/reason", json={"reason": "vacinas"})
            assert bad.status_code == 400 and "motivo desconhecido" in bad.json()["error"]["message"]
            ok = await c.post(f"/api/conversations/{conv}/reason", json={"reason": "billing"})
            assert ok.status_code == 200, ok.text
            assert ok.json()["reason"] == "billing"
            items = (await c.get("/api/bot/review")).json()["items"]
            corrected = [i for i in items if conv in i["conversation_ids"]]
            assert corrected and all("reason_corrected" in i["flags"] for i in corrected)
            assert corrected[0]["corrected_reason"] == "billing"
        events = await hub.rows(select(ConversationEvent).where(ConversationEvent.conversation_id == conv,
                                                                ConversationEvent.type == "reason_corrected"))
        assert events[0].data["from"] == "human" and events[0].data["to"] == "billing"

        # -- staff intents: roles and refusals that change nothing -----------------------------
        body = {"name": "Vacina gripe", "reason": "other", "examples": VACINA,
                "answer": "Sim! A vacina da gripe está disponível de segunda a sexta, das 8h às 17h."}
        async with hub.client(ana) as c:
            r = await c.post("/api/bot/intents", json=body)
            assert r.status_code == 403
        before = await _version(hub)
        refusals: list[tuple[dict[str, Any], str]] = [
            ({**body, "examples": VACINA[:4]}, "too_few_examples"),
            ({**body, "reason": "Vacinas!"}, "unknown_reason"),
            ({**body, "name": "clinic_hours"}, "name_clash"),
            ({**body, "examples": [*VACINA, "Vocês têm vacina da gripe?"]}, "duplicate_examples"),
            ({**body, "examples": [*VACINA, "   "]}, "empty_example"),
            ({**body, "examples": [*VACINA, "vacina " * 100]}, "example_too_long"),
            ({**body, "examples": "vacina"}, "invalid_body"),
            ({**body, "name": "!!!"}, "invalid_name"),
            ({**body, "answer": None}, "no_action"),
            ({**body, "handoff": {"queue": "nowhere"}}, "unknown_queue"),
        ]
        async with hub.client(manager) as c:
            for bad_body, code in refusals:
                r = await c.post("/api/bot/intents", json=bad_body)
                assert r.status_code == 400, (code, r.text)
                assert r.json()["error"]["code"] == code, r.text
                assert r.json()["error"]["message"]
            r = await c.post("/api/bot/intents", content=b"{not json")
            assert r.status_code == 400 and "campos" in r.json()["error"]["message"]
        assert await _version(hub) == before and await hub.count(BotStaffIntent) == 0

        # -- the red-flag gate on the real bot -------------------------------------------------
        flagged = {**body, "name": "duvidas gerais", "examples": [*VACINA[:5], RED_FLAG]}
        async with hub.client(manager) as c:
            r = await c.post("/api/bot/intents", json=flagged)
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "red_flag_example" and r.json()["error"]["examples"] == [RED_FLAG]
            r = await c.post("/api/bot/intents", json={**flagged, "override_reason": "texto de campanha revisado"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "override_forbidden"
        assert await _version(hub) == before and await hub.count(BotStaffIntent) == 0
        async with hub.client(admin) as c:
            r = await c.post(f"/api/bot/review/{urgent.id}", json={"intent": "greet"})
            assert r.status_code == 422
            assert await hub.count(BotLabel) == 0
            r = await c.post("/api/bot/intents", json={**flagged, "examples": [
                "dúvida sobre a clínica", "tenho uma pergunta geral", "queria tirar uma dúvida",
                "pergunta rápida sobre vocês", "uma dúvida qualquer", RED_FLAG],
                "override_reason": "texto de campanha revisado pela enfermagem"})
            assert r.status_code == 201, r.text
            assert r.json()["red_flag_override"]["examples"] == [RED_FLAG]
        assert "bot.intent.red_flag_override" in await _actions(hub)

        # -- create, read, change, clash -------------------------------------------------------
        async with hub.client(manager) as c:
            r = await c.post("/api/bot/intents", json=body)
            assert r.status_code == 201, r.text
            created = r.json()
            assert created["name"] == "staff_vacina_gripe" and created["answer"]["text"].startswith("Sim!")
            assert created["warnings"]  # fewer than 10 examples
            assert (await c.post("/api/bot/intents", json=body)).status_code == 409
            r = await c.post("/api/bot/intents", json={**body, "name": "outra", "examples": [
                VACINA[0], "a", "b c", "d e", "f g"]})
            assert r.status_code == 400 and r.json()["error"]["code"] == "example_in_other_intent"
            r = await c.patch("/api/bot/intents/staff_vacina_gripe", json={
                "answer": {"text": "Temos vacina da gripe.",
                           "buttons": [{"title": "Marcar", "payload": "/book_appointment"}]},
                "handoff": {"queue": "reception"}})
            assert r.status_code == 200, r.text
            assert r.json()["answer"]["buttons"][0]["title"] == "Marcar" and r.json()["handoff"]["queue"] == "reception"
            v = r.json()["version"]
            r = await c.patch("/api/bot/intents/staff_vacina_gripe", json={"examples": [*VACINA, RED_FLAG_2]})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["examples"] == [RED_FLAG_2]
            assert (await c.get("/api/bot/intents/staff_vacina_gripe")).json()["examples"] == VACINA
            assert await _version(hub) == v
        async with hub.client(ana) as c:
            assert (await c.get("/api/bot/intents/vacina_gripe")).status_code == 200
            assert (await c.patch("/api/bot/intents/staff_vacina_gripe", json={"reason": "billing"})).status_code == 403
            assert (await c.delete("/api/bot/intents/staff_vacina_gripe")).status_code == 403

            # -- labels (attendants may) -------------------------------------------------------
            r = await c.post(f"/api/bot/review/{unsure[0].id}", json={"intent": "nada_disso"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_intent"
            r = await c.post(f"/api/bot/review/{unsure[0].id}", json={"intent": "greet", "ignore": True})
            assert r.status_code == 400
            r = await c.post(f"/api/bot/review/{unsure[0].id}",
                             json={"intent": "staff_vacina_gripe", "message_ids": [unsure[1].id]})
            assert r.status_code == 200, r.text
            r = await c.post(f"/api/bot/review/{human.id}", json={"ignore": True})
            assert r.status_code == 200, r.text
            # A red flag labelled with a non-urgent intent: refused (the real bot reads it), admins may release.
            r = await c.post(f"/api/bot/review/{urgent.id}", json={"intent": "greet"})
            assert r.status_code == 422 and r.json()["error"]["examples"] == [RED_FLAG_2], r.text
            r = await c.post(f"/api/bot/review/{urgent.id}", json={"intent": "greet",
                                                                   "override_reason": "paciente brincando, revisado"})
            assert r.status_code == 403
            r = await c.post(f"/api/bot/review/{urgent.id}", json={"intent": "urgent_symptom"})
            assert r.status_code == 200, r.text
            items = (await c.get("/api/bot/review")).json()["items"]
            assert not any("tatuagem" in i["text"].lower() for i in items)  # labelled: out of the inbox

            # -- simple answers ----------------------------------------------------------------
            assert (await c.put("/api/bot/answers/utter_goodbye", json={"text": "Até logo!"})).status_code == 403
        labels = await hub.rows(select(BotLabel).order_by(BotLabel.id))
        assert len(labels) == 4 and all("529" not in lb.text and "111.444" not in lb.text for lb in labels)
        async with hub.client(manager) as c:
            listed = (await c.get("/api/bot/answers")).json()["answers"]
            assert any(a["name"] == "utter_goodbye" for a in listed)
            assert not any(a["name"].startswith("utter_urgent") for a in listed)
            assert (await c.put("/api/bot/answers/utter_urgent_emergency", json={"text": "x"})).status_code == 404
            assert (await c.put("/api/bot/answers/utter_nao_existe", json={"text": "x"})).status_code == 404
            assert (await c.put("/api/bot/answers/utter_goodbye", json={"text": " "})).status_code == 400
            r = await c.put("/api/bot/answers/utter_goodbye", json={"text": "Até logo! A Clínica Exemplo agradece."})
            assert r.status_code == 200, r.text

            # -- the layer export --------------------------------------------------------------
            layer = (await c.get("/api/bot/layer")).json()
            assert layer["version"] == await _version(hub)
            names = {i["name"]: i for i in layer["intents"]}
            assert set(names) == {"staff_vacina_gripe", "staff_duvidas_gerais"}
            assert names["staff_vacina_gripe"]["answer"]["text"] == "Temos vacina da gripe."
            assert names["staff_vacina_gripe"]["handoff"]["queue"] == "reception"
            assert layer["answers"] == {"utter_goodbye": "Até logo! A Clínica Exemplo agradece."}
            staff_labels = [x for x in layer["labelled"] if x["intent"] == "staff_vacina_gripe"]
            assert len(staff_labels) == 2 and len(layer["labelled"]) == 3
            assert all("[CPF]" in x["text"] and "Joana" not in x["text"] for x in staff_labels)
            assert {"text": RED_FLAG_2, "intent": "urgent_symptom"} in layer["labelled"]
            override = names["staff_duvidas_gerais"]["override"]
            assert override["by"] == ADMIN_EMAIL and override["reason"].startswith("texto de campanha")

            # -- delete ------------------------------------------------------------------------
            assert (await c.delete("/api/bot/intents/staff_vacina_gripe")).status_code == 200
            assert (await c.get("/api/bot/intents/staff_vacina_gripe")).status_code == 404
            assert (await c.delete("/api/bot/intents/staff_vacina_gripe")).status_code == 404

        # Every change bumped the version once and is in the history and the audit log.
        version = await _version(hub)
        async with hub.rt.db.session() as s:
            changes = int((await s.execute(select(func.count()).select_from(BotLayerChange))).scalar_one())
        assert changes == version
        actions = await _actions(hub)
        for action in ("correct_reason", "bot.review.read", "bot.intent.create", "bot.intent.update",
                       "bot.intent.delete", "bot.review.label", "bot.review.ignore", "bot.answer.edit",
                       "bot.layer.export"):
            assert action in actions, action
        await p1.close()
