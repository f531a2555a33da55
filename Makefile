# Border Therapy Services assistant. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(PY) -m rasa
STAMP := $(VENV)/.installed-stamp
SPACY_MODEL := build/spacy/en_bts/meta.json

export PYTHONPATH := $(CURDIR)
# Quieter TensorFlow and SQLAlchemy start-up messages; no telemetry from a clinic's server.
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false

CONSOLE_VENV := .venv-console
CONSOLE_PY := $(CONSOLE_VENV)/bin/python
CONSOLE_STAMP := $(CONSOLE_VENV)/.installed-stamp

.PHONY: help venv spacy train run test lint validate unit faults nlu-eval stories safety realpatients language \
	e2e clean console-venv console-test console-lint console-bench console-user worker receiver widget \
	widget-test run-prod bench test-scale screenshots learning-test

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements/rasa.in requirements/dev.in requirements/constraints.txt scripts/find_python.sh pyproject.toml
	@echo "==> Creating the Python 3.10 virtual environment in $(VENV)"
	@python=$$(scripts/find_python.sh) && { [ -x $(PY) ] || $$python -m venv $(VENV); }
	@echo "==> Installing pinned dependencies (first time: about 2-5 minutes)"
	$(PY) -m pip install --progress-bar on --disable-pip-version-check \
		-r requirements/rasa.in -r requirements/dev.in -c requirements/constraints.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

venv: $(STAMP) ## Create the virtual environment and install pinned dependencies

# The staff console has its own environment: Rasa pins old versions of libraries it needs.
$(CONSOLE_STAMP): console/requirements.txt console/requirements-test.txt console/constraints.txt console/find_python.sh pyproject.toml
	@echo "==> Creating the staff console's virtual environment in $(CONSOLE_VENV)"
	@python=$$(console/find_python.sh) && { [ -x $(CONSOLE_PY) ] || $$python -m venv $(CONSOLE_VENV); }
	$(CONSOLE_PY) -m pip install --progress-bar on --disable-pip-version-check \
		-r console/requirements.txt -r console/requirements-test.txt -c console/constraints.txt
	$(CONSOLE_PY) -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

console-venv: $(CONSOLE_STAMP) ## Create the staff console's virtual environment (.venv-console)

$(SPACY_MODEL): $(STAMP) data/spacy/entity_patterns.jsonl data/spacy/red_flag_rules.jsonl data/spacy/red_flag_rules_es.jsonl \
		components/red_flags.py components/normalize.py bts/dev/spacy_pipeline.py
	@echo "==> Building the offline spaCy pipeline"
	$(PY) -m bts.dev.spacy_pipeline

spacy: $(SPACY_MODEL) ## Build the offline spaCy pipeline (blank en + lemmas + entity ruler)

train: $(SPACY_MODEL) ## Train the assistant if data, config or domain changed
	$(PY) -m bts.dev.train

run: train $(CONSOLE_STAMP) widget ## Start the assistant, action server, worker, demo receiver, widget demo and staff console
	@mkdir -p var
	$(PY) -m bts.db upgrade
	$(PY) -m bts.dev.runner

lint: $(STAMP) ## ruff and mypy
	@echo "==> ruff and mypy"
	$(PY) -m ruff check actions bts components scripts tests console widget
	$(PY) -m mypy actions bts components scripts
	$(MAKE) --no-print-directory console-lint

validate: $(STAMP) ## rasa data validate, failing on any warning
	@echo "==> rasa data validate"
	$(PY) -m bts.dev.validate

unit: $(SPACY_MODEL) ## Unit tests of actions, components and scripts
	@echo "==> Unit tests"
	$(PY) -m pytest -q tests/actions tests/bench tests/bts tests/components tests/deploy tests/dev tests/learning \
		tests/runtime tests/test_layout.py

faults: $(STAMP) ## Storage and delivery fault tests (real receiver and worker processes; SQLite and PostgreSQL)
	@deploy/install.sh
	@echo "==> Storage and delivery fault tests"
	$(PY) -m pytest -q tests/faults

nlu-eval: train ## Held-out NLU evaluation; fails below 0.95 accuracy / macro-F1
	@echo "==> NLU held-out evaluation"
	$(PY) -m bts.dev.evaluate_nlu

stories: train ## Conversation tests (tests/test_stories.yml)
	@echo "==> Conversation tests"
	$(PY) -m bts.dev.stories

