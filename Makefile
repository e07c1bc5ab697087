# The README's two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint bench install dev clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

## Serve the API on http://$(HOST):$(PORT) (embedded SQLite with demo data unless YOUTH_DATABASE_URL says otherwise)
run: install
	@mkdir -p var
	$(BIN)/youth serve --host $(HOST) --port $(PORT) --demo

lint: dev
	$(BIN)/ruff check .

## ruff, then the whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set
test: dev lint
	@echo "== the suite on SQLite"
	TEST_DATABASE_URL= $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL"; \
		$(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true but TEST_DATABASE_URL is not set: PostgreSQL is required in CI" >&2; exit 1; \
	else \
		echo "== PostgreSQL pass skipped (set TEST_DATABASE_URL to run it)"; \
	fi

## Load, fault and ceiling benchmarks against PostgreSQL (slow; prints one table)
bench: dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.db var/*.db-*
