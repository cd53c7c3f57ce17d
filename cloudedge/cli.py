"""The cloudedge command line: run episodes of a scenario, or measure a GPT-J compute profile.

cloudedge episode runs episodes of a scenario with uniformly random actions and prints their
metrics (python -m benchmarks.episode runs the agents of the benchmark instead). cloudedge
profile times GPT-J generation on this machine and writes a profile CSV (needs the optional
extra: pip install 'cloudedge-bench[profile]').
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cloudedge.config import ConfigError, ScenarioConfig
from cloudedge.env import CloudEdgeEnv, make_scenario
from cloudedge.profiles import ProfileFormatError
from cloudedge.trace import TraceFormatError

#: The columns of the episode table, from ``info["episode"]``.
COLUMNS = ("sum_reward", "completion_rate", "avg_latency_s", "avg_pass_at_100", "utility")

#: What each column of the table is, and over what its ``mean`` row averages.
TABLE_NOTES = (
    "per episode: sum_reward = sum of eq. 14 rewards; completion_rate = completed / n_tasks;",
    "avg_latency_s = mean latency of its completed tasks (nan if none completed);",
    "avg_pass_at_100 = mean pass@100 over all its tasks (0 for a failed one);",
    "utility = eq. 9, 1 / avg_latency_s (0 if none completed) + avg_pass_at_100.",
    "mean row: the mean over the episodes; for avg_latency_s only over those that completed "
    "any task ({n_latency} of {n_episodes}).",
)

#: Errors of bad input (scenario, trace, profile): one line on stderr, exit 2.
INPUT_ERRORS = (ConfigError, TraceFormatError, ProfileFormatError, FileNotFoundError, ValueError)

#: A policy: ``(observation, info) -> action`` of :class:`~cloudedge.env.CloudEdgeEnv`.
Policy = Callable[[np.ndarray, Mapping[str, Any]], dict[str, Any]]


def add_episode_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of an episode run (shared with ``python -m benchmarks.episode``).

    :param parser: the (sub)command parser to extend.
    """
    parser.add_argument(
        "--episodes", type=int, default=3, help="number of episodes to run, >= 1 (default: 3)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the first episode; episode k uses seed + k, and the policy is seeded "
        "with seed (default: 0)",
    )
    parser.add_argument(
        "--t-max", type=float, default=None, help="deadline in s (default: the scenario's)"
    )
    parser.add_argument(
        "--n-tasks", type=int, default=None, help="tasks per episode (default: the scenario's)"
    )
    parser.add_argument(
        "--scenario",
        default=None,
        help="a shipped scenario (one of the files in cloudedge/scenarios/env: paper, "
        "azure_a100_3090, humaneval_a100_3090, ...) or the path of a scenario YAML file "
        "(default: paper)",
    )
    parser.add_argument(
        "--profile",
        default=None,
        metavar="CSV",
        help="profile CSV (e.g. written by cloudedge profile) that every server uses",
    )


def scenario_from_args(args: argparse.Namespace) -> ScenarioConfig:
    """The scenario that ``--scenario``, ``--t-max``, ``--n-tasks`` and ``--profile`` select.

    :raises ConfigError: on a bad scenario name, file or value.
    """
    scenario = make_scenario(args.scenario or "paper")
    overrides: dict[str, Any] = {}
    if args.t_max is not None:
        overrides["t_max_s"] = args.t_max
    if args.n_tasks is not None:
        overrides["n_tasks"] = args.n_tasks
    if args.profile is not None:
        overrides["servers"] = [
            {**server, "compute_profile": str(args.profile)}
            for server in scenario.to_dict()["servers"]
        ]
    return scenario.replace(**overrides) if overrides else scenario


def play(env: CloudEdgeEnv, policy: Policy, seed: int) -> dict[str, float]:
    """Play one episode of ``env`` from ``reset(seed=seed)``; return ``info["episode"]``."""
    observation, info = env.reset(seed=seed)
    done = False
    while not done:
        observation, _, terminated, truncated, info = env.step(policy(observation, info))
        done = terminated or truncated
    return dict(info["episode"])