safety: train ## Red-flag suite through the trained model
	@echo "==> Red-flag suite"
	$(PY) -m pytest -q tests/safety

# Which targets fail the run: "all" (>= 90% right or safe, <= 2% wrong confident, every red flag
# urgent) or "red-flags" (only the last; the other two are printed).
REALPATIENTS_ENFORCE ?= all

realpatients: train ## Real patients' messages (tests/realpatients/) by what the patient sees; fails on the test part
	@echo "==> Real-patient evaluation"
	$(PY) -m pytest -q tests/realpatients
	$(PY) scripts/evaluate_realpatients.py --enforce $(REALPATIENTS_ENFORCE)

language: train ## Language detection set and English/Spanish conversations through the trained model
	@echo "==> Language tests"
	$(PY) -m pytest -q tests/language

e2e: train ## End-to-end test against real servers over REST
	@echo "==> End-to-end tests"
	$(PY) -m pytest -q tests/e2e

console-test: train $(CONSOLE_STAMP) ## Staff console tests (a real Rasa run makes the fixtures; browser test)
	@echo "==> Staff console tests"
	@command -v chromium >/dev/null 2>&1 || scripts/install_chromium.sh
	$(CONSOLE_PY) -m pytest -q -c tests/console/pytest.ini -m "not learning" tests/console

learning-test: train $(CONSOLE_STAMP) ## The learning loop end to end: label, confirm, train, gates, promote, roll back (trains once)
	@echo "==> Learning loop (end to end)"
	$(CONSOLE_PY) -m pytest -q -c tests/console/pytest.ini -m learning tests/console

widget: ## Build the website chat widget into widget/dist (npm ci + esbuild; fails above 60 kB gzipped)
	@bash widget/setup.sh

widget-test: train widget ## Browser tests of the chat widget (Playwright + Debian chromium, real assistant)
	@echo "==> Widget browser tests"
	@command -v chromium >/dev/null 2>&1 || scripts/install_chromium.sh
	$(PY) -m pytest -q tests/widget

console-lint: $(CONSOLE_STAMP) ## mypy over the staff console (its own environment: SQLAlchemy 2, Flask 3)
	$(CONSOLE_PY) -m mypy --python-version 3.11 console bts/contact.py bts/deid.py tests/console/support.py

screenshots: train widget $(CONSOLE_STAMP) ## Refresh the README's screenshots in docs/screenshots (test runs write theirs to results/)
	@command -v chromium >/dev/null 2>&1 || scripts/install_chromium.sh
	BTS_WIDGET_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -q -m screenshot tests/widget
	CONSOLE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(CONSOLE_PY) -m pytest -q -c tests/console/pytest.ini tests/console/test_browser.py

console-bench: $(CONSOLE_STAMP) ## Benchmark the staff console over 10,000 generated conversations
	$(CONSOLE_PY) -m console.bench

console-user: $(CONSOLE_STAMP) ## Create a staff console account: make console-user NAME=alice ROLE=admin
	$(CONSOLE_PY) -m console create-user $(NAME) --role $(or $(ROLE),staff)

worker: $(STAMP) ## Run the outbox worker alone
	$(PY) -m bts.booking.worker --health-port 8098

receiver: $(STAMP) ## Run the demo receiver alone (http://localhost:8099/)
	$(PY) -m bts.booking.receiver

run-prod: train ## Production profile under supervisord: PostgreSQL, Redis, 2 Rasa replicas, actions, nginx with TLS (deploy/README.md)
	PY=$(PY) deploy/start.sh

bench: train ## Benchmark against stock Rasa's default recipe (~30 min, idle machine; writes docs/benchmark.md). ARGS=--quick
	@deploy/install.sh
	$(PY) scripts/bench.py $(ARGS)

test-scale: train ## Scale test: the whole production profile, 20 conversations x 30 turns, a replica crash
	@deploy/install.sh
	@echo "==> Scale test of the production profile"
	$(PY) -m pytest -q tests/scale

test: lint validate unit faults nlu-eval stories safety realpatients language e2e widget-test console-test test-scale ## Run every test (what CI runs)
	@echo "==> All tests passed"

clean: ## Remove the environment, builds, models and local data
	rm -rf $(VENV) $(CONSOLE_VENV) build results var models/*.tar.gz widget/dist widget/node_modules
