"""Benchmark regression: a reduced benchmark compared with committed references.

``python -m benchmarks.regress check`` (``make regress``) runs every agent of ``conf/agent`` on
the paper scenario and compares what it measures with ``results/reference/regression.csv``
within the bands of ``results/reference/tolerances.csv``. It prints one row per (agent,
metric) and a closing ``N passed, M failed`` line, and exits 1 on any failure.

Two kinds of agent, told apart by ``agents.base.agent_capabilities(config).learns``:

- **Heuristics** (no learning, numpy only) run one seed of a short train + t_max + load
  protocol; their numbers are exact on any host, so every (point, metric) is compared
  exactly (up to float formatting).
- **Learners** train ``LEARNER_SEEDS`` seeds at their budget; the compared number is the
  interquartile mean over those seeds of each seed's final training reward (the mean sum
  reward of the last ``FINAL_FRACTION`` of its episodes). On the reference host the check
  reproduces it bit for bit; on another host PyTorch kernels round differently and a run
  drifts like a reseeded one, so each learner's band is what swapping the check's seeds for
  others moves that IQM by (``calibrate``: the 99th percentile of the difference between two
  IQMs of ``len(LEARNER_SEEDS)`` seeds bootstrapped from ``CALIBRATION_SEEDS`` seeds), and
  never more than ``MAX_REL_TOL`` of the reference, so a 10% drop always fails.

References per host: a learner's row in ``regression.csv`` may name a ``host``
(:func:`host_fingerprint`: CPU vendor, family, model and PyTorch's kernel level); on that host
the check compares with that row. A host without rows of its own takes those of a measured
host of its kin (:func:`host_kin`: the same vendor and kernel level, another model), else the
rows without a host. Measured hosts then check their learners bit for bit (two hosts that run
the same code differ: between an AMD EPYC and an Intel Xeon, QR-DQN's check moved by 9.8%,
just outside its capped band), and an unmeasured host gets the band. Kin first because a
learner's arithmetic follows the kernels MKL and PyTorch dispatch to, chosen by vendor and
instruction set; whether two models of one kin agree bit for bit is not measured, but where
they do not, the kin's row is as good a reference as the generic one (both are draws of the
same seed-to-seed spread), so the fallback never costs and may spare a false failure.

``update`` (``make regress-update``) rewrites the references from a fresh run and prints what
moved (the updated agents' rows of other hosts are dropped: they measured the old code;
``--this-host`` writes the learners' rows of this host instead, beside the others);
``calibrate`` runs ``CALIBRATION_SEEDS`` seeds per learner and rewrites the learners'
bands, references and ``results/reference/seeds.csv`` (the per-seed values). Runs are
ordinary harness runs (``benchmarks.harness``) in a scratch folder (``--work-dir`` keeps them).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from agents.base import agent_capabilities
from benchmarks.config import agent_configs as all_agent_configs
from benchmarks.config import regress_protocol
from benchmarks.harness import BenchError, atomic_write_text, execute, validate
from benchmarks.speed import cpu_fields
from cloudedge.config import scenario_path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "reference" / "regression.csv"
TOLERANCES = ROOT / "results" / "reference" / "tolerances.csv"
SEEDS = ROOT / "results" / "reference" / "seeds.csv"

# -- The check's protocol ------------------------------------------------------------------------
#: Heuristics run the short train + t_max + load protocol of conf/experiment/regress_*.yaml
#: (its one source, :func:`benchmarks.config.regress_protocol`): a short training (they do not
#: learn; it exercises the loop) and a few t_max and load points, one evaluation episode each.
#: Learners run regress_train.yaml with the training budget below.
METRICS = ("sum_reward", "completion_rate", "avg_pass_at_100")
#: Learners: training episodes at the paper point (t_max 15 s, 100 tasks). 40 is where every
#: learner that learns within the committed 100-episode runs has moved well clear of its
#: initial level (results/train.csv: PPO 17 -> 24, Rainbow 13 -> 21, QR-DQN 16 -> 21), so a
#: learner with learning rate 0 falls outside its band. SAC too: it leaves its initial level
#: only after ~30 episodes (final level, IQM of seeds 0-2, trained vs learning rate 0: 16.59 vs
#: 16.86 at 10 episodes, 17.03 vs 17.48 at 20, 17.18 vs 17.22 at 30, 20.12 vs 17.06 at 40), so
#: 40 is the smallest budget of these at which a learning rate of 0 is caught.
LEARNER_TRAIN_EPISODES = 40
#: Per-agent budgets where 40 episodes would cost too much (a budget, not a classification):
#: AIF takes ~6 s per episode (its planner) and is near its final level after its 3 random
#: seed episodes and 5 planned ones.
LEARNER_TRAIN_EPISODES_BY_AGENT: dict[str, int] = {"aif": 8}
#: Learners a learning rate of 0 is not caught for at their budget above, with why (measured:
#: ``pytest tests/benchmarks/test_regress.py -k degraded``, whose strict xfail fails the day one
#: is caught). None today.
UNCAUGHT_AT_BUDGET: dict[str, str] = {}
#: The training seeds the check runs per learner (each a full training at the budget above).
LEARNER_SEEDS: tuple[int, ...] = (0, 1, 2)
#: Seeds per learner that ``calibrate`` runs to measure the spread the bands come from.
CALIBRATION_SEEDS = 5
#: A learner's final level: the mean sum reward of this last fraction of its episodes.
FINAL_FRACTION = 0.25
#: Band limits, relative to the reference: never wider than 10% (the drop the check must catch;
#: kept just under it so an exact 10% drop fails), never narrower than 0.5% (float drift).
MAX_REL_TOL = 0.095
MIN_REL_TOL = 0.005
#: Bootstrap of the bands: resamples and the quantile of |IQM difference| they keep.
BAND_RESAMPLES = 20_000
BAND_QUANTILE = 0.99
# ------------------------------------------------------------------------------------------------


def agent_configs(
    names: Sequence[str] | None = None, extra_config_dirs: Sequence[Path] = ()
) -> dict[str, dict[str, Any]]:
    """The agent configs of ``conf/agent`` and of each extra folder's ``agent/`` (all, or
    ``names``)."""
    configs = all_agent_configs(extra_config_dirs)
    if names:
        unknown = sorted(set(names) - set(configs))
        if unknown:
            raise BenchError(f"unknown agent(s) {unknown}: allowed {sorted(configs)}")
        configs = {n: configs[n] for n in names}
    return configs


def learns(config: Mapping[str, Any]) -> bool:
    """Whether the agent of ``config`` learns (its class's declared capabilities)."""
    return agent_capabilities(config).learns


def learner_episodes(name: str) -> int:
    """The training episodes the check gives learner ``name``."""
    return LEARNER_TRAIN_EPISODES_BY_AGENT.get(name, LEARNER_TRAIN_EPISODES)


def run_benchmark(
    out_dir: Path,
    agents: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, Any],
    seeds: Sequence[int] = LEARNER_SEEDS,
    log: Any = print,
) -> pd.DataFrame:
    """Run the check's protocol; return one row per (agent, seed, metric) with its value.

    Heuristics run seed 0 of the short protocol (``conf/experiment/regress_*.yaml``); learners
    run a training of :func:`learner_episodes` episodes for each of ``seeds``.
    """
    protocol = regress_protocol()
    rows = []
    for name, agent in agents.items():
        if learns(agent):
            for seed in seeds:
                params = dataclasses.replace(
                    protocol["train"], train_episodes=learner_episodes(name)
                )
                spec = validate(params, name, agent, env, seed, out_dir)
                train = pd.read_csv(
                    execute(spec, log=lambda _m: None), float_precision="round_trip"
                )
                rows.append({"agent": name, "seed": seed, "metric": "train_final/sum_reward",
                             "value": final_level(train["sum_reward"].to_numpy())})  # fmt: skip
            log(f"  ran {name} (seeds {list(seeds)}, {learner_episodes(name)} episodes)")
            continue
        frames = {}
        for experiment in ("train", "tmax", "load"):
            spec = validate(protocol[experiment], name, agent, env, 0, out_dir)
            frames[experiment] = pd.read_csv(
                execute(spec, log=lambda _m: None), float_precision="round_trip"
            )
        log(f"  ran {name}")
        rows += [{**row, "seed": 0} for row in reduce_runs(name, frames)]
    return pd.DataFrame(rows, columns=["agent", "seed", "metric", "value"])


