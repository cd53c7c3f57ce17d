"""scripts/tuning_table.py: tuned against default configs on the same seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scripts.tuning_table import compare, main, table_lines

STUDY = {"n_trials": 6, "objective": "sum_reward", "best": {"value": 30.0, "params": {"a": 1}},
         "default": {"value": 29.0}, "selected": "trial"}  # fmt: skip


def tmax_rows(agent: str, completion: list[float], t_max_s: float = 15.0) -> pd.DataFrame:
    """Two evaluation episodes per seed, seed s at ``completion[s]`` (+-0.01)."""
    rows = [
        {"agent": agent, "seed": seed, "t_max_s": t_max_s, "n_tasks": 100, "episode": k,
         "completion_rate": value + (0.01 if k else -0.01), "sum_reward": 40.0 * value}
        for seed, value in enumerate(completion) for k in range(2)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_a_clearly_better_tuned_config_is_called_better_and_a_same_one_not() -> None:
    default = pd.concat([tmax_rows("sac", [0.80, 0.82, 0.81, 0.79, 0.80]),
                         tmax_rows("ppo", [0.90, 0.88, 0.91, 0.89, 0.90])])  # fmt: skip
    tuned = pd.concat([tmax_rows("tuned/sac", [0.95, 0.96, 0.94, 0.95, 0.97]),
                       tmax_rows("tuned/ppo", [0.90, 0.88, 0.91, 0.89, 0.90]),
                       tmax_rows("tuned/sac", [0.1] * 5, t_max_s=2.0)])  # fmt: skip
    table = compare(default, tuned, {"sac": STUDY, "ppo": STUDY}, 15.0)
    by = table.set_index(["agent", "metric"])
    assert by.loc[("sac", "completion_rate"), "verdict"] == "tuned better"
    assert by.loc[("sac", "completion_rate"), "tuned"] == pytest.approx(0.9533, abs=1e-3)
    assert by.loc[("ppo", "sum_reward"), "verdict"] == "no difference"
    assert by.loc[("ppo", "completion_rate"), "difference"] == pytest.approx(0.0)
    assert set(table.metric) == {"sum_reward", "completion_rate"}
    assert (table.seeds == 5).all()


def test_a_worse_tuned_config_is_called_worse() -> None:
    default = tmax_rows("qrdqn", [0.90, 0.91, 0.92, 0.90, 0.91])
    tuned = tmax_rows("tuned/qrdqn", [0.60, 0.62, 0.61, 0.59, 0.60])
    (row,) = compare(default, tuned, {"qrdqn": STUDY}, 15.0).query("metric == 'sum_reward'")[
        "verdict"
    ]
    assert row == "tuned worse"


def test_missing_runs_or_other_seeds_are_named() -> None:
    default = tmax_rows("sac", [0.8, 0.8, 0.8])
    with pytest.raises(ValueError, match="--tuned has no run of sac"):
        compare(default, tmax_rows("tuned/ppo", [0.8] * 3), {"sac": STUDY}, 15.0)
    with pytest.raises(ValueError, match="sac: default seeds"):
        compare(default, tmax_rows("tuned/sac", [0.8, 0.8]), {"sac": STUDY}, 15.0)
    unranked = {k: v for k, v in STUDY.items() if k != "selected"}
    with pytest.raises(ValueError, match="sac: its study has no default run"):
        compare(default, tmax_rows("tuned/sac", [0.8] * 3), {"sac": unranked}, 15.0)


def test_main_writes_the_csv_and_markdown(tmp_path: Path) -> None:
    tmax_rows("sac", list(np.linspace(0.7, 0.8, 5))).to_csv(tmp_path / "d.csv", index=False)
    tmax_rows("tuned/sac", list(np.linspace(0.7, 0.8, 5))).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "studies" / "sac").mkdir(parents=True)
    (tmp_path / "studies" / "sac" / "study.json").write_text(json.dumps(STUDY))
    out = tmp_path / "cmp.csv"
    args = ["--default", str(tmp_path / "d.csv"), "--tuned", str(tmp_path / "t.csv"),
            "--studies", str(tmp_path / "studies"), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert len(pd.read_csv(out)) == 2
    text = out.with_suffix(".md").read_text()
    assert "| sac | completion_rate |" in text and "| 30.000 / 29.000 -> trial |" in text
    # The Markdown shows the CSV's numbers (summarize.py prints its copy from the CSV).
    assert "\n".join(table_lines(pd.read_csv(out))) in text
    assert main([*args, "--t-max", "2.0"]) == 2  # no run at that point: an error, no file
