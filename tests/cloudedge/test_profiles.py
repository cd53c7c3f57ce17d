"""Tests of token-based compute-time profiles (cloudedge.profiles) and the shipped profiles."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from cloudedge.profiles import (
    ComputeProfile,
    ProfileFormatError,
    available_profiles,
    load_profile,
    profiles_dir,
)

HEADER = "compute_share,prompt_tokens,completion_tokens,compute_time_s\n"

# Hand-made grid. At share 1.0: t(10,1)=1, t(10,3)=2, t(20,1)=3, t(20,3)=5; share 0.5 doubles.
SMALL_GRID = (
    "# hand-made test grid\n"
    "# second comment line\n"
    + HEADER
    + "0.5,10,1,2.0\n"
    + "0.5,10,3,4.0\n"
    + "0.5,20,1,6.0\n"
    + "0.5,20,3,10.0\n"
    + "1.0,10,1,1.0\n"
    + "1.0,10,3,2.0\n"
    + "1.0,20,1,3.0\n"
    + "1.0,20,3,5.0\n"
)

SHIPPED = ("gptj6b_fp16_a100", "gptj6b_fp16_a800", "gptj6b_fp16_rtx3090", "gptj6b_fp16_rtx4090")


@pytest.fixture
def small(tmp_path: Path) -> ComputeProfile:
    path = tmp_path / "small.csv"
    path.write_text(SMALL_GRID, encoding="utf-8")
    return ComputeProfile.from_csv(path)


def write_profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad_profile.csv"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- loading


def test_small_grid_loads(small: ComputeProfile) -> None:
    assert small.name == "small"
    assert small.shares == (0.5, 1.0)
    assert small.prompt_tokens == (10, 20)
    assert small.completion_tokens == (1, 3)
    assert small.times_s.shape == (2, 2, 2)
    assert small.header_lines == ("hand-made test grid", "second comment line")
    assert not small.times_s.flags.writeable


# --------------------------------------------------------------------------- interpolation


@pytest.mark.parametrize(
    ("share", "prompt", "completion", "expected"),
    [
        # grid points
        (1.0, 10, 1, 1.0),
        (1.0, 20, 3, 5.0),
        (0.5, 20, 1, 6.0),
        # linear along one token axis
        (1.0, 10, 2, 1.5),
        (1.0, 15, 1, 2.0),
        # bilinear in the middle of the cell: mean of the four corners
        (1.0, 15, 2, 2.75),
        (0.5, 15, 2, 5.5),
        # linear extrapolation beyond the largest token values (last segment's slope)
        (1.0, 10, 5, 3.0),
        (1.0, 30, 1, 5.0),
        (1.0, 30, 5, 11.0),
        # clamped below the smallest token values
        (1.0, 5, 0, 1.0),
        (1.0, 0, 2, 1.5),
        # share: linear in 1/share (exact for 1/share scaling)
        (0.75, 10, 1, 4.0 / 3.0),
        (0.75, 15, 2, 2.75 / 0.75),
        # below the smallest share: time scales as 1/share
        (0.25, 10, 1, 4.0),
        (0.1, 20, 3, 50.0),
    ],
)
def test_interpolation_matches_hand_computed_points(
    small: ComputeProfile, share: float, prompt: float, completion: float, expected: float
) -> None:
    assert small.compute_time_s(share, prompt, completion) == pytest.approx(expected, rel=1e-12)


def test_share_above_grid_is_clamped_and_amdahl_is_exact() -> None:
    shares = (0.25, 0.5)
    serial_s, parallel_s = 0.3, 0.2
    times = np.array([[[serial_s + parallel_s / s]] for s in shares])
    profile = ComputeProfile("amdahl", shares, (8,), (4,), times)
    # Between grid shares, linear in 1/share reproduces Amdahl's law exactly.
    assert profile.compute_time_s(0.4, 8, 4) == pytest.approx(serial_s + parallel_s / 0.4)
    # Above the largest grid share: the largest share's value (no unmeasured speed-up).
    assert profile.compute_time_s(1.0, 8, 4) == pytest.approx(serial_s + parallel_s / 0.5)
    # Single-value token axes: constant along them.
    assert profile.compute_time_s(0.5, 1000, 1) == profile.compute_time_s(0.5, 8, 4)


def test_extrapolation_never_drops_below_grid_values() -> None:
    # Noisy measured grid: more tokens measured faster.
    profile = ComputeProfile("noisy", (1.0,), (10,), (1, 3), np.array([[[2.0, 1.0]]]))
    assert profile.compute_time_s(1.0, 10, 2) == pytest.approx(1.5)
    assert profile.compute_time_s(1.0, 10, 100) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 10, 1), r"compute_share must be in \(0, 1\]"),
        ((1.5, 10, 1), r"compute_share must be in \(0, 1\]"),
        ((float("nan"), 10, 1), r"compute_share must be in \(0, 1\]"),
        ((1.0, -1, 1), "prompt_tokens must be a finite number >= 0"),
        ((1.0, 10, float("inf")), "completion_tokens must be a finite number >= 0"),
    ],
)
def test_compute_time_rejects_bad_arguments(
    small: ComputeProfile, args: tuple[float, float, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        small.compute_time_s(*args)


# --------------------------------------------------------------------------- writing


def test_csv_round_trip(small: ComputeProfile, tmp_path: Path) -> None:
    out = tmp_path / "copy.csv"
    small.to_csv(out)
    again = ComputeProfile.from_csv(out)
    assert (again.shares, again.prompt_tokens, again.completion_tokens) == (
        small.shares,
        small.prompt_tokens,
        small.completion_tokens,
    )
    np.testing.assert_allclose(again.times_s, small.times_s, rtol=1e-9)
    assert again.header_lines == small.header_lines
    small.to_csv(out, header_lines=["other header"])
    assert ComputeProfile.from_csv(out).header_lines == ("other header",)
    assert out.read_text(encoding="utf-8").startswith("# other header\n" + HEADER)


# --------------------------------------------------------------------------- validation


ROWS = "1.0,10,1,1.0\n1.0,10,3,2.0\n1.0,20,1,3.0\n1.0,20,3,5.0\n"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        pytest.param(
            "# c\ncompute_share,prompt_tokens,time\n" + ROWS, "line 2", "header", id="header"
        ),
        pytest.param("# only comments\n", "line 1", "no header", id="no-header"),
        pytest.param("# c\n" + HEADER, "line 3", "no data rows", id="no-rows"),
        pytest.param(
            HEADER + "1.0,10,1,1.0\n1.0,10,3,2.0\n1.0,20,1,3.0\n",
            None,
            "completion_tokens=3 is missing",
            id="missing-point",
        ),
        pytest.param(
            HEADER + "1.0,10,1,1.0\n1.0,10,3,0.0\n",
            "line 3",
            "compute_time_s must be > 0",
            id="zero-time",
        ),
        pytest.param(
            HEADER + "1.0,10,1,-1.0\n", "line 2", "compute_time_s must be > 0", id="negative-time"
        ),
        pytest.param(HEADER + "1.0,10,1,abc\n", "line 2", "must be a number", id="bad-number"),
        pytest.param(HEADER + "1.0,10,1,nan\n", "line 2", "must be finite", id="nan"),
        pytest.param(
            HEADER + "0.0,10,1,1.0\n", "line 2", r"compute_share must be in \(0, 1\]", id="share0"
        ),
        pytest.param(
            HEADER + "1.5,10,1,1.0\n", "line 2", r"compute_share must be in \(0, 1\]", id="big"
        ),
        pytest.param(
            HEADER + "1.0,10.5,1,1.0\n",
            "line 2",
            "prompt_tokens must be a non-negative integer",
            id="fractional-tokens",
        ),
        pytest.param(
            HEADER + "1.0,10,-1,1.0\n",
            "line 2",
            "completion_tokens must be a non-negative integer",
            id="negative-tokens",
        ),
        pytest.param(HEADER + "1.0,10,1\n", "line 2", "expected 4 fields", id="fields"),
        pytest.param(
            HEADER + "1.0,10,3,2.0\n1.0,10,1,1.0\n", "line 3", "must be sorted", id="unsorted"
        ),
        pytest.param(
            HEADER + "1.0,10,1,1.0\n1.0,10,1,1.0\n", "line 3", "no duplicates", id="duplicate"
        ),
        pytest.param(
            HEADER + "1.0,20,1,1.0\n0.5,10,1,1.0\n", "line 3", "must be sorted", id="share-order"
        ),
    ],
)
def test_csv_validation_names_file_and_line(
    tmp_path: Path, text: str, where: str | None, message: str
) -> None:
    path = write_profile(tmp_path, text)
    with pytest.raises(ProfileFormatError, match=message) as info:
        ComputeProfile.from_csv(path)
    prefix = "bad_profile.csv" if where is None else f"bad_profile.csv {where}:"
    assert str(info.value).startswith(prefix)
    assert isinstance(info.value, ValueError)


def test_constructor_validation() -> None:
    times = np.ones((1, 2, 1))
    with pytest.raises(ValueError, match="prompt_tokens axis must be strictly increasing"):
        ComputeProfile("x", (1.0,), (20, 10), (1,), times)
    with pytest.raises(ValueError, match="compute_share axis must be strictly increasing"):
        ComputeProfile("x", (1.0, 0.5), (10,), (1,), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="shape"):
        ComputeProfile("x", (1.0,), (10,), (1,), times)
    with pytest.raises(ValueError, match="finite and > 0"):
        ComputeProfile("x", (1.0,), (10, 20), (1,), np.array([[[1.0], [0.0]]]))
    with pytest.raises(ValueError, match=r"compute_share values must be in \(0, 1\]"):
        ComputeProfile("x", (2.0,), (10,), (1,), np.ones((1, 1, 1)))


# --------------------------------------------------------------------------- shipped profiles


def test_shipped_profiles_are_listed_and_load() -> None:
    assert tuple(available_profiles()) == SHIPPED
    for name in SHIPPED:
        profile = load_profile(name)
        assert profile.name == name
        text = "\n".join(profile.header_lines)
        assert "hardware:" in text
        assert "source" in text
        assert "scripts/make_profiles.py" in text
        assert profile.shares[-1] == 1.0


def test_unknown_profile_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"unknown compute profile 'h100'.*gptj6b_fp16_a100"):
        load_profile("h100")


def test_shipped_profiles_give_sensible_numbers() -> None:
    def time_s(name: str, share: float = 1.0, prompt: int = 128, completion: int = 128) -> float:
        return load_profile(name).compute_time_s(share, prompt, completion)

    a100, a800 = time_s("gptj6b_fp16_a100"), time_s("gptj6b_fp16_a800")
    rtx3090, rtx4090 = time_s("gptj6b_fp16_rtx3090"), time_s("gptj6b_fp16_rtx4090")
    assert a100 == a800
    assert a100 < rtx4090 < rtx3090
    # A100: about 111 generated tokens/s at batch 1.
    assert 128 / a100 == pytest.approx(111.0, rel=0.05)
    # RTX 4090 with transformers FP16: about 40 tokens/s for 64 in / 128 out (3.224 s).
    assert time_s("gptj6b_fp16_rtx4090", prompt=64) == pytest.approx(3.224, rel=0.02)
    # A100 first-token latency for 2048 prompt tokens: 129 ms published.
    assert time_s("gptj6b_fp16_a100", prompt=2048, completion=1) == pytest.approx(0.129, rel=0.05)
    for name in SHIPPED:
        assert time_s(name, share=0.5) == pytest.approx(2.0 * time_s(name))
        assert time_s(name, prompt=2048) > time_s(name)
        assert time_s(name, completion=256) > time_s(name)


def _load_make_profiles() -> ModuleType:
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_profiles.py"
    spec = importlib.util.spec_from_file_location("make_profiles_under_test", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_shipped_csvs_are_reproduced_by_the_script(tmp_path: Path) -> None:
    make_profiles = _load_make_profiles()
    assert make_profiles.main(["--out-dir", str(tmp_path)]) == 0
    for name in SHIPPED:
        generated = (tmp_path / f"{name}.csv").read_text(encoding="utf-8")
        shipped = (profiles_dir() / f"{name}.csv").read_text(encoding="utf-8")
        assert generated == shipped, f"{name}.csv differs from scripts/make_profiles.py output"
