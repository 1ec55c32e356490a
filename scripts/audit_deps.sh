#!/usr/bin/env bash
# `make audit-deps`: known vulnerabilities in both locks (requirements/dev.lock: the hub and its
# dev tools; requirements/bot.lock: Rasa 3.6), checked with pip-audit against the advisory data
# of the PyPI JSON API (which serves OSV's advisories per release).
#
# pip-audit has no offline mode: it needs that service. Where it cannot be reached (this workplace
# reaches a package index but not PyPI's JSON API nor OSV) the audit is SKIPPED, said plainly,
# and the target exits 0 so `make lint` still runs offline. When the service answers, any known
# vulnerability fails the target, and so does a package it could not audit (--strict), unless its
# advisory id is listed with a reason in requirements/audit-ignore.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PIP_AUDIT=${PIP_AUDIT:-pip-audit==2.10.1}

probe() {
  "$PY" - <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen("https://pypi.org/pypi/jinja2/2.4.1/json", timeout=10) as r:
        data = json.load(r)
    sys.exit(0 if r.status == 200 and "vulnerabilities" in data else 1)
except Exception:
    sys.exit(1)
PY
}

if ! probe; then
  echo "audit-deps: skipped: no network (PyPI's vulnerability data is unreachable); requirements/dev.lock and requirements/bot.lock were NOT audited"
  exit 0
fi

ignores=()
while read -r id _; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  ignores+=(--ignore-vuln "$id")
done < requirements/audit-ignore.txt

status=0
for lock in requirements/dev.lock requirements/bot.lock; do
  echo "audit-deps: $lock"
  if ! uvx --quiet --from "$PIP_AUDIT" pip-audit --requirement "$lock" --no-deps --disable-pip --strict \
      --progress-spinner off --vulnerability-service pypi "${ignores[@]}"; then
    status=1
  fi
done
exit $status
