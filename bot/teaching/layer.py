"""The staff layer: a JSON document the hub stores (versioned, audited) and hands to the worker.

    {"version": 3,
     "intents": [{"name": "staff_vacina_gripe", "reason": "vacinas", "examples": ["..."],
                  "answer": {"text": "...", "buttons": [{"title": "...", "payload": "..."}]} | null,
                  "handoff": {"queue": "recepcao", "skill": "vacinas"} | null,
                  "override": {"by": "admin@clinica", "reason": "..."}}],      # optional
     "answers": {"utter_greet": "novo texto", ...},
     "labelled": [{"text": "...", "intent": "clinic_parking", "override": {...}}]}

`answer` may also be a plain string (the hub's `POST /api/bot/intents {"answer": "text"}`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BOT = Path(__file__).resolve().parents[1]
ROOT = BOT.parent
BASE_REASONS = ("booking", "confirmation", "exams", "billing", "urgent", "human", "other")
STAFF_PREFIX = "staff_"
NAME_RE = re.compile(r"^staff_[a-z0-9]+(?:_[a-z0-9]+)*$")
REASON_RE = re.compile(r"^[a-z][a-z0-9_]{1,23}$")  # = handoff.domain.triage.NEW_REASON_RE (24: conversations.reason)
MAX_NAME = 64


@dataclass
class StaffIntent:
    name: str
    reason: str
    examples: list[str]
    answer: dict[str, Any] | None
    handoff: dict[str, Any] | None
    override: dict[str, Any] | None = None

    @property
    def response(self) -> str:
        return f"utter_taught_{self.name}"

    @property
    def handoff_response(self) -> str:
        return f"utter_taught_{self.name}_handoff"


@dataclass
class Labelled:
    text: str
    intent: str
    override: dict[str, Any] | None = None


@dataclass
class Layer:
    version: int
    intents: list[StaffIntent] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    labelled: list[Labelled] = field(default_factory=list)


class LayerError(ValueError):
    """The document is not a staff layer at all (shape errors); message in pt-BR."""


def _answer(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {"text": value, "buttons": []}
    if not isinstance(value, dict):
        raise LayerError("'answer' deve ser um texto, um objeto {text, buttons} ou null")
    buttons = value.get("buttons") or []
    if not isinstance(buttons, list) or not all(isinstance(b, dict) for b in buttons):
        raise LayerError("'answer.buttons' deve ser uma lista de {title, payload}")
    return {"text": str(value.get("text") or ""), "buttons": [
        {"title": str(b.get("title") or ""), "payload": str(b.get("payload") or "")} for b in buttons]}


def parse_layer(data: Any) -> Layer:
    """Shape only (types, required keys); the content checks are validate.validate_layer."""
    if not isinstance(data, dict):
        raise LayerError("a camada da equipe deve ser um objeto JSON")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LayerError("'version' deve ser um número inteiro")
    intents = []
    for i, item in enumerate(data.get("intents") or []):
        if not isinstance(item, dict):
            raise LayerError(f"intenção nº {i + 1}: deve ser um objeto")
        examples = item.get("examples") or []
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise LayerError(f"intenção nº {i + 1}: 'examples' deve ser uma lista de textos")
        handoff = item.get("handoff")
        if handoff is not None and not isinstance(handoff, dict):
            raise LayerError(f"intenção nº {i + 1}: 'handoff' deve ser {{queue, skill}} ou null")
        # the hub stores an admin's red-flag release as `red_flag_override` {by, reason, examples, at}
        override = item.get("override", item.get("red_flag_override"))
        if override is not None and not isinstance(override, dict):
            raise LayerError(f"intenção nº {i + 1}: 'override' deve ser {{by, reason}}")
        intents.append(StaffIntent(
            name=str(item.get("name") or ""), reason=str(item.get("reason") or ""), examples=list(examples),
            answer=_answer(item.get("answer")),
            handoff=None if handoff is None else {"queue": str(handoff.get("queue") or ""),
                                                  "skill": str(handoff.get("skill") or "")},
            override=override))
    answers = data.get("answers") or {}
    if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
        raise LayerError("'answers' deve ser um objeto {utter_...: \"texto\"}")
    labelled = []
    for i, item in enumerate(data.get("labelled") or []):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise LayerError(f"mensagem rotulada nº {i + 1}: deve ser {{text, intent}}")
        override = item.get("override")
        if override is not None and not isinstance(override, dict):
            raise LayerError(f"mensagem rotulada nº {i + 1}: 'override' deve ser {{by, reason}}")
        labelled.append(Labelled(text=item["text"], intent=str(item.get("intent") or ""), override=override))
    return Layer(version=version, intents=intents, answers={str(k): v for k, v in answers.items()},
                 labelled=labelled)


def load_layer(path: Path) -> Layer:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LayerError(f"a camada não é um JSON válido: {exc}") from exc
    return parse_layer(data)


def layer_to_dict(layer: Layer) -> dict[str, Any]:
    def intent(i: StaffIntent) -> dict[str, Any]:
        out = {"name": i.name, "reason": i.reason, "examples": i.examples, "answer": i.answer, "handoff": i.handoff}
        if i.override:
            out["override"] = i.override
        return out

    return {"version": layer.version, "intents": [intent(i) for i in layer.intents], "answers": layer.answers,
            "labelled": [{"text": lb.text, "intent": lb.intent, **({"override": lb.override} if lb.override else {})}
                         for lb in layer.labelled]}


# --- readers of the bot's own data (read-only) ------------------------------------------------------


def clean_example(text: str) -> str:
    """One line, single spaces: how an example is written into the training data."""
    return " ".join(str(text).split())


def read_reasons(path: Path | None = None) -> dict[str, str]:
    data = yaml.safe_load((path or BOT / "reasons.yml").read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def domain_intents(domain_dir: Path | None = None) -> set[str]:
    names: set[str] = set()
    for path in sorted((domain_dir or BOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("intents") or []:
            names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def domain_responses(domain_dir: Path | None = None) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """response name -> (domain file name, variations)."""
    out: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for path in sorted((domain_dir or BOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (data.get("responses") or {}).items():
            out[str(name)] = (path.name, list(variations or []))
    return out


def nlu_examples(nlu_dir: Path | None = None) -> list[tuple[str, str]]:
    """(text, intent) of bot/data/nlu, read with Rasa's own loader (entity annotations stripped)."""
    from rasa.shared.nlu.training_data.loading import load_data

    td = load_data(str(nlu_dir or BOT / "data" / "nlu"))
    return [(m.get("text"), m.get("intent")) for m in td.intent_examples]
