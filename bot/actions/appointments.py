"""Appointments as the booking (reschedule) and confirmation flows read them: the specialty or
doctor a patient names in free text, which listed appointment a typed answer means, the upcoming
active ones, the fields a flow keeps and the button that picks one. Pure functions, no Rasa."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from clinic_nlu.dates import normalize, parse_when

from actions.formatting import parse_dt

# Typed names of the specialties (accent-free, lowercase) -> slug. API names are matched too.
SPECIALTY_WORDS: dict[str, tuple[str, ...]] = {
    "cardiologia": ("cardiologia", "cardiologista", "cardio", "medico do coracao"),
    "dermatologia": ("dermatologia", "dermatologista", "dermato", "dermo"),
    "pediatria": ("pediatria", "pediatra", "pediatrico", "pediatrica"),
    "ginecologia": ("ginecologia", "ginecologista", "gineco", "ginecologica"),
    "ortopedia": ("ortopedia", "ortopedista", "orto", "ortopedico"),
    "clinica_geral": ("clinica geral", "clinico geral", "clinica medica", "clinico", "medico geral"),
    "oftalmologia": ("oftalmologia", "oftalmologista", "oftalmo", "oculista"),
    "endocrinologia": ("endocrinologia", "endocrinologista", "endocrino"),
}
# Ordinal words of a typed choice ("o segundo", "a última"); -1 is the last one.
ORDINALS = {
    "primeiro": 1, "primeira": 1, "segundo": 2, "terceiro": 3, "terceira": 3,
    "quarto": 4, "quarta opcao": 4, "quinto": 5, "quinta opcao": 5, "ultimo": -1, "ultima": -1,
    "segunda opcao": 2, "segunda op": 2, "segundo horario": 2,
}  # fmt: skip
_NAME_STOPWORDS = {"dr", "dra", "doutor", "doutora", "de", "da", "do", "dos", "das", "e"}


def match_specialty(text: str, specialties: list[dict[str, Any]] | None = None) -> str | None:
    """The specialty slug named in free text ("dermato", "clínico geral", "Cardiologia")."""
    norm = normalize(text)
    if not norm:
        return None
    known = {s.get("slug") for s in specialties or []} or set(SPECIALTY_WORDS)
    candidates: list[tuple[int, str]] = []
    for spec in specialties or []:
        name = normalize(str(spec.get("name") or ""))
        slug = str(spec.get("slug") or "")
        for word in {name, slug.replace("_", " ")} - {""}:
            if re.search(rf"\b{re.escape(word)}\b", norm):
                candidates.append((len(word), slug))
    for slug, words in SPECIALTY_WORDS.items():
        if slug not in known:
            continue
        for word in words:
            if re.search(rf"\b{re.escape(word)}\b", norm):
                candidates.append((len(word), slug))
    if not candidates:
        return None
    return max(candidates)[1]


def match_doctor(text: str, doctors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The doctor named in free text ("com a dra ana", "Dr. Paulo Mendes"); None when none or
    ambiguous."""
    norm = normalize(text)
    if not norm:
        return None
    titled = bool(re.search(r"\b(?:dr|dra|doutor|doutora|medico|medica)\b", norm))
    scores: list[tuple[int, dict[str, Any]]] = []
    for doc in doctors:
        tokens = [t for t in normalize(str(doc.get("name") or "")).split() if t not in _NAME_STOPWORDS]
        hits = 0
        for token in tokens:
            if len(token) < 3 or (len(token) < 4 and not titled):
                continue
            if re.search(rf"\b{re.escape(token)}\b", norm):
                hits += 1
        if hits:
            scores.append((hits, doc))
    if not scores:
        return None
    scores.sort(key=lambda item: -item[0])
    if len(scores) > 1 and scores[0][0] == scores[1][0]:
        return None
    return scores[0][1]


def match_appointment(text: str, options: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """Which listed appointment a typed answer means ("a de quinta", "2", "cardio", "todas")."""
    if not options:
        return None
    norm = normalize(text)
    m = re.fullmatch(r"(?:a |o )?(?:opcao |consulta |numero )?(\d)", norm)
    if m:
        index = int(m.group(1))
        return options[index - 1] if 1 <= index <= len(options) else None
    for word, index in sorted(ORDINALS.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{word}\b", norm):
            if index == -1:
                return options[-1]
            return options[index - 1] if index <= len(options) else None
    spec = match_specialty(text)
    if spec:
        hits = [o for o in options if o.get("specialty") == spec]
        if len(hits) == 1:
            return hits[0]
    hit = match_doctor(text, [{"name": o.get("doctor_name"), "ref": o} for o in options])
    if hit:
        named: dict[str, Any] = hit["ref"]
        return named
    when = parse_when(text, now)
    if when is not None and when.day_given:
        hits = [o for o in options if (start := parse_dt(o.get("start"))) is not None and when.matches(start)]
        if len(hits) == 1:
            return hits[0]
    return None


def appointment_summary(appt: dict[str, Any]) -> dict[str, Any]:
    """The fields the flows keep about an appointment (no patient data)."""
    return {
        "id": appt.get("id"),
        "start": appt.get("start"),
        "status": appt.get("status"),
        "doctor_id": appt.get("doctor_id"),
        "doctor_name": appt.get("doctor_name"),
        "specialty": appt.get("specialty"),
        "specialty_name": appt.get("specialty_name"),
        "address": appt.get("address"),
    }


def active_appointments(appts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Upcoming, not cancelled/done, soonest first."""
    upcoming: list[tuple[datetime, dict[str, Any]]] = []
    for appt in appts or []:
        start = parse_dt(appt.get("start"))
        if appt.get("status") in ("scheduled", "confirmed") and start is not None and start > now:
            upcoming.append((start, appt))
    return [appt for _, appt in sorted(upcoming, key=lambda pair: pair[0])]


def appointment_payload(appt_id: Any) -> str:
    return '/choose_appointment{"appointment_id":"' + str(appt_id).replace('"', "") + '"}'
