# The README's two commands: `make demo` (the main job) and `make test` (the test suite).
# Both do all set-up on a fresh Debian machine: Python venv, docker engine, Elasticsearch image.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install env demo test lint typecheck unit integration docs clean

install:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

env:
	bash scripts/setup-test-env.sh

demo: install env
	bash scripts/demo.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	bash scripts/typecheck.sh

unit: install
	$(BIN)/pytest tests/unit

integration: install env
	$(BIN)/pytest tests/integration

test: install env lint typecheck
	$(BIN)/pytest

# The benchmark suite (docs/benchmarks.md): `make bench`, or `make bench BENCH_ARGS=--quick`.
.PHONY: bench
bench: install env
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
