"""Time of one ``act()`` on one CPU thread, p50 and p99 per agent (AIF target: p99 <= 10 ms).

Usage: ``python -m benchmarks.decision_latency [--decisions 300] [--old-ref REF | --no-old]
[--variant KEY=VALUE ...] [--profile]``.

The AIF agent is timed as built by ``conf/agent/aif.yaml`` (the defaults) and, for scale, at
the reference sizes of Tschantz et al. (10 members, 200 hidden units); beside it, in the same
run, the AIF agent of an older commit (``--old-ref``, by default ``OLD_DESIGN_REF``, the last
commit before issue 17's redesign: 10 iterations x 250 candidates, cold-started, planned in
torch), its ``agents/aif`` and ``conf/agent/aif.yaml`` read with ``git show`` into a temporary
package, so the old design is measured as it was without being kept in the tree. A fixed
commit, not a branch: a branch moves, and once the redesign was merged ``main`` timed the new
design against itself. Each first plays its random seed episodes and one refit,
so that it plans with a fitted model on realistic states, then every decision of whole
episodes is timed: wall time (``perf_counter``) and the process's CPU time
(``process_time``), closer to what an idle core takes when the machine is shared. A shared
(virtual) host's speed also drifts, so the same run first times CartPole-v1 steps (as
``benchmarks/speed.py`` does) and every row carries that rate: two runs' latencies compare
only at a similar rate.
Heuristics from ``agents/heuristics.py`` are timed beside it when that module exists (the
one-step preview previews every candidate on the simulator, so it is the other costly one).
``--variant KEY=VALUE`` (repeatable) also times the AIF agent with those settings changed (e.g.
``--variant imagined_routing=fill --variant reference_grant=levels``), in the same run, so a
planner variant's cost is read beside the default's.
``--profile`` prints where the new AIF agent's time goes (cProfile, by function).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from agents.base import Agent, make_agent, start_episode
from benchmarks.config import agent_names
from benchmarks.speed import cartpole_steps_per_s
from cloudedge import CloudEdgeEnv

CONF = Path(__file__).resolve().parents[1] / "conf" / "agent"
REFERENCE_SIZES = {"n_members": 10, "n_hidden": 200}
#: The last commit with the AIF design before issue 17 (10 x 250 cold-started CEM in torch).
OLD_DESIGN_REF = "4746b9a"
NEW_DESIGN = "aif (conf/agent/aif.yaml)"
HEURISTICS = tuple(agent_names(lambda c: not c.learns))  # read from each class's capabilities


def agent_config(name: str, **overrides: Any) -> dict[str, Any]:
    config = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    config.update(overrides)
    return config


def time_decisions(
    agent: Agent, env: CloudEdgeEnv, n_decisions: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Wall and CPU seconds of each ``act()`` over whole episodes until ``n_decisions``."""
    wall: list[float] = []
    cpu: list[float] = []
    episode = 0
    while len(wall) < n_decisions:
        obs, info = start_episode(agent, env, seed + episode)
        done = False
        while not done:
            start, start_cpu = time.perf_counter(), time.process_time()
            action = agent.act(obs, info)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            obs, _, done, _, info = env.step(action)
        episode += 1
    return np.asarray(wall[:n_decisions]), np.asarray(cpu[:n_decisions])


def parse_variant(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs to AIF settings (values read as YAML), each name and value checked
    against the agent's declared ranges now, before anything is timed.

    :raises ValueError: a malformed pair, an unknown name or a value out of its range.
    """
    from agents.aif.agent import AIFConfig

    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--variant {pair!r}: allowed KEY=VALUE (an agent.aif setting)")
        overrides[key] = yaml.safe_load(value)
    unknown = sorted(set(overrides) - AIFConfig.param_names())
    if unknown:
        raise ValueError(f"--variant {unknown[0]}: not a setting of conf/agent/aif.yaml")
    AIFConfig.from_params(overrides)  # range-checks every value ("agent.<name> = ...")
    return overrides


def variant_name(overrides: dict[str, Any]) -> str:
    """The row name of an AIF variant: its settings, in the order given."""
    return "aif (" + ", ".join(f"{k}={v}" for k, v in overrides.items()) + ")"


def prepared_aif(env: CloudEdgeEnv, seed: int, **overrides: Any) -> Agent:
    """The AIF agent after its seed episodes and their refits (a fitted model)."""
    agent = make_agent(agent_config("aif", **overrides), env.scenario, seed=seed)
    agent.learn(env, agent.config.seed_episodes, seed=10_000)
    return agent


def old_design_aif(env: CloudEdgeEnv, seed: int, ref: str = OLD_DESIGN_REF) -> Agent | None:
    """The AIF agent of git ref ``ref`` (its code and config), prepared as :func:`prepared_aif`;
    None when git or the ref is not available (e.g. a shallow clone)."""
    root = Path(__file__).resolve().parents[1]

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=root, check=True, capture_output=True, text=True
        ).stdout

    try:
        files = show("agents/aif/").split()
        # <tmp>/src/aif_old/agent.py reads its defaults from <tmp>/conf/agent/aif.yaml
        # (parents[2] of the module, as in the tree).
        base = Path(tempfile.mkdtemp(prefix="aif_old_"))
        package = base / "src" / "aif_old"
        package.mkdir(parents=True)
        for name in (f for f in files if f.endswith(".py")):
            source = show(f"agents/aif/{name}").replace("agents.aif.", "aif_old.")
            (package / name).write_text(source)
        config_text = show("conf/agent/aif.yaml")
        (base / "conf" / "agent").mkdir(parents=True)
        (base / "conf" / "agent" / "aif.yaml").write_text(config_text)
        config = yaml.safe_load(config_text)
    except (OSError, subprocess.CalledProcessError):
        return None
    sys.path.insert(0, str(package.parent))
    module = importlib.import_module("aif_old.agent")
    config.pop("_target_", None)
    agent = module.AIFAgent(env.scenario, seed=seed, **config)
    agent.learn(env, agent.config.seed_episodes, seed=10_000)
    return agent


def summary(wall: np.ndarray, cpu: np.ndarray) -> dict[str, float]:
    """Wall and CPU p50 / p99 and the wall mean of per-decision times (s), in ms."""
    w, c = wall * 1e3, cpu * 1e3
    return {
        "wall_p50_ms": float(np.percentile(w, 50)),
        "wall_p99_ms": float(np.percentile(w, 99)),
        "cpu_p50_ms": float(np.percentile(c, 50)),
        "cpu_p99_ms": float(np.percentile(c, 99)),
        "wall_mean_ms": float(w.mean()),
    }


def report(name: str, wall: np.ndarray, cpu: np.ndarray) -> str:
    """One printed row: the :func:`summary` figures and the number of decisions."""
    cells = " ".join(f"{value:>8.2f}" for value in summary(wall, cpu).values())
    return f"{name:<30} {cells} {len(wall):>5d}"


def write_table(
    path: Path, timed: dict[str, tuple[np.ndarray, np.ndarray]], n: int, host_rate: float
) -> None:
    """One row per agent: the :func:`summary` figures (ms), with where it was measured and
    the host's CartPole-v1 rate in the same run (:func:`cartpole_steps_per_s`)."""
    from benchmarks.speed import machine
    from benchmarks.store import atomic_write_text

    where = {**machine(), "cartpole_steps_per_s": round(host_rate)}
    rows = [
        {"agent": name, "decisions": n,
         **{k: round(v, 3) for k, v in summary(wall, cpu).items()}, **where}
        for name, (wall, cpu) in timed.items()
    ]  # fmt: skip
    atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False))
    print(f"wrote {path}")


