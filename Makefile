# Cappuccino: the two commands are `make run` and `make test`; both set up .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-12)
TORCH := torch==2.13.0
# Three workers on two cores: the end-to-end tests spend part of their time waiting on servers, workers and
# child processes. tests/conftest.py puts the slow tests first and `--maxschedchunk 2` hands tests out two at a
# time, so the long tests start together on different workers (xdist's default first hand-out is a block of
# a quarter of the tests per worker, and worksteal a third: either put every slow test on one worker).
PYTEST_WORKERS ?= 3

export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME ?= $(CURDIR)/data/prefect
export MPLBACKEND := Agg
export OMP_NUM_THREADS ?= 1
# Large-page faults are slow on these VMs: big numpy allocations run faster without them.
export NUMPY_MADVISE_HUGEPAGE ?= 0

.PHONY: install run test test-fast bench lint clean constraints

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, the CPU build: a range that admits a newer release would pull several GB of CUDA.
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

run: install
	$(VENV)/bin/cappuccino run --config configs/quickstart.toml

test: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist load --maxschedchunk 2 --timeout 1500 tests

# For iterating: everything but the slow end-to-end tests (real Prefect servers and workers, the README's
# Prefect commands on a fresh clone, scale-out on PostgreSQL, the known-answer and supervised benchmarks).
test-fast: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist load --maxschedchunk 2 -m "not slow" tests

bench: install
	@rc=0; for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || rc=1; done; exit $$rc

# ruff (lint rules and formatting) over all Python code, mypy over every package (the list in pyproject.toml).
LINT_PATHS := cappuccino_core cappuccino_cli tasks flows tests benchmarks scripts

lint: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

# Refresh the known-good versions after a deliberate upgrade.
constraints:
	$(PY) -m pip freeze --exclude-editable | grep -v '^cappuccino' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
