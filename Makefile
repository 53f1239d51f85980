# campuswatch — `make demo` runs the whole system locally, `make test` runs every check.
# Both set themselves up: a virtualenv in .venv and the mosquitto/influxd/socat programs.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup programs test lint typecheck pytest demo bench dashboards clean audit docs screenshots

setup: $(STAMP) programs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

programs:
	@bash deploy/ensure-programs.sh

CODE := campuswatch gateway ingest dashboards demo tests tools

lint: $(STAMP)
	$(PY) -m ruff check $(CODE)
	$(PY) -m ruff format --check $(CODE)
	$(VENV)/bin/lint-imports

# Known vulnerabilities of the installed packages, from PyPI's advisory API (needs access to
# it; `make test` checks the floors of the known ones in tests/test_dependencies.py).
audit: $(STAMP)
	$(VENV)/bin/pip-audit --skip-editable --progress-spinner off --strict

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: setup
	$(PY) -m pytest --durations=15

test: setup lint typecheck pytest

# The demo package lives in the checkout, beside the product (not installed with it).
demo: setup
	PYTHONPATH=$(CURDIR) $(VENV)/bin/campus-ingest demo

dashboards: $(STAMP)
	$(PY) -m dashboards.build

# The configuration reference (docs/reference), from the config models.
docs: $(STAMP)
	$(PY) -m tools.configref

# The guides' pictures (docs/img), from the demo's browser test.
screenshots: setup
	$(PY) -m pytest -q tests/test_demo.py -k stores_readings
	$(PY) -m tools.screenshots

bench: setup
	$(PY) -m tests.bench.bench_ingest
	$(PY) -m tests.bench.bench_hotpath
	$(PY) -m tests.bench.bench_alerts
	$(PY) -m tests.bench.bench_gateway
	$(PY) -m tests.bench.bench_dashboards
	$(PY) -m tests.bench.bench_reports
	$(PY) -m tests.bench.bench_camera
	$(PY) -m tests.bench.bench_console
	$(PY) -m tests.bench.bench_duty
	$(PY) -m tests.bench.bench_hostile
	$(PY) -m tests.bench.bench_derived
	$(PY) -m tests.bench.bench_chaos --minutes 30
	$(PY) -m tests.bench.bench_soak --minutes 30
	$(PY) -m tests.bench.bench_district --minutes 10
	CAMPUSWATCH_CRASH_ITERATIONS=100 $(PY) -m pytest -q -s --timeout 3600 tests/crash
	CAMPUSWATCH_LONG_PROPERTIES=1 $(PY) -m pytest -q tests/ingest/test_whole_path_properties.py \
		tests/gateway/sources/test_parser_properties.py tests/test_config_properties.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
