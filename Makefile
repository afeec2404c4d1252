# Everyday verbs. Only python3 (3.11) is needed: uv is bootstrapped into .tools/ and the
# locked dependencies are installed into .venv/, compiled to bytecode once (where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile Dagster, dbt and GX
# again, seconds of each run).
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export DAGSTER_HOME ?= $(CURDIR)/.dagster

.PHONY: setup browser java run test bench lint format ui clean

setup: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# --group spark: pyspark and dbt-spark, for the dbt project on Spark (profiles target
# spark_local and its test); about 350 MB of the venv, most of it pyspark's bundled jars
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --group spark --compile-bytecode --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')"
	touch $@

## run: build the warehouse for the latest landed business date (demo data if nothing landed)
run: setup
	@if ! ls landing/sales/sales_*.csv >/dev/null 2>&1; then \
		echo "nothing has landed in landing/: generating demo extracts"; \
		$(BIN)/crm-pipeline generate --out landing; \
	fi
	$(BIN)/crm-pipeline run
	@echo
	@echo "Warehouse for BI tools: $(CURDIR)/warehouse/crm.duckdb (schema reporting, open read-only)"
	@echo "Extracts read from:     $(CURDIR)/landing"
	@echo "Dagster runs and logs:  make ui, then http://127.0.0.1:3000"

## browser: Debian's Chromium, for the test that renders the auditors' report (root + apt)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		 >/dev/null) || echo "could not install chromium: the report rendering test will skip"; \
	else echo "no chromium and no root apt-get: the report rendering test will skip"; fi; }

## java: Debian's OpenJDK 17, for the dbt project on a local Spark (root + apt)
java:
	@command -v java >/dev/null 2>&1 || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		 openjdk-17-jre-headless >/dev/null) || echo "could not install Java: the Spark tests will skip"; \
	else echo "no java and no root apt-get: the Spark tests will skip"; fi; }

## test: the whole test suite (unit and integration; the Spark engine's too)
test: setup browser java
	$(BIN)/pytest

## bench: time the pipeline against plain DuckDB floors (SIZES=S,M,L), then the one-day run
## against history length (HISTORY_DAYS; empty to skip); figures into README
bench: setup
	SIZES=$${SIZES-S,M} HISTORY_DAYS=$${HISTORY_DAYS-365,730,2190} $(BIN)/python benchmarks/bench.py

## lint: ruff (lint and format check) on the Python code, sqlfluff (dbt templater) on the dbt
## models and tests; they render against an in-memory database, never the warehouse
lint: setup
	$(BIN)/ruff check pipelines tests scripts
	$(BIN)/ruff format --check pipelines tests scripts
	CRM_WORK_DB=:memory: $(BIN)/sqlfluff lint dbt_project

format: setup
	$(BIN)/ruff format pipelines tests
	$(BIN)/ruff check --fix pipelines tests

## ui: the Dagster UI on the instance the CLI records its runs in
ui: setup
	$(BIN)/python -c 'import os, pathlib; from pipelines.runner import write_instance_config; write_instance_config(pathlib.Path(os.environ["DAGSTER_HOME"]))'
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) .tools dbt_project/target dbt_project/logs
