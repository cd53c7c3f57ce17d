"""The benchmark harness: config composition, sweeps, resume, errors, determinism, plots."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from benchmarks.config import register_configs
from benchmarks.run import CONFIG_DIR
from benchmarks.schema import COLUMNS
from cloudedge.config import SCENARIO_DIR

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
QUICK = ["experiment.train_episodes=2", "experiment.bound_every=1"]


def bench(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def run_dir(out: Path, experiment: str, agent: str, seed: int, env: str = "paper") -> Path:
    """The run folder ``runs/<env>-<hash>/<experiment>/<agent>/seed=<s>`` (one env in out)."""
    (found,) = (out / "runs").glob(f"{env}-*/{experiment}/{agent}/seed={seed}")
    return found


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("group", ["env", "agent", "experiment"])
def test_every_config_of_every_group_composes(group: str) -> None:
    register_configs()
    folder = SCENARIO_DIR if group == "env" else CONF / group  # scenarios ship in cloudedge
    options = sorted(p.stem for p in folder.glob("*.yaml"))
    assert options
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for option in options:
            cfg = compose(config_name="config", overrides=[f"{group}={option}"])
            assert cfg[group] is not None
            if group == "experiment":
                assert cfg.experiment.name in ("train", "tmax", "load")


def test_slurm_launcher_config_composes(tmp_path: Path) -> None:
    result = bench("hydra/launcher=submitit_slurm", "--cfg", "hydra", cwd=tmp_path)
    assert "submitit" in result.stdout


def test_quick_train_tmax_load_sweep_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    common = ["-m", "agent=edge_first,random", "seed=0", f"out_dir={out}", *QUICK]
    bench(*common, "experiment=train", cwd=tmp_path)  # through the joblib launcher, 2 jobs
    bench(*common, "experiment=tmax", "experiment.eval_episodes=1",
          "experiment.t_max_values_s=[2.0,15.0]", cwd=tmp_path)  # fmt: skip
    bench(*common, "experiment=load", "experiment.eval_episodes=1",
          "experiment.n_tasks_values=[100,120]", cwd=tmp_path)  # fmt: skip
    for experiment, n_rows in (("train", 2), ("tmax", 2), ("load", 2)):
        for agent in ("edge_first", "random"):
            path = run_dir(out, experiment, agent, 0) / "metrics.csv"
            rows = read_rows(path)
            assert len(rows) == n_rows
            assert tuple(rows[0]) == COLUMNS
            assert all(r["experiment"] == experiment and r["agent"] == agent for r in rows)
            assert (path.parent / "run.json").exists()
    tmax = read_rows(run_dir(out, "tmax", "edge_first", 0) / "metrics.csv")
    assert [float(r["t_max_s"]) for r in tmax] == [2.0, 15.0]
    assert float(tmax[0]["completion_rate"]) == 0.0 and float(tmax[1]["completion_rate"]) > 0.9
    assert all(float(r["upper_bound"]) >= float(r["sum_reward"]) for r in tmax)
    assert (out / "logs" / "sweeps").is_dir()  # each run logs into its own folder

    # Collect, plot and summarise what the sweep wrote.
    results = tmp_path / "results"
    for script in ("collect.py", "plot.py", "summarize.py"):
        extra = (
            ["--out-dir", str(out), "--dest", str(results)]
            if script == "collect.py"
            else ["--results", str(results)]
        )
        subprocess.run([sys.executable, f"scripts/{script}", *extra], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
    assert {p.name for p in (results / "figures").glob("*.png")} >= {
        "fig3_train.png",
        "fig4_tmax.png",
        "fig5_load.png",
        "bound_fraction.png",
    }
    assert "| claim (He et al., Sec. V; " in (results / "README.md").read_text()
    assert (results / "summary.csv").read_text().startswith("experiment,agent,")


def test_a_grid_written_in_the_experiment_config_is_swept(tmp_path: Path) -> None:
    # train_grid.yaml carries hydra.sweeper.params; shrink its grid to two cheap runs.
    bench("-m", "experiment=train_grid", "hydra.sweeper.params.agent='round_robin,edge_first'",
          "hydra.sweeper.params.seed=4", f"out_dir={tmp_path}", *QUICK,
          "experiment.train_n_tasks=10", cwd=tmp_path)  # fmt: skip
    runs = sorted(p.parent.name for p in (tmp_path / "runs").glob("*/train/*/seed=4"))
    assert runs == ["edge_first", "round_robin"]


def test_same_seed_gives_the_same_csv(tmp_path: Path) -> None:
    for name in ("a", "b"):
        bench("agent=round_robin", "seed=3", f"out_dir={tmp_path / name}", *QUICK, cwd=tmp_path)
    a, b = (run_dir(tmp_path / n, "train", "round_robin", 3) / "metrics.csv" for n in "ab")
    assert a.read_bytes() == b.read_bytes()


def test_complete_runs_are_skipped_and_killed_runs_resume(tmp_path: Path) -> None:
    args = ["agent=edge_first", "seed=1", "experiment.train_episodes=15",
            "experiment.train_n_tasks=40", "experiment.bound_every=1"]  # fmt: skip
    reference = tmp_path / "reference"
    bench(*args, f"out_dir={reference}", cwd=tmp_path)
    metrics = run_dir(reference, "train", "edge_first", 1).relative_to(reference) / "metrics.csv"

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.run", *args, f"out_dir={killed}"], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    bounds = killed / "bounds"
    while time.monotonic() < deadline and len(list(bounds.rglob("*.json"))) < 3:
        time.sleep(0.2)  # wait until it is midway (a few episodes' bounds written)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / metrics).exists()  # no partial results

    bench(*args, f"out_dir={killed}", cwd=tmp_path)
    assert (killed / metrics).read_bytes() == (reference / metrics).read_bytes()
    again = bench(*args, f"out_dir={killed}", cwd=tmp_path)
    assert "skipped" in again.stdout + again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["agent=no_such_agent"], "Could not find 'agent/no_such_agent'"),
        (["no_such_key=1"], "Key 'no_such_key' not in 'BenchConfig'"),
        (["seed=abc"], "could not be converted to Integer"),
        (["experiment.train_t_max_s=0"], "train_t_max_s = 0.0: allowed > 0"),
        (["experiment.train_n_tasks=0"], "train_n_tasks = 0: allowed >= 1"),
        (
            ["env.t_max_s=-1"],
            "paper.yaml, with this run's overrides): t_max_s = -1 is out of range",
        ),
        (["experiment=tmax", "experiment.t_max_values_s=[0.0]"], "each allowed > 0"),
        (["+agent.bogus=1"], "unexpected keyword argument 'bogus'"),
        (
            ["agent=greedy_latency", "agent.expected_completion_tokens=0"],
            "agent.expected_completion_tokens = 0: allowed an integer >= 1",
        ),
        (["threads=-3"], "threads = -3: allowed an integer >= 1"),
        (["experiment.bound_every=0"], "bound_every = 0: allowed an integer >= 1, or null"),
        (["experiment=suite", "experiment.train_env_steps=0"], "train_env_steps = 0: allowed >= 1"),
        (["experiment=tmax"], "no trained policy for agent=edge_first seed=0"),
    ],
)
def test_bad_input_is_one_clear_error_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    agent = [] if any(a.startswith("agent=") for a in args) else ["agent=edge_first"]
    result = bench(f"out_dir={out}", *agent, *args, cwd=tmp_path, check=False)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert not out.exists()  # not even Hydra's log folder
    assert not list((out / "runs").rglob("metrics.csv")) if (out / "runs").exists() else True


def test_bad_input_into_an_existing_out_dir_leaves_it_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "logs" / "earlier").mkdir(parents=True)
    (out / "logs" / "earlier" / "run.log").write_text("an earlier run\n")

    def tree() -> dict[str, str]:
        return {
            str(p.relative_to(out)): p.read_text() if p.is_file() else "/"
            for p in sorted(out.rglob("*"))
        }

    before = tree()
    result = bench(f"out_dir={out}", "agent=edge_first", "threads=-3", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "threads = -3" in result.stderr
    assert tree() == before  # Hydra's new log folders are gone, the earlier ones untouched


def test_unwritable_out_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = bench(f"out_dir={blocker / 'sub'}", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and str(blocker) in result.stderr


def test_ray_sweep_runs_on_a_local_ray_instance(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    out = tmp_path / "out"
    bench("-m", "hydra/launcher=ray", "agent=edge_first,random", f"out_dir={out}", *QUICK,
          cwd=tmp_path)  # fmt: skip
    assert len(list((out / "runs").rglob("metrics.csv"))) == 2


def test_plot_from_a_fixture_csv(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    header = ",".join(COLUMNS)
    lines = [header]
    for agent in ("a", "b"):
        for seed in (0, 1):
            for episode in range(4):
                values = {c: "" for c in COLUMNS} | {
                    "experiment": "train", "env": "paper", "agent": agent,
                    "eval_mode": "greedy", "seed": seed, "episode": episode,
                    "env_seed": episode, "t_max_s": 15.0, "n_tasks": 100,
                    "sum_reward": 10 + episode + seed, "completion_rate": 0.5,
                    "avg_latency_s": 8.0, "avg_pass_at_100": 0.1, "utility": 0.2,
                    "n_completed": 50, "n_invalid_allocation": 50, "n_out_of_memory": 0,
                    "n_deadline": 0, "upper_bound": 30.0, "run_key": "k", "version": "0",
                    "git_commit": "c",
                }  # fmt: skip
                lines.append(",".join(str(values[c]) for c in COLUMNS))
    (results / "train.csv").write_text("\n".join(lines) + "\n")
    subprocess.run([sys.executable, "scripts/plot.py", "--results", str(results)], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    for name in ("fig3_train.png", "fig3_train.pdf", "bound_fraction.png"):
        assert (results / "figures" / name).stat().st_size > 1000
    shutil.rmtree(results / "figures")
