"""The whole protocol: train, t_max and load sweeps over every agent and seed, then the CSVs,
figures and summary in ``OUT_DIR/results`` (or ``--results``). ``make reproduce`` runs it
with ``--results results`` (the committed tables); ``make reproduce-quick`` runs it at a
reduced budget (``--quick``).

Each sweep is a Hydra multirun of ``benchmarks.run`` through the local joblib launcher (one
process per core). Runs already complete in ``--out-dir`` are skipped, so a killed
reproduction resumes where it stopped; the sweeps it starts die with it
(:mod:`benchmarks.lifecycle`), so a kill leaves no worker behind.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.config import agent_names
from benchmarks.lifecycle import DIE_WITH_PARENT_ENV

ROOT = Path(__file__).resolve().parents[1]


def available_agents(extra_config_dir: Path | None = None) -> list[str]:
    """Every agent with a config in ``conf/agent`` (and ``extra_config_dir/agent``), learners
    first (they take longest, so a parallel sweep starts them first)."""
    return agent_names(extra_config_dirs=[extra_config_dir] if extra_config_dir else [])


def _run(cmd: list[str], stage: str) -> float:
    print(f"\n=== {stage}: {' '.join(cmd[2:])}", flush=True)
    started = time.perf_counter()
    env = {**os.environ, DIE_WITH_PARENT_ENV: "1"}  # the sweep dies with this process
    result = subprocess.run(cmd, cwd=ROOT, check=False, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        print(f"reproduce: error: stage {stage} failed (exit {result.returncode})", file=sys.stderr)
        raise SystemExit(result.returncode)
    print(f"=== {stage} done in {elapsed:.0f} s", flush=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="reduced budget (minutes): the *_quick experiments")  # fmt: skip
    parser.add_argument("--seeds", type=int, default=None,
                        help="training seeds 0..N-1 (default 5; quick: 2)")  # fmt: skip
    parser.add_argument("--agents", default=None,
                        help="comma-separated conf/agent names (default: all)")  # fmt: skip
    parser.add_argument("--out-dir", default=None,
                        help="runs, policies (default outputs; quick: outputs/quick)")  # fmt: skip
    parser.add_argument("--config-dir", type=Path, default=None,
                        help="a folder of more agent/, env/ or experiment/ configs")  # fmt: skip
    parser.add_argument("--results", default=None,
                        help="tables and figures (default OUT_DIR/results)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=-1, help="parallel runs (-1: one per core)")
    parser.add_argument("--replace", action="store_true",
                        help="replace runs and policies another config or code wrote")  # fmt: skip
    args = parser.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    agents = args.agents.split(",") if args.agents else available_agents(args.config_dir)
    # Absolute, since the stages run from the repository root, not from where this was called.
    out_dir = str(Path(args.out_dir or ("outputs/quick" if args.quick else "outputs")).resolve())
    results = str(Path(args.results).resolve() if args.results else Path(out_dir) / "results")
    suffix = "_quick" if args.quick else ""
    if seeds < 1:
        parser.error(f"--seeds = {seeds}: allowed >= 1")
    if args.jobs == 0 or args.jobs < -1:
        parser.error(f"--jobs = {args.jobs}: allowed >= 1, or -1 for one per core")

    started = time.perf_counter()
    base = [
        sys.executable,
        "-m",
        "benchmarks.run",
        *(["--config-dir", str(args.config_dir.resolve())] if args.config_dir else []),
        "-m",
        f"agent={','.join(agents)}",
        f"seed={','.join(str(s) for s in range(seeds))}",
        f"out_dir={out_dir}",
        f"hydra.launcher.n_jobs={args.jobs}",
        *(["replace=true"] if args.replace else []),
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
