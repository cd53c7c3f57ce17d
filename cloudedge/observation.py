"""The one definition of the flat observation's layout (the env's docstring tables it).

Every consumer (the env that encodes it, every agent that reads it) goes through
:class:`ObservationLayout`; nothing else may index the observation by number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cloudedge.workload import GPTJ_MAX_POSITIONS

#: Deadlines are normalised by this (s) in the observation; longer ones read as 1.
T_MAX_NORMALISER_S = 60.0

#: GPT-J-6B's context (tokens): prompt lengths are normalised by it.
PROMPT_TOKENS_NORMALISER = GPTJ_MAX_POSITIONS

#: The per-server blocks, in order; each holds N entries.
SERVER_BLOCKS = (
    "distance",  # terminal - server j, m / diagonal of the area
    "compute",  # remaining compute C_j, fraction of j's total
    "bandwidth",  # remaining bandwidth W_j, fraction of j's total
    "memory",  # remaining GPU memory M_j, fraction of j's total
    "wait",  # wait until j's first compute slot frees, s / t_max, clipped to 1
    "memory_need",  # memory share the task needs on server j, clipped to 1
)

#: The task entries after the server blocks, in order.
TASK_FIELDS = (
    "prompt",  # prompt length, tokens / PROMPT_TOKENS_NORMALISER
    "t_max",  # deadline, s / T_MAX_NORMALISER_S, clipped to 1
    "airborne",  # terminal is a UAV: 0 or 1
    "mobile",  # terminal moves (ground or air): 0 or 1
    "tasks_left",  # tasks left in the episode, this one included, fraction of n_tasks
)


@dataclass(frozen=True)
class ObservationLayout:
    """Named slices of the observation of an env with ``n_servers`` servers.

    :param n_servers: N, the number of servers (cloud first).
    """

    n_servers: int

    def __post_init__(self) -> None:
        if not isinstance(self.n_servers, int) or self.n_servers < 1:
            raise ValueError(f"n_servers = {self.n_servers!r}: must be an integer >= 1")

    @property
    def size(self) -> int:
        """Length of the observation vector: ``6N + 5``."""
        return len(SERVER_BLOCKS) * self.n_servers + len(TASK_FIELDS)

    def block_slice(self, name: str) -> slice:
        """The slice of per-server block ``name`` (one of :data:`SERVER_BLOCKS`)."""
        k = SERVER_BLOCKS.index(name)
        return slice(k * self.n_servers, (k + 1) * self.n_servers)

    def task_index(self, name: str) -> int:
        """The index of task field ``name`` (one of :data:`TASK_FIELDS`)."""
        return len(SERVER_BLOCKS) * self.n_servers + TASK_FIELDS.index(name)

    # -- decoding (observations may be batched: the last axis is the observation) --

    def block(self, observation: np.ndarray, name: str) -> np.ndarray:
        """Per-server block ``name``: shape ``(..., N)``."""
        return observation[..., self.block_slice(name)]

    def task(self, observation: np.ndarray, name: str) -> np.ndarray:
        """Task field ``name``: shape ``(...)`` (a 0-d array for one observation)."""
        return observation[..., self.task_index(name)]

    def remaining(self, observation: np.ndarray) -> np.ndarray:
        """Remaining (compute, bandwidth, memory) fractions: shape ``(..., N, 3)``."""
        return np.stack(
            [self.block(observation, name) for name in ("compute", "bandwidth", "memory")],
            axis=-1,
        )

    def server_features(self, observation: np.ndarray) -> np.ndarray:
        """All per-server blocks as features per server: shape ``(..., N, 6)``."""
        return np.stack([self.block(observation, name) for name in SERVER_BLOCKS], axis=-1)

    def task_features(self, observation: np.ndarray) -> np.ndarray:
        """The task entries: shape ``(..., 5)``."""
        start = len(SERVER_BLOCKS) * self.n_servers
        return observation[..., start:]

    def t_max_s(self, observation: np.ndarray) -> float:
        """The deadline in s (exact while t_max <= :data:`T_MAX_NORMALISER_S`)."""
        return float(self.task(observation, "t_max")) * T_MAX_NORMALISER_S

    def wait_s(self, observation: np.ndarray) -> np.ndarray:
        """Wait for each server's first free slot in s (clipped at t_max by the env)."""
        return self.block(observation, "wait") * self.t_max_s(observation)

    # -- encoding --

    def encode(
        self,
        blocks: Mapping[str, Sequence[float]],
        task: Mapping[str, float],
    ) -> np.ndarray:
        """Build an observation from per-server blocks and task fields, clipped to [0, 1].

        :param blocks: every name of :data:`SERVER_BLOCKS` to a sequence of N values.
        :param task: every name of :data:`TASK_FIELDS` to a value (booleans read as 0 or 1).
        """
        values: list[float] = []
        for name in SERVER_BLOCKS:
            block = blocks[name]
            if len(block) != self.n_servers:
                raise ValueError(
                    f"block {name!r} has {len(block)} values, expected {self.n_servers}"
                )
            values += block
        values += [task[name] for name in TASK_FIELDS]
        array = np.array(values, dtype=np.float32)
        # Everything is >= 0; waits, needs and t_max can exceed 1 (distances stay <= 1).
        return np.minimum(array, 1.0, out=array)


__all__ = [
    "PROMPT_TOKENS_NORMALISER",
    "SERVER_BLOCKS",
    "TASK_FIELDS",
    "T_MAX_NORMALISER_S",
    "ObservationLayout",
]
