"""Reference offloading policies, each a real :class:`~agents.base.Agent`.

Static rules (:class:`RandomAgent`, :class:`RoundRobinAgent`, :class:`GreedyLatencyAgent`,
:class:`EdgeFirstAgent`): all but random are capacity-aware: they only pick servers that
``info``'s ``action_mask`` marks as able to hold the task, and grant a task its *nominal* demand
(the share of a server that one task of a 100% load needs: 1/20 of a paper server) of compute
and bandwidth, capped by what remains, and exactly its memory need (the observation carries
both).

State-adaptive references (:class:`FairShareAgent`, :class:`BestServerAgent`,
:class:`KVAdmissionAgent`) size the grant from what remains and predict each server's
latency (slot wait, transmission and compute) from the scenario's own models, so a learner
must beat something that reads the state. :class:`OneStepPreviewAgent` reads the simulator
(privileged). Observations are decoded only through
:class:`cloudedge.observation.ObservationLayout`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from agents.base import Action, Agent, Capabilities, Range, ranges
from cloudedge.channel import Channel
from cloudedge.config import ScenarioConfig
from cloudedge.entities import make_servers
from cloudedge.metrics import TaskStatus
from cloudedge.observation import PROMPT_TOKENS_NORMALISER, ObservationLayout
from cloudedge.sim import Simulator
from cloudedge.workload import load_workload, memory_need_bytes, total_resources


def prompt_tokens_of(layout: ObservationLayout, observation: np.ndarray) -> int:
    """The current task's prompt length in tokens (at least 1), from the observation."""
    return max(1, round(float(layout.task(observation, "prompt")) * PROMPT_TOKENS_NORMALISER))


def nominal_shares(scenario: ScenarioConfig) -> np.ndarray:
    """Per server, the share of its capacity that one task's nominal demand is."""
    tasks = scenario.resources.reference_tasks
    return np.array([1.0 / (tasks * s.resource_share) for s in scenario.servers])


class _CapacityAware(Agent):
    """Shared allocation rule: nominal compute/bandwidth (capped by what remains), exact memory."""

    def __init__(self, scenario: ScenarioConfig, seed: int = 0) -> None:
        super().__init__(scenario, seed)
        self.view = ObservationLayout(self.n_servers)
        self.nominal = nominal_shares(scenario)

    def allocate(self, observation: np.ndarray, server: int) -> Action:
        remaining = self.view.remaining(observation)[server]
        nominal = min(1.0, float(self.nominal[server]))
        compute = min(nominal, float(remaining[0]))
        bandwidth = min(nominal, float(remaining[1]))
        memory = min(1.0, float(self.view.block(observation, "memory_need")[server]))
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
        prompt_tokens = prompt_tokens_of(self.view, observation)
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
    distance = agent.view.block(observation, "distance")
    # Sort by pass@100 (descending), then distance (ascending); take the first feasible.
    order = np.lexsort((distance, -pass_at_100))
    return next((int(j) for j in order if feasible[j]), int(order[0]))


class OneStepPreviewAgent(_CapacityAware):
    """Evaluates candidate actions on the true simulator state (without changing it) and
    takes the one with the best immediate reward (eq. 14); ties go to the first candidate.

    Candidates: every server x compute/bandwidth share in ``share_multiples`` times the
    nominal share (capped by what remains), with exactly the memory need. It sees what no
    real agent can (the fading and motion to come), but only one step ahead: it takes the
    fastest server and the largest grant for each task, regardless of the tasks behind it, so
    it over-allocates (formerly ``myopic_oracle``; it is no oracle and scores below simple
    rules where resources bind).

    :param share_multiples: grants to try, as multiples of the nominal share.
    """

    name = "one_step_preview"
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
        self._simulator: Simulator | None = None

    def attach_simulator(self, simulator: Simulator) -> None:
        self._simulator = simulator

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        simulator = self._simulator
        if simulator is None:
            raise RuntimeError(
                "OneStepPreviewAgent needs the simulator: start episodes with "
                "agents.base.start_episode (it calls attach_simulator)"
            )
        remaining = self.view.remaining(observation)
        need = self.view.block(observation, "memory_need")
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


