"""scripts/suite_stats.py: helpers not covered by the suite's end-to-end tests
(tests/benchmarks/test_suite.py)."""

import pandas as pd
import pytest

from scripts.suite_stats import scenario_bound


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
