"""Clairvoyant bracket on an episode's sum reward: [best feasible known, upper bound].

Given a finished episode in hindsight (arrival times, requesting terminals and their motion,
the shadow fading of every transmission, the servers' capacities), no policy can score more
than the optimum of the program below, solved by SciPy's HiGHS (``scipy.optimize.milp``).

Variables: ``x[i, j, k, m]`` in [0, 1], task i offloaded to server j with a compute grant in
level k's interval ``[c_k, c_{k+1})`` and a bandwidth grant in level m's interval
``[b_m, b_{m+1})`` (the top levels end at the server's capacity; level 0 starts at 0; with a
single bandwidth level, ``[0, W_j]``).

Objective: ``max sum x * r`` with ``r = 1 / L + P_j``, L the latency of task i on j when
granted ``c_{k+1}`` and ``b_{m+1}`` (the tops of its intervals) and no queue; cells whose L
exceeds t_max are left out (their tasks cannot complete). Subject to:

- each task at most once: ``sum_{j,k,m} x[i, j, k, m] <= 1``;
- at every arrival time t and server j, the tasks that must still hold resources on j at t
  (admitted at ``a_i <= t`` and not delivered before ``a_i + L``) fit: their memory needs sum
  to at most ``M_j``, their grants ``c_k`` to at most ``C_j`` and ``b_m`` to at most ``W_j``;
- per server and window of consecutive arrivals, the slot-time the window's tasks compute
  for fits in the server's slots (item 3 below).

Why it is an upper bound (each relaxation only enlarges the feasible set or the objective):

1. Reward: compute time falls and Shannon rate rises with the grant (checked for every compute
   profile, :func:`check_profiles_monotone`), and queueing only adds delay, so a task granted
   any compute in ``[c_k, c_{k+1})`` and bandwidth in ``[b_m, b_{m+1})`` has a latency of at
   least L and a reward of at most r; a task that misses t_max earns 0, which cells left out
   allow.
2. Resources: a real grant in the interval is at least its bottom, of memory at least the need
   (less fails the task); a real task holds them from its admission at ``a_i`` until its
   delivery, which is no earlier than ``a_i + L``. So the held amounts of any real schedule
   satisfy the capacity rows; checking them only at arrival times loses nothing (the set of
   holders only grows at arrivals), and a row whose holders are a subset of another row's
   (no holder leaves before the next arrival) is implied by it and dropped.
3. Compute slots (``S_j`` per server) are constrained only in aggregate: the tasks arriving
   in a window compute, in total, for at most ``S_j`` times the window plus t_max (each
   completing task computes for at least its cell's compute time, inside its deadline; see
   :func:`_slot_rows`); tasks that fail take no resources here (in the simulator they may
   hold some until their deadline).
4. x is continuous: the LP relaxation of the MILP (``integral=True`` solves the MILP; its
   value is HiGHS's dual bound, itself >= the MILP optimum).

A finer grid that contains the coarser one's points can only lower the optimum (each coarse
cell splits into cells that use at least as much and earn at most as much), so
:func:`refined_upper_bound` halves the grid's log-ratio until the bound moves by less than
``tolerance`` and returns the last (lowest) value.

The lower end of the bracket: :func:`lp_rounding_schedule` replays the episode in the simulator,
giving each task, in arrival order, the LP cell with the largest weight that still completes
(a privileged, clairvoyant schedule, feasible by construction). The best feasible known score
is the larger of it and any policy's score on the same episode.

Assumptions the argument rests on: compute time does not rise with the grant (checked; a
measured CPU profile with noisy thread timings may break it and raises
:class:`NonMonotoneProfileError`), and a later finish cannot make the delivery earlier (the
terminal moves between finish and delivery, but the download takes micro- to milliseconds,
far less than any change of compute time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from cloudedge.config import ComputeProfileConfig, ScenarioConfig
from cloudedge.entities import resolve_compute_profile
from cloudedge.env import CloudEdgeEnv
from cloudedge.metrics import TaskStatus
from cloudedge.profiles import ComputeProfile
from cloudedge.sim import Simulator

#: Version of the bound's definition: results cached under an older version are stale (2: grid
#: refined to < 0.5%, slot rows, bandwidth levels; 1: one fixed grid of 12 levels, ratio 1.5).
BOUND_VERSION = 2
#: Default relative change below which a refined grid is accepted (the issue's 0.5%).
REFINE_TOLERANCE = 0.005
#: The first grid of :func:`refined_upper_bound`: levels above 0 and their ratio.
START_LEVELS = 12
START_RATIO = 1.5
#: Refinement stops after this many grids even if the bound still moves (it is valid anyway).
MAX_REFINEMENTS = 5
#: Relative tolerance when checking that compute time does not rise with the share.
MONOTONE_RTOL = 1e-9


class NonMonotoneProfileError(ValueError):
    """A compute profile's time rises with the compute granted: the bound does not hold."""


