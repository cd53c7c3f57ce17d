"""Simple offloading policies, each a real :class:`~agents.base.Agent`.

All but :class:`RandomAgent` are capacity-aware: they only pick servers that ``info``'s
``action_mask`` marks as able to hold the task, and grant a task its *nominal* demand (the
share of a server that one task of a 100% load needs: 1/20 of a paper server) of compute and
bandwidth, capped by what remains, and exactly its memory need (the observation carries both).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import Action, Agent, Capabilities, Range, ranges
from cloudedge.config import ScenarioConfig
from cloudedge.entities import make_servers
from cloudedge.env import T_MAX_NORMALISER_S
from cloudedge.metrics import TaskStatus
from cloudedge.workload import GPTJ_MAX_POSITIONS, total_resources


class ObservationView:
    """Named slices of the flat observation (layout in :class:`cloudedge.env.CloudEdgeEnv`).

    :param n_servers: N.
    """

    def __init__(self, n_servers: int) -> None:
        self.n = n_servers

    def block(self, observation: np.ndarray, k: int) -> np.ndarray:
        return observation[k * self.n : (k + 1) * self.n]

    def remaining(self, observation: np.ndarray) -> np.ndarray:
        """(N, 3) remaining compute, bandwidth, memory fractions."""
        return np.stack([self.block(observation, k) for k in (1, 2, 3)], axis=1)

    def wait_s(self, observation: np.ndarray) -> np.ndarray:
        """Wait for each server's first free slot, in s (clipped at t_max by the env)."""
        return self.block(observation, 4) * self.t_max_s(observation)

    def memory_need_share(self, observation: np.ndarray) -> np.ndarray:
        return self.block(observation, 5)

    def t_max_s(self, observation: np.ndarray) -> float:
        return float(observation[6 * self.n + 1]) * T_MAX_NORMALISER_S


def nominal_shares(scenario: ScenarioConfig) -> np.ndarray:
    """Per server, the share of its capacity that one task's nominal demand is."""
    tasks = scenario.resources.reference_tasks
    return np.array([1.0 / (tasks * s.resource_share) for s in scenario.servers])


class _CapacityAware(Agent):
    """Shared allocation rule: nominal compute/bandwidth (capped by what remains), exact memory."""

    def __init__(self, scenario: ScenarioConfig, seed: int = 0) -> None:
        super().__init__(scenario, seed)
        self.view = ObservationView(self.n_servers)
        self.nominal = nominal_shares(scenario)

    def allocate(self, observation: np.ndarray, server: int) -> Action:
        remaining = self.view.remaining(observation)[server]
        nominal = min(1.0, float(self.nominal[server]))
        compute = min(nominal, float(remaining[0]))
        bandwidth = min(nominal, float(remaining[1]))
        memory = min(1.0, float(self.view.memory_need_share(observation)[server]))
        return {"server": server, "share": np.array([compute, bandwidth, memory], np.float32)}

    @staticmethod
    def feasible(info: Mapping[str, Any], n_servers: int) -> np.ndarray:
        mask = info.get("action_mask")
        return np.ones(n_servers, bool) if mask is None else np.asarray(mask, bool)


class RandomAgent(Agent):
    """Uniform over servers and over each share in [0, 1] (the paper's raw action space)."""

    name = "random"

    def __init__(self, scenario: ScenarioConfig, seed: int = 0) -> None:
        super().__init__(scenario, seed)
        self.rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        return {
            "server": int(self.rng.integers(self.n_servers)),
            "share": self.rng.uniform(0.0, 1.0, 3).astype(np.float32),
        }


class RoundRobinAgent(_CapacityAware):
    """Cycles through the servers, skipping those that cannot hold the task."""

    name = "round_robin"

    def __init__(self, scenario: ScenarioConfig, seed: int = 0) -> None:
        super().__init__(scenario, seed)
        self._next = itertools.cycle(range(self.n_servers))

    def attach(self, env: gym.Env) -> None:
        self._next = itertools.cycle(range(self.n_servers))  # every episode starts at server 0

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        feasible = self.feasible(info, self.n_servers)
        server = next(self._next)
        for _ in range(self.n_servers - 1):
            if feasible[server]:
                break
            server = next(self._next)
        return self.allocate(observation, server)


