"""Privacy actions (bot/actions/privacy.py) against a local HTTP server speaking the hub's clinic API
contract for `POST /api/clinic/privacy-requests` (201 / 422 needs_identity / 403 identity_mismatch /
404 unknown conversation) and `GET /api/clinic/info`.

The server is real HTTP (the actions' aiohttp client, token and JSON as in production); it stands in
for the hub so every answer of the contract can be produced on demand. Conversations:
`conv-single` (the channel identity is proof enough), `conv-several` (CPF + birth date required,
record CPF 529.982.247-25 born 12/05/1980).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bot"))

from actions.input_route import ActionFlowContinue
from actions.privacy import (
    ActionPrivacyNotice,
    ActionPrivacyRequest,
    access_kind,
    holds_text,
    notice_url,
    summary_text,
)
from booking_chat import RasaStandIn
from bot_helpers import DOMAIN, render
from rasa_sdk.interfaces import Action

TOKEN = "privacy-contract-token"
RECORD_CPF = "52998224725"
RECORD_BIRTH = "1980-05-12"
KINDS = {"access", "export", "correction", "erasure", "revoke_consent"}
SUMMARY = {"identities": 2, "channels": ["webchat", "whatsapp"], "conversations": 3, "messages": 42,
           "messages_with_attachments": 1, "appointments": 2, "exam_results": 0, "boletos": 1, "consents": 1,
           "csat_responses": 0, "privacy_requests": 0, "staff_accesses": 5}
HOLDS = [{"category": "medical_record", "label": "prontuário médico", "basis": "Lei 13.787/2018",
          "until": "2046-03-10", "items": 2}]


@dataclass
class ContractHub:
    """What the stand-in hub received, and its base url."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=lambda: {"name": "Clínica Exemplo", "is_open_now": True})


def _handler(state: ContractHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str) -> None:
            self._send(status, {"error": {"code": code, "message": code}})

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._error(401, "unauthorized")
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path == "/api/clinic/info":
                self._send(200, state.info)
            else:
                self._error(404, "not_found")

        def do_POST(self) -> None:
            if not self._authorized():
                return
            if self.path != "/api/clinic/privacy-requests":
                self._error(404, "not_found")
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            state.received.append(body)
            if set(body) != {"conversation_id", "kind", "cpf", "birth_date", "details"} or body["kind"] not in KINDS:
                self._error(400, "invalid_body")
                return
            if body["birth_date"] is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", body["birth_date"]):
                self._error(400, "invalid_birth_date")
                return
            if body["conversation_id"] not in ("conv-single", "conv-several"):
                self._error(404, "conversation_not_found")
                return
            if body["conversation_id"] == "conv-several":
                if not body["cpf"] or not body["birth_date"]:
                    self._error(422, "needs_identity")
                    return
                if re.sub(r"\D", "", body["cpf"]) != RECORD_CPF or body["birth_date"] != RECORD_BIRTH:
                    self._error(403, "identity_mismatch")
                    return
            answer: dict[str, Any] = {
                "id": len(state.received), "kind": body["kind"],
                "status": "answered" if body["kind"] == "revoke_consent" else "open",
                "due_at": "2026-12-21T22:00:00-03:00", "summary": SUMMARY,
            }
            if body["kind"] == "erasure":
                answer["legal_holds"] = HOLDS
            self._send(201, answer)

    return Handler


@pytest.fixture()
def contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractHub]:
    state = ContractHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("HUB_URL", state.url)
    monkeypatch.setenv("CLINIC_API_TOKEN", TOKEN)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Chat(RasaStandIn):
    """One conversation (sender = the hub's conversation id), routed like bot/data/rules/privacy.yml."""

    domain = DOMAIN
    confidence = 0.95

    def __init__(self, sender: str, pid: int | None = 7, consent: bool | None = None) -> None:
        super().__init__(pid)
        self.sender = sender
        self.slots = {name: None for name in DOMAIN["slots"]}
        self.slots["consent"] = consent

    def action_for(self, intent: str) -> Action:
        if intent == "privacy_notice":
            return ActionPrivacyNotice()
        if intent in ("privacy_access", "privacy_correction", "privacy_erasure", "consent_revoke"):
            return ActionPrivacyRequest()
        assert self.slots.get("active_flow") == "privacy", f"no rule for {intent} without the privacy flow"
        return ActionFlowContinue()

    def texts(self) -> str:
        return "\n".join(render(m) for m in self.last if not m.get("custom"))

    def buttons(self) -> list[dict[str, Any]]:
        return [b for m in self.last for b in (m.get("buttons") or [])]

    def handoffs(self) -> list[dict[str, Any]]:
        return [m["custom"]["atende"]["handoff"] for m in self.last
                if isinstance(m.get("custom"), dict) and "handoff" in (m["custom"].get("atende") or {})]


# -- pure helpers ----------------------------------------------------------------------------


