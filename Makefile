# Every target installs what it needs into a local virtualenv (.venv) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-fast lint reproduce reproduce-quick regress regress-update benchmark benchmark-agents benchmark-quick tune tune-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The whole suite (what CI runs), one pytest-xdist worker per CPU: tests share no files
# (each writes under its own tmp_path), so they may run side by side.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

# The edit loop: everything but the tests marked slow (pyproject.toml [tool.pytest]).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The full protocol (all agents, 5 seeds, train + tmax + load, figures, summary) into results/
# (named here: nothing else writes the committed results/).
reproduce: $(STAMP)
	$(BIN)/python -m benchmarks.reproduce --results results

# The same pipeline at a reduced budget, into outputs/quick/ (used by tests and CI).
reproduce-quick: $(STAMP)
	$(BIN)/python -m benchmarks.reproduce --quick

# Fixed-seed reduced benchmark vs results/reference/ (exit 1 on a regression).
regress: $(STAMP)
	$(BIN)/python -m benchmarks.regress check

# Rewrite the references after a deliberate change; prints what moved.
regress-update: $(STAMP)
	$(BIN)/python -m benchmarks.regress update

# The scenario suite (cloudedge/scenarios/env/*.yaml, benchmarks/suite.py): every agent x every
# scenario x 5 seeds in 2 worker processes, scored as a fraction of each episode's upper bound;
# runs under outputs/suite/ (a rerun resumes), tables, figures and rliable aggregates into the
# committed results/suite/ (named here and in benchmark-agents: nothing else writes it); then
# results/README.md's suite section (summarize keeps the wall time make reproduce recorded).
benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.suite --jobs 2
	$(BIN)/python scripts/suite_stats.py --scores outputs/suite/scores.csv --runs outputs/suite --dest results/suite --command "make benchmark"
	$(BIN)/python scripts/summarize.py --results results

# Rerun some agents of the suite after a change to them (AGENTS="aif ppo"; 5 seeds, 2 workers)
# and merge them into the committed results/suite/: every other agent keeps its rows there,
# checked to be scored on the same held-out episodes (scripts/suite_stats.py --keep).
benchmark-agents: $(STAMP)
	@test -n "$(AGENTS)" || { echo 'AGENTS: allowed one or more names of conf/agent/*.yaml, e.g. make benchmark-agents AGENTS=aif' >&2; exit 2; }
	$(BIN)/python -m benchmarks.suite --jobs 2 --agents $(AGENTS)
	$(BIN)/python scripts/suite_stats.py --scores outputs/suite/scores.csv --runs outputs/suite --keep results/suite --dest results/suite --command "make benchmark-agents AGENTS='$(AGENTS)'"
	$(BIN)/python scripts/summarize.py --results results

# The suite at a smoke-test budget (references + AIF, 2 seeds, 50-task evaluation episodes).
benchmark-quick: $(STAMP)
	$(BIN)/python -m benchmarks.suite --quick --jobs 2
	$(BIN)/python scripts/suite_stats.py --scores outputs/suite_quick/scores.csv --runs outputs/suite_quick --dest outputs/suite_quick/stats --command "make benchmark-quick"

# Equal tuning effort (benchmarks/tune.py): one Optuna study per learner (conf/tune/<agent>.yaml),
# the same trials each (conf/tuning.yaml), into results/tuning/<agent>/ and conf/agent/tuned/.
tune: $(STAMP)
	$(BIN)/python -m benchmarks.tune study --write-configs conf/agent/tuned

# The same pipeline at a smoke-test budget (2 trials of 2 episodes), into outputs/tuning_quick/.
tune-quick: $(STAMP)
	$(BIN)/python -m benchmarks.tune study --quick --work-dir outputs/tuning_quick \
		--results outputs/tuning_quick/results --write-configs outputs/tuning_quick/conf/agent/tuned

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
