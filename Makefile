# settlekit: one entry point for setting up, running the demo and testing.
# `make demo` and `make test` are the README's quick start; both set everything up first and are idempotent.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.settlekit-installed
RUNTIME_STAMP := $(VENV)/.settlekit-runtime
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

.PHONY: help setup setup-runtime demo test test-fast lint typecheck pytest pytest-fast forge-test foundry-paths \
	vyper-lib bench lock clean

help:
	@echo "make demo       set up the runtime only (requirements.lock), then run the demo on an embedded Anvil"
	@echo "make test       set up (requirements-dev.lock), then ruff, mypy, forge test and pytest (parallel)"
	@echo "make test-fast  the inner loop: ruff, then pytest without the slow tests (parallel); no forge suite"
	@echo "make bench      run the benchmarks under bench/"
	@echo "make lock       re-resolve requirements-dev.lock and requirements.lock from pyproject.toml"
	@echo "make vyper-lib  copy contracts/modules into the package (settlekit.vyper) after changing a module"

# Two hash-checked locks: requirements.lock holds the runtime (what `make demo` needs), requirements-dev.lock adds
# the extras ([postgres], [fuzz], [tester]) and the dev tools (pytest, ruff, mypy). The dev set includes the runtime.
setup: $(PY_STAMP) $(NODE_STAMP)
setup-runtime: $(RUNTIME_STAMP) $(NODE_STAMP)

define make_venv
	@if [ -z "$(PYTHON)" ]; then echo "error: no python3.11 on PATH" >&2; echo "fix: install Python 3.11 and retry" >&2; exit 1; fi
	@"$(PYTHON)" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || \
		{ echo "error: $(PYTHON) is not Python 3.11" >&2; echo "fix: run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 1; }
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
endef

$(PY_STAMP): requirements-dev.lock pyproject.toml
	$(make_venv)
	@echo "installing Python dependencies from requirements-dev.lock (hash-checked)"
	@$(PIP) install --require-hashes -r requirements-dev.lock
	@$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@ $(RUNTIME_STAMP)

$(RUNTIME_STAMP): requirements.lock pyproject.toml
	$(make_venv)
	@echo "installing the runtime from requirements.lock (hash-checked; no dev tools)"
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

demo: setup-runtime
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

# pytest-xdist: one worker per core (`-n auto`), whole files per worker (`--dist loadfile`) so a module's costly
# fixtures (a planted project's build, the wheel) are made once; builds shared by workers take turns on
# .settlekit/build.lock and forge's cache compiles each contract once. forge test runs suites on its own threads.
PYTEST_WORKERS ?= auto
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist loadfile

pytest: setup
	$(BIN)/pytest $(PYTEST_XDIST)

pytest-fast: setup
	$(BIN)/pytest $(PYTEST_XDIST) -m "not slow" -q

test: lint typecheck forge-test pytest

test-fast: lint pytest-fast

# The wheel ships copies of the reusable modules (pytools/settlekit/vyper); contracts/modules is the source.
vyper-lib: setup-runtime
	$(BIN)/python -m settlekit.vyper --sync contracts/modules

bench: setup
	$(BIN)/python bench/run_all.py

# The runtime lock is resolved after the dev lock and keeps its pins (uv prefers the versions already in -o), so
# the two never disagree; setuptools is in both because `pip install -e . --no-build-isolation` needs it.
UV_COMPILE = $(BIN)/uv pip compile --python-version 3.11 --generate-hashes --prerelease=if-necessary-or-explicit \
	--no-header --custom-compile-command "make lock"
lock:
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	@$(PIP) install uv
	$(UV_COMPILE) pyproject.toml --extra dev -o requirements-dev.lock
	@cp requirements-dev.lock requirements.lock
	echo "setuptools>=68" | $(UV_COMPILE) pyproject.toml - -o requirements.lock

clean:
	rm -rf out cache build .settlekit .pytest_cache .mypy_cache .ruff_cache
