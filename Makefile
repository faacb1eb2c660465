# RealtimeHub test entry points. See Docs/testing.md.
#
#   make test          every test: swift build + swift test, then the python interop suite
#   make swift-test    swift build + swift test (all Swift test targets)
#   make interop       .venv (from PyPI) + hub binary + pytest Tests/Interop
#   make fuzz-short    libFuzzer targets (Tests/Fuzz), a few seconds each (part of make test)
#   make conformance   official Engine.IO v4 / Socket.IO v5 suites, local only (needs CONFORMANCE_DIR)
#   make bench-venv    Benchmarks/peers/.venv: the benchmark peers + matplotlib (Docs/benchmarks.md)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := test

SWIFT        ?= swift
PYTHON       ?= python3
VENV         ?= .venv
PYTEST_ARGS  ?=
INTEROP_REQS := Tests/Interop/requirements.txt
VENV_STAMP   := $(VENV)/.requirements-installed
# modules that must import from the venv (python-socketio[client] brings requests + websocket-client;
# sseclient-py and selenium are for the /sse tests, cryptography for the identity-provider tokens)
VENV_CHECK   := import socketio, engineio, requests, websocket, sseclient, selenium, pytest, pytest_timeout, cryptography

.PHONY: test swift-test build hub venv interop conformance clean-venv help fuzz-short fuzz

help:
	@sed -n '3,9p' Makefile

## every test. Both layers run even if the first fails, so a log shows both summaries; the exit
## status is non-zero if either failed.
test:
	@swift=ok; interop=ok; fuzz=ok; \
	$(MAKE) --no-print-directory swift-test || swift=FAILED; \
	$(MAKE) --no-print-directory interop || interop=FAILED; \
	$(MAKE) --no-print-directory fuzz-short || fuzz=FAILED; \
	echo "make test: swift $$swift, interop $$interop, fuzz-short $$fuzz"; \
	[ $$swift = ok ] && [ $$interop = ok ] && [ $$fuzz = ok ]

swift-test: build
	$(SWIFT) test

build:
	$(SWIFT) build

hub:
	$(SWIFT) build --product hub

## .venv: created if missing or broken; packages installed when requirements.txt changed or an
## import fails. Otherwise this costs one python start-up.
venv:
	@if ! $(VENV)/bin/python -c 'import sys' >/dev/null 2>&1; then \
	  echo "creating $(VENV)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	@if [ ! -f $(VENV_STAMP) ] || [ $(INTEROP_REQS) -nt $(VENV_STAMP) ] \
	    || ! $(VENV)/bin/python -c '$(VENV_CHECK)' >/dev/null 2>&1; then \
	  echo "installing $(INTEROP_REQS) into $(VENV)"; \
	  $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade -r $(INTEROP_REQS); \
	  $(VENV)/bin/python -c '$(VENV_CHECK)'; \
	  touch $(VENV_STAMP); fi
	@$(VENV)/bin/python -m pip list --disable-pip-version-check 2>/dev/null \
	  | awk 'tolower($$1) ~ /^(python-socketio|python-engineio|websocket-client|requests|pytest)$$/ {printf "%s %s  ", $$1, $$2} END {print ""}'

interop: venv hub
	HUB_BIN="$$($(SWIFT) build --show-bin-path)/hub" $(VENV)/bin/python -m pytest Tests/Interop $(PYTEST_ARGS)

## The official suites are fetched code and never live in this repository: CONFORMANCE_DIR names a
## directory you prepared yourself (Docs/testing.md) whose run.sh runs them against $HUB.
conformance:
	@if [ -z "$${CONFORMANCE_DIR:-}" ] || [ ! -x "$${CONFORMANCE_DIR}/run.sh" ]; then \
	  echo "make conformance: set CONFORMANCE_DIR to a directory with the official suites and an"; \
	  echo "executable run.sh (extract the suites from the socket.io repository yourself;"; \
	  echo "see Docs/testing.md, 'Official conformance suites')."; \
	  exit 2; fi
	$(SWIFT) build --product hub
	HUB="$$($(SWIFT) build --show-bin-path)/hub" "$${CONFORMANCE_DIR}/run.sh"

clean-venv:
	rm -rf $(VENV)

## The benchmark peers (python-socketio + uvicorn, Flask-SocketIO) and the plot script's matplotlib,
## pinned in Benchmarks/peers/requirements.txt; used by `hub-bench compare` and Benchmarks/plot.py.
BENCH_VENV  := Benchmarks/peers/.venv
BENCH_REQS  := Benchmarks/peers/requirements.txt
BENCH_STAMP := $(BENCH_VENV)/.requirements-installed

.PHONY: bench-venv
bench-venv:
	@if ! $(BENCH_VENV)/bin/python -c 'import sys' >/dev/null 2>&1; then \
	  echo "creating $(BENCH_VENV)"; rm -rf $(BENCH_VENV); $(PYTHON) -m venv $(BENCH_VENV); fi
	@if [ ! -f $(BENCH_STAMP) ] || [ $(BENCH_REQS) -nt $(BENCH_STAMP) ]; then \
	  echo "installing $(BENCH_REQS) into $(BENCH_VENV)"; \
	  $(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(BENCH_REQS); \
	  $(BENCH_VENV)/bin/python -c 'import socketio, uvicorn, flask_socketio, simple_websocket, matplotlib'; \
	  touch $(BENCH_STAMP); fi

## libFuzzer targets (Tests/Fuzz, Docs/reliability.md "Fuzzing"). fuzz-short is the CI run: a few
## seconds per target, built with -sanitize=fuzzer only (no ASan: a cheaper build for CI); the long
## runs are by hand: `Tests/Fuzz/run.sh --runs 10000000 <target>`.
FUZZ_SECONDS  ?= 5
FUZZ_SANITIZE ?= fuzzer

fuzz-short:
	Tests/Fuzz/run.sh --seconds $(FUZZ_SECONDS) --sanitize $(FUZZ_SANITIZE)

fuzz:
	Tests/Fuzz/run.sh --runs 10000000
