"""Equal tuning effort (benchmarks/tune.py): a search space per learner with the same trials,
seeds disjoint from the reporting ones, tuned configs written from a finished study only, and
a 2-trial study end to end whose tuned config trains in the quick pipeline."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from benchmarks.config import CONFIG_DIR, BenchError, agent_configs, agent_names
from benchmarks.tune import tunable_agents, tuned_config_text, with_default, write_config
from benchmarks.tune_app import TuneConfig, check_disjoint
from scripts.collect import collect

ROOT = Path(__file__).resolve().parents[2]


def composed(agent: str, config_name: str = "tuning") -> TuneConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=[f"tune={agent}"], return_hydra_config=True)
    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=False)
    del cfg.hydra
    tune = OmegaConf.to_object(cfg)
    assert isinstance(tune, TuneConfig)
    tune.sweeper = sweeper  # type: ignore[attr-defined]
    return tune


def test_every_learner_has_a_search_space_and_the_same_trials() -> None:
    learners = agent_names(lambda c: c.learns)
    assert sorted(tunable_agents()) == sorted(learners)
    trials = set()
    for name in learners:
        tune = composed(name)
        sweeper = tune.sweeper  # type: ignore[attr-defined]
        trials.add(sweeper["n_trials"])
        params = sweeper["params"]
        assert params, name
        base = agent_configs()[name]
        for key in params:  # every tuned key is a hyperparameter of the committed config
            assert key.startswith("agent.") and key.removeprefix("agent.") in base, (name, key)
        assert tune.agent["_target_"] == base["_target_"], name
        text = (CONFIG_DIR / "tune" / f"{name}.yaml").read_text()
        assert "n_trials" not in text and "seeds" not in text, name  # set once, for all
    assert trials == {30}


def choices(expression: str) -> list[float]:
    """The values of an Optuna-sweeper ``choice(a, b, ...)`` override."""
    assert expression.startswith("choice(") and expression.endswith(")"), expression
    return [float(v) for v in expression[len("choice(") : -1].split(",")]


@pytest.mark.parametrize("name", ["qrdqn", "sac"])
def test_no_trial_makes_more_than_one_update_per_env_step(name: str) -> None:
    # The update cadence sets a trial's cost: a space drawing gradient_steps and train_freq
    # independently once allowed 32 updates per env step (QR-DQN trials of 20-45 minutes).
    tune = composed(name)
    params = tune.sweeper["params"]  # type: ignore[attr-defined]
    train_freq = choices(params["agent.train_freq"])
    if "agent.gradient_steps" in params:
        assert max(choices(params["agent.gradient_steps"])) <= min(train_freq)
    else:  # -1: one gradient step per env step collected since the last update
        assert tune.agent["gradient_steps"] == -1


def test_tuning_seeds_and_held_out_episodes_are_disjoint_from_the_reporting_ones() -> None:
    tune = composed("ppo")
    check_disjoint(tune.experiment, tune.tuning)  # the committed protocol
    assert not set(tune.tuning.seeds) & set(tune.tuning.reporting_seeds)
    bad = dataclasses.replace(tune.tuning, seeds=[4, 100])
    with pytest.raises(BenchError, match="reporting seeds"):
        check_disjoint(tune.experiment, bad)
    for base, what in ((1_000_000, "train.yaml"), (2_000_001, "suite.yaml"), (100_050, "seed 100")):
        moved = dataclasses.replace(tune.experiment, eval_seed_base=base)
        with pytest.raises(BenchError, match=what):
            check_disjoint(moved, tune.tuning)


def test_a_tuned_config_comes_from_a_finished_study_only(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="not finished"):
        tuned_config_text({"study_name": "x", "complete": False})
    unranked = {"study_name": "x", "agent": "ppo", "complete": True, "best": {"value": 1.0}}
    with pytest.raises(BenchError, match="add-default ppo"):
        tuned_config_text(unranked)  # the default's run is needed to select
    with pytest.raises(BenchError, match="no finished study"):
        write_config("ppo", tmp_path, tmp_path / "tuned")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_a_two_trial_study_writes_a_tuned_config_that_trains(tmp_path: Path) -> None:
    results, tuned = tmp_path / "results", tmp_path / "conf" / "agent" / "tuned"
    run("-m", "benchmarks.tune", "study", "--agents", "ppo", "--quick",
        "--work-dir", str(tmp_path / "work"), "--results", str(results),
        "--write-configs", str(tuned))  # fmt: skip
    trials = pd.read_csv(results / "ppo" / "trials.csv")
    study = json.loads((results / "ppo" / "study.json").read_text())
    assert len(trials) == study["n_trials"] == 2
    assert study["best"]["value"] == pytest.approx(trials["value"].max())
    assert study["search_space"] == composed("ppo").sweeper["params"]  # type: ignore[attr-defined]
    assert study["protocol"]["tuning_seeds"] == [100]
    assert set(trials.filter(like="agent.").columns) == set(study["search_space"])
    text = (tuned / "ppo.yaml").read_text()
    assert study["study_name"] in text.splitlines()[1]
    config = yaml.safe_load(text)
    default = study["default"]  # the committed config under the same protocol
    assert set(default["per_seed"]) == {"100"} and default["agent_config"] == composed("ppo").agent
    if study["selected"] == "trial":
        assert study["best"]["value"] > default["value"]
        assert config == study["best"]["agent_config"]
        for key, value in study["best"]["params"].items():
            assert config[key.removeprefix("agent.")] == value
    else:
        assert study["best"]["value"] <= default["value"] and config == default["agent_config"]
    out = tmp_path / "out"
    for experiment in ("train_quick", "tmax_quick"):  # the quick pipeline loads and trains it
        run("-m", "benchmarks.run", "--config-dir", str(tmp_path / "conf"), "agent=tuned/ppo",
            f"experiment={experiment}", f"out_dir={out}")  # fmt: skip
    (metrics,) = out.glob("runs/*/tmax/tuned/ppo/seed=0/metrics.csv")
    assert len(pd.read_csv(metrics)) > 0
    counts = collect(out, tmp_path / "collected")  # the nested agent name is collected too
    assert counts["tmax"] == len(pd.read_csv(metrics))
    assert set(pd.read_csv(tmp_path / "collected" / "tmax.csv")["agent"]) == {"tuned/ppo"}


def test_the_best_trial_is_selected_only_when_it_beats_the_committed_config() -> None:
    summary = {"study_name": "s", "agent": "ppo", "complete": True, "n_trials": 2,
               "objective": "sum_reward", "rerun": "r",
               "best": {"trial": 1, "value": 30.0, "params": {"agent.gamma": 0.9},
                        "agent_config": {"gamma": 0.9}}}  # fmt: skip
    for default_value, selected, gamma in ((29.0, "trial", 0.9), (30.0, "default", 0.99),
                                           (31.0, "default", 0.99)):  # fmt: skip
        ranked = with_default(summary, {"value": default_value, "agent_config": {"gamma": 0.99}})
        assert ranked["selected"] == selected
        assert yaml.safe_load(tuned_config_text(ranked)) == {"gamma": gamma}


COMMITTED_TUNED = sorted((CONFIG_DIR / "agent" / "tuned").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("path", COMMITTED_TUNED, ids=lambda p: p.stem)
def test_each_committed_tuned_config_is_its_study_s_best_and_trains(
    path: Path, tmp_path: Path
) -> None:
    study = json.loads((ROOT / "results" / "tuning" / path.stem / "study.json").read_text())
    text = path.read_text()
    assert study["study_name"] in text.splitlines()[1]
    selected = study["best"] if study["selected"] == "trial" else study["default"]
    assert yaml.safe_load(text) == selected["agent_config"]  # written from it, not by hand
    assert set(study["protocol"]["tuning_seeds"]).isdisjoint(study["protocol"]["reporting_seeds"])
    out = tmp_path / "out"
    run("-m", "benchmarks.run", f"agent=tuned/{path.stem}", "experiment=train_quick",
        f"out_dir={out}")  # fmt: skip
    (metrics,) = out.glob(f"runs/*/train/tuned/{path.stem}/seed=0/metrics.csv")
    assert len(pd.read_csv(metrics)) == 6  # train_quick's episodes
