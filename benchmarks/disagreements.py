"""Where AIF and a reference agent choose differently, and how AIF's planner rates the other choice.

Usage: ``python -m benchmarks.disagreements --runs outputs/suite/heterogeneous --reference
greedy_latency [--reference-runs DIR] [--seed 0] [--episodes 3] [--margin 0.002] [--out CSV]``.

``benchmarks/routing.py`` says where each agent's reward came from; this says why AIF's
differs, decision by decision. AIF's ``tmax`` run of ``--seed`` under ``--runs`` is replayed
on its held-out episodes (its recorded config and policy; each episode's sum reward is checked
equal to the recorded one, as routing.py does). At every decision the reference agent (its own
recorded ``tmax`` run, under ``--reference-runs``, default ``--runs``) is asked what it would
do in the same state. Where the two pick different servers, a row records (an action refused
at admission, e.g. a reference heuristic's refusal, counts as server :data:`REFUSED`, -1):

- both actions (server, compute share) and what each would really earn: AIF's from the step
  taken, the reference's from the same step on a copy of the environment (a task's outcome is
  fixed at admission, cloudedge/sim.py);
- the compute left on the reference's server;
- AIF's planner's own view of both: its completion probability ``p`` (mean over members) and
  its score ``r2`` (Algorithm 1's extrinsic term) at its own action, at the reference's action,
  and at the reference's action with compute and bandwidth (not memory) lowered to at most
  ``R_j - margin``: a grant of exactly what is left sits on the model's learned completion
  boundary. NaN where the reference refuses: a refusal
  completes nothing, and the model was never asked to predict one.

A reference action the planner scores above its own choice is one CEM did not find (a search
failure); one it scores below, although it earns more, is one the model or the score
misjudges. Printed: per (AIF server, reference server), decisions per episode, mean true
reward of each action, and how often the planner prefers the reference's action.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agents.aif import AIFAgent
from agents.aif.planner import CEMPlanner, Decision
from agents.base import make_agent, start_episode
from benchmarks.protocol import recorded_spec
from benchmarks.routing import check_replay, evaluated_runs, recorded_episodes
from benchmarks.store import atomic_write_text
from cloudedge import CloudEdgeEnv
from cloudedge.metrics import TaskStatus
from cloudedge.sim import TaskOutcome

COLUMNS = [
    "episode", "step", "aif_server", "aif_status", "aif_compute_share", "aif_reward", "aif_p",
    "aif_r2", "reference_server", "reference_status", "reference_compute_share",
    "reference_remaining_compute", "reference_reward", "p_at_reference", "r2_at_reference",
    "p_at_lowered", "r2_at_lowered",
]  # fmt: skip
#: The "server" of an action refused at admission (it asks for more than is left, or for less
#: memory than the task needs: the reference heuristics refuse a task with all shares 0). It
#: holds nothing, so where it was sent does not matter.
REFUSED = -1
REFUSALS = (TaskStatus.INVALID_ALLOCATION, TaskStatus.OUT_OF_MEMORY)


def where(server: int, outcome: TaskOutcome) -> int:
    """The action's server, or :data:`REFUSED`."""
    return REFUSED if outcome.status in REFUSALS else server


def one_run(out_dir: Path, agent: str, seed: int) -> Path:
    """The ``run.json`` of ``agent``'s ``tmax`` run of ``seed`` under ``out_dir``.

    :raises SystemExit: naming the folder, the agent and the seed when there is none.
    """
    found = evaluated_runs(out_dir, [agent], [seed])
    if not found:
        raise SystemExit(
            f"--runs {out_dir}: no tmax run of {agent} seed {seed} "
            f"(runs/*/tmax/{agent}/seed={seed}/run.json)"
        )
    return found[0]


def planner_view(
    planner: CEMPlanner, decision: Decision, server: int, share: np.ndarray
) -> tuple[float, float]:
    """AIF's planner at one action of ``decision`` (:meth:`CEMPlanner.decision` of the
    observation): (completion probability, mean over members; r2)."""
    chosen = np.array([server])
    grant = np.asarray(share, np.float64)[None].copy()
    p = float(planner.predict(decision, chosen, grant).p.mean())
    return p, float(planner.score(decision, chosen, grant)[2][0])


