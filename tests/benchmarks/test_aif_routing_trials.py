"""benchmarks/aif_routing_trials.py: what each saved AIF policy's routing trial kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from agents.aif import AIFAgent
from agents.aif.agent import kept_routing
from benchmarks import aif_routing_trials
from cloudedge import CloudEdgeEnv
from tests.agents.test_aif import SMALL, one_thread  # noqa: F401 (one thread, autouse)


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
