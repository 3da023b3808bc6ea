# Heartwatch: `make run` starts it, `make test` tests it. Everything installs from this repo's files.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
# Links in notifications and DSNs point here unless HEARTWATCH_BASE_URL says otherwise.
export HEARTWATCH_BASE_URL ?= http://$(HOST):$(PORT)
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install install-dev run web worker migrate bootstrap demo service admin test test-sqlite test-postgres test-unit test-integration test-browser bench bench-dashboard bench-notify bench-scaleout lint clean

install: $(VENV)/.installed-runtime  ## the app's dependencies in .venv

$(VENV)/.installed-runtime: requirements.txt package.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	./scripts/vendor-assets.sh
	touch $@

install-dev: $(VENV)/.installed-dev  ## plus what the tests and benchmarks need

# pytest and the other Python test packages, without the browser: all `make test-unit` needs.
$(VENV)/.installed-test-packages: $(VENV)/.installed-runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-test-packages requirements-dev.txt package.json
	$(BIN)/pip install --quiet --upgrade --target $(VENV)/sentry-sdk-1 sentry-sdk==1.45.1  # tests/sentry: the /store/ SDK
	$(BIN)/pip install --quiet --upgrade --target $(VENV)/raven-6 raven==6.10.0  # tests/sentry: the client before sentry-sdk
	./scripts/install-browser.sh
	touch $@

migrate: install  ## apply database migrations (DATABASE_URL, default SQLite in instance/)
	$(FLASK) db upgrade

run: migrate  ## web and worker (Procfile), on SQLite by default; DATABASE_URL / REDIS_URL switch
	@$(FLASK) bootstrap
	HOST=$(HOST) $(BIN)/honcho start --port $(PORT) --procfile Procfile

demo: migrate  ## load the demo data set through the ingest path
	$(FLASK) demo

service: migrate  ## make service NAME=billing PLATFORM=python
	$(FLASK) create-service "$(NAME)" --platform $(or $(PLATFORM),other)

admin: migrate  ## make admin EMAIL=a@b.c PASSWORD=...
	$(FLASK) create-admin --email "$(EMAIL)" --password "$(PASSWORD)"

test: install-dev  ## the whole suite on SQLite; with TEST_DATABASE_URL and REDIS_URL set, on PostgreSQL and Redis too, side by side
	@if [ -n "$$TEST_DATABASE_URL" ]; then MAKE="$(MAKE)" ./scripts/test-both.sh; \
	else $(MAKE) test-sqlite && echo "TEST_DATABASE_URL unset: PostgreSQL/Redis run skipped"; fi

test-sqlite: install-dev
	env -u TEST_DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-postgres: install-dev
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# One kind of test at a time (markers set in tests/conftest.py), on SQLite, or on PostgreSQL and
# Redis when TEST_DATABASE_URL and REDIS_URL are set.
test-unit: $(VENV)/.installed-test-packages  ## the fast loop: parsers and other pure code, seconds, no browser needed
	$(BIN)/python -m pytest -q -p no:cacheprovider -m unit $(PYTEST_ARGS)

test-integration: install-dev  ## the app on a real database, local servers and subprocesses
	$(BIN)/python -m pytest -q -p no:cacheprovider -m integration $(PYTEST_ARGS)

test-browser: install-dev  ## tests/browser: chromium against a live Heartwatch
	$(BIN)/python -m pytest -q -p no:cacheprovider -m browser $(PYTEST_ARGS)

bench: install-dev  ## ingest benchmark, then the full SIGTERM run (SQLite, and PostgreSQL when BENCH_DATABASE_URL is set)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ingest.py --sigterm

bench-dashboard: install-dev  ## dashboard page times with 100,000 errors (BENCH_DATABASE_URL: a PostgreSQL database of its own)
	$(BIN)/python bench/dashboard.py

bench-notify: install-dev  ## ingest-to-e-mail latency, 200 critical errors (PostgreSQL too with BENCH_DATABASE_URL and BENCH_REDIS_URL)
	$(BIN)/python bench/notify_latency.py --db $(if $(BENCH_DATABASE_URL),both,sqlite)

bench-scaleout: install-dev  ## two web deployments and two workers on one PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL)
	$(BIN)/python bench/scaleout.py

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache
