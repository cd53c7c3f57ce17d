"""Reward (eq. 14), rewardless guidance (eq. 11), utility (eq. 9) and episode metrics."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class TaskStatus(Enum):
    """How a task ended: completed, or the one reason it failed."""

    COMPLETED = "completed"
    #: The allocation asked for more than remains on the server (paper Sec. IV-A).
    INVALID_ALLOCATION = "invalid_allocation"
    #: The GPU memory granted is less than the task's KV cache and workspace.
    OUT_OF_MEMORY = "out_of_memory"
    #: The result could not reach the terminal within t_max; the task was abandoned.
    DEADLINE = "deadline"


def task_reward(completed: bool, latency_s: float, pass_at_100: float) -> float:
    """Paper eq. 14: ``r = 1/L_T + P_T`` for a completed task, 0 otherwise."""
    if not completed:
        return 0.0
    return 1.0 / latency_s + pass_at_100


def rewardless_guidance(task_completes: float, latency_s: float, pass_at_100: float) -> float:
    """Paper eq. 11: ``rg = tc * (1/L_T + P_T)``, on (possibly predicted) quantities.

    ``task_completes`` may be a probability in [0, 1] (an expectation of tc); a non-positive or
    non-finite latency gives no latency term.
    """
    inverse_latency = 1.0 / latency_s if latency_s > 0.0 and math.isfinite(latency_s) else 0.0
    return task_completes * (inverse_latency + pass_at_100)


def utility(latencies_s: Iterable[float], pass_at_100s: Iterable[float]) -> float:
    """Paper eq. 9: ``U = 1/avg(L_T) + avg(P_T)``; avg(L_T) over completed tasks (0 if none)."""
    lat = list(latencies_s)
    pas = list(pass_at_100s)
    inverse = 1.0 / (sum(lat) / len(lat)) if lat else 0.0
    return inverse + (sum(pas) / len(pas) if pas else 0.0)


@dataclass
class EpisodeMetrics:
    """Accumulates the per-episode metrics of the paper (Sec. V) from task outcomes."""

    rewards: list[float] = field(default_factory=list)
    completed_latencies_s: list[float] = field(default_factory=list)
    pass_at_100s: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, status: TaskStatus, latency_s: float, pass_at_100: float, reward: float) -> None:
        """Record one task; ``pass_at_100`` counts as 0 unless the task completed."""
        completed = status is TaskStatus.COMPLETED
        self.rewards.append(reward)
        self.pass_at_100s.append(pass_at_100 if completed else 0.0)
        if completed:
            self.completed_latencies_s.append(latency_s)
        self.statuses[status.value] += 1

    @property
    def n_tasks(self) -> int:
        return len(self.rewards)

    def summary(self) -> dict[str, float]:
        """Sum reward, completion rate, average latency, average pass@100, utility, counts."""
        n = max(self.n_tasks, 1)
        lat = self.completed_latencies_s
        out: dict[str, float] = {
            "n_tasks": float(self.n_tasks),
            "sum_reward": float(sum(self.rewards)),
            "completion_rate": len(lat) / n,
            "avg_latency_s": float(sum(lat) / len(lat)) if lat else math.nan,
            "avg_pass_at_100": float(sum(self.pass_at_100s) / n),
            "utility": utility(lat, self.pass_at_100s),
        }
        for status in TaskStatus:
            out[f"n_{status.value}"] = float(self.statuses.get(status.value, 0))
        return out
