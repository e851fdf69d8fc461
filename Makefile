# secmon — run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.secmon-installed

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(STAMP) ## Create .venv and install secmon with its test extras

services: ## Install Prometheus/Alertmanager (Debian) and start PostgreSQL/Redis if stopped
	@scripts/ensure-services.sh

run: venv ## Start the demo: fake platforms, exporter, bridge, Prometheus, Alertmanager
	$(PY) scripts/run_demo.py

test: venv services ## Install what the tests need and run the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff (lint + format check) and mypy strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: venv services ## Run the benchmarks (numbers recorded in docs/benchmarks.md)
	$(PY) benchmarks/detection/bench_engine.py
	$(PY) benchmarks/exporter/bench_metrics.py
	$(PY) -m benchmarks.bridge.bench_stages --passes 40 --rounds 5
	$(PY) benchmarks/bridge/bench_webhook.py --store sqlite --duration 30 --wait-idle 120 --markdown docs/benchmarks.md
	$(PY) benchmarks/bridge/bench_webhook.py --store postgres --redis --duration 30 --wait-idle 120 --markdown docs/benchmarks.md
	$(PY) benchmarks/bridge/bench_webhook.py --store postgres --redis --duration 30 --rate 5000 --wait-idle 120 --markdown docs/benchmarks.md
	$(PY) benchmarks/bridge/bench_webhook.py --store postgres --redis --workers 2 --duration 30 --wait-idle 120 --markdown docs/benchmarks.md
	$(PY) -m benchmarks.notify.bench_fanout --alerts 1000
	$(PY) -m benchmarks.escalation.bench_tick --alerts 100000 --due 100
	$(PY) -m benchmarks.escalation.bench_tick --alerts 100000 --due 100 --postgres postgresql://postgres@127.0.0.1:5432/postgres
	$(PY) -m benchmarks.bridge.bench_retention --alerts 50000
	$(PY) -m benchmarks.bridge.bench_retention --alerts 50000 --postgres postgresql://postgres@127.0.0.1:5432/postgres

bench-soak: venv services ## Five-minute bridge runs (PostgreSQL + Redis, SQLite) showing memory stays flat
	$(PY) benchmarks/bridge/bench_webhook.py --store postgres --redis --duration 300 --rss-interval 10 --markdown docs/benchmarks.md
	$(PY) benchmarks/bridge/bench_webhook.py --store sqlite --duration 300 --rss-interval 10 --label 'SQLite, 300 s' --markdown docs/benchmarks.md

bench-anomaly: venv ## NAB score of the default anomaly detector (NAB=/path/to/NAB) and its scoring cost
	@mkdir -p .run
	nice -n 19 $(PY) benchmarks/anomaly/run_nab.py $(if $(NAB),--data $(NAB),) --markdown .run/bench-anomaly-nab.md
	nice -n 19 $(PY) benchmarks/anomaly/bench_scoring.py --series 1000 --interval 60

rules: venv ## Recompile rules/ into prometheus/rules/secmon-detections.yml
	$(VENV)/bin/secmon-exporter rules compile rules/ -o prometheus/rules/secmon-detections.yml

clean: ## Remove the virtualenv, caches and demo state
	rm -rf $(VENV) .run .mypy_cache .ruff_cache .pytest_cache .hypothesis

.PHONY: help venv services run test lint bench bench-soak bench-anomaly rules clean
