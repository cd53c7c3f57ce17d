"""scripts/suite_stats.py: helpers not covered by the suite's end-to-end tests
(tests/benchmarks/test_suite.py)."""

import pandas as pd
import pytest

from scripts.suite_stats import recorded_commits, scenario_bound


def test_a_scenario_has_one_positive_bound_or_the_table_is_named() -> None:
    frame = pd.DataFrame({"scenario": ["paper", "paper", "queueing", "overload"],
                          "upper_bound": [40.0, 40.0, float("nan"), 0.0]})  # fmt: skip
    assert scenario_bound(frame, "paper", "t") == 40.0
    # A run without bounds (experiment.eval_bound=false) and a zero bound cannot score.
    for scenario in ("queueing", "overload", "tight_deadline"):
        with pytest.raises(
            ValueError, match=rf"^--keep: t has \d distinct upper bounds on {scenario}"
        ):
            scenario_bound(frame, scenario, "--keep: t")


def test_bounds_that_differ_only_in_their_last_bits_are_one_bound() -> None:
    """A bound recomputed by a later commit may round its last bit the other way (the suite's
    azure_a100_3090: 277.3203993775441 and ...442): still the same episodes. A real
    difference is refused."""
    close = pd.DataFrame({"scenario": ["azure"] * 2,
                          "upper_bound": [277.3203993775441, 277.3203993775442]})  # fmt: skip
    assert scenario_bound(close, "azure", "t") == 277.3203993775442
    apart = close.assign(upper_bound=[277.32, 277.33])
    with pytest.raises(ValueError, match=r"^t has 2 distinct upper bounds on azure"):
        scenario_bound(apart, "azure", "t")


def test_a_kept_record_is_flattened_to_its_commits_once_each() -> None:
    readme = "\n".join([
        "# Scenario suite",
        "- Command: `make benchmark-agents AGENTS='aif'`",
        "- Runs made at commit: `57cfcaae01ba` (90 runs), `c927a959cabd` (10 runs).",
        "- Kept from `results/suite` (`--keep`, not rerun): ppo (650 units), as that folder had "
        "them (its record: Runs made at commit: `27aecc573e06` (100 runs) Kept from "
        "`results/suite` (its record: Runs made at commit: `57cfcaae01ba` (100 runs), "
        "`cfbe2db75d3a-dirty` (18 runs))).",
        "- Scored at commit: `0000000000aa`",
    ])  # fmt: skip
    assert recorded_commits(readme) == [
        "57cfcaae01ba", "c927a959cabd", "27aecc573e06", "cfbe2db75d3a-dirty"
    ]  # fmt: skip
    assert recorded_commits("# Scenario suite\n") == []