class GreedyLatencyAgent(_CapacityAware):
    """The feasible server with the smallest predicted latency: slot wait + compute time at
    the nominal grant, from the server's own compute profile (calibrated or token-based);
    transmission is ignored, being milliseconds against seconds.

    :param expected_completion_tokens: the completion length assumed by token-based profiles
        (an agent cannot see it before generation); 64 is about the HumanEval canonical
        solutions' mean (181 bytes at 3 bytes per token).
    """

    name = "greedy_latency"
    hyperparameters = ranges(expected_completion_tokens=Range(1, integer=True))

    def __init__(
        self, scenario: ScenarioConfig, seed: int = 0, expected_completion_tokens: int = 64
    ) -> None:
        super().__init__(scenario, seed)
        if expected_completion_tokens < 1:
            raise ValueError(
                f"expected_completion_tokens = {expected_completion_tokens}: allowed >= 1"
            )
        self.expected_completion_tokens = expected_completion_tokens
        # Model servers (capacities and profiles only; their state is never used).
        self._servers, _ = make_servers(scenario, total_resources(scenario))

    def predicted_latency_s(self, observation: np.ndarray) -> np.ndarray:
        remaining = self.view.remaining(observation)
        prompt_tokens = round(float(observation[6 * self.n_servers]) * GPTJ_MAX_POSITIONS)
        wait = self.view.wait_s(observation)
        latencies = np.empty(self.n_servers)
        for j, server in enumerate(self._servers):
            share = min(float(self.nominal[j]), float(remaining[j, 0]))
            compute_s = server.compute_time_s(
                share * server.capacity.compute_units,
                max(1, prompt_tokens),
                self.expected_completion_tokens,
            )
            latencies[j] = wait[j] + compute_s
        return latencies

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        latency = np.where(
            self.feasible(info, self.n_servers), self.predicted_latency_s(observation), np.inf
        )
        return self.allocate(observation, int(np.argmin(latency)))


class EdgeFirstAgent(_CapacityAware):
    """The feasible server with the highest pass@100 (the edges in the paper), nearest first
    among equals; the cloud only when no edge can hold the task."""

    name = "edge_first"

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        return self.allocate(observation, edge_first_server(self, observation, info))


def edge_first_server(
    agent: _CapacityAware, observation: np.ndarray, info: Mapping[str, Any]
) -> int:
    """The edge-first rule: the feasible server with the highest pass@100, nearest first
    among equals (the most preferred server when none is feasible)."""
    feasible = agent.feasible(info, agent.n_servers)
    pass_at_100 = np.array([s.pass_at_100 for s in agent.scenario.servers])
    distance = agent.view.block(observation, 0)
    # Sort by pass@100 (descending), then distance (ascending); take the first feasible.
    order = np.lexsort((distance, -pass_at_100))
    return next((int(j) for j in order if feasible[j]), int(order[0]))


class MyopicOracleAgent(_CapacityAware):
    """Evaluates candidate actions on the true simulator state (without changing it) and
    takes the one with the best immediate reward (eq. 14); ties go to the first candidate.

    Candidates: every server x compute/bandwidth share in ``share_multiples`` times the
    nominal share (capped by what remains), with exactly the memory need. It sees what no
    real agent can (the fading and motion to come), and it is myopic: it takes the fastest
    server for each task, regardless of the tasks behind it.

    :param share_multiples: grants to try, as multiples of the nominal share.
    """

    name = "myopic_oracle"
    capabilities = Capabilities(privileged=True)
    hyperparameters = ranges(share_multiples=Range(0.0, low_open=True, each=True))

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        share_multiples: tuple[float, ...] = (1.0, 2.0, 4.0),
    ) -> None:
        super().__init__(scenario, seed)
        if not share_multiples or any(m <= 0 for m in share_multiples):
            raise ValueError(f"share_multiples = {share_multiples!r}: each must be > 0")
        self.share_multiples = tuple(float(m) for m in share_multiples)
        self._env: gym.Env | None = None

    def attach(self, env: gym.Env) -> None:
        self._env = env

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        if self._env is None:
            raise RuntimeError("MyopicOracleAgent needs attach(env) before act()")
        simulator = self._env.unwrapped.simulator
        remaining = self.view.remaining(observation)
        need = self.view.memory_need_share(observation)
        best: tuple[float, Action] | None = None
        for server in range(self.n_servers):
            for multiple in self.share_multiples:
                cb = min(1.0, multiple * float(self.nominal[server]))
                compute = min(cb, float(remaining[server, 0]))
                bandwidth = min(cb, float(remaining[server, 1]))
                shares = (compute, bandwidth, min(1.0, float(need[server])))
                outcome = simulator.preview(server, shares)
                if outcome.status is TaskStatus.COMPLETED and (
                    best is None or outcome.reward > best[0]
                ):
                    best = (
                        outcome.reward,
                        {"server": server, "share": np.array(shares, np.float32)},
                    )
        if best is None:  # nothing completes: fall back to the capacity-aware edge-first rule
            return self.allocate(observation, edge_first_server(self, observation, info))
        return best[1]