def final_level(rewards: np.ndarray) -> float:
    """The mean of the last :data:`FINAL_FRACTION` of ``rewards`` (at least one episode)."""
    n = max(1, math.ceil(len(rewards) * FINAL_FRACTION))
    return float(np.mean(rewards[-n:]))


def iqm(values: np.ndarray) -> float:
    """Interquartile mean (25%-trimmed mean), as ``scripts/stats.py`` computes it."""
    return float(stats.trim_mean(np.asarray(values, dtype=float), 0.25))


def reduce_seeds(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One value per (agent, metric): the IQM over seeds (a heuristic has one seed)."""
    out = per_seed.groupby(["agent", "metric"], sort=False)["value"].agg(iqm).reset_index()
    return out[["agent", "metric", "value"]]


def reduce_runs(agent: str, frames: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """A heuristic's compared numbers: training means, each t_max / load point's metrics."""
    out = []
    train = frames["train"]
    for metric in METRICS:
        out.append({"agent": agent, "metric": f"train/{metric}", "value": train[metric].mean()})
    for experiment, column in (("tmax", "t_max_s"), ("load", "n_tasks")):
        for point, group in frames[experiment].groupby(column):
            for metric in METRICS:
                out.append({"agent": agent, "metric": f"{experiment}@{point:g}/{metric}",
                            "value": float(group[metric].mean())})  # fmt: skip
    return out


def learner_band(
    values: np.ndarray, reference: float, n_check: int, seed: int = 0
) -> tuple[Band, float]:
    """A learner's band from ``values`` (one per calibration seed), and the estimated chance
    that the check fails on another host.

    The band is the :data:`BAND_QUANTILE` quantile of |IQM(a) - IQM(b)| for two independent
    draws a, b of ``n_check`` seeds from ``values`` (what running the check's seeds on another
    host, which drifts like reseeding, moves the IQM by), clipped to [MIN_REL_TOL, MAX_REL_TOL]
    x |reference|; the chance is the fraction of those differences beyond the band (about
    1 - BAND_QUANTILE unless the clip binds). Deterministic (fixed bootstrap seed).
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(values, dtype=float)
    draws = x[rng.integers(0, x.size, size=(2, BAND_RESAMPLES, n_check))]
    diff = np.abs(stats.trim_mean(draws[0], 0.25, axis=1) - stats.trim_mean(draws[1], 0.25, axis=1))
    spread = float(np.quantile(diff, BAND_QUANTILE))
    low, high = MIN_REL_TOL * abs(reference), MAX_REL_TOL * abs(reference)
    band = Band(min(max(spread, low), high), 0.0)
    return band, float(np.mean(diff > band.abs_tol))


@dataclass(frozen=True)
class Band:
    """Allowed difference: ``|now - reference| <= abs_tol + rel_tol * |reference|``."""

    abs_tol: float
    rel_tol: float

    def allows(self, reference: float, now: float) -> bool:
        if math.isnan(reference) and math.isnan(now):
            return True
        return abs(now - reference) <= self.abs_tol + self.rel_tol * abs(reference)

    def __str__(self) -> str:
        return f"+/-({self.abs_tol:.3g} + {self.rel_tol:.3g}*|ref|)"


def host_fingerprint() -> str:
    """What sets a learner's arithmetic on this machine: CPU vendor, family and model (which
    kernels MKL dispatches to) and PyTorch's kernel level, e.g. ``GenuineIntel-6-207-AVX512``.
    """
    import platform

    import torch

    fields = cpu_fields()
    parts = [fields.get("vendor_id", platform.machine()), fields.get("cpu family", ""),
             fields.get("model", "")]  # fmt: skip
    return "-".join([*(p for p in parts if p), torch.backends.cpu.get_cpu_capability()])


def host_kin(host: str) -> str:
    """The part of a :func:`host_fingerprint` that picks the kernels: vendor and kernel level
    (``GenuineIntel-6-207-AVX512`` -> ``GenuineIntel-AVX512``; "" for "")."""
    parts = host.split("-")
    return "-".join([parts[0], parts[-1]]) if len(parts) > 1 else host


def reference_source(reference: pd.DataFrame, host: str) -> str:
    """Whose learner rows :func:`references_for` gives ``host``: ``host`` itself, the first
    (by name) measured host of its kin, or "" (the rows without a host)."""
    if "host" not in reference.columns:
        return ""
    hosts = sorted(set(reference["host"].fillna("").astype(str)) - {""})
    if host in hosts:
        return host
    kin = [h for h in hosts if host_kin(h) == host_kin(host)]
    return kin[0] if kin else ""


def references_for(reference: pd.DataFrame, host: str) -> pd.DataFrame:
    """The reference rows that apply on ``host``: per (agent, metric) the row of
    :func:`reference_source` if it has one, else the row without a host (``host`` column
    empty or absent)."""
    if "host" not in reference.columns:
        return reference
    hosts = reference["host"].fillna("").astype(str)
    source = reference_source(reference, host)
    own = reference[(hosts == source) & (hosts != "")]
    generic = reference[hosts == ""]
    covered = set(zip(own["agent"], own["metric"], strict=True))
    keep = [(a, m) not in covered for a, m in zip(generic["agent"], generic["metric"],
                                                  strict=True)]  # fmt: skip
    rows = pd.concat([generic[keep], own], ignore_index=True)
    return rows.drop(columns="host").sort_values(["agent", "metric"], kind="stable")


def load_bands(path: Path) -> dict[tuple[str, str], Band]:
    """``(agent, metric kind) -> Band``; ``*`` matches any agent, metric kinds are the part
    after the ``/`` (e.g. ``sum_reward``)."""
    frame = pd.read_csv(path, comment="#")
    return {(r.agent, r.metric): Band(float(r.abs_tol), float(r.rel_tol))
            for r in frame.itertuples()}  # fmt: skip


def band_for(bands: Mapping[tuple[str, str], Band], agent: str, metric: str) -> Band:
    kind = metric.rsplit("/", 1)[-1]
    for key in ((agent, kind), (agent, "*"), ("*", kind), ("*", "*")):
        if key in bands:
            return bands[key]
    return Band(0.0, 0.0)  # no band: exact


def compare(
    reference: pd.DataFrame,
    now: pd.DataFrame,
    bands: Mapping[tuple[str, str], Band],
    agents: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One verdict per (agent, metric): ``pass``, ``FAIL``, ``missing metric``,
    ``missing agent`` (in the reference, not run) or ``extra agent`` (run, not referenced).

    :param agents: restrict the check to these agents (others in the reference are skipped).
    """
    ref = reference if agents is None else reference[reference["agent"].isin(agents)]
    ref_agents, now_agents = set(ref["agent"]), set(now["agent"])
    now_values = {(r.agent, r.metric): float(r.value) for r in now.itertuples()}
    rows = []
    for r in ref.itertuples():
        reference_value = float(r.value)
        band = band_for(bands, r.agent, r.metric)
        if r.agent not in now_agents:
            verdict, value = "missing agent", math.nan
        elif (r.agent, r.metric) not in now_values:
            verdict, value = "missing metric", math.nan
        else:
            value = now_values[(r.agent, r.metric)]
            verdict = "pass" if band.allows(reference_value, value) else "FAIL"
        rows.append({"agent": r.agent, "metric": r.metric, "reference": reference_value,
                     "now": value, "band": str(band), "verdict": verdict})  # fmt: skip
    for agent in sorted(now_agents - ref_agents):
        rows.append({"agent": agent, "metric": "*", "reference": math.nan, "now": math.nan,
                     "band": "", "verdict": "extra agent"})  # fmt: skip
    return pd.DataFrame(rows, columns=["agent", "metric", "reference", "now", "band", "verdict"])


def render(verdicts: pd.DataFrame) -> str:
    """The table and the closing ``N passed, M failed`` line."""
    lines = [f"{'agent':<15} {'metric':<32} {'reference':>12} {'now':>12} {'band':<28} verdict"]
    for r in verdicts.itertuples():
        lines.append(f"{r.agent:<15} {r.metric:<32} {_num(r.reference):>12} {_num(r.now):>12} "
                     f"{r.band:<28} {r.verdict}")  # fmt: skip
    passed = int((verdicts["verdict"] == "pass").sum())
    lines.append(f"{passed} passed, {len(verdicts) - passed} failed")
    return "\n".join(lines)


def _num(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.6g}"


def _env(overrides: Sequence[str]) -> dict[str, Any]:
    env = yaml.safe_load(scenario_path("paper").read_text())
    for path in overrides:  # YAML files whose keys replace the paper scenario's
        env.update(_yaml_file(path, "--env-override"))
    return env


def _yaml_file(path: str | Path, option: str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{option} {path}: no such file")
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise BenchError(f"{option} {path}: allowed a YAML mapping, got {type(loaded).__name__}")
    return loaded


def _agent_overrides(
    agents: dict[str, dict[str, Any]], overrides: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Replace agents' configs by YAML files given as ``NAME=PATH`` (e.g. a degraded copy)."""
    for item in overrides:
        name, sep, path = item.partition("=")
        if not sep or name not in agents:
            raise BenchError(
                f"--agent-config {item!r}: allowed NAME=PATH with NAME one of {sorted(agents)}"
            )
        agents[name] = _yaml_file(path, "--agent-config")
    return agents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "update", "calibrate"))
    parser.add_argument("--agents", default=None, help="comma-separated (default: all)")
    parser.add_argument("--env-override", action="append", default=[],
                        help="YAML file of scenario keys replacing the paper's")  # fmt: skip
    parser.add_argument("--agent-config", action="append", default=[], metavar="NAME=PATH",
                        help="run agent NAME with the config in PATH instead of "
                             "conf/agent/NAME.yaml")  # fmt: skip
    parser.add_argument("--config-dir", type=Path, action="append", default=[],
                        help="also read agent configs from DIR/agent/ (as cloudedge-bench's "
                             "--config-dir)")  # fmt: skip
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--tolerances", type=Path, default=TOLERANCES)
    parser.add_argument("--seeds-file", type=Path, default=SEEDS,
                        help="calibrate: where the per-seed values go")  # fmt: skip
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--from-seeds", action="store_true",
                        help="calibrate: re-derive bands and references from --seeds-file "
                             "instead of running")  # fmt: skip
    parser.add_argument("--this-host", action="store_true",
                        help="update: write the learners' references of this host "
                             "(host_fingerprint) beside the others")  # fmt: skip
    args = parser.parse_args(argv)
    if args.this_host and args.command != "update":
        parser.error("--this-host: allowed with update only")
    names = args.agents.split(",") if args.agents else None
    import torch

    torch.set_num_threads(1)  # as the harness runs: one thread per run, reproducible
    try:
        agents = _agent_overrides(agent_configs(names, args.config_dir), args.agent_config)
        env = _env(args.env_override)
        with tempfile.TemporaryDirectory(prefix="regress-") as tmp:
            work = args.work_dir or Path(tmp)
            if args.command == "calibrate":
                return calibrate(work, agents, env, args)
            print(f"regress: running {len(agents)} agents (reduced protocol) in {work}")
            now = reduce_seeds(run_benchmark(work, agents, env))
    except BenchError as err:
        print(f"regress: error: {err}", file=sys.stderr)
        return 2
    host = host_fingerprint()
    if args.command == "update":
        if args.this_host:
            now = now[[learns(agents[a]) for a in now["agent"]]]
        return update(now, args.reference, names, host if args.this_host else "")
    if not args.reference.exists():
        print(
            f"regress: error: no references at {args.reference}; run make regress-update",
            file=sys.stderr,
        )
        return 2
    reference = pd.read_csv(args.reference, float_precision="round_trip", dtype={"host": str})
    source = reference_source(reference, host)
    if source == host:
        kind = "its own learner references"
    elif source:
        kind = f"the learner references of {source} (same vendor and kernel level)"
    else:
        kind = "no references of its own or of its kin: the bands apply"
    print(f"regress: host {host}: {kind}")
    verdicts = compare(references_for(reference, host), now, load_bands(args.tolerances), names)
    print(render(verdicts))
    return 0 if (verdicts["verdict"] == "pass").all() else 1