#: The mean of ``|N(0, 1)|``: the expected shadow fading is ``sigma * sqrt(2 / pi)``.
MEAN_HALF_NORMAL = math.sqrt(2.0 / math.pi)


def arrival_rate_hz(scenario: ScenarioConfig) -> float:
    """The scenario's mean arrival rate (tasks/s), as any agent may know it from the config:
    a burst's tasks over its window, the Poisson rate, or a trace's mean rate (time-scaled)."""
    wl = scenario.workload
    if wl.source == "azure_trace":
        workload = load_workload(scenario)
        return float(workload.trace.mean_rate_hz)  # type: ignore[attr-defined]
    if wl.arrival == "burst":
        return scenario.n_tasks / max(wl.burst_window_s, 1e-9)
    return float(wl.poisson_rate_hz)


class _StateAware(_CapacityAware):
    """Shared model of the adaptive references: each server's latency for the current task at
    a given grant (slot wait + upload + compute + download, eq. 8 without what the agent
    cannot see: the fading is taken at its mean, the terminal where it is now), and the number
    of tasks expected to share what remains.

    :param expected_completion_tokens: the completion length assumed (unseen before
        generation) by token profiles and for the download; 64 is about the HumanEval
        canonical solutions' mean.
    :param hold_time_s: how long a task holds its grant, for the expected number of tasks
        that share what remains; ``None``: t_max (a task holds its grant at most that long).
    """

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        expected_completion_tokens: int = 64,
        hold_time_s: float | None = None,
    ) -> None:
        super().__init__(scenario, seed)
        if expected_completion_tokens < 1:
            raise ValueError(
                f"expected_completion_tokens = {expected_completion_tokens}: allowed >= 1"
            )
        if hold_time_s is not None and not hold_time_s > 0:
            raise ValueError(f"hold_time_s = {hold_time_s}: allowed > 0 or null")
        self.expected_completion_tokens = expected_completion_tokens
        self.hold_time_s = scenario.t_max_s if hold_time_s is None else float(hold_time_s)
        self._servers, _ = make_servers(scenario, total_resources(scenario))
        self._channel = Channel(scenario.channel)
        self._diagonal_m = math.sqrt(sum(a * a for a in scenario.area_m))
        self._fading_db = scenario.channel.shadowing_sigma_db * MEAN_HALF_NORMAL
        fleet = scenario.terminals
        self._uav_height_m = 0.5 * sum(fleet.uav_height_range_m)
        self._ground_height_m = fleet.ground_height_m
        self.share_of_system = np.array([s.resource_share for s in scenario.servers])
        self.rate_hz = arrival_rate_hz(scenario)

    def expected_sharers(self, observation: np.ndarray) -> float:
        """Tasks expected to hold resources together with this one (itself included): those
        left in the episode, at most the arrivals within one hold time."""
        left = float(self.view.task(observation, "tasks_left")) * self.scenario.n_tasks
        return max(1.0, min(left, self.rate_hz * self.hold_time_s))

    def fair_shares(self, observation: np.ndarray) -> np.ndarray:
        """(N, 2) compute and bandwidth: what remains on each server over the tasks expected
        to share it (each server receives its share of the system's tasks)."""
        remaining = self.view.remaining(observation)[:, :2]
        sharers = np.maximum(1.0, self.expected_sharers(observation) * self.share_of_system)
        return remaining / sharers[:, None]

    def predicted_latency_s(
        self, observation: np.ndarray, compute: np.ndarray, bandwidth: np.ndarray
    ) -> np.ndarray:
        """Predicted latency per server at the given grants (shares of each server)."""
        wl = self.scenario.workload
        prompt_tokens = prompt_tokens_of(self.view, observation)
        prompt_bytes = prompt_tokens * wl.bytes_per_token
        completion_bytes = self.expected_completion_tokens * wl.bytes_per_token
        airborne = float(self.view.task(observation, "airborne")) > 0.5
        height = self._uav_height_m if airborne else self._ground_height_m
        distance = self.view.block(observation, "distance") * self._diagonal_m
        wait = self.view.wait_s(observation)
        cfg = self.scenario.channel
        latencies = np.empty(self.n_servers)
        for j, server in enumerate(self._servers):
            units = float(compute[j]) * server.capacity.compute_units
            bw_hz = float(bandwidth[j]) * server.capacity.bandwidth_hz
            loss = self._channel.path_loss_db(float(distance[j]), height, server.position_m[2])
            gain = self._channel.gain_db(loss, self._fading_db)
            up = self._channel.rate_bps(bw_hz, cfg.uplink_power_dbm, gain)
            down = self._channel.rate_bps(bw_hz, cfg.downlink_power_dbm, gain)
            transfer_s = self._channel.transmission_time_s(
                prompt_bytes, up
            ) + self._channel.transmission_time_s(completion_bytes, down)
            compute_s = server.compute_time_s(units, prompt_tokens, self.expected_completion_tokens)
            latencies[j] = wait[j] + transfer_s + compute_s
        return latencies

    def predicted_reward(self, latency_s: np.ndarray, feasible: np.ndarray) -> np.ndarray:
        """Eq. 14 per server for the predicted latencies; -inf where the task cannot be held
        or is predicted to miss t_max."""
        pass_at_100 = np.array([s.pass_at_100 for s in self.scenario.servers])
        ok = feasible & (latency_s <= self.scenario.t_max_s)
        with np.errstate(divide="ignore"):
            reward = 1.0 / latency_s + pass_at_100
        return np.where(ok, reward, -np.inf)

    def grant(
        self, observation: np.ndarray, server: int, compute: float, bandwidth: float
    ) -> Action:
        """Compute and bandwidth capped by what remains, exactly the memory need."""
        remaining = self.view.remaining(observation)[server]
        memory = min(1.0, float(self.view.block(observation, "memory_need")[server]))
        shares = (min(compute, float(remaining[0])), min(bandwidth, float(remaining[1])), memory)
        return {"server": server, "share": np.array(shares, np.float32)}

    def grant_on_best_server(
        self, observation: np.ndarray, info: Mapping[str, Any], grants: np.ndarray
    ) -> Action:
        """Grant ``grants[j]`` (compute, bandwidth shares per server j) on the feasible server
        with the best predicted reward at its grant; refuse when none is predicted to meet
        t_max (the task would only hold resources until then)."""
        latency = self.predicted_latency_s(observation, grants[:, 0], grants[:, 1])
        reward = self.predicted_reward(latency, self.feasible(info, self.n_servers))
        if not np.isfinite(reward).any():
            return refuse()
        server = int(np.argmax(reward))
        return self.grant(observation, server, grants[server, 0], grants[server, 1])


