"""Tuned against default hyperparameters, on the reporting seeds: what ``make tune`` bought.

Usage: ``python -m scripts.tuning_table --default results/tmax.csv --tuned
results/tuning/tmax.csv --studies results/tuning --out results/tuning/comparison.csv
[--t-max 15.0] [--command "..."]`` (also writes ``comparison.md`` beside ``--out``).

``--default`` holds the committed defaults' evaluations (``make reproduce``'s tmax runs);
``--tuned`` the same protocol run with ``agent=tuned/<agent>`` (``scripts/collect.py`` of those
runs; agent names ``tuned/<agent>``). Per learner with a finished study
(``<studies>/<agent>/study.json``), at the grid point ``--t-max`` and the paper's task count:
each training seed's mean over its evaluation episodes, then the IQM over seeds with its 95%
bootstrap interval (``scripts/stats.py``) for the default and the tuned config, the difference
of their means with its interval, and a verdict: ``tuned better`` / ``tuned worse`` when the
interval excludes 0, else ``no difference``. Both are trained and evaluated on the same seeds
and the same held-out episodes; the studies tuned on other seeds (their protocol is in each
``study.json``), so the tuned value is not the study's selection reused. The tuned config is
the study's selection: its best trial, or the committed config when no trial beat it on the
tuning seeds (then both sides train the same config, and differ by nothing but the name).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pandas as pd

from benchmarks.store import atomic_write_text
from scripts.stats import difference_ci, mean_ci

#: Metrics compared: the studies' objective (sum_reward) and the paper's headline.
METRICS = ("sum_reward", "completion_rate")
TUNED_PREFIX = "tuned/"


def per_seed(frame: pd.DataFrame, agent: str, t_max_s: float, n_tasks: int) -> pd.DataFrame:
    """One row per training seed: the mean of :data:`METRICS` over its evaluation episodes."""
    rows = frame[(frame.agent == agent) & (frame.t_max_s == t_max_s) & (frame.n_tasks == n_tasks)]
    return rows.groupby("seed")[list(METRICS)].mean()


def compare(
    default: pd.DataFrame,
    tuned: pd.DataFrame,
    studies: dict[str, dict],
    t_max_s: float,
    n_tasks: int = 100,
) -> pd.DataFrame:
    """The comparison table (see the module docstring), one row per (agent, metric).

    :param default: tmax rows of the default configs (agent names as in ``conf/agent``).
    :param tuned: tmax rows of the tuned configs (agent names ``tuned/<agent>``).
    :param studies: each agent's ``study.json``.
    :raises ValueError: naming the agent when either side has no run at the point, or the two
        were run on different seeds.
    """
    rows = []
    for agent, study in sorted(studies.items()):
        base = per_seed(default, agent, t_max_s, n_tasks)
        new = per_seed(tuned, TUNED_PREFIX + agent, t_max_s, n_tasks)
        for side, table in (("--default", base), ("--tuned", new)):
            if table.empty:
                raise ValueError(f"{side} has no run of {agent} at t_max {t_max_s} s")
        if sorted(base.index) != sorted(new.index):
            raise ValueError(
                f"{agent}: default seeds {sorted(base.index)} != tuned seeds {sorted(new.index)}"
            )
        if "selected" not in study:
            raise ValueError(f"{agent}: its study has no default run (benchmarks.tune add-default)")
        selected = study["selected"]
        params = (
            json.dumps(study["best"]["params"], sort_keys=True)
            if selected == "trial"
            else "(the committed config)"
        )
        for metric in METRICS:
            d_point, d_low, d_high = mean_ci(base[metric].to_numpy(), "iqm")
            t_point, t_low, t_high = mean_ci(new[metric].to_numpy(), "iqm")
            diff, low, high = difference_ci(new[metric].to_numpy(), base[metric].to_numpy())
            verdict = "tuned better" if low > 0 else "tuned worse" if high < 0 else "no difference"
            rows.append({
                "agent": agent, "metric": metric, "seeds": len(base),
                "default": d_point, "default_low": d_low, "default_high": d_high,
                "tuned": t_point, "tuned_low": t_low, "tuned_high": t_high,
                "difference": diff, "difference_low": low, "difference_high": high,
                "verdict": verdict, "n_trials": study["n_trials"],
                "study_objective": study["objective"], "study_best": study["best"]["value"],
                "study_default": study["default"]["value"], "selected": selected,
                "tuned_params": params,
            })  # fmt: skip
    return pd.DataFrame(rows)


def table_lines(table: pd.DataFrame) -> list[str]:
    """The comparison as Markdown table lines (also used by ``scripts/summarize.py``)."""
    lines = [
        "| agent | metric | default | tuned | difference | verdict | trials | tuning seeds: "
        "best trial / default -> selected | tuned params |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.agent} | {r.metric} | {r.default:.3f} [{r.default_low:.3f}, "
            f"{r.default_high:.3f}] | {r.tuned:.3f} [{r.tuned_low:.3f}, {r.tuned_high:.3f}] | "
            f"{r.difference:+.3f} [{r.difference_low:+.3f}, {r.difference_high:+.3f}] | "
            f"{r.verdict} | {r.n_trials} | {r.study_best:.3f} / {r.study_default:.3f} -> "
            f"{r.selected} | `{r.tuned_params}` |"
        )
    return lines


def markdown(table: pd.DataFrame, command: str) -> str:
    """The table as Markdown, headed by the command that wrote it."""
    lines = [
        "# Tuned vs default hyperparameters on the reporting seeds",
        "",
        f"Written by `{command}`; do not edit by hand. IQM over training seeds [95% CI];",
        "difference = mean(tuned) - mean(default) [95% CI].",
        "",
        *table_lines(table),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", type=Path, required=True, help="tmax CSV of the defaults")
    parser.add_argument("--tuned", type=Path, required=True, help="tmax CSV of tuned/<agent>")
    parser.add_argument("--studies", type=Path, required=True, help="results/tuning")
    parser.add_argument("--out", type=Path, required=True, help="comparison CSV (and .md)")
    parser.add_argument("--t-max", type=float, default=15.0, help="grid point, s (> 0)")
    parser.add_argument("--command", default=None, help="recorded in the Markdown header")
    args = parser.parse_args(argv)
    if not args.t_max > 0:
        parser.error(f"--t-max = {args.t_max}: allowed > 0")
    studies = {
        path.parent.name: json.loads(path.read_text())
        for path in sorted(args.studies.glob("*/study.json"))
    }
    if not studies:
        print(f"tuning_table: error: no */study.json under {args.studies}", file=sys.stderr)
        return 2
    try:
        table = compare(pd.read_csv(args.default), pd.read_csv(args.tuned), studies, args.t_max)
    except ValueError as err:
        print(f"tuning_table: error: {err}", file=sys.stderr)
        return 2
    command = args.command or "python -m scripts.tuning_table " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    text = table.to_csv(index=False, float_format="%.10g")
    # The Markdown is made from the CSV's rounded numbers, as summarize.py's copy of it is, so
    # that the two never differ in a last digit (at "%.6g", 26.92349 -> 26.9235 -> 26.924).
    table = pd.read_csv(io.StringIO(text))
    atomic_write_text(args.out, text)
    atomic_write_text(args.out.with_suffix(".md"), markdown(table, command))
    print(markdown(table, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
