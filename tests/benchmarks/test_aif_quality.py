"""benchmarks/aif_quality.py: training curves and the held-out evaluation beside them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from agents.base import evaluate_episode, make_agent
from benchmarks import aif_quality
from cloudedge import CloudEdgeEnv
from tests.agents.test_aif import SMALL, one_thread  # noqa: F401 (one thread, autouse)

TRIAL = {**SMALL, "trial_routing": "fill", "routing_trial_episodes": 1}


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> str:
    """A 10-task paper scenario registered as ``tiny``."""
    monkeypatch.setitem(aif_quality.SCENARIOS, "tiny", {"n_tasks": 10})
    return "tiny"


def test_held_out_evaluation_leaves_training_alone_and_scores_the_trained_agent(
    tiny: str,
) -> None:
    env = CloudEdgeEnv(**aif_quality.SCENARIOS[tiny])
    reference = aif_quality.Reference(env, "greedy", 0, 0.0)
    plain = aif_quality.run_seed(0, 4, TRIAL, reference, tiny, eval_episodes=0)
    watched = aif_quality.run_seed(0, 4, TRIAL, reference, tiny, eval_episodes=2)
    assert watched["rewards"] == plain["rewards"]  # the copies played; training did not see it
    assert plain["eval_fractions"] == [] and len(watched["eval_fractions"]) == 4

    # After 2 and after all 4 episodes: what the agent trained alone that long scores, playing
    # its kept routing (the snapshots, played after training, saw none of the later refits).
    config = {**yaml.safe_load((aif_quality.CONF / "aif.yaml").read_text()), **TRIAL}
    seeds = watched["eval_env_seeds"]
    assert seeds == [aif_quality.EVAL_SEED_BASE + k for k in (0, 1)]
    for trained in (2, 4):
        agent = make_agent(config, env.scenario, seed=0)
        agent.learn(env, trained, seed=1000)
        expected = np.mean([evaluate_episode(agent, env, s)["sum_reward"] / reference(s)
                            for s in seeds])  # fmt: skip
        assert watched["eval_fractions"][trained - 1] == pytest.approx(expected, rel=1e-12)
    assert watched["eval_fractions"][1] != watched["eval_fractions"][3]  # they did learn


def test_it_writes_the_held_out_figures(tiny: str, tmp_path: Path) -> None:
    out = tmp_path / "quality.csv"
    argv = ["--scenario", tiny, "--seeds", "1", "--episodes", "3", "--reference", "greedy",
            "--eval-episodes", "1", "--out", str(out),
            "--set", *(f"{k}={v}" for k, v in TRIAL.items())]  # fmt: skip
    assert aif_quality.main(argv) == 0
    summary = pd.read_csv(out)
    aif = summary[summary["agent"] == "aif"].set_index("seed")
    assert list(aif.index) == ["0", "mean"]
    assert aif.loc["0", "held_out_final_fraction"] == aif.loc["mean", "held_out_final_fraction"]
    heuristics = summary[summary["seed"] == "all"]
    assert len(heuristics) and (heuristics["held_out_final_fraction"] > 0).all()  # vs greedy
    rates = summary[["cartpole_steps_per_s_before", "cartpole_steps_per_s_after"]]
    assert (rates > 0).all().all()  # the host's speed around the timed training, every row
    curve = pd.read_csv(aif_quality.curve_path(out))
    assert curve["held_out_fraction"].notna().all() and len(curve) == 3
    assert curve["held_out_fraction"].iloc[-1] == aif.loc["0", "held_out_final_fraction"]


def test_a_negative_evaluation_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        aif_quality.main(["--eval-episodes", "-1"])
    assert "--eval-episodes = -1: allowed an integer >= 0" in capsys.readouterr().err
