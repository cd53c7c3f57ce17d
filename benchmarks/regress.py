"""Benchmark regression: a fixed-seed reduced benchmark compared with committed references.

``python -m benchmarks.regress check`` (``make regress``) runs every agent on the paper
scenario (a short training, then a few t_max and load points), reduces each run to a handful
of metrics and compares them with ``results/reference/regression.csv`` within the bands of
``results/reference/tolerances.csv``. It prints one row per (agent, metric) and a closing
``N passed, M failed`` line, and exits non-zero on any failure.

``python -m benchmarks.regress update`` (``make regress-update``) rewrites the references
from a fresh run and prints what moved; ``calibrate`` re-derives the bands from the spread of
the learning agents over several seeds.

Runs are ordinary harness runs (``benchmarks.harness``) in a scratch folder, so the CSVs can
be inspected after a failure.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmarks.harness import BenchError, atomic_write_text, execute, validate
from cloudedge.config import scenario_path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "reference" / "regression.csv"
TOLERANCES = ROOT / "results" / "reference" / "tolerances.csv"
LEARNERS = ("aif", "ppo", "sac", "qrdqn", "rainbow", "gpnfsp")

#: The reduced protocol: short enough for CI, long enough to move when the simulator does.
PROTOCOL: dict[str, Any] = {
    "train_episodes": 4,
    "train_t_max_s": 15.0,
    "train_n_tasks": 100,
    "bound_every": 0,
    "eval_episodes": 1,
    "eval_seed_base": 1_000_000,
    "eval_bound": False,
}
POINTS: dict[str, dict[str, list[Any]]] = {
    "tmax": {"t_max_values_s": [2.0, 5.0, 15.0], "n_tasks_values": [100]},
    "load": {"t_max_values_s": [15.0], "n_tasks_values": [150, 200]},
}
METRICS = ("sum_reward", "completion_rate", "avg_pass_at_100")


def agent_configs(names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """The agent configs of ``conf/agent`` (all, or ``names``)."""
    paths = sorted((ROOT / "conf" / "agent").glob("*.yaml"))
    configs = {p.stem: yaml.safe_load(p.read_text()) for p in paths}
    if names:
        unknown = sorted(set(names) - set(configs))
        if unknown:
            raise BenchError(f"unknown agent(s) {unknown}: allowed {sorted(configs)}")
        configs = {n: configs[n] for n in names}
    return configs


def run_benchmark(
    out_dir: Path,
    agents: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, Any],
    seed: int = 0,
    log: Any = print,
) -> pd.DataFrame:
    """Run the reduced protocol; return one row per (agent, metric) with its value."""
    rows = []
    for name, agent in agents.items():
        frames = {}
        for experiment in ("train", "tmax", "load"):
            params = {**PROTOCOL, "name": experiment, **POINTS.get(experiment, {})}
            params.setdefault("t_max_values_s", [15.0])
            params.setdefault("n_tasks_values", [100])
            spec = validate(params, name, agent, env, seed, out_dir)
            frames[experiment] = pd.read_csv(execute(spec, log=lambda _m: None))
        log(f"  ran {name}")
        rows += reduce_runs(name, frames)
    return pd.DataFrame(rows, columns=["agent", "metric", "value"])


def reduce_runs(agent: str, frames: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """The compared numbers: training means, and each t_max / load point's metrics."""
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
        env.update(yaml.safe_load(Path(path).read_text()) or {})
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "update", "calibrate"))
    parser.add_argument("--agents", default=None, help="comma-separated (default: all)")
    parser.add_argument("--env-override", action="append", default=[],
                        help="YAML file of scenario keys replacing the paper's")  # fmt: skip
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--tolerances", type=Path, default=TOLERANCES)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--seeds", type=int, default=3, help="calibrate: seeds per learner")
    args = parser.parse_args(argv)
    names = args.agents.split(",") if args.agents else None
    import torch

    torch.set_num_threads(1)  # as the harness runs: one thread per run, reproducible
    try:
        agents = agent_configs(names)
        env = _env(args.env_override)
        with tempfile.TemporaryDirectory(prefix="regress-") as tmp:
            work = args.work_dir or Path(tmp)
            if args.command == "calibrate":
                return calibrate(work, agents, env, args.seeds, args.tolerances)
            print(f"regress: running {len(agents)} agents (reduced protocol) in {work}")
            now = run_benchmark(work, agents, env)
    except BenchError as err:
        print(f"regress: error: {err}", file=sys.stderr)
        return 2
    if args.command == "update":
        return update(now, args.reference, names)
    if not args.reference.exists():
        print(
            f"regress: error: no references at {args.reference}; run make regress-update",
            file=sys.stderr,
        )
        return 2
    verdicts = compare(pd.read_csv(args.reference), now, load_bands(args.tolerances), names)
    print(render(verdicts))
    return 0 if (verdicts["verdict"] == "pass").all() else 1


def update(now: pd.DataFrame, path: Path, names: Sequence[str] | None) -> int:
    """Rewrite the references (only ``names``' rows when given) and print what moved."""
    if path.exists():
        old = pd.read_csv(path)
        moved = compare(old, now, {}, names)
        changed = moved[moved["verdict"] != "pass"]
        print(render(changed) if len(changed) else "nothing moved")
        if names:
            now = pd.concat([old[~old["agent"].isin(names)], now], ignore_index=True)
    now = now.sort_values(["agent", "metric"], kind="stable")
    atomic_write_text(path, now.to_csv(index=False, float_format="%.17g"))
    print(f"wrote {path} ({len(now)} rows)")
    return 0


def calibrate(
    work: Path,
    agents: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, Any],
    seeds: int,
    path: Path,
) -> int:
    """Bands from data: heuristics and the simulator are deterministic (exact band, 1e-9
    relative for float formatting); each learner's band is 3 standard deviations of each
    metric kind over ``seeds`` training seeds (at least 0.01 absolute), which covers the
    run-to-run float differences between machines with a wide margin."""
    rows = []
    for name, agent in agents.items():
        if name not in LEARNERS:
            continue
        frames = [run_benchmark(work / f"seed{s}", {name: agent}, env, seed=s) for s in
                  range(seeds)]  # fmt: skip
        values = pd.concat(frames)
        values["kind"] = values["metric"].str.rsplit("/", n=1).str[-1]
        spread = values.groupby(["kind", "metric"])["value"].std().groupby("kind").max()
        for kind, std in spread.items():
            rows.append({"agent": name, "metric": kind, "abs_tol": max(0.01, 3 * float(std)),
                         "rel_tol": 0.0})  # fmt: skip
    header = [
        "# Tolerance bands of `make regress`: |now - ref| <= abs_tol + rel_tol * |ref|.",
        "# Written by `python -m benchmarks.regress calibrate` (see calibrate() for how).",
        "# '*' rows: heuristics and the simulator are deterministic on one machine, so their",
        "# band is exact up to float formatting.",
    ]
    kept = []
    if path.exists():  # keep the bands of learners not recalibrated now
        old = pd.read_csv(path, comment="#")
        kept = old[(old["agent"] != "*") & ~old["agent"].isin(list(agents))].to_dict("records")
    frame = pd.DataFrame([{"agent": "*", "metric": "*", "abs_tol": 0.0, "rel_tol": 1e-9},
                          *kept, *rows])  # fmt: skip
    atomic_write_text(path, "\n".join(header) + "\n" + frame.to_csv(index=False))
    print(f"wrote {path}:\n{frame.to_string(index=False)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
