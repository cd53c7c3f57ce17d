"""The benchmark protocol: one run (train, tmax or load) from a typed config.

Layout under ``out_dir`` (several machines can share nothing but this folder):

- ``runs/<env>-<env hash>/<experiment>/<agent>/seed=<s>/``: ``metrics.csv`` (tidy rows,
  :mod:`benchmarks.schema`) beside ``run.json`` (full config, keys, code version, row count
  and checksum of the CSV) and a ``.lock`` (:mod:`benchmarks.store`);
- ``policies/<env>-<env hash>/<agent>/seed=<s>/``: the trained policy and ``train_key``;
- ``bounds/<scenario key>/<episode seed>.json``: the clairvoyant bound of an episode, shared
  by every agent (it does not depend on the agent).

Keys hash what determines a result: the env, agent and experiment configs, the contents of the
trace and profile files the env reads, the package version and the source of the simulator
(``cloudedge/``) and of the agent (:func:`benchmarks.store.agent_sources`). A complete run
with this key is skipped; an incomplete one (killed, truncated, edited) is rerun and the log
says why; a run or policy with another key is never replaced unless ``replace=true``.
"""

from __future__ import annotations

import inspect
import json
import math
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import cloudedge
from agents import bound as bound_module
from agents.base import Agent, agent_class, evaluate_episode, make_agent
from agents.bound import episode_upper_bound
from benchmarks.config import CONFIG_DIR, BenchError, ExperimentConfig, experiment_from_mapping
from benchmarks.schema import METRICS, rows_to_csv
from benchmarks.store import (
    META_FILE,
    METRICS_FILE,
    agent_source_hash,
    atomic_folder,
    atomic_write_text,
    check_writable,
    digest,
    file_sha256,
    read_meta,
    run_lock,
    run_status,
    simulator_source_hash,
    text_sha256,
)
from cloudedge.config import (
    ConfigError,
    ScenarioConfig,
    available_scenarios,
    scenario_from_dict,
    scenario_path,
)
from cloudedge.env import CloudEdgeEnv
from cloudedge.profiles import available_profiles
from cloudedge.trace import default_azure_code_trace_path
from cloudedge.workload import load_workload

#: Training episode e of seed s uses env seed ``TRAIN_SEED_STRIDE * s + e``.
TRAIN_SEED_STRIDE = 1000
#: How an agent acts when evaluated, unless it says otherwise (``eval_mode`` attribute).
DEFAULT_EVAL_MODE = "greedy"


