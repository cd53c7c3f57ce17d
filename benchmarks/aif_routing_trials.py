"""Which imagined routing each trained AIF policy kept, and what its routing trial measured.

Usage: ``python -m benchmarks.aif_routing_trials --runs DIR [DIR ...] --out FILE.csv``.

With ``trial_routing`` set (``conf/agent/aif.yaml``), AIF alternates two ways of imagining
where the tasks to come go throughout training and plays, outside it, the one whose latest
episodes met its own preferences better (``agents/aif/agent.py``, ``kept_routing``). Every AIF
policy saved under each ``DIR`` (``**/policies/<env>-<hash>/aif/seed=<s>/policy``: a suite
folder or a harness ``out_dir``) records each routing's trial values; this writes one row per
policy (the folder, the env, the seed, the routing kept, and per routing tried its trial
episodes, the mean of eq. 11 summed over each episode's outcomes over all of them and over the
latest ``routing_trial_episodes``) and prints, per env, how many seeds kept each routing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from agents.aif.agent import kept_routing
from benchmarks.store import atomic_write_text

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
            "kept": kept_routing(primary, other, trial, window),
            "episodes_trained": int(state["episodes_trained"]),
            "window": window,
        }
        for routing, values in sorted(trial.items()):
            row[f"{routing}_trial_episodes"] = len(values)
            row[f"{routing}_trial_mean"] = float(np.mean(values))
            row[f"{routing}_recent_mean"] = float(np.mean(values[-window:]))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.runs if not d.is_dir()]
    if missing:
        parser.error(f"--runs: no such folder: {', '.join(missing)}")
    rows = [row for runs in args.runs for row in policy_rows(runs)]
    if not rows:
        parser.error(f"--runs: no {AGENT} policy under {', '.join(map(str, args.runs))}")
    frame = pd.DataFrame(rows).sort_values(["runs", "env", "seed"])
    atomic_write_text(args.out, frame.to_csv(index=False))
    counts = frame.groupby(["env", "kept"]).size().unstack(fill_value=0)
    print(counts.to_string())
    print(f"wrote {args.out} ({len(frame)} policies)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
