# Two commands do everything on a fresh machine with Python >= 3.11:
#   make run    create .venv, install the locked dependencies, run the main job
#   make test   same bootstrap, then ruff (lint and format), mypy and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := meetergo_pipeline meetergo_pipeline_tests bench
PIP := $(BIN)/pip --quiet --disable-pip-version-check
# `make lock` resolves with uv from a throwaway venv, so neither the system interpreter nor
# .venv gets anything installed.
LOCK_VENV := .tmp/lock-venv

# The DuckLake warehouse runs on DuckDB 1.5.5 (see docs/deployment.md), in its own venv.
LAKE_VENV := .venv-lake
LAKE_STAMP := $(LAKE_VENV)/.installed

.PHONY: install run test test-fast test-lake lint format typecheck bench dev lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(LAKE_STAMP): requirements-lake.lock pyproject.toml
	$(PYTHON) -m venv $(LAKE_VENV)
	$(LAKE_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-lake.lock
	$(LAKE_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(LAKE_STAMP)

run: install
	$(BIN)/meetergo-pipeline run

test: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/python -m mypy meetergo_pipeline
	$(BIN)/pytest -q
	$(MAKE) test-lake

# The lake tests on the lake's DuckDB, with real PostgreSQL and an S3 server on loopback; here
# they must run (MEETERGO_LAKE_TESTS_REQUIRED), in the main venv they skip saying why.
test-lake: $(LAKE_STAMP)
	MEETERGO_LAKE_TESTS_REQUIRED=1 $(LAKE_VENV)/bin/pytest -q meetergo_pipeline_tests/test_ducklake.py

test-fast: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

format: install
	$(BIN)/ruff format $(SOURCES)

typecheck: install
	$(BIN)/python -m mypy meetergo_pipeline

bench: install
	$(BIN)/python -m bench

dev: install
	$(BIN)/meetergo-pipeline dev

lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra dev --extra postgres -o requirements.lock --python-version 3.11
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra dev --extra postgres --extra lake -o requirements-lake.lock --python-version 3.11
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(LAKE_VENV) bench/results .tmp logs .logs_queue .telemetry .nux
	rm -rf .pytest_cache .ruff_cache .mypy_cache *.egg-info
	find data -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
