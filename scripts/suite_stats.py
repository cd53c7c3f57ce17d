"""Aggregates of the scenario suite across scenarios with rliable (Agarwal et al., NeurIPS 2021).

Reads ``scores.csv`` (benchmarks/suite.py: one row per scenario, agent, seed with ``score`` =
sum_reward / upper bound) and writes into ``--dest``:

* ``aggregates.csv``: per agent, IQM, mean, median and optimality gap (gamma = 1: a score of 1
  is the bound) over runs x scenarios, each with a stratified bootstrap 95% CI (strata: the
  scenarios; runs are resampled within each);
* ``per_scenario.csv``: per scenario and agent, mean score and its bootstrap CI, and the rank;
* ``probability_of_improvement.csv``: P(X > Y) of ``--focus`` (AIF) over each other agent, CI;
* ``focus_vs_references.csv``: per scenario, ``--focus``'s mean score minus the best deployable
  reference's (agents that neither learn nor are privileged), with a bootstrap CI and a verdict
  (holds: the whole CI is >= 0; does not hold: the whole CI is < 0; inconclusive otherwise);
* figures: ``suite_scores.png`` (per-scenario scores with CIs), ``performance_profile.png``
  (fraction of runs above each score tau) and ``probability_of_improvement.png``;
* with ``--runs`` (the suite's out_dir): ``learning_curves.csv`` / ``.png`` (each learner's
  training sum reward per episode, mean over seeds, per scenario) and ``wall_times.csv``
  (seconds per run: train and evaluation stages, from each run's ``run.json``) and
  ``bracket.csv`` (per scenario, the best score any run reached on each held-out episode:
  the lower end of the bracket [best feasible known, upper bound], and its gap);
* ``README.md``: the tables above in prose order, with the command and commit given.

``--keep DIR`` (an earlier ``--dest``, e.g. the committed ``results/suite``) reruns some agents
only: every agent absent from ``--scores`` keeps its rows of ``DIR/scores.csv``,
``learning_curves.csv`` and ``wall_times.csv``, checked first to be scored against the same
held-out episodes (per scenario, the same mean upper bound); an agent in ``--scores`` replaces
all of its kept rows, so no agent mixes two versions. The bracket keeps, per scenario, the
larger best known of the two (:func:`merge_brackets`). ``make benchmark-agents``.

Runs are the seeds; an agent must have the same seeds on every scenario (rliable's matrix is
runs x tasks).

    python scripts/suite_stats.py --scores outputs/suite/scores.csv --dest results/suite
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.store import atomic_write_text  # noqa: E402
from scripts.claims import at_least  # noqa: E402
from scripts.stats import difference_ci, mean_ci  # noqa: E402

# rliable 1.2.0 passes a RandomState to arch, which warns that the argument is deprecated.
warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)

#: Bootstrap replications (rliable's default for interval estimates is 50,000; 2,000 keeps the
#: script at seconds and the CI ends stable to ~0.01 at our run counts).
REPS = 2000
#: Fixed bootstrap random state: the same scores give the same CSVs.
RANDOM_STATE = 0
#: Score thresholds of the performance profile (scores are fractions of the bound).
TAUS = np.linspace(0.0, 1.0, 41)


def _seed_global_draws() -> None:
    """rliable 1.2.0's ``StratifiedBootstrap`` draws its indices with the global
    ``np.random`` (its ``random_state`` only reaches arch's base class), so the same scores
    gave different CIs from run to run; seeding the global state before each call fixes them."""
    np.random.seed(RANDOM_STATE)


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

    _seed_global_draws()
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
    rows = []
    for agent, matrix in matrices.items():
        for m, scenario in enumerate(scenarios):
            runs = matrix[:, m]
            score, low, high = mean_ci(runs)
            rows.append(
                {"scenario": scenario, "agent": agent, "score": score, "low": low,
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

    _seed_global_draws()
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


def references(agents: list[str]) -> list[str]:
    """The deployable references among ``agents``: neither learning nor privileged."""
    from benchmarks.config import agent_names

    deployable = set(agent_names(lambda c: not c.learns and not c.privileged))
    return [a for a in agents if a in deployable]


def focus_vs_references(
    matrices: dict[str, np.ndarray], scenarios: list[str], focus: str
) -> pd.DataFrame:
    """Per scenario: ``focus``'s mean score minus the best deployable reference's.

    The best reference is the one with the highest mean on that scenario; the CI resamples
    both agents' runs independently (:func:`scripts.stats.difference_ci`).
    """
    refs = [a for a in references(list(matrices)) if a != focus]
    rows = []
    for m, scenario in enumerate(scenarios):
        best = max(refs, key=lambda a: matrices[a][:, m].mean())
        x, y = matrices[focus][:, m], matrices[best][:, m]
        _, low, high = difference_ci(x, y)
        verdict = at_least(low, high, 0.0)
        rows.append(
            {"scenario": scenario, "focus": focus, "best_reference": best,
             "focus_score": x.mean(), "reference_score": y.mean(), "margin": x.mean() - y.mean(),
             "low": low, "high": high, "verdict": verdict}
        )  # fmt: skip
    return pd.DataFrame(rows)


def best_known(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, the lower end of the bracket [best feasible known, upper bound].

    Every agent's evaluation episode is a feasible schedule of that episode, and every agent
    and seed plays the same held-out episodes (``env_seed``), so the best known feasible score
    of an episode is the best ``sum_reward / upper_bound`` any run reached on it. Per scenario:
    its mean over the episodes (``best_known``), the gap ``1 - best_known`` (how much of the
    bound no policy here reached: the bound's looseness and every agent's shortfall together)
    and the agent(s) that reached the best most often.

    :param episodes: :func:`benchmarks.suite.collect_episodes`'s rows.
    """
    columns = ["scenario", "episodes", "best_known", "gap", "worst_episode", "best_agents"]
    if episodes.empty:
        return pd.DataFrame(columns=columns)
    frame = episodes.assign(score=episodes["sum_reward"] / episodes["upper_bound"])
    rows = []
    for scenario, group in frame.groupby("scenario", sort=True):
        winners = group.loc[group.groupby("env_seed")["score"].idxmax()]
        counts = winners["agent"].value_counts()
        top = sorted(counts[counts == counts.max()].index)
        rows.append(
            {"scenario": scenario, "episodes": len(winners),
             "best_known": float(winners["score"].mean()),
             "gap": float(1.0 - winners["score"].mean()),
             "worst_episode": float(winners["score"].min()), "best_agents": " ".join(top)}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


#: Relative tolerance of the checks that runs scored the same episodes (a mean of the same
#: bounds agrees to rounding, also where the bounds were recomputed by a later commit: the
#: suite's azure_a100_3090 bound moved in its last bit between two computations).
BOUND_RTOL = 1e-9


def scenario_bound(frame: pd.DataFrame, scenario: str, name: str) -> float:
    """The one mean upper bound of ``scenario`` in a scores table (every run of a scenario plays
    the same held-out episodes, so they share it, to :data:`BOUND_RTOL`).

    :param name: names the table in the error.
    :returns: the largest of the values that agree to :data:`BOUND_RTOL`.
    :raises ValueError: naming ``name`` and ``scenario`` when the table has no bound there
        (a run made with ``experiment.eval_bound=false``), several that differ by more than
        :data:`BOUND_RTOL`, or one that is not positive and finite.
    """
    values = np.sort(frame.loc[frame["scenario"] == scenario, "upper_bound"].dropna().unique())
    if (
        len(values) == 0
        or not np.all(np.isfinite(values) & (values > 0))
        or values[-1] - values[0] > BOUND_RTOL * values[-1]
    ):
        raise ValueError(
            f"{name} has {len(values)} distinct upper bounds on {scenario} "
            f"({list(values)[:3]}); allowed one positive finite value per scenario, to a "
            f"relative {BOUND_RTOL:g} (the same held-out episodes; a run with "
            "experiment.eval_bound=false has none)"
        )
    return float(values[-1])


#: A commit as a README's record names it: "`<hash>` (<n> runs)" or "`<hash>`" in a list.
RECORDED_COMMIT = re.compile(r"`([0-9a-f]{7,40}(?:-dirty)?)`")


def recorded_commits(readme: str) -> list[str]:
    """The commits a suite README's record names for its runs ("Runs made at commit" and
    "Kept from" lines), each once, in the order first named: flattened, where quoting the
    whole record would nest it one level deeper on every ``--keep``."""
    record = " ".join(
        line for line in readme.splitlines() if line.startswith(("- Runs made at", "- Kept from"))
    )
    return list(dict.fromkeys(RECORDED_COMMIT.findall(record)))


@dataclass(frozen=True)
class Kept:
    """What ``--keep`` adds: the rows of the agents that were not rerun, from an earlier
    ``--dest``.

    :param agents: the kept agents (those absent from the new scores).
    :param scores: their ``scores.csv`` rows.
    :param curves: their ``learning_curves.csv`` rows (empty without that file).
    :param walls: their ``wall_times.csv`` rows (empty without that file).
    :param bracket: the folder's ``bracket.csv`` (empty without it).
    :param runs_line: the commits the folder's README names as its runs' (its own runs and,
        flattened, those of what it kept in turn), each once, in the order first named.
    """

    agents: list[str]
    scores: pd.DataFrame
    curves: pd.DataFrame
    walls: pd.DataFrame
    bracket: pd.DataFrame
    runs_line: str


def read_kept(folder: Path, scores: pd.DataFrame) -> Kept:
    """``--keep``: the rows of ``folder`` for the agents that ``scores`` does not have.

    :raises ValueError: naming the file or scenario, when ``folder`` has no ``scores.csv``, its
        columns differ from ``scores``', a scenario is in one but not the other, or a
        scenario's mean upper bound differs (other held-out episodes or bound code).
    """
    path = folder / "scores.csv"
    if not path.is_file():
        raise ValueError(f"--keep {folder}: no scores.csv (an earlier --dest of this script)")
    # round_trip: pandas' default float parser may miss the written value by an ulp.
    old = pd.read_csv(path, float_precision="round_trip")
    if list(old.columns) != list(scores.columns):
        raise ValueError(
            f"--keep {path}: columns {list(old.columns)}; allowed the columns of --scores, "
            f"{list(scores.columns)}"
        )
    agents = sorted(set(old["agent"]) - set(scores["agent"]))
    old = old[old["agent"].isin(agents)]
    for scenario in sorted(set(old["scenario"]) | set(scores["scenario"])):
        bounds = [
            scenario_bound(frame, scenario, f"--keep: {name}")
            for name, frame in ((str(path), old), ("--scores", scores))
        ]
        if not np.isclose(bounds[0], bounds[1], rtol=BOUND_RTOL, atol=0.0):
            raise ValueError(
                f"--keep: the mean upper bound on {scenario} is {bounds[0]!r} in {path} and "
                f"{bounds[1]!r} in --scores; allowed equal (relative tolerance {BOUND_RTOL}): "
                "the kept and the new runs must play the same held-out episodes"
            )

    def rows(name: str) -> pd.DataFrame:
        file = folder / name
        if not file.is_file():
            return pd.DataFrame()
        frame = pd.read_csv(file, float_precision="round_trip")
        return frame[frame["agent"].isin(agents)] if "agent" in frame.columns else frame

    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    runs_line = ", ".join(f"`{commit}`" for commit in recorded_commits(text))
    return Kept(
        agents=agents,
        scores=old,
        curves=rows("learning_curves.csv"),
        walls=rows("wall_times.csv"),
        bracket=rows("bracket.csv"),
        runs_line=runs_line,
    )


def merge_brackets(new: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, the bracket row (:func:`best_known`) with the larger best known; a kept
    row's agents are marked ``[kept]``.

    The per-episode best of both sets of runs would be exact, but the kept folder holds only
    its means. Both are means of feasible schedules of the same episodes, and the mean of the
    per-episode best is at least the larger of the two, so the merged lower end is valid and
    at most conservative (its gap at most overstated).
    """
    if kept.empty:
        return new
    agents = kept["best_agents"].astype(str)
    marked = kept.assign(
        best_agents=agents.where(agents.str.endswith("[kept]"), agents + " [kept]")
    )
    both = pd.concat([new, marked], ignore_index=True)
    best = both.loc[both.groupby("scenario")["best_known"].idxmax()]
    return best.sort_values("scenario").reset_index(drop=True)[list(kept.columns)]


def learning_curves(runs: Path, units: set[tuple[str, str, int]] | None = None) -> pd.DataFrame:
    """Per scenario, learner and training episode: the mean and count over seeds of the
    training sum reward (the suite's train CSVs, verified first), over ``units`` (scenario,
    agent, seed) only when given."""
    from benchmarks.config import agent_names
    from benchmarks.store import verify_run

    learners = set(agent_names(lambda c: c.learns))
    frames = []
    # <runs>/<scenario>/runs/<env>-<hash>/train/<agent>/seed=<s>/metrics.csv
    for csv in sorted(runs.glob("*/runs/*/train/*/seed=*/metrics.csv")):
        if csv.parents[1].name not in learners:  # references play one episode: no curve
            continue
        unit = (csv.parents[5].name, csv.parents[1].name, int(csv.parent.name[len("seed=") :]))
        if units is not None and unit not in units:
            continue
        frame = pd.DataFrame(verify_run(csv.parent))
        frames.append(frame.assign(scenario=csv.parents[5].name))
    if not frames:
        return pd.DataFrame(columns=["scenario", "agent", "episode", "sum_reward", "seeds"])
    train = pd.concat(frames, ignore_index=True)
    curves = train.groupby(["scenario", "agent", "episode"])["sum_reward"].agg(["mean", "count"])
    return curves.rename(columns={"mean": "sum_reward", "count": "seeds"}).reset_index()


def late_gain(curves: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and learner: how much the curve still rises at the end of the budget, as
    (mean of the last fifth of episodes - mean of the fifth before) / |mean of the last fifth|.
    Above ~0.02 the learner was still improving when its budget ran out."""
    rows = []
    for (scenario, agent), frame in curves.groupby(["scenario", "agent"]):
        reward = frame.sort_values("episode")["sum_reward"].to_numpy()
        fifth = max(1, reward.size // 5)
        last, before = reward[-fifth:].mean(), reward[-2 * fifth : -fifth].mean()
        gain = (last - before) / abs(last) if last else np.nan
        rows.append({"scenario": scenario, "agent": agent, "episodes": reward.size,
                     "last_fifth": last, "fifth_before": before, "late_gain": gain})  # fmt: skip
    return pd.DataFrame(rows)


def plot_curves(curves: pd.DataFrame, dest: Path) -> Path:
    """One panel per scenario: each learner's mean training sum reward per episode."""
    scenarios = sorted(curves["scenario"].unique())
    cols = min(5, len(scenarios))
    rows = -(-len(scenarios) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, scenario in zip(axes.flat, scenarios, strict=False):
        for agent, frame in curves[curves["scenario"] == scenario].groupby("agent"):
            ax.plot(frame["episode"], frame["sum_reward"], label=agent, linewidth=1)
        ax.set_title(scenario, fontsize="small")
        ax.tick_params(labelsize="x-small")
    for ax in axes.flat[len(scenarios) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize="x-small")
    fig.supxlabel("training episode")
    fig.supylabel("sum reward (mean over seeds)")
    fig.tight_layout()
    path = dest / "learning_curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def seeds_line(scores: pd.DataFrame) -> str:
    """``aif 0-1; ppo 0-2`` style: the seeds each agent was scored over."""
    parts = []
    for agent, frame in scores.groupby("agent"):
        seeds = sorted(set(int(s) for s in frame["seed"]))
        parts.append(f"{agent} {seeds}")
    return "; ".join(parts)


def run_commits(runs: Path, units: set[tuple[str, str, int]]) -> dict[str, int]:
    """How many of the scored units' runs (train and evaluation) each commit made, from the
    ``git_commit`` every run records in its run.json (``-dirty`` when the tree was edited).

    :param runs: the suite's out_dir (``<scenario>/runs/<env>-<hash>/<stage>/<agent>/seed=<s>``).
    :param units: the scored (scenario, agent, seed).
    """
    counts: dict[str, int] = {}
    for meta in runs.glob("*/runs/*/*/*/seed=*/run.json"):
        run = json.loads(meta.read_text())
        if (meta.parents[5].name, run["agent"], int(run["seed"])) in units:
            commit = str(run.get("git_commit", "unknown"))
            counts[commit] = counts.get(commit, 0) + 1
    return dict(sorted(counts.items()))


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def ranking(frame: pd.DataFrame) -> str:
    """One scenario's rows of ``per_scenario.csv`` as ``1. agent score [low, high]; 2. ...``."""
    return "; ".join(
        f"{int(r['rank'])}. {r['agent']} {r['score']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
        for _, r in frame.sort_values(["rank", "agent"]).iterrows()
    )


def write_readme(
    dest: Path,
    command: str,
    aggregates_table: pd.DataFrame,
    per: pd.DataFrame,
    versus: pd.DataFrame,
    gains: pd.DataFrame | None,
    walls: pd.DataFrame | None,
    figures: list[Path],
    run_record: Sequence[str] = (),
    completion: pd.DataFrame | None = None,
    bracket: pd.DataFrame | None = None,
) -> Path:
    """``dest/README.md``: every table of this script, generated (never edited by hand)."""
    completion = pd.DataFrame() if completion is None else completion
    lines = [
        "# Scenario suite",
        "",
        "Generated by `scripts/suite_stats.py`; do not edit by hand.",
        "",
        f"- Command: `{command}`",
        f"- Scored at commit: `{_commit()}`",
        "- Score: sum reward / the episode's clairvoyant upper bound (`agents/bound.py`), mean "
        "over each run's held-out evaluation episodes; runs are seeds. CIs: 95% bootstrap.",
        "",
        *run_record,
        "## Per-scenario ranking",
        "",
    ]
    for scenario, frame in per.groupby("scenario", sort=True):
        lines.append(f"- **{scenario}**: {ranking(frame)}")
    if not versus.empty:
        focus = versus["focus"].iloc[0]
        lines += [
            "",
            f"## {focus} against the best deployable reference, per scenario",
            "",
            "Verdict: *holds* when the margin's whole CI is >= 0, *does not hold* when it is "
            "< 0, *inconclusive* otherwise.",
            "",
            f"| scenario | {focus} | best reference | margin [95% CI] | verdict |",
            "|---|---|---|---|---|",
        ]
        for _, r in versus.iterrows():
            lines.append(
                f"| {r['scenario']} | {r['focus_score']:.3f} | {r['best_reference']} "
                f"{r['reference_score']:.3f} | {r['margin']:+.3f} [{r['low']:+.3f}, "
                f"{r['high']:+.3f}] | {r['verdict']} |"
            )
    if bracket is not None and not bracket.empty:
        lines += [
            "",
            "## How tight is the bound? [best feasible known, upper bound] per scenario",
            "",
            "Scores are fractions of each episode's upper bound, so the bound is 1. Best known: "
            "per held-out episode, the best score any run of any agent reached (each is a "
            "feasible schedule of that episode), then the mean over episodes. The gap "
            "(1 - best known) is what no policy here reached: bound looseness and every "
            "agent's shortfall together, so a score is judged against it, not against 1.",
            "",
            "| scenario | episodes | best known | gap | worst episode | best most often |",
            "|---|---|---|---|---|---|",
        ]
        for _, r in bracket.iterrows():
            lines.append(
                f"| {r['scenario']} | {r['episodes']} | {r['best_known']:.3f} | "
                f"{r['gap']:.3f} | {r['worst_episode']:.3f} | {r['best_agents']} |"
            )
    lines += [
        "",
        "## Across scenarios (rliable, stratified bootstrap)",
        "",
        "| agent | IQM [95% CI] | mean | optimality gap |",
        "|---|---|---|---|",
    ]
    for _, r in aggregates_table.iterrows():
        lines.append(
            f"| {r['agent']} | {r['iqm']:.3f} [{r['iqm_low']:.3f}, {r['iqm_high']:.3f}] | "
            f"{r['mean']:.3f} | {r['optimality_gap']:.3f} |"
        )
    if "completion_rate" in completion.columns:
        table = completion.pivot_table(index="agent", columns="scenario", values="completion_rate")
        modes = completion.groupby("agent")["eval_mode"].first()
        lines += [
            "",
            "## Completion rate (fraction of tasks completed in time, mean over seeds)",
            "",
            "Evaluation mode in brackets: how each agent is evaluated (as it trained).",
            "",
            "| agent | " + " | ".join(table.columns) + " |",
            "|---|" + "---|" * len(table.columns),
        ]
        for agent, row in table.iterrows():
            cells = " | ".join(f"{v:.3f}" for v in row)
            lines.append(f"| {agent} ({modes[agent]}) | {cells} |")
    if gains is not None and not gains.empty:
        table = gains.pivot_table(index="agent", columns="scenario", values="late_gain")
        lines += [
            "",
            "## Are the learners still improving at the budget?",
            "",
            "Late gain: (mean training sum reward of the last fifth of episodes - that of the "
            "fifth before) / the last fifth's; above ~0.02 the curve was still rising when the "
            "budget ran out (`learning_curves.png`).",
            "",
            "| agent | " + " | ".join(table.columns) + " |",
            "|---|" + "---|" * len(table.columns),
        ]
        for agent, row in table.iterrows():
            lines.append(f"| {agent} | " + " | ".join(f"{v:+.3f}" for v in row) + " |")
    if walls is not None and not walls.empty:
        per_agent = walls.groupby("agent")[["train_s", "eval_s"]].agg(["mean", "max"])
        # Training wall per environment step: what a learner costs per decision it learns from
        # (AIF's planner against a DRL forward pass plus its updates).
        per_step = (
            walls["train_s"] / walls["train_steps"].where(walls["train_steps"] > 0)
        ).groupby(walls["agent"]).mean() * 1e3
        lines += [
            "",
            "## Wall time per run (s)",
            "",
            "One run = one (scenario, agent, seed): training at the suite's budget, then "
            "evaluation with the bounds (cached per scenario, so the first run of a scenario "
            "pays for them), on the machine and with the parallel jobs that ran it (see the "
            "command above). Use these to size cluster jobs. ms/step: training wall time per "
            "environment step, mean over runs (acting and learning together).",
            "",
            "| agent | train mean | train max | ms/step | eval mean | eval max |",
            "|---|---|---|---|---|---|",
        ]
        for agent, r in per_agent.iterrows():
            train, evaluate = r["train_s"], r["eval_s"]
            lines.append(
                f"| {agent} | {train['mean']:.1f} | {train['max']:.1f} | {per_step[agent]:.2f} | "
                f"{evaluate['mean']:.1f} | {evaluate['max']:.1f} |"
            )
    lines += ["", "## Figures", "", *[f"![{f.stem}]({f.name})" for f in figures]]
    path = dest / "README.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, default=Path("outputs/suite/scores.csv"))
    parser.add_argument("--dest", type=Path, default=Path("outputs/suite/stats"))
    parser.add_argument("--focus", default="aif", help="the agent whose P(X > Y) is reported")
    parser.add_argument(
        "--runs", type=Path, default=None, help="the suite's out_dir: adds curves and wall times"
    )
    parser.add_argument(
        "--keep", type=Path, default=None,
        help="an earlier --dest: its agents absent from --scores keep their rows (module doc)",
    )  # fmt: skip
    parser.add_argument("--command", default="make benchmark",
                        help="the command that produced the scores, for the README")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.scores.is_file():
        parser.error(f"--scores {args.scores}: no such file (run python -m benchmarks.suite)")
    if args.runs is not None and not args.runs.is_dir():
        parser.error(f"--runs {args.runs}: no such folder (the suite's out_dir)")
    if args.keep is not None and not args.keep.is_dir():
        parser.error(f"--keep {args.keep}: no such folder (an earlier --dest)")
    if args.keep is not None and args.runs is None:
        parser.error("--keep needs --runs: the rerun agents' curves, wall times and bracket")
    scores = pd.read_csv(args.scores)
    kept = None
    if args.keep is not None:
        # Read before anything is written: --dest is usually the kept folder itself.
        try:
            kept = read_kept(args.keep, scores)
        except ValueError as err:
            parser.error(str(err))
        scores = pd.concat([scores, kept.scores], ignore_index=True)
        scores = scores.sort_values(["scenario", "agent", "seed"], ignore_index=True)
    # The units this invocation's runs scored (the kept ones' runs may not exist any more).
    units = {
        (r.scenario, r.agent, int(r.seed))
        for r in scores.itertuples()
        if kept is None or r.agent not in kept.agents
    }
    matrices, scenarios = score_matrices(scores)
    args.dest.mkdir(parents=True, exist_ok=True)
    agg = aggregates(matrices)
    agg.to_csv(args.dest / "aggregates.csv", index=False)
    per = per_scenario(matrices, scenarios)
    per.to_csv(args.dest / "per_scenario.csv", index=False)
    poi = pd.DataFrame(columns=["x", "y", "probability", "low", "high"])
    versus = pd.DataFrame()
    if args.focus in matrices:
        poi = probability_of_improvement(matrices, args.focus)[0]
        if [a for a in references(list(matrices)) if a != args.focus]:
            versus = focus_vs_references(matrices, scenarios, args.focus)
    poi.to_csv(args.dest / "probability_of_improvement.csv", index=False)
    versus.to_csv(args.dest / "focus_vs_references.csv", index=False)
    figures = plot_all(matrices, scenarios, per, poi, args.focus, args.dest)
    gains = walls = bracket = None
    if args.runs is not None:
        from benchmarks.suite import collect_episodes, wall_times

        curves = learning_curves(args.runs, units)
        if kept is not None and not kept.curves.empty:
            curves = pd.concat([curves, kept.curves], ignore_index=True)
            curves = curves.sort_values(["scenario", "agent", "episode"], ignore_index=True)
        curves.to_csv(args.dest / "learning_curves.csv", index=False)
        gains = late_gain(curves)
        gains.to_csv(args.dest / "late_gain.csv", index=False)
        if not curves.empty:
            figures.append(plot_curves(curves, args.dest))
        bracket = best_known(collect_episodes(args.runs, units))
        if kept is not None:
            bracket = merge_brackets(bracket, kept.bracket)
        bracket.to_csv(args.dest / "bracket.csv", index=False)
        walls = wall_times(args.runs)
        walls = walls[[(r.scenario, r.agent, int(r.seed)) in units for r in walls.itertuples()]]
        if kept is not None and not kept.walls.empty:
            walls = pd.concat([walls, kept.walls], ignore_index=True)
            walls = walls.sort_values(["scenario", "agent", "seed"], ignore_index=True)
        walls.to_csv(args.dest / "wall_times.csv", index=False)
    record: list[str] = []
    if args.runs is not None:
        made = run_commits(args.runs, units)
        record.append(
            "- Runs made at commit: "
            + ", ".join(f"`{commit}` ({n} runs)" for commit, n in made.items())
            + " (each run's run.json)."
        )
    if kept is not None:
        record.append(
            f"- Kept from `{args.keep}` (`--keep`, not rerun): {', '.join(kept.agents)} "
            f"({len(kept.scores)} units), their scores, curves and wall times as that folder "
            f"had them (the commits its record names, runs since replaced included: "
            f"{kept.runs_line or 'none'}). The bracket is per scenario "
            "the larger of the new runs' and the kept one (`[kept]`), a valid lower end."
        )
    if walls is not None and not walls.empty:
        from benchmarks.suite import learners

        learned = walls[walls["agent"].isin(learners())]["train_steps"]
        total = walls["train_s"].sum() + walls["eval_s"].sum()
        if not learned.empty:
            record.append(
                f"- Budget: every learner trained {learned.min()}-{learned.max()} environment "
                "steps per scenario (train episodes x tasks, from each run's run.json; whole "
                "episodes, so a scenario's steps round up); references play one episode."
            )
        record.append(
            f"- Sum of every run's wall time: {total / 60:.1f} min "
            f"({len(walls)} units of (scenario, agent, seed), each a train and an evaluation "
            "run; divide by the jobs for the elapsed time)."
        )
    if args.runs is not None and (args.runs / "suite.json").is_file():
        meta = json.loads((args.runs / "suite.json").read_text())
        record.append(
            f"- The last invocation that ran units: {meta['wall_s'] / 60:.1f} min with "
            f"{meta['jobs']} jobs on {meta['cpus']} CPUs, seeds {meta['seeds']} (a resumed "
            "invocation counts only what it ran)."
        )
    record += [f"- Seeds per agent: {seeds_line(scores)}.", ""]
    if args.dest.resolve() != args.scores.parent.resolve():
        atomic_write_text(args.dest / "scores.csv", scores.to_csv(index=False))
    readme = write_readme(
        args.dest,
        args.command,
        agg,
        per,
        versus,
        gains,
        walls,
        figures,
        record,
        scores,
        bracket,
    )
    print(f"wrote {args.dest}: {readme.name}, aggregates.csv, per_scenario.csv, "
          f"probability_of_improvement.csv, focus_vs_references.csv, "
          f"{', '.join(p.name for p in figures)}")  # fmt: skip


if __name__ == "__main__":
    main()
