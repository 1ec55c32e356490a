# atende — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
BOT := .venv-bot/bin
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export MPLBACKEND := Agg

.PHONY: help install train run test test-bot test-hub lint bench bench-10m migrate services browser clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}'

install: ## Install uv and both locked environments (.venv hub, .venv-bot Rasa) if missing
	@scripts/bootstrap.sh

train: install ## Train the Rasa model if bot/ changed since the last training (content hash)
	@scripts/train.sh

migrate: install ## Apply database migrations (DATABASE_URL)
	@$(PY) -m handoff migrate

run: train ## Run the product: Rasa, actions and the hub on SQLite, in-process bus, channel sandbox
	@PYTHONPATH=$(CURDIR) $(PY) scripts/run.py

services: ## Make sure PostgreSQL and Redis answer on 127.0.0.1 (install from Debian if needed)
	@scripts/services.sh
	@scripts/mail_deps.sh

browser: ## Install Debian chromium for the browser tests if missing
	@scripts/browser_deps.sh

test: train services browser ## Run every suite (bot data + conversations, unit, integration, end-to-end)
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-bot
	@$(MAKE) --no-print-directory eval-nlu
	@$(MAKE) --no-print-directory test-hub

test-bot: export PYTHONPATH := $(CURDIR)/bot
test-bot: ## Validate bot data, run conversation tests and action unit tests (bot env)
	@PYTHONWARNINGS=ignore $(BOT)/rasa data validate --domain bot/domain --data bot/data --config bot/config.yml --fail-on-warnings --quiet
	@PYTHONWARNINGS=ignore $(BOT)/rasa test core --stories bot/tests --model models --out var/rasa-results --fail-on-prediction-errors --quiet
	@$(BOT)/python -m pytest tests/bot -q -p no:cacheprovider --confcutdir=tests/bot -c /dev/null --rootdir=tests/bot

.PHONY: eval-nlu
eval-nlu: export PYTHONPATH := $(CURDIR)/bot
eval-nlu: install ## NLU quality by reason: 5-fold CV + held-out P/R/F1 (fails below macro-F1 0.93 / urgent recall 100%)
	@PYTHONWARNINGS=ignore $(BOT)/python scripts/eval_nlu.py $(EVAL_ARGS)

test-hub: ## Hub tests: unit, pipeline on SQLite and Postgres+Redis, compose, browser e2e
	@$(PY) -m pytest -q

lint: ## ruff, mypy (hub and bot), eslint, import contracts, file sizes, dependency audit
	@$(PY) -m ruff check handoff connectors tests bench scripts bot faults
	@npx --no-install eslint handoff/web/static
	@PYTHONPATH=bot .venv/bin/lint-imports --no-cache --no-logo  # the layers as contracts (pyproject.toml)
	@$(PY) scripts/check_file_sizes.py  # no source file over 600 lines
	@$(PY) -m mypy
	@MYPYPATH=bot:tests/bot $(BOT)/python -m mypy --config-file pyproject.toml --explicit-package-bases \
		--cache-dir .mypy_cache/bot bot/actions bot/clinic_nlu bot/teaching bot/hub_channel.py tests/bot
	@$(MAKE) --no-print-directory audit-deps

.PHONY: audit-deps
audit-deps: ## pip-audit of requirements/dev.lock and bot.lock (prints "skipped: no network" offline)
	@PY=$(PY) scripts/audit_deps.sh

.PHONY: faults
faults: train services ## Fault suite: 7 breakages x 200 messages on real parts; fails on any lost/duplicated message or lost flow
	@$(PY) -m faults $(FAULTS_ARGS)

bench: train services ## Benchmarks: bot turn via hub vs Rasa direct, ingest, agenda, reminders, training, 30-day dashboard on 1M messages
	@$(PY) -m bench

bench-10m: services ## Dashboard growth: 30-day dashboard on 1M then 10M messages in one run, p95 ratio (long)
	@$(PY) -m bench.dashboard --scale-check --runs 5

clean: ## Remove local state (database, logs); keeps environments and models
	rm -rf var/