def check_profiles_monotone(scenario: ScenarioConfig) -> None:
    """Check the bound's assumption on every server's compute profile.

    Calibrated profiles (``floor_s + scale_s * nominal / units``) are non-increasing when
    ``scale_s >= 0``; token profiles must have, at every (prompt, completion) grid point, times
    that do not rise along the share axis (the interpolation in ``1/share`` and the clamps of
    :class:`cloudedge.profiles.ComputeProfile` then keep every query monotone).

    :raises NonMonotoneProfileError: naming the server, the profile and the first violation.
    """
    for index, server in enumerate(scenario.servers):
        model = resolve_compute_profile(scenario, server.compute_profile)
        where = f"servers[{index}] ({server.name}) compute_profile {server.compute_profile!r}"
        if isinstance(model, ComputeProfileConfig):
            if model.scale_s < 0:
                raise NonMonotoneProfileError(
                    f"{where}: scale_s = {model.scale_s} < 0 makes compute time rise with "
                    "the grant; the bound assumes it does not (allowed scale_s >= 0)"
                )
            continue
        if not isinstance(model, ComputeProfile):
            raise TypeError(f"{where}: unknown compute model {type(model).__name__}")
        times = model.times_s
        rises = times[1:] > times[:-1] * (1.0 + MONOTONE_RTOL)
        if rises.any():
            k, p, c = (int(v) for v in np.argwhere(rises)[0])
            raise NonMonotoneProfileError(
                f"{where}: compute time rises with the share at prompt_tokens = "
                f"{model.prompt_tokens[p]}, completion_tokens = {model.completion_tokens[c]}: "
                f"share {model.shares[k]:g} -> {model.shares[k + 1]:g} takes "
                f"{times[k, p, c]:.6g} s -> {times[k + 1, p, c]:.6g} s; the bound assumes "
                "time is non-increasing in the grant (re-measure or smooth the profile)"
            )


@dataclass(frozen=True)
class Grid:
    """The grant grid of the program.

    :param n_levels: compute levels per server above 0.
    :param ratio: ratio between consecutive compute levels (> 1).
    :param n_bandwidth_levels: bandwidth levels above 0; 1 gives every task the server's
        whole bandwidth at no cost (the right relaxation where transmission is milliseconds).
    :param bandwidth_ratio: ratio between consecutive bandwidth levels (> 1).
    :param depth: refinements made: the compute levels are ``capacity * ratio ** (-m / 2^depth)``
        for ``m < n_levels``, so a refined grid holds the coarser one's levels bit for bit (and
        their latencies are computed once, see :func:`refined_upper_bound`).
    """

    n_levels: int = START_LEVELS
    ratio: float = START_RATIO
    n_bandwidth_levels: int = 1
    bandwidth_ratio: float = 2.0
    depth: int = 0

    @property
    def step_ratio(self) -> float:
        """The ratio between consecutive compute levels."""
        return float(self.ratio ** (1.0 / 2**self.depth))

    def compute_levels(self, capacity: float) -> np.ndarray:
        """``0 = c_0 < c_1 < ... < c_K = capacity`` (geometric above 0)."""
        exponents = np.arange(self.n_levels - 1, -1, -1, dtype=np.float64) / 2**self.depth
        return np.concatenate(([0.0], capacity * self.ratio**-exponents))

    def __post_init__(self) -> None:
        if self.n_levels < 1 or not self.ratio > 1.0:
            raise ValueError(
                f"n_levels = {self.n_levels} (allowed >= 1), ratio = {self.ratio} (allowed > 1)"
            )
        if self.n_bandwidth_levels < 1 or not self.bandwidth_ratio > 1.0:
            raise ValueError(
                f"n_bandwidth_levels = {self.n_bandwidth_levels} (allowed >= 1), "
                f"bandwidth_ratio = {self.bandwidth_ratio} (allowed > 1)"
            )

    def refined(self) -> Grid:
        """The next grid: every compute point of this one and the geometric midpoints between
        them (so the optimum can only fall); the bandwidth grid is kept (refining both would
        multiply the cells, and compute is the grant every scenario's latency turns on)."""
        return Grid(
            2 * self.n_levels,
            self.ratio,
            self.n_bandwidth_levels,
            self.bandwidth_ratio,
            self.depth + 1,
        )


