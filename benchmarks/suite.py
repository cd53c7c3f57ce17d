"""The scenario suite: every agent x every scenario x seeds, scored as a fraction of the bound.

A thin layer over the harness's public entry point (:func:`benchmarks.run.run_from_config`):
for each (scenario, agent, seed) it composes ``env=<scenario> agent=<agent> seed=<seed>
experiment=suite`` (or ``suite_quick``), runs the train stage, then the evaluation stage
(``experiment.name=tmax``) at the scenario's own t_max and n_tasks on held-out episodes, into
``<out_dir>/<scenario>/`` (the harness's layout, so completed runs are skipped on a rerun and
CSVs from several machines merge by copying the folders side by side). It then writes
``<out_dir>/scores.csv``: one row per (scenario, agent, seed) with the mean over the held-out
episodes of ``sum_reward / upper_bound``. Aggregates: ``scripts/suite_stats.py``.

    python -m benchmarks.suite --quick                      # make benchmark-quick
    python -m benchmarks.suite                              # make benchmark
    python -m benchmarks.suite --agents round_robin aif --scenarios queueing --seeds 0 1
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from benchmarks.config import agent_names, register_configs
from benchmarks.harness import BenchError
from benchmarks.run import run_from_config
from benchmarks.store import verify_run
from cloudedge.config import available_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[1]

#: The suite's scenarios: every shipped one (cloudedge/scenarios/env/<name>.yaml; each file's
#: opening comment says what makes the decision hard there), so a new scenario file joins it.
SUITE_SCENARIOS = tuple(available_scenarios())

#: Environment steps (decisions) each agent trains for on every scenario: train_episodes is
#: ceil(steps / n_tasks), the same steps for every learner. "full": 10,000 steps, 100 paper
#: episodes, the budget of the paper reproduction's train experiment (conf/experiment/train.yaml);
#: not yet checked against where each learner's curve flattens on every scenario. "quick": a
#: smoke test of the pipeline.
TRAIN_ENV_STEPS = {"full": 10_000, "quick": 300}

#: Tasks per evaluation episode in the quick suite (the bound of 200-task episodes costs tens of
#: seconds; the full suite evaluates at each scenario's own n_tasks).
QUICK_EVAL_N_TASKS = 50

#: Agents of the quick suite: the deployable references (neither learning nor privileged) and
#: the paper's agent.
QUICK_AGENTS = (*agent_names(lambda c: not c.learns and not c.privileged), "aif")


def all_agents() -> list[str]:
    """Every agent with a config in ``conf/agent`` (learners first: they take longest)."""
    return agent_names()


def _compose(overrides: list[str]) -> DictConfig:
    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        return compose(config_name="config", overrides=overrides)


def run_one(scenario: str, agent: str, seed: int, out_dir: Path, quick: bool, log=print) -> Path:
    """Train then evaluate one (scenario, agent, seed); return the evaluation CSV."""
    env = load_scenario(scenario)
    n_tasks = min(env.n_tasks, QUICK_EVAL_N_TASKS) if quick else env.n_tasks
    budget = TRAIN_ENV_STEPS["quick" if quick else "full"]
    common = [
        f"env={scenario}",
        f"agent={agent}",
        f"seed={seed}",
        f"experiment={'suite_quick' if quick else 'suite'}",
        f"out_dir={out_dir / scenario}",
        f"experiment.train_episodes={math.ceil(budget / env.n_tasks)}",
        f"experiment.t_max_values_s=[{env.t_max_s}]",
        f"experiment.n_tasks_values=[{n_tasks}]",
    ]
    run_from_config(_compose(common), agent, log)
    return run_from_config(_compose([*common, "experiment.name=tmax"]), agent, log)


def collect(out_dir: Path) -> pd.DataFrame:
    """Per (scenario, agent, seed): mean sum_reward / upper_bound over held-out episodes.

    Every evaluation run is verified first (schema, row count, checksum): a damaged one raises
    :class:`benchmarks.store.SchemaError` naming the file instead of being scored.
    """
    rows = []
    # <out_dir>/<scenario>/runs/<env>-<hash>/tmax/<agent>/seed=<s>/metrics.csv
    for csv in sorted(out_dir.glob("*/runs/*/tmax/*/seed=*/metrics.csv")):
        frame = pd.DataFrame(verify_run(csv.parent))
        rows.append(
            {
                "scenario": csv.parents[5].name,
                "agent": str(frame["agent"].iloc[0]),
                "seed": int(frame["seed"].iloc[0]),
                "score": float((frame["sum_reward"] / frame["upper_bound"]).mean()),
                "sum_reward": float(frame["sum_reward"].mean()),
                "upper_bound": float(frame["upper_bound"].mean()),
                "episodes": len(frame),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smoke-test budget")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--agents", nargs="*", default=None)
    parser.add_argument("--scenarios", nargs="*", default=list(SUITE_SCENARIOS))
    parser.add_argument("--seeds", nargs="*", type=int, default=None)
    args = parser.parse_args(argv)
    out_dir = args.out_dir or ROOT / "outputs" / ("suite_quick" if args.quick else "suite")
    agents = args.agents or (list(QUICK_AGENTS) if args.quick else all_agents())
    seeds = args.seeds if args.seeds is not None else ([0, 1] if args.quick else [0, 1, 2, 3, 4])
    unknown = sorted(set(args.scenarios) - set(available_scenarios()))
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}: allowed {available_scenarios()}")
    started = time.perf_counter()
    try:
        for scenario in args.scenarios:
            for agent in agents:
                for seed in seeds:
                    run_one(scenario, agent, seed, out_dir, args.quick)
    except BenchError as err:
        print(f"suite: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    scores = collect(out_dir)
    scores.to_csv(out_dir / "scores.csv", index=False)
    wall = time.perf_counter() - started
    print(f"suite: {len(scores)} runs scored -> {out_dir / 'scores.csv'} ({wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
