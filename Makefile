# Two commands matter: `make run` and `make test`. Both go through `make setup`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test check content-check bench clean locales compile-locales messages

setup: $(STAMP) compile-locales

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; v=sys.version_info; sys.exit(0 if (3,11)<=v[:2]<=(3,12) else "Safar needs Python 3.11 or 3.12 (found %d.%d): set PY=python3.11" % v[:2])'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Interface strings (see locales/README.md): extract them from the code into the template,
# merge new and changed ones into every catalog, compile. The template and catalogs are only
# rewritten when a string was added, changed or removed, so a run with nothing new is no diff.
POT_NEW := locales/.messages.pot.new
locales: $(STAMP)
	@$(BIN)/pybabel extract -F locales/babel.cfg -o $(POT_NEW) --no-location --sort-output \
		-w 99 --project Safar --copyright-holder 'Safar developers' . 2>$(POT_NEW).log \
		|| (cat $(POT_NEW).log; rm -f $(POT_NEW).log; exit 1)
	@rm -f $(POT_NEW).log
	@if diff -q -I '^"POT-Creation-Date: ' -I '^"Generated-By: ' locales/messages.pot \
		$(POT_NEW) >/dev/null 2>&1; then rm -f $(POT_NEW); else \
		mv $(POT_NEW) locales/messages.pot && $(BIN)/pybabel update -i locales/messages.pot \
		-d locales -D messages --no-fuzzy-matching -w 99; fi
	@$(MAKE) --no-print-directory compile-locales

# Compiled catalogs are build output, never committed. Fuzzy entries are left out, as the bot
# does when it compiles a catalog itself: an unconfirmed guess never reaches a reader.
compile-locales: $(STAMP)
	@$(BIN)/pybabel compile -d locales -D messages --statistics 2>&1 | grep -v '^$$' || true

run: setup
	$(BIN)/safar serve

test: setup
	$(BIN)/ruff check bot tests bench tools
	$(BIN)/mypy
	$(BIN)/safar check --quiet
	$(BIN)/pytest -q

check: setup
	$(BIN)/safar check

# What the pre-commit hook runs: errors, and one line counting the warnings.
content-check: setup
	$(BIN)/safar check --quiet

bench: setup
	$(BIN)/python bench/search.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/sms.py

# The old name of `make locales`.
messages: locales

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
