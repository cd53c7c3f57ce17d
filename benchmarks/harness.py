"""One benchmark run (train, tmax or load) from a resolved config: the harness's pure logic.

Layout under ``out_dir`` (several machines can share nothing but this folder, and their
``runs/`` merge by concatenating CSVs):

- ``runs/<experiment>/<agent>/seed=<s>/metrics.csv``: tidy rows, written atomically, beside
  ``run.json`` (full config, run key, version, git commit, wall time);
- ``policies/<agent>/seed=<s>/``: the trained policy and ``train_key`` naming its config;
- ``bounds/<scenario key>/<episode seed>.json``: the clairvoyant bound of an episode, shared
  by every agent (it does not depend on the agent).

A run whose ``metrics.csv`` exists with the same run key is complete and is skipped; a run that
was killed left no ``metrics.csv`` (files are written to a temporary name and renamed).
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudedge
from agents.base import Agent, agent_class, evaluate_episode, make_agent
from agents.bound import episode_upper_bound
from cloudedge.config import ConfigError, ScenarioConfig, scenario_from_dict
from cloudedge.env import CloudEdgeEnv
from cloudedge.workload import load_workload

METRICS = (
    "sum_reward",
    "completion_rate",
    "avg_latency_s",
    "avg_pass_at_100",
    "utility",
    "n_completed",
    "n_invalid_allocation",
    "n_out_of_memory",
    "n_deadline",
)
COLUMNS = (
    "experiment",
    "agent",
    "seed",
    "episode",
    "env_seed",
    "t_max_s",
    "n_tasks",
    *METRICS,
    "upper_bound",
    "run_key",
    "version",
    "git_commit",
)
TRAIN_SEED_STRIDE = 1000


class BenchError(Exception):
    """A problem with the request, reported as one line before any work starts."""


@dataclass(frozen=True)
class RunSpec:
    """A validated run.

    :param experiment: ``train``, ``tmax`` or ``load``.
    :param agent_name: the agent's config name.
    :param agent_config: its config (``_target_`` and parameters).
    :param env_config: the scenario as a plain dict.
    :param seed: training seed.
    :param params: the experiment's parameters.
    :param out_dir: output folder.
    """

    experiment: str
    agent_name: str
    agent_config: dict[str, Any]
    env_config: dict[str, Any]
    seed: int
    params: dict[str, Any]
    out_dir: Path

    @property
    def train_scenario(self) -> ScenarioConfig:
        overrides = {
            key: self.params[f"train_{key}"]
            for key in ("t_max_s", "n_tasks")
            if self.params.get(f"train_{key}") is not None  # null: the env's own value
        }
        return scenario_from_dict({**self.env_config, **overrides})

    @property
    def train_key(self) -> str:
        """Names the trained policy: scenario, agent, training budget and seed."""
        keep = ("train_episodes", "train_t_max_s", "train_n_tasks")
        return _digest(
            {
                "env": self.env_config,
                "agent": self.agent_config,
                "seed": self.seed,
                "train": {k: self.params[k] for k in keep},
            }
        )

    @property
    def run_key(self) -> str:
        """Names the run's results: a train run by what it trains and how often it bounds,
        an evaluation run by the policy and every evaluation setting."""
        relevant: Any = self.params
        if self.experiment == "train":
            relevant = {"bound_every": self.params["bound_every"]}
        return _digest(
            {
                "train": self.train_key,
                "experiment": self.experiment,
                "params": relevant,
                "agent_name": self.agent_name,
            }
        )

    @property
    def run_dir(self) -> Path:
        return self.out_dir / "runs" / self.experiment / self.agent_name / f"seed={self.seed}"

    @property
    def policy_dir(self) -> Path:
        return self.out_dir / "policies" / self.agent_name / f"seed={self.seed}"

    def train_command(self) -> str:
        return f"cloudedge-bench experiment=train agent={self.agent_name} seed={self.seed}"


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit() -> str:
    """The checkout's commit (``unknown`` outside git), recorded beside results."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, check=True, timeout=10,
            cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def validate(
    experiment: Mapping[str, Any],
    agent_name: str,
    agent_config: Mapping[str, Any],
    env_config: Mapping[str, Any],
    seed: int,
    out_dir: str | Path,
) -> RunSpec:
    """Check everything a run needs, before any work; raise :class:`BenchError` if not."""
    params = dict(experiment)
    name = params.pop("name", None)
    if name not in ("train", "tmax", "load"):
        raise BenchError(f"experiment.name = {name!r}: allowed 'train', 'tmax' or 'load'")
    if not isinstance(seed, int) or seed < 0:
        raise BenchError(f"seed = {seed!r}: allowed an integer >= 0")
    for key, low in (
        ("train_episodes", 1),
        ("train_n_tasks", 1),
        ("eval_episodes", 1),
        ("bound_every", 0),
        ("eval_seed_base", 0),
    ):
        if params[key] is not None and int(params[key]) < low:
            raise BenchError(f"experiment.{key} = {params[key]!r}: allowed >= {low}")
    if params["train_t_max_s"] is not None and not float(params["train_t_max_s"]) > 0:
        raise BenchError(f"experiment.train_t_max_s = {params['train_t_max_s']!r}: allowed > 0")
    if not params["t_max_values_s"] or any(not float(t) > 0 for t in params["t_max_values_s"]):
        raise BenchError(
            f"experiment.t_max_values_s = {list(params['t_max_values_s'])}: each allowed > 0"
        )
    if not params["n_tasks_values"] or any(int(n) < 1 for n in params["n_tasks_values"]):
        raise BenchError(
            f"experiment.n_tasks_values = {list(params['n_tasks_values'])}: each allowed >= 1"
        )
    params["t_max_values_s"] = [float(t) for t in params["t_max_values_s"]]
    params["n_tasks_values"] = [int(n) for n in params["n_tasks_values"]]
    spec = RunSpec(
        str(name),
        agent_name,
        dict(agent_config),
        dict(env_config),
        seed,
        params,
        Path(out_dir).resolve(),
    )
    try:
        scenario_from_dict(spec.env_config)  # the env as given, before experiment overrides
        scenario = spec.train_scenario
        load_workload(scenario)  # a missing or malformed trace fails here, not mid-run
        for t in params["t_max_values_s"]:
            scenario.replace(t_max_s=t)
        for n in params["n_tasks_values"]:
            load_workload(scenario.replace(n_tasks=n))
    except (ConfigError, ValueError, OSError) as err:
        raise BenchError(f"env: {err}") from None
    _check_agent(spec, scenario)
    check_writable(spec.out_dir)
    return spec


