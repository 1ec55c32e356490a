"""Pure checks on a staff layer before training. Every message is pt-BR, for the clinic staff.

`validate_layer(layer)` -> {"errors": [...], "warnings": [...]}; a layer with errors is not trained.
The bot's data (examples, intents, responses, reasons) is read from bot/ unless given.
"""

from __future__ import annotations

import re
import string
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from teaching.layer import (
    BASE_REASONS,
    MAX_NAME,
    NAME_RE,
    REASON_RE,
    Layer,
    domain_intents,
    domain_responses,
    nlu_examples,
    read_reasons,
)

MIN_EXAMPLES = 5
WARN_EXAMPLES = 10
MAX_EXAMPLE_CHARS = 500
MAX_ANSWER_CHARS = 1000
MAX_BUTTON_TITLE = 20  # WhatsApp reply buttons
# responses whose wording is part of the urgent protocol or of the consent notice: not staff-editable
PROTECTED_RESPONSE_FILES = {"urgent.yml", "consent.yml"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
ENTITY_SYNTAX = re.compile(r"\[[^\]]*\]\s*[({]")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "¿¡…“”‘’«»"})


@dataclass
class BotData:
    """What the layer is checked against (bot/ by default; tests pass small ones)."""
    examples: list[tuple[str, str]]
    intents: set[str]
    reasons: dict[str, str]
    responses: dict[str, tuple[str, list[dict[str, Any]]]]

    @classmethod
    def from_bot(cls) -> BotData:
        return cls(nlu_examples(), domain_intents(), read_reasons(), domain_responses())


@dataclass
class Result:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, list[str]]:
        return {"errors": self.errors, "warnings": self.warnings}


def normalized(text: str) -> str:
    """Equality key for near-identical examples: accents, case, abbreviations, punctuation, spaces."""
    from clinic_nlu.normalize import normalize

    return " ".join(normalize(text).translate(_PUNCT).split())


def _override_ok(override: dict[str, Any] | None) -> bool:
    if not override:
        return False
    return bool(str(override.get("by") or "").strip()) and bool(str(override.get("reason") or "").strip())


def _red_flags(text: str) -> list[str]:
    from clinic_nlu.red_flags import detect

    return [f.code for f in detect(text)]


