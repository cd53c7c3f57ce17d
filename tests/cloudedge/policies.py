"""Simple reference policies for the simulator's tests (the real heuristics live in agents/)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

import cloudedge

Policy = Callable[[gym.Env, np.ndarray, dict[str, Any]], dict[str, Any]]


def exact_need_action(env: gym.Env, server: int, share: float = 0.05) -> dict[str, Any]:
    """Offload to ``server`` with ``share`` of compute and bandwidth and exactly the memory need."""
    sim = env.unwrapped.simulator
    need = sim.current_memory_need_bytes() / sim.servers[server].capacity.memory_bytes
    return {"server": server, "share": np.array([share, share, min(1.0, need)], np.float32)}


def ordered_policy(order: Sequence[int]) -> Policy:
    """First server in ``order`` that can still hold the task (capacity-aware greedy)."""

    def act(env: gym.Env, obs: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        mask = info["action_mask"]
        server = next((j for j in order if mask[j]), order[0])
        return exact_need_action(env, server)

    return act


cloud_first = ordered_policy([0, 1, 2, 3, 4])
edge_first = ordered_policy([1, 2, 3, 4, 0])


def random_policy(seed: int) -> Policy:
    rng = np.random.default_rng(seed)

    def act(env: gym.Env, obs: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        return {
            "server": int(rng.integers(env.unwrapped.n_servers)),
            "share": rng.uniform(0.0, 1.0, 3).astype(np.float32),
        }

    return act


def random_small_share_policy(seed: int) -> Policy:
    """Random server, random compute/bandwidth shares around the nominal, exact memory need."""
    rng = np.random.default_rng(seed)

    def act(env: gym.Env, obs: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        server = int(rng.integers(env.unwrapped.n_servers))
        return exact_need_action(env, server, float(rng.uniform(0.005, 0.2)))

    return act


def run_episode(policy: Policy, seed: int = 0, **overrides: Any) -> dict[str, float]:
    env = gym.make(cloudedge.ENV_ID, **overrides)
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        obs, _, done, _, info = env.step(policy(env, obs, info))
    return info["episode"]
