"""Fault injection: results that cannot lie (complete-or-absent runs, named errors, no silent
overwrite, clean kills, one process per run, umask). Budgets are tiny (heuristic agents, few
tasks and episodes) so the module stays fast."""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from benchmarks.config import BenchConfig, BenchError, experiment_from_mapping, register_configs
from benchmarks.protocol import RunSpec, execute, validate
from benchmarks.store import UMASK, run_status
from cloudedge.config import SCENARIO_DIR

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import collect  # noqa: E402

PAPER = yaml.safe_load((SCENARIO_DIR / "paper.yaml").read_text())
ROUND_ROBIN = {"_target_": "agents.heuristics.RoundRobinAgent"}
TRAIN = {
    "name": "train", "train_episodes": 3, "train_t_max_s": None, "train_n_tasks": 10,
    "bound_every": None, "eval_episodes": 1, "eval_seed_base": 1_000_000,
    "t_max_values_s": [15.0], "n_tasks_values": [10], "eval_bound": False,
    "train_env_steps": None,
}  # fmt: skip
#: Overrides of the CLI runs (a tiny train of the paper scenario).
TINY = ["experiment.train_episodes=3", "experiment.train_n_tasks=10", "experiment.bound_every=1"]


def quiet(_message: str) -> None:
    """A log that drops messages."""


def spec_for(out: Path, seed: int = 0, **changes: Any) -> RunSpec:
    return validate({**TRAIN, **changes}, "round_robin", ROUND_ROBIN, PAPER, seed, out)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def bench_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.run", *args]


def bench_env() -> dict[str, str]:
    return {**os.environ, "HYDRA_FULL_ERROR": "0", "PYTHONPATH": str(ROOT)}