def validate_layer(layer: Layer, bot: BotData | None = None) -> Result:
    bot = bot or BotData.from_bot()
    res = Result()
    err, warn = res.errors.append, res.warnings.append
    known_intents = set(bot.intents) | set(bot.reasons)
    layer_names = [i.name for i in layer.intents]
    staff_reasons = {i.name: i.reason for i in layer.intents}

    # where every example already lives: normalized text -> {intent: original text}
    owners: dict[str, dict[str, str]] = defaultdict(dict)
    for text, intent in bot.examples:
        owners[normalized(text)].setdefault(intent, text)

    def check_text(text: str, where: str) -> bool:
        if not text.strip():
            err(f"{where}: exemplo vazio")
            return False
        if len(text) > MAX_EXAMPLE_CHARS:
            err(f"{where}: exemplo com {len(text)} caracteres (máximo {MAX_EXAMPLE_CHARS})")
            return False
        if ENTITY_SYNTAX.search(text):
            err(f"{where}: \"{text[:60]}\" tem colchetes seguidos de parênteses ou chaves, que o treino lê como "
                "marcação de entidade; reescreva sem colchetes")
            return False
        return True

    def check_red_flag(text: str, intent: str, reason: str, override: dict[str, Any] | None, where: str) -> None:
        if reason == "urgent":
            return
        codes = _red_flags(text)
        if not codes:
            return
        if override is not None and _override_ok(override):
            warn(f"{where}: \"{text[:60]}\" contém sinal de alerta ({', '.join(codes)}) e vai para '{intent}' "
                 f"(não urgente) por liberação de {override['by']}: {override['reason']}")
        else:
            err(f"{where}: \"{text[:60]}\" contém sinal de alerta ({', '.join(codes)}) e não pode ir para '{intent}' "
                "(não urgente). Mensagens de emergência ficam em urgent_symptom; só um administrador pode "
                "liberar, com justificativa")

    # --- staff intents ---
    seen_names: set[str] = set()
    layer_norms: dict[str, dict[str, str]] = defaultdict(dict)  # normalized -> {intent: text} inside the layer
    for n, item in enumerate(layer.intents, 1):
        label = f"intenção '{item.name or n}'"
        if not item.name:
            err(f"intenção nº {n}: falta o nome")
        elif not NAME_RE.match(item.name) or len(item.name) > MAX_NAME:
            err(f"{label}: nome inválido; use staff_ seguido de letras minúsculas, números e _ "
                "(ex.: staff_vacina_gripe)")
        if item.name in known_intents:
            err(f"{label}: já existe uma intenção com esse nome no bot")
        if item.name in seen_names:
            err(f"{label}: nome repetido na camada")
        seen_names.add(item.name)

        if not item.reason:
            err(f"{label}: falta o motivo (reason)")
        elif not REASON_RE.match(item.reason):
            err(f"{label}: motivo '{item.reason}' inválido; use um dos motivos atuais ({', '.join(BASE_REASONS)}) "
                "ou um novo em letras minúsculas, números e _ (2 a 24 caracteres)")
        elif item.reason == "urgent":
            err(f"{label}: intenções novas não podem ter o motivo 'urgent'; emergências seguem o protocolo de "
                "urgência (rotule as mensagens em urgent_symptom)")
        elif item.reason not in BASE_REASONS:
            warn(f"{label}: o motivo '{item.reason}' é novo e passará a aparecer nas regras de roteamento, "
                 "filas e no painel")

        if item.answer is None and item.handoff is None:
            err(f"{label}: defina uma resposta, um encaminhamento para a equipe, ou ambos")
        if item.answer is not None:
            text = item.answer.get("text") or ""
            if not text.strip():
                err(f"{label}: a resposta está vazia")
            elif len(text) > MAX_ANSWER_CHARS:
                err(f"{label}: resposta com {len(text)} caracteres (máximo {MAX_ANSWER_CHARS})")
            for b in item.answer.get("buttons") or []:
                if not b["title"].strip() or not b["payload"].strip():
                    err(f"{label}: botão sem título ou sem ação")
                    continue
                if len(b["title"]) > MAX_BUTTON_TITLE:
                    warn(f"{label}: o botão \"{b['title']}\" tem mais de {MAX_BUTTON_TITLE} caracteres e será "
                         "cortado no WhatsApp")
                if b["payload"].startswith("/"):
                    target = re.split(r"[{\s]", b["payload"][1:], maxsplit=1)[0]
                    if target not in known_intents and target not in layer_names:
                        err(f"{label}: o botão \"{b['title']}\" aponta para a intenção '{target}', que não existe")
        if item.handoff is not None and not (item.handoff.get("queue") or item.handoff.get("skill")):
            err(f"{label}: o encaminhamento precisa de uma fila ou de uma habilidade")

        examples = [e for e in item.examples]
        valid = 0
        local: dict[str, str] = {}
        for text in examples:
            where = f"{label}, exemplo"
            if not check_text(text, where):
                continue
            valid += 1
            key = normalized(text)
            if key in local:
                warn(f"{label}: \"{text[:60]}\" é praticamente igual a \"{local[key][:60]}\"")
                continue
            local[key] = text
            others = {i: t for i, t in owners.get(key, {}).items() if i != item.name}
            others.update({i: t for i, t in layer_norms.get(key, {}).items() if i != item.name})
            for other, otext in others.items():
                err(f"{label}: o exemplo \"{text[:60]}\" já existe na intenção '{other}' (\"{otext[:60]}\")")
            layer_norms[key][item.name] = text
            check_red_flag(text, item.name, item.reason, item.override, label)
        distinct = len(local)
        if distinct < MIN_EXAMPLES:
            err(f"{label}: tem {distinct} exemplos diferentes; o mínimo é {MIN_EXAMPLES}")
        elif distinct < WARN_EXAMPLES:
            warn(f"{label}: tem só {distinct} exemplos diferentes; com {WARN_EXAMPLES} ou mais o bot entende melhor")

    # --- labelled messages (existing intents, or this layer's) ---
    for n, lb in enumerate(layer.labelled, 1):
        label = f"mensagem rotulada nº {n}"
        if lb.intent in staff_reasons:
            reason = staff_reasons[lb.intent]
        elif lb.intent in bot.reasons and lb.intent in bot.intents:
            reason = bot.reasons[lb.intent]
        else:
            err(f"{label}: a intenção '{lb.intent}' não existe")
            continue
        if lb.intent == "nlu_fallback":
            err(f"{label}: 'nlu_fallback' não recebe exemplos; marque a mensagem como ignorada")
            continue
        if not check_text(lb.text, label):
            continue
        key = normalized(lb.text)
        others = {i: t for i, t in owners.get(key, {}).items() if i != lb.intent}
        others.update({i: t for i, t in layer_norms.get(key, {}).items() if i != lb.intent})
        for other, otext in others.items():
            err(f"{label}: \"{lb.text[:60]}\" já existe na intenção '{other}' (\"{otext[:60]}\")")
        if lb.intent in owners.get(key, {}) or lb.intent in layer_norms.get(key, {}):
            warn(f"{label}: \"{lb.text[:60]}\" já está em '{lb.intent}' (não muda nada)")
        layer_norms[key][lb.intent] = lb.text
        check_red_flag(lb.text, lb.intent, reason, lb.override, label)

    # --- edited texts of existing responses ---
    for name, text in layer.answers.items():
        label = f"resposta '{name}'"
        if name not in bot.responses:
            err(f"{label}: não existe no bot")
            continue
        file, variations = bot.responses[name]
        if file in PROTECTED_RESPONSE_FILES:
            err(f"{label}: faz parte do protocolo de urgência ou do aviso de privacidade e não pode ser editada aqui")
            continue
        if any("custom" in v or "condition" in v for v in variations):
            err(f"{label}: não é uma resposta simples de texto")
            continue
        if not text.strip():
            err(f"{label}: o texto está vazio")
            continue
        if len(text) > MAX_ANSWER_CHARS:
            err(f"{label}: texto com {len(text)} caracteres (máximo {MAX_ANSWER_CHARS})")
        old = {p for v in variations for p in PLACEHOLDER.findall(str(v.get("text") or ""))}
        new = set(PLACEHOLDER.findall(text))
        if new - old:
            err(f"{label}: usa {', '.join('{' + p + '}' for p in sorted(new - old))}, que o bot não preenche "
                f"nessa resposta" + (f" (disponíveis: {', '.join('{' + p + '}' for p in sorted(old))})" if old else ""))
        if old - new:
            warn(f"{label}: o texto novo não usa {', '.join('{' + p + '}' for p in sorted(old - new))}, "
                 "que o bot preenche com dados da conversa")
    return res
