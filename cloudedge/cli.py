"""``cloudedge`` command line.

* ``cloudedge episode`` runs episodes of a scenario and prints their metrics: by default the
  paper scenario with the uniformly random policy (``agents.heuristics.RandomAgent``);
  ``--scenario`` picks a named scenario or a scenario YAML, ``--profile`` puts every server on
  a profile CSV (e.g. one measured by ``cloudedge profile``), ``--agent`` picks a heuristic of
  ``agents.heuristics``.
* ``cloudedge profile`` measures a compute-time profile of GPT-J generation on this machine
  (:mod:`cloudedge.profiler`).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

COLUMNS = ("sum_reward", "completion_rate", "avg_latency_s", "avg_pass_at_100", "utility")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cloudedge", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    episode = commands.add_parser("episode", help="run episodes of a scenario, print metrics")
    episode.add_argument("--episodes", type=int, default=3)
    episode.add_argument("--seed", type=int, default=0, help="episode seeds: seed, seed+1, ...")
    episode.add_argument(
        "--t-max", type=float, default=None, help="deadline in s (default: the scenario's)"
    )
    episode.add_argument(
        "--n-tasks", type=int, default=None, help="tasks per episode (default: the scenario's)"
    )
    episode.add_argument(
        "--scenario",
        default=None,
        help="a named scenario (paper, azure_a100_3090, humaneval_a100_3090) or a scenario "
        "YAML file such as conf/env/azure_a100_3090.yaml (default: paper)",
    )
    episode.add_argument(
        "--profile",
        default=None,
        metavar="CSV",
        help="profile CSV (e.g. written by `cloudedge profile`) that every server uses",
    )
    episode.add_argument(
        "--agent",
        default="random",
        help="policy: random (uniform actions) or the name of a heuristic in "
        "agents.heuristics (round_robin, greedy_latency, edge_first, fair_share, best_server, "
        "kv_admission, one_step_preview)",
    )
    profile = commands.add_parser(
        "profile", help="measure a GPT-J compute-time profile here, write its CSV"
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["profile"]:  # the profiler imports torch (seconds): only for its command
        from cloudedge.profiler import add_arguments

        add_arguments(profile)
    args = parser.parse_args(argv)
    if args.command == "profile":
        from cloudedge.profiler import run as run_profiler

        return run_profiler(args)
    if args.command == "episode":
        if args.episodes < 1:
            parser.error(f"--episodes = {args.episodes}: allowed >= 1")
        return _run_episodes(args)
    return 2  # pragma: no cover (argparse rejects unknown commands)


def _heuristics() -> dict[str, type]:
    """The agents of ``agents.heuristics`` by their ``name``."""
    import inspect

    from agents import heuristics
    from agents.base import Agent

    return {
        cls.name: cls
        for _, cls in inspect.getmembers(heuristics, inspect.isclass)
        if issubclass(cls, Agent)
        and not inspect.isabstract(cls)
        and not cls.__name__.startswith("_")
        and cls.__module__ == heuristics.__name__
    }


def _run_episodes(args: argparse.Namespace) -> int:
    """``cloudedge episode``: the chosen heuristic on the chosen scenario."""
    from agents.base import evaluate_episode
    from cloudedge.config import ConfigError, load_scenario_yaml
    from cloudedge.env import CloudEdgeEnv, make_scenario
    from cloudedge.profiles import ProfileFormatError
    from cloudedge.trace import TraceFormatError

    agents = _heuristics()
    if args.agent not in agents:
        print(
            f"cloudedge episode: error: --agent = {args.agent!r} is unknown: "
            f"allowed {sorted(agents)}",
            file=sys.stderr,
        )
        return 2
    try:
        name = args.scenario or "paper"
        if name.endswith((".yaml", ".yml")):
            scenario = load_scenario_yaml(name)
        else:
            scenario = make_scenario(name)
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
        if overrides:
            scenario = scenario.replace(**overrides)
        env = CloudEdgeEnv(scenario)
    except (
        ConfigError,
        TraceFormatError,
        ProfileFormatError,
        FileNotFoundError,
        ValueError,
    ) as err:
        print(f"cloudedge episode: error: {err}", file=sys.stderr)
        return 2
    agent = agents[args.agent](scenario, seed=args.seed)
    results = [
        evaluate_episode(agent, env, args.seed + episode) for episode in range(args.episodes)
    ]
    profiles = ", ".join(dict.fromkeys(f"{s.kind}: {s.compute_profile}" for s in scenario.servers))
    print(
        f"scenario {scenario.name} (workload {scenario.workload.source}), agent {args.agent}, "
        f"t_max = {scenario.t_max_s} s, n_tasks = {scenario.n_tasks}"
    )
    print(f"compute profiles: {profiles}")
    print(f"{'episode':>7} " + " ".join(f"{c:>16}" for c in COLUMNS))
    for i, row in enumerate(results):
        print(f"{i:>7} " + " ".join(_cell(row[c]) for c in COLUMNS))
    means = [_mean([row[c] for row in results]) for c in COLUMNS]
    print(f"{'mean':>7} " + " ".join(_cell(m) for m in means))
    return 0


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _cell(value: float) -> str:
    return f"{'nan':>16}" if math.isnan(value) else f"{value:>16.4f}"


if __name__ == "__main__":
    sys.exit(main())
