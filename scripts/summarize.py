# ruff: noqa: E501 -- the claims table (CLAIMS) keeps one claim per line
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
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.harness import atomic_write_text  # noqa: E402
from scripts.claims import (  # noqa: E402
    EXACT,
    HALF_DIGIT,
    ORDERING,
    OURS_FLAT,
    Claim,
    at_least,
    describe,
    judge,
)
from scripts.plot import bound_fractions  # noqa: E402
from scripts.stats import mean_ci  # noqa: E402
from scripts.suite_stats import ranking  # noqa: E402
from scripts.tuning_table import table_lines  # noqa: E402

METRICS = ("sum_reward", "completion_rate", "avg_latency_s", "avg_pass_at_100")
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


#: The paper's DRL baselines (Rainbow, PPO, SAC): its baselines (the ``paper_baseline``
#: capability) other than AIF and the game-theoretic GP-NFSP.
DRLS = "@paper-aif-gpnfsp"
T3_9, T10_ = {"t_max_s": (3.0, 9.0)}, {"t_max_s": (10.0, math.inf)}
#: One row per claim (scripts/claims.py says how each comparison is judged from the
#: intervals). Columns: claim, experiment, metric, agents, comparison, target, tolerance,
#: where the tolerance comes from, then the points judged.
CLAIMS = (
    Claim("Fig. 3: AIF converges near episode 200", "dynamics", "convergence_episode", "aif", "approx", 200, 50, HALF_DIGIT + " ('near 200': hundreds)"),
    Claim("Fig. 3: AIF's final training reward is above every DRL's", "train", "sum_reward", "aif", "above", DRLS, 0, ORDERING),
    Claim("Fig. 3: AIF completes ~99% of tasks", "train", "completion_rate", "aif", "approx", 0.99, 0.005, HALF_DIGIT),
    Claim("Fig. 3: Rainbow completes ~85%", "train", "completion_rate", "rainbow", "approx", 0.85, 0.005, HALF_DIGIT),
    Claim("Fig. 3: PPO completes ~90%", "train", "completion_rate", "ppo", "approx", 0.90, 0.005, HALF_DIGIT),
    Claim("Fig. 3: SAC completes ~80%", "train", "completion_rate", "sac", "approx", 0.80, 0.005, HALF_DIGIT),
    Claim("Fig. 3: AIF's average latency ~8 s", "train", "avg_latency_s", "aif", "approx", 8.0, 0.5, HALF_DIGIT),
    Claim("Fig. 3: Rainbow's average latency ~8 s", "train", "avg_latency_s", "rainbow", "approx", 8.0, 0.5, HALF_DIGIT),
    Claim("Fig. 3: PPO's average latency ~8 s", "train", "avg_latency_s", "ppo", "approx", 8.0, 0.5, HALF_DIGIT),
    Claim("Fig. 3: SAC's average latency ~10 s", "train", "avg_latency_s", "sac", "approx", 10.0, 0.5, HALF_DIGIT),
    Claim("Fig. 3: the DRLs jitter (more than AIF) late in training", "dynamics", "final_reward_cv", DRLS, "above", "aif", 0, ORDERING),
    Claim("Fig. 3: AIF's average pass@100 ~0.175", "train", "avg_pass_at_100", "aif", "approx", 0.175, 0.0005, HALF_DIGIT),
    Claim("Fig. 3: Rainbow's average pass@100 ~0.15", "train", "avg_pass_at_100", "rainbow", "approx", 0.15, 0.005, HALF_DIGIT),
    Claim("Fig. 3: PPO's average pass@100 ~0.15", "train", "avg_pass_at_100", "ppo", "approx", 0.15, 0.005, HALF_DIGIT),
    Claim("Fig. 3: SAC's average pass@100 ~0.14", "train", "avg_pass_at_100", "sac", "approx", 0.14, 0.005, HALF_DIGIT),
    Claim("Fig. 3: AIF's pass@100 is above every DRL's (it sends more to the edge)", "train", "avg_pass_at_100", "aif", "above", DRLS, 0, ORDERING),
    Claim("Fig. 4: at t_max <= 2 s nothing completes", "tmax", "completion_rate", "@all", "at_most", 0.0, 0.0, EXACT, t_max_s=(0.0, 2.0)),
    Claim("Fig. 4: at 3 <= t_max <= 9 s completion is capped near 20% (the best agent at each point)", "tmax", "completion_rate", "@all", "max_approx", 0.2, 0.05, HALF_DIGIT + " ('20%' as a round 10%)", **T3_9),
    Claim("Fig. 4: at 3 <= t_max <= 9 s AIF and Rainbow stay above 20%", "tmax", "completion_rate", "aif,rainbow", "at_least", 0.2, 0.0, ORDERING + " (against 20%)", **T3_9),
    Claim("Fig. 4: at 3 <= t_max <= 9 s the paper's other agents stay at or below 20%", "tmax", "completion_rate", "@paper-aif-rainbow", "at_most", 0.2, 0.0, ORDERING + " (against 20%)", **T3_9),
    Claim("Fig. 4: at t_max >= 10 s only AIF completes ~100% (of the paper's agents)", "tmax", "completion_rate", "@paper", "only_at_least", 1.0, 0.05, HALF_DIGIT + " ('~100%' as a round 10%)", only="aif", **T10_),
    Claim("Fig. 5: AIF's sum reward is the highest of the paper's agents at every load", "load", "sum_reward", "aif", "above", "@paper", 0, ORDERING),
    Claim("Fig. 5: AIF's sum reward is flat across loads", "load", "sum_reward", "aif", "flat", 0.0, 0.1, OURS_FLAT),
    Claim("Fig. 5: the DRLs' sum reward rises with load", "load", "sum_reward", DRLS, "rises", 0.0, 0, ORDERING + " (first vs last load)"),
    Claim("Fig. 5: the DRLs' sum reward stays below AIF's at every load", "load", "sum_reward", DRLS, "below", "aif", 0, ORDERING),
    Claim("Fig. 5: completion rate falls with load for every agent", "load", "completion_rate", "@all", "falls", 0.0, 0, ORDERING + " (first vs last load)"),
    Claim("Fig. 5: average pass@100 falls with load for every agent", "load", "avg_pass_at_100", "@all", "falls", 0.0, 0, ORDERING + " (first vs last load)"),
    Claim("Fig. 5: AIF's average latency rises with load", "load", "avg_latency_s", "aif", "rises", 0.0, 0, ORDERING + " (first vs last load)"),
    Claim("Ours: AIF beats every reference heuristic (training reward, paper scenario)", "train", "sum_reward", "aif", "above", "@heuristic", 0, ORDERING),
    Claim("Ours: AIF beats every reference heuristic at every load", "load", "sum_reward", "aif", "above", "@heuristic", 0, ORDERING),
)  # fmt: skip


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
        "Every agent a claim is judged over is listed with its cells: IQM over seeds [95%",
        "bootstrap interval] (``@x`` names the grid point). A claim *holds* when every cell",
        "satisfies it with its whole interval, *does not hold* when some cell violates it with",
        "its whole interval, and is *inconclusive* otherwise (an interval straddles the target,",
        "or two compared intervals overlap). The rule column gives the comparison, the target, the",
        "tolerance and where the tolerance comes from; the rows are `CLAIMS` in",
        "`scripts/summarize.py`.",
        "",
        "| claim (He et al., Sec. V; 'Ours' rows are ours) | ours | rule | verdict |",
        "|---|---|---|---|",
    ]
    for claim in CLAIMS:
        ours, verdict = judge(claim, summary)
        lines.append(f"| {claim.text} | {ours} | {describe(claim)} | {verdict} |")
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
    lines += _suite_section(results / "suite")
    lines += _aif_quality_section(results / "aif_quality.csv")
    lines += _decision_latency_section(results / "decision_latency.csv")
    lines += _tuning_section(results / "tuning")
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


