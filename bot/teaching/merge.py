"""A temporary Rasa project = bot/ (config, domain, data, catalogue, reasons) + the staff layer.

Never writes into bot/. Layout of the project dir:
    config.yml  domain/*.yml (+ domain/staff.yml)  data/nlu/*.yml (+ staff.yml)  data/rules/*.yml (+ staff.yml)
    reasons.yml (bot/reasons.yml + the staff intents' reasons)

What the staff layer becomes:
- NLU: staff intents with their examples; labelled messages added to their (existing) intents.
- Domain: the new intents; `utter_taught_<name>` (text + buttons); edited texts of existing responses
  (every variation of that response gets the new text, buttons kept).
- Rules: `<name>` -> utter_taught_<name> [-> utter_taught_<name>_handoff]; the staff intents join
  the "every NLU intent" `or:` lists of the rules that route by `input_route` whatever the intent.
  The handoff uses the one generic mechanism the hub already applies to ANY bot message
  (docs/CONTRACTS.md, handoff/services/bot_pipeline.py): a response whose `custom` payload is
  `{"atende": {"handoff": {"reason", "priority", "note", "skills", "queue"}}}`; the hub strips it
  and enqueues the conversation. No new action and no edit of bot/actions is needed.
  The hub honours `queue` (when the clinic has it; never for urgent hand-offs) and `skills`.
  Gap (documented): the opening-hours message of actions/handoff.py.hand_off is not sent for taught
  handoffs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from teaching.layer import BOT, Layer, StaffIntent, clean_example, read_reasons

STAFF_FILE = "staff.yml"


def _dump(data: Any) -> str:
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000))


def _examples_block(texts: list[str]) -> str:
    return "".join(f"- {clean_example(t)}\n" for t in texts)


def nlu_yaml(groups: dict[str, list[str]]) -> str:
    """Rasa 3 NLU YAML for {intent: [texts]} (texts written as-is, one per line)."""
    items = [{"intent": intent, "examples": _examples_block(texts)} for intent, texts in groups.items() if texts]
    return _dump({"version": "3.1", "nlu": items})


def staff_groups(layer: Layer, exclude: set[tuple[str, str]] | None = None) -> dict[str, list[str]]:
    """{intent: texts} of the layer's training examples (staff intents first, then labelled)."""
    exclude = exclude or set()
    groups: dict[str, list[str]] = {}
    for item in layer.intents:
        groups.setdefault(item.name, [])
        for text in item.examples:
            if text.strip() and (text, item.name) not in exclude:
                groups[item.name].append(text)
    for lb in layer.labelled:
        if lb.text.strip() and (lb.text, lb.intent) not in exclude:
            groups.setdefault(lb.intent, []).append(lb.text)
    return groups


def handoff_signal(item: StaffIntent) -> dict[str, Any]:
    assert item.handoff is not None
    signal: dict[str, Any] = {"reason": item.reason, "priority": "normal",
                              "note": f"intenção ensinada pela equipe: {item.name}"}
    if item.handoff.get("skill"):
        signal["skills"] = [item.handoff["skill"]]
    if item.handoff.get("queue"):
        signal["queue"] = item.handoff["queue"]
    return {"atende": {"handoff": signal}}


def staff_domain(layer: Layer) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for item in layer.intents:
        if item.answer is not None:
            variation: dict[str, Any] = {"text": item.answer["text"]}
            if item.answer.get("buttons"):
                variation["buttons"] = [{"title": b["title"], "payload": b["payload"]} for b in item.answer["buttons"]]
            responses[item.response] = [variation]
        if item.handoff is not None:
            responses[item.handoff_response] = [{"custom": handoff_signal(item)}]
    return {"version": "3.1", "intents": [i.name for i in layer.intents], "responses": responses}


def staff_rules(layer: Layer) -> dict[str, Any]:
    rules = []
    for item in layer.intents:
        steps: list[dict[str, str]] = [{"intent": item.name}]
        if item.answer is not None:
            steps.append({"action": item.response})
        if item.handoff is not None:
            steps.append({"action": item.handoff_response})
        rules.append({"rule": f"taught {item.name}", "steps": steps})
    return {"version": "3.1", "rules": rules}


def override_answers(domain_dir: Path, answers: dict[str, str]) -> list[str]:
    """Replace the text of existing responses in the copied domain files; returns the names done."""
    done: list[str] = []
    if not answers:
        return done
    for path in sorted(domain_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses = data.get("responses") or {}
        hit = [name for name in answers if name in responses]
        if not hit:
            continue
        for name in hit:
            for variation in responses[name] or []:
                variation["text"] = answers[name]
            done.append(name)
        path.write_text(_dump(data), encoding="utf-8")
    return done


def nlu_intents(nlu_dir: Path) -> set[str]:
    """Intents with examples in the (copied) NLU files, read as plain YAML."""
    names: set[str] = set()
    for path in nlu_dir.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names |= {str(item["intent"]) for item in data.get("nlu") or [] if isinstance(item, dict) and "intent" in item}
    return names


def extend_every_intent_lists(rules_dir: Path, every: set[str], staff: list[str]) -> int:
    """Rules written for "whatever the intent" (an `or:` of every NLU intent except urgent_symptom,
    data/rules/input_route.yml) must cover the staff intents too, or a taught intent would skip the
    in-flow reading of the patient's words. Returns how many such lists were extended."""
    if not staff:
        return 0
    extended = 0
    for path in sorted(rules_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        done: set[int] = set()  # YAML aliases (*every_nlu_intent) load as the same list object
        for rule in data.get("rules") or []:
            for step in rule.get("steps") or []:
                alternatives = step.get("or") if isinstance(step, dict) else None
                if not isinstance(alternatives, list) or id(alternatives) in done:
                    continue
                names = {a.get("intent") for a in alternatives if isinstance(a, dict)}
                if every <= names:
                    alternatives.extend({"intent": name} for name in staff if name not in names)
                    done.add(id(alternatives))
        if done:
            path.write_text(_dump(data), encoding="utf-8")
            extended += len(done)
    return extended


def merged_reasons(layer: Layer, base: dict[str, str] | None = None) -> dict[str, str]:
    reasons = dict(base if base is not None else read_reasons())
    for item in layer.intents:
        reasons[item.name] = item.reason
    return reasons


def build_project(layer: Layer, out: Path, bot: Path = BOT) -> Path:
    """Write the temporary project into `out` (created; must not be inside bot/)."""
    out = Path(out).resolve()
    if out == bot.resolve() or bot.resolve() in out.parents:
        raise ValueError("o projeto temporário não pode ficar dentro de bot/")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(bot / "config.yml", out / "config.yml")
    for name in ("domain", "data"):
        if (out / name).exists():
            shutil.rmtree(out / name)
        shutil.copytree(bot / name, out / name)
    (out / "domain" / STAFF_FILE).write_text(_dump(staff_domain(layer)), encoding="utf-8")
    (out / "data" / "nlu" / STAFF_FILE).write_text(nlu_yaml(staff_groups(layer)), encoding="utf-8")
    (out / "data" / "rules" / STAFF_FILE).write_text(_dump(staff_rules(layer)), encoding="utf-8")
    every = nlu_intents(bot / "data" / "nlu") - {"urgent_symptom"}
    extend_every_intent_lists(out / "data" / "rules", every, [i.name for i in layer.intents])
    override_answers(out / "domain", layer.answers)
    reasons = merged_reasons(layer, read_reasons(bot / "reasons.yml"))
    (out / "reasons.yml").write_text(_dump(reasons), encoding="utf-8")
    return out
