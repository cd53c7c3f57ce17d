"""``python -m benchmarks.bound_gap``: the bracket's ends on one tiny episode, and their order."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from benchmarks.bound_gap import main


@pytest.mark.slow
def test_feasible_values_stay_below_every_upper_bound(tmp_path: Path) -> None:
    out = tmp_path / "gap.csv"
    args = [
        "--cases",
        "azure_a100_3090:8:base",
        "--seeds",
        "1",
        "--milp-nodes",
        "50",
        "--search-evals",
        "300",
        "--agents",
        "best_server",
        "round_robin",
        "--out",
        str(out),
    ]
    rows = main(args)
    assert len(rows) == 1
    row = rows[0]
    assert (row.scenario, row.variant, row.n_tasks, row.seed) == ("azure_a100_3090", "base", 8, 1)
    uppers = [row.lp_upper, row.lp_coarse_upper, row.milp_upper]
    feasibles = [row.lp_rounding_feasible, row.best_reference, row.best_search_feasible]
    if not math.isnan(row.milp_schedule_feasible):
        feasibles.append(row.milp_schedule_feasible)
    tol = 1e-6 * max(uppers)
    assert all(math.isfinite(v) and v > 0 for v in uppers)
    assert min(uppers) + tol >= max(feasibles) >= 0.0
    # The MILP's dual bound and the LP on the same grid; the refined grid only lowers the LP.
    assert row.milp_upper <= row.lp_coarse_upper + tol
    assert row.lp_upper <= row.lp_coarse_upper + tol
    # The search starts from the best known schedule, so it never loses.
    assert row.best_search_feasible >= max(feasibles) - tol
    written = list(csv.DictReader(out.open()))
    assert len(written) == 1
    assert written[0]["scenario"] == "azure_a100_3090"
    assert float(written[0]["lp_upper"]) == pytest.approx(row.lp_upper, rel=1e-5)
    # Budgets count work, not seconds: the same arguments write the same CSV.
    first = out.read_text()
    main(args)
    assert out.read_text() == first
