"""Where the clairvoyant bracket of :mod:`agents.bound` is open: loose bound or weak schedule.

For each case (a scenario, its task count, a variant and a seed) it computes, on the same
episode:

- ``lp_upper``: the LP bound, grid refined to < 0.5% (:func:`agents.bound.refined_upper_bound`);
- ``lp_coarse_upper`` and ``milp_upper``: the LP and the MILP on the first (coarse) grid, the
  MILP's value HiGHS's dual bound after at most ``--milp-nodes`` branch-and-bound nodes
  (``milp_gap`` is HiGHS's own relative gap then: 0 when it was proved optimal).
  ``milp_upper / lp_coarse_upper`` isolates the integrality relaxation (item 4 of the bound's
  docstring);
- ``lp_rounding_feasible``: the LP-rounding schedule played in the simulator;
- ``best_reference``: the best reference agent (``benchmarks.scenario_table.REFERENCES``);
- ``milp_schedule_feasible``: the MILP's incumbent cells played like the LP rounding;
- ``best_search_feasible``: a local search in the real simulator started from the best of the
  above: task by task, every (server, compute share) of a small menu and refusal is tried with
  the other tasks' decisions replayed (shares capped by what remains; a task that would miss
  its deadline is refused), the best kept, until a sweep improves nothing or ``--search-evals``
  episode suffixes have been played.

Both budgets count work, not seconds, so the same arguments give the same CSV on one machine
(the CPU seconds of each case are printed, not written).

Variants: ``base`` (the scenario as shipped, ``n_tasks`` overridden) and ``slots_inf`` (every
server's ``parallel_slots`` set to 10,000, so that the slot relaxation (item 3) and FIFO
queueing vanish from both ends of the bracket).

    python -m benchmarks.bound_gap --out results/bound_gap.csv
    python -m benchmarks.bound_gap --cases queueing:20:base --seeds 0 --search-evals 2000
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from agents.bound import (
    Grid,
    _capacity_rows,
    _cells,
    _Program,
    check_profiles_monotone,
    lp_rounding_schedule,
    refined_upper_bound,
)
from benchmarks.scenario_table import REFERENCES, play
from benchmarks.store import atomic_write_text
from cloudedge.config import ScenarioConfig, load_scenario
from cloudedge.env import CloudEdgeEnv
from cloudedge.metrics import TaskStatus
from cloudedge.sim import Simulator

ROOT = Path(__file__).resolve().parents[1]
#: Default cases: ``scenario:n_tasks:variant`` (n_tasks 0 = the scenario's own).
DEFAULT_CASES = (
    "queueing:20:base",
    "queueing:0:base",
    "dynamic_trace:20:base",
    "dynamic_trace:0:base",
    "azure_a100_3090:20:base",
    "azure_a100_3090:0:base",
    "humaneval_a100_3090:0:base",
)
VARIANTS = ("base", "slots_inf")
#: Compute shares (fractions of a server's capacity) the local search tries on every server.
SEARCH_SHARES = (0.025, 0.05, 0.1, 0.2, 0.4, 1.0)
#: A decision: ``None`` (refuse) or (server, compute share, bandwidth share) wanted; a NaN
#: bandwidth share means the larger of the server's nominal share and the compute share.
Decision = tuple[int, float, float] | None


@dataclass(frozen=True)
class GapRow:
    """One row of the CSV."""

    scenario: str
    variant: str
    n_tasks: int
    seed: int
    lp_upper: float
    lp_coarse_upper: float
    milp_upper: float
    milp_gap: float
    lp_rounding_feasible: float
    best_reference: float
    best_reference_agent: str
    milp_schedule_feasible: float
    best_search_feasible: float
    search_evals: int
    search_converged: bool
    cpu_s: float


def make_case(name: str, n_tasks: int, variant: str) -> ScenarioConfig:
    """The scenario ``name`` with ``n_tasks`` (0: its own) and the variant applied."""
    scenario = load_scenario(name)
    overrides: dict[str, Any] = {}
    if n_tasks > 0:
        overrides["n_tasks"] = n_tasks
    if variant == "slots_inf":
        servers = scenario.to_dict()["servers"]
        for server in servers:
            server["parallel_slots"] = 10_000
        overrides["servers"] = servers
    elif variant != "base":
        raise ValueError(f"variant {variant!r}: allowed {VARIANTS}")
    return scenario.replace(**overrides) if overrides else scenario


class _RecordingEnv(CloudEdgeEnv):
    """The environment, keeping the actions played since the last reset."""

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        self.actions: list[tuple[int, tuple[float, float, float]]] = []
        return super().reset(**kwargs)

    def step(self, action: dict[str, Any]) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.actions.append(self.validate_action(action))
        return super().step(action)


def _decisions(env: _RecordingEnv) -> list[Decision]:
    """The recorded actions as decisions (a zero-memory action is a refusal)."""
    return [
        None if shares[2] <= 0.0 else (server, shares[0], shares[1])
        for server, shares in env.actions
    ]


def solve(
    simulator: Simulator, grid: Grid, *, integral: bool, node_limit: int
) -> tuple[float, float, _Program]:
    """The bound program on ``grid``: (upper bound, HiGHS's MILP gap or 0, program with x).

    For the MILP, the value is HiGHS's dual bound (valid even when the node limit stopped it)
    and x its incumbent (None if it found none).
    """
    program, arrival_s, latency_s = _cells(simulator, grid)
    if len(program.rewards) == 0:
        return 0.0, 0.0, program
    matrix, upper = _capacity_rows(program, arrival_s, latency_s, simulator, len(simulator.tasks))
    n_vars = len(program.rewards)
    result = milp(
        c=-program.rewards,
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.full(n_vars, 1 if integral else 0),
        bounds=Bounds(0.0, 1.0),
        options={"node_limit": node_limit, "disp": False},
    )
    dual = getattr(result, "mip_dual_bound", None)
    if integral and dual is not None and math.isfinite(dual):
        value = -float(dual)
    elif result.status == 0 and result.x is not None:
        value = -float(result.fun)
    else:
        raise RuntimeError(f"HiGHS gave no bound: {result.message}")
    gap = float(getattr(result, "mip_gap", 0.0) or 0.0) if integral else 0.0
    program.x = None if result.x is None else np.asarray(result.x)
    return value, gap, program


def apply(sim: Simulator, decision: Decision, nominal_bw: np.ndarray) -> float:
    """Admit the current task as ``decision`` says (capped by what remains; refused when it
    cannot fit its memory or would miss its deadline); return its reward."""
    if decision is not None:
        j, wanted, wanted_bw = decision
        server = sim.servers[j]
        cap, rem = server.capacity, server.remaining
        need = sim.current_memory_need_bytes()
        compute = min(wanted, rem.compute_units / cap.compute_units)
        if compute > 0.0 and need <= rem.memory_bytes:
            if math.isnan(wanted_bw):
                wanted_bw = max(float(nominal_bw[j]), compute)
            bandwidth = min(wanted_bw, rem.bandwidth_hz / cap.bandwidth_hz)
            shares = (compute, bandwidth, min(1.0, need / cap.memory_bytes))
            if sim.preview(j, shares).status is TaskStatus.COMPLETED:
                return sim.admit(j, shares).reward
    sim.admit(0, (0.0, 0.0, 0.0))
    return 0.0


def play_decisions(
    sim: Simulator, decisions: list[Decision], start: int, nominal_bw: np.ndarray
) -> float:
    """Play ``decisions[start:]`` on ``sim`` (which is at task ``start``); their reward."""
    return sum(apply(sim, d, nominal_bw) for d in decisions[start:])


def local_search(
    fresh: Simulator,
    decisions: list[Decision],
    nominal_bw: np.ndarray,
    max_evals: int,
) -> tuple[float, list[Decision], int, bool]:
    """Best-improvement sweeps over tasks in arrival order (see the module docstring).

    :return: the best total found, its decisions, the number of episode suffixes played and
        whether the last sweep improved nothing (a local optimum of the menu).
    """
    n_servers = len(fresh.servers)
    menu: list[Decision] = [None] + [
        (j, s, math.nan) for j in range(n_servers) for s in SEARCH_SHARES
    ]
    decisions = list(decisions)
    best = play_decisions(fresh.clone(), decisions, 0, nominal_bw)
    evals = 0
    improved = True
    converged = False
    while improved and evals < max_evals:
        improved = False
        state = fresh.clone()
        prefix = 0.0
        for i in range(len(decisions)):
            if evals >= max_evals:
                break
            choice = decisions[i]
            for option in menu:
                if option == decisions[i]:
                    continue
                trial = state.clone()
                value = prefix + apply(trial, option, nominal_bw)
                value += play_decisions(trial, decisions, i + 1, nominal_bw)
                evals += 1
                if value > best + 1e-9:
                    best, choice = value, option
            if choice != decisions[i]:
                decisions[i] = choice
                improved = True
            prefix += apply(state, decisions[i], nominal_bw)
        else:
            converged = not improved
    return best, decisions, evals, converged


def _nominal_bandwidth(scenario: ScenarioConfig) -> np.ndarray:
    return np.array(
        [1.0 / (scenario.resources.reference_tasks * s.resource_share) for s in scenario.servers]
    )


def _play_reference(
    agent_name: str, scenario: ScenarioConfig, seed: int
) -> tuple[float, list[Decision]]:
    """One episode of a reference (:func:`benchmarks.scenario_table.play`): its sum reward and
    the decisions it made."""
    env = _RecordingEnv(scenario)
    metrics, _ = play(agent_name, scenario, seed, env=env)
    return metrics["sum_reward"], _decisions(env)


def run_case(
    name: str,
    n_tasks: int,
    variant: str,
    seed: int,
    *,
    milp_nodes: int,
    search_evals: int,
    references: tuple[str, ...] = REFERENCES,
) -> GapRow:
    """Every column of one row (see the module docstring)."""
    started = time.process_time()
    scenario = make_case(name, n_tasks, variant)
    check_profiles_monotone(scenario)
    env = _RecordingEnv(scenario)
    env.reset(seed=seed)
    sim = env.simulator
    assert sim is not None
    fresh = sim.clone()
    nominal_bw = _nominal_bandwidth(scenario)

    lp, program = refined_upper_bound(sim)
    rounding = lp_rounding_schedule(env, program, seed)
    candidates: list[tuple[float, list[Decision]]] = [(rounding, _decisions(env))]

    lp_coarse, _, _ = solve(fresh, Grid(), integral=False, node_limit=milp_nodes)
    milp_value, milp_gap, milp_program = solve(fresh, Grid(), integral=True, node_limit=milp_nodes)
    # Stopped early, HiGHS's dual bound can exceed the LP's on the same grid: keep the lower.
    milp_value = min(milp_value, lp_coarse)
    milp_feasible = math.nan
    if milp_program.x is not None:
        milp_program.x = np.round(milp_program.x)
        milp_feasible = lp_rounding_schedule(env, milp_program, seed)
        candidates.append((milp_feasible, _decisions(env)))

    best_ref, best_agent = -math.inf, ""
    for agent_name in references:
        value, decisions = _play_reference(agent_name, scenario, seed)
        candidates.append((value, decisions))
        if value > best_ref:
            best_ref, best_agent = value, agent_name

    start_value = max(value for value, _ in candidates)
    # The search replays decisions with memory = need (and caps), which may not reproduce a
    # reference's score: start from the candidate that replays best.
    start_decisions = max(
        (d for _, d in candidates),
        key=lambda d: play_decisions(fresh.clone(), d, 0, nominal_bw),
    )
    searched, _, evals, converged = local_search(fresh, start_decisions, nominal_bw, search_evals)
    return GapRow(
        scenario=name,
        variant=variant,
        n_tasks=scenario.n_tasks,
        seed=seed,
        lp_upper=lp.upper_bound,
        lp_coarse_upper=lp_coarse,
        milp_upper=milp_value,
        milp_gap=milp_gap,
        lp_rounding_feasible=rounding,
        best_reference=best_ref,
        best_reference_agent=best_agent,
        milp_schedule_feasible=milp_feasible,
        best_search_feasible=max(searched, start_value),
        search_evals=evals,
        search_converged=converged,
        cpu_s=time.process_time() - started,
    )


def rows_to_csv(rows: list[GapRow]) -> str:
    """The rows as CSV text (floats to 6 significant digits)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # CPU seconds are printed, not written: the CSV depends on the arguments alone.
    names = [f.name for f in fields(GapRow) if f.name != "cpu_s"]
    writer.writerow(names)
    for row in rows:
        values = [getattr(row, n) for n in names]
        writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in values])
    return buffer.getvalue()


