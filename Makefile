# Weir: `make demo` (set up everything, run the pipeline end to end, print what happened) and
# `make test` (the whole suite, real Kafka, Spark and Delta included). See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-weir
# Airflow has its own venv (its pins, e.g. fastapi, differ from Weir's); the set is pinned by `pip freeze`.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_REQS := orchestration/requirements-airflow.txt
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-airflow
# What `weir tools` builds itself (its GoInstall route) lives in $WEIR_HOME/tools/bin: on PATH for every recipe.
export PATH := $(abspath $(or $(WEIR_HOME),.weir))/tools/bin:$(PATH)

.PHONY: help prereqs install jars tools airflow-venv demo up down status test lint unit bench clean

help:
	@echo "make demo   set up everything, start the local stack, post events, print what happened"
	@echo "make test   lint, types, import contracts, and the whole test suite (installs what it needs)"
	@echo "make airflow-venv   Airflow 3's own venv (.venv-airflow) for \`weir airflow up\` and the DAG tests"
	@echo "make up | down | status | bench | clean"

prereqs:
	@command -v $(PYTHON) >/dev/null || { echo "Weir needs Python 3.11 ($(PYTHON) not found; PYTHON=... to choose)"; exit 1; }
	@command -v java >/dev/null || { echo "Weir needs Java 17 (java not found; Debian: apt-get install openjdk-17-jdk-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Weir needs Maven (mvn not found; Debian: apt-get install maven)"; exit 1; }

$(STAMP): pyproject.toml | prereqs
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(AIRFLOW_STAMP): $(AIRFLOW_REQS) | prereqs
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install -q --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install -q -r $(AIRFLOW_REQS)
	@touch $(AIRFLOW_STAMP)

airflow-venv: $(AIRFLOW_STAMP)

jars: install
	$(BIN)/weir jars

# The command-line tools the suite runs (promtool): found, else installed (apt-get as root), else one clear line.
tools: install
	$(BIN)/weir tools

demo: jars airflow-venv
	$(BIN)/weir demo

up: jars
	$(BIN)/weir up

down: install
	$(BIN)/weir down

status: install
	$(BIN)/weir status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint jars tools airflow-venv
	$(BIN)/pytest --durations=30

unit: install tools
	$(BIN)/pytest -m "not integration and not e2e"

bench: jars
	@set -e; shopt -s nullglob; benches=(bench/[!_]*.py); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks yet"; fi; \
	for b in "$${benches[@]}"; do echo "== $$b"; $(BIN)/python "$$b"; done

clean:
	-$(BIN)/weir down
	rm -rf .weir/run .weir/logs .weir/kafka .weir/lake .weir/checkpoints
