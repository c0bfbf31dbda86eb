# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make demo   installs deskterm into .venv and opens a generated demo workspace
#   make test   installs deskterm with its test dependencies and runs every test
#   make bench  measures deskterm at 100k and 1M messages beside SQLite FTS5 and notmuch (about 1.5 hours)
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

# The archive-scale table (docs/performance.md): builds its datasets once in bench/out/, then measures.
# notmuch and Dovecot are what it compares with and syncs from; as root it installs them.
BENCH_ARGS ?=
bench: $(STAMP)
	@if ! { command -v notmuch && [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import notmuch2' \
	        && [ -x /usr/sbin/dovecot ]; } >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq notmuch python3-notmuch2 dovecot-imapd; \
	fi
	$(BIN)/python bench/archive.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo-workspace