@dataclass(frozen=True)
class RunSpec:
    """A validated run.

    :param experiment: the typed experiment (``name`` is ``train``, ``tmax`` or ``load``).
    :param agent_name: the agent's config name.
    :param agent_config: its config (``_target_`` and parameters).
    :param env_config: the scenario as a plain dict.
    :param seed: training seed.
    :param out_dir: output folder (absolute).
    :param replace: replace a run or policy written with another key.
    :param code: the code version in the keys (package version, source hashes).
    :param inputs: SHA-256 of each input file (trace, profiles) the env reads, by its
        absolute path (recorded in ``run.json``; the keys take only the digests, so that a
        checkout elsewhere, or another machine, finds and resumes the same runs).
    :param experiment_choice: the experiment file it came from (``tmax_quick``), for hints.
    :param overrides: the command-line overrides it came from, for hints.
    """

    experiment: ExperimentConfig
    agent_name: str
    agent_config: dict[str, Any]
    env_config: dict[str, Any]
    seed: int
    out_dir: Path
    replace: bool = False
    code: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    experiment_choice: str | None = None
    overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``train``, ``tmax`` or ``load``."""
        return self.experiment.name

    @cached_property
    def env_scenario(self) -> ScenarioConfig:
        """The env as given, before the experiment's training overrides."""
        return scenario_from_dict(self.env_config)

    @cached_property
    def train_scenario(self) -> ScenarioConfig:
        """The env the agent trains (and is built) on."""
        overrides: dict[str, Any] = {}
        if self.experiment.train_t_max_s is not None:
            overrides["t_max_s"] = self.experiment.train_t_max_s
        if self.experiment.train_n_tasks is not None:
            overrides["n_tasks"] = self.experiment.train_n_tasks
        return scenario_from_dict({**self.env_config, **overrides})

    @cached_property
    def env_dir_name(self) -> str:
        """The env's folder: its name and a hash of its config, so that runs on different envs
        (or one env with other values) in one ``out_dir`` never collide."""
        return f"{self.env_scenario.name}-{digest(self.env_config)[:8]}"

    @property
    def input_digests(self) -> list[str]:
        """The input files' SHA-256s, sorted: what the keys take of them. Contents, not paths:
        the shipped trace lies inside the checkout, and which file plays which part is in
        ``env_config`` already."""
        return sorted(self.inputs.values())

    @cached_property
    def train_key(self) -> str:
        """Names the trained policy: scenario, input files, agent, code, budget and seed."""
        return digest(
            {
                "env": self.env_config,
                "inputs": self.input_digests,
                "agent": self.agent_config,
                "code": self.code,
                "seed": self.seed,
                "train": self.experiment.train_settings,
            }
        )

    @cached_property
    def run_key(self) -> str:
        """Names the run's results: a train run by what it trains and how often it bounds,
        an evaluation run by the policy and every evaluation setting."""
        relevant: Any = self.experiment.as_dict()
        if self.name == "train":
            relevant = {"bound_every": self.experiment.bound_every}
        return digest(
            {
                "train": self.train_key,
                "experiment": self.name,
                "params": relevant,
                "agent_name": self.agent_name,
            }
        )

    @property
    def run_dir(self) -> Path:
        return (
            self.out_dir
            / "runs"
            / self.env_dir_name
            / self.name
            / self.agent_name
            / (f"seed={self.seed}")
        )

    @property
    def policy_dir(self) -> Path:
        return self.out_dir / "policies" / self.env_dir_name / self.agent_name / f"seed={self.seed}"

    @property
    def bounds_dir(self) -> Path:
        return self.out_dir / "bounds"

    def train_command(self, replace: bool = False) -> str:
        """A command that, pasted in a shell, trains the policy this run needs: the same
        experiment family (``tmax_quick`` -> ``train_quick``), ``out_dir`` and overrides."""
        choice = self.experiment_choice or self.name
        family = choice.replace(self.name, "train", 1)
        args = [f"experiment={family}"]
        if not (CONFIG_DIR / "experiment" / f"{family}.yaml").exists():
            args = ["experiment=train"] + [
                f"experiment.{k}={'null' if v is None else v}"
                for k, v in self.experiment.train_settings.items()
            ]
        set_here = ("experiment", "out_dir", "agent", "seed", "replace")
        kept = [o for o in self.overrides if o.split("=", 1)[0].lstrip("+~") not in set_here]
        args += [f"agent={self.agent_name}", f"seed={self.seed}", f"out_dir={self.out_dir}"]
        args += kept + (["replace=true"] if replace else [])
        return "cloudedge-bench " + " ".join(shlex.quote(a) for a in args)


def recorded_spec(run_json: Path, out_dir: Path) -> tuple[dict[str, Any], RunSpec]:
    """A finished run's ``run.json`` and the :class:`RunSpec` it records (experiment, agent,
    env, seed) under ``out_dir``: its policy folder and scenarios, to replay what it played."""
    meta = json.loads(Path(run_json).read_text())
    spec = RunSpec(
        experiment=experiment_from_mapping(meta["params"]),
        agent_name=meta["agent"],
        agent_config=meta["agent_config"],
        env_config=meta["env_config"],
        seed=int(meta["seed"]),
        out_dir=out_dir,
    )
    return meta, spec


