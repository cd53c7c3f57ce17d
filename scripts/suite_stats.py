"""Aggregates of the scenario suite across scenarios with rliable (Agarwal et al., NeurIPS 2021).

Reads ``scores.csv`` (benchmarks/suite.py: one row per scenario, agent, seed with ``score`` =
sum_reward / upper bound) and writes into ``--dest``:

* ``aggregates.csv``: per agent, IQM, mean, median and optimality gap (gamma = 1: a score of 1
  is the bound) over runs x scenarios, each with a stratified bootstrap 95% CI (strata: the
  scenarios; runs are resampled within each);
* ``per_scenario.csv``: per scenario and agent, mean score and its bootstrap CI, and the rank;
* ``probability_of_improvement.csv``: P(X > Y) of ``--focus`` (AIF) over each other agent, CI;
* figures: ``suite_scores.png`` (per-scenario scores with CIs), ``performance_profile.png``
  (fraction of runs above each score tau) and ``probability_of_improvement.png``.

Runs are the seeds; an agent must have the same seeds on every scenario (rliable's matrix is
runs x tasks).

    python scripts/suite_stats.py --scores outputs/suite/scores.csv --dest results/suite
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

# rliable 1.2.0 passes a RandomState to arch, which warns that the argument is deprecated.
warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)

#: Bootstrap replications (rliable's default for interval estimates is 50,000; 2,000 keeps the
#: script at seconds and the CI ends stable to ~0.01 at our run counts).
REPS = 2000
#: Fixed bootstrap random state: the same scores give the same CSVs.
RANDOM_STATE = 0
#: Score thresholds of the performance profile (scores are fractions of the bound).
TAUS = np.linspace(0.0, 1.0, 41)


def score_matrices(scores: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per agent, a (runs x scenarios) matrix; scenarios in a fixed (sorted) order.

    :raises ValueError: when an agent lacks a scenario or has unequal seeds across them.
    """
    scenarios = sorted(scores["scenario"].unique())
    matrices = {}
    for agent, frame in scores.groupby("agent"):
        table = frame.pivot_table(index="seed", columns="scenario", values="score")
        missing = [s for s in scenarios if s not in table.columns]
        if missing or table.isna().any().any():
            raise ValueError(
                f"agent {agent!r}: every scenario needs the same seeds; "
                f"missing {missing or 'seeds'}"
            )
        matrices[str(agent)] = table[scenarios].to_numpy()
    return matrices, scenarios


def aggregates(matrices: dict[str, np.ndarray]) -> pd.DataFrame:
    """IQM, mean, median and optimality gap with stratified bootstrap CIs, per agent."""

    def funcs(x: np.ndarray) -> np.ndarray:
        return np.array(
            [
                metrics.aggregate_iqm(x),
                metrics.aggregate_mean(x),
                metrics.aggregate_median(x),
                metrics.aggregate_optimality_gap(x, 1.0),
            ]
        )

    point, interval = rly.get_interval_estimates(
        matrices, funcs, reps=REPS, random_state=np.random.RandomState(RANDOM_STATE)
    )
    rows = []
    for agent in matrices:
        row = {"agent": agent}
        for k, name in enumerate(("iqm", "mean", "median", "optimality_gap")):
            row[name] = point[agent][k]
            row[f"{name}_low"], row[f"{name}_high"] = interval[agent][:, k]
        rows.append(row)
    return pd.DataFrame(rows).sort_values("iqm", ascending=False)