#: The action that refuses a task: no memory fails it at admission, holding nothing.
def refuse(server: int = 0) -> Action:
    """Refuse the current task (no grant: it fails at admission and holds nothing)."""
    return {"server": server, "share": np.zeros(3, np.float32)}


class FairShareAgent(_StateAware):
    """A fair share of what remains: each server's remaining compute and bandwidth divided by
    the tasks expected to share it before they come back (those left in the episode, at most
    the arrivals within one hold time, split by the servers' shares of the system); the task
    goes to the feasible server with the best predicted reward at that grant, and is refused
    when no server is predicted to meet t_max (it would only hold resources until then)."""

    name = "fair_share"
    capabilities = Capabilities()  # a reference: no learning, reads only its observation

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        return self.grant_on_best_server(observation, info, self.fair_shares(observation))


class BestServerAgent(_StateAware):
    """Grant most of the best feasible server: ``grant_fraction`` of what remains of its
    compute and bandwidth, on the server with the best predicted reward at that grant; refuse
    when no server is predicted to meet t_max. Right when tasks are few or far apart (token
    profiles: a whole GPU serves a request in a fraction of a second), wasteful in a burst.

    :param grant_fraction: the part of what remains that one task is granted, in (0, 1].
    """

    name = "best_server"
    capabilities = Capabilities()  # a reference: no learning, reads only its observation

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        expected_completion_tokens: int = 64,
        hold_time_s: float | None = None,
        grant_fraction: float = 0.75,
    ) -> None:
        super().__init__(scenario, seed, expected_completion_tokens, hold_time_s)
        if not 0.0 < grant_fraction <= 1.0:
            raise ValueError(f"grant_fraction = {grant_fraction}: allowed (0, 1]")
        self.grant_fraction = float(grant_fraction)

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        grants = self.grant_fraction * self.view.remaining(observation)[:, :2]
        return self.grant_on_best_server(observation, info, grants)


