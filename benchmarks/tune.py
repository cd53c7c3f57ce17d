"""Equal tuning effort (issue 16): one Optuna study per learner, the same trials for each.

``python -m benchmarks.tune study`` (``make tune``) runs, for every learner (or ``--agents``),
the tuning app (:mod:`benchmarks.tune_app`, ``hydra/sweeper=optuna``) with the learner's search
space (``conf/tune/<agent>.yaml``) and the same ``hydra.sweeper.n_trials`` (``conf/tuning.yaml``,
30), and writes the study into ``results/tuning/<agent>/`` (atomically, a finished study only):

- ``trials.csv``: every trial's number, sampled params, value, per-seed values and wall time;
- ``study.json``: the study's name, the best trial (params, value, its full agent config),
  the committed config's own value under the same protocol (``default``: one more run of the
  tuning app, outside Optuna's trials), which of the two is ``selected``, the search space,
  the protocol (tuning seeds, held-out episode seeds, budget, objective), the command that
  reruns it (``rerun``; ``command``: the tuning app's own), the wall time and the code version.

The tuned config is the selected one: the best trial, unless the committed config scored
higher on the tuning seeds (then tuning found nothing better, and the tuned config is the
committed one). ``python -m benchmarks.tune add-default AGENT`` adds the default's run to a
study finished without it.

``python -m benchmarks.tune write-config AGENT`` writes ``conf/agent/tuned/<agent>.yaml`` from a
finished study's ``study.json`` (never by hand): the best trial's agent config under a header
that names the study. ``--quick`` runs ``conf/tune_budget/quick.yaml`` (2 trials, 2 training
episodes, one seed) for tests and CI. Trials run in ``--work-dir`` (default
``outputs/tuning``), one folder per study.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from benchmarks.config import CONFIG_DIR, BenchError, agent_names
from benchmarks.protocol import git_commit
from benchmarks.store import atomic_write_text
from benchmarks.tune_app import TRIAL_FILE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "tuning"
TUNED = CONFIG_DIR / "agent" / "tuned"
WORK = Path("outputs") / "tuning"
STUDY_FILE = "study.json"
TRIALS_FILE = "trials.csv"


def tunable_agents() -> list[str]:
    """The learners that have a search space (``conf/tune/<agent>.yaml``)."""
    spaces = {p.stem for p in (CONFIG_DIR / "tune").glob("*.yaml")}
    return [name for name in agent_names(lambda c: c.learns) if name in spaces]


def study_command(
    agent: str, study_dir: Path, study_name: str, quick: bool, overrides: Sequence[str]
) -> list[str]:
    """The command that runs one learner's study (the tuning app in multirun mode)."""
    return [
        sys.executable, "-m", "benchmarks.tune_app",
        "-m", f"tune={agent}", f"tune_budget={'quick' if quick else 'full'}",
        f"out_dir={study_dir}",
        f"hydra.sweeper.study_name={study_name}", *overrides,
    ]  # fmt: skip


def collect(study_dir: Path) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """A finished study's trials (from each trial's ``trial.json``), Optuna's result
    (``optimization_results.yaml``) and the composed config (a trial's ``.hydra/``; the
    sweeper writes no ``multirun.yaml``)."""
    results = study_dir / "optimization_results.yaml"
    if not results.exists():
        raise BenchError(f"{study_dir}: no optimization_results.yaml: the study did not finish")
    records = [json.loads(p.read_text()) for p in sorted(study_dir.glob(f"*/{TRIAL_FILE}"))]
    if not records:
        raise BenchError(f"{study_dir}: no {TRIAL_FILE} of any trial")
    first = study_dir / f"trial={min(r['trial'] for r in records)}" / ".hydra"
    config = yaml.safe_load((first / "config.yaml").read_text())  # the same for every trial
    config["hydra"] = yaml.safe_load((first / "hydra.yaml").read_text())["hydra"]
    rows = []
    for r in sorted(records, key=lambda r: r["trial"]):
        params = dict(o.split("=", 1) for o in r["overrides"] if o.startswith("agent."))
        rows.append({"trial": r["trial"], "value": r["value"], "wall_s": r["wall_s"],
                     **{f"seed={s}": v for s, v in r["per_seed"].items()},
                     **params})  # fmt: skip
    extra = {"config": config, "records": records}
    return pd.DataFrame(rows), yaml.safe_load(results.read_text()), extra


