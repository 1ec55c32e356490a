"""What a reminder says, and the checks on what the staff may set (/lembretes).

The built-in pt-BR wording (`reminder_text`) or the clinic's own text with its placeholders
filled in (`fill`, `placeholder_values`), the Confirmar / Cancelar / Remarcar buttons, the
e-mail confirm link's path; the validation of a submitted text, kind or schedule (`check_*`,
refused with `ReminderSettingsError`) and the sample appointment of the preview.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from handoff.adapters.sql.database import as_utc
from handoff.domain import reminders as rules
from handoff.domain.clinic.calendar import at, to_clinic
from handoff.domain.errors import Invalid

WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo")
CONFIRM_PATH = "/lembrete/{token}/confirmar"


def buttons(appointment_id: int) -> list[dict[str, str]]:
    """Confirmar / Cancelar / Remarcar, as payloads the bot reads (intents of bot/domain/intents.yml)."""
    ref = f'{{"appointment_id":"{appointment_id}"}}'
    return [{"title": "Confirmar", "payload": "/confirm_appointment" + ref},
            {"title": "Cancelar", "payload": "/cancel_appointment" + ref},
            {"title": "Remarcar", "payload": "/reschedule_appointment" + ref}]


def when_text(start: datetime) -> tuple[str, str]:
    """('quinta-feira, 10/12', '09:30') on the clinic's clock."""
    local = to_clinic(start)
    return f"{WEEKDAYS[local.weekday()]}, {local:%d/%m}", f"{local:%H:%M}"


def reminder_text(card: dict[str, Any], start: datetime, notes: str | None, confirm_link: str | None,
                  body: str | None = None) -> str:
    """The pt-BR reminder: date, time, doctor, specialty, address, preparation notes. `body` is
    the clinic's own text (placeholders filled in); None = the built-in wording. An e-mail always
    ends with the confirm link."""
    if body:
        lines = [fill(body, placeholder_values(card, start, notes))]
    else:
        day, clock = when_text(start)
        name = card.get("patient_name") or ""
        hello = f"Olá, {name.split()[0]}!" if name.strip() else "Olá!"
        who = f" de {card['specialty']}" if card.get("specialty") else ""
        doctor = f" com {card['doctor']}" if card.get("doctor") else ""
        lines = [f"{hello} Lembrete da sua consulta{who}{doctor} na {day}, às {clock}."]
        if card.get("address"):
            lines.append(f"Endereço: {card['address']}.")
        if notes:
            lines.append(f"Preparo: {notes}")
        if not confirm_link:
            lines.append("Você confirma sua presença?")
    if confirm_link:
        lines.append(f"Para confirmar sua presença, acesse: {confirm_link}")
        lines.append("Para cancelar ou remarcar, responda este e-mail.")
    return "\n".join(lines)


# --- editable texts and schedules (/lembretes) ----------------------------------------------

PLACEHOLDERS: dict[str, str] = {
    "nome": "primeiro nome do(a) paciente", "quando": "dia e horário da consulta",
    "medico": "nome do(a) médico(a)", "especialidade": "especialidade",
    "endereco": "endereço da clínica", "preparo": "orientações de preparo da especialidade",
}
BUILT_IN_BODY = ("Olá, {nome}! Lembrete da sua consulta de {especialidade} com {medico} na {quando}.\n"
                 "Endereço: {endereco}.\nPreparo: {preparo}\nVocê confirma sua presença?")
TEXT_MAX = 1000
MAX_OFFSETS = 4
PREVIEW_CHANNELS = ("whatsapp", "sms", "email")
_FIELD = re.compile(r"\{([^{}]*)\}")
_KIND = re.compile(r"^(morning|[1-9][0-9]{0,2}h)$")
SAMPLE_CARD: dict[str, Any] = {"patient_name": "Maria Silva", "doctor": "Dra. Ana Souza", "specialty": "Cardiologia",
                               "address": "Rua Exemplo, 100 - Centro"}
SAMPLE_NOTES = "Traga seus exames anteriores e chegue 15 minutos antes."


class ReminderSettingsError(Invalid):
    """A refused settings change: code and a pt-BR message for the staff."""


def settings_error(message: str) -> ReminderSettingsError:
    """A refused settings change (code `invalid_body`) with its pt-BR message."""
    return ReminderSettingsError("invalid_body", message)


