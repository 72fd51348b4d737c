# ksys — the two commands a fresh machine needs:
#   make demo   run the dashboard on a local PostgreSQL filled by the simulator
#   make test   run the whole test suite (database, data layer, pages in Chromium)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test test-fast lint demo system-deps clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

system-deps:
	sh scripts/install-system-deps.sh

# ruff first (seconds); pytest exits 5 when it collected nothing: that is a failure here.
test: system-deps $(STAMP)
	@$(PY) -m ruff check .
	@$(PY) -m pytest -ra --durations=20 $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# KSYS_DATA_DIR (default .ksys/), KSYS_PORT (default 3000), KSYS_DEMO_EXIT_AFTER_READY=1
demo: system-deps $(STAMP)
	@$(PY) -m ksys_dev.demo

# pure-function tests only (no database, no browser)
test-fast: $(STAMP)
	$(PY) -m pytest -q tests/domain

lint: $(STAMP)
	$(PY) -m ruff check .

# benchmarks (bench/README.md): results in bench/results/, tables in bench/README.md
.PHONY: bench bench-quick
bench: system-deps $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: system-deps $(STAMP)
	$(PY) -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .web .states test-output
