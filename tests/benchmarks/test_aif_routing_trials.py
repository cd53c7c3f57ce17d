"""benchmarks/aif_routing_trials.py: what each saved AIF policy's routing trial kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.aif import AIFAgent
from agents.aif.agent import kept_routing
from benchmarks import aif_routing_trials
from cloudedge import CloudEdgeEnv
from tests.agents.test_aif import SMALL, one_thread  # noqa: F401 (one thread, autouse)
from tests.benchmarks.test_harness import bench, read_rows, run_dir


def test_it_writes_the_routing_each_policy_kept_and_its_trial(tmp_path: Path) -> None:
    env = CloudEdgeEnv(n_tasks=10)
    runs = tmp_path / "suite" / "paper"
    trials = {}
    for seed in (0, 1):
        agent = AIFAgent(
            env.scenario, seed=seed, **SMALL, trial_routing="fill", routing_trial_episodes=1
        )
        agent.learn(env, 4, seed=10)
        folder = runs / "policies" / "paper-0123abcd" / "aif" / f"seed={seed}"
        folder.mkdir(parents=True)
        agent.save(folder / "policy")
        trials[seed] = agent.routing_trial
    out = tmp_path / "kept.csv"
    assert aif_routing_trials.main(["--runs", str(tmp_path / "suite"), "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame["env"]) == ["paper", "paper"] and list(frame["seed"]) == [0, 1]
    for row in frame.itertuples():
        trial = trials[row.seed]
        assert row.kept == kept_routing("own_server", "fill", trial, 1)
        assert row.fill_trial_episodes == 1 and row.own_server_trial_episodes == 2
        assert row.own_server_recent_mean == pytest.approx(trial["own_server"][-1])


def test_it_names_a_folder_without_policies(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        aif_routing_trials.main(["--runs", str(tmp_path), "--out", str(tmp_path / "x.csv")])


@pytest.mark.slow
def test_the_replay_scores_the_trained_policy_with_each_routing_it_tried(tmp_path: Path) -> None:
    """A harness run of AIF with a one-episode routing trial, evaluated on two 12-task
    episodes: the kept routing replays to the recorded sum reward (the replay checks it), and
    the other routing gets its own held-out figure."""
    out = tmp_path / "runs"
    small = [f"agent.{name}={value}" for name, value in SMALL.items()]
    common = ["agent=aif", "seed=0", f"out_dir={out}", "experiment.train_episodes=3",
              "experiment.bound_every=null", "experiment.train_n_tasks=12",
              "agent.trial_routing=fill", "agent.routing_trial_episodes=1", *small]  # fmt: skip
    bench("experiment=train", *common, cwd=tmp_path)
    bench("experiment=tmax", *common, "experiment.eval_episodes=2", "experiment.eval_bound=false",
          "experiment.t_max_values_s=[15.0]", "experiment.n_tasks_values=[12]",
          cwd=tmp_path)  # fmt: skip
    recorded = read_rows(run_dir(out, "tmax", "aif", 0) / "metrics.csv")
    csv = tmp_path / "kept.csv"
    argv = ["--runs", str(out), "--out", str(csv), "--replay-episodes", "2"]
    assert aif_routing_trials.main(argv) == 0
    (row,) = pd.read_csv(csv).itertuples()
    assert row.held_out_episodes == 2
    kept = getattr(row, f"{row.kept}_held_out_mean")
    assert kept == pytest.approx(sum(float(r["sum_reward"]) for r in recorded) / 2)
    other = {"fill": "own_server", "own_server": "fill"}[row.kept]
    assert np.isfinite(getattr(row, f"{other}_held_out_mean"))


def test_a_negative_replay_count_is_refused_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        aif_routing_trials.main(
            ["--runs", str(tmp_path), "--out", str(tmp_path / "x.csv"), "--replay-episodes", "-1"]
        )
    assert "--replay-episodes = -1: allowed an integer >= 0" in capsys.readouterr().err