def fill(body: str, values: dict[str, str]) -> str:
    """`body` with each known {placeholder} replaced (a regex, not str.format: a stored text must
    never reach attributes or indexes of the values)."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), body).strip()


def placeholder_values(card: dict[str, Any], start: datetime, notes: str | None) -> dict[str, str]:
    """The values of the placeholders for one appointment."""
    day, clock = when_text(start)
    name = (card.get("patient_name") or "").split()
    return {"nome": name[0] if name else "paciente", "quando": f"{day}, às {clock}",
            "medico": card.get("doctor") or "", "especialidade": card.get("specialty") or "",
            "endereco": card.get("address") or "", "preparo": notes or ""}


def check_body(body: Any) -> str | None:
    """A text the staff submitted, validated (None or blank = back to the built-in text)."""
    if body is None:
        return None
    if not isinstance(body, str):
        raise settings_error("O texto do lembrete deve ser um texto.")
    text: str = body.strip()
    if not text:
        return None
    if len(text) > TEXT_MAX:
        raise settings_error(f"O texto do lembrete tem {len(text)} caracteres; o máximo é {TEXT_MAX}.")
    unknown = [m.group(0) for m in _FIELD.finditer(text) if m.group(1) not in PLACEHOLDERS]
    if unknown:
        known = " ".join("{" + k + "}" for k in PLACEHOLDERS)
        raise settings_error(f"Campo desconhecido no texto: {unknown[0]}. Use apenas: {known}.")
    rest = _FIELD.sub("", text)
    if "{" in rest or "}" in rest:
        raise settings_error("Há uma chave { ou } sem par no texto; os campos são escritos assim: {nome}.")
    return text


def check_kind(kind: Any) -> str:
    """A reminder kind: `morning` or `<n>h` with n from 1 to 168."""
    if not isinstance(kind, str) or not _KIND.match(kind) or (
            kind != rules.MORNING_KIND and not 1 <= int(kind[:-1]) <= rules.MAX_OFFSET_HOURS):
        raise settings_error("Tipo de lembrete inválido: use \"morning\" ou horas antes da consulta, como \"24h\".")
    return kind


def check_rule(data: Any) -> rules.ReminderRule:
    """A schedule the staff submitted: 1 to 4 distinct offsets of 1–168 hours, two flags."""
    if not isinstance(data, dict):
        raise settings_error("Envie a regra como um objeto JSON.")
    offsets = data.get("offsets_hours")
    if not isinstance(offsets, list) or any(isinstance(h, bool) or not isinstance(h, int) for h in offsets):
        raise settings_error("Informe as antecedências em horas, como números inteiros (ex.: 48 e 24).")
    if len(offsets) > MAX_OFFSETS:
        raise settings_error(f"No máximo {MAX_OFFSETS} lembretes antes da consulta.")
    if any(not 1 <= h <= rules.MAX_OFFSET_HOURS for h in offsets):
        raise settings_error(f"Cada antecedência deve ficar entre 1 e {rules.MAX_OFFSET_HOURS} horas (7 dias).")
    if len(set(offsets)) != len(offsets):
        raise settings_error("Há antecedências repetidas.")
    for flag, label in (("morning_of", "lembrete na manhã da consulta"), ("enabled", "lembretes ativos")):
        if not isinstance(data.get(flag), bool):
            raise settings_error(f"Informe sim ou não para \"{label}\".")
    return rules.ReminderRule(tuple(sorted(offsets, reverse=True)), data["morning_of"], data["enabled"])


def rule_view(rule: rules.ReminderRule) -> dict[str, Any]:
    """A schedule as JSON."""
    return {"offsets_hours": list(rule.offsets_hours), "morning_of": rule.morning_of, "enabled": rule.enabled}


def kind_label(kind: str) -> str:
    """`24h` -> '24 horas antes'; `morning` -> 'Manhã da consulta'."""
    return "Manhã da consulta (08:00)" if kind == rules.MORNING_KIND else f"{kind[:-1]} horas antes"


def sample_start(now: datetime) -> datetime:
    """The sample appointment of the preview: two days from now, 09:30 clinic time."""
    return at(to_clinic(now).date() + timedelta(days=2), time(9, 30)).astimezone(UTC)


def iso_time(value: datetime | None) -> str | None:
    """A stored time as UTC ISO 8601 (None stays None)."""
    utc = as_utc(value)
    return utc.isoformat() if utc is not None else None
