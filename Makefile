PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install install-test test lint format bench demo doc new_connector

install:
	$(PIP) install --quiet -e ".[all]"

install-test: install
	$(PIP) install --quiet -r requirements-testing.txt

test: install-test
	bash scripts/ensure_services.sh
	$(PYTHON) -m pytest

lint: install-test
	$(PYTHON) -m ruff check toucan_connectors tests
	$(PYTHON) -m ruff format --check toucan_connectors tests
	$(PYTHON) -m mypy

format:
	$(PYTHON) -m ruff check --fix toucan_connectors tests
	$(PYTHON) -m ruff format toucan_connectors tests

# Every benchmarks/bench_*.py, one after the other; each prints its numbers against its targets.
bench:
	set -e; for script in benchmarks/bench_*.py; do \
		echo "== $$script"; $(PYTHON) $$script; \
	done

# The main job from a fresh clone: query the bundled SQLite sample with a templated parameter
# (min_rain) and a permission (rows since a date), printed as a table.
demo:
	$(PIP) install --quiet -e ".[sqlite,cli]"
	$(PYTHON) -m toucan_connectors.cli query examples/demo.yaml rainy_days \
		--param min_rain=20 --param since=2015-01-01 \
		--permissions '{"column": "date", "operator": "ge", "value": "{{ since }}"}'

doc:
	$(PYTHON) doc/generate.py --all

# "$$type" is read from the environment (make exports command-line variables), so the shell
# never parses the name itself.
new_connector:
	@test -n "$$type" || { echo "usage: make new_connector type=MyType" >&2; exit 2; }
	$(PYTHON) scripts/new_connector.py "$$type"
