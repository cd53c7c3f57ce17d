"""The README's speed figures, measured and written to ``results/speed.csv`` with the machine.

Run: ``nice -n 10 python -m benchmarks.speed [--steps 50000] [--out results/speed.csv]``.

What it measures (one process, one torch thread):

- **Env throughput beside CartPole-v1, in the same run.** Both envs are built with
  ``gymnasium.make`` and stepped with actions drawn up front; their blocks of
  ``--block`` steps alternate, so a load change on a shared machine hits both alike.
  Every step is timed on its own, so the env's steps are split by outcome: *admitted*
  (the task was served: it completes or misses its deadline) and *refused* (invalid
  allocation or out of memory: a cheap early return). Reported: steps/s over all steps at
  the stated mix of the action stream (uniform server, compute and bandwidth shares uniform in
  [0, 0.1], memory share 1/20; its refused fraction is written beside it), over admitted
  steps only (0% refused: the conservative figure) and over refused steps only, and the
  ratios to CartPole's steps/s.
- **Cost per step with 4, 16 and 64 edge servers** (the paper scenario scaled, 20 tasks per
  server), same action stream, microseconds per step over all steps.

Every row carries the machine (CPU model, cores, load average at the start), the Python,
NumPy, Gymnasium and torch versions, the UTC date and the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

import cloudedge
from benchmarks.env_throughput import cloudedge_actions, scenario_with_edges
from benchmarks.harness import atomic_write_text
from cloudedge.sim import TaskStatus

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "speed.csv"
REFUSED = (TaskStatus.INVALID_ALLOCATION, TaskStatus.OUT_OF_MEMORY)
EDGE_COUNTS = (4, 16, 64)


@dataclass
class Timed:
    """Per-step wall times (s) of one env, and which steps were refused."""

    seconds: list[float]
    refused: list[bool]

    def steps_per_s(self, mask: np.ndarray | None = None) -> float:
        t = np.asarray(self.seconds)
        t = t if mask is None else t[mask]
        return float(t.size / t.sum()) if t.size else float("nan")


def time_steps(env: gym.Env, actions: Sequence[Any], timed: Timed, seed: int = 0) -> None:
    """Step ``env`` through ``actions`` (resetting at episode ends), appending to ``timed``."""
    if not timed.seconds:
        env.reset(seed=seed)
    clock = time.perf_counter
    for action in actions:
        start = clock()
        _, _, terminated, truncated, info = env.step(action)
        timed.seconds.append(clock() - start)
        outcome = info.get("outcome")
        timed.refused.append(outcome is not None and outcome.status in REFUSED)
        if terminated or truncated:
            env.reset()


def throughput(n_steps: int, block: int) -> dict[str, float]:
    """Our env and CartPole-v1 in alternating blocks; the figures of the first section."""
    cartpole, ours = gym.make("CartPole-v1"), gym.make(cloudedge.ENV_ID)
    cp_actions = [int(a) for a in np.random.default_rng(0).integers(0, 2, n_steps)]
    our_actions = cloudedge_actions(5, n_steps)
    cp, env = Timed([], []), Timed([], [])
    for start in range(0, n_steps, block):
        time_steps(cartpole, cp_actions[start : start + block], cp)
        time_steps(ours, our_actions[start : start + block], env)
    refused = np.asarray(env.refused)
    cp_rate = cp.steps_per_s()
    figures = {
        "cartpole_steps_per_s": cp_rate,
        "env_steps_per_s_mixed": env.steps_per_s(),
        "env_refused_fraction_mixed": float(refused.mean()),
        "env_steps_per_s_admitted": env.steps_per_s(~refused),
        "env_steps_per_s_refused": env.steps_per_s(refused),
    }
    figures["ratio_mixed"] = figures["env_steps_per_s_mixed"] / cp_rate
    figures["ratio_admitted"] = figures["env_steps_per_s_admitted"] / cp_rate
    return figures


def scaling(n_steps: int) -> dict[str, float]:
    """Microseconds per step (all steps) with 4, 16 and 64 edges."""
    out = {}
    for n_edges in EDGE_COUNTS:
        env = gym.make(cloudedge.ENV_ID, scenario=scenario_with_edges(n_edges))
        timed = Timed([], [])
        time_steps(env, cloudedge_actions(n_edges + 1, n_steps), timed)
        out[f"us_per_step_{n_edges}_edges"] = 1e6 / timed.steps_per_s()
    return out


def cartpole_steps_per_s(n_steps: int = 20_000) -> float:
    """The host's speed now: CartPole-v1 steps per second, timed as :func:`throughput` times
    them (each step alone, uniform random actions, seed 0). A timing script records it beside
    its figures, since a shared virtual host's speed drifts (``benchmarks/decision_latency.py``,
    ``benchmarks/aif_quality.py``)."""
    actions = [int(a) for a in np.random.default_rng(0).integers(0, 2, n_steps)]
    timed = Timed([], [])
    time_steps(gym.make("CartPole-v1"), actions, timed)
    return timed.steps_per_s()


UNITS = {
    "cartpole_steps_per_s": "steps/s",
    "env_steps_per_s_mixed": "steps/s",
    "env_refused_fraction_mixed": "fraction of steps",
    "env_steps_per_s_admitted": "steps/s",
    "env_steps_per_s_refused": "steps/s",
    "ratio_mixed": "ours / CartPole",
    "ratio_admitted": "ours / CartPole",
    **{f"us_per_step_{n}_edges": "us/step" for n in EDGE_COUNTS},
}


def cpu_fields() -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (``model name``, ``vendor_id``, ``cpu
    family``, ``model``, ...); empty where there is no such file."""
    fields: dict[str, str] = {}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if not line.strip():
                break  # the end of the first processor's block
            key, sep, value = line.partition(":")
            if sep:
                fields.setdefault(key.strip(), value.strip())
    return fields