def _check_agent(spec: RunSpec, scenario: ScenarioConfig) -> None:
    target = spec.agent_config.get("_target_")
    try:
        agent = make_agent(spec.agent_config, scenario, seed=spec.seed)
    except TypeError as err:  # an unknown or missing parameter
        given = sorted(k for k in spec.agent_config if k not in ("_target_", "name"))
        raise BenchError(
            f"agent {spec.agent_name} ({target}): {err}; given {given}, "
            f"accepted {agent_accepts(spec.agent_config)}"
        ) from None
    except ValueError as err:
        raise BenchError(f"agent {spec.agent_name}: {err}") from None
    del agent


def check_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise BenchError(f"out_dir = {str(out_dir)!r} is not writable: {err.strerror}") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k, "")) for k in COLUMNS})
    return buffer.getvalue()


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def is_complete(spec: RunSpec) -> bool:
    """Its metrics.csv and run.json carry this run key (and, for a train run, the saved
    policy is still the one it trained)."""
    meta = spec.run_dir / "run.json"
    if not (spec.run_dir / "metrics.csv").exists() or not meta.exists():
        return False
    try:
        if json.loads(meta.read_text())["run_key"] != spec.run_key:
            return False
        with open(spec.run_dir / "metrics.csv", newline="") as handle:
            first = next(csv.DictReader(handle), None)
        if first is None or first.get("run_key") != spec.run_key:
            return False
    except (OSError, ValueError, KeyError):
        return False
    if spec.experiment == "train":
        key_file = spec.policy_dir / "train_key"
        return key_file.exists() and key_file.read_text().strip() == spec.train_key
    return True


def cached_bound(spec: RunSpec, scenario: ScenarioConfig, env_seed: int) -> float:
    """The episode's upper bound, computed once and shared by every agent and run."""
    key = _digest(scenario.to_dict())
    path = spec.out_dir / "bounds" / key / f"{env_seed}.json"
    if path.exists():
        try:
            return float(json.loads(path.read_text())["upper_bound"])
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    value = episode_upper_bound(scenario, env_seed).upper_bound
    atomic_write_text(path, json.dumps({"upper_bound": value}))
    return value


def _row(
    spec: RunSpec,
    episode: int,
    env_seed: int,
    scenario: ScenarioConfig,
    metrics: Mapping[str, float],
    bound: float,
    commit: str,
) -> dict[str, Any]:
    return {
        "experiment": spec.experiment,
        "agent": spec.agent_name,
        "seed": spec.seed,
        "episode": episode,
        "env_seed": env_seed,
        "t_max_s": scenario.t_max_s,
        "n_tasks": scenario.n_tasks,
        **{m: float(metrics[m]) for m in METRICS},
        "upper_bound": bound,
        "run_key": spec.run_key,
        "version": cloudedge.__version__,
        "git_commit": commit,
    }


