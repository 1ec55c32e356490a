"""Candidate vs current, side by side, in one run; and the gate.

Reuses scripts/eval_nlu.py (predict, per_reason, macro_f1, load_frozen, load_suite, stratified
splitting ideas): the frozen set bot/eval/frozen.yml is scored by AGGREGATES only (its messages are
never read here except as model inputs, and no per-message result is kept); the red-flag suite's
missed emergencies are listed (they are meant to be seen); the staff's own messages are
cross-validated (k folds trained on bot/data + the rest of the layer, with the intent-only
pipeline: same components minus the entity extractors, which the intent does not depend on).
"""

from __future__ import annotations

import importlib.util
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from teaching.layer import BASE_REASONS, BOT, ROOT, Layer
from teaching.merge import STAFF_FILE, nlu_yaml, staff_groups

MAX_F1_LOSS = 0.02
REQUIRED_SUITE_RECALL = 1.0
# components the intent does not depend on (entities only): left out of the cross-validation folds
CV_DROP = {"CRFEntityExtractor", "EntitySynonymMapper", "RegexFeaturizer",
           "clinic_nlu.components.CatalogueEntityExtractor"}


def eval_nlu() -> Any:
    """scripts/eval_nlu.py as a module (scripts/ is no package)."""
    name = "atende_eval_nlu"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "eval_nlu.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("scripts/eval_nlu.py not found")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def per_label(pairs: list[tuple[str, str]], labels: list[str]) -> dict[str, dict[str, float]]:
    """eval_nlu.per_reason over any label set (the staff layer may bring new reason tags), rounded."""
    return _rounded(eval_nlu().per_reason(pairs, labels))


