"""Concatenate every run's ``metrics.csv`` under ``OUT/runs`` into one tidy CSV per experiment.

Usage: ``python scripts/collect.py --out-dir outputs --dest results``. Runs from several
machines merge the same way: copy their ``runs/`` folders side by side, or concatenate the
CSVs this writes (identical columns). Rows are sorted, so the result does not depend on the
order runs finished in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import COLUMNS, atomic_write_text  # noqa: E402

SORT_KEYS = ["agent", "seed", "t_max_s", "n_tasks", "episode"]


def collect(out_dir: Path, dest: Path) -> dict[str, int]:
    """Write ``dest/<experiment>.csv`` for each experiment found; return row counts."""
    counts: dict[str, int] = {}
    for experiment in ("train", "tmax", "load"):
        paths = sorted((out_dir / "runs" / experiment).glob("*/seed=*/metrics.csv"))
        if not paths:
            continue
        frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
        frame = frame[list(COLUMNS)].sort_values(SORT_KEYS, kind="stable")
        atomic_write_text(dest / f"{experiment}.csv", frame.to_csv(index=False))
        counts[experiment] = len(frame)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("outputs"))
    parser.add_argument("--dest", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    counts = collect(args.out_dir, args.dest)
    if not counts:
        print(f"collect: error: no runs under {args.out_dir / 'runs'}", file=sys.stderr)
        return 2
    for experiment, n in counts.items():
        print(f"{args.dest / (experiment + '.csv')}: {n} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
