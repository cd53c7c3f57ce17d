"""benchmarks/host_drift.py: the same runs' files from two hosts, compared row by row."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import host_drift


def _curve(rewards: dict[int, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"scenario": "paper", "seed": seed, "episode": i, "sum_reward": r}
        for seed, values in rewards.items() for i, r in enumerate(values)
    ])  # fmt: skip


def test_it_finds_the_first_episode_where_a_seed_drifts(tmp_path: Path) -> None:
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    _curve({0: [1.0, 2.0, 3.0], 1: [1.0, 2.0, 3.0]}).to_csv(before, index=False)
    # Seed 1 drifts in the last bit from episode 1 on; the file lists it out of order.
    drifted = _curve({1: [1.0, 2.0000000000000004, 3.5], 0: [1.0, 2.0, 3.0]})
    drifted.iloc[::-1].to_csv(after, index=False)
    out = tmp_path / "drift.csv"
    argv = ["--before", str(before), "--after", str(after), "--group", "scenario", "seed",
            "--order", "episode", "--before-host", "A", "--after-host", "B",
            "--out", str(out)]  # fmt: skip
    assert host_drift.main(argv) == 0
    table = pd.read_csv(out).set_index("seed")
    assert table.loc[0, "rows_differing"] == 0 and pd.isna(table.loc[0, "first_differing_episode"])
    assert table.loc[1, "rows_differing"] == 2 and table.loc[1, "first_differing_episode"] == 1
    assert table.loc[1, "max_abs_difference"] == 0.5
    assert (table["before_host"] == "A").all() and (table["after_host"] == "B").all()


def test_files_of_other_runs_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    _curve({0: [1.0, 2.0]}).to_csv(before, index=False)
    _curve({0: [1.0, 2.0], 1: [1.0, 2.0]}).to_csv(after, index=False)
    argv = ["--before", str(before), "--after", str(after), "--group", "seed", "--order",
            "episode", "--out", str(tmp_path / "o.csv")]  # fmt: skip
    assert host_drift.main(argv) == 2
    assert "only in after: {'seed': '1', 'episode': '0'}" in capsys.readouterr().err
    assert host_drift.main([*argv[:-2], "--value", "reward", "--out", "x"]) == 2
    assert "no column reward" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()
    assert host_drift.main([*argv, "--common-only"]) == 0  # seed 0 only
    assert list(pd.read_csv(tmp_path / "o.csv")["seed"]) == [0]


def test_a_committed_version_is_read_with_git(tmp_path: Path) -> None:
    committed = "HEAD:results/aif_quality_curve.csv"
    here = tmp_path / "curve.csv"
    shutil.copy(host_drift.ROOT / "results" / "aif_quality_curve.csv", here)
    out = tmp_path / "drift.csv"
    argv = ["--after", str(here), "--group", "scenario", "seed", "--order", "episode",
            "--out", str(out)]  # fmt: skip
    if subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "results/aif_quality_curve.csv"],
                      cwd=host_drift.ROOT).returncode == 0:  # fmt: skip
        assert host_drift.main(["--before", committed, *argv]) == 0
        assert (pd.read_csv(out)["rows_differing"] == 0).all()
    assert host_drift.main(["--before", "HEAD:no/such.csv", *argv]) == 2