#: The score AIF should reach on the paper scenario (issue 17: ">= 0.98 of the refined bound").
AIF_PAPER_TARGET = 0.98


def _suite_section(suite: Path) -> list[str]:
    """The scenario suite's per-scenario ranking and AIF's verdicts against the best deployable
    reference (from ``make benchmark``'s ``suite/per_scenario.csv`` and
    ``suite/focus_vs_references.csv``); nothing when the suite has not been run."""
    per_path, versus_path = suite / "per_scenario.csv", suite / "focus_vs_references.csv"
    if not per_path.exists():
        return []
    per = pd.read_csv(per_path)
    lines = [
        "",
        "## Scenario suite (`make benchmark`)",
        "",
        "Score: sum reward / the episode's upper bound on held-out episodes, mean over seeds "
        "[95% bootstrap CI]; ranked per scenario. Budget, wall times, aggregates and figures: "
        "[`suite/README.md`](suite/README.md).",
        "",
        "| scenario | ranking: agent score [95% CI] |",
        "|---|---|",
    ]
    for scenario, frame in per.groupby("scenario", sort=True):
        lines.append(f"| {scenario} | {ranking(frame)} |")
    paper = per[(per["scenario"] == "paper") & (per["agent"] == "aif")]
    if not paper.empty:
        r = paper.iloc[0]
        verdict = at_least(r["low"], r["high"], AIF_PAPER_TARGET)
        lines += [
            "",
            f"Ours (issue 17's target): *aif reaches >= {AIF_PAPER_TARGET} of the bound on "
            f"paper*: {r['score']:.3f} [{r['low']:.3f}, {r['high']:.3f}], {verdict}.",
        ]
    if versus_path.exists() and versus_path.stat().st_size > 1:
        versus = pd.read_csv(versus_path)
        if not versus.empty:
            focus = versus["focus"].iloc[0]
            held = int((versus["verdict"] == "holds").sum())
            lines += [
                "",
                f"Ours: *{focus} scores at least the best deployable reference on every "
                f"scenario*: holds on {held} of {len(versus)} scenarios (margin's whole CI >= 0):",
                "",
                "| scenario | best reference | margin [95% CI] | verdict |",
                "|---|---|---|---|",
            ]
            for _, r in versus.iterrows():
                lines.append(
                    f"| {r['scenario']} | {r['best_reference']} | {r['margin']:+.3f} "
                    f"[{r['low']:+.3f}, {r['high']:+.3f}] | {r['verdict']} |"
                )
    return lines


