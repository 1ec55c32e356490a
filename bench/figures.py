"""The figures of `make bench` for scripts: `var/bench.json` (issue 16).

Each part of the bench records its figures as it measures them; `write()` merges them into
var/bench.json, so a partial run (`--dashboard-only`...) updates its own keys and keeps the
others. A key that was not measured in any run is absent, never a made-up number.

Keys (all from the same run as their baselines):
- turn_p50_ratio, turn_p99_ratio, turn_throughput_ratio: bot turn through the hub / Rasa direct
- ingest_pg_acked_per_s, ingest_pg_ack_p99_ms, ingest_pg_answered_per_s: 200 concurrent senders (Twilio
  webhooks and web chat sockets) on PostgreSQL + Redis, bot stubbed (answered: two hub replicas)
- ingest_pg_lost, ingest_pg_answered_twice: over every ingest run (must be 0)
- dashboard_1m_p95_ms: the 30-day dashboard on 1,000,000 messages, p95 (no period cache)
- push_p50_ms, push_p99_ms: an urgent handoff from the patient's message to each of N staff sockets
- hub_rss_mb: the hub process's peak resident memory (VmHWM) under the ingest load
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIGURES: dict[str, Any] = {}


def record(key: str, value: float | int | None) -> None:
    """Remember one figure of this run (rounded for reading)."""
    FIGURES[key] = None if value is None else round(float(value), 3)


def pct(values: list[float], p: float) -> float:
    """Percentile (nearest rank) of durations in seconds, in milliseconds: every part of the bench
    uses this one rule."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k] * 1000


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set size in MB (Linux /proc VmHWM), None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def write(path: Path | None = None) -> Path:
    """Merge this run's figures into var/bench.json (with the date of the run)."""
    out = path or REPO / "var" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        current = json.loads(out.read_text())
    except (OSError, ValueError):
        current = {}
    current.update(FIGURES)
    current["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    out.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return out


def machine_line() -> list[str]:
    """The first line of every results file."""
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return [f"machine: {platform.processor() or platform.machine()}, {subprocess.getoutput('nproc')} cores, "
            f"Python {platform.python_version()}; load average {load}; date {time.strftime('%Y-%m-%d')}", ""]


def write_results(lines: list[str], name: str) -> int:
    """Write the tables to bench/results/<name> and the figures to var/bench.json."""
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"written to {out / name} and {write()}")
    return 0
