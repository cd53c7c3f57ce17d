"""``cloudedge`` command line: ``cloudedge episode`` runs random episodes of a scenario."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cloudedge", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    episode = commands.add_parser("episode", help="run random-policy episodes, print metrics")
    episode.add_argument("--episodes", type=int, default=3)
    episode.add_argument("--seed", type=int, default=0)
    episode.add_argument("--t-max", type=float, default=15.0)
    episode.add_argument("--n-tasks", type=int, default=100)
    args = parser.parse_args(argv)
    if args.command == "episode":
        from benchmarks.random_episodes import main as run_random

        return run_random(
            [
                f"--episodes={args.episodes}",
                f"--seed={args.seed}",
                f"--t-max={args.t_max}",
                f"--n-tasks={args.n_tasks}",
            ]
        )
    return 2  # pragma: no cover (argparse rejects unknown commands)


if __name__ == "__main__":
    sys.exit(main())