def cli_spec(*overrides: str) -> RunSpec:
    """The spec a CLI run with ``overrides`` gets (composed exactly as ``benchmarks.run``)."""
    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    bench = OmegaConf.to_object(cfg)
    assert isinstance(bench, BenchConfig)
    agent = next(o.split("=", 1)[1] for o in overrides if o.startswith("agent="))
    return validate(bench.experiment, agent, bench.agent, bench.env, bench.seed, bench.out_dir)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An out_dir with two complete train runs (seeds 0 and 1) and a tmax run of seed 0."""
    out = tmp_path_factory.mktemp("pristine")
    for seed in (0, 1):
        execute(spec_for(out, seed), log=quiet)
    execute(spec_for(out, 0, name="tmax", t_max_values_s=[2.0, 15.0]), log=quiet)
    return out


@pytest.fixture
def out(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(pristine, copy)
    return copy


def _truncate_mid_row(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])


def _drop_rows(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def _append_junk(path: Path) -> None:
    with open(path, "a") as handle:
        handle.write("train,paper,round_robin,greedy,0,not-a-number\n")


def _garble_a_value(path: Path) -> None:
    text = path.read_text()
    header, first, rest = text.split("\n", 2)
    fields = first.split(",")
    fields[9] = "abc"  # sum_reward
    path.write_text("\n".join([header, ",".join(fields), rest]))


def _swap_with_seed_1(path: Path) -> None:
    other = path.parents[1] / "seed=1" / "metrics.csv"
    a, b = path.read_bytes(), other.read_bytes()
    path.write_bytes(b)
    other.write_bytes(a)


FAULTS = {
    "truncate mid-row": (_truncate_mid_row, "ends mid-row"),
    "drop rows": (_drop_rows, "2 rows, expected 3"),
    "append junk": (_append_junk, "fields, expected"),
    "garbled value": (_garble_a_value, "column sum_reward = 'abc'"),
    "swap two runs' files": (_swap_with_seed_1, "run_key"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_damaged_run_is_incomplete_rerun_identically_and_collect_refuses_it(
    out: Path, tmp_path: Path, fault: str
) -> None:
    damage, problem = FAULTS[fault]
    spec = spec_for(out, 0)
    csv_path = spec.run_dir / "metrics.csv"
    good = csv_path.read_bytes()
    assert run_status(spec.run_dir, spec.run_key) is None
    damage(csv_path)

    # collect refuses, naming the file and what is wrong, and writes nothing.
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "train.csv").write_text("an earlier merge\n")
    before = snapshot(dest)
    result = subprocess.run(
        [sys.executable, "scripts/collect.py", "--out-dir", str(out), "--dest", str(dest)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert "metrics.csv" in message and problem in message, message
    assert snapshot(dest) == before

    # The harness sees it incomplete, says so, and reruns it to the same bytes.
    status = run_status(spec.run_dir, spec.run_key)
    assert status is not None and str(spec.run_dir) in status
    messages: list[str] = []
    execute(spec_for(out, 0), log=messages.append)
    assert any("rerunning" in m and "incomplete" in m for m in messages)
    assert csv_path.read_bytes() == good


def test_collect_merges_valid_runs_and_names_an_incomplete_one(out: Path, tmp_path: Path) -> None:
    counts = collect.collect(out, tmp_path / "dest")
    assert counts == {"train": 6, "tmax": 2}
    run_json = spec_for(out, 1).run_dir / "run.json"
    run_json.unlink()  # as a run killed before it finished
    with pytest.raises(BenchError, match=r"seed=1/run\.json: missing"):
        collect.collect(out, tmp_path / "dest2")
    assert not (tmp_path / "dest2").exists()


def test_collect_keeps_an_earlier_collection_beside_the_runs(out: Path, tmp_path: Path) -> None:
    """``--keep``: rows of (agent, seed) pairs no run holds are kept; a run replaces its own;
    a kept file of another scenario is refused, naming it."""
    collect.collect(out, tmp_path / "earlier")
    earlier = pd.read_csv(tmp_path / "earlier" / "train.csv")
    other = earlier[earlier["seed"] == 1].assign(agent="someone_else")
    stale = earlier[earlier["seed"] == 0].assign(sum_reward=-1.0)  # a run of seed 0 replaces it
    keep = tmp_path / "keep"
    keep.mkdir()
    pd.concat([other, stale]).to_csv(keep / "train.csv", index=False)
    shutil.rmtree(spec_for(out, 1).run_dir)  # only seed 0 still has its run
    counts = collect.collect(out, tmp_path / "merged", keep=keep)
    merged = pd.read_csv(tmp_path / "merged" / "train.csv")
    assert counts["train"] == 6
    assert sorted(set(zip(merged["agent"], merged["seed"], strict=True))) == [
        ("round_robin", 0), ("someone_else", 1)
    ]  # fmt: skip
    assert (merged["sum_reward"] > 0).all()  # seed 0's stale rows were replaced by its run
    other.assign(env="queueing").to_csv(keep / "train.csv", index=False)
    with pytest.raises(BenchError, match=r"keep/train\.csv: env \['queueing'\]"):
        collect.collect(out, tmp_path / "refused", keep=keep)
    assert not (tmp_path / "refused").exists()


def test_a_complete_run_with_another_key_is_never_replaced_silently(out: Path) -> None:
    before = snapshot(out)
    with pytest.raises(BenchError, match=r"run\.json holds a run with another key.*replace=true"):
        spec_for(out, 0, train_episodes=2)
    assert snapshot(out) == before
    # Asked explicitly, it replaces it.
    execute(validate({**TRAIN, "train_episodes": 2}, "round_robin", ROUND_ROBIN, PAPER, 0, out,
                     replace=True), log=quiet)  # fmt: skip
    spec = spec_for(out, 0, train_episodes=2)
    assert run_status(spec.run_dir, spec.run_key) is None


def test_keys_follow_trace_contents_and_envs_never_share_a_folder(tmp_path: Path) -> None:
    from cloudedge.trace import default_azure_code_trace_path

    trace = tmp_path / "trace.csv"
    shutil.copy(default_azure_code_trace_path(), trace)
    azure = yaml.safe_load((SCENARIO_DIR / "azure_a100_3090.yaml").read_text())
    azure["workload"] = {**azure["workload"], "trace_path": str(trace)}
    first = validate(TRAIN, "round_robin", ROUND_ROBIN, azure, 0, tmp_path / "o")
    lines = trace.read_text().splitlines(keepends=True)
    trace.write_text("".join(lines[:-1]))  # the last request dropped: still a valid trace
    edited = validate(TRAIN, "round_robin", ROUND_ROBIN, azure, 0, tmp_path / "o")
    assert edited.run_dir == first.run_dir  # same path, edited in place...
    assert edited.train_key != first.train_key  # ...but not the same input: another key
    paper = validate(TRAIN, "round_robin", ROUND_ROBIN, PAPER, 0, tmp_path / "o")
    short = validate(TRAIN, "round_robin", ROUND_ROBIN, {**PAPER, "t_max_s": 10.0}, 0,
                     tmp_path / "o")  # fmt: skip
    assert len({first.run_dir, paper.run_dir, short.run_dir}) == 3


def test_keys_do_not_follow_where_the_checkout_or_the_trace_lies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same trace (given by a relative path) in two folders, and two output folders: the
    same keys, so that a copy of the checkout resumes and merges the same runs."""
    from cloudedge.trace import default_azure_code_trace_path

    azure = yaml.safe_load((SCENARIO_DIR / "azure_a100_3090.yaml").read_text())
    azure["workload"] = {**azure["workload"], "trace_path": "trace.csv"}
    specs = []
    for name in ("here", "there"):
        (tmp_path / name).mkdir()
        shutil.copy(default_azure_code_trace_path(), tmp_path / name / "trace.csv")
        monkeypatch.chdir(tmp_path / name)
        specs.append(validate(TRAIN, "round_robin", ROUND_ROBIN, azure, 0, Path("o")))
    here, there = specs
    assert here.inputs != there.inputs  # run.json records each input's own path...
    assert (here.train_key, here.run_key) == (there.train_key, there.run_key)  # ...keys do not
    lines = (tmp_path / "there" / "trace.csv").read_text().splitlines(keepends=True)
    (tmp_path / "there" / "trace.csv").write_text("".join(lines[:-1]))
    assert validate(TRAIN, "round_robin", ROUND_ROBIN, azure, 0, Path("o")).train_key != (
        here.train_key
    )


