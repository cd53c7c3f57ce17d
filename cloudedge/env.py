"""The Gymnasium environment: one step is one offloading decision (PAPER.md section 7)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cloudedge.config import ScenarioConfig, load_scenario
from cloudedge.entities import SHARE_TOLERANCE, resolve_compute_profile
from cloudedge.metrics import EpisodeMetrics
from cloudedge.observation import PROMPT_TOKENS_NORMALISER, T_MAX_NORMALISER_S, ObservationLayout
from cloudedge.sim import Simulator
from cloudedge.workload import load_workload

#: The keys of an action; any other key is rejected.
ACTION_KEYS = ("server", "share")

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def make_scenario(scenario: ScenarioConfig | str | None = None, **overrides: Any) -> ScenarioConfig:
    """Resolve a scenario object, shipped name or YAML path (default ``"paper"``), with overrides.

    :raises ConfigError: on an unknown name, a bad file or a bad override.
    """
    if scenario is None:
        scenario = "paper"
    if isinstance(scenario, str):
        return load_scenario(scenario, **overrides)
    if not isinstance(scenario, ScenarioConfig):
        raise TypeError(f"scenario must be a ScenarioConfig or a name, got {type(scenario)}")
    return scenario.replace(**overrides) if overrides else scenario


class CloudEdgeEnv(gym.Env[np.ndarray, dict[str, Any]]):
    """LLM inference offloading and resource allocation in cloud-edge computing.

    Each episode, ``n_tasks`` GPT-J-6B inference requests (HumanEval prompts in the paper
    scenario; synthetic or Azure-trace requests as ``workload.source`` selects) arrive from
    terminals (fixed, mobile, UAV). For each one, in arrival order, the agent picks a server
    (index 0 is the cloud in the paper scenario, then the edge servers) and the shares of that
    server's compute, bandwidth and GPU memory to grant it.

    ## Action space
    ``Dict(server=Discrete(N), share=Box(0, 1, (3,), float32))``, the paper's
    ``a_t = [j, c_j, w_j, m_j]``:

    | key          | meaning                                                       | range  |
    |--------------|---------------------------------------------------------------|--------|
    | server       | index j of the server the task is offloaded to                | 0..N-1 |
    | share[0]     | compute granted, as a fraction of server j's total compute    | [0, 1] |
    | share[1]     | bandwidth granted, as a fraction of server j's total bandwidth| [0, 1] |
    | share[2]     | GPU memory granted, as a fraction of server j's total memory  | [0, 1] |

    A grant above what remains on server j fails the task at once (invalid allocation); less
    memory than the task's KV cache + workspace fails it (out of memory). An action outside the
    space (unknown server, NaN or negative share) raises ``ValueError`` and changes nothing.

    Flat views of the same actions (:mod:`cloudedge.wrappers`, for libraries that cannot take a
    ``Dict``); both grant share level ``s`` of compute and bandwidth and, by their
    ``memory_grant`` rule, ``max(s, need_j)`` (``"level"``) or ``need_j`` (``"need"``) of memory
    (``need_j`` from the observation's ``memory_need`` block), over the same levels:

    | wrapper                 | space                  | server j          | share level s         |
    |-------------------------|------------------------|-------------------|-----------------------|
    | `DiscreteActionWrapper` | `Discrete(N * L)`      | `k // L`          | `share_levels[k % L]` |
    | `BoxActionWrapper`      | `Box(0, 1, (N + 1,))`  | argmax of N scores| `lo * (hi / lo) ** u` |

    (``L`` levels, default 0.025, 0.05, 0.1, 0.25; ``lo``/``hi`` the smallest/largest level;
    ``u`` the Box action's last entry). Who acts through which, and who reads
    ``info['action_mask']``: AIF and the random agent take the raw ``Dict`` and ignore the
    mask; the round-robin, greedy-latency, edge-first and myopic-oracle heuristics take the raw
    ``Dict`` and choose among masked-feasible servers; PPO, QR-DQN, Rainbow and GP-NFSP take
    ``DiscreteActionWrapper`` and SAC ``BoxActionWrapper``, and none of them reads the mask
    (they learn from the zero reward of an infeasible choice).

    ## Observation space
    ``Box(0, 1, (6N + 5,), float32)``; blocks of N entries, one per server, then the task. The
    names are those of :class:`~cloudedge.observation.ObservationLayout`, the one definition
    of this layout (a test checks this table against it):

    | index      | name        | observation                               | unit / normalisation  |
    |------------|-------------|-------------------------------------------|-----------------------|
    | 0 .. N-1   | distance    | distance terminal - server j (D of S_t)   | m / area diagonal     |
    | N .. 2N-1  | compute     | remaining compute C_j                     | fraction of j's total |
    | 2N .. 3N-1 | bandwidth   | remaining bandwidth W_j                   | fraction of j's total |
    | 3N .. 4N-1 | memory      | remaining GPU memory M_j                  | fraction of j's total |
    | 4N .. 5N-1 | wait        | wait until j's first compute slot frees   | s / t_max, max 1      |
    | 5N .. 6N-1 | memory_need | memory share the task needs on server j   | of j's total, max 1   |
    | 6N         | prompt      | prompt length served                      | tokens / 2048         |
    | 6N + 1     | t_max       | deadline t_max                            | s / 60, max 1         |
    | 6N + 2     | airborne    | terminal is airborne (UAV)                | 0 or 1                |
    | 6N + 3     | mobile      | terminal is mobile (ground or air)        | 0 or 1                |
    | 6N + 4     | tasks_left  | tasks left in the episode, this one too   | fraction of n_tasks   |

    The first 4N entries are the paper's ``S_t = [D; s'_1; ...; s'_N]``.

    ## Rewards
    Paper eq. 14: ``1/L_T + P_T`` for a task that completes (L_T its latency in s, P_T the
    pass@100 of its server), 0 otherwise. A task's outcome is fixed at its admission (see
    :mod:`cloudedge.sim`), so each step's reward is the reward of the task just decided.

    ## Starting State
    ``reset(seed)`` starts a new episode at time 0 from the scenario, drawing from the seeded
    generator, in this order: each terminal's start position, heading and speed (fixed ones
    stand still); the episode's tasks (arrival times, requesting terminals, prompt and
    completion sizes; for a trace, the index of its first request); the shadow fading of every
    task's upload and download. Every server starts with all of its compute, bandwidth and
    memory free and all its slots idle, so the first observation has remaining fractions 1 and
    waits 0; it describes the first task, at its arrival. The same seed gives the same episode.

    ## Episode End
    Terminated after ``n_tasks`` decisions; the simulation then drains (all resources come
    back). There is no truncation.

    ## Info
    ``action_mask`` (bool per server: enough memory, compute and bandwidth remain for the
    current task), ``terminal_id``, ``terminal_kind``, ``task_index``, ``memory_need_bytes`` and
    ``now_s`` describe the task to decide; after a step, ``outcome`` holds the decided task's
    :class:`~cloudedge.sim.TaskOutcome` (latency terms of eq. 8, status); at the end
    ``episode`` holds the episode metrics (:class:`~cloudedge.metrics.EpisodeMetrics`) and
    ``truncated_prompts``, also in the reset info: how many of the episode's prompts exceeded
    GPT-J's context less the reserved completion tokens and were truncated (see
    :class:`~cloudedge.config.WorkloadConfig`).

    ## Version History
    * v1: prompts longer than GPT-J's context less the reserved completion are truncated (and
      counted in ``info``) instead of extrapolating the profile; an action dict with keys other
      than ``server`` and ``share`` is rejected. The paper scenario is unchanged (same numbers as
      v0); the Azure-trace scenarios and long-prompt traces change.
    * v0: the environment of the paper reproduction, with the paper scenario (He et al., IEEE
      TMC 2024) as its default.

    A change of behaviour (dynamics, spaces, rewards, a shipped scenario's values) registers a
    new version rather than redefining the current one.

    :param scenario: a :class:`ScenarioConfig` or a scenario name (default ``"paper"``).
    :param overrides: scenario fields to override, e.g. ``t_max_s=3.0, n_tasks=200`` or
        ``workload={"arrival": "poisson"}``.
    :raises ConfigError: on a bad scenario value (or more tasks than a trace holds).
    :raises TraceFormatError: when the workload's trace file is malformed (file, line, column).
    :raises ProfileFormatError: when a server's profile CSV is malformed.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (Gymnasium's convention)

    def __init__(self, scenario: ScenarioConfig | str | None = None, **overrides: Any) -> None:
        self.scenario = make_scenario(scenario, **overrides)
        # Read the trace and profile files now: a bad file fails here, not at the first reset.
        self.workload = load_workload(self.scenario)
        for server in self.scenario.servers:
            resolve_compute_profile(self.scenario, server.compute_profile)
        n = self.scenario.n_servers
        self.n_servers = n
        self.layout = ObservationLayout(n)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.layout.size,), dtype=np.float32)
        self.action_space = spaces.Dict(
            {
                "server": spaces.Discrete(n),
                "share": spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32),
            }
        )
        self._server_pos = np.array([s.position_m for s in self.scenario.servers], dtype=np.float64)
        self._server_xyz = [tuple(s.position_m) for s in self.scenario.servers]
        self._memory_cap_list: list[float] = []
        self._stationary_distances: dict[int, list[float]] = {}
        self._diagonal_m = math.sqrt(sum(a * a for a in self.scenario.area_m))
        self.simulator: Simulator | None = None
        self._memory_cap = np.ones(n)
        self.metrics = EpisodeMetrics()

    # -- Gymnasium API --------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.simulator = Simulator(self.scenario, self.np_random, self.workload)
        self._memory_cap = np.array([s.capacity.memory_bytes for s in self.simulator.servers])
        self._memory_cap_list = self._memory_cap.tolist()
        # Normalised server distances of the terminals that stand still (reset per episode,
        # since each reset places the fleet anew).
        self._stationary_distances = {}
        self.metrics = EpisodeMetrics()
        info = self._task_info()
        info["truncated_prompts"] = self.simulator.tasks.n_truncated_prompts
        return self._observation(), info

    def step(self, action: dict[str, Any]) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        sim = self._require_simulator()
        if sim.done:
            raise RuntimeError("step() called after the episode ended; call reset()")
        server, shares = self.validate_action(action)
        outcome = sim.admit(server, shares)
        self.metrics.add(outcome.status, outcome.latency_s, outcome.pass_at_100, outcome.reward)
        terminated = sim.done
        if terminated:
            sim.drain()
            episode = self.metrics.summary()
            episode["truncated_prompts"] = float(sim.tasks.n_truncated_prompts)
            info: dict[str, Any] = {"outcome": outcome, "episode": episode}
            observation = np.zeros(self.observation_space.shape, dtype=np.float32)
        else:
            info = self._task_info()
            info["outcome"] = outcome
            observation = self._observation()
        return observation, outcome.reward, terminated, False, info

    # -- helpers --------------------------------------------------------------------------
    def validate_action(self, action: dict[str, Any]) -> tuple[int, tuple[float, float, float]]:
        """Check an action against the space; return ``(server, (c, w, m))`` or raise."""
        if (
            not isinstance(action, Mapping)
            or len(action) != 2
            or not all(key in action for key in ACTION_KEYS)
        ):
            extra = (
                sorted(map(str, set(action) - set(ACTION_KEYS)))
                if isinstance(action, Mapping)
                else []
            )
            got = f"unknown key(s) {extra}" if extra else f"got {action!r}"
            raise ValueError(
                "action must be a mapping with exactly the keys 'server' (int) and "
                f"'share' (3 floats): {got}"
            )
        raw_server = action["server"]
        raw_share = action["share"]
        if isinstance(raw_server, np.ndarray) and raw_server.size == 1:
            raw_server = raw_server.reshape(()).item()
        if not isinstance(raw_server, int | np.integer) or isinstance(raw_server, bool):
            raise ValueError(
                f"action['server'] must be one integer in [0, {self.n_servers - 1}], "
                f"got {raw_server!r}"
            )
        server = int(raw_server)
        if not 0 <= server < self.n_servers:
            raise ValueError(
                f"action['server'] = {server} is out of range: allowed [0, {self.n_servers - 1}]"
            )
        try:
            if type(raw_share) is np.ndarray and raw_share.dtype in _FLOAT_DTYPES:
                share = raw_share.reshape(-1).tolist()  # the common case, without a copy
            else:
                share = np.asarray(raw_share, dtype=np.float64).reshape(-1).tolist()
        except (TypeError, ValueError):
            raise ValueError(
                "action['share'] must be 3 numbers (compute, bandwidth, memory) in [0, 1], "
                f"got {raw_share!r}"
            ) from None
        if len(share) != 3:
            raise ValueError(
                f"action['share'] must have 3 entries (compute, bandwidth, memory), "
                f"got shape {np.shape(raw_share)}"
            )
        c, w, m = share
        # NaN fails every comparison, so this also rejects NaN.
        if not (0.0 <= c <= 1.0 and 0.0 <= w <= 1.0 and 0.0 <= m <= 1.0):
            raise ValueError(
                f"action['share'] = {share} is out of range: each share "
                "must be a finite number in [0, 1]"
            )
        return server, (c, w, m)

    def action_mask(self) -> np.ndarray:
        """Servers on which the current task can still be granted its memory need."""
        sim = self._require_simulator()
        need = sim.current_memory_need_bytes() * (1.0 - SHARE_TOLERANCE)
        tol = SHARE_TOLERANCE
        # Plain floats: for a handful of servers this is several times faster than numpy.
        return np.array(
            [
                memory * cap >= need and compute > tol and bandwidth > tol
                for (compute, bandwidth, memory, _), cap in zip(
                    sim.server_table.tolist(), self._memory_cap_list, strict=True
                )
            ],
            dtype=bool,
        )

    def _require_simulator(self) -> Simulator:
        if self.simulator is None:
            raise RuntimeError("call reset() before step()")
        return self.simulator

    def _observation(self) -> np.ndarray:
        sim = self._require_simulator()
        terminal = sim.current_terminal()
        now = sim.now_s
        distances = self._stationary_distances.get(terminal.terminal_id)
        if distances is None:
            distances = self._distances(terminal.position_m(now))
            if terminal.velocity_mps == (0.0, 0.0):  # position_m is then constant
                self._stationary_distances[terminal.terminal_id] = distances
        inv_t_max = 1.0 / self.scenario.t_max_s
        need = sim.current_memory_need_bytes()
        # One conversion of the (N, 4) table to plain floats, then one transpose: for a
        # handful of servers this is several times faster than numpy.
        compute, bandwidth, memory, slot_free_s = zip(*sim.server_table.tolist(), strict=True)
        i = sim.next_task
        n_tasks = sim.n_tasks
        return self.layout.encode(
            {
                "distance": distances,
                "compute": compute,
                "bandwidth": bandwidth,
                "memory": memory,
                "wait": [(t - now) * inv_t_max if t > now else 0.0 for t in slot_free_s],
                "memory_need": [need / cap for cap in self._memory_cap_list],
            },
            {
                "prompt": sim.current_prompt_tokens() / PROMPT_TOKENS_NORMALISER,
                "t_max": self.scenario.t_max_s / T_MAX_NORMALISER_S,
                "airborne": terminal.kind == "uav",
                "mobile": terminal.kind != "fixed",
                "tasks_left": (n_tasks - i) / n_tasks,
            },
        )

    def _distances(self, position_m: tuple[float, float, float]) -> list[float]:
        """Distance from ``position_m`` to each server, over the area's diagonal."""
        x, y, z = position_m
        inv_diagonal = 1.0 / self._diagonal_m
        return [
            math.sqrt((x - sx) ** 2 + (y - sy) ** 2 + (z - sz) ** 2) * inv_diagonal
            for sx, sy, sz in self._server_xyz
        ]

    def _task_info(self) -> dict[str, Any]:
        sim = self._require_simulator()
        terminal = sim.current_terminal()
        return {
            "action_mask": self.action_mask(),
            "task_index": sim.next_task,
            "terminal_id": terminal.terminal_id,
            "terminal_kind": terminal.kind,
            "memory_need_bytes": sim.current_memory_need_bytes(),
            "now_s": sim.now_s,
        }


__all__ = ["CloudEdgeEnv", "make_scenario"]
