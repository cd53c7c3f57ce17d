"""GP-NFSP's two networks, each played both ways, on the held-out episodes of its evaluation.

Usage: ``python -m benchmarks.gpnfsp_policies --runs OUT [OUT ...] [--episodes 10]
[--out results/gpnfsp_policies.csv]``.

NFSP's output is the average policy, played by sampling (``conf/agent/gpnfsp.yaml``; what the
harness evaluates); its best response is what the average policy imitates. To tell a best
response that has not learned from an average that lags it, every GP-NFSP policy saved by a
``train`` run under each ``OUT`` (``OUT/policies/<env>/gpnfsp/seed=<s>``) is loaded into the
agent config and scenario its ``run.json`` records and played four ways: ``act_policy``
``average`` / ``best_response`` x ``eval_mode`` ``sampled`` / ``greedy``. Episodes are those the
harness evaluates (seeds ``eval_seed_base + k``, the env's t_max and task count), so the
(average, sampled) row matches the ``tmax`` run's completion at the env's t_max.
Written: one row per (run folder, seed, act_policy, eval_mode) with the training budget;
printed: the mean over seeds of each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agents.base import evaluate_episode, make_agent
from benchmarks.protocol import recorded_spec
from benchmarks.store import atomic_write_text
from cloudedge import CloudEdgeEnv

AGENT = "gpnfsp"
MODES = (
    ("average", "sampled"),
    ("average", "greedy"),
    ("best_response", "sampled"),
    ("best_response", "greedy"),
)
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "results" / "gpnfsp_policies.csv"


def trained_runs(out_dir: Path) -> list[Path]:
    """The ``run.json`` of every GP-NFSP ``train`` run under ``out_dir``."""
    return sorted(out_dir.glob(f"runs/*/train/{AGENT}/seed=*/run.json"))


def play_modes(run_json: Path, out_dir: Path, episodes: int) -> list[dict]:
    """One row per mode: the saved policy of this run, played on ``episodes`` held-out episodes."""
    # The harness's own run layout and scenarios: the policy folder, the env the agent was
    # built on, the env it is evaluated on.
    meta, spec = recorded_spec(run_json, out_dir)
    policy = spec.policy_dir / "policy"
    if not policy.exists():
        raise SystemExit(f"{run_json}: no saved policy at {policy}")
    env = CloudEdgeEnv(spec.env_scenario)
    seed_base = spec.experiment.eval_seed_base
    rows = []
    for act_policy, eval_mode in MODES:
        config = {**spec.agent_config, "act_policy": act_policy, "eval_mode": eval_mode}
        agent = make_agent(config, spec.train_scenario, seed=spec.seed)
        agent.load(policy)
        played = [evaluate_episode(agent, env, seed_base + k) for k in range(episodes)]
        rows.append({
            "runs": str(out_dir),
            "env": meta["env"],
            "train_episodes": spec.experiment.train_episodes,
            "seed": spec.seed,
            "act_policy": act_policy,
            "eval_mode": eval_mode,
            "episodes": episodes,
            "completion_rate": float(np.mean([m["completion_rate"] for m in played])),
            "sum_reward": float(np.mean([m["sum_reward"] for m in played])),
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True,
                        help="out_dir(s) of cloudedge-bench train runs of gpnfsp")  # fmt: skip
    parser.add_argument("--episodes", type=int, default=10, help="held-out episodes (>= 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes = {args.episodes}: allowed an integer >= 1")
    found = {out_dir: trained_runs(out_dir) for out_dir in args.runs}
    empty = [str(d) for d, runs in found.items() if not runs]
    if empty:
        parser.error(f"--runs {' '.join(empty)}: no {AGENT} train run (runs/*/train/{AGENT}/)")
    torch.set_num_threads(1)  # as the harness runs
    rows = [
        row for d, runs in found.items() for r in runs for row in play_modes(r, d, args.episodes)
    ]
    table = pd.DataFrame(rows)
    atomic_write_text(args.out, table.to_csv(index=False, float_format="%.6g"))
    summary = table.groupby(["runs", "train_episodes", "act_policy", "eval_mode"], sort=False)
    print(summary["completion_rate"].agg(["mean", "min", "max", "count"]).round(3).to_string())
    print(f"wrote {args.out} ({len(table)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