def profile(agent: Agent, env: CloudEdgeEnv) -> None:
    """Print the functions the AIF agent spends its decisions in (the planner is numpy)."""
    import cProfile
    import pstats

    obs, info = start_episode(agent, env, seed=1)
    for _ in range(3):
        agent.act(obs, info)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        agent.act(obs, info)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=300, help="act() calls timed per agent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true", help="skip the 10 x 200 model")
    parser.add_argument(
        "--old-ref",
        default=OLD_DESIGN_REF,
        help=f"git commit whose AIF is timed beside the current one (default {OLD_DESIGN_REF})",
    )
    parser.add_argument("--no-old", action="store_true", help="skip the old design's AIF")
    parser.add_argument("--no-heuristics", action="store_true", help="skip the heuristics")
    parser.add_argument("--profile", action="store_true", help="operator table of AIF's act()")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="also time AIF with this setting changed (repeatable: one variant, all settings)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the table to this CSV, each row with the machine (results/ holds one)",
    )
    args = parser.parse_args(argv)
    try:
        variant = parse_variant(args.variant)
    except ValueError as exc:
        parser.error(str(exc))
    torch.set_num_threads(1)
    env = CloudEdgeEnv()  # the paper scenario: 5 servers, t_max 15 s, 100 tasks

    old_design = f"aif at {args.old_ref} (old design)"
    rows: list[tuple[str, Callable[[], Agent | None]]] = [
        (NEW_DESIGN, lambda: prepared_aif(env, args.seed))
    ]
    if variant:
        rows.append((variant_name(variant), lambda: prepared_aif(env, args.seed, **variant)))
    if not args.no_old:
        rows.append((old_design, lambda: old_design_aif(env, args.seed, args.old_ref)))
    if not args.no_reference:
        rows.append(
            ("aif (10 members x 200)", lambda: prepared_aif(env, args.seed, **REFERENCE_SIZES))
        )
    if not args.no_heuristics and importlib.util.find_spec("agents.heuristics") is not None:
        for name in HEURISTICS:
            if (CONF / f"{name}.yaml").exists():
                rows.append(
                    (name, lambda n=name: make_agent(agent_config(n), env.scenario, args.seed))
                )

    host_rate = cartpole_steps_per_s()
    print(f"host speed: CartPole-v1 {host_rate:,.0f} steps/s (benchmarks/speed.py's measure)")
    print(f"one act() on one CPU thread, paper scenario; {args.decisions} decisions each")
    print(
        f"{'agent':<30} {'wall p50':>8} {'wall p99':>8} {'CPU p50':>8} {'CPU p99':>8} "
        f"{'wall mean':>8} {'n':>5}   (ms)"
    )
    first: Agent | None = None
    timed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, build in rows:
        agent = build()
        if agent is None:
            print(f"{name:<30} not available (needs git and commit {args.old_ref})")
            continue
        first = first or agent
        timed[name] = time_decisions(agent, env, args.decisions, seed=args.seed)
        print(report(name, *timed[name]), flush=True)
    if args.out is not None:
        write_table(args.out, timed, args.decisions, host_rate)
    new, old = timed.get(NEW_DESIGN), timed.get(old_design)
    if new is not None and old is not None:
        ratios = [
            np.percentile(o, q) / np.percentile(n, q)
            for n, o in zip(new, old, strict=True)
            for q in (50, 99)
        ]
        print(
            "old / new design: wall p50 {:.1f}x, p99 {:.1f}x; CPU p50 {:.1f}x, p99 {:.1f}x".format(
                *ratios
            )
        )
    if args.profile and first is not None:
        profile(first, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
