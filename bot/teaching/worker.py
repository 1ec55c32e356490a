"""Training worker (bot env; a separate process, never inside the hub's event loop).

    PYTHONPATH=bot .venv-bot/bin/python -m teaching.worker --layer layer.json --out DIR \
        [--current-model models/x.tar.gz] [--work DIR] [--keep-work]

validate -> merge (temporary project) -> `rasa train` (NLU + core) into DIR -> evaluate candidate and
current side by side -> gate -> DIR/report.json. stdout carries ONLY progress, one JSON object per
line: {"stage": "validating|merging|training|evaluating|done", "pct": n, ...}; everything Rasa and
TensorFlow print goes to stderr. Exit 0 when the report says "ready" (the gate may still fail:
`gate.passed`), 1 when "failed" (invalid layer or a training error; `gate.reasons` says why).

--current-model defaults to the newest models/*.tar.gz. Its reason map is DIR/../reasons.yml of the
run that built it when present (a model from an earlier staff layer), else bot/reasons.yml.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

from teaching.layer import ROOT, LayerError, layer_to_dict, load_layer, read_reasons


class Progress:
    """JSON lines on the ORIGINAL stdout; fd 1 itself is pointed at stderr so nothing else lands there."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def __call__(self, stage: str, pct: int, **extra: Any) -> None:
        self._out.write(json.dumps({"stage": stage, "pct": int(pct), **extra}, ensure_ascii=False) + "\n")
        self._out.flush()


def newest_model(folder: Path = ROOT / "models") -> Path | None:
    models = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def current_reasons(model: Path | None) -> dict[str, str]:
    if model is not None:
        sidecar = model.parent / "reasons.yml"
        if sidecar.exists():
            return read_reasons(sidecar)
    return read_reasons()


def train_candidate(project: Path, out: Path, name: str) -> Path:
    from rasa.model_training import train

    result = train(domain=str(project / "domain"), config=str(project / "config.yml"),
                   training_files=[str(project / "data")], output=str(out), fixed_model_name=name,
                   force_training=True)
    if result.code != 0 or not result.model:
        raise RuntimeError(f"o treino do Rasa falhou (código {result.code})")
    return Path(result.model)


def _predict_timed(model: Path, texts: list[str]) -> tuple[list[tuple[str, float]], float]:
    """In the second process: quiet Rasa, predict, report the time it took."""
    t = time.monotonic()
    quiet()
    from teaching.evaluate import predict_all

    preds = predict_all(model, texts)
    return preds, round(time.monotonic() - t, 2)