@dataclass(frozen=True)
class BoundResult:
    """The bound and what it rests on.

    :param upper_bound: the optimal value (an upper bound on the episode's sum reward).
    :param integral: whether x was binary (MILP) or continuous (LP).
    :param n_variables: number of (task, server, level) cells that can complete.
    :param grid: the grid the value was computed on.
    :param previous_bound: the bound on the previous (coarser) grid, when refined; NaN if not.
    :param feasible: the sum reward of the LP-rounding schedule (a feasible lower end of the
        bracket), NaN when not computed.
    """

    upper_bound: float
    integral: bool
    n_variables: int
    grid: Grid = Grid()
    previous_bound: float = math.nan
    feasible: float = math.nan

    @property
    def refinement_change(self) -> float:
        """Relative change of the bound at the last refinement (NaN when not refined)."""
        if not math.isfinite(self.previous_bound) or self.previous_bound <= 0:
            return math.nan
        return (self.previous_bound - self.upper_bound) / self.previous_bound

    @property
    def gap(self) -> float:
        """``(upper - feasible) / upper``: how far the bracket is from closed (NaN if unknown)."""
        if not math.isfinite(self.feasible) or self.upper_bound <= 0:
            return math.nan
        return (self.upper_bound - self.feasible) / self.upper_bound


def compute_levels(capacity: float, n_levels: int, ratio: float) -> np.ndarray:
    """Geometric grid ``0 = c_0 < c_1 < ... < c_K = capacity`` with ``c_{k+1} / c_k = ratio``."""
    top = capacity * ratio ** -np.arange(n_levels - 1, -1, -1, dtype=np.float64)
    return np.concatenate(([0.0], top))


@dataclass
class _Program:
    """The LP's cells (one per variable) and its solution."""

    rewards: np.ndarray
    task: np.ndarray
    server: np.ndarray
    compute: np.ndarray  # c_k (bottom of the interval, what the capacity rows count)
    bandwidth: np.ndarray  # b_m
    compute_top: np.ndarray  # c_{k+1} (what the reward assumed)
    bandwidth_top: np.ndarray  # b_{m+1}
    compute_s: np.ndarray  # compute time at c_{k+1} (the least a real grant in the cell takes)
    x: np.ndarray | None = None


def _empty_servers(simulator: Simulator) -> list:
    """Fresh, empty copies of the servers: no queue, full capacity."""
    servers = [s.clone() for s in simulator.servers]
    for s in servers:
        s.remaining.compute_units = s.capacity.compute_units
        s.remaining.bandwidth_hz = s.capacity.bandwidth_hz
        s.remaining.memory_bytes = s.capacity.memory_bytes
        s._slot_free_s = [-math.inf] * len(s._slot_free_s)
    return servers


#: Latency, compute time and arrival of (task, server, compute grant, bandwidth grant).
_TimelineCache = dict[tuple[int, int, float, float], tuple[float, float, float]]


