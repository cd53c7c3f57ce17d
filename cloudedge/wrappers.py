"""Flat action spaces for libraries that cannot take the hybrid ``Dict`` action.

Both wrappers offer the same actions, one discretely and one continuously:

| wrapper            | ``DiscreteActionWrapper``          | ``BoxActionWrapper``                  |
|--------------------|------------------------------------|---------------------------------------|
| space              | ``Discrete(N * L)``                | ``Box(0, 1, (N + 1,))``               |
| server j           | ``k // L``                         | argmax of the first N entries         |
| share level s      | ``share_levels[k % L]``            | last entry u: ``lo * (hi / lo) ** u`` |
| compute, bandwidth | s                                  | s                                     |
| GPU memory         | ``memory_grant`` rule (below)      | ``memory_grant`` rule (below)         |
| action_mask (info) | per action (per server moves to    | per server (the env's)                |
|                    | ``info['server_mask']``)           |                                       |

``lo`` and ``hi`` are the smallest and largest discrete level, so both wrappers span the same
shares (0.025 to 0.25 of a server by default; the Box ones continuously, log-scaled because
the levels are spaced by ratios).

``need_j`` is the memory share the current task needs on server ``j``, read from the
observation's ``memory_need`` block (:class:`~cloudedge.observation.ObservationLayout`): a
memory share below it can only fail (out of memory), so both wrappers grant at least it.
The ``memory_grant`` rule sets the rest:

- ``"need"`` (the default): ``min(1, need_j)``, the level sets compute and bandwidth only.
- ``"level"``: ``min(1, max(s, need_j))``, memory follows the level above the need (the
  DRL baselines' rule before 1915d69; ``results/drl_variants/`` compares the two). Memory
  above the need buys nothing in the simulator (it is checked against the need, then held
  until release), so the levels above the need (2-5x it at 0.1 and 0.25) only lock memory
  away from later tasks, which the reference heuristics (memory = need) and AIF (memory
  chosen apart from compute) are not made to do.

Training and evaluation decode by the same code: the wrappers keep the last observation they
returned and decode with :class:`ActionDecoder`, which agents also use on the observation
they are given in ``act``. Nothing here reads the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cloudedge.observation import ObservationLayout

#: Share levels of the discrete wrapper (and the range of the Box wrapper's level): fractions
#: of a server's capacity. At 100% load one task's nominal demand is 1/20 of a server (a
#: server holds a fifth of the resources of 100 tasks), so the levels bracket it from half to
#: five times.
DEFAULT_SHARE_LEVELS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25)

#: The flat action interfaces (:class:`DiscreteActionWrapper`, :class:`BoxActionWrapper`).
FlatInterface = Literal["discrete", "box"]

#: How the flat actions grant GPU memory (the module docstring says what each means).
MemoryGrant = Literal["need", "level"]
MEMORY_GRANTS: tuple[str, ...] = get_args(MemoryGrant)


def _check_memory_grant(memory_grant: str) -> None:
    """:raises ValueError: naming the allowed rules when ``memory_grant`` is none of them."""
    if memory_grant not in MEMORY_GRANTS:
        raise ValueError(f"memory_grant = {memory_grant!r}: allowed {list(MEMORY_GRANTS)}")


def grant(
    server: int, level: float, memory_need_share: float, memory_grant: MemoryGrant = "need"
) -> dict[str, Any]:
    """The raw action granting share ``level`` of server ``server`` (both wrappers' rule).

    :param server: index of the server.
    :param level: fraction of the server's compute and bandwidth to grant, in (0, 1].
    :param memory_need_share: the memory share the task needs on that server.
    :param memory_grant: ``"need"``: memory ``min(1, need)``; ``"level"``: memory
        ``min(1, max(level, need))``.
    :returns: ``{"server", "share": [level, level, memory]}``.
    """
    _check_memory_grant(memory_grant)
    need = float(memory_need_share)
    memory = min(1.0, need if memory_grant == "need" else max(level, need))
    return {"server": int(server), "share": np.array([level, level, memory], dtype=np.float32)}


@dataclass(frozen=True)
class ActionDecoder:
    """Decodes the flat actions of both wrappers into raw ``Dict`` actions, from the observation.

    :param n_servers: N, the number of servers.
    :param share_levels: the discrete share levels; their min and max bound the Box level.
    :param memory_grant: how memory is granted (:data:`MemoryGrant`).
    """

    n_servers: int
    share_levels: tuple[float, ...] = DEFAULT_SHARE_LEVELS
    memory_grant: MemoryGrant = "need"
    layout: ObservationLayout = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = tuple(float(x) for x in self.share_levels)
        if not levels or any(not 0.0 < x <= 1.0 for x in levels):
            raise ValueError(f"share_levels = {self.share_levels!r}: each level must be in (0, 1]")
        object.__setattr__(self, "share_levels", levels)
        _check_memory_grant(self.memory_grant)
        object.__setattr__(self, "layout", ObservationLayout(self.n_servers))

    @property
    def n_discrete(self) -> int:
        """Number of discrete actions, ``N * L``."""
        return self.n_servers * len(self.share_levels)

    @property
    def box_size(self) -> int:
        """Length of a Box action: N server scores and one level."""
        return self.n_servers + 1

    def box_level(self, u: float) -> float:
        """The share level of a Box entry ``u`` in [0, 1] (clipped), log-scaled."""
        low, high = min(self.share_levels), max(self.share_levels)
        u = min(1.0, max(0.0, float(u)))
        return low * math.exp(u * math.log(high / low))

    def memory_need(self, observation: np.ndarray, server: int) -> float:
        """The task's memory share need on ``server``, from the observation."""
        return float(self.layout.block(np.asarray(observation), "memory_need")[server])

    def discrete(self, index: Any, observation: np.ndarray) -> dict[str, Any]:
        """Raw action of discrete action ``index`` (server ``index // L``, level ``index % L``).

        :raises ValueError: when ``index`` is not an integer in ``[0, N * L - 1]``.
        """
        k = int(np.asarray(index).reshape(()))
        if not 0 <= k < self.n_discrete:
            raise ValueError(f"action = {k} is out of range: allowed [0, {self.n_discrete - 1}]")
        server, level = divmod(k, len(self.share_levels))
        share = self.share_levels[level]
        return grant(server, share, self.memory_need(observation, server), self.memory_grant)

    def box(self, action: Any, observation: np.ndarray) -> dict[str, Any]:
        """Raw action of a Box vector (N server scores, then the level entry in [0, 1]).

        :raises ValueError: when ``action`` is not N + 1 finite numbers.
        """
        vector = np.asarray(action, dtype=np.float64).reshape(-1)
        if vector.shape != (self.box_size,) or not np.all(np.isfinite(vector)):
            raise ValueError(
                f"action must be {self.box_size} finite numbers ({self.n_servers} server scores, "
                f"then the share level in [0, 1]), got {np.asarray(action).tolist()}"
            )
        server = int(np.argmax(vector[: self.n_servers]))
        level = self.box_level(vector[self.n_servers])
        return grant(server, level, self.memory_need(observation, server), self.memory_grant)

    def decode(
        self, interface: FlatInterface, action: Any, observation: np.ndarray
    ) -> dict[str, Any]:
        """Decode ``action`` of wrapper ``interface`` (``"discrete"`` or ``"box"``)."""
        if interface == "discrete":
            return self.discrete(action, observation)
        if interface == "box":
            return self.box(action, observation)
        raise ValueError(f"action interface = {interface!r}: allowed 'discrete', 'box'")

    def space(self, interface: FlatInterface) -> spaces.Space:
        """The Gymnasium action space of wrapper ``interface``."""
        if interface == "discrete":
            return spaces.Discrete(self.n_discrete)
        if interface == "box":
            return spaces.Box(0.0, 1.0, shape=(self.box_size,), dtype=np.float32)
        raise ValueError(f"action interface = {interface!r}: allowed 'discrete', 'box'")


class _FlatActionWrapper(gym.ActionWrapper):
    """Decodes with :class:`ActionDecoder` against the last observation it returned."""

    interface: FlatInterface

    def __init__(
        self,
        env: gym.Env,
        share_levels: Sequence[float] = DEFAULT_SHARE_LEVELS,
        memory_grant: MemoryGrant = "need",
    ) -> None:
        super().__init__(env)
        self.decoder = ActionDecoder(env.unwrapped.n_servers, tuple(share_levels), memory_grant)
        self.share_levels = self.decoder.share_levels
        self.n_servers = self.decoder.n_servers
        self.action_space = self.decoder.space(self.interface)
        self._observation: np.ndarray | None = None

    def action(self, action: Any) -> dict[str, Any]:
        if self._observation is None:
            raise RuntimeError("call reset() before step()")
        return self.decoder.decode(self.interface, action, self._observation)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._observation = obs
        return obs, self._info(info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(self.action(action))
        self._observation = obs
        return obs, float(reward), terminated, truncated, self._info(info)

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        return info


class DiscreteActionWrapper(_FlatActionWrapper):
    """``Discrete(N * L)``: action ``k`` is server ``k // L`` with share level ``k % L``.

    The level's fraction is granted for compute and bandwidth; GPU memory follows
    ``memory_grant`` (the module docstring tables both wrappers).
    ``info['action_mask']`` is expanded to the ``N * L`` actions; the env's per-server mask
    moves to ``info['server_mask']``.

    :param env: a :class:`~cloudedge.env.CloudEdgeEnv` (possibly wrapped).
    :param share_levels: the fractions of a server's capacity the actions can grant.
    :param memory_grant: how memory is granted (:data:`MemoryGrant`).
    """

    interface: FlatInterface = "discrete"

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        if "action_mask" in info:
            info["server_mask"] = info["action_mask"]
            info["action_mask"] = np.repeat(info["action_mask"], len(self.share_levels))
        return info


class BoxActionWrapper(_FlatActionWrapper):
    """``Box(0, 1, (N + 1,))``: N server scores (the argmax is the server), then one share level.

    The continuous counterpart of :class:`DiscreteActionWrapper`: the last entry ``u`` is
    log-scaled onto the discrete levels' range, ``s = lo * (hi / lo) ** u`` (so ``u = 0.5``
    grants the levels' geometric mean), with the same grant rule (compute = bandwidth = ``s``,
    memory by ``memory_grant``). Log scale because the levels are spaced by ratios: each
    doubling of the share gets the same width of ``u``.

    :param env: a :class:`~cloudedge.env.CloudEdgeEnv` (possibly wrapped).
    :param share_levels: the discrete levels whose min and max bound the level.
    :param memory_grant: how memory is granted (:data:`MemoryGrant`).
    """

    interface: FlatInterface = "box"


__all__ = [
    "DEFAULT_SHARE_LEVELS",
    "MEMORY_GRANTS",
    "ActionDecoder",
    "BoxActionWrapper",
    "DiscreteActionWrapper",
    "FlatInterface",
    "MemoryGrant",
    "grant",
]
