# Parcours — the two commands of the README are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PARCOURS_PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/parcours_test
PYTEST_ARGS ?=

VENDOR := src/parcours/web/static/vendor

.PHONY: demo serve test test-sqlite test-pg test-fast test-at lint fmt typecheck bench migrate browser vendor clean

$(BIN)/parcours: requirements/dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

## vendor: front-end packages from the npm registry (package-lock.json), copied next to the pages
$(VENDOR)/.stamp: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's npm for the pages' front-end packages"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(VENDOR)/barcode-detector
	cp node_modules/barcode-detector/dist/es/ponyfill.js node_modules/barcode-detector/dist/es/zxing-exported.js $(VENDOR)/barcode-detector/
	cp node_modules/zxing-wasm/dist/reader/zxing_reader.wasm $(VENDOR)/barcode-detector/
	cp node_modules/barcode-detector/LICENSE $(VENDOR)/barcode-detector/LICENSE 2>/dev/null || true
	mkdir -p $(VENDOR)/chart.js $(VENDOR)/chartjs-chart-sankey
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js/
	cp node_modules/chartjs-chart-sankey/dist/chartjs-chart-sankey.min.js node_modules/chartjs-chart-sankey/LICENSE $(VENDOR)/chartjs-chart-sankey/
	@touch $@

vendor: $(VENDOR)/.stamp

venv: $(BIN)/parcours $(VENDOR)/.stamp

## demo: create the environment, migrate, load the demo retailer and serve on PARCOURS_HOST:PARCOURS_PORT
demo: $(BIN)/parcours $(VENDOR)/.stamp
	$(BIN)/parcours demo

serve: $(BIN)/parcours
	$(BIN)/parcours serve

migrate: $(BIN)/parcours
	$(BIN)/parcours migrate

## browser: Debian's Chromium for the end-to-end tests (Playwright cannot download browsers here)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## test: the whole suite on SQLite, then again on PostgreSQL
test: $(BIN)/parcours $(VENDOR)/.stamp browser
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-pg

test-sqlite: $(BIN)/parcours
	@echo "=== test suite on SQLite ==="
	env -u PARCOURS_TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

## test-pg: what the database decides, again on PostgreSQL. The browser suites (pages) and the
## OpenAPI fuzzer (the schema) run once, on SQLite: they test no database behaviour the API,
## service and race tests do not already run here (docs/testing.md, "The CI budget").
PG_SCOPE ?= -m "not e2e" --ignore=tests/contract/test_openapi_fuzz.py
test-pg: $(BIN)/parcours
	@echo "=== test suite on PostgreSQL ==="
	@pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432 (start it: pg_ctlcluster <version> main start)"; exit 1; }
	PARCOURS_TEST_DATABASE_URL=$(PARCOURS_PG_TEST_URL) $(BIN)/pytest -p no:cacheprovider $(PG_SCOPE) $(PYTEST_ARGS)

test-fast: $(BIN)/parcours
	env -u PARCOURS_TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider -m "not e2e" -x -q

## test-at: the suite (or PYTEST_ARGS) on SQLite with "now" at NOW (docs/testing.md), e.g.
## make test-at NOW=2026-03-29T00:59:00Z PYTEST_ARGS=tests/orders
test-at: $(BIN)/parcours
	@test -n "$(NOW)" || { echo "give the instant: make test-at NOW=2026-03-29T00:59:00Z"; exit 1; }
	env -u PARCOURS_TEST_DATABASE_URL PARCOURS_TEST_NOW=$(NOW) $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: $(BIN)/parcours
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy

fmt: $(BIN)/parcours
	$(BIN)/ruff check --fix src tests bench migrations
	$(BIN)/ruff format src tests bench migrations

## bench: load benchmarks on loopback (installs Debian's wrk if missing); see BENCHMARKS.md
bench: $(BIN)/parcours
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules $(VENDOR)
