"""scripts/summarize.py: the convergence measure and claim checks on small, known inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from scripts.claims import judge
from scripts.summarize import CLAIMS, convergence_episode, summary_table


def test_convergence_is_where_the_running_mean_settles() -> None:
    rewards = np.concatenate([np.linspace(0.0, 10.0, 30), np.full(70, 10.0)])
    episode = convergence_episode(rewards)
    # The 10-episode running mean is within 5% of 10 (>= 9.5) only once its window has
    # mostly left the ramp: its last episode is 29 + a few.
    assert 29 < episode < 40


def test_a_flat_curve_converges_at_the_first_full_window() -> None:
    assert convergence_episode(np.full(50, 3.0)) == 9.0


def test_a_curve_that_keeps_rising_has_not_converged() -> None:
    assert math.isnan(convergence_episode(np.linspace(0.0, 100.0, 100)))


def test_noise_without_a_trend_mostly_settles_early() -> None:
    # 20% noise and no learning: the band widens with the noise, so a typical seed settles
    # in the first windows (the IQM over seeds is what the claims read).
    curves = [np.random.default_rng(seed).normal(2.0, 0.4, 300) for seed in range(10)]
    assert np.nanmedian([convergence_episode(c) for c in curves]) < 60


def _train_rows(agent: str, rewards: np.ndarray, seed: int) -> pd.DataFrame:
    n = len(rewards)
    return pd.DataFrame({
        "experiment": "train", "agent": agent, "seed": seed, "episode": np.arange(n),
        "t_max_s": 12.0, "n_tasks": 80, "sum_reward": rewards, "completion_rate": 0.9,
        "avg_latency_s": 8.0, "avg_pass_at_100": 0.16, "upper_bound": np.nan,
    })  # fmt: skip


def test_claims_read_the_training_point_and_dynamics_from_the_data(tmp_path) -> None:
    late = np.concatenate([np.linspace(0.0, 30.0, 200), np.full(100, 30.0)])
    frames = [_train_rows("aif", late, seed) for seed in range(3)]
    frames += [_train_rows(a, np.full(300, 20.0), 0) for a in ("rainbow", "ppo", "sac")]
    pd.concat(frames).to_csv(tmp_path / "train.csv", index=False)
    summary = summary_table(tmp_path)
    train = summary[summary["experiment"] == "train"]
    assert set(train["t_max_s"]) == {12.0} and set(train["n_tasks"]) == {80}
    verdicts = {claim.text: judge(claim, summary) for claim in CLAIMS}
    ours, verdict = verdicts["Fig. 3: AIF converges near episode 200"]
    assert verdict == "holds", ours
    assert verdicts["Fig. 3: AIF's final training reward is above every DRL's"][1] == "holds"
    # Constant DRL curves do not jitter, so that claim must fail here.
    assert verdicts["Fig. 3: the DRLs jitter (more than AIF) late in training"][1] == (
        "does not hold"
    )
    assert verdicts["Fig. 4: at t_max <= 2 s nothing completes"][1].startswith("not tested")


def test_the_suite_section_ranks_every_scenario_and_gives_each_verdict(tmp_path) -> None:
    from scripts.summarize import _suite_section

    assert _suite_section(tmp_path / "suite") == []  # no suite run: no section
    suite = tmp_path / "suite"
    suite.mkdir()
    pd.DataFrame(
        {"scenario": ["a", "a", "b", "b"], "agent": ["aif", "rr", "aif", "rr"],
         "score": [0.9, 0.5, 0.3, 0.6], "low": [0.8, 0.4, 0.2, 0.5],
         "high": [0.95, 0.6, 0.4, 0.7], "runs": 5, "rank": [1.0, 2.0, 2.0, 1.0]}
    ).to_csv(suite / "per_scenario.csv", index=False)  # fmt: skip
    pd.DataFrame(
        {"scenario": ["a", "b"], "focus": "aif", "best_reference": "rr",
         "focus_score": [0.9, 0.3], "reference_score": [0.5, 0.6], "margin": [0.4, -0.3],
         "low": [0.2, -0.45], "high": [0.55, -0.1], "verdict": ["holds", "does not hold"]}
    ).to_csv(suite / "focus_vs_references.csv", index=False)  # fmt: skip
    text = "\n".join(_suite_section(suite))
    assert "| a | 1. aif 0.900 [0.800, 0.950]; 2. rr 0.500" in text
    assert "| b | 1. rr 0.600 [0.500, 0.700]; 2. aif 0.300" in text
    assert "holds on 1 of 2 scenarios" in text
    assert "| b | rr | -0.300 [-0.450, -0.100] | does not hold |" in text


def test_the_aif_quality_section_judges_every_seed_s_held_out_curve_and_cost(tmp_path) -> None:
    from scripts.summarize import _aif_quality_section

    path = tmp_path / "aif_quality.csv"
    assert _aif_quality_section(path) == []  # not measured: no section
    common = {
        "scenario": "paper", "episodes": 60, "threshold": 0.98, "eval_episodes": 2,
        "cpu_model": "cpu", "cores": 2, "command": "python -m benchmarks.aif_quality",
        "date_utc": "2026-12-06 01:00",
    }  # fmt: skip
    rows = [
        {**common, "agent": "aif", "seed": "0", "first_episode_staying": None,
         "last_mean_fraction": 0.95, "held_out_first_episode_staying": 12,
         "held_out_last_mean_fraction": 0.983, "cpu_s_per_episode": 1.1,
         "refit_s_per_episode": 0.7},
        {**common, "agent": "aif", "seed": "1", "first_episode_staying": 40,
         "last_mean_fraction": 0.981, "held_out_first_episode_staying": 51,
         "held_out_last_mean_fraction": 0.981, "cpu_s_per_episode": 2.1,
         "refit_s_per_episode": 0.8},
        {**common, "agent": "aif", "seed": "mean", "cpu_s_per_episode": 1.6},
        {**common, "agent": "round_robin", "seed": "all", "held_out_final_fraction": 0.97},
        {**common, "agent": "random", "seed": "all", "held_out_final_fraction": 0.08},
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    text = "\n".join(_aif_quality_section(path))
    assert "seed 0: 12, last 10 0.983; seed 1: 51, last 10 0.981; does not hold (1 of 2" in text
    assert "seed 0: never, last 10 0.950; seed 1: 40, last 10 0.981." in text
    assert "the best deployable heuristic, round_robin, reaches 0.970." in text
    assert (
        "1.60 s (seeds 1.10-2.10; refit 0.75 s wall), does not hold, measured on cpu (2 cores, "
        "2026-12-06 01:00 UTC)." in text
    )
    assert "CartPole" not in text  # the host's speed not recorded: not claimed
    for r in rows:
        r.update(cartpole_steps_per_s_before=120000, cartpole_steps_per_s_after=90500)
    rows[1].update(held_out_first_episode_staying=50, cpu_s_per_episode=1.9)
    pd.DataFrame(rows).to_csv(path, index=False)
    text = "\n".join(_aif_quality_section(path))
    assert "does not hold" not in text
    assert "; holds (2 of 2 seeds)" in text and "refit 0.75 s wall), holds, measured" in text
    assert "CartPole-v1 at 120,000 steps/s before training, 90,500 after." in text


def test_the_decision_time_section_judges_aifs_p99_with_its_host(tmp_path) -> None:
    from scripts.summarize import _decision_latency_section

    path = tmp_path / "decision_latency.csv"
    assert _decision_latency_section(path) == []  # not measured: no section
    row = {"agent": "aif (conf/agent/aif.yaml)", "wall_p50_ms": 9.4, "wall_p99_ms": 11.4,
           "cpu_model": "cpu", "cores": 2, "date_utc": "2026-12-06 01:37",
           "cartpole_steps_per_s": 114868}  # fmt: skip
    other = {**row, "agent": "aif (imagined_routing=fill)", "wall_p99_ms": 9.0}
    pd.DataFrame([row, other]).to_csv(path, index=False)
    text = "\n".join(_decision_latency_section(path))
    assert "11.40 ms wall (p50 9.40 ms), does not hold, measured on cpu (2 cores," in text
    assert "CartPole-v1 at 114,868 steps/s" in text
    pd.DataFrame([{**row, "wall_p99_ms": 9.99}]).to_csv(path, index=False)
    assert "9.99 ms wall (p50 9.40 ms), holds," in "\n".join(_decision_latency_section(path))


def test_the_tuning_section_tables_each_learner_s_comparison(tmp_path) -> None:
    from scripts.summarize import _tuning_section
    from scripts.tuning_table import compare

    assert _tuning_section(tmp_path / "tuning") == []  # no comparison: no section
    rows = [{"agent": a, "seed": s, "t_max_s": 15.0, "n_tasks": 100, "episode": 0,
             "completion_rate": v + 0.01 * s, "sum_reward": 30.0 + s}
            for a, v in (("ppo", 0.8), ("tuned/ppo", 0.9)) for s in range(5)]  # fmt: skip
    frame = pd.DataFrame(rows)
    study = {"n_trials": 6, "objective": "sum_reward", "best": {"value": 31.0, "params": {}},
             "default": {"value": 30.0}, "selected": "trial"}  # fmt: skip
    (tmp_path / "tuning").mkdir()
    compare(frame, frame, {"ppo": study}, 15.0).to_csv(tmp_path / "tuning" / "comparison.csv")
    text = "\n".join(_tuning_section(tmp_path / "tuning"))
    assert "6 trials each" in text
    assert "| ppo | completion_rate | 0.820 [" in text
    assert "| tuned better | 6 | 31.000 / 30.000 -> trial |" in text