class KVAdmissionAgent(_StateAware):
    """Packing with admission control by KV-cache need.

    Admission: a task whose memory need exceeds a threshold is refused. The threshold comes
    from the workload's need distribution (its prompt lengths, as the env sizes memory) and is
    recomputed at every decision from the state: with k the tasks expected to hold memory
    together from now on (:meth:`expected_sharers`) and M the memory that remains on all
    servers, it is the largest need q such that k tasks, admitted only below q, fit on
    average (``k * E[need; need <= q] <= M``); no threshold when all k fit on average.
    Refusing the largest caches admits the most tasks, and every completed task earns about
    the same (eq. 14), so this is the fractional-knapsack rule; recomputing it lets the
    threshold rise when admitted tasks took less than expected (and fall when more).
    Placement: among feasible servers predicted to meet t_max at a fair-share grant, the one
    the task fills best (least memory left after it: best fit).
    """

    name = "kv_admission"
    capabilities = Capabilities()  # a reference: no learning, reads only its observation

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        expected_completion_tokens: int = 64,
        hold_time_s: float | None = None,
    ) -> None:
        super().__init__(scenario, seed, expected_completion_tokens, hold_time_s)
        self.needs = NeedDistribution(scenario)
        self._memory_bytes = np.array([s.capacity.memory_bytes for s in self._servers])
        #: The threshold at the episode's start (all memory free).
        self.threshold_bytes = self.needs.threshold_bytes(
            min(float(scenario.n_tasks), self.rate_hz * self.hold_time_s),
            float(self._memory_bytes.sum()),
        )

    def admission_threshold_bytes(self, observation: np.ndarray) -> float:
        """The threshold for the current task, from what remains (see the class doc)."""
        memory = float(self.view.block(observation, "memory") @ self._memory_bytes)
        return self.needs.threshold_bytes(self.expected_sharers(observation), memory)

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        need = float(info.get("memory_need_bytes", 0.0))
        if need > self.admission_threshold_bytes(observation):
            return refuse()
        shares = self.fair_shares(observation)
        latency = self.predicted_latency_s(observation, shares[:, 0], shares[:, 1])
        reward = self.predicted_reward(latency, self.feasible(info, self.n_servers))
        candidates = np.flatnonzero(np.isfinite(reward))
        if candidates.size == 0:
            return refuse()
        left = self.view.block(observation, "memory") - self.view.block(observation, "memory_need")
        server = int(candidates[np.lexsort((-reward[candidates], left[candidates]))[0]])
        return self.grant(observation, server, shares[server, 0], shares[server, 1])


class NeedDistribution:
    """The memory needs of the scenario's workload (its prompt lengths, as the env sizes
    memory), sorted, for the KV-cache admission threshold.

    :param scenario: the scenario.
    """

    def __init__(self, scenario: ScenarioConfig) -> None:
        workload = load_workload(scenario)
        needs = memory_need_bytes(
            workload.sizing_prompt_tokens(), scenario.workload, scenario.resources
        )
        self.sorted_bytes = np.sort(np.asarray(needs, dtype=np.float64))
        #: E[need; need <= sorted_bytes[q]] for every q.
        self.partial_mean_bytes = np.cumsum(self.sorted_bytes) / self.sorted_bytes.size

    def threshold_bytes(self, tasks: float, memory_bytes: float) -> float:
        """The largest need q with ``tasks * E[need; need <= q] <= memory_bytes`` (inf when
        every need fits on average, 0 when none does)."""
        expected = tasks * self.partial_mean_bytes
        if expected[-1] <= memory_bytes:
            return math.inf
        fits = np.flatnonzero(expected <= memory_bytes)
        return float(self.sorted_bytes[fits[-1]]) if fits.size else 0.0


def admission_threshold_bytes(scenario: ScenarioConfig, concurrent_tasks: float) -> float:
    """The KV-cache admission threshold with all of the scenario's memory free (bytes).

    :param scenario: the scenario (its workload's need distribution and total memory).
    :param concurrent_tasks: tasks expected to hold memory at once.
    """
    capacity = total_resources(scenario).memory_bytes
    return NeedDistribution(scenario).threshold_bytes(concurrent_tasks, capacity)