def input_files(scenario: ScenarioConfig) -> list[Path]:
    """The data files the env reads besides the package's code: the trace (``azure_trace``)
    and every server's profile CSV given by path."""
    files = []
    workload = scenario.workload
    if workload.source == "azure_trace":
        files.append(Path(workload.trace_path or default_azure_code_trace_path()))
    shipped = set(available_profiles())
    for server in scenario.servers:
        name = server.compute_profile
        if name not in scenario.compute_profiles and name not in shipped and Path(name).is_file():
            files.append(Path(name))
    return [p.resolve() for p in files]


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


def _scenario_file(env_config: Mapping[str, Any]) -> str:
    """`` (FILE)`` naming the shipped scenario YAML the env config came from, if any."""
    name = env_config.get("name")
    if isinstance(name, str) and name in available_scenarios():
        return f" ({scenario_path(name)}, with this run's overrides)"
    return ""


def validate(
    experiment: ExperimentConfig | Mapping[str, Any],
    agent_name: str,
    agent_config: Mapping[str, Any],
    env_config: Mapping[str, Any],
    seed: int,
    out_dir: str | Path,
    *,
    replace: bool = False,
    experiment_choice: str | None = None,
    overrides: Sequence[str] = (),
) -> RunSpec:
    """Check everything a run needs, before any work; raise :class:`BenchError` if not.

    Checks the experiment's ranges, the env (and its trace and profile files at every
    evaluated point), the agent's hyperparameters (by building it), that every folder the run
    writes is writable, that the policy an evaluation needs exists with this key, and that no
    result of another key would be replaced without ``replace``.
    """
    typed = experiment_from_mapping(experiment)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BenchError(f"seed = {seed!r}: allowed an integer >= 0")
    try:
        env_scenario = scenario_from_dict(env_config)
        spec0 = RunSpec(typed, agent_name, dict(agent_config), dict(env_config), seed, Path())
        scenario = spec0.train_scenario
        load_workload(scenario)  # a missing or malformed trace fails here, not mid-run
        for t in typed.t_max_values_s:
            scenario.replace(t_max_s=t)
        for n in typed.n_tasks_values:
            load_workload(scenario.replace(n_tasks=n))
        inputs = {str(p): file_sha256(p) for p in input_files(env_scenario)}
    except (ConfigError, ValueError, OSError) as err:
        raise BenchError(f"env{_scenario_file(env_config)}: {err}") from None
    try:
        cls = agent_class(agent_config.get("_target_"))
    except ValueError as err:
        raise BenchError(f"agent {agent_name}: {err}") from None
    code = {
        "version": cloudedge.__version__,
        "simulator": simulator_source_hash(),
        "agent": agent_source_hash(cls),
        # The rows carry the episode's upper bound: a changed bound makes the runs stale too.
        "bound": file_sha256(Path(bound_module.__file__)),
    }
    spec = RunSpec(
        typed,
        agent_name,
        dict(agent_config),
        dict(env_config),
        seed,
        Path(out_dir).resolve(),
        replace=bool(replace),
        code=code,
        inputs=inputs,
        experiment_choice=experiment_choice,
        overrides=tuple(overrides),
    )
    _check_agent(spec, scenario)
    writes = [spec.run_dir, spec.bounds_dir]
    if spec.name == "train":
        writes.append(spec.policy_dir.parent)
    check_writable(writes)
    _check_not_replacing(spec)
    if spec.name != "train":
        _check_policy(spec)
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
        raise BenchError(f"{err} (agent {spec.agent_name})") from None
    del agent


