"""scripts/claims.py: verdicts from intervals, agent sets from capabilities, complete rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from scripts.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_TESTED,
    Cell,
    Claim,
    agent_set,
    greater,
    judge,
    within,
)
from scripts.summarize import CLAIMS


def summary(rows: list[tuple[str, str, float, float, float, float]]) -> pd.DataFrame:
    """Rows of (agent, experiment, point, iqm, low, high) for metric ``m``; ``point`` is the
    task count (load) or the deadline (tmax)."""
    out = []
    for agent, experiment, point, iqm, low, high in rows:
        t_max, n_tasks = (point, 100) if experiment == "tmax" else (15.0, point)
        out.append({"experiment": experiment, "agent": agent, "t_max_s": t_max,
                    "n_tasks": n_tasks, "metric": "m", "iqm": iqm, "ci_low": low,
                    "ci_high": high, "n_seeds": 5})  # fmt: skip
    return pd.DataFrame(out)


def claim(comparison: str, target: float | str, tolerance: float = 0.0, **kw) -> Claim:
    agents = kw.pop("agents", "aif")
    experiment = kw.pop("experiment", "train")
    return Claim("c", experiment, "m", agents, comparison, target, tolerance, "test", **kw)


def test_within_and_greater_are_three_valued() -> None:
    cell = Cell("a", 0, 0.5, 0.4, 0.6)
    assert within(cell, 0.3, 0.7) is True
    assert within(cell, 0.7, 0.9) is False
    assert within(cell, 0.55, 0.9) is None  # straddles the lower bound
    assert greater(Cell("a", 0, 2, 1.5, 2.5), cell) is True
    assert greater(cell, Cell("b", 0, 2, 1.5, 2.5)) is False
    assert greater(cell, Cell("b", 0, 0.55, 0.45, 0.65)) is None


@pytest.mark.parametrize(
    ("low", "high", "verdict"),
    [(0.985, 0.995, HOLDS), (0.96, 0.98, FAILS), (0.97, 0.99, INCONCLUSIVE)],
)
def test_approx_verdict_comes_from_the_interval(low: float, high: float, verdict: str) -> None:
    s = summary([("aif", "train", 100, (low + high) / 2, low, high)])
    ours, got = judge(claim("approx", 0.99, 0.005), s)
    assert got == verdict
    assert "aif" in ours


def test_every_judged_agent_is_shown_and_a_missing_one_is_not_tested() -> None:
    s = summary([("aif", "train", 100, 30, 29, 31), ("ppo", "train", 100, 20, 19, 21),
                 ("sac", "train", 100, 35, 34, 36)])  # fmt: skip
    ours, verdict = judge(claim("above", "ppo,sac"), s)
    assert verdict == FAILS  # above PPO, below SAC
    assert "ppo 20" in ours and "sac 35" in ours and "aif 30" in ours
    ours, verdict = judge(claim("above", "ppo,rainbow"), s)
    assert verdict == NOT_TESTED and "missing: rainbow" in ours


def test_heuristic_group_is_not_learning_and_not_privileged() -> None:
    present = ["aif", "edge_first", "myopic_oracle", "ppo", "random", "round_robin", "x"]
    assert agent_set("@heuristic", present) == ["edge_first", "random", "round_robin"]
    assert agent_set("@paper-aif", present) == ["ppo"]
    assert agent_set("aif,ppo", present) == ["aif", "ppo"]


def test_trends_compare_first_and_last_point() -> None:
    falling = summary([("aif", "load", 100, 1.0, 0.9, 1.1), ("aif", "load", 200, 0.5, 0.4, 0.6)])
    assert judge(claim("falls", 0.0, experiment="load"), falling)[1] == HOLDS
    assert judge(claim("rises", 0.0, experiment="load"), falling)[1] == FAILS
    overlapping = summary([("aif", "load", 100, 1.0, 0.5, 1.1),
                           ("aif", "load", 200, 0.9, 0.6, 1.0)])  # fmt: skip
    assert judge(claim("falls", 0.0, experiment="load"), overlapping)[1] == INCONCLUSIVE


def test_only_at_least_needs_the_others_below() -> None:
    rows = [("aif", "tmax", 12.0, 0.99, 0.98, 1.0), ("ppo", "tmax", 12.0, 0.5, 0.4, 0.6)]
    only = claim("only_at_least", 1.0, 0.05, agents="aif,ppo", experiment="tmax", only="aif",
                 t_max_s=(10.0, math.inf))  # fmt: skip
    assert judge(only, summary(rows))[1] == HOLDS
    rows[1] = ("ppo", "tmax", 12.0, 0.97, 0.96, 0.98)
    assert judge(only, summary(rows))[1] == FAILS


def test_capped_near_reads_the_best_agent_and_fails_when_nothing_completes() -> None:
    capped = claim("max_approx", 0.2, 0.05, agents="aif,ppo", experiment="tmax")
    rows = [("aif", "tmax", 5.0, 0.19, 0.18, 0.2), ("ppo", "tmax", 5.0, 0.05, 0.0, 0.1)]
    assert judge(capped, summary(rows))[1] == HOLDS
    nothing = [("aif", "tmax", 5.0, 0.0, 0.0, 0.0), ("ppo", "tmax", 5.0, 0.0, 0.0, 0.0)]
    assert judge(capped, summary(nothing))[1] == FAILS


def test_the_table_has_the_heuristic_row_and_valid_rows() -> None:
    texts = [c.text for c in CLAIMS]
    assert any("AIF beats every reference heuristic" in t for t in texts)
    for c in CLAIMS:
        assert c.source and c.tolerance >= 0, c.text
        judge(c, summary([]).reindex(columns=["experiment", "agent", "t_max_s", "n_tasks",
                                              "metric", "iqm", "ci_low", "ci_high"]))  # fmt: skip
