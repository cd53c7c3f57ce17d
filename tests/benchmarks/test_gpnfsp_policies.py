"""benchmarks/gpnfsp_policies.py: GP-NFSP's saved networks played four ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.gpnfsp_policies import MODES, main
from tests.benchmarks.test_harness import bench, read_rows, run_dir

pytestmark = pytest.mark.slow


def test_the_average_sampled_row_is_what_the_harness_evaluated(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    common = ["agent=gpnfsp", "seed=0", f"out_dir={out}", "experiment.train_episodes=2",
              "experiment.bound_every=null"]  # fmt: skip
    bench("experiment=train", *common, cwd=tmp_path)
    evaluation = ["experiment.eval_episodes=2", "experiment.t_max_values_s=[15.0]",
                  "experiment.eval_bound=false"]  # fmt: skip
    bench("experiment=tmax", *common, *evaluation, cwd=tmp_path)
    harness = read_rows(run_dir(out, "tmax", "gpnfsp", 0) / "metrics.csv")
    csv = tmp_path / "modes.csv"
    assert main(["--runs", str(out), "--episodes", "2", "--out", str(csv)]) == 0
    table = pd.read_csv(csv)
    assert [tuple(m) for m in table[["act_policy", "eval_mode"]].to_numpy()] == list(MODES)
    assert set(table["train_episodes"]) == {2}
    row = table[(table.act_policy == "average") & (table.eval_mode == "sampled")].iloc[0]
    expected = np.mean([float(r["completion_rate"]) for r in harness])
    assert row["completion_rate"] == pytest.approx(expected)


def test_a_folder_without_gpnfsp_runs_is_one_clear_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--runs", str(tmp_path), "--out", str(tmp_path / "x.csv")])
    assert "no gpnfsp train run" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
