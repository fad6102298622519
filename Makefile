# Jiceng: `make demo` serves the demo county, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
# The demo's printed logins are for anyone to try: no second factor unless asked for
# (`JICENG_SECOND_FACTOR=1 make demo`).
JICENG_SECOND_FACTOR ?= 0

.PHONY: install demo test test-browser test-demo lint format bench bench-city clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Jiceng needs Python 3.10 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: install
	JICENG_DEBUG=1 JICENG_HTTPS=0 JICENG_SECOND_FACTOR=$(JICENG_SECOND_FACTOR) $(BIN)/jiceng demo

test: install
	$(BIN)/pytest -m "not browser and not demo" -n 2 $(PYTEST_ARGS)

# The seed's figures read from the whole demo county (built once, a few minutes).
test-demo: install
	$(BIN)/pytest -m demo $(PYTEST_ARGS)

# A database file rather than memory: the live server's threads then each open their own
# connection instead of sharing the test's.
test-browser: install
	mkdir -p var
	JICENG_TEST_SQLITE=$(CURDIR)/var/test-browser.sqlite3 $(BIN)/pytest -m browser $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@if [ -x $(BIN)/lint-imports ]; then $(BIN)/lint-imports; \
	else echo "lint-imports skipped: import-linter needs Python 3.11 or newer"; fi

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/run.py

# Jining at full size (about an hour, some 40 GB): by hand, not in CI.
bench-city: install
	$(BIN)/python bench/city.py

clean:
	rm -rf $(VENV) var build src/*.egg-info
