"""No source file over 600 lines (issue 17): a file that long holds more than one thing.

Counts the lines of every Python, JavaScript, CSS, HTML and shell file of the project's source
folders, outside the migrations and the data (the bot's training and evaluation data are YAML, not
counted).
Exits 1 listing the offenders. `make lint` runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 600
SUFFIXES = (".py", ".js", ".css", ".html", ".sh")
ROOTS = ("handoff", "connectors", "bot", "tests", "bench", "scripts", "faults")
EXEMPT = ("handoff/adapters/sql/migrations/", "tests/e2e/artifacts/")


def main() -> int:
    """Print every file over the limit; 1 when there is one."""
    root = Path(__file__).resolve().parents[1]
    files = sorted(p.relative_to(root).as_posix() for top in ROOTS for p in (root / top).rglob("*") if p.is_file())
    over = []
    for name in files:
        if not name.endswith(SUFFIXES) or name.startswith(EXEMPT) or "__pycache__" in name:
            continue
        lines = sum(1 for _ in (root / name).open(encoding="utf-8", errors="replace"))
        if lines > LIMIT:
            over.append((lines, name))
    for lines, name in sorted(over, reverse=True):
        print(f"{name}: {lines} lines (limit {LIMIT}): split it by what it does")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
