"""What ``make benchmark`` costs, from the runs a suite folder already holds.

Usage: ``python -m benchmarks.suite_cost --runs outputs/suite [--seeds 5] [--jobs 2]
[--out results/suite_cost.csv]``.

Every run records its wall time (``run.json``). The first evaluated run of a scenario also
computes the scenario's bounds (cached in ``bounds/`` for every later run), so its evaluation
is longer than the same agent's on another seed by the bounds' cost: that excess is reported
per scenario (it needs the agent on two seeds; the runs of one seed alone cannot separate it).
Per agent, the cost of one seed is the sum over scenarios of each unit's median (over seeds)
train + evaluation wall time, bounds excluded. The projection for ``--seeds`` seeds and
``--jobs`` workers is ``(bounds + seeds x one seed) / jobs``: it assumes the workers stay busy
and run as fast as they did when these runs were made (so it is only as good as the load was
alike). Prints the table and writes it to ``--out`` when given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from benchmarks.store import atomic_write_text
from benchmarks.suite import wall_times


def bound_costs(walls: pd.DataFrame) -> pd.Series:
    """Per scenario, the evaluation seconds spent on bounds: the largest excess of a unit's
    evaluation time over the median of the same (scenario, agent) on its other seeds.

    :param walls: :func:`benchmarks.suite.wall_times`' table.
    :return: seconds indexed by the row of ``walls`` that paid them (one per scenario where
        some agent ran two seeds or more).
    """
    paid: dict[int, float] = {}
    for _scenario, runs in walls.groupby("scenario"):
        excess = {}
        for _agent, unit_runs in runs.groupby("agent"):
            if len(unit_runs) < 2:
                continue  # one seed alone cannot tell bounds from the run's own cost
            for index in unit_runs.index:
                others = unit_runs["eval_s"].drop(index).median()
                excess[index] = unit_runs.at[index, "eval_s"] - others
        if excess:
            index = max(excess, key=excess.__getitem__)
            paid[index] = max(0.0, excess[index])
    return pd.Series(paid, dtype=float)


def cost_table(walls: pd.DataFrame, seeds: int, jobs: int) -> pd.DataFrame:
    """Rows ``(item, seconds)``: ``bounds:<scenario>``, ``seed:<agent>`` (one seed of that
    agent over every scenario, bounds excluded) and the totals and projection.

    :param walls: :func:`benchmarks.suite.wall_times`' table (finished units only).
    :param seeds: seeds to project.
    :param jobs: workers to project.
    """
    bounds = bound_costs(walls)
    unit_s = walls["train_s"] + walls["eval_s"]
    unit_s.loc[bounds.index] -= bounds
    per_unit = unit_s.groupby([walls["agent"], walls["scenario"]]).median()
    per_seed = per_unit.groupby(level="agent").sum().sort_values(ascending=False)
    rows = [(f"bounds:{walls.at[i, 'scenario']}", float(v)) for i, v in bounds.items()]
    rows += [(f"seed:{agent}", float(value)) for agent, value in per_seed.items()]
    one_seed, all_bounds = float(per_seed.sum()), float(bounds.sum())
    rows += [
        ("total:bounds", all_bounds),
        ("total:one_seed", one_seed),
        (f"projection:{seeds}_seeds_{jobs}_jobs", (all_bounds + seeds * one_seed) / jobs),
    ]
    return pd.DataFrame(rows, columns=["item", "seconds"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="a suite out-dir")
    parser.add_argument("--seeds", type=int, default=5, help="seeds to project (>= 1)")
    parser.add_argument("--jobs", type=int, default=2, help="workers to project (>= 1)")
    parser.add_argument("--out", type=Path, default=None, help="CSV to write")
    args = parser.parse_args(argv)
    for name in ("seeds", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} = {getattr(args, name)}: allowed >= 1")
    walls = wall_times(args.runs).dropna(subset=["train_s", "eval_s"])
    if walls.empty:
        parser.error(f"--runs = {args.runs}: no finished suite run (train and tmax) in it")
    table = cost_table(walls, args.seeds, args.jobs)
    table["minutes"] = (table["seconds"] / 60).round(1)
    table["seconds"] = table["seconds"].round(1)
    invocation = args.runs / "suite.json"
    if invocation.exists():
        record = json.loads(invocation.read_text())
        print(f"last invocation that ran units: {record['wall_s'] / 60:.1f} min, "
              f"{record['jobs']} jobs, seeds {record['seeds']}")  # fmt: skip
    print(table.to_string(index=False))
    if args.out is not None:
        atomic_write_text(args.out, table.to_csv(index=False))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
