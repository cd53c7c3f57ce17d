"""Which imagined routing each trained AIF policy kept, and what its routing trial measured.

Usage: ``python -m benchmarks.aif_routing_trials --runs DIR [DIR ...] --out FILE.csv
[--replay-episodes N]``.

With ``trial_routing`` set (``conf/agent/aif.yaml``), AIF alternates two ways of imagining
where the tasks to come go throughout training and plays, outside it, the one whose latest
episodes met its own preferences better (``agents/aif/agent.py``, ``kept_routing``). Every AIF
policy saved under each ``DIR`` (``**/policies/<env>-<hash>/aif/seed=<s>/policy``: a suite
folder or a harness ``out_dir``) records each routing's trial values; this writes one row per
policy (the folder, the env, the seed, the routing kept, and per routing tried its trial
episodes, the mean of eq. 11 summed over each episode's outcomes over all of them and over the
latest ``routing_trial_episodes``) and prints, per env, how many seeds kept each routing.

With ``--replay-episodes N`` it also asks whether the trial kept the better routing: every
evaluated AIF run under each ``DIR`` (``runs/*/tmax/aif/seed=<s>/run.json``) is replayed on
its first N held-out episodes (as ``benchmarks/routing.py`` replays them) once with each
routing tried, on the trained weights, and the row gets each routing's mean sum reward there
(``<routing>_held_out_mean``). The kept routing's replay must equal what the run recorded, so
the other routing's figure is what the same policy would have scored had it kept that one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agents.aif.agent import AIFAgent, kept_routing
from agents.base import evaluate_episode, make_agent
from benchmarks.protocol import recorded_spec
from benchmarks.routing import check_replay, recorded_episodes
from benchmarks.store import atomic_write_text
from cloudedge import CloudEdgeEnv

AGENT = "aif"


def policy_rows(runs: Path) -> list[dict[str, object]]:
    """One row per AIF policy saved under ``runs``."""
    rows: list[dict[str, object]] = []
    for path in sorted(runs.glob(f"**/policies/*/{AGENT}/seed=*/policy")):
        state = torch.load(path, weights_only=True)
        trial: dict[str, list[float]] = state.get("routing_trial", {})
        config = state["config"]
        window = int(config.get("routing_trial_episodes", 1))
        primary, other = config["imagined_routing"], config.get("trial_routing", "none")
        row: dict[str, object] = {
            "runs": str(runs),
            "env": path.parents[2].name.rsplit("-", 1)[0],
            "seed": int(path.parent.name.split("=", 1)[1]),
            "kept": kept_routing(
                primary, other, trial, window, float(config.get("routing_trial_margin", 0.0))
            ),
            "episodes_trained": int(state["episodes_trained"]),
            "window": window,
        }
        for routing, values in sorted(trial.items()):
            row[f"{routing}_trial_episodes"] = len(values)
            row[f"{routing}_trial_mean"] = float(np.mean(values))
            row[f"{routing}_recent_mean"] = float(np.mean(values[-window:]))
        rows.append(row)
    return rows


def held_out_by_routing(runs: Path, episodes: int) -> dict[tuple[str, int], dict[str, float]]:
    """Per evaluated AIF run under ``runs`` (its env and seed), each routing its policy tried:
    the mean sum reward of its first ``episodes`` held-out episodes replayed with that routing.

    :raises SystemExit: naming the run when it evaluated fewer episodes, or when the kept
        routing's replay differs from what the run recorded.
    """
    found: dict[tuple[str, int], dict[str, float]] = {}
    for run_json in sorted(runs.glob(f"**/runs/*/tmax/{AGENT}/seed=*/run.json")):
        out_dir = run_json.parents[5]
        meta, spec = recorded_spec(run_json, out_dir)
        recorded = recorded_episodes(run_json, spec, episodes)
        agent = make_agent(spec.agent_config, spec.train_scenario, seed=spec.seed)
        assert isinstance(agent, AIFAgent)
        agent.load(spec.policy_dir / "policy")
        kept = agent.kept_routing()
        t_max, n_tasks = spec.experiment.t_max_values_s[0], spec.experiment.n_tasks_values[0]
        env = CloudEdgeEnv(spec.train_scenario.replace(t_max_s=t_max, n_tasks=n_tasks))
        means: dict[str, float] = {}
        for routing in sorted(set(agent.routing_trial) | {kept}):
            agent.use_routing(routing)
            totals = []
            for k, expected in enumerate(recorded.itertuples()):
                total = evaluate_episode(agent, env, int(expected.env_seed))["sum_reward"]
                if routing == kept:
                    check_replay(run_json, k, expected, total)
                totals.append(total)
            means[routing] = float(np.mean(totals))
        found[(str(meta["env"]), spec.seed)] = means
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--replay-episodes",
        type=int,
        default=0,
        help="replay each evaluated run's first N held-out episodes with every routing tried "
        "(default 0: none)",
    )
    args = parser.parse_args(argv)
    if args.replay_episodes < 0:
        parser.error(f"--replay-episodes = {args.replay_episodes}: allowed an integer >= 0")
    missing = [str(d) for d in args.runs if not d.is_dir()]
    if missing:
        parser.error(f"--runs: no such folder: {', '.join(missing)}")
    rows = [row for runs in args.runs for row in policy_rows(runs)]
    if not rows:
        parser.error(f"--runs: no {AGENT} policy under {', '.join(map(str, args.runs))}")
    if args.replay_episodes:
        torch.set_num_threads(1)  # as the harness runs
        for runs in args.runs:
            replayed = held_out_by_routing(runs, args.replay_episodes)
            for row in rows:
                key = (str(row["env"]), int(str(row["seed"])))
                if row["runs"] == str(runs) and key in replayed:
                    row["held_out_episodes"] = args.replay_episodes
                    for routing, mean in replayed[key].items():
                        row[f"{routing}_held_out_mean"] = mean
    frame = pd.DataFrame(rows).sort_values(["runs", "env", "seed"])
    atomic_write_text(args.out, frame.to_csv(index=False))
    counts = frame.groupby(["env", "kept"]).size().unstack(fill_value=0)
    print(counts.to_string())
    print(f"wrote {args.out} ({len(frame)} policies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
