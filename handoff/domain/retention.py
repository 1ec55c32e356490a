"""Retention and disposal rules (LGPD Art. 15/16: data is disposed of when its purpose ends).

Plain rules, no I/O: the data categories the clinic sets a period for, the default periods and
why, the cutoff of a run, which conversations count as open, and when a legal hold protects a
patient's data. `handoff.services.retention` applies them to the database.

Categories (what a disposal run touches in each):

- ``transcripts``: chat transcripts that are not part of the medical record — the text and
  payload of messages of conversations no human is handling. The rows stay (created_at,
  direction, sender, status, intent, reason) with `redacted_at` set: the dashboard is computed
  from that metadata and the lifecycle events, so its figures do not change.
- ``attachments``: files patients sent (the reference leaves the message; the file is deleted
  from the attachment store once no undisposed message points at it).
- ``event_notes``: free text inside conversation events (internal notes, handoff notes); the
  event rows and their structured data (reason tags, outcomes, SLA metrics) stay for metrics.
- ``bot_dialogue``: the bot's copy of the dialogue (Rasa's SQL tracker store, `events` rows keyed
  by the conversation id): events older than the period are deleted.
- ``audit``: the staff access log; rows older than the period are deleted.
- ``delivery_reports``: provider delivery reports that never matched a message.
- ``login_throttle``: failed-login counters past their window.

There are no metrics rollup tables: the dashboard is computed from metadata that disposal keeps,
which is what makes "metrics stay correct after disposal" hold by construction.

Default periods and their basis (a clinic changes them on /privacidade/retencao):

- transcripts 2 years: long enough to answer a patient's complaint or a CFM/ANS inquiry about
  an attendance (prescription of consumer claims, CDC Art. 27, runs 5 years from knowledge of
  the damage, but chat triage is not clinical care: what matters clinically goes into the
  medical record, kept 20 years under Lei 13.787/2018 via a legal hold, not here);
- attachments 1 year: exams and documents patients send are copied into the medical record
  when relevant; the chat copy is the most sensitive data and the least needed;
- event notes 2 years and bot dialogue 2 years: same life as the transcript they annotate or copy;
- audit 5 years: LGPD Art. 37 (record of processing operations) and the controller's burden of
  proof (Art. 6 X, accountability); 5 years matches the general civil-liability prescription
  (CDC Art. 27) and CFM guidance on keeping access trails of health data. Never below 6 months
  (Marco Civil da Internet, Lei 12.965/2014, Art. 15: application access logs);
- delivery reports 30 days and login throttle rows 30 days: operational data with no purpose
  after that.

``None`` days = keep indefinitely (the job never touches the category).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class Category(StrEnum):
    """A kind of data with its own retention period."""

    TRANSCRIPTS = "transcripts"
    ATTACHMENTS = "attachments"
    EVENT_NOTES = "event_notes"
    BOT_DIALOGUE = "bot_dialogue"
    AUDIT = "audit"
    DELIVERY_REPORTS = "delivery_reports"
    LOGIN_THROTTLE = "login_throttle"


# The order a run works in: attachments before transcripts (a transcript's disposal drops the
# payload too, but the attachment phase is the one that deletes the files).
RUN_ORDER: tuple[Category, ...] = (
    Category.ATTACHMENTS,
    Category.TRANSCRIPTS,
    Category.EVENT_NOTES,
    Category.BOT_DIALOGUE,
    Category.AUDIT,
    Category.DELIVERY_REPORTS,
    Category.LOGIN_THROTTLE,
)

DEFAULT_DAYS: dict[Category, int | None] = {
    Category.TRANSCRIPTS: 730,
    Category.ATTACHMENTS: 365,
    Category.EVENT_NOTES: 730,
    Category.BOT_DIALOGUE: 730,
    Category.AUDIT: 1825,
    Category.DELIVERY_REPORTS: 30,
    Category.LOGIN_THROTTLE: 30,
}

# Floors: the audit trail must outlive the Marco Civil's 6 months; nothing is disposed of the
# same day it was written (a typo of 0 must not wipe the day's work).
MIN_DAYS: dict[Category, int] = {Category.AUDIT: 180}
ABSOLUTE_MIN_DAYS = 1
MAX_DAYS = 36_500  # 100 years: beyond that, "keep" (None) says what is meant

# pt-BR names and descriptions (the privacy notice and the retention page show them).
LABELS: dict[Category, str] = {
    Category.TRANSCRIPTS: "Conversas de atendimento (texto das mensagens)",
    Category.ATTACHMENTS: "Arquivos enviados nas conversas",
    Category.EVENT_NOTES: "Anotações internas da equipe sobre as conversas",
    Category.BOT_DIALOGUE: "Histórico de diálogo do assistente virtual",
    Category.AUDIT: "Registro de acessos da equipe (auditoria)",
    Category.DELIVERY_REPORTS: "Relatórios de entrega dos provedores de mensagens",
    Category.LOGIN_THROTTLE: "Tentativas de acesso ao sistema da equipe",
}
DESCRIPTIONS: dict[Category, str] = {
    Category.TRANSCRIPTS: "O texto é apagado; ficam só data, canal e motivo do contato, para estatísticas.",
    Category.ATTACHMENTS: "O arquivo é apagado quando nenhuma mensagem mantida o referencia.",
    Category.EVENT_NOTES: "O texto livre é apagado; os indicadores do atendimento ficam.",
    Category.BOT_DIALOGUE: "Os registros de diálogo do assistente mais antigos que o prazo são excluídos.",
    Category.AUDIT: "Os registros mais antigos que o prazo são excluídos.",
    Category.DELIVERY_REPORTS: ("Dados técnicos sem outra finalidade depois do prazo (inclui o registro de envios "
                                "dos resumos de atendimento ao CRM/prontuário já entregues ou descartados)."),
    Category.LOGIN_THROTTLE: "Contadores de tentativas de acesso, excluídos depois do prazo.",
}

# Conversation states in which humans own the conversation: disposal never touches them.
OPEN_STATES: frozenset[str] = frozenset({"queued", "assigned", "waiting_patient"})

# Message statuses still in flight (the bot or the outbox will read the text): never disposed.
IN_FLIGHT_STATUSES: frozenset[str] = frozenset({"pending", "queued", "sending"})

# Free-text keys of `conversation_events.data` (notes, handoff notes). Everything else there is
# structured (ids, reason tags, outcomes, SLA metrics) and feeds the dashboard.
FREE_TEXT_EVENT_KEYS: tuple[str, ...] = ("text", "note")


class PolicyError(ValueError):
    """A retention period the rules refuse (message in pt-BR, shown to staff)."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.message = message


