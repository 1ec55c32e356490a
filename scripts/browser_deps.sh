#!/usr/bin/env bash
# Browser tests drive Debian's chromium through Playwright's `executable_path`
# (Playwright's own browser download needs the internet, which CI does not have).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version
