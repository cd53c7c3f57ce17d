"""benchmarks/disagreements.py: AIF's decisions beside a reference's, rated by AIF's planner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.disagreements import COLUMNS, main
from tests.benchmarks.test_routing import N_TASKS, evaluated

pytestmark = pytest.mark.slow


def test_each_decision_where_the_servers_differ_is_one_row(tmp_path: Path, capsys) -> None:
    out = tmp_path / "runs"
    evaluated(out, tmp_path, "aif")
    evaluated(out, tmp_path, "round_robin")
    csv = tmp_path / "d.csv"
    argv = ["--runs", str(out), "--reference", "round_robin", "--episodes", "2", "--out", str(csv)]
    assert main(argv) == 0
    table = pd.read_csv(csv)
    assert list(table.columns) == COLUMNS
    assert 0 < len(table) <= 2 * N_TASKS
    assert (table.aif_server != table.reference_server).all()
    # A refused action (server -1) is one the simulator refused at admission, and only that.
    refusals = {"invalid_allocation", "out_of_memory"}
    for who in ("aif", "reference"):
        assert ((table[f"{who}_server"] == -1) == table[f"{who}_status"].isin(refusals)).all()
    assert table.step.between(0, N_TASKS - 1).all() and set(table.episode) <= {0, 1}
    # Round-robin starts every episode at server 0 (all servers have room for the first task).
    assert (table[table.step == 0].reference_server == 0).all()
    assert table.reference_server.between(-1, 4).all()
    for column in ("aif_p", "p_at_reference", "p_at_lowered"):
        assert table[column].dropna().between(0.0, 1.0).all()
    assert "differ in server" in capsys.readouterr().out
    again = tmp_path / "again.csv"
    assert main([*argv[:-1], str(again)]) == 0
    assert again.read_bytes() == csv.read_bytes()  # the probe changes nothing it replays


def test_a_missing_reference_run_is_one_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    evaluated(out, tmp_path, "aif")
    with pytest.raises(SystemExit, match=r"no tmax run of greedy_latency seed 0"):
        main(["--runs", str(out), "--reference", "greedy_latency"])
    with pytest.raises(SystemExit, match=r"allowed at most the 2 it evaluated"):
        main(["--runs", str(out), "--reference", "aif", "--episodes", "3"])
