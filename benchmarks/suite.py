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
    python -m benchmarks.suite --jobs 2                     # two worker processes
    python -m benchmarks.suite --agents aif --override agent.imagined_routing=fill \
        --out-dir outputs/suite_fill                        # a variant, in its own folder

Parallel runs (``--jobs N``): first one run per scenario (it computes that scenario's bounds
on the held-out episodes, which every other run of the scenario reads from the cache), then
every other (scenario, agent, seed) in a pool of N worker processes, learners first (they take
longest). Workers die with the suite (:mod:`benchmarks.lifecycle`); the scores are the same as
a serial run's, since each run depends only on its own config and seed.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import cache, partial
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from benchmarks import lifecycle
from benchmarks.config import agent_names, register_configs
from benchmarks.harness import BenchError
from benchmarks.run import run_from_config
from benchmarks.store import atomic_write_text, verify_run
from cloudedge.config import ConfigError, available_scenarios, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]

#: The suite's scenarios: every shipped one (cloudedge/scenarios/env/<name>.yaml; each file's
#: opening comment says what makes the decision hard there), so a new scenario file joins it.
SUITE_SCENARIOS = tuple(available_scenarios())

#: Tasks per evaluation episode in the quick suite (the bound of 200-task episodes costs tens of
#: seconds; the full suite evaluates at each scenario's own n_tasks).
QUICK_EVAL_N_TASKS = 50

#: Agents of the quick suite: the deployable references (neither learning nor privileged) and
#: the paper's agent.
QUICK_AGENTS = (*agent_names(lambda c: not c.learns and not c.privileged), "aif")


@cache
def learners() -> frozenset[str]:
    """The agents that learn (they get the step budget; the others play one episode); read
    from ``conf/agent`` once per process."""
    return frozenset(agent_names(lambda c: c.learns))


def all_agents() -> list[str]:
    """Every agent with a config in ``conf/agent`` (learners first: they take longest)."""
    return agent_names()


@cache
def default_train_env_steps(quick: bool) -> int:
    """The learners' budget per scenario: ``train_env_steps`` of ``conf/experiment/suite.yaml``
    (``suite_quick.yaml`` when ``quick``), the one place it is set."""
    experiment = _compose([f"experiment={'suite_quick' if quick else 'suite'}"]).experiment
    return int(experiment.train_env_steps)


def _compose(overrides: list[str]) -> DictConfig:
    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        return compose(config_name="config", overrides=overrides)


def run_one(
    scenario: str,
    agent: str,
    seed: int,
    out_dir: Path,
    quick: bool,
    log=print,
    quick_eval_n_tasks: int | None = None,
    train_env_steps: int | None = None,
    overrides: tuple[str, ...] = (),
) -> Path:
    """Train then evaluate one (scenario, agent, seed); return the evaluation CSV.

    :param train_env_steps: the learners' budget (default: :func:`default_train_env_steps`).
    :param overrides: further Hydra overrides of both stages (e.g.
        ``agent.imagined_routing=fill``); they enter the composed config, hence the run key.

    :param quick_eval_n_tasks: tasks per evaluation episode in the quick suite (default
        :data:`QUICK_EVAL_N_TASKS`).
    """
    # The env as the runs will see it: a scenario file's, and any env.* override applied.
    experiment = f"experiment={'suite_quick' if quick else 'suite'}"
    composed = _compose([f"env={scenario}", f"agent={agent}", experiment, *overrides])
    env = scenario_from_dict(OmegaConf.to_container(composed.env, resolve=True))
    cap = QUICK_EVAL_N_TASKS if quick_eval_n_tasks is None else quick_eval_n_tasks
    n_tasks = min(env.n_tasks, cap) if quick else env.n_tasks
    # References do not learn: one training episode (the harness's train stage) is all they need.
    steps = train_env_steps or default_train_env_steps(quick)
    budget = steps if agent in learners() else env.n_tasks
    common = [
        f"env={scenario}",
        f"agent={agent}",
        f"seed={seed}",
        experiment,
        f"out_dir={out_dir / scenario}",
        f"experiment.train_env_steps={steps}",
        f"experiment.train_episodes={math.ceil(budget / env.n_tasks)}",
        f"experiment.t_max_values_s=[{env.t_max_s}]",
        f"experiment.n_tasks_values=[{n_tasks}]",
        *overrides,
    ]
    run_from_config(_compose(common), agent, log)
    return run_from_config(_compose([*common, "experiment.name=tmax"]), agent, log)


