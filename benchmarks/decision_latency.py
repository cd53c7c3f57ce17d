"""Wall time of one ``act()`` on one CPU thread, p50 and p99 per agent (AIF target: p99 <= 10 ms).

Usage: ``python -m benchmarks.decision_latency [--decisions 300] [--profile]``.

The AIF agent is timed as built by ``conf/agent/aif.yaml`` (the defaults) and, for scale, at
the reference sizes of Tschantz et al. (10 members, 200 hidden units); each first plays its
random seed episodes and one refit, so that it plans with a fitted model on realistic
states, then every decision of whole episodes is timed. Heuristics from
``agents/heuristics.py`` are timed beside it when that module exists (the one-step preview
previews every candidate on the simulator, so it is the other costly one). ``--profile``
prints where the AIF agent's time goes (torch operator table).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from agents.base import Agent, make_agent
from cloudedge import CloudEdgeEnv

CONF = Path(__file__).resolve().parents[1] / "conf" / "agent"
REFERENCE_SIZES = {"n_members": 10, "n_hidden": 200}
HEURISTICS = ("random", "round_robin", "greedy_latency", "edge_first", "one_step_preview")


def agent_config(name: str, **overrides: Any) -> dict[str, Any]:
    config = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    config.update(overrides)
    return config


def time_decisions(agent: Agent, env: CloudEdgeEnv, n_decisions: int, seed: int) -> np.ndarray:
    """Seconds of each ``act()`` over whole episodes until ``n_decisions`` are timed."""
    times: list[float] = []
    episode = 0
    while len(times) < n_decisions:
        agent.attach(env)
        obs, info = env.reset(seed=seed + episode)
        done = False
        while not done:
            start = time.perf_counter()
            action = agent.act(obs, info)
            times.append(time.perf_counter() - start)
            obs, _, done, _, info = env.step(action)
        episode += 1
    return np.asarray(times[:n_decisions])


def prepared_aif(env: CloudEdgeEnv, seed: int, **overrides: Any) -> Agent:
    """The AIF agent after its seed episodes and their refits (a fitted model)."""
    agent = make_agent(agent_config("aif", **overrides), env.scenario, seed=seed)
    agent.learn(env, agent.config.seed_episodes, seed=10_000)
    return agent


def report(name: str, seconds: np.ndarray) -> str:
    ms = seconds * 1e3
    return (
        f"{name:<28} {np.percentile(ms, 50):>9.2f} {np.percentile(ms, 99):>9.2f} "
        f"{ms.mean():>9.2f} {len(ms):>6d}"
    )


def profile(agent: Agent, env: CloudEdgeEnv) -> None:
    """Print the torch operators the AIF agent spends its decisions in."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    obs, info = env.reset(seed=1)
    for _ in range(3):
        agent.act(obs, info)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(10):
            agent.act(obs, info)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=300, help="act() calls timed per agent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true", help="skip the 10 x 200 model")
    parser.add_argument("--profile", action="store_true", help="operator table of AIF's act()")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    env = CloudEdgeEnv()  # the paper scenario: 5 servers, t_max 15 s, 100 tasks

    rows: list[tuple[str, Callable[[], Agent]]] = [
        ("aif (conf/agent/aif.yaml)", lambda: prepared_aif(env, args.seed))
    ]
    if not args.no_reference:
        rows.append(
            ("aif (10 members x 200)", lambda: prepared_aif(env, args.seed, **REFERENCE_SIZES))
        )
    if importlib.util.find_spec("agents.heuristics") is not None:
        for name in HEURISTICS:
            if (CONF / f"{name}.yaml").exists():
                rows.append(
                    (name, lambda n=name: make_agent(agent_config(n), env.scenario, args.seed))
                )

    print(f"one act() on one CPU thread, paper scenario; {args.decisions} decisions each")
    print(f"{'agent':<28} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9} {'n':>6}")
    first: Agent | None = None
    for name, build in rows:
        agent = build()
        first = first or agent
        print(report(name, time_decisions(agent, env, args.decisions, seed=args.seed)), flush=True)
    if args.profile and first is not None:
        profile(first, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
