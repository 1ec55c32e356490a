"""Staff teach the bot: one training run of today's bot/ + a generated staff layer of ~200 examples
(`bot/teaching/bench.py` → `teaching.worker`: validate, merge, train, evaluate candidate vs current,
gate), beside the baseline measured in the same run: a plain `rasa train` of bot/ alone (what
`make train` does). Issue 11's target: the staff run in <= 60 s on 2 vCPU."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.stack import BOT_ENV, BOT_PY, REPO


def _bot(args: list[str], out: Path) -> tuple[float, str]:
    t = time.monotonic()
    proc = subprocess.run([str(BOT_PY), *args], cwd=REPO, env={**os.environ, **BOT_ENV}, stdout=subprocess.PIPE,
                          stderr=(out / "stderr.log").open("ab"), text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed with code {proc.returncode}; see {out / 'stderr.log'}")
    return time.monotonic() - t, proc.stdout


def run(examples: int = 200) -> tuple[list[str], Path | None]:
    """Both runs, one after the other; the table's lines and the staff-trained model (for the deploy
    benchmark)."""
    out = Path(tempfile.mkdtemp(prefix="atende-bench-train-"))
    base_s, _ = _bot(["-m", "rasa", "train", "--config", "bot/config.yml", "--domain", "bot/domain", "--data",
                      "bot/data", "--out", str(out / "base"), "--fixed-model-name", "base", "--quiet"], out)
    staff_s, stdout = _bot(["-m", "teaching.bench", "--out", str(out / "staff"), "--examples", str(examples)], out)
    result = json.loads(stdout.strip().splitlines()[-1])
    report = json.loads((out / "staff" / "run" / "report.json").read_text(encoding="utf-8"))
    model = Path(report["model"]) if report.get("model") else None
    timings = result["timings"]
    evaluate_s = sum(timings.get(k, 0) for k in ("cross_validation_s", "predict_current_s", "predict_candidate_s"))
    return [
        f"## Staff training run (today's bot/ + {result['bench']['staff_examples']} staff examples)",
        "",
        "| run | wall s | of which: train s | evaluate s (cross-validation + current vs candidate) |",
        "|---|---:|---:|---:|",
        f"| `rasa train` of bot/ alone (baseline, what `make train` does) | {base_s:.1f} | {base_s:.1f} | — |",
        f"| staff run: validate + merge + train + evaluate + gate | {staff_s:.1f} | {timings.get('train_s', 0):.1f} "
        f"| {evaluate_s:.1f} |",
        f"| ratio staff / baseline | {staff_s / base_s:.2f}x | | |",
        "",
        f"status {result['bench']['status']}, gate passed: {result['gate']['passed']}; target <= 60 s wall.",
        "",
    ], model
