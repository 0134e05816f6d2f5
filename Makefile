# make run  — set everything up and serve the portal with demo data
# make test — set everything up and run every test (SQLite and PostgreSQL side by side, real Redis; browser tests
#             in the PostgreSQL run, dialect_free tests in the SQLite run: scripts/test.sh, README "Tests")
# make cluster — a multi-host topology on this machine (two web, two workers, scheduler, Redis, S3); Ctrl-C stops it
# make test-deep — the model-based order-to-cash test, long (MODEL_EXAMPLES x MODEL_STEPS, PostgreSQL)
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi.py
REDIS_PORT ?= 6379
PG_URL ?= postgresql://postgres@127.0.0.1:5432

.PHONY: i18n run cluster test test-deep test-sqlite test-postgres install install-dev migrate seed worker scheduler screenshots bench clean

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools

$(VENV)/.installed: $(BIN)/activate setup.cfg
	$(BIN)/pip install -q -e .
	$(BIN)/python -m portal.i18n
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed tests/e2e/axe/package-lock.json
	$(BIN)/pip install -q -e '.[dev]'
	# axe-core for the accessibility browser tests (tests/e2e/test_axe_browser.py); skipped without npm
	if command -v npm >/dev/null; then cd tests/e2e/axe && npm ci --no-audit --no-fund --silent; fi
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Languages: extract every marked text, merge it into each catalog, compile (portal/i18n.py, README "Languages")
i18n: install
	$(BIN)/pybabel extract -q -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -q -i portal/translations/messages.pot -d portal/translations --no-location --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -q -d portal/translations

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask demo seed

run: install
	@./scripts/run.sh "$(HOST)" "$(PORT)"

cluster: install
	@./scripts/cluster.sh run

worker: install
	$(BIN)/flask jobs worker

scheduler: install
	$(BIN)/flask jobs scheduler

test: install-dev
	@./scripts/test.sh

MODEL_EXAMPLES ?= 200
MODEL_STEPS ?= 50
test-deep: install-dev
	PORTAL_MODEL_EXAMPLES=$(MODEL_EXAMPLES) PORTAL_MODEL_STEPS=$(MODEL_STEPS) \
	PORTAL_TEST_DATABASE_URL="$(PG_URL)/postgres" $(BIN)/pytest -q -s -p no:cacheprovider tests/model $(ARGS)

test-sqlite: install-dev
	PORTAL_TEST_DATABASE_URL=sqlite $(BIN)/pytest -q $(ARGS)

test-postgres: install-dev
	@./scripts/test.sh postgres

screenshots: install-dev
	$(BIN)/python scripts/screenshots.py

# Benchmarks on PostgreSQL, the production database (`.venv/bin/python bench/run_all.py` without BENCH_DATABASE_URL
# runs the scripts that can on a SQLite file)
bench: install-dev
	BENCH_DATABASE_URL="$${BENCH_DATABASE_URL:-$(PG_URL)/postgres}" $(BIN)/python bench/run_all.py --markdown bench/RESULTS.md

clean:
	rm -rf $(VENV) instance *.egg-info
