"""Merge every run's ``metrics.csv`` under ``OUT/runs`` into one tidy CSV per experiment.

Usage: ``python scripts/collect.py --out-dir outputs --dest outputs/results`` (``--dest`` has
no default, so that the committed ``results/`` is written only when named). Every run is
checked first as the harness checks it (``benchmarks.store.verify_run``: schema, types, row
count, run key, checksum in ``run.json``); one bad or incomplete run stops the merge with an
error naming the file, the line and what is wrong, and nothing is written. Runs from several
machines merge the same way: copy their ``runs/`` folders side by side first. Rows are sorted,
so the result does not depend on the order runs finished in.

``--keep DIR`` merges an earlier collection whose runs are gone (a committed
``results/<x>/<experiment>.csv``) with the runs: its rows are checked against the schema
(``benchmarks.schema.read_metrics``) and kept for every (agent, seed) no run holds; a run
replaces its (agent, seed) there. Used to add one agent's runs to a committed table without
rerunning the others.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.config import EXPERIMENTS, BenchError  # noqa: E402
from benchmarks.schema import COLUMNS, read_metrics  # noqa: E402
from benchmarks.store import META_FILE, METRICS_FILE, atomic_write_text, verify_run  # noqa: E402

SORT_KEYS = ["agent", "seed", "t_max_s", "n_tasks", "episode"]


def env_dirs(out_dir: Path) -> list[str]:
    """The env folders (``<env>-<hash>``) under ``out_dir/runs``."""
    runs = out_dir / "runs"
    return sorted(p.name for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def run_dirs(env_dir: Path, experiment: str) -> list[Path]:
    """Every run folder of one experiment (complete or not) under an env folder, at any depth:
    an agent config in a subfolder (``agent=tuned/ppo``) runs under ``tuned/ppo/seed=<s>``."""
    folders = {
        p.parent
        for name in (METRICS_FILE, META_FILE)
        for p in (env_dir / experiment).glob(f"**/seed=*/{name}")
    }
    return sorted(folders)


def kept_rows(keep: Path, experiment: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the runs' rows of one experiment; not empty) with the rows of
    ``keep/<experiment>.csv`` for every (agent, seed) that ``frame`` does not hold.

    :raises BenchError: naming the kept file when its rows break the schema, belong to another
        experiment, or come from another scenario than the runs'.
    """
    path = keep / f"{experiment}.csv"
    if not path.exists():
        return frame
    kept = pd.DataFrame(read_metrics(path), columns=list(COLUMNS))
    if kept.empty:
        return frame
    experiments, envs = sorted(set(kept["experiment"])), sorted(set(kept["env"]))
    if experiments != [experiment]:
        raise BenchError(f"{path}: experiment {experiments}, expected {experiment!r}")
    if envs != sorted(set(frame["env"])):
        raise BenchError(f"{path}: env {envs}, but the runs are of {sorted(set(frame['env']))}")
    ran = set(zip(frame["agent"], frame["seed"], strict=True))
    mine = [pair not in ran for pair in zip(kept["agent"], kept["seed"], strict=True)]
    return pd.concat([frame, kept[mine]], ignore_index=True)


def collect(
    out_dir: Path, dest: Path, env: str | None = None, keep: Path | None = None
) -> dict[str, int]:
    """Check every run, then write ``dest/<experiment>.csv`` for each experiment found.

    :param env: the env folder to collect (needed when ``out_dir`` holds several).
    :param keep: a folder of earlier ``<experiment>.csv`` to merge (:func:`kept_rows`).
    :return: row counts per experiment (empty when there are no runs).
    :raises BenchError: naming the file (and line) of the first bad run or kept row, or the
        env choice.
    """
    envs = env_dirs(out_dir)
    if env is None:
        if len(envs) > 1:
            raise BenchError(
                f"{out_dir / 'runs'} holds runs of several envs {envs}: choose one with --env"
            )
        env = envs[0] if envs else None
    elif env not in envs:
        raise BenchError(f"--env {env!r}: no such folder under {out_dir / 'runs'}; found {envs}")
    if env is None:
        return {}
    frames: dict[str, pd.DataFrame] = {}
    for experiment in EXPERIMENTS:
        rows = [
            row for run in run_dirs(out_dir / "runs" / env, experiment) for row in verify_run(run)
        ]
        if not rows:
            continue
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        if keep is not None:
            frame = kept_rows(keep, experiment, frame)
        frames[experiment] = frame.sort_values(SORT_KEYS, kind="stable")
    for experiment, frame in frames.items():  # only once every run has passed
        atomic_write_text(dest / f"{experiment}.csv", frame.to_csv(index=False))
    return {experiment: len(frame) for experiment, frame in frames.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("outputs"),
                        help="the harness's out_dir (runs are read from OUT_DIR/runs)")  # fmt: skip
    parser.add_argument("--dest", type=Path, required=True,
                        help="folder for <experiment>.csv (e.g. outputs/results)")  # fmt: skip
    parser.add_argument("--env", default=None,
                        help="env folder under OUT_DIR/runs (needed if several)")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder of earlier <experiment>.csv kept beside the runs")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        counts = collect(args.out_dir, args.dest, args.env, args.keep)
    except BenchError as err:
        print(f"collect: error: {err}", file=sys.stderr)
        return 2
    if not counts:
        print(f"collect: error: no runs under {args.out_dir / 'runs'}", file=sys.stderr)
        return 2
    for experiment, n in counts.items():
        print(f"{args.dest / (experiment + '.csv')}: {n} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
