"""Reason `exams`: preparation, results, scheduling and the exam catalog (clinic API).

Consent: the exam catalog (which exams, preparation, collection hours) is public information and
is answered without the gate (the notice is shown once on first contact); the patient's results
and the scheduling handoff process personal data and call `require_consent` first.

Exam scheduling: the clinic API has no exam agenda, so exams with `requires_appointment` are
handed off to the exams team (handoff reason `exams`), walk-in exams get collection instructions.
The bot never interprets results. One-question flows of the kernel (actions/flow.py): "which exam?"
waits in slot `awaiting_item`.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import Action, Tracker
from rasa_sdk.types import DomainDict

from actions.billing import ActionAskPrice
from actions.clinic_api import ClinicApi, ClinicApiError
from actions.common import entity_values, find_by_slug, intent_button
from actions.consent import consented_patient, notice_on_first_contact, require_consent
from actions.flow import AWAITING_SLOT, answer_values, answered_events, ask_events, item_choice, unavailable
from actions.formatting import brl, date_br, parse_iso
from actions.handoff import hand_off

log = logging.getLogger(__name__)

STATUS_ORDER = {"ready": 0, "processing": 1, "collected": 2}


def fasting_text(exam: dict[str, Any]) -> str:
    hours = exam.get("fasting_hours") or 0
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        hours = 0
    return f"⏱️ Jejum de {hours} horas." if hours > 0 else "⏱️ Não precisa de jejum."


def preparation_message(exam: dict[str, Any]) -> str:
    """Preparation instructions for one exam."""
    lines = [f"🧪 *Preparo: {exam.get('name')}*", str(exam.get("preparation") or "").strip(), fasting_text(exam)]
    if exam.get("collection_hours"):
        lines.append(f"🕒 {exam['collection_hours']}")
    if exam.get("requires_appointment"):
        lines.append("📅 Este exame precisa ser agendado.")
    lines.append("Traga o pedido médico e um documento com foto.")
    if exam.get("note"):
        lines.append(f"ℹ️ {exam['note']}")
    return "\n".join(line for line in lines if line)


def exam_details_message(exam: dict[str, Any], price: Any = None) -> str:
    """Everything about one exam: preparation, collection, scheduling, price."""
    text = preparation_message(exam)
    if price is not None:
        text += f"\n💰 Particular: {brl(price)}"
    return text


def catalog_message(exams: list[dict[str, Any]]) -> str:
    """Which exams the clinic does, with collection hours grouped."""
    lines = ["🧪 Exames que fazemos aqui:"]
    lines += [f"• {e.get('name')}" + (" (com agendamento)" if e.get("requires_appointment") else "") for e in exams]
    groups: dict[str, list[str]] = {}
    for e in exams:
        groups.setdefault(str(e.get("collection_hours") or ""), []).append(str(e.get("name")))
    groups.pop("", None)
    if len(groups) == 1:
        lines.append(f"🕒 {next(iter(groups))}")
    elif groups:
        lines.append("🕒 Horários:")
        lines += [f"• {', '.join(names)}: {hours}" for hours, names in groups.items()]
    lines.append("Quer saber o preparo, o valor ou o resultado de algum? É só perguntar 😊")
    return "\n".join(lines)


def result_line(result: dict[str, Any]) -> str:
    """One line (or two, with the report link) per exam result."""
    name = result.get("exam_name") or result.get("exam")
    status = result.get("status")
    if status == "ready":
        line = f"✅ *{name}*: pronto" + (f" desde {date_br(result['ready_at'])}" if result.get("ready_at") else "")
        if result.get("report_url"):
            line += f"\n📄 Laudo: {result['report_url']}"
        return line
    collected_on = date_br(result["collected_at"]) if result.get("collected_at") else ""
    if status == "processing":
        collected = f" (coletado em {collected_on})" if collected_on else ""
        forecast = f" Previsão: {date_br(result['ready_at'])}." if result.get("ready_at") else ""
        return f"⏳ *{name}*: em análise{collected}.{forecast}"
    collected = f" em {collected_on}" if collected_on else ""
    return f"🧪 *{name}*: coletado{collected}, ainda vai para análise."


def results_message(results: list[dict[str, Any]], catalog: list[dict[str, Any]]) -> str:
    """Status of the patient's exams (ready first), how to get the reports, and a reminder that
    the bot does not interpret results. One bubble: single line breaks only."""
    ordered = sorted(
        results,
        key=lambda r: (STATUS_ORDER.get(str(r.get("status")), 9), -(_ts(r.get("collected_at")))),
    )
    lines = ["Seus exames:"] + [result_line(r) for r in ordered]
    how = []
    for r in ordered:
        if r.get("status") != "ready":
            continue
        exam = find_by_slug(catalog, str(r.get("exam") or ""))
        text = str((exam or {}).get("report_how") or "").strip()
        if text and text not in how:
            how.append(text)
    if how:
        lines.append("📬 Como pegar o laudo: " + " ".join(how))
    lines.append("Para entender os resultados, converse com seu médico 🩺 Eu não interpreto exames.")
    return "\n".join(lines)


def _ts(value: Any) -> float:
    parsed = parse_iso(value)
    try:
        return parsed.timestamp() if parsed else 0.0
    except (OverflowError, OSError, ValueError):
        return 0.0


def exam_buttons(exams: list[dict[str, Any]], intent: str) -> list[dict[str, str]]:
    return [intent_button(str(e.get("name")), intent, exam=str(e.get("slug"))) for e in exams]


async def _catalog(api: ClinicApi, dispatcher: CollectingDispatcher) -> list[dict[str, Any]] | None:
    try:
        return list(await api.exams())
    except ClinicApiError as exc:
        unavailable(dispatcher, exc, "exam catalog")
        return None


async def _exam_from_entity(
    api: ClinicApi, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str
) -> tuple[dict[str, Any] | None, list[EventType]]:
    """The exam the patient named; otherwise ask which one (buttons) and remember the question."""
    catalog = await _catalog(api, dispatcher)
    if catalog is None:
        return None, []
    # the exam named, or the button of "which exam?" a typed "o primeiro" / "o de glicemia" names
    names = answer_values(tracker, intent, "exam")
    for value in names:
        exam = find_by_slug(catalog, value)
        if exam is not None:
            return exam, answered_events()
    if names:
        dispatcher.utter_message(response="utter_exam_unknown", buttons=exam_buttons(catalog, intent))
    else:
        dispatcher.utter_message(response="utter_ask_which_exam", buttons=exam_buttons(catalog, intent))
    return None, ask_events(tracker, intent)


class ActionExamPreparation(Action):
    """Preparation instructions of one exam (asks which when not given)."""

    def name(self) -> str:
        return "action_exam_preparation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        exam, events = await _exam_from_entity(api, dispatcher, tracker, "exam_preparation")
        if exam is None:
            return events
        dispatcher.utter_message(text=preparation_message(exam))
        return events + await notice_on_first_contact(dispatcher, tracker, api)


class ActionExamInfo(Action):
    """Which exams the clinic does and their collection hours; one exam's details when named."""

    def name(self) -> str:
        return "action_exam_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        pending = tracker.get_slot(AWAITING_SLOT)
        if pending in _ANSWERS_TO and (entity_values(tracker, "exam") or item_choice(tracker, pending)):
            # A bare exam name ("colesterol") right after "which exam?" reads as exam_info: it is
            # the answer to the question we asked.
            return await _ANSWERS_TO[pending]().run(dispatcher, tracker, domain)
        api = ClinicApi()
        catalog = await _catalog(api, dispatcher)
        if catalog is None:
            return []
        exam = next((e for v in entity_values(tracker, "exam") if (e := find_by_slug(catalog, v))), None)
        if exam is None:
            dispatcher.utter_message(text=catalog_message(catalog), buttons=[
                intent_button("Preparo de exame", "exam_preparation"),
                intent_button("Resultado de exame", "exam_results"),
                intent_button("Agendar exame", "exam_schedule"),
            ])
        else:
            price = None
            try:
                prices = await api.prices(exam=str(exam.get("slug")))
                price = next((p.get("price") for p in prices if p.get("slug") == exam.get("slug")), None)
            except ClinicApiError as exc:
                log.warning("exam price failed: status=%s code=%s", exc.status, exc.code)
            dispatcher.utter_message(text=exam_details_message(exam, price))
        return answered_events() + await notice_on_first_contact(dispatcher, tracker, api)