def _check_not_replacing(spec: RunSpec) -> None:
    """Refuse (before any work) to replace a result that another key wrote."""
    if spec.replace:
        return
    meta = read_meta(spec.run_dir)
    other = None if meta is None else meta.get("run_key")
    # Only a complete result is protected; a damaged or half-written one is rerun (and said so).
    if isinstance(other, str) and other != spec.run_key and run_status(spec.run_dir, other) is None:
        raise BenchError(
            f"{spec.run_dir / META_FILE} holds a run with another key ({other}; "
            f"this run's is {spec.run_key}): its config, code or input files differ. Pass "
            "replace=true to replace it, or use another out_dir"
        )
    key_file = spec.policy_dir / "train_key"
    if (
        spec.name == "train"
        and key_file.exists()
        and key_file.read_text().strip() != spec.train_key
    ):
        raise BenchError(
            f"{spec.policy_dir} holds a policy trained with another key (config, code or "
            "input files differ). Pass replace=true to replace it, or use another out_dir"
        )


def _check_policy(spec: RunSpec) -> None:
    key_file = spec.policy_dir / "train_key"
    if not key_file.exists():
        raise BenchError(
            f"no trained policy for agent={spec.agent_name} seed={spec.seed} at "
            f"{spec.policy_dir}; train it first: {spec.train_command()}"
        )
    if key_file.read_text().strip() != spec.train_key:
        raise BenchError(
            f"the policy at {spec.policy_dir} was trained with another config, code or input "
            f"files; retrain it: {spec.train_command(replace=True)}"
        )