def run_default(agent: str, study_dir: Path, quick: bool, overrides: Sequence[str]) -> dict:
    """The committed config of ``agent`` through the trials' protocol: one run of the tuning
    app without the sweep (same budget, tuning seeds, held-out episodes and objective).

    :return: its ``value``, ``per_seed``, ``agent_config``, ``wall_s`` and ``command``.
    """
    out = study_dir / "default"
    command = [
        sys.executable, "-m", "benchmarks.tune_app", f"tune={agent}",
        f"tune_budget={'quick' if quick else 'full'}", f"out_dir={out}", *overrides,
    ]  # fmt: skip
    print(f"tune: {agent}: the default: {shlex.join(command[1:])}", flush=True)
    done = subprocess.run(command, cwd=ROOT, check=False)
    record_path = out / "run" / TRIAL_FILE
    if done.returncode != 0 or not record_path.exists():
        raise BenchError(f"{agent}: the default's run failed (exit {done.returncode}); see {out}")
    record = json.loads(record_path.read_text())
    keys = ("value", "per_seed", "agent_config", "wall_s")
    return {**{k: record[k] for k in keys}, "command": shlex.join(["python", *command[1:]])}


def with_default(summary: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with the default's run and the selection: ``trial`` when the best trial's
    value is higher than the default's, else ``default`` (a tie keeps the committed config)."""
    selected = "trial" if summary["best"]["value"] > default["value"] else "default"
    return {**summary, "default": default, "selected": selected}


def read_study(agent: str, results: Path) -> dict[str, Any]:
    """``results/<agent>/study.json`` of a finished study.

    :raises BenchError: when there is none, or it is another agent's.
    """
    path = results / agent / STUDY_FILE
    if not path.exists():
        raise BenchError(f"no finished study for {agent} at {path}: run the study first")
    summary = json.loads(path.read_text())
    if summary.get("agent") != agent:
        raise BenchError(f"{path} is a study of {summary.get('agent')!r}, not {agent!r}")
    return summary


def write_study(dest: Path, summary: dict[str, Any]) -> None:
    """Write ``summary`` to ``dest/study.json`` atomically."""
    atomic_write_text(dest / STUDY_FILE, json.dumps(summary, indent=2, default=str) + "\n")


def run_study(
    agent: str,
    n_trials: int | None,
    work: Path,
    results: Path,
    quick: bool,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Run one learner's study, write ``results/<agent>/`` and return its summary."""
    study_name = f"{agent}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    study_dir = (work / study_name).resolve()
    extra = [*([f"hydra.sweeper.n_trials={n_trials}"] if n_trials else []), *overrides]
    command = study_command(agent, study_dir, study_name, quick, extra)
    print(f"tune: {agent}: {shlex.join(command[1:])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, check=False)
    wall_s = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        raise BenchError(f"{agent}: the study failed (exit {done.returncode}); see {study_dir}")
    trials, best, extra_info = collect(study_dir)
    config = extra_info["config"]
    sweeper = config["hydra"]["sweeper"]
    if len(trials) != sweeper["n_trials"]:
        raise BenchError(
            f"{agent}: {len(trials)} trial records for n_trials {sweeper['n_trials']} "
            f"in {study_dir}"
        )
    best_value = float(best["best_value"])
    rerun = ["python", "-m", "benchmarks.tune", "study", "--agents", agent]
    rerun += [*(["--quick"] if quick else []), *([f"--n-trials={n_trials}"] if n_trials else [])]
    rerun += list(overrides)
    best_row = trials.loc[trials["value"].idxmax()]
    best_record = next(r for r in extra_info["records"] if r["trial"] == best_row["trial"])
    summary = {
        "study_name": study_name,
        "agent": agent,
        "complete": True,
        "n_trials": int(sweeper["n_trials"]),
        "direction": sweeper["direction"],
        "sampler": sweeper["sampler"],
        "objective": config["tuning"]["objective"],
        "best": {
            "trial": int(best_row["trial"]),
            "value": best_value,
            "params": best["best_params"],
            "agent_config": best_record["agent_config"],
        },
        "search_space": sweeper["params"],
        "protocol": {
            "tuning_seeds": config["tuning"]["seeds"],
            "reporting_seeds": config["tuning"]["reporting_seeds"],
            "experiment": config["experiment"],
            "env": config["env"].get("name"),
        },
        "command": shlex.join(["python", *command[1:]]),
        "rerun": shlex.join(rerun),
        "wall_s": wall_s,
        "trial_wall_s_mean": round(float(trials["wall_s"].mean()), 1),
        "git_commit": git_commit(),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    summary = with_default(summary, run_default(agent, study_dir, quick, overrides))
    dest = results / agent
    atomic_write_text(dest / TRIALS_FILE, trials.to_csv(index=False, float_format="%.17g"))
    write_study(dest, summary)
    print(f"tune: {agent}: best {summary['objective']} {best_value:.4f} (trial "
          f"{summary['best']['trial']}), default {summary['default']['value']:.4f}, selected "
          f"{summary['selected']}, in {wall_s} s -> {dest}", flush=True)  # fmt: skip
    return summary


def tuned_config_text(summary: dict[str, Any]) -> str:
    """The tuned agent config of a finished study, with the header that names it."""
    if not summary.get("complete") or not summary.get("best"):
        raise BenchError(f"study {summary.get('study_name')!r} is not finished")
    if "selected" not in summary:
        raise BenchError(
            f"study {summary['study_name']!r} has no default run: "
            f"python -m benchmarks.tune add-default {summary['agent']}"
        )
    best, default = summary["best"], summary["default"]
    header = [
        f"# Tuned {summary['agent']}: written by `python -m benchmarks.tune write-config "
        f"{summary['agent']}`; do not edit by hand.",
        f"# Study {summary['study_name']} (results/tuning/{summary['agent']}/{STUDY_FILE}): "
        f"{summary['n_trials']} trials, best {summary['objective']} {best['value']:.6g} "
        f"(trial {best['trial']}); the committed config {default['value']:.6g}.",
    ]
    if summary["selected"] == "trial":
        header.append(f"# Tuned params: {json.dumps(best['params'], sort_keys=True)}")
        config = best["agent_config"]
    else:
        header.append("# No trial beat the committed config: this is the committed config.")
        config = default["agent_config"]
    header.append(f"# Rerun the study: {summary['rerun']}")
    body = yaml.safe_dump(config, sort_keys=False)
    return "\n".join(header) + "\n" + body


def add_default(agent: str, results: Path, work: Path) -> dict[str, Any]:
    """Run the committed config of a finished study's agent under the study's protocol and
    add it (and the selection) to its ``study.json``; the study's own budget (quick or full)
    and overrides are read from its ``rerun`` command."""
    summary = read_study(agent, results)
    rerun = shlex.split(summary["rerun"])
    quick = "--quick" in rerun
    overrides = [a for a in rerun[rerun.index(agent) + 1 :] if "=" in a and not a.startswith("-")]
    summary = with_default(summary, run_default(agent, work / summary["study_name"], quick,
                                                overrides))  # fmt: skip
    write_study(results / agent, summary)
    print(f"tune: {agent}: default {summary['default']['value']:.4f} against the best trial's "
          f"{summary['best']['value']:.4f}: selected {summary['selected']}")  # fmt: skip
    return summary


def write_config(agent: str, results: Path, dest: Path) -> Path:
    """Write ``dest/<agent>.yaml`` from ``results/<agent>/study.json``."""
    summary = read_study(agent, results)
    out = dest / f"{agent}.yaml"
    atomic_write_text(out, tuned_config_text(summary))
    print(f"tune: wrote {out} from study {summary['study_name']}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    study = sub.add_parser("study", help="run the studies and write results/tuning/<agent>/")
    study.add_argument("--agents", default=None, help="comma-separated (default: every learner)")
    study.add_argument(
        "--n-trials",
        type=int,
        default=None,
        help="override conf/tuning.yaml's n_trials (the same for every agent)",
    )
    study.add_argument("--quick", action="store_true", help="conf/tune_budget/quick.yaml")
    study.add_argument("--work-dir", type=Path, default=WORK)
    study.add_argument("--results", type=Path, default=RESULTS)
    study.add_argument(
        "--write-configs",
        type=Path,
        default=None,
        metavar="DIR",
        help="then write each tuned config into DIR (e.g. conf/agent/tuned)",
    )
    study.add_argument("overrides", nargs="*", help="further Hydra overrides for every study")
    add = sub.add_parser("add-default", help="run the default of a study finished without it")
    add.add_argument("agent")
    add.add_argument("--results", type=Path, default=RESULTS)
    add.add_argument("--work-dir", type=Path, default=WORK)
    write = sub.add_parser("write-config", help="conf/agent/tuned/<agent>.yaml from a study")
    write.add_argument("agent")
    write.add_argument("--results", type=Path, default=RESULTS)
    write.add_argument("--dest", type=Path, default=TUNED)
    args = parser.parse_args(argv)  # fmt: skip
    try:
        if args.command == "write-config":
            write_config(args.agent, args.results, args.dest)
            return 0
        if args.command == "add-default":
            add_default(args.agent, args.results, args.work_dir)
            return 0
        known = tunable_agents()
        names = args.agents.split(",") if args.agents else known
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise BenchError(f"no search space for {unknown}: allowed {known}")
        if args.n_trials is not None and args.n_trials < 1:
            raise BenchError(f"--n-trials {args.n_trials}: allowed >= 1")
        for name in names:
            run_study(name, args.n_trials, args.work_dir, args.results, args.quick,
                      args.overrides)  # fmt: skip
            if args.write_configs is not None:
                write_config(name, args.results, args.write_configs)
    except BenchError as err:
        print(f"tune: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