class ActionExamResults(Action):
    """Status of the patient's exam results, report links when ready (consent required)."""

    def name(self) -> str:
        return "action_exam_results"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        pid = await consented_patient(dispatcher, tracker, api)
        if isinstance(pid, list):
            return pid
        try:
            results = list(await api.exam_results(pid))
            catalog = list(await api.exams()) if results else []
        except ClinicApiError as exc:
            return unavailable(dispatcher, exc, "exam results")
        wanted = entity_values(tracker, "exam")
        if wanted:
            chosen = [r for r in results if any(find_by_slug([{"slug": r.get("exam")}], w) for w in wanted)]
            results = chosen or results
        if not results:
            dispatcher.utter_message(response="utter_no_exam_results")
            return []
        dispatcher.utter_message(text=results_message(results, catalog))
        return []


class ActionExamSchedule(Action):
    """Exam scheduling: appointment-only exams go to the exams team; walk-in exams get instructions."""

    def name(self) -> str:
        return "action_exam_schedule"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        api = ClinicApi()
        exam, events = await _exam_from_entity(api, dispatcher, tracker, "exam_schedule")
        if exam is None:
            return events
        if not exam.get("requires_appointment"):
            dispatcher.utter_message(
                response="utter_exam_walk_in",
                exam_name=exam.get("name"),
                collection_hours=exam.get("collection_hours") or "no horário de atendimento",
                fasting=fasting_text(exam),
            )
            return events + await notice_on_first_contact(dispatcher, tracker, api)
        gate = await require_consent(dispatcher, tracker, api)
        if gate is not None:
            return events + gate
        await hand_off(
            dispatcher,
            api,
            reason="exams",
            note=f"agendar exame: {exam.get('slug')}",
            open_response="utter_exam_schedule_handoff",
            closed_prefix="utter_exam_schedule_handoff_closed",
            exam_name=exam.get("name"),
        )
        return events


# "Which exam?" questions (slot awaiting_item) and the action that answers them.
_ANSWERS_TO: dict[str, type[Action]] = {
    "exam_preparation": ActionExamPreparation,
    "exam_schedule": ActionExamSchedule,
    "ask_price": ActionAskPrice,
}