def update(now: pd.DataFrame, path: Path, names: Sequence[str] | None, host: str = "") -> int:
    """Rewrite the references of ``host`` ("": the rows without a host) for the agents in
    ``now`` (only ``names``' rows when given; all rows when neither ``names`` nor ``host``)
    and print what moved. A generic update drops those agents' rows of every other host: they
    measured the code as it was."""
    now = now.assign(host=host)
    if path.exists():
        old = pd.read_csv(path, float_precision="round_trip", dtype={"host": str})
        old["host"] = old["host"].fillna("") if "host" in old.columns else ""
        moved = compare(references_for(old, host), now.drop(columns="host"), {}, names)
        changed = moved[~moved["verdict"].isin(["pass", "missing agent"] if host else ["pass"])]
        print(render(changed) if len(changed) else "nothing moved")
        agents = set(now["agent"])
        if host:
            replaced = old["agent"].isin(agents) & (old["host"] == host)
        else:
            replaced = old["agent"].isin(agents) if names else pd.Series(True, index=old.index)
            dropped = old[replaced & (old["host"] != "")]
            for other, rows in dropped.groupby("host"):
                print(f"dropped the references of host {other} for "
                      f"{', '.join(sorted(set(rows['agent'])))}")  # fmt: skip
        now = pd.concat([old[~replaced], now], ignore_index=True)
    now = now.sort_values(["host", "agent", "metric"], kind="stable")
    atomic_write_text(path, now.to_csv(index=False, float_format="%.17g"))
    print(f"wrote {path} ({len(now)} rows)")
    return 0