#: Issue 17's learning-speed target: on paper, AIF reaches AIF_PAPER_TARGET of the refined
#: bound and stays there from this training episode (0-based) on, or earlier.
AIF_PAPER_BY_EPISODE = 50
#: Issue 17's training-cost target: CPU seconds per 100-task training episode, one thread.
AIF_TRAINING_CPU_S = 2.0
#: Issue 17's decision-time target: the 99th percentile of one decision's wall time, ms.
AIF_DECISION_P99_MS = 10.0
#: The row of ``results/decision_latency.csv`` that times AIF as configured.
AIF_DEFAULT_ROW = "aif (conf/agent/aif.yaml)"


def _first(value: object) -> str:
    """A ``first_episode_staying`` cell: the episode, or ``never``."""
    return "never" if pd.isna(value) else str(int(value))  # type: ignore[arg-type]


def _aif_quality_section(path: Path) -> list[str]:
    """AIF's learning speed and training cost on paper (``results/aif_quality.csv``, written by
    ``benchmarks/aif_quality.py``) judged against issue 17's targets; nothing without it."""
    if not path.exists():
        return []
    quality = pd.read_csv(path, dtype={"seed": str})
    aif = quality[(quality["agent"] == "aif") & (quality["scenario"] == "paper")]
    seeds = aif[~aif["seed"].isin(["mean", "all"])]
    if seeds.empty:
        return []
    first = seeds.iloc[0]
    lines = [
        "",
        "## AIF's learning speed and training cost (`benchmarks/aif_quality.py`)",
        "",
        f"Command: `{first['command']}` ({len(seeds)} seeds x {int(first['episodes'])} "
        f"training episodes on paper; fractions of the bound on a finer compute grid; machine "
        f"{first['cpu_model']}, {int(first['cores'])} cores). Per seed, the first training "
        "episode from which a fraction stays >= the threshold (0-based; never: it does not), "
        "and the mean of the last 10.",
        "",
    ]
    threshold = float(first["threshold"])
    held = "held_out_first_episode_staying" in seeds.columns and (
        seeds["held_out_last_mean_fraction"].notna().all()
    )
    if held:
        met = seeds["held_out_first_episode_staying"].le(AIF_PAPER_BY_EPISODE).fillna(False)
        verdict = "holds" if met.all() else "does not hold"
        cells = "; ".join(
            f"seed {r['seed']}: {_first(r['held_out_first_episode_staying'])}, last 10 "
            f"{r['held_out_last_mean_fraction']:.3f}"
            for _, r in seeds.iterrows()
        )
        lines += [
            f"Ours (issue 17's target): *on paper, aif reaches >= {threshold} of the refined "
            f"bound and stays there by training episode {AIF_PAPER_BY_EPISODE}*, judged on the "
            f"policy it would deploy ({int(first['eval_episodes'])} fixed held-out episodes "
            "after every training episode, the routing its trial keeps, no learning; every "
            f"seed must meet it): {cells}; {verdict} ({int(met.sum())} of {len(seeds)} seeds).",
            "",
        ]
        heuristics = quality[(quality["seed"] == "all") & (quality["scenario"] == "paper")]
        if "held_out_final_fraction" in heuristics.columns:  # files from before lack it
            heuristics = heuristics.dropna(subset=["held_out_final_fraction"])
        else:
            heuristics = heuristics.iloc[:0]
        if len(heuristics):
            best = heuristics.sort_values("held_out_final_fraction").iloc[-1]
            lines += [
                f"On the same held-out episodes the best deployable heuristic, "
                f"{best['agent']}, reaches {best['held_out_final_fraction']:.3f}.",
                "",
            ]
    cells = "; ".join(
        f"seed {r['seed']}: {_first(r['first_episode_staying'])}, last 10 "
        f"{r['last_mean_fraction']:.3f}"
        for _, r in seeds.iterrows()
    )
    lines += [
        f"The training episodes themselves (the trial's exploration included): {cells}.",
        "",
    ]
    cpu = seeds["cpu_s_per_episode"].astype(float)
    verdict = "holds" if (cpu <= AIF_TRAINING_CPU_S).all() else "does not hold"
    lines.append(
        f"Ours (issue 17's target): *training costs <= {AIF_TRAINING_CPU_S:g} s of CPU per "
        f"100-task episode on one thread* (acting and refit, every seed): {cpu.mean():.2f} s "
        f"(seeds {cpu.min():.2f}-{cpu.max():.2f}; refit "
        f"{seeds['refit_s_per_episode'].astype(float).mean():.2f} s wall), {verdict}, "
        f"measured on {_where(seeds)}{_host_speed(seeds)}."
    )
    return lines


