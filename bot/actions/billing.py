"""Reason `billing`: boleto second copy, payment status and methods, prices, insurers (clinic API).

Consent: boletos and payment status are the patient's data (gate first); prices, payment methods
and accepted insurers are public (no gate; the notice is shown once on first contact).
One-question flows of the kernel (actions/flow.py): "which price?" waits in slot `awaiting_item`.
"""

from __future__ import annotations

import logging
from typing import Any

from clinic_nlu.normalize import normalize
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.clinic_api import ClinicApi, ClinicApiError, patient_id
from actions.common import entity_values, find_by_slug, intent_button, slugify
from actions.consent import consent_status, consented_patient, notice_on_first_contact
from actions.flow import answered_events, ask_events, item_choice, unavailable
from actions.formatting import brl, date_br, linha_digitavel

log = logging.getLogger(__name__)

OPEN_STATUSES = ("overdue", "open")
# Display names for the contract's insurer slugs the clinic may NOT accept (accepted ones come
# with their name from the API).
INSURER_NAMES = {
    "unimed": "Unimed",
    "bradesco_saude": "Bradesco Saúde",
    "sulamerica": "SulAmérica",
    "amil": "Amil",
    "hapvida": "Hapvida",
    "porto_seguro": "Porto Seguro",
}


def open_boletos(boletos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unpaid boletos, overdue first, then by due date."""
    unpaid = [b for b in boletos if b.get("status") in OPEN_STATUSES]
    return sorted(unpaid, key=lambda b: (OPEN_STATUSES.index(b["status"]), str(b.get("due_date") or "")))


def boleto_bubbles(boleto: dict[str, Any]) -> list[str]:
    """One boleto as chat bubbles: what/amount/due date/PDF, then the linha digitável and the PIX
    copia-e-cola each alone in its bubble so the patient can copy it with one tap."""
    overdue = boleto.get("status") == "overdue"
    amount = boleto.get("amount_text") or brl(boleto.get("amount"))
    lines = [
        f"📄 *{boleto.get('description') or 'Boleto'}*",
        f"💰 {amount} · vence {date_br(boleto.get('due_date'))}" + (" ⚠️ vencido" if overdue else ""),
    ]
    if boleto.get("pdf_url"):
        lines.append(f"📎 PDF: {boleto['pdf_url']}")
    line = boleto.get("linha_digitavel") or linha_digitavel(str(boleto.get("barcode") or ""))
    codes = [str(code) for code in (line, boleto.get("pix_code")) if code]
    if line and boleto.get("pix_code"):
        lines.append("Abaixo: a linha digitável e o PIX copia e cola 👇")
    elif line:
        lines.append("Abaixo: a linha digitável 👇")
    elif codes:
        lines.append("Abaixo: o PIX copia e cola 👇")
    return ["\n".join(lines), *codes]


def payment_status_message(boletos: list[dict[str, Any]]) -> str:
    """Summary of the patient's boletos by status."""
    counts = {s: sum(1 for b in boletos if b.get("status") == s) for s in ("paid", "open", "overdue")}
    if not boletos:
        return "Você não tem boletos registrados com a gente."
    parts = []
    if counts["overdue"]:
        parts.append(f"🔴 {counts['overdue']} vencido(s)")
    if counts["open"]:
        parts.append(f"🟡 {counts['open']} em aberto")
    if counts["paid"]:
        parts.append(f"✅ {counts['paid']} pago(s)")
    text = "Seus boletos: " + ", ".join(parts) + "."
    if not counts["overdue"] and not counts["open"]:
        text += " Está tudo em dia 🎉"
    return text


def prices_message(prices: list[dict[str, Any]]) -> str:
    lines = ["💰 Valores (particular):"]
    for p in prices:
        lines.append(f"• {p.get('item')}: {p.get('price_text') or brl(p.get('price'))}")
    lines.append("Se tiver convênio, me pergunte se aceitamos o seu 😉")
    return "\n".join(lines)


def insurer_name(value: str, insurers: list[dict[str, Any]]) -> str:
    found = find_by_slug(insurers, value)
    if found:
        return str(found.get("name"))
    return INSURER_NAMES.get(slugify(value), value.replace("_", " ").strip().title())


def coverage_text(insurer: dict[str, Any]) -> str:
    consult, exams = insurer.get("covers_consultations"), insurer.get("covers_exams")
    if consult and exams:
        return "consultas e exames"
    if consult:
        return "somente consultas"
    if exams:
        return "somente exames"
    return "consulte a equipe"


def insurer_message(insurer: dict[str, Any]) -> str:
    """Yes, accepted: plans, coverage, authorization."""
    lines = [f"Sim, aceitamos *{insurer.get('name')}* ✅", f"Cobertura aqui: {coverage_text(insurer)}."]
    plans = [str(p) for p in insurer.get("plans") or []]
    if plans:
        lines.append("Planos: " + ", ".join(plans) + ".")
    if insurer.get("requires_authorization"):
        what = "exames e procedimentos" if insurer.get("covers_exams") else "procedimentos"
        lines.append(f"⚠️ Exige autorização prévia do convênio para {what}.")
    lines.append("Traga a carteirinha do convênio e um documento com foto.")
    return "\n".join(lines)


def insurers_list_message(insurers: list[dict[str, Any]]) -> str:
    lines = ["🏥 Convênios aceitos:"]
    for i in insurers:
        auth = ", precisa de autorização prévia" if i.get("requires_authorization") else ""
        lines.append(f"• {i.get('name')} ({coverage_text(i)}{auth})")
    lines.append("Também atendemos particular. Traga sempre a carteirinha e um documento com foto.")
    return "\n".join(lines)


class ActionBoletoCopy(Action):
    """Second copy of open/overdue boletos (consent required)."""

    def name(self) -> str:
        return "action_boleto_copy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        pid = await consented_patient(dispatcher, tracker, api)
        if isinstance(pid, list):
            return pid
        try:
            boletos = open_boletos(list(await api.boletos(pid)))
        except ClinicApiError as exc:
            return unavailable(dispatcher, exc, "boletos")
        if not boletos:
            dispatcher.utter_message(response="utter_no_open_boletos")
            return []
        dispatcher.utter_message(response="utter_boletos_intro", count=len(boletos))
        for boleto in boletos:
            for bubble in boleto_bubbles(boleto):
                dispatcher.utter_message(text=bubble)
        if any(b.get("status") == "overdue" for b in boletos):
            dispatcher.utter_message(response="utter_boleto_overdue_help")
        return []


class ActionPaymentInfo(Action):
    """Payment methods (clinic policy) and, with consent, the patient's payment status."""

    def name(self) -> str:
        return "action_payment_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        dispatcher.utter_message(response="utter_payment_methods")
        pid = patient_id(tracker)
        status = await consent_status(tracker, api)
        if status is True and pid is not None:
            try:
                boletos = list(await api.boletos(pid))
            except ClinicApiError as exc:
                log.warning("boletos failed: status=%s code=%s", exc.status, exc.code)
                return []
            buttons = [intent_button("Ver boletos", "boleto_copy")] if open_boletos(boletos) else []
            dispatcher.utter_message(text=payment_status_message(boletos), buttons=buttons)
            return []
        dispatcher.utter_message(response="utter_payment_status_offer")
        return await notice_on_first_contact(dispatcher, tracker, api)


class ActionAskPrice(Action):
    """Prices of consultations (per specialty) and exams; asks which when not given."""

    def name(self) -> str:
        return "action_ask_price"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        specialties = entity_values(tracker, "specialty")
        exams = entity_values(tracker, "exam")
        if not specialties and not exams:
            # "o primeiro" / "a de cardiologia" typed after "which price?": the button it names
            picked = item_choice(tracker, "ask_price") or {}
            specialties = [str(picked["specialty"])] if picked.get("specialty") else []
            exams = [str(picked["exam"])] if picked.get("exam") else []
        if not specialties and not exams:
            about_exams = "exame" in normalize(str(tracker.latest_message.get("text") or ""))
            try:
                if about_exams:
                    buttons = [intent_button(str(e.get("name")), "ask_price", exam=str(e.get("slug")))
                               for e in await api.exams()]
                else:
                    buttons = [intent_button(f"Consulta {s.get('name')}", "ask_price", specialty=str(s.get("slug")))
                               for s in await api.specialties()]
            except ClinicApiError as exc:
                return unavailable(dispatcher, exc, "price options")
            response = "utter_ask_which_exam_price" if about_exams else "utter_ask_which_price"
            dispatcher.utter_message(response=response, buttons=buttons)
            return ask_events(tracker, "ask_price")
        found: list[dict[str, Any]] = []
        queries = [{"specialty": s} for s in specialties] + [{"exam": e} for e in exams]
        for query in queries:
            try:
                found += list(await api.prices(**query))
            except ClinicApiError as exc:
                if exc.status not in (400, 404):  # unknown slug: just nothing found
                    return unavailable(dispatcher, exc, "prices")
        if found:
            dispatcher.utter_message(text=prices_message(found))
        else:
            dispatcher.utter_message(response="utter_price_unknown")
        return answered_events() + await notice_on_first_contact(dispatcher, tracker, api)


class ActionInsurance(Action):
    """Accepted insurers; "aceita unimed?" answered for that insurer; coverage/authorization."""

    def name(self) -> str:
        return "action_insurance"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        try:
            insurers = list(await api.insurers())
        except ClinicApiError as exc:
            return unavailable(dispatcher, exc, "insurers")
        asked = entity_values(tracker, "insurer")
        if not asked:
            dispatcher.utter_message(text=insurers_list_message(insurers))
        for value in asked:
            insurer = find_by_slug(insurers, value)
            if insurer is not None:
                dispatcher.utter_message(text=insurer_message(insurer))
            else:
                accepted = ", ".join(str(i.get("name")) for i in insurers)
                dispatcher.utter_message(
                    response="utter_insurer_not_accepted",
                    insurer=insurer_name(value, insurers),
                    accepted=accepted,
                    buttons=[intent_button("Ver valores", "ask_price")],
                )
        return await notice_on_first_contact(dispatcher, tracker, api)
