"""The simulator stands alone: numpy, scipy, gymnasium and pyyaml are all it imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Layers above the simulator and heavy optional libraries: none may be imported.
BLOCKED = (
    "agents",
    "benchmarks",
    "torch",
    "transformers",
    "stable_baselines3",
    "sb3_contrib",
    "tianshou",
    "hydra",
    "omegaconf",
    "pandas",
    "matplotlib",
)

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = {blocked!r}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"blocked: {{name}}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())

    import gymnasium as gym
    import numpy as np

    import cloudedge
    from cloudedge.cli import main

    for name in cloudedge.available_scenarios():
        env = gym.make(cloudedge.ENV_ID, scenario=name, n_tasks=10)
        obs, info = env.reset(seed=0)
        done = False
        while not done:
            action = {{"server": 0, "share": np.array([0.05, 0.05, 0.06], np.float32)}}
            obs, reward, done, truncated, info = env.step(action)
        print(name, info["episode"]["completion_rate"])
    assert main(["episode", "--episodes", "1", "--n-tasks", "5"]) == 0
    assert main(["profile", "--help"]) == 2  # the optional extra is missing: named error
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set(BLOCKED))
    assert not loaded, loaded
    print("standalone ok")
    """
)


def test_env_and_cli_run_without_agents_benchmarks_torch_or_transformers() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(blocked=BLOCKED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "standalone ok" in result.stdout
    assert "paper " in result.stdout and "azure_a100_3090 " in result.stdout
    assert "cloudedge profile: error: needs torch, an optional extra" in result.stderr
