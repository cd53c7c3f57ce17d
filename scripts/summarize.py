"""Write ``results/summary.csv`` and ``results/README.md`` from the collected CSVs.

Usage: ``python scripts/summarize.py --results results --command "make reproduce"``.
Per agent, experiment and grid point: interquartile mean over training seeds with a 95%
bootstrap interval (see ``scripts/stats.py``). The README puts every claim of the paper's
Sec. V (PAPER.md section 10) beside our number and says whether it holds. Nothing in either
file is typed by hand: rerun this script to regenerate them.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import atomic_write_text  # noqa: E402
from scripts.plot import bound_fractions  # noqa: E402
from scripts.stats import mean_ci  # noqa: E402

METRICS = ("sum_reward", "completion_rate", "avg_latency_s", "avg_pass_at_100")
DRL = ("rainbow", "ppo", "sac")
#: The agents the paper compares; its "only AIF ..." and "highest" claims are over these.
#: Our heuristics and QR-DQN are reported beside them, not counted in the verdict.
PAPER_AGENTS = ("aif", *DRL, "gpnfsp")
#: Training performance is read off the last 10% of the training episodes.
FINAL_FRACTION = 0.1


def per_seed(frame: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """One value per (agent, seed, point): train -> mean of the final episodes; tmax/load ->
    mean over evaluation episodes."""
    if experiment == "train":
        last = frame["episode"].max()
        start = last - max(1, math.ceil((last + 1) * FINAL_FRACTION)) + 1
        frame = frame[frame["episode"] >= start]
        keys = ["agent", "seed"]
    else:
        keys = ["agent", "seed", "t_max_s", "n_tasks"]
    return frame.groupby(keys, as_index=False)[list(METRICS)].mean()


def summary_table(results: Path) -> pd.DataFrame:
    rows = []
    for experiment in ("train", "tmax", "load"):
        path = results / f"{experiment}.csv"
        if not path.exists():
            continue
        frame = pd.read_csv(path)
        seeds = per_seed(frame, experiment)
        point_keys = [] if experiment == "train" else ["t_max_s", "n_tasks"]
        if experiment == "train":  # the training point, from the data (the env's t_max, tasks)
            rows += _training_dynamics(frame)
        for key, group in seeds.groupby(["agent", *point_keys]):
            key = key if isinstance(key, tuple) else (key,)
            t_max, n_tasks = _train_point(frame) if experiment == "train" else key[1:]
            for metric in METRICS:
                point, low, high = mean_ci(group[metric].to_numpy(), "iqm")
                rows.append({
                    "experiment": experiment, "agent": key[0], "t_max_s": t_max,
                    "n_tasks": n_tasks, "metric": metric, "iqm": point, "ci_low": low,
                    "ci_high": high, "n_seeds": group["seed"].nunique(),
                })  # fmt: skip
    fractions = bound_fractions(results)
    for agent, group in fractions.groupby("agent"):
        point, low, high = mean_ci(group["fraction"].to_numpy(), "iqm")
        rows.append({
            "experiment": "bound", "agent": agent, "t_max_s": 15.0, "n_tasks": 100,
            "metric": "fraction_of_upper_bound", "iqm": point, "ci_low": low, "ci_high": high,
            "n_seeds": group["seed"].nunique(),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _train_point(frame: pd.DataFrame) -> tuple[float, int]:
    """The (t_max_s, n_tasks) a training CSV was run at; it must be a single point."""
    points = frame[["t_max_s", "n_tasks"]].drop_duplicates()
    if len(points) != 1:
        raise ValueError(f"train.csv mixes training points: {points.to_dict('records')}")
    return float(points["t_max_s"].iloc[0]), int(points["n_tasks"].iloc[0])


#: An agent has converged at the first episode from which its running mean of sum reward
#: (window ``CONVERGENCE_WINDOW``) stays within a band around its final level: 5% of it, or
#: three standard errors of a window's mean when the reward is noisier than that.
CONVERGENCE_WINDOW = 10
CONVERGENCE_TOLERANCE = 0.05


def _final_slice(n: int) -> slice:
    """The last 10% of ``n`` episodes (at least one): where the final level is read."""
    return slice(n - max(1, math.ceil(n * FINAL_FRACTION)), n)


def convergence_episode(rewards: np.ndarray) -> float:
    """The last episode of the first ``CONVERGENCE_WINDOW``-episode window from which the
    running mean of ``rewards`` stays within the band around the final level (the mean of
    the last 10% of episodes). NaN when it settles only inside that final stretch: a curve
    still rising, or noise with no trend, has not converged within the run."""
    n = len(rewards)
    tail = rewards[_final_slice(n)]
    final = float(np.mean(tail))
    window = min(CONVERGENCE_WINDOW, n)
    band = max(CONVERGENCE_TOLERANCE * abs(final), 3.0 * float(np.std(tail)) / math.sqrt(window))
    running = np.convolve(rewards, np.ones(window) / window, mode="valid")  # ends at ep i+w-1
    outside = np.flatnonzero(np.abs(running - final) > band)
    first = 0 if outside.size == 0 else int(outside[-1]) + 1
    episode = first + window - 1
    return float(episode) if episode < _final_slice(n).start else math.nan


def _training_dynamics(frame: pd.DataFrame) -> list[dict]:
    """Per agent, as ``experiment = "dynamics"`` rows, each an IQM over seeds:
    ``convergence_episode`` (seeds that never settle are left out: its ``n_seeds`` counts
    those that did), ``final_reward_cv`` (jitter: std / |mean| of sum reward over the last
    10% of episodes) and ``train_episodes``."""
    rows = []
    t_max, n_tasks = _train_point(frame)
    for agent, group in frame.groupby("agent"):
        values: dict[str, list[float]] = {
            "convergence_episode": [],
            "final_reward_cv": [],
            "train_episodes": [],
        }
        for _, run in group.sort_values("episode").groupby("seed"):
            rewards = run["sum_reward"].to_numpy()
            tail = rewards[_final_slice(len(rewards))]
            values["convergence_episode"].append(convergence_episode(rewards))
            values["final_reward_cv"].append(float(np.std(tail) / max(abs(np.mean(tail)), 1e-9)))
            values["train_episodes"].append(float(len(rewards)))
        for metric, per_seed_values in values.items():
            x = np.asarray(per_seed_values)
            point, low, high = mean_ci(x, "iqm")  # NaN seeds are left out
            rows.append({
                "experiment": "dynamics", "agent": agent, "t_max_s": t_max, "n_tasks": n_tasks,
                "metric": metric, "iqm": point, "ci_low": low, "ci_high": high,
                "n_seeds": int(np.isfinite(x).sum()),
            })  # fmt: skip
    return rows


@dataclass(frozen=True)
class Claim:
    """One claim of the paper, with the code that checks it on our summary."""

    text: str
    check: Callable[[pd.DataFrame], tuple[str, str]]  # -> (our numbers, verdict)


def _value(
    summary: pd.DataFrame,
    experiment: str,
    agent: str,
    metric: str,
    t_max: float | None = None,
    n_tasks: int | None = None,
) -> float:
    """The IQM of one cell; ``t_max``/``n_tasks`` of None match any (train has one point)."""
    rows = summary[
        (summary["experiment"] == experiment)
        & (summary["agent"] == agent)
        & (summary["metric"] == metric)
    ]
    if t_max is not None:
        rows = rows[rows["t_max_s"] == t_max]
    if n_tasks is not None:
        rows = rows[rows["n_tasks"] == n_tasks]
    if len(rows) > 1:
        raise ValueError(f"{experiment}/{agent}/{metric}: {len(rows)} cells match; give the point")
    return float(rows["iqm"].iloc[0]) if len(rows) else math.nan


def _fmt(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3g}"


def _verdict(ok: bool | None) -> str:
    return (
        "not tested (agent or experiment missing)"
        if ok is None
        else ("holds" if ok else "does not hold")
    )


def _present(*values: float) -> bool:
    return all(not math.isnan(v) for v in values)


def _train_above_drls(s: pd.DataFrame) -> tuple[str, str]:
    aif = _value(s, "train", "aif", "sum_reward")
    drls = {a: _value(s, "train", a, "sum_reward") for a in DRL}
    text = f"AIF {_fmt(aif)}; " + ", ".join(f"{a} {_fmt(v)}" for a, v in drls.items())
    ok = _present(aif, *drls.values()) and all(aif > v for v in drls.values())
    return text, _verdict(ok if _present(aif, *drls.values()) else None)


def _approx(agent: str, metric: str, target: float, tol: float) -> Callable:
    def check(s: pd.DataFrame) -> tuple[str, str]:
        v = _value(s, "train", agent, metric)
        ok = abs(v - target) <= tol if _present(v) else None
        return f"{agent}: {_fmt(v)} (paper ~{target:g}, tolerance {tol:g})", _verdict(ok)

    return check


def _n_seeds(s: pd.DataFrame, experiment: str, agent: str, metric: str) -> int:
    rows = s[(s["experiment"] == experiment) & (s["agent"] == agent) & (s["metric"] == metric)]
    return int(rows["n_seeds"].iloc[0]) if len(rows) else 0


def _converges_near(agent: str, episode: int, tolerance: int) -> Callable:
    def check(s: pd.DataFrame) -> tuple[str, str]:
        total = _n_seeds(s, "dynamics", agent, "train_episodes")
        if total == 0:
            return "n/a", _verdict(None)
        episodes = _value(s, "dynamics", agent, "train_episodes")
        settled = _n_seeds(s, "dynamics", agent, "convergence_episode")
        v = _value(s, "dynamics", agent, "convergence_episode")
        rule = f"running mean of {CONVERGENCE_WINDOW} episodes stays near its final level"
        if settled == 0:
            if episodes < episode - tolerance:
                return (
                    f"{agent}: not settled within {episodes:.0f} episodes in any seed ({rule})",
                    "not tested (runs shorter than the claim)",
                )
            return f"{agent}: not settled in any of {total} seeds ({rule})", _verdict(False)
        text = f"{agent}: episode {_fmt(v)} (IQM over the {settled} of {total} seeds that "
        text += f"settled, of {episodes:.0f} episodes; {rule})"
        return text, _verdict(abs(v - episode) <= tolerance)

    return check


def _drls_jitter_more(s: pd.DataFrame) -> tuple[str, str]:
    aif = _value(s, "dynamics", "aif", "final_reward_cv")
    drls = {a: _value(s, "dynamics", a, "final_reward_cv") for a in DRL}
    text = "std / mean of sum reward over the last 10% of episodes (IQM over seeds): AIF "
    text += _fmt(aif) + "; " + ", ".join(f"{a} {_fmt(v)}" for a, v in drls.items())
    present = _present(aif, *drls.values())
    return text, _verdict(all(v > aif for v in drls.values()) if present else None)


def _aif_pass_above_drls(s: pd.DataFrame) -> tuple[str, str]:
    aif = _value(s, "train", "aif", "avg_pass_at_100")
    drls = {a: _value(s, "train", a, "avg_pass_at_100") for a in DRL}
    text = f"AIF {_fmt(aif)}; " + ", ".join(f"{a} {_fmt(v)}" for a, v in drls.items())
    present = _present(aif, *drls.values())
    return text, _verdict(all(aif > v for v in drls.values()) if present else None)


def _drl_reward_rises_below_aif(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[(s["experiment"] == "load") & (s["metric"] == "sum_reward")]
    if rows.empty or not {"aif", *DRL} <= set(rows["agent"]):
        return "n/a", _verdict(None)
    pivot = rows.pivot_table(index="n_tasks", columns="agent", values="iqm").sort_index()
    if not {"aif", *DRL} <= set(pivot.columns):
        return "n/a", _verdict(None)
    pivot = pivot[["aif", *DRL]].dropna()
    if len(pivot) < 2:  # one shared load point: no trend to read
        return "n/a", _verdict(None)
    parts, ok = [], True
    for a in DRL:
        rises = float(pivot[a].iloc[-1]) > float(pivot[a].iloc[0])
        below = bool((pivot[a] < pivot["aif"]).all())
        ok = ok and rises and below
        parts.append(
            f"{a} {_fmt(pivot[a].iloc[0])}->{_fmt(pivot[a].iloc[-1])} (below AIF at every load: "
            f"{below})"
        )
    return "; ".join(parts), _verdict(ok)


def _nothing_at_tmax_le_2(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[
        (s["experiment"] == "tmax") & (s["metric"] == "completion_rate") & (s["t_max_s"] <= 2.0)
    ]
    if rows.empty:
        return "n/a", _verdict(None)
    top = float(rows["iqm"].max())
    return f"highest completion at t_max <= 2 s: {_fmt(top)}", _verdict(top == 0.0)


def _capped_3_to_9(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[
        (s["experiment"] == "tmax")
        & (s["metric"] == "completion_rate")
        & (s["t_max_s"] >= 3.0)
        & (s["t_max_s"] <= 9.0)
    ]
    if rows.empty:
        return "n/a", _verdict(None)
    top = float(rows["iqm"].max())
    best = rows.loc[rows["iqm"].idxmax(), "agent"]
    return f"highest completion at 3..9 s: {_fmt(top)} ({best})", _verdict(top <= 0.3)


def _only_aif_rainbow_above_20(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[
        (s["experiment"] == "tmax")
        & (s["metric"] == "completion_rate")
        & (s["t_max_s"] >= 3.0)
        & (s["t_max_s"] <= 9.0)
    ]
    if rows.empty or "aif" not in set(rows["agent"]):
        return "n/a", _verdict(None)
    means = rows.groupby("agent")["iqm"].mean()
    above = sorted(a for a, v in means.items() if v > 0.2 and a in PAPER_AGENTS)
    others = sorted(a for a, v in means.items() if v > 0.2 and a not in PAPER_AGENTS)
    ok = set(above) <= {"aif", "rainbow"} and "aif" in above
    text = f"paper's agents with mean completion over 3..9 s above 0.2: {above or 'none'}"
    return text + (f" (also ours: {others})" if others else ""), _verdict(ok)


def _only_aif_full_at_10(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[
        (s["experiment"] == "tmax") & (s["metric"] == "completion_rate") & (s["t_max_s"] >= 10.0)
    ]
    if rows.empty or "aif" not in set(rows["agent"]):
        return "n/a", _verdict(None)
    means = rows.groupby("agent")["iqm"].mean()
    full = sorted(a for a, v in means.items() if v >= 0.95 and a in PAPER_AGENTS)
    others = sorted(a for a, v in means.items() if v >= 0.95 and a not in PAPER_AGENTS)
    text = f"paper's agents with mean completion over t_max >= 10 s >= 0.95: {full or 'none'}"
    text += f" (AIF {_fmt(float(means['aif']))})"
    return text + (f"; also ours: {others}" if others else ""), _verdict(full == ["aif"])


def _aif_highest_flat(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[(s["experiment"] == "load") & (s["metric"] == "sum_reward")]
    if rows.empty or "aif" not in set(rows["agent"]):
        return "n/a", _verdict(None)
    pivot = rows.pivot_table(index="n_tasks", columns="agent", values="iqm")
    paper = pivot[[a for a in PAPER_AGENTS if a in pivot.columns]]
    highest = bool((paper.idxmax(axis=1) == "aif").all())
    above_aif = sorted(a for a in pivot.columns if (pivot[a] > pivot["aif"]).any())
    aif = pivot["aif"]
    flat = float(aif.max() - aif.min()) <= 0.1 * float(aif.mean())
    text = (
        f"AIF sum reward {_fmt(aif.min())}..{_fmt(aif.max())}; highest of the paper's agents "
        f"at every load: {highest}; within 10% of its mean: {flat}"
    )
    if above_aif:
        text += f"; above AIF at some load: {above_aif}"
    return text, _verdict(highest and flat)


def _falls_with_load(metric: str) -> Callable:
    def check(s: pd.DataFrame) -> tuple[str, str]:
        rows = s[(s["experiment"] == "load") & (s["metric"] == metric)]
        if rows.empty:
            return "n/a", _verdict(None)
        pivot = rows.pivot_table(index="n_tasks", columns="agent", values="iqm")
        falling = {a: float(pivot[a].iloc[-1]) < float(pivot[a].iloc[0]) for a in pivot}
        text = ", ".join(f"{a} {_fmt(pivot[a].iloc[0])}->{_fmt(pivot[a].iloc[-1])}" for a in pivot)
        return text, _verdict(all(falling.values()))

    return check


def _aif_latency_rises(s: pd.DataFrame) -> tuple[str, str]:
    rows = s[
        (s["experiment"] == "load") & (s["metric"] == "avg_latency_s") & (s["agent"] == "aif")
    ].sort_values("n_tasks")
    if rows.empty:
        return "n/a", _verdict(None)
    first, last = float(rows["iqm"].iloc[0]), float(rows["iqm"].iloc[-1])
    return f"AIF latency {_fmt(first)} s at 100 tasks, {_fmt(last)} s at 200", _verdict(
        last > first
    )


CLAIMS = (
    Claim("Fig. 3: AIF converges near episode 200", _converges_near("aif", 200, 50)),
    Claim("Fig. 3: AIF's final training reward is above every DRL's", _train_above_drls),
    Claim("Fig. 3: AIF completes ~99% of tasks", _approx("aif", "completion_rate", 0.99, 0.03)),
    Claim("Fig. 3: Rainbow completes ~85%", _approx("rainbow", "completion_rate", 0.85, 0.05)),
    Claim("Fig. 3: PPO completes ~90%", _approx("ppo", "completion_rate", 0.90, 0.05)),
    Claim("Fig. 3: SAC completes ~80%", _approx("sac", "completion_rate", 0.80, 0.05)),
    Claim("Fig. 3: AIF's average latency ~8 s", _approx("aif", "avg_latency_s", 8.0, 1.0)),
    Claim("Fig. 3: Rainbow's average latency ~8 s", _approx("rainbow", "avg_latency_s", 8.0, 1.0)),
    Claim("Fig. 3: PPO's average latency ~8 s", _approx("ppo", "avg_latency_s", 8.0, 1.0)),
    Claim("Fig. 3: SAC's average latency ~10 s", _approx("sac", "avg_latency_s", 10.0, 1.0)),
    Claim("Fig. 3: the DRLs jitter (more than AIF) late in training", _drls_jitter_more),
    Claim("Fig. 3: AIF's average pass@100 ~0.175", _approx("aif", "avg_pass_at_100", 0.175, 0.01)),
    Claim(
        "Fig. 3: Rainbow's average pass@100 ~0.15",
        _approx("rainbow", "avg_pass_at_100", 0.15, 0.01),
    ),
    Claim("Fig. 3: PPO's average pass@100 ~0.15", _approx("ppo", "avg_pass_at_100", 0.15, 0.01)),
    Claim("Fig. 3: SAC's average pass@100 ~0.14", _approx("sac", "avg_pass_at_100", 0.14, 0.01)),
    Claim(
        "Fig. 3: AIF's pass@100 is above every DRL's (it sends more to the edge)",
        _aif_pass_above_drls,
    ),
    Claim("Fig. 4: at t_max <= 2 s nothing completes", _nothing_at_tmax_le_2),
    Claim("Fig. 4: at 3 <= t_max <= 9 s completion is capped near 20%", _capped_3_to_9),
    Claim(
        "Fig. 4: at 3 <= t_max <= 9 s only AIF and Rainbow stay above 20%",
        _only_aif_rainbow_above_20,
    ),
    Claim("Fig. 4: at t_max >= 10 s only AIF completes ~100%", _only_aif_full_at_10),
    Claim("Fig. 5: AIF's sum reward is the highest and flat across loads", _aif_highest_flat),
    Claim(
        "Fig. 5: the DRLs' sum reward rises with load without reaching AIF's",
        _drl_reward_rises_below_aif,
    ),
    Claim(
        "Fig. 5: completion rate falls with load for every agent",
        _falls_with_load("completion_rate"),
    ),
    Claim(
        "Fig. 5: average pass@100 falls with load for every agent",
        _falls_with_load("avg_pass_at_100"),
    ),
    Claim("Fig. 5: AIF's average latency rises with load", _aif_latency_rises),
)


def _table(summary: pd.DataFrame, experiment: str) -> list[str]:
    rows = summary[summary["experiment"] == experiment]
    if rows.empty:
        return []
    lines = [
        "| agent | t_max (s) | tasks | " + " | ".join(METRICS) + " |",
        "|---|---|---|" + "---|" * len(METRICS),
    ]
    points = rows[["agent", "t_max_s", "n_tasks"]].drop_duplicates()
    if experiment != "train":  # keep the README readable: the paper's headline points
        points = points[
            points["t_max_s"].isin([2.0, 5.0, 10.0, 15.0]) & points["n_tasks"].isin([100, 150, 200])
        ]
    for _, p in points.iterrows():
        cells = []
        for metric in METRICS:
            r = rows[
                (rows["agent"] == p["agent"])
                & (rows["t_max_s"] == p["t_max_s"])
                & (rows["n_tasks"] == p["n_tasks"])
                & (rows["metric"] == metric)
            ]
            if r.empty:
                cells.append("")
                continue
            v = r.iloc[0]
            cells.append(f"{v['iqm']:.3g} [{v['ci_low']:.3g}, {v['ci_high']:.3g}]")
        lines.append(
            f"| {p['agent']} | {p['t_max_s']:g} | {p['n_tasks']} | " + " | ".join(cells) + " |"
        )
    return lines


def write_readme(results: Path, summary: pd.DataFrame, command: str, commit: str, wall: str) -> str:
    n_seeds = int(summary["n_seeds"].max()) if not summary.empty else 0
    lines = [
        "# Results",
        "",
        "Generated by `scripts/summarize.py`; do not edit by hand.",
        "",
        f"- Command: `{command}`",
        f"- Commit: `{commit}`",
        f"- Total wall time: {wall}",
        f"- Seeds per agent: up to {n_seeds}. Cells: interquartile mean over seeds "
        "[95% percentile-bootstrap interval].",
        "- Files: `train.csv`, `tmax.csv`, `load.csv` (tidy, one row per episode), "
        "`summary.csv`, `figures/`.",
        "",
        "## The paper's claims beside ours",
        "",
        "| claim (He et al., Sec. V) | ours | verdict |",
        "|---|---|---|",
    ]
    for claim in CLAIMS:
        ours, verdict = claim.check(summary)
        lines.append(f"| {claim.text} | {ours} | {verdict} |")
    lines += ["", "## Score as a fraction of the clairvoyant upper bound", ""]
    bound = summary[summary["experiment"] == "bound"]
    if bound.empty:
        lines.append("No bound in these results.")
    else:
        lines += ["| agent | fraction (IQM) | 95% CI |", "|---|---|---|"]
        for _, r in bound.sort_values("iqm", ascending=False).iterrows():
            lines.append(
                f"| {r['agent']} | {r['iqm']:.3f} | [{r['ci_low']:.3f}, {r['ci_high']:.3f}] |"
            )
    for experiment, title in (
        ("train", "Training (last 10% of episodes)"),
        ("tmax", "Deadline sweep (selected points)"),
        ("load", "Load sweep (selected points)"),
    ):
        table = _table(summary, experiment)
        if table:
            lines += ["", f"## {title}", "", *table]
    figures = sorted((results / "figures").glob("*.png"))
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{f.stem}](figures/{f.name})" for f in figures]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--command", default="make reproduce")
    parser.add_argument("--wall", default="not recorded", help="total wall time, for the record")
    args = parser.parse_args(argv)
    summary = summary_table(args.results)
    if summary.empty:
        print(f"summarize: error: no train/tmax/load CSV in {args.results}", file=sys.stderr)
        return 2
    commits = set()
    for experiment in ("train", "tmax", "load"):
        path = args.results / f"{experiment}.csv"
        if path.exists():
            commits |= set(pd.read_csv(path, usecols=["git_commit"])["git_commit"].astype(str))
    commit = ", ".join(sorted(commits)) or "unknown"
    atomic_write_text(args.results / "summary.csv", summary.to_csv(index=False))
    readme = write_readme(args.results, summary, args.command, commit, args.wall)
    atomic_write_text(args.results / "README.md", readme)
    print(_screen(summary))
    return 0


def _screen(summary: pd.DataFrame) -> str:
    """A one-screen summary: per agent, its training reward and bound fraction."""
    lines = [f"{'agent':<16}{'train sum_reward':>22}{'completion':>12}{'bound frac':>12}"]
    for agent in sorted(summary["agent"].unique()):
        reward = _value(summary, "train", agent, "sum_reward")
        done = _value(summary, "train", agent, "completion_rate")
        frac = summary[(summary["experiment"] == "bound") & (summary["agent"] == agent)]
        f = float(frac["iqm"].iloc[0]) if len(frac) else np.nan
        lines.append(f"{agent:<16}{_fmt(reward):>22}{_fmt(done):>12}{_fmt(f):>12}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
