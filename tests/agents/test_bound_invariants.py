"""Property-based: the clairvoyant bound is at least the score of any policy on its episode.

Over many episode seeds, deadlines and loads (hypothesis): every heuristic of ``conf/agent``
(agents whose class declares it does not learn), and uniformly random actions in each action
interface a learner acts in (the dict space, the discrete and the Box wrappers) stand for
what a learner can do.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cloudedge
from agents.base import agent_capabilities, evaluate_episode, make_agent
from agents.bound import episode_upper_bound
from cloudedge.wrappers import BoxActionWrapper, DiscreteActionWrapper

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {p.stem: yaml.safe_load(p.read_text()) for p in (ROOT / "conf" / "agent").glob("*.yaml")}
HEURISTICS = sorted(name for name, c in CONFIGS.items() if not agent_capabilities(c).learns)
INTERFACES = ("dict", "discrete", "box")
SETTINGS = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
episodes = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "t_max_s": st.sampled_from([3.0, 10.0, 15.0]),
    "n_tasks": st.integers(10, 40),
})  # fmt: skip


def random_score(env: gym.Env, seed: int) -> float:
    """Sum reward of uniformly random actions of ``env``'s action space."""
    env.action_space.seed(seed)
    env.reset(seed=seed)
    done, total = False, 0.0
    while not done:
        _, reward, done, _, _ = env.step(env.action_space.sample())
        total += float(reward)
    return total


def make_env(scenario: cloudedge.ScenarioConfig, interface: str) -> gym.Env:
    env = cloudedge.CloudEdgeEnv(scenario)
    return {"dict": env, "discrete": DiscreteActionWrapper(env), "box": BoxActionWrapper(env)}[
        interface
    ]


def test_there_are_heuristics_to_check() -> None:
    assert {"edge_first", "round_robin", "random"} <= set(HEURISTICS)


@SETTINGS
@given(episode=episodes)
def test_bound_is_at_least_every_heuristic_and_random_actions(episode: dict) -> None:
    seed = episode["seed"]
    scenario = cloudedge.paper_scenario(t_max_s=episode["t_max_s"], n_tasks=episode["n_tasks"])
    bound = episode_upper_bound(scenario, seed).upper_bound
    scores = {}
    for name in HEURISTICS:
        agent = make_agent(CONFIGS[name], scenario, seed=0)
        scores[name] = evaluate_episode(agent, cloudedge.CloudEdgeEnv(scenario), seed)["sum_reward"]
    for interface in INTERFACES:
        scores[f"random {interface}"] = random_score(make_env(scenario, interface), seed)
    assert np.isfinite(bound)
    for name, score in scores.items():
        assert bound >= score - 1e-9, (name, score, bound)