def test_a_copy_or_file_is_an_export_else_access() -> None:
    assert access_kind("quero uma cópia dos meus dados") == "export"
    assert access_kind("me manda um arquivo com tudo") == "export"
    assert access_kind("quero saber quais dados vocês têm de mim") == "access"


def test_summary_lists_counts_in_pt_br_without_zeros() -> None:
    text = summary_text(SUMMARY)
    assert "• mensagens: 42" in text and "• consultas: 2" in text and "• acessos da equipe registrados: 5" in text
    assert "resultados de exames" not in text and "webchat" not in text
    assert summary_text({}) == "• nenhum dado além do seu contato"


def test_holds_name_what_the_law_keeps() -> None:
    assert holds_text(HOLDS) == "• prontuário médico (até 10/03/2046) — Lei 13.787/2018"
    assert holds_text(None) == "" and holds_text([{"category": ""}]) == ""


def test_notice_url_prefers_the_hubs_link_then_the_public_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert notice_url({"privacy_notice_url": "https://clinica.example/privacidade/aviso"}) == (
        "https://clinica.example/privacidade/aviso")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://atende.example/")
    assert notice_url(None) == "https://atende.example/privacidade/aviso"
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("HUB_URL", "http://127.0.0.1:8123")
    assert notice_url({}) == "http://127.0.0.1:8123/privacidade/aviso"


# -- the flow against the contract -------------------------------------------------------------


def test_access_gives_the_simplified_answer_at_once(contract: ContractHub) -> None:
    chat = Chat("conv-single")
    chat.say("quero saber quais dados vocês têm de mim", "privacy_access")
    assert contract.received == [{"conversation_id": "conv-single", "kind": "access", "cpf": None,
                                  "birth_date": None, "details": None}]
    assert chat.responses() == ["utter_privacy_access_opening", "utter_privacy_access_done"]
    text = chat.texts()
    assert "Protocolo nº 1" in text and "• mensagens: 42" in text and "15 dias (até 21/12/2026)" in text
    assert chat.slots["active_flow"] is None and chat.slots["privacy_ctx"] is None


def test_a_copy_opens_an_export_without_asking_consent_first(contract: ContractHub) -> None:
    chat = Chat("conv-single", consent=False)  # a refusal does not take the patient's rights away
    chat.say("quero uma cópia dos meus dados", "privacy_access")
    assert [r["kind"] for r in contract.received] == ["export"]
    assert chat.responses()[-1] == "utter_privacy_export_done" and "utter_privacy_notice" not in chat.responses()


def test_erasure_asks_first_then_opens_the_request_and_lists_what_is_kept(contract: ContractHub) -> None:
    chat = Chat("conv-single")
    chat.say("apaguem meus dados", "privacy_erasure")
    assert contract.received == []  # nothing before the patient confirms
    assert chat.responses() == ["utter_privacy_erasure_ask"]
    assert [b["title"] for b in chat.buttons()] == ["Sim, apagar", "Não"]
    assert chat.slots["active_flow"] == "privacy"
    chat.say("/affirm", "affirm")
    assert [(r["kind"], r["conversation_id"]) for r in contract.received] == [("erasure", "conv-single")]
    assert chat.responses() == ["utter_privacy_erasure_opening", "utter_privacy_erasure_done_held"]
    assert "prontuário médico (até 10/03/2046)" in chat.texts()
    assert chat.slots["active_flow"] is None


def test_erasure_declined_opens_nothing(contract: ContractHub) -> None:
    chat = Chat("conv-single")
    chat.say("quero que excluam meu cadastro", "privacy_erasure")
    chat.say("não", "deny")
    assert contract.received == [] and chat.responses() == ["utter_privacy_erasure_kept"]
    assert chat.slots["active_flow"] is None


def test_erasure_answer_is_not_taken_as_consent_to_the_notice(contract: ContractHub) -> None:
    """The consent notice was on screen (greeting) when the patient asked to erase: the "sim" that
    follows answers the erasure question, not the notice."""
    chat = Chat("conv-single")
    chat.slots["consent_asked"] = True
    chat.say("apaguem meus dados", "privacy_erasure")
    assert chat.slots["consent_asked"] is False
    chat.say("sim", "affirm")
    assert [r["kind"] for r in contract.received] == ["erasure"]


def test_needs_identity_asks_cpf_and_birth_date_and_retries_once(contract: ContractHub) -> None:
    chat = Chat("conv-several")
    chat.say("quero ver meus dados", "privacy_access")
    assert chat.responses() == ["utter_privacy_access_opening", "utter_privacy_ask_cpf"]
    assert chat.slots["active_flow"] == "privacy"
    chat.say("123.456.789-00", "inform")  # not a valid CPF: asked again, nothing sent
    assert chat.responses() == ["utter_privacy_cpf_invalid"] and len(contract.received) == 1
    chat.say("529.982.247-25", "inform")
    assert chat.responses() == ["utter_privacy_ask_birth_date"]
    chat.say("12/05/1980", "inform")
    assert [(r["cpf"], r["birth_date"]) for r in contract.received] == [(None, None), (RECORD_CPF, RECORD_BIRTH)]
    assert chat.responses() == ["utter_privacy_access_done"] and "• mensagens: 42" in chat.texts()
    assert chat.slots["active_flow"] is None and chat.slots["privacy_ctx"] is None


