#!/usr/bin/env bash
# Install everything the project needs on a fresh machine; fast no-op when up to date.
#   - uv (from PyPI) if missing
#   - .venv      : the hub + dev tools, locked by requirements/dev.lock (current versions)
#   - .venv-bot  : Rasa 3.6 + rasa-sdk, locked by requirements/bot.lock (Rasa's old pins, kept apart)
#   - node_modules: eslint for the staff pages' scripts (`make lint`), locked by package-lock.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv"
  "$PY" -m pip install --quiet uv
fi
stamp_ok() { [ -f "$1/.lock-stamp" ] && [ "$(cat "$1/.lock-stamp")" = "$2" ]; }

dev_hash=$(sha256sum requirements/dev.lock | cut -c1-64)
if ! stamp_ok .venv "$dev_hash"; then
  echo "installing hub environment (.venv)"
  [ -x .venv/bin/python ] || uv venv --quiet --python "$PY" .venv
  uv pip sync --quiet --python .venv/bin/python requirements/dev.lock
  echo "$dev_hash" > .venv/.lock-stamp
fi

# Rasa 3.6.21 declares python<3.11 but runs on 3.11; the lock was compiled for 3.10 (see
# requirements/README.md), so it is installed without re-resolving (--no-deps).
bot_hash=$(cat requirements/bot.lock requirements/bot-dev.txt | sha256sum | cut -c1-64)
if ! stamp_ok .venv-bot "$bot_hash"; then
  echo "installing bot environment (.venv-bot)"
  [ -x .venv-bot/bin/python ] || uv venv --quiet --python "$PY" .venv-bot
  uv pip install --quiet --python .venv-bot/bin/python --no-deps -r requirements/bot.lock -r requirements/bot-dev.txt
  echo "$bot_hash" > .venv-bot/.lock-stamp
fi

# eslint (dev only: `make lint` lints handoff/web/static). `npm ci` installs exactly the lock, when
# node_modules is missing or older than package-lock.json (npm writes its own copy of the lock there).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing eslint (node_modules)"
    npm ci --no-audit --no-fund --loglevel=error
  else
    echo "npm not found: install Node.js (Debian: apt-get install nodejs npm) for make lint" >&2
    exit 1
  fi
fi
