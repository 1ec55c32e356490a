"""NLU evaluation by REASON (run in the bot env: `make eval-nlu`).

Intents are collapsed to reasons with bot/reasons.yml (the one intent -> reason map), and the
whole NLU pipeline is evaluated, including FallbackClassifier and the deterministic red-flag
override (clinic_nlu.components.RedFlagOverride): what counts is the reason the bot finally gives.

(a) k-fold cross-validation on the training data (bot/data/nlu), stratified by intent: each fold
    trains a model with bot/config.yml on the other folds and predicts the held-back examples.
(b) the held-out set bot/eval/heldout.yml (never trained on) against a model trained on ALL the
    training data (or an existing model with `--heldout-only --model <path>`).

Prints a per-reason precision/recall/F1 table for each, macro-F1 and urgent recall/precision, and
exits 1 when a target is missed: macro-F1 >= 0.93, urgent recall = 100%, urgent precision >= 0.90.

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


# --- metrics ---------------------------------------------------------------------------------------


def reason_map(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    bad = {k: v for k, v in data.items() if v not in REASONS}
    if bad:
        raise SystemExit(f"{path}: unknown reasons {bad}")
    return {str(k): str(v) for k, v in data.items()}


def per_reason(pairs: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """pairs = (gold reason, predicted reason) -> {reason: {precision, recall, f1, support}}."""
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
    for r in REASONS:
        p = tp[r] / (tp[r] + fp[r]) if tp[r] + fp[r] else (1.0 if support[r] == 0 else 0.0)
        rec = tp[r] / (tp[r] + fn[r]) if tp[r] + fn[r] else 1.0
        f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
        out[r] = {"precision": p, "recall": rec, "f1": f1, "support": float(support[r]),
                  "predicted": float(tp[r] + fp[r])}
    return out


def macro_f1(table: dict[str, dict[str, float]]) -> float:
    rows = [v for v in table.values() if v["support"] > 0]
    return sum(v["f1"] for v in rows) / len(rows) if rows else 0.0


def print_table(title: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
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
    ok = (mf1 >= TARGET_MACRO_F1 and urgent["recall"] >= TARGET_URGENT_RECALL
          and urgent["precision"] >= TARGET_URGENT_PRECISION)
    print(f"  targets (macro-F1 >= {TARGET_MACRO_F1}, urgent recall = 100%, urgent precision >= "
          f"{TARGET_URGENT_PRECISION}): {'MET' if ok else 'MISSED'}")
    return {"macro_f1": mf1, "urgent_recall": urgent["recall"], "urgent_precision": urgent["precision"],
            "ok": ok, "accuracy": acc}


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=BOT / "config.yml")
    ap.add_argument("--domain", type=Path, default=BOT / "domain")
    ap.add_argument("--nlu", type=Path, default=BOT / "data" / "nlu")
    ap.add_argument("--heldout", type=Path, default=BOT / "eval" / "heldout.yml")
    ap.add_argument("--reasons", type=Path, default=BOT / "reasons.yml")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cv-epochs", type=int, default=None,
                    help="DIET epochs for the CV folds only (default: as in the config)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None, help="where models are written (default: a temp dir)")
    ap.add_argument("--model", type=Path, default=None, help="existing model for the held-out evaluation")
    ap.add_argument("--heldout-only", action="store_true", help="skip CV; needs --model or trains one")
    ap.add_argument("--cv-only", action="store_true", help="skip the held-out evaluation")
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

    print(f"\ntotal elapsed: {time.monotonic() - t0:.0f}s")
    failed = [name for name, r in results.items() if not r["ok"]]
    if failed:
        print(f"TARGETS MISSED: {', '.join(failed)}")
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