def cached_bound(spec: RunSpec, scenario: ScenarioConfig, env_seed: int) -> float:
    """The episode's upper bound, computed once and shared by every agent and run."""
    # The bound's own source is in the key too: a refined bound never reads a coarser one.
    key = digest(
        {
            "scenario": scenario.to_dict(),
            "inputs": spec.input_digests,
            "code": spec.code["simulator"],
            "bound": spec.code["bound"],
        }
    )
    path = spec.bounds_dir / key / f"{env_seed}.json"
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
    eval_mode: str,
    episode: int,
    env_seed: int,
    scenario: ScenarioConfig,
    metrics: Mapping[str, float],
    bound: float,
    commit: str,
) -> dict[str, Any]:
    return {
        "experiment": spec.name,
        "env": spec.env_scenario.name,
        "agent": spec.agent_name,
        "eval_mode": eval_mode,
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
    """Run ``spec`` (or skip it when complete); return its metrics CSV path.

    Holds the run's lock while it works: a second process given the same run waits, then
    finds it complete and skips it.
    """
    csv_path = spec.run_dir / METRICS_FILE
    label = f"[{spec.name} {spec.agent_name} seed={spec.seed}]"

    def waiting(lock: Path) -> None:
        log(f"{label} another process is running this job ({lock}); waiting for it")

    with run_lock(spec.run_dir, on_wait=waiting):
        problem = run_status(spec.run_dir, spec.run_key)
        if problem is None and (spec.name != "train" or _policy_is_current(spec)):
            log(f"{label} complete, skipped ({csv_path})")
            return csv_path
        if (spec.run_dir / META_FILE).exists() or csv_path.exists():
            reason = problem or "its policy is missing or was replaced"
            log(f"{label} rerunning: the run in {spec.run_dir} is incomplete: {reason}")
        return _run(spec, csv_path, label, log)


def _policy_is_current(spec: RunSpec) -> bool:
    key_file = spec.policy_dir / "train_key"
    return key_file.exists() and key_file.read_text().strip() == spec.train_key


def _run(spec: RunSpec, csv_path: Path, label: str, log: Any) -> Path:
    # Whatever was here is incomplete or (with replace=true) another key's: a kill of this run
    # must not leave it looking complete.
    csv_path.unlink(missing_ok=True)
    (spec.run_dir / META_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    commit = git_commit()
    scenario = spec.train_scenario
    agent = make_agent(spec.agent_config, scenario, seed=spec.seed)
    eval_mode = str(getattr(agent, "eval_mode", DEFAULT_EVAL_MODE))
    if spec.name == "train":
        rows = _train(spec, agent, eval_mode, scenario, commit, label, log)
    else:
        agent.load(spec.policy_dir / "policy")
        rows = _evaluate(spec, agent, eval_mode, scenario, commit, label, log)
    if len(rows) != spec.experiment.n_rows:
        raise RuntimeError(f"{label} produced {len(rows)} rows, expected {spec.experiment.n_rows}")
    elapsed = time.perf_counter() - started
    text = rows_to_csv(rows)
    meta = {
        "run_key": spec.run_key,
        "train_key": spec.train_key,
        "experiment": spec.name,
        "env": spec.env_scenario.name,
        "agent": spec.agent_name,
        "seed": spec.seed,
        "n_rows": len(rows),
        "metrics_sha256": text_sha256(text),
        "agent_config": spec.agent_config,
        "env_config": spec.env_config,
        "params": spec.experiment.as_dict(),
        "code": spec.code,
        "inputs": spec.inputs,
        "version": cloudedge.__version__,
        "git_commit": commit,
        "python": sys.version.split()[0],
        "wall_s": round(elapsed, 3),
    }
    # metrics.csv last: with run.json's checksum it marks the run complete.
    atomic_write_text(spec.run_dir / META_FILE, json.dumps(meta, indent=2, default=str))
    atomic_write_text(csv_path, text)
    last = rows[-1]
    log(
        f"{label} done in {elapsed:.1f} s: last sum_reward {last['sum_reward']:.3f}, "
        f"completion {last['completion_rate']:.3f} -> {csv_path}"
    )
    return csv_path


def _train(
    spec: RunSpec,
    agent: Agent,
    eval_mode: str,
    scenario: ScenarioConfig,
    commit: str,
    label: str,
    log: Any,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    n_episodes = spec.experiment.train_episodes
    bound_every = spec.experiment.bound_every
    seed_base = TRAIN_SEED_STRIDE * spec.seed
    report_every = max(1, n_episodes // 10)

    def on_episode(episode: int, metrics: dict[str, float]) -> None:
        env_seed = seed_base + episode
        bound = math.nan
        if bound_every is not None and episode % bound_every == 0:
            bound = cached_bound(spec, scenario, env_seed)
        rows.append(_row(spec, eval_mode, episode, env_seed, scenario, metrics, bound, commit))
        if episode % report_every == 0 or episode == n_episodes - 1:
            log(
                f"{label} episode {episode + 1}/{n_episodes}: sum_reward "
                f"{metrics['sum_reward']:.3f}, completion {metrics['completion_rate']:.3f}"
            )

    agent.learn(CloudEdgeEnv(scenario), n_episodes, seed_base, on_episode=on_episode)
    if len(rows) != n_episodes:
        raise RuntimeError(f"{label} the agent reported {len(rows)} of {n_episodes} episodes")
    with atomic_folder(spec.policy_dir) as tmp:  # a kill leaves no half policy
        agent.save(tmp / "policy")
        atomic_write_text(tmp / "train_key", spec.train_key)
    return rows


def _evaluate(
    spec: RunSpec,
    agent: Agent,
    eval_mode: str,
    scenario: ScenarioConfig,
    commit: str,
    label: str,
    log: Any,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    experiment = spec.experiment
    grid = [(t, n) for t in experiment.t_max_values_s for n in experiment.n_tasks_values]
    for point, (t_max, n_tasks) in enumerate(grid):
        eval_scenario = scenario.replace(t_max_s=t_max, n_tasks=n_tasks)
        env = CloudEdgeEnv(eval_scenario)
        for k in range(experiment.eval_episodes):
            env_seed = experiment.eval_seed_base + k
            metrics = evaluate_episode(agent, env, env_seed)
            bound = (
                cached_bound(spec, eval_scenario, env_seed) if experiment.eval_bound else math.nan
            )
            rows.append(_row(spec, eval_mode, k, env_seed, eval_scenario, metrics, bound, commit))
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