def _decision_latency_section(path: Path) -> list[str]:
    """AIF's decision time (``results/decision_latency.csv``, written by
    ``benchmarks/decision_latency.py``) judged against issue 17's target; nothing without
    it."""
    if not path.exists():
        return []
    timing = pd.read_csv(path)
    row = timing[timing["agent"] == AIF_DEFAULT_ROW]
    if row.empty:
        return []
    p99 = float(row["wall_p99_ms"].iloc[0])
    verdict = "holds" if p99 <= AIF_DECISION_P99_MS else "does not hold"
    return [
        "",
        "## AIF's decision time",
        "",
        "From `decision_latency.csv` (`benchmarks/decision_latency.py`; its command is in the "
        "top-level README).",
        "",
        f"Ours (issue 17's target): *p99 <= {AIF_DECISION_P99_MS:g} ms a decision on one "
        f"thread*: {p99:.2f} ms wall (p50 {float(row['wall_p50_ms'].iloc[0]):.2f} ms), "
        f"{verdict}, measured on {_where(row)}{_host_speed(row)}.",
    ]


def _host_speed(rows: pd.DataFrame) -> str:
    """The host's CartPole-v1 rate as a timing file records it, where it does: once in the same
    run (``cartpole_steps_per_s``, decision_latency) or before and after the timed training
    (``cartpole_steps_per_s_before`` / ``_after``, aif_quality)."""
    first = rows.iloc[0]

    def rate(column: str) -> str | None:
        value = first.get(column)
        return None if value is None or pd.isna(value) else f"{float(value):,.0f}"

    if (once := rate("cartpole_steps_per_s")) is not None:
        return f"; the host stepped CartPole-v1 at {once} steps/s in the same run"
    before, after = rate("cartpole_steps_per_s_before"), rate("cartpole_steps_per_s_after")
    if before is None or after is None:
        return ""
    return f"; the host stepped CartPole-v1 at {before} steps/s before training, {after} after"


