"""Calibration table of the scenario suite: every reference's score as a fraction of the bound.

For each shipped scenario (``cloudedge/scenarios/env/<name>.yaml``) and episode seed, the LP
bound (grid refined to < 0.5%, :func:`agents.bound.episode_upper_bound`) and the LP-rounding
schedule bracket the optimum; every reference in ``conf/agent`` (those that do not learn)
plays the same episode.
Prints, per scenario, the mean of ``sum_reward / upper_bound`` over the seeds for each agent,
the bracket ``[best feasible known, upper bound]`` and its gap, the bound's last refinement
change (largest over seeds), its CPU seconds per episode (LP-rounding schedule included), and
what makes the scenario move (mean queue time, transmission share of latency, share of tasks
whose resources came back before the last arrival).

    python -m benchmarks.scenario_table --scenarios paper queueing --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import yaml

from agents.base import agent_capabilities, make_agent, start_episode
from agents.bound import episode_upper_bound
from benchmarks.config import agent_names
from cloudedge.config import available_scenarios, load_scenario
from cloudedge.env import CloudEdgeEnv

ROOT = Path(__file__).resolve().parents[1]
#: The references: every agent that does not learn (privileged ones included, flagged by name).
REFERENCES = tuple(agent_names(lambda c: not c.learns))


def scenario_names() -> list[str]:
    """Every shipped scenario (a YAML in ``cloudedge/scenarios/env``)."""
    return available_scenarios()


def play(
    agent_name: str, scenario, seed: int, env: CloudEdgeEnv | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """One episode of a reference; its metrics and what moved (queue, transmission, reuse).

    :param env: the environment to play in (default: a new one of ``scenario``).
    """
    config = yaml.safe_load((ROOT / "conf" / "agent" / f"{agent_name}.yaml").read_text())
    if agent_capabilities(config).learns:
        raise ValueError(f"{agent_name} learns: this table holds references only")
    agent = make_agent(config, scenario, seed=0)
    env = CloudEdgeEnv(scenario) if env is None else env
    obs, info = start_episode(agent, env, seed)
    outcomes = []
    done = False
    while not done:
        obs, _, done, _, info = env.step(agent.act(obs, info))
        outcomes.append(info["outcome"])
    done_ok = [o for o in outcomes if o.completed]
    arrivals = [o.arrival_s for o in outcomes]
    # Tasks that held resources and gave them back before the last arrival (reused later).
    reused = sum(1 for o in outcomes if o.latency_s == o.latency_s and o.released_s < arrivals[-1])
    moved = {
        "queue_s": float(np.mean([o.queue_s for o in done_ok])) if done_ok else math.nan,
        "transfer_share": float(
            np.mean([(o.upload_s + o.download_s) / o.latency_s for o in done_ok])
        )
        if done_ok
        else math.nan,
        "released_mid": reused / len(outcomes),
    }
    return dict(info["episode"]), moved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", nargs="*", default=None, help="default: every shipped scenario"
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--agents", nargs="*", default=list(REFERENCES))
    args = parser.parse_args(argv)
    names = args.scenarios or scenario_names()
    header = ["scenario", *args.agents, "feasible/UB", "gap", "refine_change", "bound_s"]
    print(" | ".join(header))
    for name in names:
        scenario = load_scenario(name)
        fractions: dict[str, list[float]] = {a: [] for a in args.agents}
        feasible_fr, gaps, costs, changes, moved_rows = [], [], [], [], []
        for seed in args.seeds:
            started = time.process_time()
            bracket = episode_upper_bound(scenario, seed, feasible=True)
            costs.append(time.process_time() - started)
            changes.append(bracket.refinement_change)
            best = bracket.feasible
            for agent_name in args.agents:
                metrics, moved = play(agent_name, scenario, seed)
                fractions[agent_name].append(metrics["sum_reward"] / bracket.upper_bound)
                best = max(best, metrics["sum_reward"])
                moved_rows.append((agent_name, moved))
            feasible_fr.append(best / bracket.upper_bound)
            gaps.append(1.0 - best / bracket.upper_bound)
        cells = [f"{np.mean(fractions[a]):.3f}" for a in args.agents]
        print(
            " | ".join(
                [name, *cells, f"{np.mean(feasible_fr):.3f}", f"{np.mean(gaps):.3f}",
                 f"{np.max(changes):.4f}", f"{np.mean(costs):.2f}"]
            ),
            flush=True,
        )  # fmt: skip
        for key in ("queue_s", "transfer_share", "released_mid"):
            values = {a: np.nanmean([m[key] for n, m in moved_rows if n == a]) for a in args.agents}
            print(f"    {key}: " + ", ".join(f"{a} {v:.3f}" for a, v in values.items()))


if __name__ == "__main__":
    main()
