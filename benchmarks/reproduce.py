"""The whole protocol: train, t_max and load sweeps over every agent and seed, then the CSVs,
figures and summary in ``results/``. ``make reproduce`` runs it; ``make reproduce-quick`` runs
it at a reduced budget (``--quick``).

Each sweep is a Hydra multirun of ``benchmarks.run`` through the local joblib launcher (one
process per core). Runs already complete in ``--out-dir`` are skipped, so a killed
reproduction resumes where it stopped.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEURISTICS = ("random", "round_robin", "greedy_latency", "edge_first", "one_step_preview")
LEARNERS = ("aif", "ppo", "sac", "qrdqn", "rainbow", "gpnfsp")


def available_agents() -> list[str]:
    """Every agent with a config in ``conf/agent``, heuristics first, then learners."""
    names = {p.stem for p in (ROOT / "conf" / "agent").glob("*.yaml")}
    ordered = [a for a in (*LEARNERS, *HEURISTICS) if a in names]
    return ordered + sorted(names - set(ordered))


def _run(cmd: list[str], stage: str) -> float:
    print(f"\n=== {stage}: {' '.join(cmd[2:])}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        print(f"reproduce: error: stage {stage} failed (exit {result.returncode})", file=sys.stderr)
        raise SystemExit(result.returncode)
    print(f"=== {stage} done in {elapsed:.0f} s", flush=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced budget (minutes)")
    parser.add_argument("--seeds", type=int, default=None, help="default 5 (quick: 2)")
    parser.add_argument("--agents", default=None, help="comma-separated (default: all)")
    parser.add_argument("--out-dir", default=None, help="default outputs/ (quick: outputs/quick)")
    parser.add_argument(
        "--results", default=None, help="default results/ (quick: outputs/quick/results)"
    )
    parser.add_argument("--jobs", type=int, default=-1, help="parallel runs (-1: one per core)")
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    agents = args.agents.split(",") if args.agents else available_agents()
    out_dir = args.out_dir or ("outputs/quick" if args.quick else "outputs")
    results = args.results or ("outputs/quick/results" if args.quick else "results")
    suffix = "_quick" if args.quick else ""
    if seeds < 1:
        parser.error(f"--seeds = {seeds}: allowed >= 1")

    started = time.perf_counter()
    base = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "-m",
        f"agent={','.join(agents)}",
        f"seed={','.join(str(s) for s in range(seeds))}",
        f"out_dir={out_dir}",
        f"hydra.launcher.n_jobs={args.jobs}",
    ]
    for experiment in ("train", "tmax", "load"):
        _run([*base, f"experiment={experiment}{suffix}"], experiment)
    py = sys.executable
    _run([py, "scripts/collect.py", "--out-dir", out_dir, "--dest", results], "collect")
    _run([py, "scripts/plot.py", "--results", results], "plot")
    total = time.perf_counter() - started
    command = "make reproduce-quick" if args.quick else "make reproduce"
    _run(
        [
            py,
            "scripts/summarize.py",
            "--results",
            results,
            "--command",
            command,
            "--wall",
            f"{total / 60:.1f} min on {_machine()}",
        ],
        "summarize",
    )
    print(
        f"\nreproduce: total wall time {total / 60:.1f} min ({len(agents)} agents x "
        f"{seeds} seeds); results in {results}/"
    )
    return 0


def _machine() -> str:
    import os

    return f"{os.cpu_count()} cores"


if __name__ == "__main__":
    raise SystemExit(main())