def collect_episodes(out_dir: Path, units: Iterable[Unit] | None = None) -> pd.DataFrame:
    """Every held-out evaluation episode of the suite's runs: one row per (scenario, agent,
    seed, episode) with its ``sum_reward``, ``upper_bound``, ``completion_rate``, ``env_seed``
    and the run's ``eval_mode``.

    Every evaluation run is verified first (schema, row count, checksum): a damaged one raises
    :class:`benchmarks.store.SchemaError` naming the file instead of being scored.

    :param units: only these (scenario, agent, seed); default: every run in ``out_dir``.
    """
    wanted = None if units is None else set(units)
    frames = []
    # <out_dir>/<scenario>/runs/<env>-<hash>/tmax/<agent>/seed=<s>/metrics.csv
    for csv in sorted(out_dir.glob("*/runs/*/tmax/*/seed=*/metrics.csv")):
        scenario = csv.parents[5].name
        unit = (scenario, csv.parents[1].name, int(csv.parent.name.removeprefix("seed=")))
        if wanted is not None and unit not in wanted:
            continue
        frame = pd.DataFrame(verify_run(csv.parent))
        frame["scenario"] = scenario
        frames.append(frame)
    columns = ["scenario", "agent", "seed", "episode", "env_seed", "eval_mode", "sum_reward",
               "upper_bound", "completion_rate"]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=columns)
    episodes = pd.concat(frames, ignore_index=True)[columns]
    return episodes.astype({"agent": str, "seed": int, "eval_mode": str})


def collect(out_dir: Path, units: Iterable[Unit] | None = None) -> pd.DataFrame:
    """Per (scenario, agent, seed): mean sum_reward / upper_bound over held-out episodes
    (from :func:`collect_episodes`, so every run is verified first).

    :param units: score only these (scenario, agent, seed); default: every run in ``out_dir``.
    """
    episodes = collect_episodes(out_dir, units)
    rows = []
    for (scenario, agent, seed), frame in episodes.groupby(
        ["scenario", "agent", "seed"], sort=True
    ):
        rows.append(
            {
                "scenario": scenario,
                "agent": agent,
                "seed": int(seed),
                "score": float((frame["sum_reward"] / frame["upper_bound"]).mean()),
                "sum_reward": float(frame["sum_reward"].mean()),
                "completion_rate": float(frame["completion_rate"].mean()),
                "eval_mode": str(frame["eval_mode"].iloc[0]),
                "upper_bound": float(frame["upper_bound"].mean()),
                "episodes": len(frame),
            }
        )
    return pd.DataFrame(rows)


#: One unit of the suite: (scenario, agent, seed).
Unit = tuple[str, str, int]


def _worker_init() -> None:
    lifecycle.die_with_parent()


def _run_unit(
    unit: Unit,
    out_dir: Path,
    quick: bool,
    quick_eval_n_tasks: int,
    train_env_steps: int | None,
    overrides: tuple[str, ...] = (),
) -> tuple[Unit, str | None]:
    """Run one unit; return it with ``None``, or with the traceback of the error it raised.

    Bad input (:class:`BenchError`) propagates: it would fail every unit alike.
    """
    try:
        run_one(
            *unit,
            out_dir,
            quick,
            lambda *a, **k: None,
            quick_eval_n_tasks,
            train_env_steps,
            overrides,
        )
    except BenchError:
        raise
    except Exception:  # one failing run must not stop the others
        return unit, traceback.format_exc()
    return unit, None


def run_units(
    units: list[Unit],
    out_dir: Path,
    quick: bool,
    jobs: int,
    log: Callable[[str], None] = print,
    train_env_steps: int | None = None,
    overrides: tuple[str, ...] = (),
) -> dict[Unit, str]:
    """Run every unit: serially when ``jobs == 1``, else in ``jobs`` worker processes.

    In parallel, each scenario's first unit runs first (it computes the scenario's bounds),
    then the rest in the given order. A unit that raises is logged and skipped (the others
    still run); bad input stops the suite.

    :return: the failed units, each with its traceback.
    """
    # Read here, in the parent: a spawned worker re-imports this module with its defaults.
    run = partial(
        _run_unit,
        out_dir=out_dir,
        quick=quick,
        quick_eval_n_tasks=QUICK_EVAL_N_TASKS,
        train_env_steps=train_env_steps,
        overrides=overrides,
    )
    failed: dict[Unit, str] = {}

    def record(unit: Unit, error: str | None) -> None:
        if error is None:
            log(f"suite: done {unit[0]} {unit[1]} seed={unit[2]}")
        else:
            failed[unit] = error
            log(f"suite: FAILED {unit[0]} {unit[1]} seed={unit[2]}: {error.splitlines()[-1]}")

    if jobs == 1:
        for unit in units:
            record(*run(unit))
        return failed
    first: dict[str, Unit] = {}
    for unit in units:
        first.setdefault(unit[0], unit)
    rest = [u for u in units if u not in first.values()]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init) as pool:
        for phase in (list(first.values()), rest):
            for result in pool.map(run, phase):
                record(*result)
    return failed