def test_identity_mismatch_gives_no_data_and_offers_a_person(contract: ContractHub) -> None:
    chat = Chat("conv-several")
    chat.say("quero uma copia dos meus dados", "privacy_access")
    chat.say("meu cpf é 529.982.247-25 e nasci em 01/01/1990", "inform")  # both at once, wrong date
    assert [r["birth_date"] for r in contract.received] == [None, "1990-01-01"]
    assert chat.responses() == ["utter_privacy_identity_failed"]
    assert "mensagens" not in chat.texts() and "42" not in chat.texts()
    assert [b["payload"] for b in chat.buttons()] == ["/request_human"]
    assert chat.slots["active_flow"] is None


def test_without_cpf_the_birth_date_alone_is_tried_once(contract: ContractHub) -> None:
    chat = Chat("conv-several")
    chat.say("revogo o consentimento", "consent_revoke")
    chat.say("/deny", "deny")  # "Não tenho CPF"
    assert chat.responses() == ["utter_privacy_ask_birth_date"]
    chat.say("12/05/1980", "inform")
    assert [(r["cpf"], r["birth_date"]) for r in contract.received] == [(None, None), (None, RECORD_BIRTH)]
    # the hub still wants both: no second retry, no data, a person offered
    assert chat.responses() == ["utter_privacy_identity_failed"] and len(contract.received) == 2


def test_revoking_consent_forgets_it_in_the_conversation(contract: ContractHub) -> None:
    chat = Chat("conv-single", consent=True)
    chat.say("não autorizo mais usar meus dados", "consent_revoke")
    assert [r["kind"] for r in contract.received] == ["revoke_consent"]
    assert chat.responses()[-1] == "utter_privacy_revoke_consent_done"
    assert chat.slots["consent"] is False


def test_correction_sends_the_patients_words_or_asks_what_is_wrong(contract: ContractHub) -> None:
    chat = Chat("conv-single")
    chat.say("meu nome está errado no cadastro, o certo é Maria Souza", "privacy_correction")
    assert contract.received[-1]["details"] == "meu nome está errado no cadastro, o certo é Maria Souza"
    assert chat.responses()[-1] == "utter_privacy_correction_done"
    chat.say("quero corrigir meus dados", "privacy_correction")
    assert chat.responses() == ["utter_privacy_correction_ask"] and len(contract.received) == 1
    chat.say("minha data de nascimento é 12/05/1980 e não 1981", "inform")
    assert (contract.received[-1]["kind"], contract.received[-1]["details"]) == (
        "correction", "minha data de nascimento é 12/05/1980 e não 1981")


def test_unknown_conversation_hands_off(contract: ContractHub) -> None:
    chat = Chat("shell-sender")
    chat.say("quero ver meus dados", "privacy_access")
    assert "utter_booking_no_identity" in chat.responses() and chat.handoffs()[0]["reason"] == "human"


def test_hub_down_says_so_and_offers_a_person(contract: ContractHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINIC_API_TOKEN", "wrong")  # every call refused (401)
    chat = Chat("conv-single")
    chat.say("quero ver meus dados", "privacy_access")
    assert chat.responses()[-1] == "utter_privacy_unavailable" and chat.slots["active_flow"] is None


def test_notice_sends_the_link(contract: ContractHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://atende.example")
    chat = Chat("conv-single")
    chat.say("qual a política de privacidade", "privacy_notice")
    assert "https://atende.example/privacidade/aviso" in chat.texts()
    contract.info["privacy_notice_url"] = "https://clinica.example/privacidade/aviso"
    chat.say("como vocês usam meus dados", "privacy_notice")
    assert "https://clinica.example/privacidade/aviso" in chat.texts() and contract.received == []


def test_every_nlu_intent_is_routed_by_the_input_reading_rules() -> None:
    """The privacy intents are in the `or:` lists of data/rules/input_route.yml like every NLU
    intent except urgent_symptom (a typed option answers as its button whatever the intent)."""
    import yaml

    bot = Path(__file__).resolve().parents[2] / "bot"
    declared = set(yaml.safe_load((bot / "domain" / "intents.yml").read_text(encoding="utf-8"))["intents"])
    rules = yaml.safe_load((bot / "data" / "rules" / "input_route.yml").read_text(encoding="utf-8"))["rules"]
    for rule in rules:
        listed = {step["intent"] for step in rule["steps"][0]["or"]}
        assert listed == declared - {"urgent_symptom"}, rule["rule"]
