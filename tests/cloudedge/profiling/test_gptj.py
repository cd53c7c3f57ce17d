"""Tests of the GPT-J profiler (cloudedge.profiling.gptj) on a tiny random-weight model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import torch

from cloudedge.profiles import ComputeProfile
from cloudedge.profiling.gptj import (
    RandomGPTJSize,
    add_arguments,
    available_cpu_threads,
    profile,
    run,
)

TINY = RandomGPTJSize(n_layer=1, n_embd=64, n_head=2, rotary_dim=16, vocab_size=512, n_positions=64)
TINY_OPTIONS = [
    "--n-layer=1",
    "--n-embd=64",
    "--n-head=2",
    "--rotary-dim=16",
    "--vocab-size=512",
    "--n-positions=64",
]


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudedge profile")
    add_arguments(parser)
    return parser


def test_profile_writes_a_loadable_csv(tmp_path: Path) -> None:
    threads_before = torch.get_num_threads()
    out = tmp_path / "sub" / "tiny.csv"
    result = profile(
        out,
        prompt_tokens=(8,),
        completion_tokens=(4,),
        threads=(1,),
        repeats=1,
        warmup=1,
        model_size=TINY,
    )
    assert torch.get_num_threads() == threads_before
    loaded = ComputeProfile.from_csv(out)
    assert loaded.name == "tiny"
    assert loaded.shares == pytest.approx((1 / available_cpu_threads(),))
    assert (loaded.prompt_tokens, loaded.completion_tokens) == ((8,), (4,))
    assert loaded.times_s.shape == (1, 1, 1)
    assert 0.0 < loaded.times_s[0, 0, 0] < 10.0
    assert loaded.times_s[0, 0, 0] == pytest.approx(result.times_s[0, 0, 0], rel=1e-9)
    assert loaded.compute_time_s(loaded.shares[0], 8, 4) == pytest.approx(loaded.times_s[0, 0, 0])
    header = "\n".join(loaded.header_lines)
    for expected in (
        "random weights",
        "n_layer=1, n_embd=64, n_head=2, rotary_dim=16, vocab_size=512, n_positions=64",
        "torch.manual_seed(0)",
        "device: cpu",
        f"torch {torch.__version__}",
        "transformers ",
        "date: ",
        "median of 1 repeat(s) after 1 warm-up run(s)",
    ):
        assert expected in header


def test_command_line_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.csv"
    args = make_parser().parse_args(
        [
            f"--out={out}",
            "--prompt-tokens=4,8",
            "--completion-tokens=2",
            "--threads=1",
            "--max-threads=4",
            "--repeats=1",
            "--warmup=0",
            *TINY_OPTIONS,
        ]
    )
    assert run(args) == 0
    loaded = ComputeProfile.from_csv(out)
    assert loaded.shares == (0.25,)
    assert loaded.prompt_tokens == (4, 8)
    assert f"wrote {out}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threads": (0,)}, r"threads \(--threads\) values must be integers in \[1, 2\]"),
        ({"threads": (3,)}, r"threads \(--threads\) values must be integers in \[1, 2\]"),
        ({"threads": (1, 1)}, r"threads \(--threads\) values must be distinct"),
        ({"threads": ()}, r"threads \(--threads\) needs at least one value"),
        ({"repeats": 0}, r"repeats \(--repeats\) must be an integer in \[1, 1000\]"),
        ({"warmup": -1}, r"warmup \(--warmup\) must be an integer in \[0, 100\]"),
        ({"completion_tokens": (0,)}, r"completion_tokens \(--completion-tokens\) .*\[1, 63\]"),
        ({"prompt_tokens": (61,)}, r"prompt_tokens \(--prompt-tokens\) .*\[1, 60\]"),
        ({"device": "tpu"}, r"device \(--device\) must be 'cpu' or 'cuda'"),
        ({"dtype": "int8"}, r"dtype \(--dtype\) must be one of"),
        ({"model_path": "/nonexistent/gptj"}, r"model_path \(--model\) must be an existing folder"),
        (
            {"model_size": RandomGPTJSize(n_embd=65, n_head=2)},
            r"n_embd \(--n-embd\) must be a multiple of n_head",
        ),
        (
            {"model_size": RandomGPTJSize(n_embd=64, n_head=2, rotary_dim=15)},
            r"rotary_dim \(--rotary-dim\) must be even and in \[2, 32\]",
        ),
        ({"model_size": RandomGPTJSize(n_layer=0)}, r"n_layer \(--n-layer\) .*\[1, 64\]"),
    ],
)
def test_bad_arguments_name_option_and_range(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    options: dict[str, Any] = {
        "prompt_tokens": (8,),
        "completion_tokens": (4,),
        "threads": (1,),
        "max_threads": 2,
        "model_size": TINY,
    }
    options.update(kwargs)
    with pytest.raises(ValueError, match=message):
        profile(tmp_path / "never.csv", **options)
    assert not (tmp_path / "never.csv").exists()


def test_run_reports_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = make_parser().parse_args([f"--out={tmp_path / 'x.csv'}", "--repeats=0"])
    assert run(args) == 2
    assert "repeats (--repeats) must be an integer in [1, 1000]" in capsys.readouterr().err


def test_parser_rejects_malformed_lists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        make_parser().parse_args(["--prompt-tokens", "16,abc"])
    assert info.value.code == 2
    assert "argument --prompt-tokens" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_profile_on_cuda_measures_full_share_only(tmp_path: Path) -> None:
    out = tmp_path / "cuda.csv"
    profile(
        out,
        device="cuda",
        prompt_tokens=(8,),
        completion_tokens=(4,),
        threads=(1, 2),
        repeats=1,
        warmup=1,
        model_size=TINY,
    )
    assert ComputeProfile.from_csv(out).shares == (1.0,)
