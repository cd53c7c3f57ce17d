# Every target installs what it needs into a local virtualenv (.venv) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint reproduce reproduce-quick regress regress-update clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The whole suite (what CI runs).
test: $(STAMP)
	$(BIN)/python -m pytest

# The edit loop: everything but the tests marked slow (pyproject.toml [tool.pytest]).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The full protocol (all agents, 5 seeds, train + tmax + load, figures, summary) into results/.
reproduce: $(STAMP)
	$(BIN)/python -m benchmarks.reproduce

# The same pipeline at a reduced budget, into outputs/quick/ (used by tests and CI).
reproduce-quick: $(STAMP)
	$(BIN)/python -m benchmarks.reproduce --quick

# Fixed-seed reduced benchmark vs results/reference/ (exit 1 on a regression).
regress: $(STAMP)
	$(BIN)/python -m benchmarks.regress check

# Rewrite the references after a deliberate change; prints what moved.
regress-update: $(STAMP)
	$(BIN)/python -m benchmarks.regress update

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