@pytest.mark.parametrize(
    ("agent", "params", "message"),
    [
        ("ppo", {"n_steps": 0}, "agent.n_steps = 0: allowed an integer >= 2"),
        ("ppo", {"gamma": 5}, "agent.gamma = 5: allowed a number in [0, 1]"),
        ("rainbow", {"torso_hidden_sizes": []}, "agent.torso_hidden_sizes = []"),
        ("aif", {"horizon": 0}, "agent.horizon = 0: allowed an integer in [1, 1024]"),
        ("gpnfsp", {"eta": 2.0}, "agent.eta = 2.0: allowed a number in [0, 1]"),
    ],
)
def test_agent_hyperparameters_are_range_checked_before_any_work(
    tmp_path: Path, agent: str, params: dict[str, Any], message: str
) -> None:
    config = {**yaml.safe_load((ROOT / "conf" / "agent" / f"{agent}.yaml").read_text()), **params}
    with pytest.raises(BenchError) as caught:
        validate(TRAIN, agent, config, PAPER, 0, tmp_path / "out")
    assert message in str(caught.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bound_every": 0}, "experiment.bound_every = 0: allowed an integer >= 1, or null"),
        ({"train_episodes": 0}, "experiment.train_episodes = 0: allowed >= 1"),
        ({"t_max_values_s": []}, "experiment.t_max_values_s = []"),
        ({"train_t_max_s": "abc"}, "experiment.train_t_max_s: Value 'abc'"),
        ({"name": "other"}, "experiment.name = 'other'"),
    ],
)
def test_experiment_fields_are_range_and_type_checked(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(BenchError) as caught:
        experiment_from_mapping({**TRAIN, **changes})
    assert message in str(caught.value)


def test_harness_fields_are_range_checked() -> None:
    bench = BenchConfig(seed=0, out_dir="o", threads=-3, replace=False)
    with pytest.raises(BenchError, match="threads = -3: allowed an integer >= 1"):
        bench.check()


@pytest.mark.parametrize("how", ["read-only folder", "a file where a folder goes"])
def test_an_unwritable_subfolder_is_named_before_any_training(
    out: Path, tmp_path: Path, how: str
) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    runs = fresh / "runs"
    if how == "read-only folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders; the other case covers root")
        runs.mkdir()
        runs.chmod(0o555)
    else:
        runs.write_text("not a folder")
    before = snapshot(fresh)
    try:
        with pytest.raises(BenchError) as caught:
            spec_for(fresh, 0)
    finally:
        if runs.is_dir():
            runs.chmod(0o755)
    assert str(runs) in str(caught.value)
    assert snapshot(fresh) == before and not (fresh / "policies").exists()


def test_files_and_folders_honour_the_umask(pristine: Path) -> None:
    for path in pristine.rglob("*"):  # (pristine itself is pytest's, made 0700)
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = (0o777 if path.is_dir() else 0o666) & ~UMASK
        assert mode == expected, (path, oct(mode))


def test_the_missing_policy_hint_works_when_pasted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    tmax = ["experiment=tmax_quick", "agent=round_robin", "seed=2", f"out_dir={out}",
            "experiment.train_n_tasks=10", "experiment.bound_every=null"]  # fmt: skip
    result = subprocess.run(bench_command(*tmax), cwd=ROOT, capture_output=True, text=True,
                            env=bench_env(), timeout=300)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (out / "runs").exists()
    command = shlex.split(result.stderr.split("train it first: ", 1)[1].strip())
    assert command[0] == "cloudedge-bench"
    pasted = subprocess.run(bench_command(*command[1:]), cwd=ROOT, capture_output=True,
                            text=True, env=bench_env(), timeout=300)  # fmt: skip
    assert pasted.returncode == 0, pasted.stderr
    cli_spec(*tmax)  # the tmax run now finds its policy (it would raise otherwise)


