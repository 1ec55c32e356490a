"""Pure message builders of the consent, exams, billing, clinic-info and human flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from actions.billing import (
    boleto_bubbles,
    insurer_message,
    insurers_list_message,
    open_boletos,
    payment_status_message,
    prices_message,
)
from actions.clinic_info import first_contact_greeting, info_message
from actions.common import NOT_UNDERSTOOD, find_by_slug, intent_button, slugify
from actions.consent import PRIVACY_VERSION, consent_from_patient, notice_events, resume_events
from actions.exams import catalog_message, preparation_message, result_line, results_message
from actions.fallback import consecutive_misunderstandings
from actions.formatting import brl, date_br, linha_digitavel, when_br
from actions.handoff import closed_until
from bot_helpers import DOMAIN, buttons, make_tracker, render, user_event

BRT = timezone(timedelta(hours=-3))
GREETING = "Olá! Sou a assistente virtual da Clínica Exemplo"


# -- formatting ---------------------------------------------------------------------------------

def test_money_and_dates_in_pt_br() -> None:
    assert brl(350) == "R$ 350,00"
    assert brl(1234.5) == "R$ 1.234,50"
    assert brl("1234567.891") == "R$ 1.234.567,89"
    assert date_br("2025-12-10") == "10/12/2025"
    assert date_br("2025-12-10T08:00:00-03:00") == "10/12/2025"


def test_when_a_person_will_answer() -> None:
    now = datetime(2025, 11, 21, 20, 0, tzinfo=BRT)  # a Friday night
    assert when_br(datetime(2025, 11, 21, 22, 0, tzinfo=BRT), now) == "hoje às 22h"
    assert when_br(datetime(2025, 11, 22, 8, 0, tzinfo=BRT), now) == "amanhã às 8h"
    assert when_br(datetime(2025, 11, 24, 8, 30, tzinfo=BRT), now) == "na segunda-feira (24/11) às 8h30"
    assert when_br(datetime(2025, 11, 23, 8, 0, tzinfo=BRT), now) == "no domingo (23/11) às 8h"
    assert when_br(datetime(2025, 12, 2, 8, 0, tzinfo=BRT), now) == "em 02/12 às 8h"
    # "now" in UTC is converted to the clinic's offset first (23:30 UTC is still Friday 20:30 there)
    assert when_br(datetime(2025, 11, 22, 8, 0, tzinfo=BRT), datetime(2025, 11, 21, 23, 30, tzinfo=UTC)) \
        == "amanhã às 8h"


def test_out_of_hours_text_comes_from_is_open_now_and_next_opening() -> None:
    now = datetime(2025, 11, 22, 19, 0, tzinfo=BRT)  # Saturday evening
    assert closed_until({"is_open_now": True, "next_opening": None}, now) is None
    assert closed_until(None, now) is None  # unknown: do not claim we are closed
    info = {"is_open_now": False, "next_opening": "2025-11-24T08:00:00-03:00"}
    assert closed_until(info, now) == "na segunda-feira (24/11) às 8h"
    assert closed_until({"is_open_now": False, "next_opening": None}, now) == "assim que a clínica abrir"
    closed = render({"response": "utter_handoff_closed", "when": "amanhã às 8h"})
    assert "fechada" in closed and "registrado" in closed and "amanhã às 8h" in closed and "192" in closed


def test_linha_digitavel_from_a_febraban_barcode() -> None:
    barcode = "34195129100000350001092400010140057123457000"
    assert linha_digitavel(barcode) == "34191.09248 00010.140051 71234.570001 5 12910000035000"
    assert linha_digitavel("123") == "123"


def test_slugs_and_buttons() -> None:
    assert slugify("Bradesco Saúde") == "bradesco_saude"
    assert find_by_slug([{"slug": "sulamerica", "name": "SulAmérica Saúde"}], "SulAmérica Saúde")
    assert intent_button("Hemograma", "exam_preparation", exam="hemograma") == {
        "title": "Hemograma", "payload": '/exam_preparation{"exam":"hemograma"}'}


def test_misunderstandings_count_fallbacks_and_out_of_scope_together() -> None:
    assert consecutive_misunderstandings(["greet", "out_of_scope", "nlu_fallback"], NOT_UNDERSTOOD) == 2
    assert consecutive_misunderstandings(["out_of_scope", "greet"], NOT_UNDERSTOOD) == 0


# -- consent ------------------------------------------------------------------------------------

def test_privacy_notice_says_what_why_who_rights_and_revocation() -> None:
    notice = render({"response": "utter_privacy_notice"})
    for needle in ("LGPD", "saúde", "triagem", "agendamento", "equipe da clínica", "acesso", "correção",
                   "eliminação", "revogar"):
        assert needle in notice, needle
    assert [b["payload"] for b in buttons({"response": "utter_privacy_notice"})] == [
        "/consent_accept", "/consent_refuse"]
    assert PRIVACY_VERSION == "privacidade-v1"


def test_first_contact_is_one_bubble_greeting_then_notice() -> None:
    text, btns = first_contact_greeting(DOMAIN)
    assert text.startswith(GREETING)
    assert "LGPD" in text
    assert [b["title"] for b in btns] == ["Aceito", "Não aceito"]
    assert render({"response": "utter_greet"}).startswith(GREETING)


def test_refusal_offers_a_person_and_the_phone() -> None:
    text = render({"response": "utter_consent_refused_phone", "phone": "(11) 3456-7800"})
    assert "(11) 3456-7800" in text
    assert any(b["payload"] == "/request_human" for b in buttons({"response": "utter_consent_refused_phone"}))


def test_consent_decision_counts_only_for_the_current_version() -> None:
    assert consent_from_patient({"consent": None}) is None
    assert consent_from_patient({"consent": {"granted": True, "version": PRIVACY_VERSION}}) is True
    assert consent_from_patient({"consent": {"granted": False, "version": PRIVACY_VERSION}}) is False
    assert consent_from_patient({"consent": {"granted": True, "version": "privacidade-v0"}}) is None
    # A revocation recorded by the hub (handoff.services.privacy_requests.REVOCATION_VERSION) is a refusal.
    assert consent_from_patient({"consent": {"granted": False, "version": "revogacao-titular"}}) is False


def test_notice_remembers_only_resumable_intents() -> None:
    assert {e["name"]: e["value"] for e in notice_events("boleto_copy")} == {
        "pending_intent": "boleto_copy", "consent_asked": True}
    assert {e["name"]: e["value"] for e in notice_events("greet")}["pending_intent"] is None


def test_accepting_replays_the_original_request_with_its_entities_and_metadata() -> None:
    original = user_event("exam_results", "saiu meu [hemograma]?", [{"entity": "exam", "value": "hemograma"}],
                          {"patient_id": 3})
    tracker = make_tracker("consent_accept", "/consent_accept", patient_id=3, history=[original])
    listen, replay = resume_events(tracker, "exam_results")
    assert listen["event"] == "action" and listen["name"] == "action_listen"
    assert replay["event"] == "user"
    assert replay["parse_data"]["intent"]["name"] == "exam_results"
    assert replay["parse_data"]["entities"] == [{"entity": "exam", "value": "hemograma"}]
    assert replay["metadata"] == {"patient_id": 3}
    assert resume_events(tracker, None) == []
    assert resume_events(tracker, "boleto_copy") == []


# -- exams --------------------------------------------------------------------------------------

EXAM = {"slug": "glicemia", "name": "Glicemia de jejum", "preparation": "Jejum de 8 horas.", "fasting_hours": 8,
        "collection_hours": "Coleta: seg a sex, 8h às 11h.", "report_how": "Link aqui no chat.",
        "requires_appointment": False}


def test_preparation_message() -> None:
    text = preparation_message(EXAM)
    assert "Glicemia de jejum" in text and "Jejum de 8 horas" in text and "8h às 11h" in text
    assert "Não precisa de jejum" in preparation_message({**EXAM, "fasting_hours": 0})
    assert "agendado" in preparation_message({**EXAM, "requires_appointment": True})


def test_results_show_status_link_and_how_to_get_the_report_without_interpreting() -> None:
    results: list[dict[str, Any]] = [
        {"exam": "tsh", "exam_name": "TSH", "status": "collected", "collected_at": "2025-11-20T09:00:00-03:00",
         "ready_at": None, "report_url": None},
        {"exam": "glicemia", "exam_name": "Glicemia de jejum", "status": "ready",
         "collected_at": "2025-11-18T09:00:00-03:00", "ready_at": "2025-11-19T10:00:00-03:00",
         "report_url": "http://hub/laudo/abc"},
    ]
    text = results_message(results, [EXAM])
    assert text.index("Glicemia") < text.index("TSH")  # ready first
    assert "http://hub/laudo/abc" in text and "19/11/2025" in text
    assert "Link aqui no chat." in text
    assert "converse com seu médico" in text
    assert "em análise" in result_line({**results[0], "status": "processing"})


def test_catalog_groups_collection_hours() -> None:
    other = {**EXAM, "slug": "mamografia", "name": "Mamografia", "collection_hours": "Com hora marcada.",
             "requires_appointment": True}
    text = catalog_message([EXAM, other])
    assert "Glicemia de jejum" in text and "Mamografia (com agendamento)" in text
    assert "Com hora marcada." in text and "seg a sex" in text


# -- billing ------------------------------------------------------------------------------------

BOLETOS = [
    {"id": 1, "description": "Consulta cardiologia", "amount": 350.0, "due_date": "2025-12-10", "status": "open",
     "barcode": "34195129100000350001092400010140057123457000", "pix_code": "000201PIX", "pdf_url": "http://hub/b/1"},
    {"id": 2, "description": "Hemograma", "amount": 35.0, "due_date": "2025-10-01", "status": "overdue",
     "barcode": "1", "pix_code": "000201PIX2", "pdf_url": "http://hub/b/2"},
    {"id": 3, "description": "Retorno", "amount": 0, "due_date": "2025-09-01", "status": "paid",
     "barcode": "", "pix_code": "", "pdf_url": ""},
]


def test_boleto_second_copy_has_everything_to_pay() -> None:
    unpaid = open_boletos(BOLETOS)
    assert [b["id"] for b in unpaid] == [2, 1]  # overdue first, paid left out
    summary, line, pix = boleto_bubbles(unpaid[1])
    for needle in ("Consulta cardiologia", "R$ 350,00", "10/12/2025", "http://hub/b/1"):
        assert needle in summary
    # the codes stand alone in their bubbles, ready to copy
    assert line == "34191.09248 00010.140051 71234.570001 5 12910000035000"
    assert pix == "000201PIX"
    assert "vencido" in boleto_bubbles(unpaid[0])[0]
    assert all("\n\n" not in bubble for bubble in boleto_bubbles(unpaid[1]))  # REST splits on blank lines


def test_payment_status_summary() -> None:
    assert "1 vencido" in payment_status_message(BOLETOS) and "1 em aberto" in payment_status_message(BOLETOS)
    assert "em dia" in payment_status_message([BOLETOS[2]])
    methods = render({"response": "utter_payment_methods"})
    assert "PIX" in methods and "Cartão" in methods and "3x" in methods


def test_prices_and_insurers() -> None:
    assert "Consulta de Cardiologia: R$ 350,00" in prices_message(
        [{"item": "Consulta de Cardiologia", "kind": "consultation", "slug": "cardiologia", "price": 350}])
    unimed = {"slug": "unimed", "name": "Unimed", "plans": ["Clássico"], "covers_consultations": True,
              "covers_exams": True, "requires_authorization": True}
    text = insurer_message(unimed)
    assert text.startswith("Sim, aceitamos *Unimed*") and "autorização" in text and "Clássico" in text
    assert "Unimed (consultas e exames, precisa de autorização prévia)" in insurers_list_message([unimed])


# -- clinic info --------------------------------------------------------------------------------

INFO = {"name": "Clínica Exemplo", "address": "Rua X, 1", "phone": "(11) 3456-7800", "hours_text": "Seg a sex 8h-18h",
        "parking": "Estacionamento no prédio.", "accessibility": "Elevadores e rampas.", "is_open_now": False,
        "next_opening": (datetime.now(BRT) + timedelta(days=1)).replace(hour=8, minute=0).isoformat()}


def test_clinic_info_answers() -> None:
    address = info_message("clinic_address", INFO)
    assert "Rua X, 1" in address and "(11) 3456-7800" in address and "google.com/maps" in address
    hours = info_message("clinic_hours", INFO)
    assert "Seg a sex 8h-18h" in hours and "fechados" in hours and "amanhã às 8h" in hours
    assert "abertos agora" in info_message("clinic_hours", {**INFO, "is_open_now": True})
    assert "Estacionamento no prédio." in info_message("clinic_parking", INFO)
    assert "Elevadores" in info_message("clinic_accessibility", INFO)