def _cells(
    simulator: Simulator, grid: Grid, cache: _TimelineCache | None = None
) -> tuple[_Program, np.ndarray, np.ndarray]:
    """Every (task, server, level) cell that completes: the program's variables.

    :param cache: timelines already computed (by a coarser grid of the same episode).

    :return: the cells, their arrival times and their latencies (s).
    """
    t_max = simulator.scenario.t_max_s
    tasks = simulator.tasks
    n_tasks = len(tasks)
    columns: dict[str, list[float]] = {
        k: [] for k in ("r", "i", "j", "c", "b", "ct", "bt", "a", "L", "cs")
    }
    for j, server in enumerate(_empty_servers(simulator)):
        c_levels = grid.compute_levels(server.capacity.compute_units).tolist()
        if grid.n_bandwidth_levels == 1:
            b_levels = np.array([0.0, server.capacity.bandwidth_hz])
        else:
            b_levels = compute_levels(
                server.capacity.bandwidth_hz, grid.n_bandwidth_levels, grid.bandwidth_ratio
            )
        pass_at_100 = server.config.pass_at_100
        for i in range(n_tasks):
            for m in range(len(b_levels) - 1):
                previous = math.nan
                b_top = float(b_levels[m + 1])
                for k in range(grid.n_levels):
                    key = (i, j, c_levels[k + 1], b_top)
                    known = None if cache is None else cache.get(key)
                    if known is None:
                        tl = simulator.timeline(i, server, c_levels[k + 1], b_top)
                        known = (tl.delivered_s - tl.arrival_s, tl.compute_s, tl.arrival_s)
                        if cache is not None:
                            cache[key] = known
                    latency, compute_s, arrival_s = known
                    # A cell with the latency of the level below (a profile flat beyond its
                    # largest share) uses more for the same reward: it is dominated.
                    if not latency <= t_max or latency == previous:
                        previous = latency
                        continue
                    previous = latency
                    columns["r"].append(1.0 / latency + pass_at_100)
                    columns["i"].append(i)
                    columns["j"].append(j)
                    columns["c"].append(c_levels[k])
                    columns["b"].append(b_levels[m])
                    columns["ct"].append(c_levels[k + 1])
                    columns["bt"].append(b_levels[m + 1])
                    columns["a"].append(arrival_s)
                    columns["L"].append(latency)
                    columns["cs"].append(compute_s)
    arr = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
    program = _Program(
        rewards=arr["r"],
        task=arr["i"].astype(np.int64),
        server=arr["j"].astype(np.int64),
        compute=arr["c"],
        bandwidth=arr["b"],
        compute_top=arr["ct"],
        bandwidth_top=arr["bt"],
        compute_s=arr["cs"],
    )
    return program, arr["a"], arr["L"]


def _capacity_rows(
    program: _Program,
    arrival_s: np.ndarray,
    latency_s: np.ndarray,
    simulator: Simulator,
    n_tasks: int,
) -> tuple[csr_array, np.ndarray]:
    """The program's constraint matrix and right-hand sides (all rows are ``<= upper``)."""
    rows: list[np.ndarray] = [program.task]
    cols: list[np.ndarray] = [np.arange(len(program.rewards))]
    vals: list[np.ndarray] = [np.ones(len(program.rewards))]
    n_rows = n_tasks
    times = np.unique(simulator.tasks.arrival_s)
    need = simulator.tasks.memory_need_bytes[program.task].astype(np.float64)
    for j, server in enumerate(simulator.servers):
        members = np.flatnonzero(program.server == j)
        if members.size == 0:
            continue
        start = arrival_s[members]
        end = start + latency_s[members]
        holds = (start[None, :] <= times[:, None]) & (times[:, None] < end[None, :])
        # Keep a row only if one of its holders leaves before the next arrival (else the next
        # row holds a superset and implies it); the last arrival's row always stays.
        next_time = np.append(times[1:], math.inf)
        leaves = holds & (end[None, :] <= next_time[:, None])
        keep = np.flatnonzero(leaves.any(axis=1))
        cap = server.capacity
        usages = [need[members] / cap.memory_bytes, program.compute[members] / cap.compute_units]
        if np.any(program.bandwidth[members] > 0):
            usages.append(program.bandwidth[members] / cap.bandwidth_hz)
        for t_index in keep:
            held = np.flatnonzero(holds[t_index])
            for usage in usages:
                rows.append(np.full(held.size, n_rows))
                cols.append(members[held])
                vals.append(usage[held])
                n_rows += 1
        n_rows = _slot_rows(program, members, server, simulator, rows, cols, vals, n_rows)
    matrix = csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, len(program.rewards)),
    )
    return matrix, np.ones(n_rows)  # capacity rows are normalised by capacity


