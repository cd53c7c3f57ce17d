"""Structured (typed) configs of the benchmark harness, registered in Hydra's ConfigStore.

A typo in a key or a value of the wrong type is rejected by OmegaConf before any run starts.
``env`` and ``agent`` are free-form here and validated by their own code (the scenario's
dataclasses and the agent's constructor signature) before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

EXPERIMENTS = ("train", "tmax", "load")


@dataclass
class ExperimentConfig:
    """What one run does.

    :param name: ``train`` (Fig. 3), ``tmax`` (Fig. 4) or ``load`` (Fig. 5).
    :param train_episodes: training episodes (also names the policy the tests load).
    :param train_t_max_s: deadline during training (null: the env's).
    :param train_n_tasks: tasks per training episode (null: the env's).
    :param bound_every: compute the clairvoyant bound of every k-th training episode (0: none).
    :param eval_episodes: evaluation episodes per grid point (tmax, load).
    :param eval_seed_base: evaluation episodes use seeds ``eval_seed_base + k`` for every agent
        and training seed, so all agents face the same episodes.
    :param t_max_values_s: the deadlines to evaluate at.
    :param n_tasks_values: the task counts to evaluate at.
    :param eval_bound: compute the bound of every evaluation episode.
    """

    name: str = "train"
    train_episodes: int = 100
    train_t_max_s: float | None = None
    train_n_tasks: int | None = None
    bound_every: int = 10
    eval_episodes: int = 5
    eval_seed_base: int = 1_000_000
    t_max_values_s: list[float] = field(default_factory=lambda: [15.0])
    n_tasks_values: list[int] = field(default_factory=lambda: [100])
    eval_bound: bool = True


@dataclass
class BenchConfig:
    """The whole configuration of one run.

    :param seed: the training seed (agent initialisation; training episodes use seeds
        ``1000 * seed + e``).
    :param out_dir: where runs, policies, the bound cache and logs go.
    :param threads: torch threads per run.
    """

    seed: int = 0
    out_dir: str = "outputs"
    threads: int = 1
    env: Any = MISSING
    agent: Any = MISSING
    experiment: ExperimentConfig = MISSING


def register_configs() -> None:
    """Register :class:`BenchConfig` as ``bench_schema`` (idempotent)."""
    ConfigStore.instance().store(name="bench_schema", node=BenchConfig)