def execute(spec: RunSpec, log: Any = print) -> Path:
    """Run ``spec`` (or skip it when complete); return its metrics CSV path."""
    csv_path = spec.run_dir / "metrics.csv"
    label = f"[{spec.experiment} {spec.agent_name} seed={spec.seed}]"
    if is_complete(spec):
        log(f"{label} complete, skipped ({csv_path})")
        return csv_path
    # A stale metrics.csv (another config's) must not survive a kill of this run.
    csv_path.unlink(missing_ok=True)
    started = time.perf_counter()
    commit = git_commit()
    scenario = spec.train_scenario
    agent = make_agent(spec.agent_config, scenario, seed=spec.seed)
    rows: list[dict[str, Any]] = []
    if spec.experiment == "train":
        rows = _train(spec, agent, scenario, commit, label, log)
    else:
        _load_policy(spec, agent)
        rows = _evaluate(spec, agent, scenario, commit, label, log)
    elapsed = time.perf_counter() - started
    meta = {
        "run_key": spec.run_key,
        "train_key": spec.train_key,
        "experiment": spec.experiment,
        "agent": spec.agent_name,
        "seed": spec.seed,
        "agent_config": spec.agent_config,
        "env": spec.env_config,
        "params": spec.params,
        "version": cloudedge.__version__,
        "git_commit": commit,
        "python": sys.version.split()[0],
        "wall_s": round(elapsed, 3),
    }
    # metrics.csv last: its presence (with this run.json) marks the run complete.
    atomic_write_text(spec.run_dir / "run.json", json.dumps(meta, indent=2, default=str))
    atomic_write_text(csv_path, rows_to_csv(rows))
    last = rows[-1]
    log(
        f"{label} done in {elapsed:.1f} s: last sum_reward {last['sum_reward']:.3f}, "
        f"completion {last['completion_rate']:.3f} -> {csv_path}"
    )
    return csv_path


def _train(
    spec: RunSpec, agent: Agent, scenario: ScenarioConfig, commit: str, label: str, log: Any
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n_episodes = int(spec.params["train_episodes"])
    bound_every = int(spec.params["bound_every"])
    seed_base = TRAIN_SEED_STRIDE * spec.seed
    report_every = max(1, n_episodes // 10)

    def on_episode(episode: int, metrics: dict[str, float]) -> None:
        env_seed = seed_base + episode
        bound = math.nan
        if bound_every and episode % bound_every == 0:
            bound = cached_bound(spec, scenario, env_seed)
        rows.append(_row(spec, episode, env_seed, scenario, metrics, bound, commit))
        if episode % report_every == 0 or episode == n_episodes - 1:
            log(
                f"{label} episode {episode + 1}/{n_episodes}: sum_reward "
                f"{metrics['sum_reward']:.3f}, completion {metrics['completion_rate']:.3f}"
            )

    agent.learn(CloudEdgeEnv(scenario), n_episodes, seed_base, on_episode=on_episode)
    if len(rows) != n_episodes:
        raise RuntimeError(f"{label} the agent reported {len(rows)} of {n_episodes} episodes")
    _save_policy(spec, agent)
    return rows


def _save_policy(spec: RunSpec, agent: Agent) -> None:
    """Save into a temporary folder, then swap it in, so a kill leaves no half policy."""
    final = spec.policy_dir
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        agent.save(tmp / "policy")
        (tmp / "train_key").write_text(spec.train_key)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load_policy(spec: RunSpec, agent: Agent) -> None:
    key_file = spec.policy_dir / "train_key"
    if not key_file.exists():
        raise BenchError(
            f"no trained policy for agent={spec.agent_name} seed={spec.seed} at "
            f"{spec.policy_dir}; run first: {spec.train_command()}"
        )
    if key_file.read_text().strip() != spec.train_key:
        raise BenchError(
            f"the policy at {spec.policy_dir} was trained with another config; "
            f"retrain it: {spec.train_command()} (with this run's env and experiment settings)"
        )
    agent.load(spec.policy_dir / "policy")


def _evaluate(
    spec: RunSpec, agent: Agent, scenario: ScenarioConfig, commit: str, label: str, log: Any
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    grid = [(t, n) for t in spec.params["t_max_values_s"] for n in spec.params["n_tasks_values"]]
    for point, (t_max, n_tasks) in enumerate(grid):
        eval_scenario = scenario.replace(t_max_s=t_max, n_tasks=n_tasks)
        env = CloudEdgeEnv(eval_scenario)
        for k in range(int(spec.params["eval_episodes"])):
            env_seed = int(spec.params["eval_seed_base"]) + k
            metrics = evaluate_episode(agent, env, env_seed)
            bound = (
                cached_bound(spec, eval_scenario, env_seed) if spec.params["eval_bound"]
                else math.nan
            )  # fmt: skip
            rows.append(_row(spec, k, env_seed, eval_scenario, metrics, bound, commit))
        log(
            f"{label} point {point + 1}/{len(grid)} (t_max {t_max:g} s, {n_tasks} tasks): "
            f"sum_reward {rows[-1]['sum_reward']:.3f}"
        )
    return rows


def agent_accepts(agent_config: Mapping[str, Any]) -> list[str]:
    """The parameter names an agent's constructor takes (for error messages and docs)."""
    try:
        cls = agent_class(agent_config.get("_target_"))
    except ValueError:
        return []
    return [p for p in inspect.signature(cls).parameters if p not in ("scenario", "seed")]