def calibrate(
    work: Path,
    agents: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, Any],
    args: argparse.Namespace,
) -> int:
    """Run :data:`CALIBRATION_SEEDS` seeds of every learner in ``agents``; write their
    per-seed values (``--seeds-file``), their references (the IQM over the check's seeds)
    and their bands (:func:`learner_band`). Heuristics keep the exact band."""
    learners = {name: agent for name, agent in agents.items() if learns(agent)}
    if not learners:
        raise BenchError(f"calibrate: no learner among {sorted(agents)}")
    if args.from_seeds:  # re-derive the bands from the recorded per-seed values, no runs
        if not args.seeds_file.exists():
            raise BenchError(f"--from-seeds: no per-seed values at {args.seeds_file}")
        per_seed = pd.read_csv(args.seeds_file, float_precision="round_trip")
        per_seed = per_seed[per_seed["agent"].isin(list(learners))]
        missing = sorted(set(learners) - set(per_seed["agent"]))
        if missing:
            raise BenchError(f"--from-seeds: {args.seeds_file} has no values for {missing}")
    else:
        per_seed = run_benchmark(work, learners, env, seeds=range(CALIBRATION_SEEDS))
    rows = []
    for (name, metric), group in per_seed.groupby(["agent", "metric"], sort=False):
        check = group[group["seed"].isin(LEARNER_SEEDS)]["value"].to_numpy()
        reference = iqm(check)
        band, p_fail = learner_band(group["value"].to_numpy(), reference, len(LEARNER_SEEDS))
        capped = band.abs_tol >= MAX_REL_TOL * abs(reference) * (1 - 1e-12)
        if capped:
            print(f"regress: warning: {name} {metric}: the seed spread needs a band wider than "
                  f"{MAX_REL_TOL:.1%} of the reference; capped: an estimated {p_fail:.1%} of "
                  "checks on another host would fail (raise its budget or seeds)")  # fmt: skip
        rows.append({"agent": name, "metric": metric.rsplit("/", 1)[-1],
                     "abs_tol": band.abs_tol, "rel_tol": 0.0,
                     "rel_of_reference": band.abs_tol / abs(reference) if reference else math.nan,
                     "capped": capped, "p_fail_other_host": p_fail,
                     "n_seeds": int(group["seed"].nunique())})  # fmt: skip
    header = [
        "# Tolerance bands of `make regress`: |now - ref| <= abs_tol + rel_tol * |ref|.",
        "# Written by `python -m benchmarks.regress calibrate` (see learner_band() for how):",
        f"# learners: n_seeds seeds each (seeds.csv); the {BAND_QUANTILE:g} quantile of the",
        f"# difference between two IQMs of {len(LEARNER_SEEDS)} seeds bootstrapped from them,",
        f"# clipped to [{MIN_REL_TOL:g}, {MAX_REL_TOL:g}] x |reference| (capped = the clip bound);",
        "# p_fail_other_host: the bootstrap's chance that the check fails on another host.",
        "# '*' row: heuristics and the simulator are deterministic on any host (numpy only),",
        "# so their band is exact up to float formatting.",
    ]
    kept = []
    if args.tolerances.exists():  # keep the bands of learners not recalibrated now
        old = pd.read_csv(args.tolerances, comment="#")
        keep = (old["agent"] != "*") & ~old["agent"].isin(list(learners))
        kept = old[keep].to_dict("records")
    frame = pd.DataFrame([{"agent": "*", "metric": "*", "abs_tol": 0.0, "rel_tol": 1e-9,
                           "rel_of_reference": math.nan, "capped": False,
                           "p_fail_other_host": 0.0, "n_seeds": 1},
                          *kept, *rows])  # fmt: skip
    atomic_write_text(args.tolerances, "\n".join(header) + "\n" + frame.to_csv(index=False))
    print(f"wrote {args.tolerances}:\n{frame.to_string(index=False)}")
    old_seeds = (
        pd.read_csv(args.seeds_file, float_precision="round_trip")
        if args.seeds_file.exists()
        else per_seed.iloc[:0]
    )
    seeds = pd.concat([old_seeds[~old_seeds["agent"].isin(list(learners))], per_seed])
    atomic_write_text(args.seeds_file, seeds.to_csv(index=False, float_format="%.17g"))
    check = reduce_seeds(per_seed[per_seed["seed"].isin(LEARNER_SEEDS)])
    return update(check, args.reference, list(learners))


if __name__ == "__main__":
    raise SystemExit(main())
