# The two commands a newcomer runs: `make demo` and `make test`.
SHELL := /bin/bash
SHARED_DATA := $(abspath ../shared/data)
export SHOOTOUT_DATA ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)

.PHONY: setup demo test lint

setup:
	bash scripts/setup.sh

# Set up, then put the two embedded models head to head on the quick suite (no key, no
# network) and write out/report.md and out/report.html.
demo: setup
	bash scripts/demo.sh

# Set up, then lint (ruff, mypy) and run the whole test suite (real llama.cpp, real local
# HTTP servers).
# Bytecode is cached outside the checkout even where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines): the suite starts hundreds of Python processes.
test: setup
	$(MAKE) --no-print-directory lint
	env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX="$${TMPDIR:-/tmp}/shootout-pycache" \
		.venv/bin/python -m pytest -q --durations=30

# mypy's cache outside the checkout too: a fresh clone then checks in seconds, not ~30 s
lint:
	.venv/bin/ruff check src tests benchmarks
	MYPY_CACHE_DIR="$${TMPDIR:-/tmp}/shootout-mypy-cache" .venv/bin/mypy src/shootout