def _rounded(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {r: {k: (round(v, 4) if k in ("precision", "recall", "f1") else int(v)) for k, v in row.items()}
            for r, row in table.items()}


def frozen_summary(gold: list[str], preds: list[tuple[str, float]], reasons: dict[str, str]) -> dict[str, Any]:
    ev = eval_nlu()
    pairs = [(g, reasons.get(intent, "other")) for g, (intent, _) in zip(gold, preds, strict=True)]
    table = ev.per_reason(pairs)
    return {"n": len(pairs), "accuracy": round(sum(g == p for g, p in pairs) / len(pairs), 4) if pairs else 0.0,
            "macro_f1": round(ev.macro_f1(table), 4), "urgent_recall": round(table["urgent"]["recall"], 4),
            "urgent_precision": round(table["urgent"]["precision"], 4), "per_reason": _rounded(table)}


def suite_summary(rows: list[tuple[str, str, str]], preds: list[tuple[str, float]],
                  reasons: dict[str, str]) -> dict[str, Any]:
    pairs = [(gold, reasons.get(intent, "other")) for (_, gold, _), (intent, _) in zip(rows, preds, strict=True)]
    emergencies = sum(g == "urgent" for g, _ in pairs)
    tp = sum(g == "urgent" and p == "urgent" for g, p in pairs)
    fp = sum(g != "urgent" and p == "urgent" for g, p in pairs)
    missed = [text for (text, gold, _), (_, p) in zip(rows, pairs, strict=True) if gold == "urgent" and p != "urgent"]
    return {"emergencies": emergencies, "lookalikes": len(pairs) - emergencies,
            "urgent_recall": round(tp / emergencies, 4) if emergencies else 1.0,
            "urgent_precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
            "false_alarms": fp, "missed_emergencies": missed}


def staff_items(layer: Layer) -> list[tuple[str, str]]:
    """(text, intent) of every staff example: staff intents' examples + labelled messages (deduplicated)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for intent, texts in staff_groups(layer).items():
        for text in texts:
            if (text, intent) not in seen:
                seen.add((text, intent))
                out.append((text, intent))
    return out


def cv_folds(items: list[tuple[str, str]], seed: int = 42) -> tuple[int, list[list[tuple[str, str]]]]:
    """k = min(5, smallest class), at least 2; every intent spread evenly over the folds."""
    by_intent: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in items:
        by_intent[item[1]].append(item)
    if len(items) < 2:
        return 0, []
    k = max(2, min(5, min(len(v) for v in by_intent.values())))
    rng = random.Random(seed)
    buckets: list[list[tuple[str, str]]] = [[] for _ in range(k)]
    offset = 0
    for intent in sorted(by_intent):
        group = by_intent[intent][:]
        rng.shuffle(group)
        for i, item in enumerate(group):
            buckets[(i + offset) % k].append(item)
        offset += len(group)
    return k, buckets


def cv_config(project: Path, out: Path) -> Path:
    data = yaml.safe_load((project / "config.yml").read_text(encoding="utf-8"))
    data["pipeline"] = [c for c in data["pipeline"] if c.get("name") not in CV_DROP]
    data.pop("policies", None)
    path = out / "config-cv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def cross_validate(project: Path, layer: Layer, work: Path,
                   progress: Callable[[int, int], None] | None = None,
                   ) -> tuple[int, dict[tuple[str, str], tuple[str, float]]]:
    """Out-of-fold candidate predictions of every staff example: {(text, intent): (predicted, conf)}."""
    from rasa.model_training import train_nlu

    ev = eval_nlu()
    items = staff_items(layer)
    k, buckets = cv_folds(items)
    out: dict[tuple[str, str], tuple[str, float]] = {}
    if not k:
        return 0, out
    work.mkdir(parents=True, exist_ok=True)
    cfg = cv_config(project, work)
    base_files = [p for p in sorted((project / "data" / "nlu").glob("*.yml")) if p.name != STAFF_FILE]
    for i, test in enumerate(buckets):
        fold = work / f"fold{i + 1}"
        nlu_dir = fold / "nlu"
        nlu_dir.mkdir(parents=True, exist_ok=True)
        for p in base_files:
            (nlu_dir / p.name).write_bytes(p.read_bytes())
        (nlu_dir / STAFF_FILE).write_text(nlu_yaml(staff_groups(layer, exclude=set(test))), encoding="utf-8")
        model = train_nlu(str(cfg), str(nlu_dir), str(fold), domain=str(project / "domain"),
                          fixed_model_name=f"fold{i + 1}")
        if not model:
            raise RuntimeError(f"treino da dobra {i + 1} falhou")
        for item, pred in zip(test, ev.predict(Path(model), [t for t, _ in test]), strict=True):
            out[item] = pred
        Path(model).unlink(missing_ok=True)
        if progress:
            progress(i + 1, k)
    return k, out


def predict_all(model: Path, texts: list[str]) -> list[tuple[str, float]]:
    """One Agent load per model for every evaluation text."""
    preds: list[tuple[str, float]] = eval_nlu().predict(model, texts)
    return preds


FROZEN = BOT / "eval" / "frozen.yml"
SUITE = BOT / "eval" / "red_flag_suite.yml"


def eval_texts(layer: Layer, frozen_path: Path = FROZEN, suite_path: Path = SUITE) -> list[str]:
    """Every text a model is asked about, in compare()'s order: frozen set, suite, staff examples."""
    ev = eval_nlu()
    return ([t for t, _ in ev.load_frozen(frozen_path)] + [t for t, _, _ in ev.load_suite(suite_path)]
            + [t for t, _ in staff_items(layer)])


def compare(layer: Layer, current: Path | None, candidate: Path, reasons_current: dict[str, str],
            reasons_candidate: dict[str, str], cv_preds: dict[tuple[str, str], tuple[str, float]], k: int,
            frozen_path: Path = FROZEN, suite_path: Path = SUITE,
            current_preds: list[tuple[str, float]] | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """`current_preds`: the current model's predictions of eval_texts(), when computed elsewhere
    (the worker runs them in a second process while the candidate trains)."""
    ev = eval_nlu()
    frozen = ev.load_frozen(frozen_path)
    suite = ev.load_suite(suite_path)
    staff = staff_items(layer)
    texts = eval_texts(layer, frozen_path, suite_path)
    a, b = len(frozen), len(frozen) + len(suite)
    timings: dict[str, float] = {}

    def split(preds: list[tuple[str, float]]) -> tuple[list[tuple[str, float]], list[tuple[str, float]],
                                                        list[tuple[str, float]]]:
        return preds[:a], preds[a:b], preds[b:]

    results: dict[str, Any] = {}
    for label, model, reasons in (("current", current, reasons_current), ("candidate", candidate, reasons_candidate)):
        if model is None:
            continue
        t = time.monotonic()
        if label == "current" and current_preds is not None:
            if len(current_preds) != len(texts):
                raise RuntimeError("as previsões do modelo atual não correspondem aos textos de avaliação")
            results[label] = (split(current_preds), reasons)
            continue
        results[label] = (split(predict_all(model, texts)), reasons)
        timings[f"predict_{label}_s"] = round(time.monotonic() - t, 2)

    gold_frozen = [g for _, g in frozen]
    evaluation: dict[str, Any] = {"frozen": {}, "suite": {}, "staff": {}}
    for label, ((fz, st, _), reasons) in results.items():
        evaluation["frozen"][label] = frozen_summary(gold_frozen, fz, reasons)
        evaluation["suite"][label] = suite_summary(suite, st, reasons)
    if "current" in results:
        cur, cand = evaluation["frozen"]["current"], evaluation["frozen"]["candidate"]
        evaluation["frozen"]["delta_f1"] = {r: round(cand["per_reason"][r]["f1"] - cur["per_reason"][r]["f1"], 4)
                                            for r in BASE_REASONS if cur["per_reason"][r]["support"] > 0}
        c_reasons, d_reasons = results["current"][1], results["candidate"][1]
        evaluation["frozen"]["changed_reason_predictions"] = sum(
            c_reasons.get(x[0], "other") != d_reasons.get(y[0], "other")
            for x, y in zip(results["current"][0][0], results["candidate"][0][0], strict=True))

    # staff's own messages: current as is (it never saw them), candidate cross-validated + full model
    labels = sorted(set(BASE_REASONS) | set(reasons_candidate.values()), key=lambda r: (r not in BASE_REASONS, r))
    gold = [reasons_candidate.get(intent, "other") for _, intent in staff]
    staff_eval: dict[str, Any] = {"n": len(staff), "k": k}
    cand_full = results["candidate"][0][2]
    cv = [cv_preds.get(item, ("nlu_fallback", 0.0)) for item in staff]
    sides = {"candidate_cv": (cv, reasons_candidate)}
    if "current" in results:
        sides = {"current": (results["current"][0][2], reasons_current), **sides}
    for label, (preds, reasons) in sides.items():
        pairs = [(g, reasons.get(p, "other")) for g, (p, _) in zip(gold, preds, strict=True)]
        table = per_label(pairs, labels)
        table = {r: v for r, v in table.items() if v["support"] or v["predicted"]}
        staff_eval[label] = {
            "reason_accuracy": round(sum(g == p for g, p in pairs) / len(pairs), 4) if pairs else None,
            "intent_accuracy": round(sum(i == p for (_, i), (p, _) in zip(staff, preds, strict=True)) / len(staff), 4)
            if staff else None,
            "per_reason": table}
    changes = []
    cur_preds = results["current"][0][2] if "current" in results else [(None, 0.0)] * len(staff)
    for (text, intent), (c, cc), (d, dc), (v, vc) in zip(staff, cur_preds, cand_full, cv, strict=True):
        if c != d:
            changes.append({"text": text, "intent": intent, "current": c, "current_confidence": round(cc, 3),
                            "candidate": d, "candidate_confidence": round(dc, 3), "candidate_cv": v,
                            "candidate_cv_confidence": round(vc, 3)})
    staff_eval["changes"] = changes
    evaluation["staff"] = staff_eval
    return evaluation, timings


def _br(x: float, digits: int) -> str:
    """A decimal as clinic staff read it (pt-BR: comma)."""
    return f"{x:.{digits}f}".replace(".", ",")


def gate(evaluation: dict[str, Any]) -> dict[str, Any]:
    """Urgent recall stays 1.00 on the suite; no reason loses more than 0.02 F1 on the frozen set."""
    reasons: list[str] = []
    suite = evaluation["suite"].get("candidate")
    if suite is None:
        reasons.append("o modelo candidato não foi avaliado")
    elif suite["urgent_recall"] < REQUIRED_SUITE_RECALL:
        reasons.append(f"o candidato deixou de reconhecer {len(suite['missed_emergencies'])} emergência(s) do "
                       f"conjunto de segurança (sensibilidade para urgência {_br(suite['urgent_recall'], 2)}; "
                       "precisa ser 1,00)")
    frozen = evaluation["frozen"]
    if "current" not in frozen:
        reasons.append("não há modelo atual para comparar; a comparação por motivo não pôde ser feita")
    else:
        for r, delta in frozen.get("delta_f1", {}).items():
            if delta < -MAX_F1_LOSS - 1e-9:
                cur = frozen["current"]["per_reason"][r]["f1"]
                cand = frozen["candidate"]["per_reason"][r]["f1"]
                reasons.append(f"o motivo '{r}' piorou no conjunto de avaliação: F1 {_br(cur, 3)} → {_br(cand, 3)} "
                               f"(perda de {_br(-delta, 3)}; o máximo permitido é {_br(MAX_F1_LOSS, 2)})")
    return {"passed": not reasons, "reasons": reasons}