def _where(rows: pd.DataFrame) -> str:
    """The machine and date a timing was measured on (a timing depends on the host: the
    same code on the same CPU model has measured far apart on two days, README)."""
    first = rows.iloc[0]
    return f"{first['cpu_model']} ({first['cores']} cores, {first['date_utc']} UTC)"


def _tuning_section(tuning: Path) -> list[str]:
    """Tuned against default configs on the reporting seeds (``tuning/comparison.csv``, written
    by ``scripts/tuning_table.py``); nothing when no study has been compared."""
    path = tuning / "comparison.csv"
    if not path.exists():
        return []
    table = pd.read_csv(path)
    trials = sorted(int(n) for n in table["n_trials"].unique())
    return [
        "",
        "## Equal tuning effort (`make tune`)",
        "",
        f"One Optuna study per learner, {' / '.join(map(str, trials))} trials each, on tuning "
        "seeds disjoint from the reporting seeds; each study's selected config "
        "(`conf/agent/tuned/`: its best trial where that beat the committed config on the "
        "tuning seeds, else the committed one) retrained and evaluated on the reporting seeds "
        "at t_max 15 s beside the defaults above. Verdict: the 95% CI of the difference of "
        "means excludes 0. Studies and commands: [`tuning/README.md`](tuning/README.md).",
        "",
        *table_lines(table),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--command", default="make reproduce")
    parser.add_argument("--wall", default=None,
                        help="total wall time, for the record (default: the one results/README.md "
                             "already gives for the same CSV commit, else 'not recorded')")  # fmt: skip
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
    wall = args.wall or _recorded_wall(args.results / "README.md", commit)
    atomic_write_text(args.results / "summary.csv", summary.to_csv(index=False))
    readme = write_readme(args.results, summary, args.command, commit, wall)
    atomic_write_text(args.results / "README.md", readme)
    print(_screen(summary))
    return 0


def _recorded_wall(readme: Path, commit: str) -> str:
    """The wall time an earlier ``make reproduce`` wrote into ``readme`` for CSVs of the same
    ``commit`` (regenerating the tables must not lose it, nor type it by hand)."""
    if readme.exists():
        lines = readme.read_text().splitlines()
        if f"- Commit: `{commit}`" in lines:
            for line in lines:
                if line.startswith("- Total wall time: "):
                    return line.removeprefix("- Total wall time: ")
    return "not recorded"


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
