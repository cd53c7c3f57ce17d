"""Test-suite wide settings: which tests ``make test-fast`` leaves out (marker ``slow``).

Tests mark themselves with ``@pytest.mark.slow``; the modules below are marked here as a
whole because every test in them trains an agent, runs the harness end to end, solves the
bound's LP or runs many hypothesis examples (each takes seconds on a 2-core machine). ``make
test`` (CI) runs them all; ``make test-fast`` (the edit loop) deselects them.
"""

from __future__ import annotations

import pytest

SLOW_MODULES = (
    "tests/agents/test_aif.py",  # trains the AIF agent
    "tests/agents/test_baselines.py",  # trains PPO, SAC, QR-DQN, Rainbow, GP-NFSP
    "tests/agents/test_bound.py",  # LP bounds of whole episodes
    "tests/agents/test_bound_invariants.py",  # hypothesis: LP bound per example
    "tests/benchmarks/test_harness.py",  # harness runs and sweeps end to end
    "tests/cloudedge/test_invariants.py",  # hypothesis: many seeded episodes
    "tests/cloudedge/test_paper_facts.py",  # whole episodes over several seeds
)

#: Single tests that take seconds (node ids).
SLOW_TESTS = (
    "tests/cloudedge/test_profiler.py::test_profile_writes_a_loadable_csv",  # runs a small model
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path in SLOW_MODULES or item.nodeid in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