def run(layer_path: Path, out: Path, current: Path | None, work: Path | None = None, keep_work: bool = False,
        progress: Any = None, eval_paths: tuple[Path, Path] | None = None, parallel: bool = False) -> dict[str, Any]:
    """`eval_paths` = (frozen set, red-flag suite); default bot/eval."""
    progress = progress or (lambda *a, **k: None)
    from teaching.evaluate import FROZEN, SUITE

    eval_paths = eval_paths or (FROZEN, SUITE)
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"status": "failed", "model": None, "evaluation": {}, "validation": {},
                              "gate": {"passed": False, "reasons": []}, "timings": timings}

    def finish() -> dict[str, Any]:
        timings["total_s"] = round(time.monotonic() - t0, 2)
        (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        progress("done", 100, status=report["status"], passed=report["gate"]["passed"])
        return report

    tmp = Path(work) if work else Path(tempfile.mkdtemp(prefix="atende-teach-"))
    pool = None
    try:
        progress("validating", 1)
        t = time.monotonic()
        try:
            layer = load_layer(layer_path)
        except (LayerError, OSError) as exc:
            report["gate"]["reasons"] = [f"camada inválida: {exc}"]
            return finish()
        from teaching.validate import validate_layer

        checked = validate_layer(layer)
        report["validation"] = checked.as_dict()
        report["layer_version"] = layer.version
        timings["validate_s"] = round(time.monotonic() - t, 2)
        if not checked.ok:
            report["gate"]["reasons"] = ["a camada tem erros e não foi treinada", *checked.errors]
            return finish()

        progress("merging", 5)
        t = time.monotonic()
        from teaching.merge import build_project

        project = build_project(layer, tmp / "project")
        reasons_candidate = read_reasons(project / "reasons.yml")
        shutil.copy2(project / "reasons.yml", out / "reasons.yml")
        (out / "layer.json").write_text(json.dumps(layer_to_dict(layer), ensure_ascii=False, indent=2),
                                        encoding="utf-8")
        timings["merge_s"] = round(time.monotonic() - t, 2)

        from teaching import evaluate

        # --parallel: the current model's predictions do not depend on the candidate, so a second
        # process can compute them on the other core while this one trains (off by default: on
        # 2 shared vCPU the two processes slowed each other down more than they saved)
        future = None
        if current is not None and parallel:
            if not current.exists():
                raise RuntimeError(f"modelo atual não encontrado: {current}")
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            future = pool.submit(_predict_timed, current, evaluate.eval_texts(layer, *eval_paths))

        progress("training", 10)
        t = time.monotonic()
        quiet()
        model = train_candidate(project, out, f"candidate-v{layer.version}")
        report["model"] = str(model)
        timings["train_s"] = round(time.monotonic() - t, 2)

        progress("evaluating", 45, step="cross-validation")
        t = time.monotonic()
        k, cv_preds = evaluate.cross_validate(
            project, layer, tmp / "cv",
            progress=lambda i, n: progress("evaluating", 45 + int(35 * i / n), step=f"cross-validation {i}/{n}"))
        timings["cross_validation_s"] = round(time.monotonic() - t, 2)
        timings["cross_validation_folds"] = k

        progress("evaluating", 80, step="current vs candidate")
        current_preds = None
        if future is not None:
            t = time.monotonic()
            current_preds, secs = future.result()
            timings["predict_current_s"] = secs
            timings["wait_current_s"] = round(time.monotonic() - t, 2)
            if pool is not None:
                pool.shutdown()
        evaluation, pt = evaluate.compare(layer, current, model, current_reasons(current), reasons_candidate,
                                          cv_preds, k, *eval_paths, current_preds=current_preds)
        timings.update(pt)
        report["evaluation"] = {"current_model": str(current) if current else None, "candidate_model": str(model),
                                **evaluation}
        report["gate"] = evaluate.gate(evaluation)
        report["status"] = "ready"
        return finish()
    except Exception as exc:  # noqa: BLE001  (a worker reports every failure in report.json)
        traceback.print_exc(file=sys.stderr)
        report["status"] = "failed"
        report["gate"] = {"passed": False, "reasons": [f"erro no treino ou na avaliação: {exc}"]}
        return finish()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if not keep_work and not work:
            shutil.rmtree(tmp, ignore_errors=True)


_QUIET = False


def quiet() -> None:
    """Rasa/TensorFlow at error level (eval_nlu.quiet_rasa), once."""
    global _QUIET
    if _QUIET:
        return
    import warnings

    warnings.filterwarnings("ignore")
    from teaching.evaluate import eval_nlu

    eval_nlu().quiet_rasa()
    _QUIET = True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--current-model", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=None, help="temporary project dir (default: a temp dir, removed)")
    ap.add_argument("--keep-work", action="store_true")
    ap.add_argument("--parallel", action="store_true",
                    help="predict with the current model in a second process while the candidate trains")
    args = ap.parse_args(argv)
    progress = Progress()
    quiet()
    current = args.current_model or newest_model()
    report = run(args.layer, args.out, current, args.work, args.keep_work, progress, parallel=args.parallel)
    return 0 if report["status"] == "ready" else 1


if __name__ == "__main__":
    sys.exit(main())
