# settlekit: one entry point for setting up, running the demo and testing.
# `make demo` and `make test` are the README's quick start; both set everything up first and are idempotent.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.settlekit-installed
NODE_STAMP := node_modules/.settlekit-installed
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

# npm's node_modules/.bin/{forge,anvil,cast} are Node wrappers (bin.mjs) that spawn the real binary and always exit
# 0, so a failing `forge test` through them would pass `make test` and CI. Put the real binaries' folders on PATH
# instead (never node_modules/.bin); tests/python/test_make_exit_status.py proves a failing forge test fails make.
FOUNDRY_OS := $(shell uname -s | tr '[:upper:]' '[:lower:]')
FOUNDRY_ARCH := $(subst x86_64,amd64,$(subst aarch64,arm64,$(shell uname -m)))
FOUNDRY_BIN_DIRS := $(foreach tool,anvil forge cast,$(CURDIR)/node_modules/@foundry-rs/$(tool)-$(FOUNDRY_OS)-$(FOUNDRY_ARCH)/bin)
empty :=
space := $(empty) $(empty)
# The venv's vyper must come first on PATH: forge compiles Vyper with whatever `vyper` it finds.
export PATH := $(CURDIR)/$(BIN):$(subst $(space),:,$(FOUNDRY_BIN_DIRS)):$(PATH)

.PHONY: help setup demo test lint typecheck pytest forge-test foundry-paths bench lock clean

help:
	@echo "make demo   set up, then run the demo on an embedded Anvil"
	@echo "make test   set up, then run ruff, mypy, pytest and forge test"
	@echo "make bench  run the benchmarks under bench/"
	@echo "make lock   re-resolve requirements.lock from pyproject.toml"

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.lock pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "error: no python3.11 on PATH; install Python 3.11 and retry" >&2; exit 1; fi
	@"$(PYTHON)" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
		{ echo "error: $(PYTHON) is not Python 3.11; run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	@echo "installing Python dependencies from requirements.lock (hash-checked)"
	@$(PIP) install --require-hashes -r requirements.lock
	@$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20 and npm" >&2; exit 1; }
	@echo "installing Foundry 1.7.1 (anvil, forge, cast) from npm"
	@# `npm ci` rejects this lock: npm leaves the other platforms' optional binary packages out of it.
	@npm install --no-save --no-audit --no-fund --loglevel=error
	@for dir in $(FOUNDRY_BIN_DIRS); do tool=$$(basename $$(dirname $$dir)); tool=$${tool%%-*}; \
		test -x "$$dir/$$tool" || { echo "error: npm installed no $$tool binary at $$dir" >&2; \
		echo "fix: check that @foundry-rs/$$tool-$(FOUNDRY_OS)-$(FOUNDRY_ARCH) exists for this platform, then rerun make setup" >&2; exit 1; }; done
	@touch $@

demo: setup
	@$(BIN)/settlekit demo

lint: setup
	$(BIN)/ruff check pytools tests bench
	$(BIN)/ruff format --check pytools tests bench

typecheck: setup
	$(BIN)/mypy

forge-test: setup
	$(BIN)/settlekit build
	@$(MAKE) --no-print-directory -s foundry-paths >/dev/null
	forge test

# Where make finds each Foundry tool; fails if one is npm's wrapper (a failing test through it would exit 0).
foundry-paths:
	@for tool in forge anvil cast; do found=$$(command -v $$tool || true); \
		case "$$found" in */node_modules/.bin/*|"") echo "error: $$tool on PATH is '$$found', not the real binary" >&2; \
		echo "fix: run make setup (it installs @foundry-rs/$$tool-$(FOUNDRY_OS)-$(FOUNDRY_ARCH))" >&2; exit 1;; esac; \
		echo "$$tool $$found"; done

pytest: setup
	$(BIN)/pytest

test: lint typecheck forge-test pytest

bench: setup
	$(BIN)/python bench/run_all.py

lock:
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	@$(PIP) install uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--prerelease=if-necessary-or-explicit --no-header --custom-compile-command "make lock" -o requirements.lock

clean:
	rm -rf out cache .settlekit .pytest_cache .mypy_cache .ruff_cache
