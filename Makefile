# make run: the app with demo data on http://127.0.0.1:DEV_PORT (default 5000; embedded SQLite, dev mailbox).
# make test: the whole suite on SQLite and on PostgreSQL (TEST_DATABASE_URL), side by side.
# make bench: the benchmarks (benchmarks/), SQLite then PostgreSQL (feedback_bench); one table, < 15 min.
# make screenshots: the README's pictures of the main pages (docs/screenshots/), from a browser test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
DEV_PORT ?= 5000
# The message catalogues (feedback/translations/<locale>/LC_MESSAGES/messages.po) are committed; their
# compiled .mo files are built by make install (and make translations), never committed.
PO_FILES := $(wildcard feedback/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
LOCALES := de fr es pt_BR ar

.PHONY: run test test-sqlite test-postgres lint bench install install-dev clean chromium screenshots translations

# The browser tests drive Debian's Chromium; installed here when missing and we may (root).
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || { echo "The browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; }

# install: the service's dependencies (make run); install-dev adds the tests', linters' and benchmarks'.
install: $(VENV)/.installed $(MO_FILES)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -r requirements.txt
	touch $@

install-dev: $(VENV)/.installed-dev $(MO_FILES)

# translations: extract every marked text of the code and the templates, merge it into each
# catalogue (new texts arrive untranslated, a changed one fuzzy: the catalogue test fails on both), compile.
%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile -i $< -o $@

translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k N_ -k _l -k lazy_ngettext:1,2 --no-location --sort-output -o feedback/translations/messages.pot .
	for locale in $(LOCALES); do \
	  test -f feedback/translations/$$locale/LC_MESSAGES/messages.po || $(BIN)/pybabel init -i feedback/translations/messages.pot -d feedback/translations -l $$locale; \
	done
	$(BIN)/pybabel update -i feedback/translations/messages.pot -d feedback/translations --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d feedback/translations

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

# ruff (style, pyproject.toml) and import-linter (the layers' contracts, pyproject.toml).
lint: install-dev
	$(BIN)/ruff check feedback tests benchmarks
	$(BIN)/lint-imports

# make run serves on DEV_PORT (from the environment, default 5000: DEV_PORT=5001 make run); the demo's links use it.
run: install
	FLASK_DEBUG=1 DEV_PORT=$(DEV_PORT) $(FLASK) db upgrade
	FLASK_DEBUG=1 DEV_PORT=$(DEV_PORT) $(FLASK) feedback demo
	FLASK_DEBUG=1 DEV_PORT=$(DEV_PORT) $(FLASK) run --host 127.0.0.1 --port $(DEV_PORT)

# Both halves at once (one per core; they share no database), each one's output printed whole when it ends.
test: lint chromium
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: install-dev
	env -u DATABASE_URL $(BIN)/python -m pytest -q

test-postgres: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest -q

# The README's pictures (docs/screenshots/), taken by a browser test on the demo data.
screenshots: install-dev chromium
	env -u DATABASE_URL SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/test_screenshots.py

bench: install-dev
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) instance .pytest_cache