def wall_times(out_dir: Path) -> pd.DataFrame:
    """Per (scenario, agent, seed): the wall seconds of its train and evaluation runs and the
    environment steps it trained for (train episodes x tasks), from each run's run.json."""
    columns = ["scenario", "agent", "seed", "train_steps", "train_s", "eval_s"]
    rows, steps = [], {}
    for stage in ("train", "tmax"):
        for meta in sorted(out_dir.glob(f"*/runs/*/{stage}/*/seed=*/run.json")):
            run = json.loads(meta.read_text())
            unit = (meta.parents[5].name, run["agent"], int(run["seed"]))
            rows.append({"unit": unit, "stage": stage, "wall_s": float(run["wall_s"])})
            if stage == "train":
                steps[unit] = int(run["params"]["train_episodes"]) * int(
                    run["env_config"]["n_tasks"]
                )
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).pivot_table(index="unit", columns="stage", values="wall_s")
    table = table.rename(columns={"train": "train_s", "tmax": "eval_s"})
    table["train_steps"] = [steps.get(unit, 0) for unit in table.index]
    table["scenario"], table["agent"], table["seed"] = zip(*table.index, strict=True)
    return table.reset_index(drop=True).reindex(columns=columns)


#: Where the suite keeps copies of the scenario files it was given (``<out_dir>/<this>/env/``),
#: a folder Hydra's ``env=`` group searches besides the shipped scenarios.
SCENARIO_FILES_DIR = "scenario_files"


def scenario_files(scenarios: list[str], out_dir: Path) -> tuple[list[str], tuple[str, ...]]:
    """Resolve ``--scenarios``: shipped names stay; a path ending in ``.yaml``/``.yml`` is a
    scenario file, checked, copied to ``<out_dir>/scenario_files/env/<stem>.yaml`` and named by
    its stem (its runs go to ``<out_dir>/<stem>/``).

    :return: the scenario names, and the Hydra override that lets ``env=<stem>`` find the copies
        (none when every scenario is shipped).
    :raises ValueError: on an unknown name, a file that is not a valid scenario (naming the file
        and the field), a file whose stem is a shipped scenario's, or two files with one stem.
    """
    shipped = available_scenarios()
    names: list[str] = []
    files: dict[str, str] = {}
    for scenario in scenarios:
        if not scenario.endswith((".yaml", ".yml")):
            if scenario not in shipped:
                raise ValueError(
                    f"unknown scenario {scenario!r}: allowed {shipped} or the path of a "
                    "scenario YAML file"
                )
            names.append(scenario)
            continue
        path = Path(scenario)
        try:
            load_scenario(path)  # every field checked before any run
        except ConfigError as err:
            raise ValueError(f"--scenarios: {err}") from None
        stem = path.stem
        if stem in shipped:
            raise ValueError(
                f"--scenarios {scenario}: its name {stem!r} is a shipped scenario's; rename "
                "the file (runs are filed under the file's name)"
            )
        text = path.read_text()
        if files.get(stem, text) != text:
            raise ValueError(f"--scenarios: two different files named {stem!r}")
        files[stem] = text
        names.append(stem)
    if not files:
        return names, ()
    search_dir = (out_dir / SCENARIO_FILES_DIR).resolve()
    for stem, text in files.items():
        atomic_write_text(search_dir / "env" / f"{stem}.yaml", text)
    # Replaces conf/config.yaml's list, so the shipped scenarios' package stays on it.
    return names, (f"hydra.searchpath=[file://{search_dir},pkg://cloudedge.scenarios]",)


