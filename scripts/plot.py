"""Draw the paper's Fig. 3-5 and a score-vs-bound summary from the collected CSVs only.

Usage: ``python scripts/plot.py --results results``; reads ``results/{train,tmax,load}.csv``
(written by ``scripts/collect.py``) and writes PNG and PDF files to ``results/figures/``.
Lines are means over training seeds, bands 95% percentile-bootstrap intervals over seeds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.stats import band, mean_ci  # noqa: E402

PANELS = (
    ("sum_reward", "sum reward"),
    ("completion_rate", "task completion rate"),
    ("avg_latency_s", "average latency (s)"),
    ("avg_pass_at_100", "average pass@100"),
)


def _save(fig: plt.Figure, figures: Path, name: str) -> list[Path]:
    figures.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = figures / f"{name}.{ext}"
        # A fixed creation date keeps the PDF byte-identical between runs.
        meta = {"CreationDate": None} if ext == "pdf" else {"Software": None}
        fig.savefig(path, dpi=120, bbox_inches="tight", metadata=meta)
        paths.append(path)
    plt.close(fig)
    return paths


def _agents(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["agent"].unique())


def _curves(frame: pd.DataFrame, x: str, title: str, xlabel: str, smooth: int = 1) -> plt.Figure:
    fig, axes = plt.subplots(1, 4, figsize=(18, 4))
    colours = plt.get_cmap("tab20")  # 20 distinct colours: more agents than the default 10
    for index, agent in enumerate(_agents(frame)):
        rows = frame[frame["agent"] == agent]
        # One value per (seed, x): the mean over evaluation episodes at that point.
        table = rows.groupby(["seed", x])[[m for m, _ in PANELS]].mean()
        xs = np.sort(rows[x].unique())
        for ax, (metric, label) in zip(axes, PANELS, strict=True):
            matrix = table[metric].unstack(x).reindex(columns=xs).to_numpy()
            if smooth > 1:  # centred moving average over x, per seed
                frame_ = pd.DataFrame(matrix.T).rolling(smooth, min_periods=1, center=True)
                matrix = frame_.mean().to_numpy().T
            mean, low, high = band(matrix)
            (line,) = ax.plot(xs, mean, label=agent, color=colours(index % 20))
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2)
            ax.set_title(label)
            ax.set_xlabel(xlabel)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def plot_all(results: Path, figures: Path, smooth: int = 5) -> list[Path]:
    """Draw every figure whose CSV exists; return the files written."""
    written: list[Path] = []
    train_csv, tmax_csv, load_csv = (results / f"{e}.csv" for e in ("train", "tmax", "load"))
    if train_csv.exists():
        train = pd.read_csv(train_csv)
        fig = _curves(
            train,
            "episode",
            f"Fig. 3: training (t_max = 15 s, 100 tasks; {smooth}-episode moving average)",
            "episode",
            smooth=smooth,
        )
        written += _save(fig, figures, "fig3_train")
    if tmax_csv.exists():
        fig = _curves(
            pd.read_csv(tmax_csv),
            "t_max_s",
            "Fig. 4: trained policies vs t_max (100 tasks)",
            "t_max (s)",
        )
        written += _save(fig, figures, "fig4_tmax")
    if load_csv.exists():
        fig = _curves(
            pd.read_csv(load_csv),
            "n_tasks",
            "Fig. 5: trained policies vs task load (t_max = 15 s)",
            "tasks per episode (100 = 100% load)",
        )
        written += _save(fig, figures, "fig5_load")
    written += _plot_bound_fraction(results, figures)
    return written


def bound_fractions(results: Path) -> pd.DataFrame:
    """Per agent and seed: mean of sum_reward / upper_bound over the paper's test point
    (t_max = 15 s, 100 tasks) of the tmax experiment, else over bounded training episodes."""
    frames = []
    tmax_csv, train_csv = results / "tmax.csv", results / "train.csv"
    if tmax_csv.exists():
        tmax = pd.read_csv(tmax_csv)
        frames.append(tmax[(tmax["t_max_s"] == 15.0) & (tmax["n_tasks"] == 100)])
    elif train_csv.exists():
        frames.append(pd.read_csv(train_csv))
    if not frames:
        return pd.DataFrame(columns=["agent", "seed", "fraction"])
    rows = pd.concat(frames)
    rows = rows[rows["upper_bound"].notna() & (rows["upper_bound"] > 0)]
    rows = rows.assign(fraction=rows["sum_reward"] / rows["upper_bound"])
    return rows.groupby(["agent", "seed"], as_index=False)["fraction"].mean()


def _plot_bound_fraction(results: Path, figures: Path) -> list[Path]:
    fractions = bound_fractions(results)
    if fractions.empty:
        return []
    agents = sorted(fractions["agent"].unique())
    stats = [
        mean_ci(fractions[fractions["agent"] == a]["fraction"].to_numpy(), "iqm") for a in agents
    ]
    fig, ax = plt.subplots(figsize=(max(6, len(agents) * 0.9), 4))
    points = np.array([s[0] for s in stats])
    errors = np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])
    ax.bar(agents, points, yerr=errors, capsize=4, color="tab:blue", alpha=0.8)
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.set_ylabel("sum reward / clairvoyant upper bound (IQM, 95% CI)")
    ax.set_title("Score as a fraction of the upper bound (t_max = 15 s, 100 tasks)")
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, figures, "bound_fraction")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--figures", type=Path, default=None)
    parser.add_argument("--smooth", type=int, default=5, help="moving-average window (Fig. 3)")
    args = parser.parse_args(argv)
    figures = args.figures or args.results / "figures"
    written = plot_all(args.results, figures, smooth=max(1, args.smooth))
    if not written:
        print(f"plot: error: no train/tmax/load CSV in {args.results}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
