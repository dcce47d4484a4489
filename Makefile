# The one entry point: `make demo` and `make test` do all the set-up they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_LOGGING_LEVEL := CRITICAL

ASSETS := portal/static/govuk
NPM_DIR := portal/assets

.PHONY: assets demo test test-all check test-sqlite test-postgres bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "reportcycle needs Python 3.11 or newer; set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# WeasyPrint renders the PDF with Pango; Debian's packages bring it and a font when they are missing.
SYSTEM_LIBS := libpango-1.0.so.0 libpangoft2-1.0.so.0
$(VENV)/.system-libs: | $(BIN)/python
	@for lib in $(SYSTEM_LIBS); do ldconfig -p | grep -q $$lib || missing=1; done; \
	if [ -n "$$missing" ] || ! fc-list | grep -q .; then \
		echo "installing Pango and fonts for PDF output"; \
		apt-get update -q && apt-get install -y -q libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fontconfig; \
	fi
	touch $@

# Reinstall only when the dependencies change (a stamp per extra).
$(VENV)/.installed: pyproject.toml $(VENV)/.system-libs | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The portal's pages use GOV.UK Frontend: the npm package at the release the PyPI govuk-frontend-jinja
# macros target (pinned in portal/assets/package.json and its lock file), compiled with Sass to drop
# GOV.UK's font and served from portal/static/govuk/. Rebuilt when the Sass or the pins change.
$(ASSETS)/.built: $(NPM_DIR)/portal.scss $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "the portal's styles need npm (Debian: apt-get install npm)"; exit 1; }
	npm ci --silent --no-audit --no-fund --prefix $(NPM_DIR)
	mkdir -p $(ASSETS)
	$(NPM_DIR)/node_modules/.bin/sass --no-source-map --style=compressed --load-path=$(NPM_DIR)/node_modules \
		$(NPM_DIR)/portal.scss $(ASSETS)/portal.css
	cp $(NPM_DIR)/node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(ASSETS)/
	touch $@

assets: $(ASSETS)/.built

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed $(VENV)/.chromium $(VENV)/.dovecot
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Browser tests drive Debian's Chromium with the PyPI playwright package (its own browser download
# cannot work here).
$(VENV)/.chromium: | $(BIN)/python
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser tests"; \
		apt-get update -q && apt-get install -y -q chromium; }
	touch $@

# The inbound tests read a real IMAP server: Debian's dovecot, started by the tests with a configuration of their own.
$(VENV)/.dovecot: | $(BIN)/python
	@test -x /usr/sbin/dovecot || { echo "installing Debian's dovecot-imapd for the inbound mail tests"; \
		apt-get update -q && apt-get install -y -q dovecot-imapd; }
	touch $@

demo: $(VENV)/.installed $(ASSETS)/.built
	$(BIN)/reportcycle demo

check: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# One session for both databases, in TEST_WORKERS processes (pytest-xdist): each test that uses the database
# runs on SQLite and on PostgreSQL, the rest once, and the slow ones share out across the processes.
# PostgreSQL when a server answers; CI sets REQUIRE_POSTGRES=1 so a missing server fails the run.
TEST_WORKERS ?= 3
test-all: $(VENV)/.installed-test $(ASSETS)/.built
	@if pg_isready -q -h 127.0.0.1 -p 5432; then \
		TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(TEST_WORKERS); \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "no PostgreSQL on 127.0.0.1:5432 and REQUIRE_POSTGRES is set"; exit 1; \
	else \
		echo "no PostgreSQL on 127.0.0.1:5432: the suite runs on SQLite only"; \
		$(BIN)/pytest -n $(TEST_WORKERS); \
	fi

# Either database on its own (the tests marked `once` run only with SQLite).
test-sqlite: $(VENV)/.installed-test $(ASSETS)/.built
	$(BIN)/pytest -n $(TEST_WORKERS) --database sqlite

test-postgres: $(VENV)/.installed-test $(ASSETS)/.built
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(TEST_WORKERS) --database postgresql -m "not once"

test: check test-all

# Figures measured side by side in one run (not part of `make test`).
bench: $(VENV)/.installed-test
	$(BIN)/python bench/dispatch_throughput.py
	$(BIN)/python bench/chase_sweep.py
	$(BIN)/python bench/portal_service.py
	$(BIN)/python bench/portal_latency.py
	$(BIN)/python bench/cli_latency.py

clean:
	rm -rf $(VENV) $(ASSETS) $(NPM_DIR)/node_modules out .pytest_cache .mypy_cache .ruff_cache
