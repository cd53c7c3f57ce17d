"""``python -m benchmarks.episode``: heuristic agents on a scenario, named errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.episode import heuristic_agents, main

ROOT = Path(__file__).resolve().parents[2]


def test_every_heuristic_is_offered() -> None:
    assert {"random", "round_robin", "greedy_latency", "edge_first", "one_step_preview"} <= set(
        heuristic_agents()
    )


def test_an_agent_on_the_azure_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--scenario", "azure_a100_3090", "--agent", "round_robin"]
    assert main([*argv, "--episodes", "2", "--n-tasks", "20"]) == 0
    out = capsys.readouterr().out
    assert "scenario azure_a100_3090 (workload azure_trace), policy round_robin" in out
    assert "cloud: gptj6b_fp16_a800, edge: gptj6b_fp16_rtx3090" in out
    assert "prompts truncated to GPT-J's context:" in out  # the trace has long prompts
    assert "mean row: the mean over the episodes" in out


def test_the_random_agent_plays_what_cloudedge_episode_plays(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cloudedge.cli import main as cloudedge_main

    argv = ["--episodes", "2", "--n-tasks", "15", "--seed", "4"]
    assert main([*argv, "--agent", "random"]) == 0
    bench = capsys.readouterr().out.splitlines()
    assert cloudedge_main(["episode", *argv]) == 0
    simulator_only = capsys.readouterr().out.splitlines()
    assert bench[2:] == simulator_only[2:]  # same table; the headers name the policy


def test_an_unknown_agent_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--agent", "nobody"]) == 2
    err = capsys.readouterr().err
    assert "--agent = 'nobody' is unknown: allowed [" in err and err.count("\n") == 1


def test_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.episode", "--episodes", "1", "--n-tasks", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "policy random" in result.stdout
