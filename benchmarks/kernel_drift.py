"""How far a host's CPU kernels move a learner's numbers (issue 17, item 5).

Run: ``python -m benchmarks.kernel_drift [--agents aif rainbow] [--envs paper]
[--episodes 50] [--eval-episodes 10] [--jobs 2] [--out results/kernel_drift.csv]``.

Two hosts give different numbers for the same config and seed when their CPU kernels round
differently: torch and NumPy pick vectorised kernels by the instruction sets the CPU has
(AVX-512, AVX2, SSE), and so do their BLAS libraries (MKL under torch, OpenBLAS under
NumPy). A different vector width sums in a different order, the last bits differ, and a
learner that trains on its own outputs can amplify them. Those libraries let a process
choose a narrower kernel than its CPU allows, so this benchmark reruns the same harness runs
(``benchmarks.run``: train, then the held-out evaluation at the env's t_max) under
:data:`PROFILES`, each a set of such environment variables (an emulated host), and compares
every episode's sum reward with the ``native`` run's. What it cannot emulate (another
compiler, another library version, a non-x86 CPU) adds to what it measures.

Each profile's runs go to ``<work-dir>/<profile>/`` through the harness's own store, so a
killed invocation resumes. Each profile is also probed (a small MLP's refit in torch, matrix
products and transcendental functions in NumPy; float64, hashed): ``torch_kernels_differ`` /
``numpy_kernels_differ`` true proves the profile changes arithmetic on this host; false only
says the probe's operations did not change (on this host ``torch_avx2`` changes the fused
``silu`` and ``sigmoid`` of some shapes, which the probe misses; on a host without AVX-512
``torch_avx2`` is the native kernels).

Written per (env, agent, profile): the first training episode whose sum reward differs from
the native run's (empty: none did), the largest such difference, the held-out evaluation's
mean sum reward and its difference from native, with the machine, the checkout's commit (the
code measured) and the command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.config import agent_names
from benchmarks.protocol import git_commit
from benchmarks.speed import machine
from benchmarks.store import atomic_write_text
from cloudedge.config import available_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "kernel_drift.csv"
WORK_DIR = ROOT / "outputs" / "kernel_drift"

#: NumPy 2.x names its x86 dispatch targets by micro-architecture level; disabling the
#: AVX-512 ones leaves AVX2 (x86-64-v3). Older NumPy names them by feature and rejects these.
_NUMPY_NO_AVX512 = "X86_V4 AVX512_ICL AVX512_SPR"

#: Emulated hosts: environment variables read by torch (``ATEN_CPU_CAPABILITY``), MKL
#: (``MKL_ENABLE_INSTRUCTIONS``, ``MKL_CBWR``), NumPy (``NPY_DISABLE_CPU_FEATURES``) and
#: OpenBLAS (``OPENBLAS_CORETYPE``) when the process starts. ``native`` sets none of them;
#: ``native_again`` repeats it (same-host determinism in the same invocation).
PROFILES: dict[str, dict[str, str]] = {
    "native": {},
    "native_again": {},
    # torch's own vectorised kernels (elementwise ops, reductions) at AVX2 width: a host
    # without AVX-512 (most AMD Zen 1-3, Intel client CPUs).
    "torch_avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    # ... and without any vector extension torch dispatches on.
    "torch_scalar": {"ATEN_CPU_CAPABILITY": "default"},
    # torch's BLAS (MKL: the networks' matrix products) at AVX2 width.
    "mkl_avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    # MKL's conditional numerical reproducibility: the same results on every x86 host MKL
    # supports, whatever its instruction set (a remedy, at a cost in speed; not a host).
    "mkl_compatible": {"MKL_CBWR": "COMPATIBLE"},
    # NumPy's own kernels (elementwise functions, reductions: AIF's planner) at AVX2 width.
    "numpy_avx2": {"NPY_DISABLE_CPU_FEATURES": _NUMPY_NO_AVX512},
    # NumPy's BLAS (OpenBLAS: the planner's matrix products) with its Haswell (AVX2) kernels.
    "openblas_haswell": {"OPENBLAS_CORETYPE": "Haswell"},
    # All of the above together: an AVX2-only host.
    "host_avx2": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
        "NPY_DISABLE_CPU_FEATURES": _NUMPY_NO_AVX512,
        "OPENBLAS_CORETYPE": "Haswell",
    },
}
#: Every variable any profile sets: removed from the caller's environment first, so that
#: ``native`` is the host's own kernels whatever the shell exported.
KNOBS = sorted({key for env in PROFILES.values() for key in env})


def probe() -> dict[str, str]:
    """A fixed float64 computation in torch and in NumPy, hashed: which kernels ran.

    torch: a small MLP's forward pass, loss, backward pass and two Adam steps (what a
    learner's refit does); NumPy: matrix products, reductions and transcendental functions
    (what AIF's planner does). Equal digests do not prove equal kernels everywhere (another
    shape or operation may still differ), unequal ones prove a difference.
    """
    import torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((257, 29))
    w = rng.standard_normal((29, 64))
    h = np.tanh(x @ w)
    n = [h, np.exp(x).sum(axis=1), h.sum(axis=0), (h * h).mean(), np.log1p(np.abs(h)) @ w.T]

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(29, 64), torch.nn.SiLU(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
        torch.nn.Linear(64, 8),
    ).double()  # fmt: skip
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    inputs = torch.from_numpy(x)
    target = torch.from_numpy(rng.standard_normal((257, 8)))
    for _ in range(2):
        optimizer.zero_grad()
        out = net(inputs)
        loss = torch.nn.functional.mse_loss(out, target) + torch.logsumexp(out, 1).mean()
        loss.backward()
        optimizer.step()
    o = [out.detach(), loss.detach(), *(p.detach() for p in net.parameters())]

    def digest(arrays: Sequence[Any]) -> str:
        sha = hashlib.sha256()
        for a in arrays:
            sha.update(np.ascontiguousarray(np.asarray(a, np.float64)).tobytes())
        return sha.hexdigest()[:12]

    return {
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_digest": digest([a.numpy() for a in o]),
        "numpy_digest": digest(n),
    }


def profile_env(profile: str) -> dict[str, str]:
    """The process environment of ``profile``: the caller's, without any knob, plus its own."""
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    env.update(PROFILES[profile])
    return env


