"""Training cost and early reward of the DRL baselines, beside the heuristics.

For each baseline (``conf/agent/<name>.yaml``, unchanged) on the paper scenario: training wall
time per 1,000 environment steps (one step is one task) on this machine, the mean sum reward of
the last training episodes, and the mean sum reward of greedy evaluation episodes after the
short budget. The heuristics (uniformly random, one-step preview, edge-first) are evaluated on the
same episodes; their time column is acting time per 1,000 steps.

Run: ``.venv/bin/python -m benchmarks.baselines_smoke [--episodes 20] [--n-tasks 100]``. Torch
uses ``--threads`` threads (1 by default: on a shared 2-core machine more threads run slower).
Construction is not timed (Tianshou JIT-compiles its numba kernels there, ~10-20 s once).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

import cloudedge
from agents.base import Agent, evaluate_episode, make_agent
from benchmarks.config import agent_names
from cloudedge.config import ScenarioConfig

CONF = Path(__file__).resolve().parent.parent / "conf" / "agent"
# Library learners act through a flat action wrapper; the non-learners are the references.
BASELINES = tuple(agent_names(lambda c: c.learns and c.action_interface != "dict"))
HEURISTICS = tuple(agent_names(lambda c: not c.learns))
EVAL_SEED = 10_000  # evaluation episodes never overlap training episodes (seeds 0, 1, ...)


def agent_config(name: str) -> dict[str, Any]:
    with open(CONF / f"{name}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def evaluate(agent: Agent, scenario: ScenarioConfig, episodes: int) -> tuple[float, float]:
    """Mean sum reward and completion rate over ``episodes`` greedy episodes."""
    env = cloudedge.CloudEdgeEnv(scenario)
    rows = [evaluate_episode(agent, env, EVAL_SEED + k) for k in range(episodes)]
    return (
        float(np.mean([r["sum_reward"] for r in rows])),
        float(np.mean([r["completion_rate"] for r in rows])),
    )


def run_baseline(
    name: str, scenario: ScenarioConfig, episodes: int, eval_episodes: int, seed: int
) -> dict[str, Any]:
    agent = make_agent(agent_config(name), scenario, seed=seed)
    train_rewards: list[float] = []
    start = time.perf_counter()
    agent.learn(
        cloudedge.CloudEdgeEnv(scenario),
        episodes,
        seed=seed,
        on_episode=lambda _, m: train_rewards.append(m["sum_reward"]),
    )
    seconds = time.perf_counter() - start
    reward, completion = evaluate(agent, scenario, eval_episodes)
    return {
        "agent": name,
        "s_per_1k": 1000.0 * seconds / (episodes * scenario.n_tasks),
        "train_last5": float(np.mean(train_rewards[-5:])),
        "eval_reward": reward,
        "eval_completion": completion,
    }


def run_heuristic(
    name: str, scenario: ScenarioConfig, eval_episodes: int, seed: int
) -> dict[str, Any]:
    agent = make_agent(agent_config(name), scenario, seed=seed)
    start = time.perf_counter()
    reward, completion = evaluate(agent, scenario, eval_episodes)
    seconds = time.perf_counter() - start
    return {
        "agent": name,
        "s_per_1k": 1000.0 * seconds / (eval_episodes * scenario.n_tasks),
        "train_last5": float("nan"),
        "eval_reward": reward,
        "eval_completion": completion,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="training episodes")
    parser.add_argument("--eval-episodes", type=int, default=3)
    parser.add_argument("--n-tasks", type=int, default=100)
    parser.add_argument("--t-max", type=float, default=15.0, dest="t_max_s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--agents", default=",".join(BASELINES + HEURISTICS))
    args = parser.parse_args(argv)
    if args.episodes < 5 or args.eval_episodes < 1:
        parser.error("--episodes must be >= 5 and --eval-episodes >= 1")
    torch.set_num_threads(args.threads)
    scenario = cloudedge.paper_scenario(n_tasks=args.n_tasks, t_max_s=args.t_max_s)
    names = [n.strip() for n in args.agents.split(",") if n.strip()]
    print(
        f"paper scenario, n_tasks = {args.n_tasks}, t_max = {args.t_max_s} s; "
        f"{args.episodes} training episodes ({args.episodes * args.n_tasks} steps), "
        f"{args.eval_episodes} evaluation episodes; torch threads = {args.threads}, "
        f"device = {'cuda' if torch.cuda.is_available() else 'cpu'}"
    )
    header = (
        f"{'agent':<14} {'s / 1k steps':>14} {'train sum (last 5)':>19} "
        f"{'eval sum reward':>16} {'eval completion':>16}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        if name in BASELINES:
            row = run_baseline(name, scenario, args.episodes, args.eval_episodes, args.seed)
        else:
            row = run_heuristic(name, scenario, args.eval_episodes, args.seed)
        train = "-" if np.isnan(row["train_last5"]) else f"{row['train_last5']:.2f}"
        kind = "train" if name in BASELINES else "act"
        print(
            f"{row['agent']:<14} {row['s_per_1k']:>7.2f} ({kind:<5}) {train:>19} "
            f"{row['eval_reward']:>16.2f} {row['eval_completion']:>16.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
