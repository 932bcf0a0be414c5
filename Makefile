# Two commands for a fresh clone: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ASSETS := notifier/static/vendor/.locked

.PHONY: setup browser tools run test at-hours screenshots lint format bench clean

setup: $(STAMP) $(ASSETS) browser tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Tell Me needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# GOV.UK Frontend and axe-core from the npm registry, checked against package-lock.json (no Node.js needed)
$(ASSETS): package-lock.json $(STAMP)
	$(BIN)/tellme assets
	@cp package-lock.json $(ASSETS)

# The browser tests drive Debian's Chromium (a browser download would fail here). Install it when missing and
# we may; otherwise the browser tests say why they are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			(apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }) \
				|| echo "make: could not install chromium: the browser tests will be skipped"; \
		else echo "make: chromium is not installed (apt-get install chromium): the browser tests will be skipped"; fi; }

# Debian's promtool (checks the alert rules and their tests) and pgbouncer (the transaction-pooling tests): installed
# when missing and we may; otherwise those tests say why they are skipped.
tools:
	@for tool in promtool:prometheus pgbouncer:pgbouncer; do \
		command -v "$${tool%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/$${tool%%:*}" ] || { \
			if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
				(apt-get install -y -q --no-install-recommends "$${tool##*:}" >/dev/null 2>&1 \
					|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$${tool##*:}" >/dev/null; }) \
					|| echo "make: could not install $${tool##*:}: its tests will be skipped"; \
			else echo "make: $${tool%%:*} is not installed (apt-get install $${tool##*:}): its tests will be skipped"; fi; }; \
	done

run: setup
	$(BIN)/tellme dev

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite with the clock at 23:50 and 00:10 London and on nights of the clock changes (needs Debian's faketime)
at-hours: setup
	PYTHON=$(BIN)/python tests/at_hours.sh $(PYTEST_ARGS)

# The main pages at phone and desktop widths, and the staff bulletin and council pages at a desktop's, from a real
# browser, into docs/screenshots/ (the README shows them)
screenshots: setup
	TELLME_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_browser_screenshots.py \
		tests/browser/test_browser_staff_bulletin.py tests/browser/test_browser_council.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info notifier/static/vendor