def parse_category(raw: str) -> Category:
    """The category named `raw`, or PolicyError."""
    try:
        return Category(raw)
    except ValueError:
        raise PolicyError(raw, f"categoria desconhecida: {raw[:40]}") from None


def validate_days(category: Category, days: int | None) -> int | None:
    """`days` when allowed for `category` (None = keep), else PolicyError."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int):
        raise PolicyError(category, "o prazo deve ser um número inteiro de dias")
    floor = max(ABSOLUTE_MIN_DAYS, MIN_DAYS.get(category, ABSOLUTE_MIN_DAYS))
    if days < floor:
        raise PolicyError(category, f"o prazo mínimo de «{LABELS[category]}» é de {floor} dias")
    if days > MAX_DAYS:
        raise PolicyError(category, f"o prazo máximo é de {MAX_DAYS} dias; use «manter» para não descartar")
    return days


def effective_days(stored: Mapping[str, int | None]) -> dict[Category, int | None]:
    """The period of every category: the stored row when there is one, else the default.

    `stored` maps category name -> days for the rows present (a row with None = keep)."""
    return {c: (stored[c.value] if c.value in stored else DEFAULT_DAYS[c]) for c in Category}


def cutoff(now: datetime, days: int | None) -> datetime | None:
    """Data created strictly before this instant is past its period (None: keep everything)."""
    if days is None:
        return None
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now - timedelta(days=days)


def cutoffs(now: datetime, periods: Mapping[Category, int | None]) -> dict[Category, datetime | None]:
    """The cutoff of every category for a run started at `now`."""
    return {c: cutoff(now, periods.get(c)) for c in Category}


@dataclass(frozen=True)
class Hold:
    """A legal hold as stored (`legal_holds`)."""

    patient_id: int
    until: date | None
    released_at: datetime | None


def hold_active(hold: Hold, today: date) -> bool:
    """A hold protects its patient until released, through its `until` date (inclusive)."""
    if hold.released_at is not None:
        return False
    return hold.until is None or hold.until >= today


def held_patients(holds: list[Hold], today: date) -> frozenset[int]:
    """Patients whose data disposal must not touch today."""
    return frozenset(h.patient_id for h in holds if hold_active(h, today))


def conversation_disposable(state: str) -> bool:
    """Only conversations no human is handling may lose content."""
    return state not in OPEN_STATES


def message_disposable(status: str) -> bool:
    """A message the bot or the outbox still has to read is never disposed."""
    return status not in IN_FLIGHT_STATUSES


def strip_free_text(data: Mapping[str, object]) -> dict[str, object] | None:
    """`data` without its free-text keys (and marked), or None when it has none to strip."""
    if not any(k in data for k in FREE_TEXT_EVENT_KEYS):
        return None
    kept = {k: v for k, v in data.items() if k not in FREE_TEXT_EVENT_KEYS}
    kept["redacted"] = True
    return kept


def describe_days(days: int | None) -> str:
    """A period in pt-BR for the privacy notice ("2 anos", "90 dias", "mantido")."""
    if days is None:
        return "mantido enquanto houver finalidade ou obrigação legal"
    if days % 365 == 0:
        years = days // 365
        return "1 ano" if years == 1 else f"{years} anos"
    if days % 30 == 0 and days < 365:
        months = days // 30
        return "1 mês" if months == 1 else f"{months} meses"
    return "1 dia" if days == 1 else f"{days} dias"
