# The README's two commands: `make run` and `make test`. Everything they need is installed here:
# Python packages from uv.lock (pinned, hashes checked), system packages from scripts/sysdeps.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# uv installs from the lock; its version is pinned once, in pyproject.toml ([tool.uv] required-version).
UV_VERSION := $(shell sed -n 's/^required-version = "==\(.*\)"/\1/p' pyproject.toml)
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(PYTHON)
# Use this machine's Python; never fetch a Python build of uv's own.
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1
# Trust the machine's certificate store, as pip does (where a network's own CA is installed).
export UV_SYSTEM_CERTS := 1

LOCK_HELP := pyproject.toml and uv.lock disagree: run \`make lock\` (or \`make add PKG=name\`), commit both

.PHONY: run test lint bench install dev sysdeps lock add add-dev upgrade clean spec client-check

$(UV_HOME)/.uv-$(UV_VERSION):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@rm -rf $(UV_HOME)
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install -q "uv==$(UV_VERSION)"
	@touch $@

# `--locked`: install exactly what uv.lock says, and stop if pyproject.toml asks for something else.
# Runtime set: `--inexact` keeps the dev tools of an earlier `make dev`.
install: $(UV_HOME)/.uv-$(UV_VERSION)
	@$(UV) sync -q --locked --inexact || { echo "make: $(LOCK_HELP) (or see uv's message above)" >&2; exit 1; }

# Runtime and dev sets, exactly: a package installed by hand is removed (add it to pyproject instead).
dev: $(UV_HOME)/.uv-$(UV_VERSION)
	@$(UV) sync -q --locked --extra dev || { echo "make: $(LOCK_HELP) (or see uv's message above)" >&2; exit 1; }

## System packages (scripts/sysdeps.txt): installed with apt-get when root, otherwise the command is printed
sysdeps:
	@scripts/sysdeps all

## Migrate, load demo data when empty, then serve the API with the notification worker and the sweeper
run: install
	@scripts/sysdeps run || echo "make: the service starts without them (scripts/sysdeps.txt says what each is for)" >&2
	@mkdir -p var
	$(BIN)/youth serve --host $(HOST) --port $(PORT) --demo --with-workers

lint: dev
	$(BIN)/ruff check .

## The front end's view: OpenAPI lint, TypeScript types generated from the document, the sample client
## type-checked (npm tools pinned in clients/typescript/package-lock.json; skipped without npm outside CI)
client-check: dev
	@scripts/client-check

## ruff and the client check, then the whole suite on SQLite and, when TEST_DATABASE_URL is set, on
## PostgreSQL: both passes at once, each with its own database and log, printed in turn when both end
## (scripts/test-suite; SUITE_SERIAL=1 runs them one after the other with live output)
test: dev lint client-check
	@if ! scripts/sysdeps test; then \
		if [ "$$(id -u)" = 0 ] || [ "$$CI" = "true" ]; then exit 1; fi; \
		echo "make: tests that need them will fail or be skipped" >&2; \
	fi
	@PYTEST=$(BIN)/pytest scripts/test-suite

## Dependencies. Add one: `make add PKG='segno>=1.6'` (runtime) or `make add-dev PKG=playwright` (tests);
## after editing pyproject.toml by hand or merging it: `make lock`; newer versions: `make upgrade [PKG=name]`.
## Each updates pyproject.toml and uv.lock together: commit both.
lock: $(UV_HOME)/.uv-$(UV_VERSION)
	$(UV) lock

add: $(UV_HOME)/.uv-$(UV_VERSION)
	@test -n "$(PKG)" || { echo "usage: make add PKG='name>=version'" >&2; exit 2; }
	$(UV) add --no-sync "$(PKG)"
	@$(MAKE) --no-print-directory dev

add-dev: $(UV_HOME)/.uv-$(UV_VERSION)
	@test -n "$(PKG)" || { echo "usage: make add-dev PKG='name>=version'" >&2; exit 2; }
	$(UV) add --no-sync --optional dev "$(PKG)"
	@$(MAKE) --no-print-directory dev

upgrade: $(UV_HOME)/.uv-$(UV_VERSION)
	$(UV) lock $(if $(PKG),--upgrade-package "$(PKG)",--upgrade)
	@$(MAKE) --no-print-directory dev

## The API contract: rewrite docs/openapi.json (the compatibility snapshot) and docs/errors.md from the code.
## Run it after changing routes, schemas or errors, and commit both (a breaking change shows in the diff).
spec: dev
	$(BIN)/python -m app.contract

## Load, fault and ceiling benchmarks against PostgreSQL (slow; prints one table)
bench: dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(UV_HOME) var/*.db var/*.db-*
