# Two commands matter: `make run` and `make test`. Both go through `make setup`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test check bench clean locales messages

setup: $(STAMP) locales

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; v=sys.version_info; sys.exit(0 if (3,11)<=v[:2]<=(3,12) else "Safar needs Python 3.11 or 3.12 (found %d.%d): set PY=python3.11" % v[:2])'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Compiled catalogs are build output, never committed.
locales: $(STAMP)
	@$(BIN)/pybabel compile --use-fuzzy -d locales -D messages --statistics 2>&1 | grep -v '^$$' || true

run: setup
	$(BIN)/safar serve

test: setup
	$(BIN)/ruff check bot tests bench tools
	$(BIN)/mypy
	$(BIN)/safar check
	$(BIN)/pytest -q

check: setup
	$(BIN)/safar check

bench: setup
	$(BIN)/python bench/search.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/sms.py

# Re-extract interface strings after changing them in the code.
messages: setup
	$(BIN)/pybabel extract -F locales/babel.cfg -o locales/messages.pot --no-location --sort-output -w 99 .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching -w 99

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
