"""Asking instead of guessing when the NLU hesitates between two reasons. Pure functions.

When the classifier's two best intents belong to two different reasons (bot/reasons.yml), are
within `CLARIFY_MARGIN` of each other and the best is below `CLARIFY_BELOW` (or the
FallbackClassifier answered `nlu_fallback` and the two best intents below it are such a pair), the
bot asks ONE short question with a button for each ("Só para eu entender: você quer marcar uma
consulta ou saber de um exame?"), at most once in a row: a second unclear message goes to the
fallback/handoff behaviour (actions/handoff.py). Red flags are never asked about: the urgent path
(actions/urgent.py) runs at once. The routing lives in actions/input_route.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

REASONS_PATH = Path(__file__).resolve().parents[1] / "reasons.yml"
CLARIFY_BELOW = 0.6
CLARIFY_MARGIN = 0.1
FALLBACK_INTENT = "nlu_fallback"
URGENT_INTENT = "urgent_symptom"

# The intents the question can offer: what the patient may want (it follows "você quer ...")
# and the button title. Anything else (greetings, yes/no, out of scope...) is never asked about.
CHOICES: dict[str, tuple[str, str]] = {
    "book_appointment": ("marcar uma consulta", "Marcar consulta"),
    "symptom_consult": ("marcar uma consulta", "Marcar consulta"),
    "ask_availability": ("ver horários livres para consulta", "Ver horários livres"),
    "reschedule_appointment": ("remarcar uma consulta", "Remarcar consulta"),
    "confirm_appointment": ("confirmar sua consulta", "Confirmar consulta"),
    "cancel_appointment": ("cancelar uma consulta", "Cancelar consulta"),
    "check_appointment": ("saber quando é sua consulta", "Ver minha consulta"),
    "exam_info": ("saber de um exame", "Saber de um exame"),
    "exam_preparation": ("saber o preparo de um exame", "Preparo de exame"),
    "exam_results": ("ver o resultado de um exame", "Resultado de exame"),
    "exam_schedule": ("agendar um exame", "Agendar exame"),
    "boleto_copy": ("a 2ª via de um boleto", "2ª via de boleto"),
    "payment_info": ("saber sobre pagamento", "Pagamento"),
    "ask_price": ("saber um valor", "Valores"),
    "insurance": ("saber sobre convênios", "Convênios"),
    "request_human": ("falar com um atendente", "Falar com atendente"),
    "complain": ("fazer uma reclamação", "Fazer uma reclamação"),
    "clinic_address": ("saber o endereço da clínica", "Endereço"),
    "clinic_hours": ("saber o horário de funcionamento", "Horário de funcionamento"),
    "clinic_parking": ("saber sobre estacionamento", "Estacionamento"),
    "clinic_accessibility": ("saber sobre acessibilidade", "Acessibilidade"),
}


def load_reasons(path: Path = REASONS_PATH) -> dict[str, str]:
    """bot/reasons.yml as {intent: reason} (empty, with a warning, when it cannot be read: then
    nothing is ever asked about)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("reasons map unreadable (%s): no clarifying questions", type(exc).__name__)
        return {}
    return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}


REASONS = load_reasons()


def ranked(ranking: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, float]]:
    """(intent, confidence) best first, without `nlu_fallback` (the FallbackClassifier puts it on
    top of the classifier's own ranking)."""
    pairs = []
    for item in ranking or []:
        name, confidence = item.get("name"), item.get("confidence")
        if isinstance(name, str) and name != FALLBACK_INTENT and isinstance(confidence, (int, float)):
            pairs.append((name, float(confidence)))
    return sorted(pairs, key=lambda p: -p[1])


def clarification_candidates(
    ranking: Sequence[Mapping[str, Any]] | None,
    reasons: Mapping[str, str] | None = None,
    *,
    previous_unclear: bool = False,
    below: float = CLARIFY_BELOW,
    margin: float = CLARIFY_MARGIN,
) -> tuple[str, str] | None:
    """The two intents to ask about, best first, or None to go on without asking.

    Asks only when the two best intents map to different reasons, the best is below `below`, the
    gap is at most `margin`, neither is `urgent_symptom` and both can be offered (CHOICES). Never
    right after another unclear message (`previous_unclear`): at most once in a row."""
    if previous_unclear:
        return None
    reasons = REASONS if reasons is None else reasons
    pairs = ranked(ranking)
    if len(pairs) < 2:
        return None
    (first, c1), (second, c2) = pairs[0], pairs[1]
    if URGENT_INTENT in (first, second):
        return None
    if c1 >= below or c1 - c2 > margin:
        return None
    if first not in CHOICES or second not in CHOICES:
        return None
    if reasons.get(first, "other") == reasons.get(second, "other"):
        return None
    return first, second


def clarifying_question(candidates: tuple[str, str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Template values ({first}, {second}) of `utter_clarify_reason` and its two buttons, whose
    payloads trigger the candidate intents."""
    (what1, title1), (what2, title2) = CHOICES[candidates[0]], CHOICES[candidates[1]]
    buttons = [{"title": title1, "payload": "/" + candidates[0]}, {"title": title2, "payload": "/" + candidates[1]}]
    return {"first": what1, "second": what2}, buttons
