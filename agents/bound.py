"""Clairvoyant upper bound on an episode's sum reward, by linear (or mixed-integer) programming.

Given a finished episode in hindsight (arrival times, requesting terminals and their motion,
the shadow fading of every transmission, the servers' capacities), no policy can score more
than the optimum of the program below, solved by SciPy's HiGHS (``scipy.optimize.milp``).

Variables: ``x[i, j, k]`` in [0, 1], task i offloaded to server j with a compute grant in
level k's interval ``[c_k, c_{k+1})`` (the top level is ``[c_K, C_j]``; level 0 starts at 0).

Objective: ``max sum x[i, j, k] * r[i, j, k]`` with ``r = 1 / L + P_j``, L the latency of task
i on j when granted ``c_{k+1}`` (the top of its interval), *all* of j's bandwidth and no queue;
levels whose L exceeds t_max are left out (their tasks cannot complete). Subject to:

- each task at most once: ``sum_{j,k} x[i, j, k] <= 1``;
- at every arrival time t and server j, the tasks that must still hold resources on j at t
  (admitted at ``a_i <= t`` and not delivered before ``a_i + L``) fit: their memory needs sum
  to at most ``M_j`` and their grants ``c_k`` to at most ``C_j``.

Why it is an upper bound (each relaxation only enlarges the feasible set or the objective):

1. Reward: compute time falls and Shannon rate rises with the grant, and queueing only adds
   delay, so a task granted any compute in ``[c_k, c_{k+1})`` has a latency of at least L and
   a reward of at most r; a task that misses t_max earns 0, which levels left out allow.
2. Compute and memory: a real grant of compute in the interval is at least ``c_k``, of memory
   at least the need (less fails the task); a real task holds them from its admission at
   ``a_i`` until its delivery, which is no earlier than ``a_i + L``. So the held amounts of
   any real schedule satisfy the capacity rows; checking them only at arrival times loses
   nothing (the set of holders only grows at arrivals).
3. Bandwidth and compute slots are not constrained at all, and tasks that fail take no
   resources here (in the simulator they may hold some until their deadline).
4. With ``integral=False`` (the default) x is continuous: the LP relaxation of the MILP.

So ``bound >= the sum reward of any policy`` on that episode; ``integral=True`` tightens it
(its value is HiGHS's dual bound, itself >= the MILP optimum).

Assumptions the argument rests on, true of every shipped profile: compute time does not rise
with the grant (a measured CPU profile with noisy thread timings may break this: check it
before trusting the bound on it), and a later finish cannot make the delivery earlier (the
terminal moves between finish and delivery, but the download takes micro- to milliseconds,
far less than any change of compute time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from cloudedge.config import ScenarioConfig
from cloudedge.sim import Simulator


@dataclass(frozen=True)
class BoundResult:
    """The bound and what it rests on.

    :param upper_bound: the optimal value (an upper bound on the episode's sum reward).
    :param integral: whether x was binary (MILP) or continuous (LP).
    :param n_variables: number of (task, server, level) triples that can complete.
    """

    upper_bound: float
    integral: bool
    n_variables: int


def compute_levels(capacity: float, n_levels: int, ratio: float) -> np.ndarray:
    """Geometric grid ``0 = c_0 < c_1 < ... < c_K = capacity`` with ``c_{k+1} / c_k = ratio``."""
    top = capacity * ratio ** -np.arange(n_levels - 1, -1, -1, dtype=np.float64)
    return np.concatenate(([0.0], top))


def upper_bound(
    simulator: Simulator, *, integral: bool = False, n_levels: int = 12, ratio: float = 1.5
) -> BoundResult:
    """Bound the sum reward of the episode ``simulator`` holds (use it fresh from reset).

    :param simulator: an episode's simulator; only its tasks, terminals, fading and
        capacities are read (its state is not changed).
    :param integral: solve the MILP (binary x) instead of its LP relaxation.
    :param n_levels: compute levels per server above 0.
    :param ratio: ratio between consecutive levels (> 1).
    """
    if n_levels < 1 or not ratio > 1.0:
        raise ValueError(f"n_levels = {n_levels} (allowed >= 1), ratio = {ratio} (allowed > 1)")
    scenario = simulator.scenario
    t_max = scenario.t_max_s
    tasks = simulator.tasks
    n_tasks = len(tasks)
    arrivals = tasks.arrival_s
    # Fresh, empty copies of the servers: no queue, full capacity.
    servers = [s.clone() for s in simulator.servers]
    for s in servers:
        s.remaining.compute_units = s.capacity.compute_units
        s.remaining.memory_bytes = s.capacity.memory_bytes
        s._slot_free_s = [-math.inf] * len(s._slot_free_s)

    rewards: list[float] = []
    task_of: list[int] = []
    cells: list[tuple[int, float, float, float, float]] = []  # server, c_k, need, a_i, L
    for j, server in enumerate(servers):
        levels = compute_levels(server.capacity.compute_units, n_levels, ratio)
        for i in range(n_tasks):
            for k in range(n_levels):
                grant_top = levels[k + 1]
                tl = simulator.timeline(i, server, grant_top, server.capacity.bandwidth_hz)
                latency = tl.delivered_s - tl.arrival_s
                if not latency <= t_max:
                    continue
                rewards.append(1.0 / latency + server.config.pass_at_100)
                task_of.append(i)
                cells.append(
                    (
                        j,
                        float(levels[k]),
                        float(tasks.memory_need_bytes[i]),
                        float(arrivals[i]),
                        latency,
                    )
                )
    n_vars = len(rewards)
    if n_vars == 0:
        return BoundResult(0.0, integral, 0)

    rows, cols, vals, upper = [], [], [], []
    # Each task at most once.
    for v, i in enumerate(task_of):
        rows.append(i)
        cols.append(v)
        vals.append(1.0)
    upper.extend([1.0] * n_tasks)
    row = n_tasks
    # Capacity rows at every arrival time, per server: memory then compute.
    for j, server in enumerate(servers):
        members = [v for v, c in enumerate(cells) if c[0] == j]
        for t in np.unique(arrivals):
            holders = [v for v in members if cells[v][3] <= t < cells[v][3] + cells[v][4]]
            if not holders:
                continue
            for v in holders:
                rows.append(row)
                cols.append(v)
                vals.append(cells[v][2] / server.capacity.memory_bytes)
                rows.append(row + 1)
                cols.append(v)
                vals.append(cells[v][1] / server.capacity.compute_units)
            upper.extend([1.0, 1.0])  # normalised by capacity for a well-scaled program
            row += 2
    matrix = csr_array((vals, (rows, cols)), shape=(row, n_vars))
    result = milp(
        c=-np.asarray(rewards),
        constraints=LinearConstraint(matrix, -np.inf, np.asarray(upper)),
        integrality=np.full(n_vars, 1 if integral else 0),
        bounds=Bounds(0.0, 1.0),
    )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"HiGHS could not solve the bound program: {result.message}")
    # For a MILP, HiGHS's dual bound (>= the true optimum), not the best solution it found.
    value = -result.fun
    if integral and getattr(result, "mip_dual_bound", None) is not None:
        value = -result.mip_dual_bound
    return BoundResult(float(value), integral, n_vars)


def episode_upper_bound(
    scenario: ScenarioConfig, seed: int, *, integral: bool = False
) -> BoundResult:
    """The bound for the episode ``CloudEdgeEnv(scenario).reset(seed=seed)`` produces."""
    from gymnasium.utils import seeding

    rng, _ = seeding.np_random(seed)
    return upper_bound(Simulator(scenario, rng), integral=integral)
