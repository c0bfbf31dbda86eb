# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   installs deskterm into .venv and opens a generated demo workspace
#   make test   installs deskterm with its test dependencies and runs every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	DESKTERM_HOME=$${DESKTERM_HOME:-$(CURDIR)/demo-workspace} $(BIN)/deskterm demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/search_bench.py --messages 100000
	$(BIN)/python bench/tui_bench.py --tickets 100000
	$(BIN)/python bench/reconcile_bench.py

clean:
	rm -rf $(VENV) demo-workspace