def parse_case(text: str) -> tuple[str, int, str]:
    """``scenario:n_tasks:variant`` (the last two optional: 0, base)."""
    parts = text.split(":")
    name = parts[0]
    n_tasks = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    variant = parts[2] if len(parts) > 2 else "base"
    if variant not in VARIANTS:
        raise argparse.ArgumentTypeError(f"variant {variant!r}: allowed {VARIANTS}")
    return name, n_tasks, variant


def main(argv: list[str] | None = None) -> list[GapRow]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        nargs="*",
        type=parse_case,
        default=[parse_case(c) for c in DEFAULT_CASES],
        help="scenario:n_tasks:variant (n_tasks 0 = the scenario's; variants: "
        f"{', '.join(VARIANTS)}); default: {' '.join(DEFAULT_CASES)}",
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument(
        "--milp-nodes", type=int, default=500, help="HiGHS branch-and-bound node limit (>= 1)"
    )
    parser.add_argument(
        "--search-evals",
        type=int,
        default=10_000,
        help="episode suffixes the local search may play per case (>= 0)",
    )
    parser.add_argument("--agents", nargs="*", default=list(REFERENCES))
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bound_gap.csv")
    args = parser.parse_args(argv)
    if args.milp_nodes < 1:
        parser.error(f"--milp-nodes = {args.milp_nodes}: allowed >= 1")
    if args.search_evals < 0:
        parser.error(f"--search-evals = {args.search_evals}: allowed >= 0")
    rows: list[GapRow] = []
    for name, n_tasks, variant in args.cases:
        for seed in args.seeds:
            row = run_case(
                name,
                n_tasks,
                variant,
                seed,
                milp_nodes=args.milp_nodes,
                search_evals=args.search_evals,
                references=tuple(args.agents),
            )
            rows.append(row)
            upper = min(row.lp_upper, row.milp_upper)
            print(
                f"{name}:{row.n_tasks}:{variant} seed {seed}: LP {row.lp_upper:.2f} "
                f"(coarse {row.lp_coarse_upper:.2f}, MILP {row.milp_upper:.2f}) | rounding "
                f"{row.lp_rounding_feasible:.2f}, MILP sched {row.milp_schedule_feasible:.2f}, "
                f"ref {row.best_reference:.2f} ({row.best_reference_agent}), search "
                f"{row.best_search_feasible:.2f} = {row.best_search_feasible / upper:.3f} "
                f"of UB | {row.cpu_s:.0f} s",
                flush=True,
            )
    atomic_write_text(args.out, rows_to_csv(rows))
    return rows


if __name__ == "__main__":
    main()
