"""The ``cloudedge`` command line: simulator-only episodes, help text, named errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cloudedge.cli import main as cli_main
from cloudedge.config import SCENARIO_DIR
from cloudedge.env import CloudEdgeEnv, make_scenario
from cloudedge.profiles import ComputeProfile

RST = re.compile(r"``|:(class|func|mod|meth|data|attr):`")


def test_episode_runs_uniform_random_actions_on_the_paper_scenario(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["episode", "--episodes", "2", "--n-tasks", "10"]) == 0
    out = capsys.readouterr().out
    assert "scenario paper" in out and "policy uniform random" in out and "n_tasks = 10" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["0"], ["1"])]
    assert len(rows) == 2
    # The table says over what each mean is taken.
    assert "mean row: the mean over the episodes" in out
    assert "avg_latency_s only over those that completed any task" in out


def test_the_latency_mean_counts_only_episodes_that_completed_a_task(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # At t_max = 1 s nothing completes (the shortest inference takes more than 2 s).
    assert cli_main(["episode", "--episodes", "2", "--n-tasks", "5", "--t-max", "1"]) == 0
    out = capsys.readouterr().out
    mean = next(line for line in out.splitlines() if line.startswith("   mean"))
    assert mean.split()[3] == "nan"
    assert "(0 of 2)" in out


def test_episode_on_a_scenario_file_and_a_profile_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_path = tmp_path / "flat.csv"
    ComputeProfile(
        name="flat",
        shares=(1.0,),
        prompt_tokens=(16,),
        completion_tokens=(8,),
        times_s=np.array([[[0.05]]]),
    ).to_csv(csv_path)
    argv = ["episode", "--scenario", str(SCENARIO_DIR / "azure_a100_3090.yaml")]
    argv += ["--profile", str(csv_path), "--episodes", "1", "--n-tasks", "10"]
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "scenario azure_a100_3090 (workload azure_trace)" in out
    assert f"cloud: {csv_path}, edge: {csv_path}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scenario", "azure_a100_3090", "--n-tasks", "9999"], "n_tasks = 9999 is out of range"),
        (["--scenario", "atlantis"], "scenario = 'atlantis' is unknown: allowed ["),
        (["--t-max", "-3"], "t_max_s = -3.0 is out of range"),
        (["--profile", "/nonexistent/p.csv"], "no such profile CSV file"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["episode", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cloudedge episode: error: ") and message in err
    assert err.count("\n") == 1


def test_a_bad_scenario_file_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        (SCENARIO_DIR / "paper.yaml").read_text().replace("t_max_s: 15.0", "t_max_s: abc")
    )
    assert cli_main(["episode", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: t_max_s = 'abc' is not a number" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv", [["--help"], ["episode", "--help"]])
def test_help_has_no_markup_and_explains_every_option(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(argv)
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert not RST.search(text), text
    options = re.findall(r"^  (-[-\w]+(?:, --[-\w]+)?)(.*)$", text, flags=re.M)
    for option, rest in options:
        # argparse puts the help on the option's line or indented on the next one
        following = text.split(option, 1)[1].splitlines()
        described = rest.strip() or (len(following) > 1 and following[1].startswith(" " * 10))
        assert described, f"{option} has no help"
    if argv == ["episode", "--help"]:
        assert "--episodes" in text and "number of episodes" in text


def test_profile_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("transformers")
    with pytest.raises(SystemExit):
        cli_main(["profile", "--help"])
    text = capsys.readouterr().out
    assert "--prompt-tokens" in text and "--n-layer" in text and not RST.search(text)


def test_cli_profile_writes_a_profile_the_simulator_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers")
    out = tmp_path / "tiny.csv"
    argv = ["profile", f"--out={out}", "--prompt-tokens=4,8", "--completion-tokens=2"]
    argv += ["--threads=1", "--max-threads=2", "--repeats=1", "--warmup=0"]
    argv += ["--n-layer=1", "--n-embd=64", "--n-head=2", "--rotary-dim=16"]
    argv += ["--vocab-size=512", "--n-positions=64"]
    assert cli_main(argv) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    scenario = make_scenario("paper", n_tasks=5)
    servers = [{**s, "compute_profile": str(out)} for s in scenario.to_dict()["servers"]]
    env = CloudEdgeEnv(scenario.replace(servers=servers))
    env.reset(seed=0)
    assert env.simulator is not None and env.simulator.servers[0].uses_tokens
