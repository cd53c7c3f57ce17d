"""The tuning app: one Optuna trial (hydra-optuna-sweeper) of one learner's hyperparameters.

Run by ``python -m benchmarks.tune study`` (``make tune``), which gives every learner the same
number of trials; by hand::

    python -m benchmarks.tune_app -m tune=ppo hydra.sweeper.n_trials=30 out_dir=outputs/t/ppo

``conf/tuning.yaml`` is the primary config (the schema :class:`TuneConfig`), its values in YAML
only; ``conf/tune/<agent>.yaml`` selects the learner and its search space
(``hydra.sweeper.params``). A trial trains the sampled config on each tuning seed at the budget of
``conf/experiment/tune.yaml``, evaluates each trained policy on held-out episodes (seeds
``eval_seed_base + k``, used by nothing else) and returns the mean of ``tuning.objective`` over
those episodes and seeds: the value Optuna maximises. Each trial also writes ``trial.json``
(its overrides, full agent config, value per seed, wall time) beside Hydra's log, which
``benchmarks.tune`` collects.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import pandas as pd
import yaml
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import MISSING, DictConfig, OmegaConf

from benchmarks.config import CONFIG_DIR, BenchError, ExperimentConfig
from benchmarks.protocol import TRAIN_SEED_STRIDE, execute, validate
from benchmarks.store import atomic_write_text

log = logging.getLogger("cloudedge-tune")

#: What a trial may maximise: each held-out episode's sum reward or its fraction of the bound.
OBJECTIVES = ("sum_reward", "bound_fraction")
#: The file a trial writes in its Hydra output folder.
TRIAL_FILE = "trial.json"
#: Span of episode seeds the reporting evaluation may use from its ``eval_seed_base`` on.
REPORTING_EVAL_SPAN = 1000


@dataclass
class TuningSettings:
    """How trials are scored (values in ``conf/tuning.yaml``).

    :param seeds: training seeds of each trial (disjoint from ``reporting_seeds``).
    :param reporting_seeds: the seeds results are reported on; never tuned on.
    :param objective: the evaluation metric whose mean a trial returns (``OBJECTIVES``).
    """

    seeds: list[int] = MISSING
    reporting_seeds: list[int] = MISSING
    objective: str = MISSING


@dataclass
class TuneConfig:
    """The whole configuration of one trial (values in ``conf/tuning.yaml``)."""

    out_dir: str = MISSING
    threads: int = MISSING
    env: Any = MISSING
    agent: Any = MISSING
    experiment: ExperimentConfig = MISSING
    tuning: TuningSettings = MISSING


def register_configs() -> None:
    """Register :class:`TuneConfig` as ``tune_schema`` (idempotent)."""
    ConfigStore.instance().store(name="tune_schema", node=TuneConfig)


register_configs()


#: The experiments whose evaluation episodes results are reported on (tmax / load start from
#: train.yaml's base; the scenario suite has its own).
REPORTING_EXPERIMENTS = ("train", "suite")


def reporting_eval_seed_bases() -> dict[str, int]:
    """Each reporting experiment's evaluation episode seed base (``conf/experiment/*.yaml``)."""
    folder = CONFIG_DIR / "experiment"
    return {
        name: int(yaml.safe_load((folder / f"{name}.yaml").read_text())["eval_seed_base"])
        for name in REPORTING_EXPERIMENTS
    }


