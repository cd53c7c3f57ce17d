"""How well and how fast the AIF agent learns a scenario (default: the paper's, t_max 15 s).

Usage: ``python -m benchmarks.aif_quality [--scenario paper|poisson|azure|humaneval]
[--seeds 5] [--episodes 60] [--bound-levels 24 --bound-ratio 1.2] [--set key=value ...]
[--out results/aif_quality.csv]``.

Scenarios: ``paper`` (burst arrivals), ``poisson`` (the paper's with
``workload={"arrival": "poisson"}``), ``azure`` (``azure_a100_3090``: trace-timed arrivals,
token profiles) and ``humaneval`` (``humaneval_a100_3090``: Poisson, token profiles); the
same agent config on each (no per-scenario settings).

For each seed the agent of ``conf/agent/aif.yaml`` (plus ``--set`` overrides) trains for
``--episodes`` episodes (Algorithm 1; its first ``seed_episodes`` are random). Every training
episode's sum reward is divided by a reference on the same episode (same environment seed):
the clairvoyant upper bound of ``agents/bound.py`` (LP relaxation, HiGHS; on a finer compute
grid than its default, ``--bound-levels`` x ``--bound-ratio``, so a tighter bound) when that
module exists, else a capacity-aware greedy (an edge with memory left, a 0.05 share of compute and
bandwidth, exactly the memory need; sum reward ~33 on this scenario). Printed: the sum reward
and fraction per episode and seed, the first episode from which the fraction stays >= the
threshold (target: 0.98 by episode 50), seconds per episode (acting + refit, wall and CPU:
the machine may be shared) and the heuristics' fractions on the same episodes.

Held-out evaluation (``--eval-episodes K``, default 2; 0 turns it off): the agent as it stands
after every training episode (a snapshot: the routing its trial keeps, ``use_kept_routing``,
on the weights of that refit) plays, outside training, ``K`` fixed held-out episodes (env
seeds ``EVAL_SEED_BASE + 1000 seed + k``, never trained on), no learning, the way the suite
evaluates it. The snapshots play after training ends: the training run is untouched (the
same curve as without evaluation) and its seconds per episode are not slowed by them (played
between training episodes, they slowed it by a fifth, refits included). Printed and written
beside the training figures: per seed the first training episode (0-based) after whose refit
the held-out fraction stays >= the threshold (the target's "first reached and then held by
episode 50" for the policy the agent would deploy; the training episodes also include the
trial's exploration). With ``--out FILE`` the same figures are written (atomically): ``FILE``
has one row per AIF seed, one for the mean curve over seeds and one per heuristic, with the
machine and the command; ``FILE`` with ``_curve`` before its suffix has every episode's sum
reward and fraction, and the held-out fraction after that episode's refit.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from agents.base import evaluate_episode, make_agent
from benchmarks.config import agent_names
from benchmarks.speed import cartpole_steps_per_s, machine
from benchmarks.store import atomic_write_text
from cloudedge import CloudEdgeEnv
from cloudedge.observation import ObservationLayout

CONF = Path(__file__).resolve().parents[1] / "conf" / "agent"
HEURISTICS = tuple(agent_names(lambda c: not c.learns and not c.privileged))  # deployable ones
#: Environment arguments of each scenario this benchmark knows.
SCENARIOS: dict[str, dict[str, Any]] = {
    "paper": {"t_max_s": 15.0, "n_tasks": 100},
    "poisson": {"t_max_s": 15.0, "n_tasks": 100, "workload": {"arrival": "poisson"}},
    "azure": {"scenario": "azure_a100_3090"},
    "humaneval": {"scenario": "humaneval_a100_3090"},
}
#: Held-out evaluation episodes are env seeds from here on (training uses 1000 (seed + 1) + i).
EVAL_SEED_BASE = 1_000_000


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["horizon=16", "expl_scale=0.1"]`` -> values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def greedy_sum_reward(env: CloudEdgeEnv, seed: int) -> float:
    """Capacity-aware greedy: first edge (then the cloud) that can hold the task, 0.05 of its
    compute and bandwidth (capped by what remains), exactly the memory need."""
    n = env.n_servers
    layout = ObservationLayout(n)
    order = [*range(1, n), 0]
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        mask = info["action_mask"]
        server = next((j for j in order if mask[j]), order[0])
        remaining = layout.remaining(obs)[server]
        need = layout.block(obs, "memory_need")[server]
        share = [min(0.05, remaining[0]), min(0.05, remaining[1]), min(1.0, need)]
        obs, _, done, _, info = env.step({"server": server, "share": np.array(share, np.float32)})
    return float(info["episode"]["sum_reward"])


class Reference:
    """Per-episode reference sum reward: the upper bound if available, else the greedy."""

    def __init__(self, env: CloudEdgeEnv, kind: str, n_levels: int, ratio: float) -> None:
        self.env = env
        self.kind = kind
        self.n_levels, self.ratio = n_levels, ratio

    def __call__(self, seed: int) -> float:
        if self.kind == "bound":
            from gymnasium.utils import seeding

            from agents.bound import upper_bound
            from cloudedge.sim import Simulator

            rng, _ = seeding.np_random(seed)  # the episode env.reset(seed=seed) plays
            simulator = Simulator(self.env.scenario, rng, self.env.workload)
            return upper_bound(simulator, n_levels=self.n_levels, ratio=self.ratio).upper_bound
        return greedy_sum_reward(self.env, seed)


def stays_from(fractions: list[float], threshold: float) -> int | None:
    """First episode from which every later fraction is >= threshold (None: never)."""
    first = None
    for i in range(len(fractions) - 1, -1, -1):
        if fractions[i] < threshold:
            break
        first = i
    return first


class HeldOut:
    """Fixed held-out episodes on which snapshots of the agent are evaluated after training.

    :param scenario: a key of :data:`SCENARIOS`.
    :param env_seeds: the episodes (env seeds), never trained on.
    :param reference: per-episode reference sum reward (the same as training's).
    """

    def __init__(self, scenario: str, env_seeds: list[int], reference: Reference) -> None:
        self.env = CloudEdgeEnv(**SCENARIOS[scenario])
        self.env_seeds = env_seeds
        self.reference = [reference(s) for s in env_seeds]

    @staticmethod
    def snapshot(agent: Any) -> Any:
        """The agent as it would deploy now: a shallow copy whose planner, its own, plays the
        routing the trial keeps on an export of the current weights (acting reads nothing
        else, so later refits of ``agent`` do not reach it; ``agent`` is not touched)."""
        deployed = copy.copy(agent)
        deployed.use_kept_routing()
        return deployed

    def fraction(self, deployed: Any) -> float:
        """Mean fraction of the reference that a snapshot reaches on the held-out episodes."""
        return float(np.mean([
            evaluate_episode(deployed, self.env, s)["sum_reward"] / ref
            for s, ref in zip(self.env_seeds, self.reference, strict=True)
        ]))  # fmt: skip


def print_staying(
    curves: list[list[float]], first_seed: int, threshold: float, after_all: bool = False
) -> None:
    """Print per seed the first episode from which its curve stays >= ``threshold``, the mean
    and minimum of its last 10 values and, with ``after_all``, its last value."""
    for seed, curve in enumerate(curves, start=first_seed):
        first = stays_from(curve, threshold)
        last = curve[-10:]
        final = f"   after all: {curve[-1]:.3f}" if after_all else ""
        print(
            f"  seed {seed}: {first if first is not None else 'never':>5}   mean of the last "
            f"{len(last)}: {np.mean(last):.3f}   min: {np.min(last):.3f}{final}"
        )


def run_seed(
    seed: int, episodes: int, overrides: dict[str, Any], reference: Reference, scenario: str,
    eval_episodes: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Train one agent; return its per-episode rewards, env seeds and timings and, with
    ``eval_episodes``, its held-out fraction after each number of training episodes (played
    after training from snapshots, so that they do not slow the training they time)."""
    env = CloudEdgeEnv(**SCENARIOS[scenario])
    config = yaml.safe_load((CONF / "aif.yaml").read_text())
    config.update(overrides)
    agent = make_agent(config, env.scenario, seed=seed)
    base = 1000 * (seed + 1)
    held_out = (
        HeldOut(scenario, [EVAL_SEED_BASE + 1000 * seed + k for k in range(eval_episodes)],
                reference)
        if eval_episodes else None
    )  # fmt: skip
    rewards: list[float] = []
    fit_seconds: list[float] = []
    snapshots: list[Any] = []  # [k - 1]: after k training episodes
    stamps = [time.perf_counter()]
    cpu_start = time.process_time()

    def on_episode(i: int, metrics: dict[str, float]) -> None:
        rewards.append(metrics["sum_reward"])
        stamps.append(time.perf_counter())
        fit_seconds.append(agent.last_fit.get("seconds", 0.0))  # the previous episode's refit
        if held_out is not None and i > 0:  # refit on episodes 0..i-1: i training episodes
            snapshots.append(held_out.snapshot(agent))

    agent.learn(env, episodes, seed=base, on_episode=on_episode)
    fit_seconds = [*fit_seconds[1:], agent.last_fit.get("seconds", 0.0)]
    learn_seconds = time.perf_counter() - stamps[0]
    learn_cpu_seconds = time.process_time() - cpu_start
    eval_fractions = []
    if held_out is not None:
        snapshots.append(held_out.snapshot(agent))  # after all of them
        eval_fractions = [held_out.fraction(deployed) for deployed in snapshots]
    env_seeds = [base + i for i in range(episodes)]
    refs = [reference(s) for s in env_seeds]
    return {
        "rewards": rewards,
        "env_seeds": env_seeds,
        "reference": refs,
        "fractions": [r / ref for r, ref in zip(rewards, refs, strict=True)],
        "eval_fractions": eval_fractions,
        "eval_env_seeds": held_out.env_seeds if held_out else [],
        "eval_reference": held_out.reference if held_out else [],
        "seconds_per_episode": learn_seconds / episodes,
        "cpu_seconds_per_episode": learn_cpu_seconds / episodes,
        "fit_seconds_per_episode": float(np.mean(fit_seconds)),
        "seed_episodes": agent.config.seed_episodes,
    }


def heuristic_fractions(
    env_seeds: list[int], refs: list[float], seed: int, scenario: str
) -> dict[str, float]:
    """Mean fraction of each heuristic on the given episodes."""
    if importlib.util.find_spec("agents.heuristics") is None:
        return {}
    env = CloudEdgeEnv(**SCENARIOS[scenario])
    out = {}
    for name in HEURISTICS:
        path = CONF / f"{name}.yaml"
        if not path.exists():
            continue
        agent = make_agent(yaml.safe_load(path.read_text()), env.scenario, seed=seed)
        fractions = [
            evaluate_episode(agent, env, s)["sum_reward"] / ref
            for s, ref in zip(env_seeds, refs, strict=True)
        ]
        out[name] = float(np.mean(fractions))
    return out


def write_figures(
    args: argparse.Namespace, runs: list[dict[str, Any]], mean_curve: list[float],
    mean_timing: dict[str, float], heuristics: dict[str, float], reference: str, command: str,
    mean_held_out: list[float] | None = None, held_out_heuristics: dict[str, float] | None = None,
    host_rates: dict[str, float] | None = None,
) -> None:  # fmt: skip
    """Write the printed figures to ``args.out`` and every episode to its ``_curve`` file.

    :param mean_timing: ``wall``, ``cpu`` and ``refit`` seconds per episode over the seeds.
    :param mean_held_out: the held-out fraction's mean curve over seeds (none: empty).
    :param heuristics: each heuristic's mean fraction on the training episodes.
    :param held_out_heuristics: and on the held-out episodes (``held_out_final_fraction``:
        they do not learn).
    :param host_rates: the host's speed (:func:`~benchmarks.speed.cartpole_steps_per_s`)
        before and after training, columns ``cartpole_steps_per_s_before`` / ``_after``.
    """
    tail = min(10, args.episodes)
    common = {"scenario": args.scenario, "episodes": args.episodes, "threshold": args.threshold,
              "reference": reference, "overrides": " ".join(args.set),
              "eval_episodes": args.eval_episodes}  # fmt: skip

    def row(
        agent: str, seed: str, fractions: list[float], held_out: list[float] | None = None,
        **timing: float,
    ) -> dict[str, Any]:  # fmt: skip
        held_out = held_out or []
        return {
            **common, "agent": agent, "seed": seed,
            "first_episode_staying": stays_from(fractions, args.threshold) if fractions else None,
            "last_mean_fraction": float(np.mean(fractions[-tail:])) if fractions else None,
            "last_min_fraction": float(np.min(fractions[-tail:])) if fractions else None,
            "mean_fraction": float(np.mean(fractions)) if fractions else None,
            "held_out_first_episode_staying":
                stays_from(held_out, args.threshold) if held_out else None,
            "held_out_last_mean_fraction":
                float(np.mean(held_out[-tail:])) if held_out else None,
            "held_out_last_min_fraction": float(np.min(held_out[-tail:])) if held_out else None,
            "held_out_final_fraction": held_out[-1] if held_out else None,
            "wall_s_per_episode": timing.get("wall"), "cpu_s_per_episode": timing.get("cpu"),
            "refit_s_per_episode": timing.get("refit"),
        }  # fmt: skip

    rows = [
        row("aif", str(seed), run["fractions"], run["eval_fractions"],
            wall=run["seconds_per_episode"], cpu=run["cpu_seconds_per_episode"],
            refit=run["fit_seconds_per_episode"])
        for seed, run in enumerate(runs, start=args.first_seed)
    ]  # fmt: skip
    rows.append(row("aif", "mean", mean_curve, mean_held_out, **mean_timing))
    for name, fraction in heuristics.items():
        held = (held_out_heuristics or {}).get(name)
        rows.append({**row(name, "all", []), "mean_fraction": fraction,
                     "held_out_final_fraction": held})  # fmt: skip
    host = {**machine(), **{f"cartpole_steps_per_s_{k}": round(v)
                            for k, v in (host_rates or {}).items()}}  # fmt: skip
    summary = pd.DataFrame([{**r, **host, "command": command} for r in rows])
    for column in ("first_episode_staying", "held_out_first_episode_staying"):
        summary[column] = summary[column].astype("Int64")
    curve = pd.DataFrame([
        {"scenario": args.scenario, "seed": seed, "episode": i, "env_seed": env_seed,
         "sum_reward": reward, "reference_sum_reward": ref, "fraction": fraction,
         "held_out_fraction": run["eval_fractions"][i] if run["eval_fractions"] else None}
        for seed, run in enumerate(runs, start=args.first_seed)
        for i, (env_seed, reward, ref, fraction) in enumerate(
            zip(run["env_seeds"], run["rewards"], run["reference"], run["fractions"], strict=True))
    ])  # fmt: skip
    for frame, path in ((summary, args.out), (curve, curve_path(args.out))):
        atomic_write_text(path, frame.to_csv(index=False))
    print(f"wrote {args.out} and {curve_path(args.out)}")


def curve_path(out: Path) -> Path:
    """Where :func:`write_figures` puts the per-episode rows beside ``out``."""
    return out.with_name(f"{out.stem}_curve{out.suffix}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first..first+seeds-1")
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="paper")
    parser.add_argument("--threshold", type=float, default=0.98)
    parser.add_argument("--bound-levels", type=int, default=24, help="compute levels (bound.py)")
    parser.add_argument("--bound-ratio", type=float, default=1.2, help="ratio between levels")
    parser.add_argument("--reference", choices=("auto", "bound", "greedy"), default="auto")
    parser.add_argument(
        "--eval-episodes", type=int, default=2,
        help="held-out episodes played after every training episode (0: none)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this CSV")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override conf/agent/aif.yaml values, e.g. --set horizon=16",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.episodes < 1:
        parser.error("--seeds and --episodes must be >= 1")
    if args.eval_episodes < 0:
        parser.error(f"--eval-episodes = {args.eval_episodes}: allowed an integer >= 0")
    torch.set_num_threads(1)
    overrides = parse_overrides(args.set)
    kind = args.reference
    if kind == "auto":
        kind = "bound" if importlib.util.find_spec("agents.bound") is not None else "greedy"
    start = time.perf_counter()
    env = CloudEdgeEnv(**SCENARIOS[args.scenario])
    reference = Reference(env, kind, args.bound_levels, args.bound_ratio)
    grid = f" ({args.bound_levels} levels x {args.bound_ratio})" if kind == "bound" else ""
    print(
        f"AIF on {args.scenario} {SCENARIOS[args.scenario]}; reference = {kind}{grid}; "
        f"{args.seeds} seeds x {args.episodes} episodes; overrides {overrides or 'none'}"
    )
    # The host's speed around the timed training: a shared virtual host's drifts.
    host_rates = {"before": cartpole_steps_per_s()}
    runs = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        runs.append(
            run_seed(seed, args.episodes, overrides, reference, args.scenario, args.eval_episodes)
        )
        run = runs[-1]
        print(
            f"  seed {seed}: {run['seconds_per_episode']:.2f} s/episode wall, "
            f"{run['cpu_seconds_per_episode']:.2f} s CPU "
            f"(refit {run['fit_seconds_per_episode']:.2f} s)",
            flush=True,
        )
    host_rates["after"] = cartpole_steps_per_s()
    print(
        f"host speed: CartPole-v1 {host_rates['before']:,.0f} steps/s before training, "
        f"{host_rates['after']:,.0f} after (benchmarks/speed.py's measure)"
    )

    head = " ".join(
        f"{'R s' + str(s):>7} {'f s' + str(s):>6}"
        for s in range(args.first_seed, args.first_seed + args.seeds)
    )
    print(f"\n{'episode':>7} {head} {'mean f':>7}")
    for i in range(args.episodes):
        cells = " ".join(f"{r['rewards'][i]:>7.2f} {r['fractions'][i]:>6.3f}" for r in runs)
        mean = np.mean([r["fractions"][i] for r in runs])
        print(f"{i:>7} {cells} {mean:>7.3f}")

    print(
        f"\nfirst episode from which the fraction stays >= {args.threshold} (seed episodes "
        f"are random; target: by episode 50):"
    )
    print_staying([r["fractions"] for r in runs], args.first_seed, args.threshold)
    tail = np.mean([np.mean(r["fractions"][-min(10, args.episodes) :]) for r in runs])
    print(f"  AIF, mean over seeds of the last {min(10, args.episodes)} episodes: {tail:.3f}")
    mean_curve = list(np.mean([r["fractions"] for r in runs], axis=0))
    first = stays_from(mean_curve, args.threshold)
    print(f"  mean over seeds: {first if first is not None else 'never'}")
    mean_held_out: list[float] = []
    if args.eval_episodes:
        print(
            f"held out ({args.eval_episodes} fixed episodes, the routing kept, no learning): "
            f"first training episode after whose refit the fraction stays >= {args.threshold}"
        )
        held = [r["eval_fractions"] for r in runs]
        print_staying(held, args.first_seed, args.threshold, after_all=True)
        mean_held_out = list(np.mean(held, axis=0))
        first = stays_from(mean_held_out, args.threshold)
        print(f"  mean over seeds: {first if first is not None else 'never'}")
    spe = np.mean([r["seconds_per_episode"] for r in runs])
    fit = np.mean([r["fit_seconds_per_episode"] for r in runs])
    cpu = np.mean([r["cpu_seconds_per_episode"] for r in runs])
    print(
        f"seconds per training episode: {spe:.2f} wall, {cpu:.2f} CPU (refit {fit:.2f} wall; "
        f"target <= 2 s per 100 tasks)"
    )

    seeds = [s for r in runs for s in r["env_seeds"]]
    refs = [x for r in runs for x in r["reference"]]
    heur = heuristic_fractions(seeds, refs, seed=0, scenario=args.scenario)
    if heur:
        print(
            "heuristics on the same episodes (mean fraction): "
            + ", ".join(f"{k} {v:.3f}" for k, v in heur.items())
        )
    held_heur: dict[str, float] = {}
    if args.eval_episodes:
        held_heur = heuristic_fractions(
            [s for r in runs for s in r["eval_env_seeds"]],
            [x for r in runs for x in r["eval_reference"]],
            seed=0,
            scenario=args.scenario,
        )
        if held_heur:
            print(
                "heuristics on the held-out episodes (mean fraction): "
                + ", ".join(f"{k} {v:.3f}" for k, v in held_heur.items())
            )
    print(
        f"mean reference sum reward: {np.mean(refs):.2f}; wall time "
        f"{time.perf_counter() - start:.0f} s"
    )
    if args.out is not None:
        command = "python -m benchmarks.aif_quality " + " ".join(argv or sys.argv[1:])
        timing = {"wall": float(spe), "cpu": float(cpu), "refit": float(fit)}
        write_figures(args, runs, mean_curve, timing, heur, kind, command.strip(),
                      mean_held_out, held_heur, host_rates)  # fmt: skip
    return 0 if all(math.isfinite(f) for r in runs for f in r["fractions"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
