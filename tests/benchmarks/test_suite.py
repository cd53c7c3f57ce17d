"""The suite layer end to end at a tiny budget: runs through the harness, scores, aggregates."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from benchmarks import suite
from scripts import suite_stats


# rliable 1.2.0 hands arch a RandomState, which arch deprecates (not ours to change).
@pytest.mark.filterwarnings("ignore:random_state is deprecated:FutureWarning")
def test_suite_runs_scores_and_aggregates_end_to_end(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(suite, "QUICK_EVAL_N_TASKS", 20)
    out = tmp_path / "suite"
    args = ["--quick", "--scenarios", "tight_deadline", "--agents", "round_robin", "fair_share",
            "--seeds", "0", "1"]  # fmt: skip
    suite.main([*args, "--out-dir", str(out), "--jobs", "2"])
    # Two worker processes score exactly what one process does.
    suite.main([*args, "--out-dir", str(tmp_path / "serial")])
    scores = pd.read_csv(out / "scores.csv")
    assert scores.equals(pd.read_csv(tmp_path / "serial" / "scores.csv"))
    # Scoring alone runs nothing, and names a unit that is not there.
    suite.main([*args, "--out-dir", str(out), "--collect-only"])
    with pytest.raises(SystemExit) as missing:
        suite.main([*args[:-2], "2", "--out-dir", str(out), "--collect-only"])
    assert missing.value.code == 2
    assert len(scores) == 2 * 2  # agents x seeds
    assert scores["score"].between(0.0, 1.0 + 1e-9).all()
    # The tight deadline is where the static nominal grant fails and the fair share does not.
    tight = scores[scores["scenario"] == "tight_deadline"].groupby("agent")["score"].mean()
    assert tight["fair_share"] > tight["round_robin"] + 0.2
    dest = tmp_path / "stats"
    suite_stats.main(["--scores", str(out / "scores.csv"), "--dest", str(dest), "--focus",
                      "fair_share", "--runs", str(out)])  # fmt: skip
    aggregates = pd.read_csv(dest / "aggregates.csv")
    assert set(aggregates["agent"]) == {"round_robin", "fair_share"}
    assert (aggregates["iqm_low"] <= aggregates["iqm"] + 1e-12).all()
    poi = pd.read_csv(dest / "probability_of_improvement.csv")
    assert poi.loc[0, "y"] == "round_robin" and 0.0 <= poi.loc[0, "probability"] <= 1.0
    for name in ("suite_scores.png", "performance_profile.png", "probability_of_improvement.png"):
        assert (dest / name).stat().st_size > 0
    # fair_share against the best other deployable reference (round_robin here) per scenario.
    versus = pd.read_csv(dest / "focus_vs_references.csv")
    assert versus.loc[0, "best_reference"] == "round_robin"
    assert versus.loc[0, "verdict"] == "holds" and versus.loc[0, "low"] > 0.2
    # The bracket's lower end: per episode the best of every run, so never below any run.
    bracket = pd.read_csv(dest / "bracket.csv")
    assert bracket.loc[0, "episodes"] == 2  # the quick suite's held-out episodes
    assert bracket.loc[0, "best_known"] >= scores["score"].max() - 1e-12
    assert bracket.loc[0, "gap"] == pytest.approx(1.0 - bracket.loc[0, "best_known"])
    walls = pd.read_csv(dest / "wall_times.csv")
    assert len(walls) == 4 and (walls[["train_s", "eval_s"]] > 0).all().all()
    readme = (dest / "README.md").read_text()
    assert "**tight_deadline**: 1. fair_share" in readme and "round_robin [0, 1]" in readme
    assert "| round_robin (greedy) | 0.200 |" in readme  # completion on tight_deadline
    # Every scored run (2 agents x 2 seeds x train and evaluation) under the commit it recorded.
    assert re.search(r"Runs made at commit: `[^`]+` \(8 runs\)", readme)


# rliable 1.2.0 hands arch a RandomState, which arch deprecates (not ours to change).
@pytest.mark.filterwarnings("ignore:random_state is deprecated:FutureWarning")
def test_rerunning_one_agent_with_keep_gives_the_whole_suites_statistics(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(suite, "QUICK_EVAL_N_TASKS", 20)
    common = ["--quick", "--scenarios", "tight_deadline", "--seeds", "0", "1"]
    whole, rerun = tmp_path / "whole", tmp_path / "rerun"
    suite.main([*common, "--agents", "round_robin", "fair_share", "--out-dir", str(whole)])
    suite.main([*common, "--agents", "fair_share", "--out-dir", str(rerun)])
    full, merged = tmp_path / "full", tmp_path / "merged"
    suite_stats.main(["--scores", str(whole / "scores.csv"), "--runs", str(whole),
                      "--dest", str(full), "--focus", "fair_share"])  # fmt: skip
    kept = tmp_path / "kept"  # round_robin's rows, and fair_share's, which the rerun replaces
    suite_stats.main(["--scores", str(whole / "scores.csv"), "--runs", str(whole),
                      "--dest", str(kept), "--focus", "fair_share"])  # fmt: skip
    suite_stats.main(["--scores", str(rerun / "scores.csv"), "--runs", str(rerun), "--keep",
                      str(kept), "--dest", str(merged), "--focus", "fair_share"])  # fmt: skip
    # The rerun of a deterministic agent plus the kept one give the whole suite's numbers.
    for name in ("scores.csv", "aggregates.csv", "per_scenario.csv", "focus_vs_references.csv",
                 "bracket.csv"):  # fmt: skip
        assert pd.read_csv(merged / name).equals(pd.read_csv(full / name)), name
    walls = pd.read_csv(merged / "wall_times.csv")
    assert sorted(zip(walls["agent"], walls["seed"], strict=True)) == [
        ("fair_share", 0), ("fair_share", 1), ("round_robin", 0), ("round_robin", 1)
    ]  # fmt: skip
    assert "Kept from" in (merged / "README.md").read_text()
    assert "round_robin (2 units)" in (merged / "README.md").read_text()
    # Scores against other episodes (another bound) are refused before anything is written.
    scores = pd.read_csv(kept / "scores.csv")
    scores.loc[scores["agent"] == "round_robin", "upper_bound"] *= 1.01
    scores.to_csv(kept / "scores.csv", index=False)
    capsys.readouterr()
    for extra in (["--runs", str(rerun)], []):
        with pytest.raises(SystemExit) as refused:
            suite_stats.main(["--scores", str(rerun / "scores.csv"), "--keep", str(kept),
                              "--dest", str(tmp_path / "refused"), *extra])  # fmt: skip
        assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "the mean upper bound on tight_deadline" in err and "--keep needs --runs" in err
    assert not (tmp_path / "refused").exists()


def test_the_commits_are_those_the_scored_runs_recorded(tmp_path) -> None:
    def run(stage: str, seed: int, commit: str) -> None:
        folder = tmp_path / "paper" / "runs" / "paper-0123" / stage / "aif" / f"seed={seed}"
        folder.mkdir(parents=True)
        record = {"agent": "aif", "seed": seed, "git_commit": commit}
        (folder / "run.json").write_text(json.dumps(record))

    run("train", 0, "aaa")
    run("tmax", 0, "bbb-dirty")
    run("tmax", 1, "ccc")  # not scored: not counted
    made = suite_stats.run_commits(tmp_path, {("paper", "aif", 0)})
    assert made == {"aaa": 1, "bbb-dirty": 1}


def test_a_failing_run_is_reported_and_the_others_still_run(tmp_path, monkeypatch) -> None:
    ran = []

    def fake_run_one(scenario, agent, seed, *args, **kwargs):
        if agent == "broken":
            raise KeyError("a bug in one agent")
        ran.append((scenario, agent, seed))

    monkeypatch.setattr(suite, "run_one", fake_run_one)
    units = suite.units_of(["paper"], ["broken", "round_robin"], [0, 1])
    failed = suite.run_units(units, tmp_path, quick=True, jobs=1, log=lambda _line: None)
    assert sorted(failed) == [("paper", "broken", 0), ("paper", "broken", 1)]
    assert "KeyError: 'a bug in one agent'" in failed[("paper", "broken", 0)]
    assert ran == [("paper", "round_robin", 0), ("paper", "round_robin", 1)]


def test_an_array_task_runs_the_scenario_at_its_index(tmp_path, monkeypatch, capsys) -> None:
    asked = []

    def fake_run_units(units, *args, **kwargs):
        asked.extend(units)
        raise SystemExit(0)  # stop before scoring: only the selection is under test

    monkeypatch.setattr(suite, "run_units", fake_run_units)
    base = ["--quick", "--agents", "round_robin", "--seeds", "0", "--out-dir", str(tmp_path)]
    with pytest.raises(SystemExit):
        suite.main([*base, "--scenario-index", "1"])
    assert asked == [(suite.SUITE_SCENARIOS[1], "round_robin", 0)]
    # An index past the list is refused before any run, naming the allowed range.
    asked.clear()
    with pytest.raises(SystemExit) as refused:
        suite.main([*base, "--scenarios", "paper", "overload", "--scenario-index", "2"])
    assert refused.value.code == 2 and asked == []
    assert "--scenario-index = 2: allowed 0..1" in capsys.readouterr().err


def test_an_override_reaches_every_run_and_a_malformed_one_is_refused(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(suite, "QUICK_EVAL_N_TASKS", 10)
    args = ["--quick", "--scenarios", "paper", "--agents", "greedy_latency", "--seeds", "0",
            "--out-dir", str(tmp_path)]  # fmt: skip
    suite.main([*args, "--override", "agent.expected_completion_tokens=32"])
    records = sorted(tmp_path.glob("paper/runs/*/*/greedy_latency/seed=0/run.json"))
    assert len(records) == 2  # train and evaluation
    for record in records:
        assert json.loads(record.read_text())["agent_config"]["expected_completion_tokens"] == 32
    assert json.loads((tmp_path / "suite.json").read_text())["overrides"] == [
        "agent.expected_completion_tokens=32"
    ]
    with pytest.raises(SystemExit) as refused:
        suite.main([*args, "--override", "expected_completion_tokens"])
    assert refused.value.code == 2
    assert "--override = 'expected_completion_tokens': allowed KEY=VALUE" in capsys.readouterr().err


# rliable 1.2.0 hands arch a RandomState, which arch deprecates (not ours to change).
@pytest.mark.filterwarnings("ignore:random_state is deprecated:FutureWarning")
def test_the_same_scores_give_the_same_intervals() -> None:
    rng = np.random.default_rng(0)
    matrices = {agent: rng.uniform(size=(3, 4)) for agent in ("a", "b")}
    first = suite_stats.aggregates(matrices)
    assert first.equals(suite_stats.aggregates(matrices))
    assert (first["iqm_low"] < first["iqm_high"]).all()


def test_best_known_takes_each_episodes_best_run_then_the_mean() -> None:
    episodes = pd.DataFrame(
        {
            "scenario": ["s"] * 4 + ["t"] * 2,
            "agent": ["a", "a", "b", "b", "a", "b"],
            "seed": [0] * 6,
            "env_seed": [10, 11, 10, 11, 10, 10],
            "sum_reward": [8.0, 2.0, 6.0, 9.0, 1.0, 1.0],
            "upper_bound": [10.0] * 6,
        }
    )
    bracket = suite_stats.best_known(episodes).set_index("scenario")
    # Episode 10: a (0.8); episode 11: b (0.9). Neither agent alone reaches 0.85 on average.
    assert bracket.loc["s", "best_known"] == pytest.approx(0.85)
    assert bracket.loc["s", "worst_episode"] == pytest.approx(0.8)
    assert bracket.loc["s", "best_agents"] == "a b" and bracket.loc["s", "episodes"] == 2
    assert bracket.loc["t", "gap"] == pytest.approx(0.9)


def test_difference_ci_treats_a_reference_without_spread_as_a_constant() -> None:
    from scripts.stats import difference_ci, mean_ci

    x = np.array([0.5, 0.7, 0.6, 0.9])
    point, low, high = difference_ci(x, np.full(3, 0.4))
    _, x_low, x_high = mean_ci(x)
    assert point == pytest.approx(x.mean() - 0.4)
    assert (low, high) == pytest.approx((x_low - 0.4, x_high - 0.4))
    # Swapping the samples negates the interval; two spread samples widen it.
    assert difference_ci(np.full(3, 0.4), x)[1:] == pytest.approx((0.4 - x_high, 0.4 - x_low))
    both = difference_ci(x, x - 0.1)
    assert both[0] == pytest.approx(0.1) and both[1] < 0.1 < both[2]
    assert high - low < both[2] - both[1]


def test_a_scenario_file_runs_beside_the_shipped_ones_and_a_bad_one_is_refused(
    tmp_path, monkeypatch, capsys
) -> None:
    import yaml

    from cloudedge.config import scenario_path

    monkeypatch.setattr(suite, "QUICK_EVAL_N_TASKS", 10)
    variant = yaml.safe_load(scenario_path("paper").read_text())
    variant["name"] = "paper_two_slots"
    for server in variant["servers"]:
        server["parallel_slots"] = 2
    mine = tmp_path / "mine" / "paper_two_slots.yaml"
    mine.parent.mkdir()
    mine.write_text(yaml.safe_dump(variant))
    out = tmp_path / "suite"
    args = ["--quick", "--agents", "greedy_latency", "--seeds", "0", "--out-dir", str(out)]
    suite.main([*args, "--scenarios", "paper", str(mine)])
    scores = pd.read_csv(out / "scores.csv").set_index("scenario")["score"]
    assert sorted(scores.index) == ["paper", "paper_two_slots"]
    # The runs played the file's scenario: two slots a server leave most of the burst queued.
    record = next((out / "paper_two_slots").glob("runs/*/tmax/greedy_latency/seed=0/run.json"))
    servers = json.loads(record.read_text())["env_config"]["servers"]
    assert {s["parallel_slots"] for s in servers} == {2}
    assert scores["paper_two_slots"] < scores["paper"]
    # A bad file is refused before any run, naming the file and the field.
    variant["t_max_s"] = -1.0
    bad = tmp_path / "mine" / "bad_deadline.yaml"
    bad.write_text(yaml.safe_dump(variant))
    with pytest.raises(SystemExit) as refused:
        suite.main([*args, "--scenarios", str(bad)])
    assert refused.value.code == 2
    assert "bad_deadline.yaml" in capsys.readouterr().err
    assert not (out / "bad_deadline").exists()
    # A file may not take a shipped scenario's name, nor may a name be neither.
    variant["t_max_s"] = 15.0
    (tmp_path / "mine" / "paper.yaml").write_text(yaml.safe_dump(variant))
    for scenario, message in (
        (str(tmp_path / "mine" / "paper.yaml"), "is a shipped scenario's"),
        ("no_such_scenario", "unknown scenario 'no_such_scenario'"),
    ):
        with pytest.raises(SystemExit):
            suite.main([*args, "--scenarios", scenario])
        assert message in capsys.readouterr().err
