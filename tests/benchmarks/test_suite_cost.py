"""The suite's cost table: bounds separated from the run that paid them, then projected."""

import pandas as pd
import pytest

from benchmarks.suite_cost import cost_table


def _walls(rows):
    return pd.DataFrame(rows, columns=["scenario", "agent", "seed", "train_steps", "train_s",
                                       "eval_s"])  # fmt: skip


def test_the_first_evaluation_of_a_scenario_pays_its_bounds_once() -> None:
    walls = _walls([
        ("paper", "aif", 0, 100, 10.0, 52.0),  # computed the bounds: 50 s more than seed 1
        ("paper", "aif", 1, 100, 12.0, 2.0),
        ("paper", "random", 0, 100, 0.0, 1.0),
        ("paper", "random", 1, 100, 0.0, 1.0),
    ])  # fmt: skip
    table = cost_table(walls, seeds=5, jobs=2).set_index("item")["seconds"]
    assert table["bounds:paper"] == pytest.approx(50.0)
    # One seed of aif: the median of its two units with the bounds taken out, (12 + 14) / 2.
    assert table["seed:aif"] == pytest.approx(13.0)
    assert table["total:one_seed"] == pytest.approx(14.0)
    assert table["projection:5_seeds_2_jobs"] == pytest.approx((50.0 + 5 * 14.0) / 2)


def test_one_seed_alone_reports_no_bound_cost() -> None:
    walls = _walls([("paper", "aif", 0, 100, 10.0, 52.0)])
    table = cost_table(walls, seeds=1, jobs=1).set_index("item")["seconds"]
    assert not any(item.startswith("bounds:") for item in table.index)
    assert table["total:bounds"] == 0.0 and table["seed:aif"] == pytest.approx(62.0)