def per_scenario(matrices: dict[str, np.ndarray], scenarios: list[str]) -> pd.DataFrame:
    """Mean score per scenario and agent with a bootstrap CI over runs, and the rank."""
    rng = np.random.RandomState(RANDOM_STATE)
    rows = []
    for agent, matrix in matrices.items():
        for m, scenario in enumerate(scenarios):
            runs = matrix[:, m]
            boot = runs[rng.randint(0, runs.size, size=(REPS, runs.size))].mean(axis=1)
            low, high = np.percentile(boot, [2.5, 97.5])
            rows.append(
                {"scenario": scenario, "agent": agent, "score": runs.mean(), "low": low,
                 "high": high, "runs": runs.size}
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["rank"] = frame.groupby("scenario")["score"].rank(ascending=False, method="min")
    return frame.sort_values(["scenario", "rank"])


def probability_of_improvement(
    matrices: dict[str, np.ndarray], focus: str
) -> tuple[pd.DataFrame, dict[str, float], dict[str, np.ndarray]]:
    """P(focus > other) over scenarios, with stratified bootstrap CIs."""
    pairs = {
        f"{focus},{other}": (matrices[focus], matrices[other])
        for other in matrices
        if other != focus
    }
    point, interval = rly.get_interval_estimates(
        pairs,
        metrics.probability_of_improvement,
        reps=REPS,
        random_state=np.random.RandomState(RANDOM_STATE),
    )
    rows = [
        {"x": focus, "y": key.split(",")[1], "probability": float(np.squeeze(point[key])),
         "low": float(np.ravel(interval[key])[0]), "high": float(np.ravel(interval[key])[1])}
        for key in pairs
    ]  # fmt: skip
    return pd.DataFrame(rows), point, interval


def plot_all(
    matrices: dict[str, np.ndarray],
    scenarios: list[str],
    per: pd.DataFrame,
    poi: pd.DataFrame,
    focus: str,
    dest: Path,
) -> list[Path]:
    """The three figures; return their paths."""
    written = []
    agents = list(matrices)
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(scenarios)), 4.5))
    width = 0.8 / len(agents)
    for a, agent in enumerate(agents):
        part = per[per["agent"] == agent].set_index("scenario").loc[scenarios]
        x = np.arange(len(scenarios)) + a * width
        score = part["score"].to_numpy()
        err = np.vstack([score - part["low"].to_numpy(), part["high"].to_numpy() - score])
        ax.bar(x, score, width, yerr=err, label=agent, capsize=2)
    ax.set_xticks(np.arange(len(scenarios)) + 0.4 - width / 2, scenarios, rotation=30, ha="right")
    ax.set_ylabel("sum reward / upper bound")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="small", ncol=4)
    fig.tight_layout()
    written.append(dest / "suite_scores.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)

    profiles, cis = rly.create_performance_profile(matrices, TAUS, reps=REPS)
    fig, ax = plt.subplots(figsize=(6, 4))
    for agent in agents:
        ax.plot(TAUS, profiles[agent], label=agent)
        ax.fill_between(TAUS, cis[agent][0], cis[agent][1], alpha=0.15)
    ax.set_xlabel(r"score $\tau$ (fraction of the bound)")
    ax.set_ylabel(r"fraction of runs with score $> \tau$")
    ax.legend(fontsize="small")
    fig.tight_layout()
    written.append(dest / "performance_profile.png")
    fig.savefig(written[-1], dpi=120)
    plt.close(fig)

    if not poi.empty:
        fig, ax = plt.subplots(figsize=(5, 0.4 * len(poi) + 1))
        y = np.arange(len(poi))
        p = poi["probability"].to_numpy()
        err = np.vstack([p - poi["low"].to_numpy(), poi["high"].to_numpy() - p])
        ax.errorbar(p, y, xerr=err, fmt="o", capsize=3)
        ax.axvline(0.5, color="grey", linestyle="--")
        ax.set_yticks(y, [f"{focus} > {other}" for other in poi["y"]])
        ax.set_xlim(0, 1)
        ax.set_xlabel("P(X > Y)")
        fig.tight_layout()
        written.append(dest / "probability_of_improvement.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, default=Path("outputs/suite/scores.csv"))
    parser.add_argument("--dest", type=Path, default=Path("outputs/suite/stats"))
    parser.add_argument("--focus", default="aif", help="the agent whose P(X > Y) is reported")
    args = parser.parse_args(argv)
    if not args.scores.is_file():
        parser.error(f"--scores {args.scores}: no such file (run python -m benchmarks.suite)")
    scores = pd.read_csv(args.scores)
    matrices, scenarios = score_matrices(scores)
    args.dest.mkdir(parents=True, exist_ok=True)
    aggregates(matrices).to_csv(args.dest / "aggregates.csv", index=False)
    per = per_scenario(matrices, scenarios)
    per.to_csv(args.dest / "per_scenario.csv", index=False)
    poi = pd.DataFrame(columns=["x", "y", "probability", "low", "high"])
    if args.focus in matrices:
        poi = probability_of_improvement(matrices, args.focus)[0]
    poi.to_csv(args.dest / "probability_of_improvement.csv", index=False)
    figures = plot_all(matrices, scenarios, per, poi, args.focus, args.dest)
    print(f"wrote {args.dest}: aggregates.csv, per_scenario.csv, probability_of_improvement.csv, "
          f"{', '.join(p.name for p in figures)}")  # fmt: skip


if __name__ == "__main__":
    main()
