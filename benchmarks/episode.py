"""Run episodes of a scenario with an agent of the benchmark and print their metrics.

python -m benchmarks.episode --agent round_robin --scenario azure_a100_3090 --episodes 3
(also the console script cloudedge-episode). The agent is any heuristic of agents.heuristics
(random, round_robin, greedy_latency, edge_first, one_step_preview, ...); the scenario options are
those of cloudedge episode, which runs uniformly random actions with the simulator alone.
"""

from __future__ import annotations

import argparse
import inspect
import sys

from agents import heuristics
from agents.base import Agent, evaluate_episode
from cloudedge.cli import (
    INPUT_ERRORS,
    add_episode_arguments,
    error,
    print_table,
    scenario_from_args,
)
from cloudedge.env import CloudEdgeEnv

PROG = "python -m benchmarks.episode"


def heuristic_agents() -> dict[str, type[Agent]]:
    """The agents of :mod:`agents.heuristics` by their ``name`` (they need no training)."""
    return {
        cls.name: cls
        for _, cls in inspect.getmembers(heuristics, inspect.isclass)
        if issubclass(cls, Agent)
        and not inspect.isabstract(cls)
        and not cls.__name__.startswith("_")
        and cls.__module__ == heuristics.__name__
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.episode`` and ``cloudedge-episode``.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    :return: exit status: 0, or 2 on bad input.
    """
    agents = heuristic_agents()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run episodes of a scenario with a heuristic agent and print their metrics.",
    )
    add_episode_arguments(parser)
    parser.add_argument(
        "--agent",
        default="random",
        help=f"the agent: one of {', '.join(sorted(agents))} (default: random)",
    )
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes = {args.episodes}: allowed >= 1")
    if args.agent not in agents:
        return error(PROG, f"--agent = {args.agent!r} is unknown: allowed {sorted(agents)}")
    try:
        scenario = scenario_from_args(args)
        env = CloudEdgeEnv(scenario)
    except INPUT_ERRORS as err:
        return error(PROG, err)
    agent = agents[args.agent](scenario, seed=args.seed)
    results = [evaluate_episode(agent, env, args.seed + k) for k in range(args.episodes)]
    print_table(scenario, args.agent, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
