"""benchmarks/routing.py: where an agent's evaluated episodes sent the tasks, replayed exactly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.routing import COLUMNS, FAILED_COLUMNS, main
from tests.benchmarks.test_harness import bench, read_rows, run_dir

pytestmark = pytest.mark.slow

N_TASKS = 20


def evaluated(out: Path, tmp_path: Path, agent: str) -> Path:
    """Train then evaluate ``agent`` on two 20-task paper episodes; the tmax run's folder."""
    common = [f"agent={agent}", "seed=0", f"out_dir={out}", "experiment.train_episodes=1",
              "experiment.bound_every=null", f"experiment.train_n_tasks={N_TASKS}"]  # fmt: skip
    bench("experiment=train", *common, cwd=tmp_path)
    bench("experiment=tmax", *common, "experiment.eval_episodes=2", "experiment.eval_bound=false",
          "experiment.t_max_values_s=[15.0]", f"experiment.n_tasks_values=[{N_TASKS}]",
          cwd=tmp_path)  # fmt: skip
    return run_dir(out, "tmax", agent, 0)


def test_the_replay_explains_the_evaluated_score_server_by_server(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    recorded = {agent: read_rows(evaluated(out, tmp_path, agent) / "metrics.csv")
                for agent in ("round_robin", "random")}  # fmt: skip
    csv, failed_csv = tmp_path / "routing.csv", tmp_path / "failed.csv"
    argv = ["--runs", str(out), "--episodes", "2", "--out", str(csv),
            "--failed-out", str(failed_csv)]  # fmt: skip
    assert main(argv) == 0
    table, failed = pd.read_csv(csv), pd.read_csv(failed_csv)
    assert list(table.columns) == COLUMNS
    assert list(failed.columns) == FAILED_COLUMNS
    assert (failed.status == "invalid_allocation").any()  # random asks above what is left
    assert (failed.memory_need < failed.memory_left).any()  # ... also where its task fitted
    assert set(failed.status) <= {"invalid_allocation", "out_of_memory", "deadline"}
    for agent, rows in recorded.items():
        mine = table[table.agent == agent]
        assert len(mine) == 5  # one row per server of the paper scenario
        assert mine["tasks"].sum() == pytest.approx(N_TASKS)  # every task went somewhere
        mean_sum_reward = sum(float(r["sum_reward"]) for r in rows) / len(rows)
        assert mine["reward"].sum() == pytest.approx(mean_sum_reward)
        assert mine["completed"].sum() == pytest.approx(
            sum(float(r["n_completed"]) for r in rows) / len(rows)
        )
        # Every task that did not complete has its row, once, on the server it was sent to.
        lost = failed[failed.agent == agent]
        assert len(lost) == sum(N_TASKS - float(r["n_completed"]) for r in rows)
        assert not lost.duplicated(["episode", "task_index"]).any()
        assert set(lost.episode) <= {0, 1}
        assert set(lost.task_index) <= set(range(N_TASKS))
        # A refused task asked for more than its server had left, at least in one resource.
        refused = lost[lost.status == "invalid_allocation"]
        asked = refused[["compute_share", "bandwidth_share", "memory_share"]].to_numpy()
        left = refused[["compute_left", "bandwidth_left", "memory_left"]].to_numpy()
        assert ((asked > left + 1e-6).any(axis=1)).all()
        # A task out of memory was granted less than it needs there.
        short = lost[lost.status == "out_of_memory"]
        assert (short.memory_share < short.memory_need + 1e-6).all()
        # The server a task went to counts among those with room when its need fitted there.
        fitted = lost[
            (lost.memory_need < lost.memory_left - 1e-6)
            & (lost.compute_left > 1e-6)
            & (lost.bandwidth_left > 1e-6)
        ]
        assert fitted.servers_with_room.between(1, 5).all()
        assert lost.servers_with_room.between(0, 5).all()
        by_server = lost.groupby("server").size().reindex(range(5), fill_value=0).to_numpy()
        assert list(by_server / 2) == pytest.approx(list(mine["tasks"] - mine["completed"]))
    # Round-robin sends the 20 tasks to the 5 servers in turn.
    assert list(table[table.agent == "round_robin"]["tasks"]) == [4.0] * 5


def test_a_replay_that_differs_from_the_run_stops_naming_the_episode(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    metrics = evaluated(out, tmp_path, "round_robin") / "metrics.csv"
    frame = pd.read_csv(metrics)
    frame.loc[1, "sum_reward"] += 0.5  # as if another host or code had made the run
    frame.to_csv(metrics, index=False)
    with pytest.raises(SystemExit, match=r"episode 1 \(env seed \d+\) replays to sum reward"):
        main(["--runs", str(out), "--episodes", "2"])
    with pytest.raises(SystemExit, match=r"allowed at most the 2 it evaluated"):
        main(["--runs", str(out), "--episodes", "3"])


def test_a_folder_without_the_agents_runs_is_one_clear_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--runs", str(tmp_path), "--agents", "aif", "--out", str(tmp_path / "x.csv")])
    assert "no tmax run" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