def _session_processes(session: int) -> list[int]:
    """Pids of live processes in a session (from /proc), zombies excluded."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # state, ppid, pgrp, session
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_kill_9_of_a_sweep_leaves_no_worker_and_the_rerun_is_identical(tmp_path: Path) -> None:
    sweep = ["-m", "agent=edge_first,round_robin", "seed=0", "experiment.train_episodes=6",
             "experiment.train_n_tasks=20", "experiment.bound_every=1"]  # fmt: skip
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    for agent in ("edge_first", "round_robin"):  # uninterrupted, in this process
        execute(cli_spec(f"agent={agent}", *sweep[2:], f"out_dir={reference}"), log=quiet)

    process = subprocess.Popen(
        bench_command(*sweep, f"out_dir={killed}", "hydra.launcher.n_jobs=2"), cwd=ROOT,
        env=bench_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not list(killed.rglob("bounds/*/*.json")):
            time.sleep(0.1)  # midway: the workers are training
        workers = [p for p in _session_processes(process.pid) if p != process.pid]
        assert workers, "the sweep had no worker processes to leave behind"
        os.kill(process.pid, signal.SIGKILL)  # the launcher only, as `kill -9 <pid>` does
        process.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _session_processes(process.pid):
            time.sleep(0.2)
        left = _session_processes(process.pid)
        assert not left, f"processes left behind: {left}"
    finally:
        for pid in _session_processes(process.pid):
            os.kill(pid, signal.SIGKILL)
    assert not list(killed.rglob("metrics.csv"))  # nothing finished: no partial results

    subprocess.run(bench_command(*sweep, f"out_dir={killed}", "hydra.launcher.n_jobs=2"),
                   cwd=ROOT, check=True, capture_output=True, env=bench_env(),
                   timeout=300)  # fmt: skip
    for agent in ("edge_first", "round_robin"):
        (ref,) = reference.glob(f"runs/*/train/{agent}/seed=0/metrics.csv")
        (new,) = killed.glob(f"runs/*/train/{agent}/seed=0/metrics.csv")
        assert new.read_bytes() == ref.read_bytes()


def test_two_reruns_into_one_out_dir_at_once_run_the_job_once(tmp_path: Path) -> None:
    args = ["agent=edge_first", "seed=0", f"out_dir={tmp_path / 'out'}", *TINY]
    spec = cli_spec(*args)
    spec.run_dir.mkdir(parents=True)
    logs = [tmp_path / f"log{k}.txt" for k in range(2)]
    with open(spec.run_dir / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # hold the job until both reruns wait for it
        processes = [
            subprocess.Popen(bench_command(*args), cwd=ROOT, env=bench_env(),
                             stdout=open(log, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
            for log in logs
        ]  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not all(
            "waiting for it" in log.read_text() for log in logs
        ):
            time.sleep(0.2)
        assert all("waiting for it" in log.read_text() for log in logs)
        assert not (spec.run_dir / "metrics.csv").exists()
    for process in processes:
        assert process.wait(timeout=240) == 0
    texts = [log.read_text() for log in logs]
    assert sum(t.count("done in") for t in texts) == 1  # one ran it...
    assert sum(t.count("complete, skipped") for t in texts) == 1  # ...the other found it done
    assert run_status(spec.run_dir, spec.run_key) is None


def test_keys_follow_the_agent_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    module = tmp_path / "keyed_agent.py"
    source = (
        "from agents.heuristics import RoundRobinAgent\n\n"
        "class KeyedAgent(RoundRobinAgent):\n    name = 'keyed'  # {}\n"
    )
    module.write_text(source.format("first"))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = {"_target_": "keyed_agent.KeyedAgent"}
    first = validate(TRAIN, "keyed", config, PAPER, 0, tmp_path / "o")
    module.write_text(source.format("edited"))
    from benchmarks import store

    store.tree_sha256.cache_clear()  # a new process would read the file afresh
    importlib.reload(importlib.import_module("keyed_agent"))
    edited = validate(TRAIN, "keyed", config, PAPER, 0, tmp_path / "o")
    assert edited.code["agent"] != first.code["agent"]
    assert edited.train_key != first.train_key and edited.run_key != first.run_key
    assert edited.code["simulator"] == first.code["simulator"]
