"""Privacy flow (reason `other`): the patient's side of LGPD data-subject requests (Art. 18/19).

- `privacy_access` ("quais dados vocês têm de mim", "quero uma cópia dos meus dados"): opens an
  `access` request, or `export` when the patient asks for a copy/file; the simplified answer (the
  kinds of data held and their counts, `summary`) is shown at once, the complete one within 15 days.
- `privacy_correction` ("meu nome está errado no cadastro"): opens a `correction` request with the
  patient's words as `details` (asked for when the message does not say what is wrong).
- `privacy_erasure` ("apaguem meus dados"): asks "Sim, apagar / Não" first, then opens an `erasure`
  request; what the law obliges the clinic to keep (`legal_holds`) is listed in the answer.
- `consent_revoke` ("revogo o consentimento"): opens a `revoke_consent` request (the hub applies it
  at once) and forgets the consent in this conversation.
- `privacy_notice` ("qual a política de privacidade"): a short answer and the link to the notice
  page (`<public base url>/privacidade/aviso`).

Requests are opened with `POST /api/clinic/privacy-requests` for the hub's conversation (the Rasa
sender id). The hub answers 422 `needs_identity` when the channel identity is not proof enough:
the flow asks CPF and birth date (the booking flow's readers) and retries once; 403
`identity_mismatch` (or a second 422): the patient is told we could not confirm who they are, gets
no data and is offered a person.

No consent gate here: these requests are the patient's rights (LGPD Art. 18), exercised whether or
not they consented; the hub's legal basis is a legal obligation (Art. 7, II). A red flag still
wins: its rule runs whatever waits (actions/input_route.py never routes one to a flow).

A step flow of the kernel (actions/flow.py): while it waits it sets `active_flow` = "privacy" and
keeps `privacy_ctx` {kind, details, step: confirm_erasure|details|cpf|birth_date, cpf, birth_date,
identity_tried, misses, asked_at, choices}. Logs carry status and error codes only.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from clinic_nlu.cpf import find_cpf, valid_cpf
from clinic_nlu.dates import normalize, parse_birth_date
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import DEFAULT_HUB_URL, ClinicApi, ClinicApiError
from actions.common import HUMAN_BUTTON, entity_value, message_text
from actions.consent import ASKED_SLOT, CONSENT_SLOT
from actions.flow import Ctx, Flow, continue_flow, trigger_message, waiting_flow
from actions.formatting import date_br

log = logging.getLogger(__name__)

FLOW_PRIVACY = "privacy"
PRIVACY_CTX_SLOT = "privacy_ctx"
NOTICE_PATH = "/privacidade/aviso"
# the hub keeps at most this much of the patient's own description of the request
DETAILS_MAX = 2000

# intent -> the request kind it opens (privacy_access may become `export`, see `access_kind`)
KIND_OF_INTENT = {
    "privacy_access": "access",
    "privacy_correction": "correction",
    "privacy_erasure": "erasure",
    "consent_revoke": "revoke_consent",
}
PRIVACY_INTENTS = frozenset(KIND_OF_INTENT)

ERASE_BUTTONS = [{"title": "Sim, apagar", "payload": "/affirm"}, {"title": "Não", "payload": "/deny"}]
NO_CPF_BUTTON = {"title": "Não tenho CPF", "payload": "/deny"}

# the simplified answer: summary keys -> pt-BR labels, in this order (others are not shown)
SUMMARY_LABELS = (
    ("conversations", "conversas"),
    ("messages", "mensagens"),
    ("messages_with_attachments", "mensagens com anexos"),
    ("appointments", "consultas"),
    ("exam_results", "resultados de exames"),
    ("boletos", "boletos"),
    ("consents", "registros de consentimento"),
    ("identities", "contatos (WhatsApp, e-mail, chat…)"),
    ("csat_responses", "respostas a pesquisas de satisfação"),
    ("staff_accesses", "acessos da equipe registrados"),
    ("privacy_requests", "pedidos de privacidade"),
)

_EXPORT_RE = re.compile(
    r"\b(?:copia|copias|exporta\w*|baixar|download|arquivo|portabilidade|pdf|json|me (?:mand|envi)\w*|"
    r"(?:mand|envi)\w* (?:pra|para) mim|levar (?:pra|para) outr[oa])\b"
)
# a correction message that names the wrong field says enough to open the request
_FIELD_RE = re.compile(
    r"\b(?:nome|sobrenome|cpf|nascimento|aniversario|endereco|rua|cep|telefone|celular|numero|email|e-mail|"
    r"convenio|carteirinha|rg|sexo|genero|estado civil|idade)\b"
)
_YES_RE = re.compile(
    r"(?:sim|s|ss|pode|pode sim|pode apagar|apaga|apague|apagar|sim apagar|sim,? pode apagar|isso|claro|"
    r"confirmo|quero|pode excluir|exclui|excluir|ok)\W*"
)
_NO_RE = re.compile(r"(?:nao|n|nao apagar|nao apaga|nao quero|deixa|deixa assim|mantem|manter|desisto|cancela)\W*")
_NO_ID_RE = re.compile(r"\b(?:nao tenho|n tenho|nao sei|nao lembro|sem cpf|nao possuo|estrangeir[oa])\b")


def access_kind(text: str) -> str:
    """`export` when the patient asks for a copy/file of their data, else `access`."""
    return "export" if _EXPORT_RE.search(normalize(text)) else "access"


def summary_text(summary: Any) -> str:
    """The simplified answer: one line per kind of data held (counts; zero counts left out)."""
    if not isinstance(summary, dict):
        return ""
    lines = []
    for key, label in SUMMARY_LABELS:
        value = summary.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            lines.append(f"• {label}: {value}")
    return "\n".join(lines) if lines else "• nenhum dado além do seu contato"


def holds_text(holds: Any) -> str:
    """What the law obliges the clinic to keep, one line each (empty when nothing is held)."""
    if not isinstance(holds, list):
        return ""
    lines = []
    for hold in holds:
        if not isinstance(hold, dict):
            continue
        label = str(hold.get("label") or hold.get("category") or "")
        if not label:
            continue
        until = f" (até {date_br(hold['until'])})" if hold.get("until") else ""
        basis = f" — {hold['basis']}" if hold.get("basis") else ""
        lines.append(f"• {label}{until}{basis}")
    return "\n".join(lines)


def notice_url(info: dict[str, Any] | None) -> str:
    """The privacy notice page: the hub's own link when /info carries it, else built from the hub's
    public base url (env PUBLIC_BASE_URL, falling back to HUB_URL)."""
    given = (info or {}).get("privacy_notice_url")
    if isinstance(given, str) and given.startswith(("http://", "https://")):
        return given
    base = os.environ.get("PUBLIC_BASE_URL") or os.environ.get("HUB_URL") or DEFAULT_HUB_URL
    return base.rstrip("/") + NOTICE_PATH


class PrivacyFlow(Flow):
    """One run of a privacy action (see the module docstring)."""

    name = FLOW_PRIVACY
    ctx_slot = PRIVACY_CTX_SLOT
    miss_note = "privacidade: respostas não compreendidas"
    no_identity_note = "pedido de privacidade sem identificação do paciente"
    needs_consent = False

    def keep(self, ctx: Ctx) -> list[EventType]:
        """Wait for our answer; a consent notice still on screen no longer is the question (a
        "sim" now answers ours, not the notice)."""
        events = super().keep(ctx)
        if self.tracker.get_slot(ASKED_SLOT):
            events.append(SlotSet(ASKED_SLOT, False))
        return events

    # -- starting ----------------------------------------------------------------------------

    async def start(self, source: dict[str, Any]) -> list[EventType]:
        intent = str((source.get("intent") or {}).get("name") or self.intent)
        text = message_text(source)
        kind = KIND_OF_INTENT.get(intent, "access")
        if kind == "access":
            kind = access_kind(text)
        ctx: Ctx = {"kind": kind, "misses": 0}
        if kind == "erasure":
            ctx["step"] = "confirm_erasure"
            self.d.utter_message(response="utter_privacy_erasure_ask", buttons=ERASE_BUTTONS)
            return self.keep(ctx)
        if kind == "correction":
            if not _FIELD_RE.search(normalize(text)):
                ctx["step"] = "details"
                self.d.utter_message(response="utter_privacy_correction_ask")
                return self.keep(ctx)
            ctx["details"] = text
        self.d.utter_message(response=f"utter_privacy_{kind}_opening")
        return await self.submit(ctx)

    # -- the request -------------------------------------------------------------------------

    async def submit(self, ctx: Ctx) -> list[EventType]:
        """Open the request; on 422 needs_identity ask CPF + birth date (once)."""
        try:
            answer = await self.api.privacy_request(
                self.tracker.sender_id,
                str(ctx["kind"]),
                cpf=ctx.get("cpf"),
                birth_date=ctx.get("birth_date"),
                details=str(ctx["details"])[:DETAILS_MAX] if ctx.get("details") else None,
            )
        except ClinicApiError as exc:
            log.info("privacy: request refused status=%s code=%s", exc.status, exc.code)
            if exc.code == "needs_identity" and not ctx.get("identity_tried"):
                ctx.update(step="cpf", misses=0)
                self.d.utter_message(response="utter_privacy_ask_cpf", buttons=[NO_CPF_BUTTON])
                return self.keep(ctx)
            if exc.code in ("needs_identity", "identity_mismatch") or exc.status == 403:
                self.d.utter_message(response="utter_privacy_identity_failed", buttons=[HUMAN_BUTTON])
                return self.done()
            if exc.status == 404:
                return await self.no_identity()
            self.d.utter_message(response="utter_privacy_unavailable", buttons=[HUMAN_BUTTON])
            return self.done()
        return self.answered(ctx, answer)

    def answered(self, ctx: Ctx, answer: dict[str, Any]) -> list[EventType]:
        kind = str(answer.get("kind") or ctx["kind"])
        protocol, due = str(answer.get("id") or ""), date_br(answer.get("due_at"))
        events = self.done()
        if kind in ("access", "export"):
            self.d.utter_message(
                response=f"utter_privacy_{kind}_done",
                protocol=protocol,
                due=due,
                summary=summary_text(answer.get("summary")),
            )
        elif kind == "erasure":
            held = holds_text(answer.get("legal_holds"))
            if held:
                self.d.utter_message(response="utter_privacy_erasure_done_held", protocol=protocol, due=due, held=held)
            else:
                self.d.utter_message(response="utter_privacy_erasure_done", protocol=protocol, due=due)
        elif kind == "revoke_consent":
            self.d.utter_message(response="utter_privacy_revoke_consent_done", protocol=protocol, due=due)
            events += [SlotSet(CONSENT_SLOT, False), SlotSet(ASKED_SLOT, False)]
        else:
            self.d.utter_message(response="utter_privacy_correction_done", protocol=protocol, due=due)
        return events

    # -- answers -----------------------------------------------------------------------------

    def yes(self) -> bool:
        return self.intent == "affirm" or bool(_YES_RE.fullmatch(normalize(self.text)))

    def no(self) -> bool:
        return self.intent == "deny" or bool(_NO_RE.fullmatch(normalize(self.text)))

    def is_answer(self, ctx: Ctx) -> bool:
        """A start intent that is really our step's answer: yes/no to the erasure question, a CPF or
        a birth date to the identity questions, anything to "what is wrong?"."""
        step = ctx.get("step")
        norm = normalize(self.text)
        if step == "confirm_erasure":
            return bool(_YES_RE.fullmatch(norm) or _NO_RE.fullmatch(norm))
        if step == "cpf":
            return find_cpf(self.text) is not None or parse_birth_date(self.text, self.now.date()) is not None
        if step == "birth_date":
            return parse_birth_date(self.text, self.now.date()) is not None
        return step == "details" and self.unsure

    async def on_confirm_erasure(self, ctx: Ctx) -> list[EventType]:
        if self.yes():
            self.d.utter_message(response="utter_privacy_erasure_opening")
            return await self.submit(ctx)
        if self.no():
            self.d.utter_message(response="utter_privacy_erasure_kept")
            return self.done()
        return await self.miss(ctx, "utter_privacy_erasure_ask", buttons=ERASE_BUTTONS)

    async def on_details(self, ctx: Ctx) -> list[EventType]:
        if not self.text.strip() or self.no():
            self.d.utter_message(response="utter_privacy_dropped")
            return self.done()
        ctx["details"] = self.text
        self.d.utter_message(response="utter_privacy_correction_opening")
        return await self.submit(ctx)

    async def on_cpf(self, ctx: Ctx) -> list[EventType]:
        raw = entity_value(self.message, "cpf")
        cpf = find_cpf(str(raw)) if raw else find_cpf(self.text)
        born = parse_birth_date(self.text, self.now.date())
        if cpf is not None:
            if not valid_cpf(cpf):
                return await self.miss(ctx, "utter_privacy_cpf_invalid", buttons=[NO_CPF_BUTTON])
            ctx.update(cpf=cpf, misses=0)
            if born is not None:  # both in one message
                return await self.identified(ctx, born.isoformat())
            ctx["step"] = "birth_date"
            self.d.utter_message(response="utter_privacy_ask_birth_date")
            return self.keep(ctx)
        if self.intent == "deny" or _NO_ID_RE.search(normalize(self.text)):
            ctx.update(step="birth_date", misses=0)
            self.d.utter_message(response="utter_privacy_ask_birth_date")
            return self.keep(ctx)
        return await self.miss(ctx, "utter_privacy_cpf_invalid", buttons=[NO_CPF_BUTTON])

    async def on_birth_date(self, ctx: Ctx) -> list[EventType]:
        born = parse_birth_date(self.text, self.now.date())
        if born is None:
            return await self.miss(ctx, "utter_privacy_birth_date_invalid")
        return await self.identified(ctx, born.isoformat())

    async def identified(self, ctx: Ctx, birth_date: str) -> list[EventType]:
        """CPF (if any) and birth date read: the one retry of the request."""
        ctx.update(birth_date=birth_date, identity_tried=True)
        return await self.submit(ctx)


# ------------------------------------------------------------------------------------------
# actions


async def start_privacy(dispatcher: CollectingDispatcher, tracker: Tracker, source: dict[str, Any]) -> list[EventType]:
    """Like flow.start_or_resume without the consent gate (a data-subject right needs none)."""
    api = ClinicApi()
    waiting = waiting_flow(tracker)
    if waiting is not None and waiting(dispatcher, tracker, api).answers_step():
        return await continue_flow(dispatcher, tracker, api)
    return await PrivacyFlow(dispatcher, tracker, api).start(source)


class ActionPrivacyRequest(Action):
    """privacy_access / privacy_correction / privacy_erasure / consent_revoke: open a request."""

    def name(self) -> str:
        return "action_privacy_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        source = trigger_message(tracker, set(PRIVACY_INTENTS))
        intent = (source.get("intent") or {}).get("name")
        if intent == "consent_revoke" and tracker.get_slot(ASKED_SLOT) and tracker.get_slot(CONSENT_SLOT) is not True:
            # "não autorizo mais" while the consent notice waits: a refusal of the notice
            return [FollowupAction("action_consent_refuse")]
        return await start_privacy(dispatcher, tracker, source)


class ActionPrivacyNotice(Action):
    """privacy_notice: how the clinic uses the patient's data, and the link to the notice."""

    def name(self) -> str:
        return "action_privacy_notice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            info: dict[str, Any] | None = await ClinicApi().info()
        except ClinicApiError as exc:
            log.info("privacy notice: clinic info failed status=%s code=%s", exc.status, exc.code)
            info = None
        dispatcher.utter_message(
            response="utter_privacy_notice_link",
            url=notice_url(info),
            buttons=[
                {"title": "Ver meus dados", "payload": "/privacy_access"},
                {"title": "Apagar meus dados", "payload": "/privacy_erasure"},
            ],
        )
        return []