def units_of(scenarios: Iterable[str], agents: Iterable[str], seeds: Iterable[int]) -> list[Unit]:
    """Every (scenario, agent, seed), seed-major: a suite stopped early has whole seeds."""
    return [(sc, ag, se) for se in seeds for ag in agents for sc in scenarios]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smoke-test budget")
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--agents", nargs="*", default=None)
    parser.add_argument("--scenarios", nargs="*", default=list(SUITE_SCENARIOS))
    parser.add_argument(
        "--scenario-index",
        type=int,
        default=None,
        help="run only the i-th (0-based) of --scenarios: one scenario per cluster array task "
        "(e.g. --scenario-index $SLURM_ARRAY_TASK_ID)",
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=None)
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes (>= 1; 1 runs in this process)"
    )
    parser.add_argument(
        "--train-env-steps",
        type=int,
        default=None,
        help="each learner's environment steps per scenario (>= 1; default: train_env_steps "
        "of conf/experiment/suite.yaml)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Hydra override applied to every run (repeatable), e.g. "
        "agent.imagined_routing=fill with --agents aif; give each variant its own --out-dir, "
        "since scoring reads every run of a (scenario, agent, seed) found there",
    )
    parser.add_argument(
        "--collect-only",
        action="store_true",
        help="run nothing: score the runs already in --out-dir (every unit asked must be there)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs = {args.jobs}: allowed >= 1")
    for override in args.override:
        if "=" not in override or override.startswith("="):
            parser.error(f"--override = {override!r}: allowed KEY=VALUE (a Hydra override)")
    if args.train_env_steps is not None and args.train_env_steps < 1:
        parser.error(f"--train-env-steps = {args.train_env_steps}: allowed >= 1")
    if args.scenario_index is not None:
        if not 0 <= args.scenario_index < len(args.scenarios):
            parser.error(
                f"--scenario-index = {args.scenario_index}: allowed 0..{len(args.scenarios) - 1} "
                f"(the positions in --scenarios: {args.scenarios})"
            )
        args.scenarios = [args.scenarios[args.scenario_index]]
    steps = args.train_env_steps or default_train_env_steps(args.quick)
    out_dir = args.out_dir or ROOT / "outputs" / ("suite_quick" if args.quick else "suite")
    agents = args.agents or (list(QUICK_AGENTS) if args.quick else all_agents())
    unknown_agents = sorted(set(agents) - set(agent_names()))
    if unknown_agents:
        parser.error(f"unknown agent(s) {unknown_agents}: allowed {agent_names()}")
    seeds = args.seeds if args.seeds is not None else ([0, 1] if args.quick else [0, 1, 2, 3, 4])
    try:
        args.scenarios, scenario_overrides = scenario_files(args.scenarios, out_dir)
    except ValueError as err:
        parser.error(str(err))
    started = time.perf_counter()
    try:
        units = units_of(args.scenarios, agents, seeds)
        failed: dict[Unit, str] = {}
        if not args.collect_only:
            failed = run_units(
                units,
                out_dir,
                args.quick,
                args.jobs,
                train_env_steps=steps,
                overrides=(*scenario_overrides, *args.override),
            )
    except BenchError as err:
        print(f"suite: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if failed:
        for unit, error in failed.items():
            print(f"suite: run {unit} failed:\n{error}", file=sys.stderr)
        print(f"suite: {len(failed)} of {len(units)} runs failed (above); nothing scored",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(1)
    scores = collect(out_dir, units)
    scored = {(r.scenario, r.agent, r.seed) for r in scores.itertuples()} if len(scores) else set()
    missing = sorted(set(units) - scored)
    if missing:
        print(f"suite: error: {len(missing)} run(s) not in {out_dir}, e.g. {missing[:3]}",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2)
    # Atomic: array tasks of one cluster job share out_dir and finish at the same time.
    atomic_write_text(out_dir / "scores.csv", scores.to_csv(index=False))
    atomic_write_text(out_dir / "wall_times.csv", wall_times(out_dir).to_csv(index=False))
    wall = time.perf_counter() - started
    record = {
        "wall_s": round(wall, 1),
        "jobs": args.jobs,
        "cpus": os.cpu_count(),
        "train_env_steps": steps,
        "seeds": seeds,
        "agents": agents,
        "scenarios": args.scenarios,
        "quick": args.quick,
        "overrides": args.override,
    }
    if not args.collect_only:  # the record of the invocation that ran the units
        atomic_write_text(out_dir / "suite.json", json.dumps(record, indent=2) + "\n")
    print(f"suite: {len(scores)} runs scored -> {out_dir / 'scores.csv'} ({wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
