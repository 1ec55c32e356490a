"""NLU evaluation by REASON (run in the bot env: `make eval-nlu`).

Intents are collapsed to reasons with bot/reasons.yml (the one intent -> reason map), and the
whole NLU pipeline is evaluated, including FallbackClassifier and the deterministic red-flag
override (clinic_nlu.components.RedFlagOverride): what counts is the reason the bot finally gives.

(a) k-fold cross-validation on the training data (bot/data/nlu), stratified by intent: each fold
    trains a model with bot/config.yml on the other folds and predicts the held-back examples.
(b) the held-out set bot/eval/heldout.yml (never trained on, but scored while the data was being
    improved) against a model trained on ALL the training data (or an existing model with
    `--heldout-only --model <path>`).
(c) the FROZEN set bot/eval/frozen.yml: 502 messages written on 2026-12-04 by a 10-style checklist,
    by someone who never saw bot/data, and committed before the change it first measured. It is the
    headline figure. Only its aggregates are printed, never its misclassified messages: reading
    them would turn it into a development set.
(c2) the second FROZEN set bot/eval/frozen_v2.yml: 420 messages (60 per reason) written on 2026-12-06
    by a persona x situation checklist, before the NLU change it first measured. Aggregates only,
    like (c); no target yet (it is reported beside frozen.yml).
(c3) the third FROZEN set bot/eval/frozen_v3.yml: 490 messages (70 per reason) written on 2026-12-07
    by a region/dialect x literacy x channel checklist, before the change it first measured.
    Aggregates only; no target yet.
(c5) the fifth FROZEN set bot/eval/frozen_v5.yml: 490 messages (70 per reason) written on 2026-12-07
    by a channel-shape x contrast-pairs checklist, committed before it was first scored.
    Aggregates only; no target yet.
(c6) the sixth FROZEN set bot/eval/frozen_v6.yml: 490 messages (70 per reason) written on 2026-12-07
    by an understatement/overstatement x time-anchoring checklist, committed before the change it
    measured. Aggregates only; no target yet.
(c7) the seventh FROZEN set bot/eval/frozen_v7.yml: 490 messages (70 per reason) written on 2026-12-07
    by a distractor-vocabulary x length checklist, committed before the change it measured.
    Aggregates only; no target yet.
(c8) the eighth FROZEN set bot/eval/frozen_v8.yml: 490 messages (70 per reason) written on 2026-12-07
    by a real-life context x discourse structure checklist, committed before the change it measured.
    Aggregates only; no target yet.
    (The fourth, bot/eval/frozen_v4.yml, was scored once unseen and then its errors were READ to
    find failure modes: it is now the development set (e3) below.)
(d) the red-flag suite bot/eval/red_flag_suite.yml: emergencies in varied lay wordings (all must be
    urgent) and non-urgent look-alikes (idioms, negations, resolved symptoms, routine pregnancy...).
    It is a safety gate and its misses ARE printed: a missed emergency must be seen to be fixed.

(e) the development sets bot/eval/dev.yml, dev_v2.yml, (e3) frozen_v4.yml, (e4) dev_v4.yml and (e5) dev_v5.yml
    (READ; dev_v5: distractor vocabulary x length x position of the request): their errors are
    printed, to find failure modes; fix them with new, different training examples, never copies.
    Not a target.
(f) the red-flag development set bot/eval/red_flag_dev.yml (240 emergencies across 24 MTS/SAMU
    discriminators, 120 look-alikes; written to be READ): misses printed, no target.
(f2) the second red-flag development set bot/eval/red_flag_dev_v2.yml (300 emergencies over 25
    discriminators: plain, minimised, buried in another request, ongoing since; 200 look-alikes by
    kind; written to be READ): misses printed, no target.

`--dev-only` scores only (b), (d), (e), (e3), (e4), (f) and (f2): while tuning, no frozen set is scored.

Prints a per-reason precision/recall/F1 table for each and a side-by-side summary, and exits 1
when a target is missed: frozen-set macro-F1 >= 0.93 with urgent precision >= 0.95, red-flag suite
urgent recall = 100% with precision >= 0.95; cross-validation and held-out keep their older
targets (macro-F1 >= 0.93, urgent recall = 100%, urgent precision >= 0.90).

Usage:
  PYTHONPATH=bot .venv-bot/bin/python scripts/eval_nlu.py                 # CV + held-out
  PYTHONPATH=bot .venv-bot/bin/python scripts/eval_nlu.py --folds 3 --cv-epochs 40
  PYTHONPATH=bot .venv-bot/bin/python scripts/eval_nlu.py --heldout-only --model models/x.tar.gz
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
if str(BOT) not in sys.path:
    sys.path.insert(0, str(BOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Rasa imports bot/clinic_nlu through the config; subprocesses (none here) would need it too.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(BOT), os.environ.get("PYTHONPATH", "")) if p)
warnings.filterwarnings("ignore")

import yaml  # noqa: E402

REASONS = ("booking", "confirmation", "exams", "billing", "urgent", "human", "other")
TARGET_MACRO_F1 = 0.93
TARGET_URGENT_RECALL = 1.0
TARGET_URGENT_PRECISION = 0.90
# frozen set and red-flag suite (issue: "no missed emergency on unseen text")
TARGET_FROZEN_MACRO_F1 = 0.93
TARGET_SUITE_URGENT_RECALL = 1.0
TARGET_SAFETY_URGENT_PRECISION = 0.95


# --- metrics ---------------------------------------------------------------------------------------


def reason_map(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    bad = {k: v for k, v in data.items() if v not in REASONS}
    if bad:
        raise SystemExit(f"{path}: unknown reasons {bad}")
    return {str(k): str(v) for k, v in data.items()}


def per_reason(pairs: list[tuple[str, str]], labels: Iterable[str] = REASONS) -> dict[str, dict[str, float]]:
    """pairs = (gold reason, predicted reason) -> {reason: {precision, recall, f1, support}} for
    every label of `labels` (the seven reasons, or a staff layer's larger set)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    support: Counter[str] = Counter()
    for gold, pred in pairs:
        support[gold] += 1
        if gold == pred:
            tp[gold] += 1
        else:
            fp[pred] += 1
            fn[gold] += 1
    out: dict[str, dict[str, float]] = {}
    for r in labels:
        p = tp[r] / (tp[r] + fp[r]) if tp[r] + fp[r] else (1.0 if support[r] == 0 else 0.0)
        rec = tp[r] / (tp[r] + fn[r]) if tp[r] + fn[r] else 1.0
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        out[r] = {"precision": p, "recall": rec, "f1": f1, "support": float(support[r]),
                  "predicted": float(tp[r] + fp[r])}
    return out


def macro_f1(table: dict[str, dict[str, float]]) -> float:
    rows = [v for v in table.values() if v["support"] > 0]
    return sum(v["f1"] for v in rows) / len(rows) if rows else 0.0


def print_table(title: str, pairs: list[tuple[str, str]], min_f1: float | None = TARGET_MACRO_F1,
                min_recall: float | None = TARGET_URGENT_RECALL,
                min_precision: float = TARGET_URGENT_PRECISION) -> dict[str, Any]:
    """Per-reason table of (gold, predicted) pairs; `ok` = the given targets are met (None: not judged)."""
    table = per_reason(pairs)
    acc = sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0
    print(f"\n{title}  (n={len(pairs)}, reason accuracy={acc:.3f})")
    print(f"  {'reason':<13}{'precision':>10}{'recall':>9}{'f1':>8}{'support':>9}{'predicted':>11}")
    for r in REASONS:
        v = table[r]
        print(f"  {r:<13}{v['precision']:>10.3f}{v['recall']:>9.3f}{v['f1']:>8.3f}"
              f"{int(v['support']):>9}{int(v['predicted']):>11}")
    mf1 = macro_f1(table)
    urgent = table["urgent"]
    print(f"  macro-F1 = {mf1:.4f}   urgent recall = {urgent['recall']:.4f}   "
          f"urgent precision = {urgent['precision']:.4f}")
    ok = ((min_f1 is None or mf1 >= min_f1) and (min_recall is None or urgent["recall"] >= min_recall)
          and urgent["precision"] >= min_precision)
    wanted = [f"macro-F1 >= {min_f1}" if min_f1 is not None else "",
              f"urgent recall >= {min_recall}" if min_recall is not None else "",
              f"urgent precision >= {min_precision}"]
    print(f"  targets ({', '.join(w for w in wanted if w)}): {'MET' if ok else 'MISSED'}")
    return {"macro_f1": mf1, "urgent_recall": urgent["recall"], "urgent_precision": urgent["precision"],
            "ok": ok, "accuracy": acc, "table": table}


def print_confusions(title: str, rows: list[tuple[str, str, str, str, float]], limit: int) -> None:
    """rows = (text, gold intent, predicted intent, ...). Only reason-level errors are listed."""
    errors = [r for r in rows if r[1] != r[2]]
    if not errors or limit <= 0:
        return
    print(f"\n  {title}: {len(errors)} reason errors" + (f" (first {limit})" if len(errors) > limit else ""))
    for text, gold, pred, intent, conf in errors[:limit]:
        print(f"    [{gold} -> {pred}] ({intent} {conf:.2f}) {text}")


# --- rasa helpers ------------------------------------------------------------------------------------


def quiet_rasa() -> None:
    logging.disable(logging.WARNING)
    # rasa 3.6 logs every parse through structlog at debug level
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)
    for name in ("rasa", "tensorflow", "absl", "matplotlib", "sanic", "apscheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def load_frozen(path: Path, key: str = "frozen_set") -> list[tuple[str, str]]:
    """(text, reason) pairs of bot/eval/frozen.yml or dev.yml (labelled by reason, not intent)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))[key]
    bad = set(data) - set(REASONS)
    if bad:
        raise SystemExit(f"{path}: unknown reasons {sorted(bad)}")
    return [(str(text), reason) for reason, texts in data.items() for text in texts]


def load_suite(path: Path) -> list[tuple[str, str, str]]:
    """(text, reason, concept-or-kind) of bot/eval/red_flag_suite.yml: emergencies are `urgent`."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["red_flag_suite"]
    rows = [(str(e["text"]), "urgent", str(e["concept"])) for e in data["emergencies"]]
    for item in data["lookalikes"]:
        if item["reason"] not in REASONS or item["reason"] == "urgent":
            raise SystemExit(f"{path}: look-alike with reason {item['reason']!r}")
        rows.append((str(item["text"]), str(item["reason"]), str(item["kind"])))
    return rows


def load_red_flag_dev(path: Path) -> list[tuple[str, str, str]]:
    """(text, "urgent" or "not urgent", concept-or-"lookalike") of bot/eval/red_flag_dev.yml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = [(str(t), "urgent", str(concept)) for concept, texts in data["emergencies"].items() for t in texts]
    lookalikes = data["lookalikes"]
    if isinstance(lookalikes, dict):  # red_flag_dev_v2.yml: look-alikes by kind
        rows += [(str(t), "not urgent", f"lookalike:{kind}") for kind, texts in lookalikes.items() for t in texts]
    else:
        rows += [(str(t), "not urgent", "lookalike") for t in lookalikes]
    return rows


def evaluate_red_flag_dev(model: Path, rows: list[tuple[str, str, str]], reasons: dict[str, str],
                          title: str) -> dict[str, Any]:
    """(f): urgent or not on the red-flag development set; its misses are printed (it is read)."""
    preds = predict(model, [t for t, _, _ in rows])
    urgent = [reasons.get(intent, "other") == "urgent" for intent, _ in preds]
    emergencies = sum(gold == "urgent" for _, gold, _ in rows)
    tp = sum(u and gold == "urgent" for u, (_, gold, _) in zip(urgent, rows, strict=True))
    fp = sum(u and gold != "urgent" for u, (_, gold, _) in zip(urgent, rows, strict=True))
    recall = tp / emergencies if emergencies else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    print(f"\n{title} (read while tuning; no target): "
          f"{emergencies} emergencies, {len(rows) - emergencies} look-alikes")
    print(f"  urgent recall = {recall:.4f} ({tp}/{emergencies})   "
          f"urgent precision = {precision:.4f} ({fp} false alarms)")
    for (text, gold, kind), u, (intent, conf) in zip(rows, urgent, preds, strict=True):
        if u != (gold == "urgent"):
            label = "MISSED EMERGENCY" if gold == "urgent" else "FALSE ALARM"
            print(f"    {label} [{kind}] ({intent} {conf:.2f}) {text}")
    return {"urgent_recall": recall, "urgent_precision": precision, "ok": True, "macro_f1": float("nan")}


def load_examples(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    td = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in td.intent_examples]


def stratified_folds(td: Any, k: int, seed: int) -> list[tuple[Any, list[Any]]]:
    """[(train TrainingData, test messages)] with every intent spread evenly over the folds."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    by_intent: dict[str, list[Any]] = defaultdict(list)
    for m in td.intent_examples:
        by_intent[m.get("intent")].append(m)
    rng = random.Random(seed)
    buckets: list[list[Any]] = [[] for _ in range(k)]
    offset = 0
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        for i, m in enumerate(items):
            buckets[(i + offset) % k].append(m)
        offset += len(items)
    folds = []
    for i in range(k):
        train = [m for j, b in enumerate(buckets) if j != i for m in b]
        train_td = TrainingData(
            training_examples=train,
            entity_synonyms=td.entity_synonyms,
            regex_features=td.regex_features,
            lookup_tables=td.lookup_tables,
        )
        folds.append((train_td, buckets[i]))
    return folds


def write_training_data(td: Any, path: Path) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    path.write_text(RasaYAMLWriter().dumps(td), encoding="utf-8")


def config_with_epochs(config: Path, epochs: int | None, out_dir: Path) -> Path:
    if not epochs:
        return config
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for comp in data.get("pipeline", []):
        if comp.get("name") == "DIETClassifier":
            comp["epochs"] = epochs
    path = out_dir / "config-cv.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def train(config: Path, domain: Path, nlu: Path, out_dir: Path, name: str) -> tuple[Path, float]:
    from rasa.model_training import train_nlu

    start = time.monotonic()
    model = train_nlu(str(config), str(nlu), str(out_dir), domain=str(domain), fixed_model_name=name)
    if not model:
        raise SystemExit(f"training {name} failed")
    return Path(model), time.monotonic() - start


def predict(model: Path, texts: Iterable[str]) -> list[tuple[str, float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run(items: list[str]) -> list[tuple[str, float]]:
        out = []
        for text in items:
            parsed = await agent.parse_message(text)
            intent = parsed.get("intent") or {}
            out.append((intent.get("name") or "nlu_fallback", float(intent.get("confidence") or 0.0)))
        return out

    return asyncio.run(run(list(texts)))


# --- main --------------------------------------------------------------------------------------------


def evaluate(title: str, examples: list[tuple[str, str]], preds: list[tuple[str, float]],
             reasons: dict[str, str], show_errors: int) -> dict[str, Any]:
    rows = []
    for (text, gold_intent), (pred_intent, conf) in zip(examples, preds, strict=True):
        gold = reasons.get(gold_intent)
        if gold is None:
            raise SystemExit(f"intent {gold_intent!r} has no reason in bot/reasons.yml")
        pred = reasons.get(pred_intent, "other")
        rows.append((text, gold, pred, pred_intent, conf))
    result = print_table(title, [(r[1], r[2]) for r in rows])
    hits = sum(g == p for (_, g), (p, _) in zip(examples, preds, strict=True))
    intent_acc = hits / len(examples) if examples else 0.0
    print(f"  intent accuracy = {intent_acc:.3f}")
    print_confusions(title, rows, show_errors)
    return result


def evaluate_frozen(model: Path, examples: list[tuple[str, str]], reasons: dict[str, str],
                    title: str = "(c) FROZEN set bot/eval/frozen.yml by reason (headline; errors not shown)",
                    judged: bool = True) -> dict[str, Any]:
    """(c) and (c2): aggregates only, never the misclassified texts (see the module docstring).

    `judged=False` (frozen_v2 for now): the table is printed but no target is applied."""
    preds = predict(model, [t for t, _ in examples])
    pairs = [(gold, reasons.get(intent, "other")) for (_, gold), (intent, _) in zip(examples, preds, strict=True)]
    if judged:
        result = print_table(title, pairs, min_f1=TARGET_FROZEN_MACRO_F1, min_recall=None,
                             min_precision=TARGET_SAFETY_URGENT_PRECISION)
    else:
        result = {**print_table(title, pairs, min_f1=None, min_recall=None, min_precision=0.0), "ok": True}
    worst = min(result["table"].items(), key=lambda kv: kv[1]["f1"])
    print(f"  lowest reason F1: {worst[0]} {worst[1]['f1']:.3f}")
    return result


def evaluate_suite(model: Path, rows: list[tuple[str, str, str]], reasons: dict[str, str]) -> dict[str, Any]:
    """(d): urgent recall on the emergencies, urgent precision against the look-alikes."""
    preds = predict(model, [t for t, _, _ in rows])
    pairs = [(gold, reasons.get(intent, "other")) for (_, gold, _), (intent, _) in zip(rows, preds, strict=True)]
    emergencies = sum(gold == "urgent" for gold, _ in pairs)
    print(f"\n(d) red-flag suite bot/eval/red_flag_suite.yml: {emergencies} emergencies, "
          f"{len(pairs) - emergencies} look-alikes")
    tp = sum(g == "urgent" and p == "urgent" for g, p in pairs)
    fp = sum(g != "urgent" and p == "urgent" for g, p in pairs)
    recall = tp / emergencies if emergencies else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    ok = recall >= TARGET_SUITE_URGENT_RECALL and precision >= TARGET_SAFETY_URGENT_PRECISION
    print(f"  urgent recall = {recall:.4f} ({tp}/{emergencies})   urgent precision = {precision:.4f} "
          f"({fp} false alarms)   targets (recall = 100%, precision >= {TARGET_SAFETY_URGENT_PRECISION}): "
          f"{'MET' if ok else 'MISSED'}")
    for (text, _, kind), (g, p), (intent, conf) in zip(rows, pairs, preds, strict=True):
        if (g == "urgent") != (p == "urgent"):
            label = "MISSED EMERGENCY" if g == "urgent" else "FALSE ALARM"
            print(f"    {label} [{kind}] ({intent} {conf:.2f}) {text}")
    return {"urgent_recall": recall, "urgent_precision": precision, "ok": ok, "macro_f1": float("nan")}


def evaluate_dev(model: Path, examples: list[tuple[str, str]], reasons: dict[str, str],
                 show_errors: int, title: str) -> dict[str, Any]:
    """(e): a development set, errors shown; never a target."""
    preds = predict(model, [t for t, _ in examples])
    rows = [(text, gold, reasons.get(intent, "other"), intent, conf)
            for (text, gold), (intent, conf) in zip(examples, preds, strict=True)]
    result = print_table(f"{title} (read while tuning; no target)",
                         [(r[1], r[2]) for r in rows], min_f1=None, min_recall=None, min_precision=0.0)
    print_confusions(title, rows, show_errors)
    return {**result, "ok": True}


def print_summary(results: dict[str, dict[str, Any]]) -> None:
    """One line per evaluation, side by side."""
    print(f"\n{'evaluation':<28}{'macro-F1':>10}{'urgent recall':>15}{'urgent precision':>18}{'targets':>9}")
    names = {"cv": "cross-validation", "heldout": "held-out (seen while tuning)", "frozen": "FROZEN set (headline)",
             "frozen_v2": "FROZEN v2 (no target yet)", "frozen_v3": "FROZEN v3 (no target yet)",
             "frozen_v5": "FROZEN v5 (no target yet)", "frozen_v6": "FROZEN v6 (no target yet)",
             "frozen_v7": "FROZEN v7 (no target yet)", "frozen_v8": "FROZEN v8 (no target yet)",
             "dev_v3": "dev v3 = frozen_v4 (read)", "dev_v2": "dev set v2 (read)", "dev_v4": "dev set v4 (read)",
             "dev_v5": "dev set v5 (read)",
             "red_flag_dev": "red-flag dev set (read)", "red_flag_dev_v2": "red-flag dev set v2 (read)",
             "suite": "red-flag suite", "dev": "dev set (read; no target)"}
    for key, result in results.items():
        mf1 = result["macro_f1"]
        shown = "-" if mf1 != mf1 else f"{mf1:.3f}"  # NaN: the suite has no macro-F1
        print(f"{names.get(key, key):<28}{shown:>10}{result['urgent_recall']:>15.3f}{result['urgent_precision']:>18.3f}"
              f"{'MET' if result['ok'] else 'MISSED':>9}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=BOT / "config.yml")
    ap.add_argument("--domain", type=Path, default=BOT / "domain")
    ap.add_argument("--nlu", type=Path, default=BOT / "data" / "nlu")
    ap.add_argument("--heldout", type=Path, default=BOT / "eval" / "heldout.yml")
    ap.add_argument("--frozen", type=Path, default=BOT / "eval" / "frozen.yml")
    ap.add_argument("--frozen-v2", type=Path, default=BOT / "eval" / "frozen_v2.yml")
    ap.add_argument("--frozen-v3", type=Path, default=BOT / "eval" / "frozen_v3.yml")
    ap.add_argument("--frozen-v5", type=Path, default=BOT / "eval" / "frozen_v5.yml")
    ap.add_argument("--frozen-v6", type=Path, default=BOT / "eval" / "frozen_v6.yml")
    ap.add_argument("--frozen-v7", type=Path, default=BOT / "eval" / "frozen_v7.yml")
    ap.add_argument("--frozen-v8", type=Path, default=BOT / "eval" / "frozen_v8.yml")
    ap.add_argument("--suite", type=Path, default=BOT / "eval" / "red_flag_suite.yml")
    ap.add_argument("--dev", type=Path, default=BOT / "eval" / "dev.yml")
    ap.add_argument("--dev-v2", type=Path, default=BOT / "eval" / "dev_v2.yml")
    # the fourth frozen set, demoted to a development set once its errors were read (2026-12-07)
    ap.add_argument("--dev-v3", type=Path, default=BOT / "eval" / "frozen_v4.yml")
    ap.add_argument("--dev-v4", type=Path, default=BOT / "eval" / "dev_v4.yml")
    ap.add_argument("--dev-v5", type=Path, default=BOT / "eval" / "dev_v5.yml")
    ap.add_argument("--red-flag-dev", type=Path, default=BOT / "eval" / "red_flag_dev.yml")
    ap.add_argument("--red-flag-dev-v2", type=Path, default=BOT / "eval" / "red_flag_dev_v2.yml")
    ap.add_argument("--reasons", type=Path, default=BOT / "reasons.yml")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cv-epochs", type=int, default=None,
                    help="DIET epochs for the CV folds only (default: as in the config)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None, help="where models are written (default: a temp dir)")
    ap.add_argument("--model", type=Path, default=None, help="existing model for the held-out evaluation")
    ap.add_argument("--heldout-only", action="store_true", help="skip CV; needs --model or trains one")
    ap.add_argument("--cv-only", action="store_true", help="skip the held-out evaluation")
    ap.add_argument("--dev-only", action="store_true",
                    help="development sets only (held-out, dev, dev v2, red-flag suite and red-flag dev set): "
                         "no frozen set is scored, so tuning never reads one")
    ap.add_argument("--show-errors", type=int, default=40, help="list up to N misclassified messages")
    args = ap.parse_args(argv)

    quiet_rasa()
    reasons = reason_map(args.reasons)
    tmp = tempfile.TemporaryDirectory(prefix="atende-eval-")
    out_dir = args.out or Path(tmp.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()

    if not args.heldout_only:
        from rasa.shared.nlu.training_data.loading import load_data

        td = load_data(str(args.nlu))
        cfg = config_with_epochs(args.config, args.cv_epochs, out_dir)
        folds = stratified_folds(td, args.folds, args.seed)
        print(f"cross-validation: {args.folds} folds over {len(td.intent_examples)} examples, "
              f"{len(td.intents)} intents" + (f", DIET epochs {args.cv_epochs}" if args.cv_epochs else ""),
              flush=True)
        examples: list[tuple[str, str]] = []
        preds: list[tuple[str, float]] = []
        for i, (train_td, test) in enumerate(folds, 1):
            fold_dir = out_dir / f"fold{i}"
            fold_dir.mkdir(exist_ok=True)
            write_training_data(train_td, fold_dir / "nlu.yml")
            model, secs = train(cfg, args.domain, fold_dir / "nlu.yml", fold_dir, f"fold{i}")
            fold_examples = [(m.get("text"), m.get("intent")) for m in test]
            examples += fold_examples
            preds += predict(model, [t for t, _ in fold_examples])
            model.unlink(missing_ok=True)
            print(f"  fold {i}/{args.folds}: trained in {secs:.0f}s, {len(test)} test examples "
                  f"(elapsed {time.monotonic() - t0:.0f}s)", flush=True)
        results["cv"] = evaluate(f"(a) {args.folds}-fold cross-validation by reason", examples, preds,
                                 reasons, args.show_errors)
        print(f"  cross-validation elapsed: {time.monotonic() - t0:.0f}s", flush=True)

    if not args.cv_only:
        heldout = load_examples(args.heldout)
        model = args.model
        if model is None:
            t1 = time.monotonic()
            model, secs = train(args.config, args.domain, args.nlu, out_dir, "full")
            size = model.stat().st_size / 1e6
            print(f"\nfull model: trained in {secs:.0f}s, {size:.1f} MB ({model})", flush=True)
            t1 = time.monotonic() - t1
        elif not model.exists():
            raise SystemExit(f"model not found: {model}")
        t2 = time.monotonic()
        preds = predict(model, [t for t, _ in heldout])
        shown = args.heldout.relative_to(ROOT) if args.heldout.is_relative_to(ROOT) else args.heldout
        results["heldout"] = evaluate(f"(b) held-out set {shown} by reason", heldout, preds, reasons,
                                      args.show_errors)
        print(f"  held-out prediction elapsed: {time.monotonic() - t2:.1f}s")
        if not args.dev_only:
            results["frozen"] = evaluate_frozen(model, load_frozen(args.frozen), reasons)
        for key, mark, path in (("frozen_v2", "c2", args.frozen_v2), ("frozen_v3", "c3", args.frozen_v3),
                                ("frozen_v5", "c5", args.frozen_v5), ("frozen_v6", "c6", args.frozen_v6),
                                ("frozen_v7", "c7", args.frozen_v7), ("frozen_v8", "c8", args.frozen_v8)):
            if path.exists() and not args.dev_only:
                results[key] = evaluate_frozen(
                    model, load_frozen(path), reasons,
                    title=f"({mark}) FROZEN set {key[-2:]} bot/eval/{path.name} by reason "
                          "(no target yet; errors not shown)",
                    judged=False)
        results["suite"] = evaluate_suite(model, load_suite(args.suite), reasons)
        # the readable sets, errors printed: (e) development sets, (f) red-flag development sets
        for key, mark, label, path, yaml_key in (
            ("dev", "e", "", args.dev, "dev_set"), ("dev_v2", "e2", "v2 ", args.dev_v2, "dev_v2"),
            ("dev_v3", "e3", "v3 ", args.dev_v3, "frozen_set"), ("dev_v4", "e4", "v4 ", args.dev_v4, "dev_v4"),
            ("dev_v5", "e5", "v5 ", args.dev_v5, "dev_v5"),
        ):
            if path.exists():
                results[key] = evaluate_dev(model, load_frozen(path, key=yaml_key), reasons, args.show_errors,
                                            title=f"({mark}) development set {label}bot/eval/{path.name}")
        for key, mark, label, path in (("red_flag_dev", "f", "", args.red_flag_dev),
                                       ("red_flag_dev_v2", "f2", "v2 ", args.red_flag_dev_v2)):
            if path.exists():
                title = f"({mark}) red-flag development set {label}bot/eval/{path.name}"
                results[key] = evaluate_red_flag_dev(model, load_red_flag_dev(path), reasons, title=title)
        print_summary(results)

    print(f"\ntotal elapsed: {time.monotonic() - t0:.0f}s")
    failed = [name for name, r in results.items() if not r["ok"]]
    if failed:
        print(f"TARGETS MISSED: {', '.join(failed)}")
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
