# Two commands do everything on a fresh machine with Python >= 3.11:
#   make run    create .venv, install the locked dependencies, run the main job
#   make test   same bootstrap, then the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench dev clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python >= 3.11 is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/meetergo-pipeline run

test: install
	$(BIN)/ruff check meetergo_pipeline meetergo_pipeline_tests bench
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check meetergo_pipeline meetergo_pipeline_tests bench
	$(BIN)/ruff format --check meetergo_pipeline meetergo_pipeline_tests bench

bench: install
	$(BIN)/python -m bench

dev: install
	DAGSTER_HOME=$(CURDIR) $(BIN)/dagster dev -w workspace.yaml

lock:
	$(PYTHON) -m pip install --quiet uv && $(PYTHON) -m uv pip compile pyproject.toml --extra dev -o requirements.lock

clean:
	rm -rf $(VENV) data/*.duckdb data/dagster_home
