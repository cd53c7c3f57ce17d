"""Where each agent sends the tasks and what it grants there, on the episodes it was evaluated on.

Usage: ``python -m benchmarks.routing --runs outputs/suite/heterogeneous [DIR ...] [--agents
aif greedy_latency] [--seeds 0] [--episodes 10] [--out results/routing/heterogeneous.csv]
[--failed-out failed.csv]``.

A score says how much reward an agent got; this says where it came from. Every ``tmax`` run of
the named agents under each ``--runs`` folder (one scenario's folder of the suite, or any
``out_dir`` of cloudedge-bench) is replayed: the agent is built from the config its
``run.json`` records, loads the policy that run evaluated (agents that learn nothing load
nothing), and plays the same held-out episodes (seeds ``eval_seed_base + k``, the run's first
t_max and task count). Each replayed episode's sum reward must equal the one the run
recorded (relative tolerance :data:`REPLAY_RTOL`), so the table explains the committed score
and not another one; a replay that differs (other code or another host) stops the script,
naming the run and the episode.

Written: one row per (runs folder, agent, seed, server) with per-episode means: tasks sent
there, tasks completed, the shares granted (compute, bandwidth, memory, fractions of the
server; mean over the tasks sent there), the mean latency of the completed ones (s) and the
reward they earned (eq. 14, summed over the episode). Printed: the same, averaged over seeds,
with the agent's sum reward. With ``--failed-out``, also one row per task that did not complete
(:data:`FAILED_COLUMNS`): which episode and task, where it went, why it failed
(:class:`cloudedge.metrics.TaskStatus`: refused at admission, out of memory, or late), what
was asked for and what that server had left when it was asked.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from agents.base import make_agent, start_episode
from benchmarks.protocol import RunSpec, recorded_spec
from benchmarks.store import atomic_write_text
from cloudedge import CloudEdgeEnv
from cloudedge.observation import ObservationLayout

#: How closely a replayed episode's sum reward must match the run's (the same code on the same
#: machine replays bit for bit; the tolerance only absorbs the CSV's decimal round trip).
REPLAY_RTOL = 1e-9

COLUMNS = [
    "runs", "env", "agent", "seed", "episodes", "server", "server_name", "tasks", "completed",
    "compute_share", "bandwidth_share", "memory_share", "latency_s", "reward",
]  # fmt: skip

#: One row per task that did not complete (``--failed-out``); ``episode`` counts the replayed
#: episodes from 0, ``task_index`` is the task's place in its episode, ``status`` the reason;
#: the ``*_share`` columns are what was asked for, the ``*_left`` ones the server's remaining
#: fractions and ``memory_need`` the task's memory need there, as in the observation the agent
#: decided on (float32); ``servers_with_room`` how many servers could have taken the task
#: (``info['action_mask']``: its memory need and some compute and bandwidth left).
FAILED_COLUMNS = [
    "runs", "env", "agent", "seed", "episode", "env_seed", "task_index", "server",
    "server_name", "status", "compute_share", "bandwidth_share", "memory_share",
    "compute_left", "bandwidth_left", "memory_left", "memory_need", "servers_with_room",
    "latency_s",
]  # fmt: skip


def evaluated_runs(out_dir: Path, agents: Sequence[str] | None, seeds: Sequence[int] | None):
    """The ``run.json`` of every ``tmax`` run under ``out_dir`` of ``agents`` and ``seeds``
    (all when ``None``), sorted."""
    found = []
    for path in sorted(out_dir.glob("runs/*/tmax/*/seed=*/run.json")):
        agent, seed = path.parent.parent.name, int(path.parent.name.removeprefix("seed="))
        if (agents is None or agent in agents) and (seeds is None or seed in seeds):
            found.append(path)
    return found


def recorded_episodes(run_json: Path, spec: RunSpec, episodes: int) -> pd.DataFrame:
    """The first ``episodes`` evaluated episodes a run recorded at its first t_max and task
    count (``metrics.csv`` rows, read exactly).

    :raises SystemExit: naming the run when it recorded fewer.
    """
    recorded = pd.read_csv(run_json.parent / "metrics.csv", float_precision="round_trip")
    t_max, n_tasks = spec.experiment.t_max_values_s[0], spec.experiment.n_tasks_values[0]
    recorded = recorded[(recorded.t_max_s == t_max) & (recorded.n_tasks == n_tasks)]
    if len(recorded) < episodes:
        raise SystemExit(
            f"{run_json}: --episodes {episodes}; allowed at most the {len(recorded)} it evaluated"
        )
    return recorded.head(episodes)


def check_replay(run_json: Path, k: int, expected: Any, total: float) -> None:
    """Stop, naming the run and the episode, when replayed episode ``k`` (its recorded row
    ``expected``) sums to another reward than the run recorded."""
    if not math.isclose(total, float(expected.sum_reward), rel_tol=REPLAY_RTOL):
        raise SystemExit(
            f"{run_json}: episode {k} (env seed {expected.env_seed}) replays to sum reward "
            f"{total!r}, the run recorded {expected.sum_reward!r}; allowed equal (relative "
            f"tolerance {REPLAY_RTOL}): the code or the host differs from the run's"
        )


def replay(
    run_json: Path, out_dir: Path, episodes: int, failed: list[dict] | None = None
) -> list[dict]:
    """The rows of one run (see the module docstring).

    :param failed: when given, a row (:data:`FAILED_COLUMNS`) is appended to it for every
        replayed task that did not complete.

    :raises SystemExit: naming the run when it recorded fewer episodes than asked, it has no
        saved policy, or a replayed sum reward differs from the recorded one.
    """
    meta, spec = recorded_spec(run_json, out_dir)
    recorded = recorded_episodes(run_json, spec, episodes)
    t_max, n_tasks = spec.experiment.t_max_values_s[0], spec.experiment.n_tasks_values[0]
    policy = spec.policy_dir / "policy"
    if not policy.parent.exists():
        raise SystemExit(f"{run_json}: no saved policy at {policy}")
    scenario = spec.train_scenario
    agent = make_agent(spec.agent_config, scenario, seed=spec.seed)
    agent.load(policy)  # as the harness does before every evaluation (a no-op for references)
    env = CloudEdgeEnv(scenario.replace(t_max_s=t_max, n_tasks=n_tasks))
    n = scenario.n_servers
    layout = ObservationLayout(n)
    tasks, completed = np.zeros(n), np.zeros(n)
    shares, latency, reward = np.zeros((n, 3)), np.zeros(n), np.zeros(n)
    for k, expected in enumerate(recorded.itertuples()):
        observation, info = start_episode(agent, env, int(expected.env_seed))
        total, done = 0.0, False
        while not done:
            action = agent.act(observation, info)
            server, granted = env.validate_action(action)
            left = layout.remaining(observation)[server]
            need = layout.block(observation, "memory_need")[server]
            with_room = int(np.count_nonzero(info["action_mask"]))
            observation, step_reward, terminated, truncated, info = env.step(action)
            outcome = info["outcome"]
            tasks[server] += 1
            shares[server] += granted
            if outcome.completed:
                completed[server] += 1
                latency[server] += outcome.latency_s
            elif failed is not None:
                failed.append({
                    "runs": str(out_dir), "env": meta["env"], "agent": meta["agent"],
                    "seed": spec.seed, "episode": k, "env_seed": int(expected.env_seed),
                    "task_index": outcome.task_index, "server": server,
                    "server_name": scenario.servers[server].name,
                    "status": outcome.status.value, "compute_share": granted[0],
                    "bandwidth_share": granted[1], "memory_share": granted[2],
                    "compute_left": float(left[0]), "bandwidth_left": float(left[1]),
                    "memory_left": float(left[2]), "memory_need": float(need),
                    "servers_with_room": with_room, "latency_s": outcome.latency_s,
                })  # fmt: skip
            reward[server] += step_reward
            total += step_reward
            done = terminated or truncated
        check_replay(run_json, k, expected, total)
    rows = []
    for j, server in enumerate(scenario.servers):
        sent = max(tasks[j], 1.0)
        rows.append({
            "runs": str(out_dir), "env": meta["env"], "agent": meta["agent"], "seed": spec.seed,
            "episodes": episodes, "server": j, "server_name": server.name,
            "tasks": tasks[j] / episodes, "completed": completed[j] / episodes,
            "compute_share": shares[j, 0] / sent, "bandwidth_share": shares[j, 1] / sent,
            "memory_share": shares[j, 2] / sent,
            "latency_s": latency[j] / completed[j] if completed[j] else math.nan,
            "reward": reward[j] / episodes,
        })  # fmt: skip
    return rows


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (runs folder, env, agent, server): the mean over seeds, and the agent's sum reward
    per episode (a folder is a key: two folders may hold runs of one agent, e.g. a variant)."""
    agent_keys = ["runs", "env", "agent"]
    keys = [*agent_keys, "server", "server_name"]
    means = table.groupby(keys, sort=False)[COLUMNS[7:]].mean().reset_index()
    totals = table.groupby([*agent_keys, "seed"], sort=False)["reward"].sum()
    sum_reward = totals.groupby(level=agent_keys, sort=False).mean()
    triples = zip(means.runs, means.env, means.agent, strict=True)
    means["agent_sum_reward"] = [sum_reward[triple] for triple in triples]
    return means


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=Path,
        nargs="+",
        required=True,
        help="out_dir(s) of cloudedge-bench (a scenario's suite folder)",
    )
    parser.add_argument("--agents", nargs="+", help="default: every agent with a tmax run")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: every seed")
    parser.add_argument("--episodes", type=int, default=10, help="held-out episodes (>= 1)")
    parser.add_argument("--out", type=Path, help="the CSV (default: print only)")
    parser.add_argument(
        "--failed-out", type=Path, help="a CSV of every task that did not complete (optional)"
    )
    args = parser.parse_args(argv)  # fmt: skip
    if args.episodes < 1:
        parser.error(f"--episodes = {args.episodes}: allowed an integer >= 1")
    runs = [(run, d) for d in args.runs for run in evaluated_runs(d, args.agents, args.seeds)]
    if not runs:
        parser.error(
            f"--runs {' '.join(map(str, args.runs))}: no tmax run "
            f"(runs/*/tmax/<agent>/seed=<s>/run.json) of agents {args.agents or 'any'} and "
            f"seeds {args.seeds or 'any'}"
        )
    missing = sorted(set(args.agents or ()) - {run.parent.parent.name for run, _ in runs})
    if missing:
        parser.error(f"--agents: no tmax run of {missing} under --runs")
    torch.set_num_threads(1)  # as the harness runs
    failed: list[dict] = []
    table = pd.DataFrame(
        [row for run, d in runs for row in replay(run, d, args.episodes, failed)], columns=COLUMNS
    )
    if args.out is not None:
        atomic_write_text(args.out, table.to_csv(index=False, float_format="%.6g"))
    if args.failed_out is not None:
        failed_table = pd.DataFrame(failed, columns=FAILED_COLUMNS)
        atomic_write_text(args.failed_out, failed_table.to_csv(index=False, float_format="%.6g"))
    print(summary(table).round(3).to_string(index=False))
    if args.out is not None:
        print(f"wrote {args.out} ({len(table)} rows)")
    if args.failed_out is not None:
        print(f"wrote {args.failed_out} ({len(failed)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
