# The two commands a newcomer runs: `make demo` and `make test`.
SHELL := /bin/bash
SHARED_DATA := $(abspath ../shared/data)
export SHOOTOUT_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: setup demo test lint

setup:
	bash scripts/setup.sh

# Set up, then run the quick multiple-choice suite on the embedded model (no key, no network).
demo: setup
	.venv/bin/shootout run --model local --benchmarks quick --limit 100

# Set up, then run the whole test suite (real llama.cpp, real local HTTP servers).
test: setup
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check src tests benchmarks