def _run(cmd: list[str], env: Mapping[str, str], what: str) -> str:
    done = subprocess.run(cmd, env=dict(env), cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n  " + "\n  ".join(tail))
    return done.stdout


def probe_profile(profile: str) -> dict[str, str]:
    """:func:`probe` run in a process with ``profile``'s environment (once per profile: it
    depends on the host and the profile, not on the agent or scenario)."""
    cmd = [sys.executable, "-m", "benchmarks.kernel_drift", "--probe"]
    return json.loads(_run(cmd, profile_env(profile), f"{profile}: probe"))


def run_profile(
    profile: str, agent: str, env_name: str, seed: int, episodes: int, eval_episodes: int,
    work_dir: Path,
) -> dict[str, list[float]]:  # fmt: skip
    """Train and evaluate ``agent`` on ``env_name`` under ``profile``; read the two CSVs back.

    :returns: ``train`` and ``eval``: the sum reward per episode, in order.
    """
    env = profile_env(profile)
    what = f"{env_name}/{agent}/{profile}"
    # The folder names the variables too: a profile redefined later does not resume old runs.
    variables = json.dumps(PROFILES[profile], sort_keys=True).encode()
    out_dir = work_dir / f"{profile}-{hashlib.sha256(variables).hexdigest()[:8]}"
    scenario = load_scenario(env_name)
    common = [
        f"agent={agent}", f"env={env_name}", f"seed={seed}", f"out_dir={out_dir}",
        f"experiment.train_episodes={episodes}", "experiment.bound_every=null",
        # The work dir is scratch: runs of an earlier code version are replaced, not refused
        # (runs of this one are still resumed).
        "replace=true",
    ]  # fmt: skip
    base = [sys.executable, "-m", "benchmarks.run"]
    _run([*base, *common, "experiment=train"], env, f"{what}: train")
    _run(
        [*base, *common, "experiment=tmax", f"experiment.eval_episodes={eval_episodes}",
         "experiment.eval_bound=false", f"experiment.t_max_values_s=[{scenario.t_max_s}]",
         f"experiment.n_tasks_values=[{scenario.n_tasks}]"],
        env, f"{what}: evaluation",
    )  # fmt: skip
    rewards = {}
    for experiment in ("train", "tmax"):
        (path,) = out_dir.glob(f"runs/*/{experiment}/{agent}/seed={seed}/metrics.csv")
        frame = pd.read_csv(path).sort_values("episode")
        rewards["train" if experiment == "train" else "eval"] = frame["sum_reward"].tolist()
    return rewards


def compare(native: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """How ``other`` differs from ``native``: first diverging training episode and sizes."""
    a, b = np.asarray(native["train"]), np.asarray(other["train"])
    differs = np.flatnonzero(a != b)
    eval_a, eval_b = np.asarray(native["eval"]), np.asarray(other["eval"])
    return {
        "torch_capability": other["torch_capability"],
        "torch_kernels_differ": other["torch_digest"] != native["torch_digest"],
        "numpy_kernels_differ": other["numpy_digest"] != native["numpy_digest"],
        "first_diverging_train_episode": int(differs[0]) if differs.size else None,
        "train_episodes_differing": int(differs.size),
        "train_max_abs_diff": float(np.max(np.abs(a - b))),
        "eval_mean_sum_reward": float(eval_b.mean()),
        "eval_mean_diff_vs_native": float(eval_b.mean() - eval_a.mean()),
        "eval_identical": bool(np.array_equal(eval_a, eval_b)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", nargs="+", default=["aif", "rainbow"])
    parser.add_argument("--envs", nargs="+", default=["paper"])
    parser.add_argument("--profiles", nargs="+", default=list(PROFILES), choices=list(PROFILES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=50, help="training episodes (>= 1)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="held-out episodes (>= 1)")
    parser.add_argument("--jobs", type=int, default=2, help="profiles run side by side (>= 1)")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe()))
        return 0
    for name in ("episodes", "eval_episodes", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    unknown = sorted(set(args.envs) - set(available_scenarios()))
    if unknown:
        parser.error(f"--envs: unknown {unknown}; allowed: {sorted(available_scenarios())}")
    unknown = sorted(set(args.agents) - set(agent_names()))
    if unknown:
        parser.error(f"--agents: unknown {unknown}; allowed: {sorted(agent_names())}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    profiles = ["native", *(p for p in args.profiles if p != "native")]
    host = machine()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        probes = dict(zip(profiles, pool.map(probe_profile, profiles), strict=True))
    rows = []
    for env_name in args.envs:
        for agent in args.agents:
            work = args.work_dir / f"{env_name}-{agent}-seed{args.seed}-e{args.episodes}"

            def one(p: str, agent: str = agent, env_name: str = env_name, work: Path = work
                    ) -> dict[str, list[float]]:  # fmt: skip
                return run_profile(p, agent, env_name, args.seed, args.episodes,
                                   args.eval_episodes, work)  # fmt: skip

            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                rewards = dict(zip(profiles, pool.map(one, profiles), strict=True))
            results = {p: {**probes[p], **rewards[p]} for p in profiles}
            for profile in profiles:
                row = {"env": env_name, "agent": agent, "seed": args.seed,
                       "train_episodes": args.episodes, "eval_episodes": args.eval_episodes,
                       "profile": profile,
                       "variables": " ".join(f"{k}={v}" for k, v in PROFILES[profile].items()),
                       **compare(results["native"], results[profile])}  # fmt: skip
                rows.append(row)
                print(
                    f"{env_name:>10} {agent:>8} {profile:>14}  torch {row['torch_capability']:>7}"
                    f" kernels differ: torch {row['torch_kernels_differ']!s:>5} numpy "
                    f"{row['numpy_kernels_differ']!s:>5}  first diverging episode "
                    f"{row['first_diverging_train_episode']!s:>4} "
                    f"({row['train_episodes_differing']} of {args.episodes})  eval mean "
                    f"{row['eval_mean_sum_reward']:.4f} "
                    f"({row['eval_mean_diff_vs_native']:+.4f})",
                    flush=True,
                )
    command = "python -m benchmarks.kernel_drift " + " ".join(argv or sys.argv[1:])
    code = {"git_commit": git_commit(), "command": command.strip()}
    frame = pd.DataFrame([{**row, **host, **code} for row in rows])
    column = "first_diverging_train_episode"
    frame[column] = frame[column].astype("Int64")  # an episode, or empty: none diverged
    atomic_write_text(args.out, frame.to_csv(index=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