def check_disjoint(experiment: ExperimentConfig, settings: TuningSettings) -> None:
    """Raise :class:`BenchError` unless tuning seeds, reporting seeds and the held-out
    evaluation episodes are disjoint: tuning never sees a reporting seed's training episodes
    or the reporting evaluation's episodes, and its own evaluation episodes are no training
    episode of either."""
    if settings.objective not in OBJECTIVES:
        raise BenchError(f"tuning.objective = {settings.objective!r}: allowed {list(OBJECTIVES)}")
    if not settings.seeds:
        raise BenchError("tuning.seeds = []: allowed a non-empty list of seeds")
    shared = sorted(set(settings.seeds) & set(settings.reporting_seeds))
    if shared:
        raise BenchError(f"tuning.seeds {shared} are reporting seeds: tune on other seeds")
    if experiment.train_episodes > TRAIN_SEED_STRIDE:
        raise BenchError(
            f"experiment.train_episodes = {experiment.train_episodes}: at most "
            f"{TRAIN_SEED_STRIDE}, or seeds' training episodes overlap"
        )
    base = experiment.eval_seed_base
    held_out = range(base, base + experiment.eval_episodes)
    used = {
        **{
            f"the reporting evaluation of {name}.yaml": range(b, b + REPORTING_EVAL_SPAN)
            for name, b in reporting_eval_seed_bases().items()
        },
        **{  # a reporting seed's runs may train up to the stride's episodes
            f"seed {s}'s training": range(TRAIN_SEED_STRIDE * s, TRAIN_SEED_STRIDE * (s + 1))
            for s in (*settings.seeds, *settings.reporting_seeds)
        },
    }
    for what, episodes in used.items():
        if max(held_out.start, episodes.start) < min(held_out.stop, episodes.stop):
            raise BenchError(
                f"experiment.eval_seed_base = {base}: the held-out "
                f"episodes {held_out.start}..{held_out.stop - 1} meet {what} "
                f"({episodes.start}..{episodes.stop - 1})"
            )


def evaluation_of(experiment: ExperimentConfig, objective: str) -> ExperimentConfig:
    """The held-out evaluation of a trial: the trial's experiment run as ``tmax`` (it loads
    the trained policy), with the LP bound when the objective needs it."""
    return dataclasses.replace(
        experiment, name="tmax", eval_bound=experiment.eval_bound or objective == "bound_fraction"
    )


def objective_values(rows: pd.DataFrame, objective: str) -> pd.Series:
    """Each evaluation episode's objective: its sum reward, or that over its LP upper bound."""
    if objective == "bound_fraction":
        return rows["sum_reward"] / rows["upper_bound"]
    return rows[objective]


def run_trial(
    cfg: DictConfig, agent_name: str, out_dir: Path, log_fn: Any = log.info
) -> dict[str, Any]:
    """Train and evaluate ``cfg``'s agent on every tuning seed in ``out_dir``; return the
    trial's record (``value`` is the objective's mean over every held-out episode and seed)."""
    tune = OmegaConf.to_object(cfg)
    assert isinstance(tune, TuneConfig)
    tune.experiment.check()
    check_disjoint(tune.experiment, tune.tuning)
    if tune.threads < 1:
        raise BenchError(f"threads = {tune.threads!r}: allowed an integer >= 1")
    import torch

    torch.set_num_threads(tune.threads)
    agent = OmegaConf.to_container(cfg.agent, resolve=True)
    env = OmegaConf.to_container(cfg.env, resolve=True)
    assert isinstance(agent, dict) and isinstance(env, dict)
    objective = tune.tuning.objective
    started = time.perf_counter()
    per_seed: dict[int, float] = {}
    for seed in tune.tuning.seeds:
        train = validate(tune.experiment, agent_name, agent, env, seed, out_dir)
        execute(train, log=log_fn)
        spec = validate(evaluation_of(tune.experiment, objective), agent_name, agent, env, seed,
                        out_dir)  # fmt: skip
        rows = pd.read_csv(execute(spec, log=log_fn), float_precision="round_trip")
        per_seed[seed] = float(objective_values(rows, objective).mean())
    value = float(sum(per_seed.values()) / len(per_seed))
    return {
        "agent": agent_name,
        "value": value,
        "objective": objective,
        "per_seed": {str(s): v for s, v in per_seed.items()},
        "agent_config": agent,
        "wall_s": round(time.perf_counter() - started, 3),
    }


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="tuning")
def app(cfg: DictConfig) -> float:
    hydra_cfg = HydraConfig.get()
    agent_name = hydra_cfg.runtime.choices.get("agent", "agent")
    out_dir = Path(hydra_cfg.runtime.output_dir)
    job = hydra_cfg.job.num if "num" in hydra_cfg.job else 0
    try:
        record = run_trial(cfg, agent_name, out_dir, lambda m: log.info(f"trial {job}: {m}"))
    except BenchError as err:
        print(f"cloudedge-tune: error: {err}", file=sys.stderr)
        sys.exit(2)
    record = {"trial": job, "overrides": list(hydra_cfg.overrides.task), **record}
    atomic_write_text(out_dir / TRIAL_FILE, json.dumps(record, indent=2))
    log.info(f"trial {job}: {record['objective']} {record['value']:.4f} ({record['wall_s']} s)")
    return record["value"]


if __name__ == "__main__":
    app()
