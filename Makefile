# The README's two commands: `make demo` (the main job) and `make test` (the test suite).
# Both do all set-up on a fresh Debian machine: Python venv, docker engine, Elasticsearch image.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Supported Elasticsearch versions. SESSIONWATCH_ES_VERSION (default: the first) gets the whole
# suite; the other one the compatibility subset (pytest -m compat). See docs/elasticsearch-in-tests.md.
ES_VERSIONS := 9.5.0 8.19.7
SESSIONWATCH_ES_VERSION ?= $(firstword $(ES_VERSIONS))
ES_COMPAT_VERSION ?= $(firstword $(filter-out $(SESSIONWATCH_ES_VERSION),$(ES_VERSIONS)))
export SESSIONWATCH_ES_VERSION

# Parallel test workers (pytest-xdist): one more than the cores, at most 4 (they share one node;
# a quarter of the suite's time is spent waiting on nodes and processes, which the extra worker
# fills: docs/benchmarks.md, "Issue 15, round 6: the suite"). Tests
# of one file stay on one worker (--dist loadfile: a module's set-up is done once), and so do the
# modules sharing one of the extra nodes scripts/run-tests.sh starts up front (tests/shared_nodes.py);
# tests marked `serial` run alone afterwards.
TEST_WORKERS ?= $(shell n=$$(( $$(nproc 2>/dev/null || echo 2) + 1 )); [ "$$n" -gt 4 ] && n=4; echo $$n)
export TEST_WORKERS

.PHONY: install env demo test test-cluster lint typecheck unit integration docs clean

install:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

env:
	SESSIONWATCH_ES_VERSIONS="$(SESSIONWATCH_ES_VERSION) $(ES_COMPAT_VERSION)" bash scripts/setup-test-env.sh

demo: install
	SESSIONWATCH_ES_VERSIONS="$(SESSIONWATCH_ES_VERSION)" bash scripts/setup-test-env.sh
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

# The whole suite on SESSIONWATCH_ES_VERSION and, alongside it, the compatibility subset on the other major
# (skipped when SESSIONWATCH_ES_URL points at one given cluster: there is no other version to start).
# Each version's node is started once for the parallel workers and the serial tests.
# The three-node fault tests are `make test-cluster` (CI runs both; README, "The tests").
# lint and typecheck run while the nodes start (SESSIONWATCH_TEST_CHECKS=1) and fail the run if they fail.
test: install env
	SESSIONWATCH_TEST_CHECKS=1 ES_COMPAT_VERSION=$(ES_COMPAT_VERSION) bash scripts/run-tests.sh

# The three-node cluster tests (tests/cluster: a node killed, a rolling restart; minutes each).
test-cluster: install env
	$(BIN)/pytest -p no:xdist tests/cluster

# The benchmark suite (docs/benchmarks.md): `make bench`, or `make bench BENCH_ARGS=--quick`.
.PHONY: bench
bench: install env
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