def _slot_rows(
    program: _Program,
    members: np.ndarray,
    server,
    simulator: Simulator,
    rows: list[np.ndarray],
    cols: list[np.ndarray],
    vals: list[np.ndarray],
    n_rows: int,
) -> int:
    """Compute-slot rows of server j (energetic reasoning), appended in place.

    A task that completes computes, in one of the server's ``S`` slots, for at least its
    cell's compute time, inside ``[a_i, a_i + t_max]``. So the tasks that arrive between the
    k-th and the m-th arrival compute for at most ``S * (a_m + t_max - a_k)`` in total. Rows are
    kept for windows of ``S * 2^p`` consecutive arrivals (and the whole episode) where the
    tasks' largest compute times could exceed that (elsewhere the row cannot bind).

    :return: the new row count.
    """
    slots = server.config.parallel_slots
    t_max = simulator.scenario.t_max_s
    task = program.task[members]
    arrivals = simulator.tasks.arrival_s
    n_tasks = len(arrivals)
    longest = np.zeros(n_tasks)
    np.maximum.at(longest, task, program.compute_s[members])
    prefix = np.concatenate(([0.0], np.cumsum(longest)))
    widths = sorted({*(slots * 2**p for p in range(32) if slots * 2**p < n_tasks), n_tasks})
    for width in widths:
        for first in range(0, n_tasks - width + 1, max(1, width // 2)):
            last = first + width - 1
            capacity_s = slots * (arrivals[last] + t_max - arrivals[first])
            if prefix[last + 1] - prefix[first] <= capacity_s:
                continue
            inside = (task >= first) & (task <= last)
            rows.append(np.full(int(inside.sum()), n_rows))
            cols.append(members[inside])
            vals.append(program.compute_s[members][inside] / capacity_s)
            n_rows += 1
    return n_rows


def _solve(
    simulator: Simulator, grid: Grid, integral: bool, cache: _TimelineCache | None = None
) -> tuple[BoundResult, _Program]:
    program, arrival_s, latency_s = _cells(simulator, grid, cache)
    n_vars = len(program.rewards)
    if n_vars == 0:
        return BoundResult(0.0, integral, 0, grid), program
    matrix, upper = _capacity_rows(program, arrival_s, latency_s, simulator, len(simulator.tasks))
    result = milp(
        c=-program.rewards,
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.full(n_vars, 1 if integral else 0),
        bounds=Bounds(0.0, 1.0),
    )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"HiGHS could not solve the bound program: {result.message}")
    # For a MILP, HiGHS's dual bound (>= the true optimum), not the best solution it found.
    value = -result.fun
    if integral and getattr(result, "mip_dual_bound", None) is not None:
        value = -result.mip_dual_bound
    program.x = np.asarray(result.x)
    return BoundResult(float(value), integral, n_vars, grid), program


def upper_bound(
    simulator: Simulator,
    *,
    integral: bool = False,
    n_levels: int = START_LEVELS,
    ratio: float = START_RATIO,
    n_bandwidth_levels: int = 1,
    bandwidth_ratio: float = 2.0,
) -> BoundResult:
    """Bound the sum reward of the episode ``simulator`` holds, on one grid.

    :param simulator: an episode's simulator, fresh from reset; only its tasks, terminals,
        fading and capacities are read (its state is not changed).
    :param integral: solve the MILP (binary x) instead of its LP relaxation.
    :param n_levels: compute levels per server above 0.
    :param ratio: ratio between consecutive levels (> 1).
    :param n_bandwidth_levels: bandwidth levels above 0 (1: bandwidth unconstrained).
    :param bandwidth_ratio: ratio between consecutive bandwidth levels (> 1).
    :raises NonMonotoneProfileError: when a profile breaks the bound's assumption.
    """
    grid = Grid(n_levels, ratio, n_bandwidth_levels, bandwidth_ratio)
    check_profiles_monotone(simulator.scenario)
    return _solve(simulator, grid, integral)[0]


def refined_upper_bound(
    simulator: Simulator,
    *,
    grid: Grid | None = None,
    tolerance: float = REFINE_TOLERANCE,
    max_refinements: int = MAX_REFINEMENTS,
) -> tuple[BoundResult, _Program]:
    """The LP bound, its grid refined (:meth:`Grid.refined`) until the bound moves by less
    than ``tolerance`` (relative) or ``max_refinements`` refinements were made.

    :param simulator: an episode's simulator, fresh from reset (not changed).
    :param grid: the first grid (default :class:`Grid`'s defaults).
    :param tolerance: relative change that stops the refinement.
    :param max_refinements: the most refinements made.
    :return: the last bound (the lowest: finer grids nest the coarser) and its program.
    :raises NonMonotoneProfileError: when a profile breaks the bound's assumption.
    """
    check_profiles_monotone(simulator.scenario)
    grid = Grid() if grid is None else grid
    cache: _TimelineCache = {}
    result, program = _solve(simulator, grid, integral=False, cache=cache)
    for _ in range(max_refinements):
        finer, finer_program = _solve(simulator, grid.refined(), integral=False, cache=cache)
        # Nested grids: the finer optimum is <= the coarser (up to solver tolerance).
        value = min(finer.upper_bound, result.upper_bound)
        result = BoundResult(
            value, False, finer.n_variables, finer.grid, previous_bound=result.upper_bound
        )
        program, grid = finer_program, finer.grid
        if not result.refinement_change >= tolerance:
            break
    return result, program


def lp_rounding_schedule(env: CloudEdgeEnv, program: _Program, seed: int) -> float:
    """Play the episode ``env.reset(seed=seed)`` with the LP's cells, rounded greedily.

    Each task, in arrival order, tries the cells the LP gave it weight, heaviest first: the
    compute and bandwidth at the tops of the cell's intervals (what the LP's reward assumed;
    with a single bandwidth level, the larger of the task's nominal bandwidth and its compute
    fraction), capped by what remains, and exactly its memory need; it takes the first that
    completes (checked by :meth:`Simulator.preview`), else it is refused (no memory: holds
    nothing). Feasible by construction; it reads the simulator, so it is a bracket, not a policy.

    :return: the schedule's sum reward.
    """
    if program.x is None:
        raise ValueError("lp_rounding_schedule needs a solved program")
    env.reset(seed=seed)
    sim = env.simulator
    assert sim is not None
    scenario = env.scenario
    nominal_bw = np.array(
        [1.0 / (scenario.resources.reference_tasks * s.resource_share) for s in scenario.servers]
    )
    weight = np.where(program.x > 1e-6, program.x, 0.0)
    # Per task: the LP's cells, heaviest first; then, should none of them still complete, the
    # others, smallest compute grant first (what leaves most for the tasks behind).
    fallback = np.where(weight > 0, 0.0, program.compute_top)
    order = np.lexsort((-program.rewards, fallback, -weight, program.task))
    by_task: dict[int, list[int]] = {}
    for v in order:
        by_task.setdefault(int(program.task[v]), []).append(int(v))
    total = 0.0
    refuse = {"server": 0, "share": np.zeros(3, np.float32)}
    while not sim.done:
        i = sim.next_task
        action = refuse
        for v in by_task.get(i, []):
            j = int(program.server[v])
            server = sim.servers[j]
            cap, rem = server.capacity, server.remaining
            compute = min(program.compute_top[v], rem.compute_units) / cap.compute_units
            if program.bandwidth.any() or program.bandwidth_top[v] < cap.bandwidth_hz:
                bandwidth = program.bandwidth_top[v] / cap.bandwidth_hz
            else:
                bandwidth = max(float(nominal_bw[j]), compute)
            bandwidth = min(bandwidth, rem.bandwidth_hz / cap.bandwidth_hz)
            memory = min(1.0, sim.current_memory_need_bytes() / cap.memory_bytes)
            shares = (float(compute), float(bandwidth), float(memory))
            if sim.preview(j, shares).status is TaskStatus.COMPLETED:
                action = {"server": j, "share": np.array(shares, np.float64)}
                break
        total += env.step(action)[1]
    return total


def _episode_env(scenario: ScenarioConfig, seed: int) -> CloudEdgeEnv:
    env = CloudEdgeEnv(scenario)
    env.reset(seed=seed)
    return env


def episode_upper_bound(
    scenario: ScenarioConfig,
    seed: int,
    *,
    integral: bool = False,
    refine: bool = True,
    feasible: bool = False,
    grid: Grid | None = None,
) -> BoundResult:
    """The bound for the episode ``CloudEdgeEnv(scenario).reset(seed=seed)`` produces.

    :param scenario: the scenario.
    :param seed: the episode's seed.
    :param integral: solve the MILP on ``grid`` (small instances only; no refinement).
    :param refine: refine the LP's grid until it moves by < :data:`REFINE_TOLERANCE`.
    :param feasible: also play the LP-rounding schedule (:func:`lp_rounding_schedule`).
    :param grid: the (first) grid; default :class:`Grid`'s.
    :raises NonMonotoneProfileError: when a profile breaks the bound's assumption.
    """
    env = _episode_env(scenario, seed)
    simulator = env.simulator
    assert simulator is not None
    check_profiles_monotone(scenario)
    if integral or not refine:
        result, program = _solve(simulator, Grid() if grid is None else grid, integral)
    else:
        result, program = refined_upper_bound(simulator, grid=grid)
    if feasible and not integral:
        value = lp_rounding_schedule(env, program, seed) if program.x is not None else 0.0
        result = BoundResult(
            result.upper_bound,
            result.integral,
            result.n_variables,
            result.grid,
            result.previous_bound,
            value,
        )
    return result


__all__ = [
    "BOUND_VERSION",
    "BoundResult",
    "Grid",
    "NonMonotoneProfileError",
    "check_profiles_monotone",
    "compute_levels",
    "episode_upper_bound",
    "lp_rounding_schedule",
    "refined_upper_bound",
    "upper_bound",
]