def disagreements(
    runs: Path, reference_runs: Path, reference: str, seed: int, episodes: int, margin: float
) -> list[dict]:
    """The rows (module docstring) of AIF's first ``episodes`` held-out episodes."""
    run_json = one_run(runs, "aif", seed)
    _, spec = recorded_spec(run_json, runs)
    _, reference_spec = recorded_spec(one_run(reference_runs, reference, 0), reference_runs)
    recorded = recorded_episodes(run_json, spec, episodes)
    t_max, n_tasks = spec.experiment.t_max_values_s[0], spec.experiment.n_tasks_values[0]
    scenario = spec.train_scenario
    aif = make_agent(spec.agent_config, scenario, seed=spec.seed)
    if not isinstance(aif, AIFAgent):
        raise SystemExit(f"{run_json}: not an AIF run")
    aif.load(spec.policy_dir / "policy")
    other = make_agent(reference_spec.agent_config, scenario, seed=0)
    other.load(reference_spec.policy_dir / "policy")
    env = CloudEdgeEnv(scenario.replace(t_max_s=t_max, n_tasks=n_tasks))
    layout = aif.layout
    rows: list[dict] = []
    for k, expected in enumerate(recorded.itertuples()):
        observation, info = start_episode(aif, env, int(expected.env_seed))
        other.attach(env)
        if other.capabilities.privileged:
            other.attach_simulator(env.unwrapped.simulator)
        total, done, step = 0.0, False, 0
        while not done:
            mine = aif.act(observation, info)
            theirs = other.act(observation, info)
            asked, before = observation, copy.deepcopy(env)  # the state both are asked about
            observation, reward, terminated, truncated, info = env.step(mine)
            _, reference_reward, _, _, their_info = before.step(theirs)
            server, j = int(mine["server"]), int(theirs["server"])
            outcome, their_outcome = info["outcome"], their_info["outcome"]
            if where(j, their_outcome) != where(server, outcome):
                share = np.asarray(theirs["share"], np.float64)
                left = layout.remaining(np.asarray(asked, np.float64))[j]
                lowered = share.copy()
                lowered[:2] = np.minimum(share[:2], np.maximum(left[:2] - margin, 0.0))
                decision = aif.planner.decision(asked)
                p_own, r2_own = planner_view(aif.planner, decision, server, mine["share"])
                p_ref, r2_ref = planner_view(aif.planner, decision, j, share)
                p_low, r2_low = planner_view(aif.planner, decision, j, lowered)
                if their_outcome.status in REFUSALS:  # not an allocation the planner scores
                    p_ref = r2_ref = p_low = r2_low = math.nan
                rows.append({
                    "episode": k, "step": step, "aif_server": where(server, outcome),
                    "aif_status": outcome.status.value,
                    "aif_compute_share": float(mine["share"][0]), "aif_reward": float(reward),
                    "aif_p": p_own, "aif_r2": r2_own, "reference_server": where(j, their_outcome),
                    "reference_status": their_outcome.status.value,
                    "reference_compute_share": float(share[0]),
                    "reference_remaining_compute": float(left[0]),
                    "reference_reward": float(reference_reward), "p_at_reference": p_ref,
                    "r2_at_reference": r2_ref, "p_at_lowered": p_low, "r2_at_lowered": r2_low,
                })  # fmt: skip
            total += reward
            step += 1
            done = terminated or truncated
        check_replay(run_json, k, expected, total)
    return rows


def summary(table: pd.DataFrame, episodes: int) -> pd.DataFrame:
    """Per (AIF server, reference server): decisions per episode, mean true rewards, and the
    fraction of decisions where the planner scores the reference's action (as made, and
    lowered) above its own (NaN where the reference refuses)."""
    scored = table.r2_at_reference.notna()
    table = table.assign(
        planner_prefers_reference=(table.r2_at_reference > table.aif_r2)
        .astype(float)
        .where(scored),
        planner_prefers_lowered=(table.r2_at_lowered > table.aif_r2).astype(float).where(scored),
    )
    grouped = table.groupby(["aif_server", "reference_server"])
    out = grouped.agg(
        decisions=("step", "size"),
        aif_reward=("aif_reward", "mean"),
        reference_reward=("reference_reward", "mean"),
        planner_prefers_reference=("planner_prefers_reference", "mean"),
        planner_prefers_lowered=("planner_prefers_lowered", "mean"),
    ).reset_index()
    out["decisions"] = out["decisions"] / episodes
    return out.rename(columns={"decisions": "decisions_per_episode"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="a folder with AIF's tmax run")
    parser.add_argument("--reference", required=True, help="the reference agent's name")
    parser.add_argument("--reference-runs", type=Path, help="its folder (default: --runs)")
    parser.add_argument("--seed", type=int, default=0, help="AIF's seed (>= 0)")
    parser.add_argument("--episodes", type=int, default=3, help="held-out episodes (>= 1)")
    parser.add_argument("--margin", type=float, default=0.002, help="share units, in [0, 1)")
    parser.add_argument("--out", type=Path, help="the CSV (default: print only)")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes = {args.episodes}: allowed an integer >= 1")
    if args.seed < 0:
        parser.error(f"--seed = {args.seed}: allowed an integer >= 0")
    if not 0.0 <= args.margin < 1.0:
        parser.error(f"--margin = {args.margin}: allowed a number in [0, 1)")
    torch.set_num_threads(1)  # as the harness runs
    rows = disagreements(
        args.runs, args.reference_runs or args.runs, args.reference, args.seed, args.episodes,
        args.margin,
    )  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    if args.out is not None:
        atomic_write_text(args.out, table.to_csv(index=False, float_format="%.6g"))
    print(f"{len(table)} of the decisions of {args.episodes} episodes differ in server")
    if len(table):
        print(summary(table, args.episodes).round(3).to_string(index=False))
    if args.out is not None:
        print(f"wrote {args.out} ({len(table)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