def print_table(
    scenario: ScenarioConfig, policy_name: str, results: Sequence[Mapping[str, float]]
) -> None:
    """Print the scenario, one row of :data:`COLUMNS` per episode, their means and notes."""
    profiles = ", ".join(dict.fromkeys(f"{s.kind}: {s.compute_profile}" for s in scenario.servers))
    print(
        f"scenario {scenario.name} (workload {scenario.workload.source}), policy {policy_name}, "
        f"t_max = {scenario.t_max_s} s, n_tasks = {scenario.n_tasks}"
    )
    print(f"compute profiles: {profiles}")
    truncated = sum(int(row.get("truncated_prompts", 0)) for row in results)
    if truncated:
        print(
            f"prompts truncated to GPT-J's context: {truncated} of "
            f"{scenario.n_tasks * len(results)} tasks"
        )
    print(f"{'episode':>7} " + " ".join(f"{c:>16}" for c in COLUMNS))
    for i, row in enumerate(results):
        print(f"{i:>7} " + " ".join(_cell(row[c]) for c in COLUMNS))
    means = [_mean([row[c] for row in results]) for c in COLUMNS]
    print(f"{'mean':>7} " + " ".join(_cell(m) for m in means))
    n_latency = sum(1 for row in results if not math.isnan(row["avg_latency_s"]))
    for note in TABLE_NOTES:
        print(note.format(n_latency=n_latency, n_episodes=len(results)))


def uniform_random_policy(n_servers: int, seed: int) -> Policy:
    """Uniform over servers and over each share in [0, 1] (the raw action space)."""
    rng = np.random.default_rng(seed)

    def act(observation: np.ndarray, info: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "server": int(rng.integers(n_servers)),
            "share": rng.uniform(0.0, 1.0, 3).astype(np.float32),
        }

    return act


def error(command: str, message: object) -> int:
    """Print a one-line error of ``command`` on stderr; return exit status 2."""
    print(f"{command}: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """``cloudedge`` entry point.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    :return: exit status: 0, or 2 on bad input.
    """
    parser = argparse.ArgumentParser(
        prog="cloudedge",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    episode = commands.add_parser(
        "episode",
        help="run episodes of a scenario with uniformly random actions, print their metrics",
        description="Run episodes of a scenario with uniformly random actions and print their "
        "metrics (python -m benchmarks.episode --agent NAME runs an agent instead).",
    )
    add_episode_arguments(episode)
    profile = commands.add_parser(
        "profile",
        help="measure a GPT-J compute-time profile on this machine, write its CSV "
        "(needs the extra cloudedge-bench[profile])",
        description="Time GPT-J generation on this machine and write a profile CSV.",
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["profile"]:  # torch and transformers (seconds to import): only for it
        try:
            from cloudedge.profiling.gptj import add_arguments
        except ModuleNotFoundError as err:
            return error(
                "cloudedge profile",
                f"needs {err.name}, an optional extra: pip install 'cloudedge-bench[profile]'",
            )
        add_arguments(profile)
    args = parser.parse_args(argv)
    if args.command == "profile":
        from cloudedge.profiling.gptj import run as run_profiler

        return run_profiler(args)
    if args.episodes < 1:
        parser.error(f"--episodes = {args.episodes}: allowed >= 1")
    try:
        scenario = scenario_from_args(args)
        env = CloudEdgeEnv(scenario)
    except INPUT_ERRORS as err:
        return error("cloudedge episode", err)
    policy = uniform_random_policy(scenario.n_servers, args.seed)
    results = [play(env, policy, args.seed + k) for k in range(args.episodes)]
    print_table(scenario, "uniform random", results)
    return 0


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _cell(value: float) -> str:
    return f"{'nan':>16}" if math.isnan(value) else f"{value:>16.4f}"


if __name__ == "__main__":
    sys.exit(main())
