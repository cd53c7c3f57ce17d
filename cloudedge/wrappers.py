"""Flat action spaces for libraries that cannot take the hybrid ``Dict`` action."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

#: Share levels of the discrete wrapper: fractions of a server's capacity. At 100% load one
#: task's nominal demand is 1/20 of a server (a server holds a fifth of the resources of 100
#: tasks), so the levels bracket it from half to five times.
DEFAULT_SHARE_LEVELS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25)


def _base(env: gym.Env) -> Any:
    return env.unwrapped


def decode_discrete_action(
    index: int, share_levels: Sequence[float], memory_need_shares: Sequence[float]
) -> dict[str, Any]:
    """Decode ``index`` of :class:`DiscreteActionWrapper` into a raw ``Dict`` action.

    :param index: ``server * len(share_levels) + level``.
    :param share_levels: the wrapper's share levels.
    :param memory_need_shares: per server, the memory share the current task needs (the
        observation's ``5N .. 6N-1`` block carries it).
    """
    n_levels = len(share_levels)
    n_actions = len(memory_need_shares) * n_levels
    if not 0 <= index < n_actions:
        raise ValueError(f"action = {index} is out of range: allowed [0, {n_actions - 1}]")
    server, level = divmod(index, n_levels)
    share = share_levels[level]
    memory = min(1.0, max(share, float(memory_need_shares[server])))
    return {"server": server, "share": np.array([share, share, memory], dtype=np.float32)}


class DiscreteActionWrapper(gym.ActionWrapper):
    """``Discrete(N * L)``: action ``k`` is server ``k // L`` with share level ``k % L``.

    The level's fraction is granted for compute and bandwidth; for GPU memory the task is
    granted ``max(level, its memory need)``, because a memory share below the need can only
    fail (out of memory) and would make most discrete actions useless. ``info['action_mask']``
    is expanded to the ``N * L`` actions.

    :param env: a :class:`~cloudedge.env.CloudEdgeEnv` (possibly wrapped).
    :param share_levels: the fractions of a server's capacity the actions can grant.
    """

    def __init__(self, env: gym.Env, share_levels: Sequence[float] = DEFAULT_SHARE_LEVELS) -> None:
        super().__init__(env)
        levels = tuple(float(x) for x in share_levels)
        if not levels or any(not 0.0 < x <= 1.0 for x in levels):
            raise ValueError(f"share_levels = {share_levels!r}: each level must be in (0, 1]")
        self.share_levels = levels
        self.n_servers = _base(env).n_servers
        self.action_space = spaces.Discrete(self.n_servers * len(levels))

    def action(self, action: Any) -> dict[str, Any]:
        k = int(np.asarray(action).reshape(()))
        if not 0 <= k < self.action_space.n:
            raise ValueError(
                f"action = {k} is out of range: allowed [0, {self.action_space.n - 1}]"
            )
        server, level = divmod(k, len(self.share_levels))
        share = self.share_levels[level]
        sim = _base(self.env).simulator
        need_share = sim.current_memory_need_bytes() / sim.servers[server].capacity.memory_bytes
        memory = min(1.0, max(share, need_share))
        return {"server": server, "share": np.array([share, share, memory], dtype=np.float32)}

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return obs, self._expand_mask(info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        return obs, float(reward), terminated, truncated, self._expand_mask(info)

    def _expand_mask(self, info: dict[str, Any]) -> dict[str, Any]:
        if "action_mask" in info:
            info["server_mask"] = info["action_mask"]
            info["action_mask"] = np.repeat(info["action_mask"], len(self.share_levels))
        return info


class BoxActionWrapper(gym.ActionWrapper):
    """``Box(0, 1, (N + 3,))``: N server scores (the argmax is the server) and 3 shares.

    :param env: a :class:`~cloudedge.env.CloudEdgeEnv` (possibly wrapped).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.n_servers = _base(env).n_servers
        self.action_space = spaces.Box(0.0, 1.0, shape=(self.n_servers + 3,), dtype=np.float32)

    def action(self, action: Any) -> dict[str, Any]:
        return decode_box_action(action, self.n_servers)


def decode_box_action(action: Any, n_servers: int) -> dict[str, Any]:
    """Decode a :class:`BoxActionWrapper` vector (N scores, 3 shares) into a raw action."""
    vector = np.asarray(action, dtype=np.float64).reshape(-1)
    if vector.shape != (n_servers + 3,) or not np.all(np.isfinite(vector)):
        raise ValueError(
            f"action must be {n_servers + 3} finite numbers (server scores, then "
            f"compute, bandwidth, memory shares), got {np.asarray(action).tolist()}"
        )
    scores, shares = vector[:n_servers], vector[n_servers:]
    return {
        "server": int(np.argmax(scores)),
        "share": np.clip(shares, 0.0, 1.0).astype(np.float32),
    }
