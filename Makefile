# Executable documentation: `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint bench bench-pg install clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## demo: the whole pipeline, offline, against bundled sample sites on 127.0.0.1
demo: $(STAMP)
	$(VENV)/bin/migwatch demo

## test: the whole suite (SQLite and PostgreSQL at 127.0.0.1:5432; .ci/prepare brings up
## PostgreSQL and installs Chromium where this machine allows)
test: $(STAMP)
	@.ci/prepare
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then \
	  echo "pytest selected no test: check PYTEST_ARGS ('$(PYTEST_ARGS)')"; \
	  if [ -n "$(PYTEST_ARGS)" ]; then exit 0; else exit 1; fi; \
	fi; exit $$rc

## lint: ruff and mypy, as configured in pyproject.toml
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## bench: throughput and memory figures (printed, not asserted); it ends with the two
## ratios of bench/collect.py (collection against the floor measured in the same run)
## and writes docs/benchmarks.md
bench: $(STAMP)
	$(PY) bench/tag.py
	$(PY) bench/feeds.py
	$(PY) bench/digest.py
	$(PY) bench/search.py
	$(PY) bench/collect.py --feeds 200 --articles 20 --hosts 50 --write-doc

## bench-pg: a million articles on PostgreSQL at 127.0.0.1:5432 (a database of its own,
## dropped at the end; about ten minutes, 1.6 GB while it runs)
bench-pg: $(STAMP)
	$(PY) bench/pg_scale.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
