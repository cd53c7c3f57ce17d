"""A new agent is one module plus one YAML: a toy learner in a temporary config folder runs
through the quick pipeline (``benchmarks.reproduce --quick``: train, tmax, load, collect, plot,
summarize) beside a heuristic, without editing any list of agent names; every stage reads its
class's capabilities."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

TOY_MODULE = '''
"""A toy learner: tries each server for one episode, then keeps the best one."""
import json
from pathlib import Path

import numpy as np

from agents.base import Agent, Capabilities, Range, evaluate_episode, ranges


class ToyLearner(Agent):
    name = "toy"
    capabilities = Capabilities(learns=True, action_interface="dict")
    hyperparameters = ranges(share=Range(0.0, 0.5, low_open=True))

    def __init__(self, scenario, seed=0, share=0.05):
        super().__init__(scenario, seed)
        self.share = share
        self.server = 0

    def learn(self, env, n_episodes, seed, on_episode=None):
        totals = np.zeros(self.n_servers)
        for episode in range(n_episodes):
            self.server = episode % self.n_servers
            metrics = evaluate_episode(self, env, seed + episode)
            totals[self.server] += metrics["sum_reward"]
            if on_episode is not None:
                on_episode(episode, metrics)
        self.server = int(np.argmax(totals))

    def act(self, observation, info):
        return {"server": self.server, "share": [self.share, self.share, 1.2 * self.share]}

    def save(self, path):
        Path(path).write_text(json.dumps({"server": self.server}))

    def load(self, path):
        self.server = json.loads(Path(path).read_text())["server"]
'''
TOY_CONFIG = "_target_: toy_learner.ToyLearner\nshare: 0.05  # a twentieth of each resource\n"


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with ``toy_learner.py`` and ``conf/agent/toy.yaml``; returns the conf."""
    (tmp_path / "toy_learner.py").write_text(TOY_MODULE)
    conf = tmp_path / "conf"
    (conf / "agent").mkdir(parents=True)
    (conf / "agent" / "toy.yaml").write_text(TOY_CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    return conf


def _env(toy: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{toy.parent}"}


def test_a_toy_agent_runs_through_the_quick_pipeline(toy: Path, tmp_path: Path) -> None:
    from benchmarks.reproduce import available_agents

    agents = available_agents(toy)
    assert "toy" in agents
    assert agents.index("toy") < agents.index("edge_first")  # a learner: scheduled first

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.reproduce", "--quick", "--agents", "toy,edge_first",
         "--seeds", "1", "--out-dir", str(out), "--config-dir", str(toy)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=_env(toy),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "total wall time" in result.stdout
    results = out / "results"  # no --results: the tables go next to the runs, not results/
    assert "min on" in (results / "README.md").read_text()
    for experiment in ("train", "tmax", "load"):
        frame = pd.read_csv(results / f"{experiment}.csv")
        assert set(frame["agent"]) == {"toy", "edge_first"}
    assert (results / "figures" / "fig3_train.png").exists()
    summary = pd.read_csv(results / "summary.csv")
    assert "toy" in set(summary["agent"])
    # It was trained (a policy saved) and its evaluations loaded that policy.
    assert list(out.glob("policies/*/toy/seed=0/policy"))


def test_regress_takes_the_toy_agent_without_a_list(toy: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference.csv"
    for command in ("update", "check"):
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.regress", command, "--agents", "toy",
             "--config-dir", str(toy), "--reference", str(reference)],
            cwd=ROOT, capture_output=True, text=True, timeout=600, env=_env(toy),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