def machine() -> dict[str, Any]:
    """Where and with what the figures were measured."""
    import torch

    return {
        "cpu_model": cpu_fields().get("model name") or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "torch": torch.__version__,
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
    }


def readme_figures(frame: pd.DataFrame) -> dict[str, str]:
    """The figures as the README prints them (the test compares the README with these)."""
    v = dict(zip(frame["measure"], frame["value"], strict=True))
    out = {k: f"{v[k]:,.0f}" for k in v if k.endswith("steps_per_s") or "_steps_per_s_" in k}
    out |= {k: f"{v[k]:.2f}" for k in ("ratio_mixed", "ratio_admitted")}
    out["env_refused_fraction_mixed"] = f"{100 * v['env_refused_fraction_mixed']:.0f}%"
    out |= {k: f"{v[k]:.0f}" for k in v if k.startswith("us_per_step_")}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000, help="steps per env (>= 1000)")
    parser.add_argument("--block", type=int, default=5_000, help="steps per alternating block")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.steps < 1000 or args.block < 1:
        print(f"speed: error: --steps {args.steps} (allowed >= 1000), --block {args.block} "
              "(allowed >= 1)", file=sys.stderr)  # fmt: skip
        return 2
    import torch

    torch.set_num_threads(1)
    where = machine()  # the load average before the measurement loads the machine
    figures = throughput(args.steps, args.block) | scaling(args.steps // 2)
    command = "python -m benchmarks.speed" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    frame = pd.DataFrame([{"measure": k, "value": v, "unit": UNITS[k], **where,
                           "command": command} for k, v in figures.items()])  # fmt: skip
    atomic_write_text(args.out, frame.to_csv(index=False, float_format="%.6g"))
    for k, text in readme_figures(frame).items():
        print(f"{k:<30} {text:>12}  {UNITS[k]}")
    print(f"machine: {where}\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
