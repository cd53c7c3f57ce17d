"""Run the paper scenario with a uniformly random policy and print each episode's metrics.

This is what ``make reproduce`` runs until the full protocol (train, t_max and load sweeps
over every agent) lands. Usage: ``python -m benchmarks.random_episodes --episodes 5``.
"""

from __future__ import annotations

import argparse
import math
import sys

import gymnasium as gym
import numpy as np

import cloudedge
from cloudedge.config import ConfigError

COLUMNS = ("sum_reward", "completion_rate", "avg_latency_s", "avg_pass_at_100", "utility")


def run(episodes: int, seed: int, t_max_s: float, n_tasks: int) -> list[dict[str, float]]:
    """Episodes ``seed, seed+1, ...`` with actions drawn from the action space."""
    env = gym.make(cloudedge.ENV_ID, t_max_s=t_max_s, n_tasks=n_tasks)
    env.action_space.seed(seed)
    results = []
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        done = False
        info: dict = {}
        while not done:
            _, _, done, _, info = env.step(env.action_space.sample())
        results.append(info["episode"])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--t-max", type=float, default=15.0, dest="t_max_s")
    parser.add_argument("--n-tasks", type=int, default=100)
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes = {args.episodes}: allowed >= 1")
    try:
        results = run(args.episodes, args.seed, args.t_max_s, args.n_tasks)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"paper scenario, uniformly random policy, t_max = {args.t_max_s} s, "
        f"n_tasks = {args.n_tasks}"
    )
    print(f"{'episode':>7} " + " ".join(f"{c:>16}" for c in COLUMNS))
    for i, row in enumerate(results):
        print(f"{i:>7} " + " ".join(f"{row[c]:>16.4f}" for c in COLUMNS))
    means = {c: float(np.nanmean([r[c] for r in results])) for c in COLUMNS}
    print(
        f"{'mean':>7} "
        + " ".join(
            f"{means[c]:>16.4f}" if not math.isnan(means[c]) else f"{'nan':>16}" for c in COLUMNS
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
