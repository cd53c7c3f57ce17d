"""Tests of the Azure LLM inference trace reader (cloudedge.trace)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudedge.trace import (
    BYTES_PER_TOKEN,
    LLMTrace,
    TraceFormatError,
    default_azure_code_trace_path,
    tokens_to_bytes,
)

HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


@pytest.fixture(scope="module")
def code_trace() -> LLMTrace:
    return LLMTrace.from_csv(default_azure_code_trace_path())


def write_trace(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- shipped trace


def test_shipped_code_trace_parses(code_trace: LLMTrace) -> None:
    assert len(code_trace) == 8819
    assert code_trace.arrival_s.dtype == np.float64
    assert code_trace.prompt_tokens.dtype == np.int64
    assert code_trace.completion_tokens.dtype == np.int64
    assert code_trace.arrival_s[0] == 0.0
    assert np.all(np.diff(code_trace.arrival_s) >= 0.0)
    # First rows: 18:17:03.9799600 (4808, 10) then 18:17:04.0319600 (3180, 8).
    assert code_trace.prompt_tokens[:2].tolist() == [4808, 3180]
    assert code_trace.completion_tokens[:2].tolist() == [10, 8]
    assert code_trace.arrival_s[1] == pytest.approx(0.052, abs=1e-12)
    # Last row 19:14:19.9280160 (549, 173), the line without a trailing newline.
    assert code_trace.duration_s == pytest.approx(3435.948056, abs=1e-9)
    assert (code_trace.prompt_tokens[-1], code_trace.completion_tokens[-1]) == (549, 173)
    # Statistics stated in cloudedge/data/azure_llm_2023/SOURCE.md.
    assert code_trace.prompt_tokens.mean() == pytest.approx(2047.8, abs=0.05)
    assert code_trace.completion_tokens.mean() == pytest.approx(27.9, abs=0.05)
    assert code_trace.source == str(default_azure_code_trace_path())


def test_shipped_code_trace_loads_fast() -> None:
    start = time.perf_counter()
    LLMTrace.from_csv(default_azure_code_trace_path())
    assert time.perf_counter() - start < 1.0


def test_arrays_are_read_only(code_trace: LLMTrace) -> None:
    with pytest.raises(ValueError, match="read-only"):
        code_trace.arrival_s[0] = 1.0


# --------------------------------------------------------------------------- parsing details


def test_small_file_without_trailing_newline_and_fraction_digits(tmp_path: Path) -> None:
    path = write_trace(
        tmp_path,
        HEADER + "2023-11-16 18:17:03.9799600,5,1\n"
        "2023-11-16 18:17:04,0,0\n"
        "\n"  # blank lines are tolerated
        "2023-11-16 18:17:04.000000001,7,2",
    )
    trace = LLMTrace.from_csv(path)
    assert len(trace) == 3
    assert trace.arrival_s.tolist() == pytest.approx([0.0, 0.02004, 0.020040001], abs=1e-12)
    assert trace.prompt_tokens.tolist() == [5, 0, 7]
    assert trace.completion_tokens.tolist() == [1, 0, 2]


def test_utc_offsets_of_the_2024_release_are_read_in_utc(tmp_path: Path) -> None:
    # The 2024 Azure release writes "+00:00" and sometimes drops the fraction; another offset is
    # the same instant moved, so 01:00:01+01:00 is one second after 00:00:00+00:00.
    path = write_trace(
        tmp_path,
        HEADER + "2024-05-10 00:00:00.009930+00:00,2162,5\n"
        "2024-05-10 00:00:00.5Z,10,0\n"
        "2024-05-10 01:00:01+01:00,7,2\n"
        "2024-05-09 19:00:02-0500,3,4\n",
    )
    trace = LLMTrace.from_csv(path)
    assert trace.arrival_s.tolist() == pytest.approx([0.0, 0.49007, 0.99007, 1.99007], abs=1e-12)
    assert trace.prompt_tokens.tolist() == [2162, 10, 7, 3]
    later_first = write_trace(
        tmp_path,
        HEADER + "2024-05-10 01:00:02+01:00,1,1\n2024-05-10 00:00:01+00:00,1,1\n",
        name="decreasing_in_utc.csv",
    )
    with pytest.raises(TraceFormatError, match="must not decrease"):
        LLMTrace.from_csv(later_first)


def test_equal_timestamps_are_allowed(tmp_path: Path) -> None:
    stamp = "2023-11-16 18:17:03.0000000"
    path = write_trace(tmp_path, HEADER + f"{stamp},1,1\n{stamp},2,2\n")
    assert LLMTrace.from_csv(path).arrival_s.tolist() == [0.0, 0.0]


ROW1 = "2023-11-16 18:17:03.9799600,4808,10\n"


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        pytest.param(
            "TIMESTAMP,ContextTokens\n" + ROW1, 1, "GeneratedTokens", "missing column", id="col"
        ),
        pytest.param(
            "TIME,ContextTokens,GeneratedTokens\n" + ROW1,
            1,
            "TIMESTAMP",
            "missing column",
            id="header-name",
        ),
        pytest.param(
            "ContextTokens,TIMESTAMP,GeneratedTokens\n" + ROW1,
            1,
            "TIMESTAMP",
            "out of order",
            id="header-order",
        ),
        pytest.param(
            "TIMESTAMP,ContextTokens,GeneratedTokens,Extra\n" + ROW1,
            1,
            "Extra",
            "unexpected column",
            id="header-extra",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-13-16 18:17:04.0000000,1,1\n",
            3,
            "TIMESTAMP",
            "cannot parse timestamp",
            id="bad-month",
        ),
        pytest.param(
            HEADER + ROW1 + "yesterday,1,1\n", 3, "TIMESTAMP", "cannot parse", id="not-a-date"
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04+01:00,1,1\n",
            3,
            "TIMESTAMP",
            "has a UTC offset where the first row's has none",
            id="time-zone-mixed",
        ),
        pytest.param(
            HEADER + "2024-05-10 00:00:00+00:00,1,1\n2024-05-10 00:00:01,1,1\n",
            3,
            "TIMESTAMP",
            "has no UTC offset where the first row's has one",
            id="time-zone-dropped",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04+24:00,1,1\n",
            3,
            "TIMESTAMP",
            "cannot parse",
            id="time-zone-out-of-range",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04 PST,1,1\n",
            3,
            "TIMESTAMP",
            "cannot parse",
            id="time-zone-named",
        ),
        pytest.param(
            HEADER + "2023-11-16 18:17:05.0000000,1,1\n2023-11-16 18:17:04.0300000,1,1\n",
            3,
            "TIMESTAMP",
            r"timestamps must not decrease \(18:17:04.03 after 18:17:05.00\)",
            id="decreasing",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04.0000000,-5,1\n",
            3,
            "ContextTokens",
            "non-negative integer, got '-5'",
            id="negative",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04.0000000,5,1.5\n",
            3,
            "GeneratedTokens",
            "non-negative integer, got '1.5'",
            id="non-integer",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04.0000000,5,\n",
            3,
            "GeneratedTokens",
            "non-negative integer",
            id="empty-field",
        ),
        pytest.param("", 1, "TIMESTAMP", "empty file", id="empty-file"),
        pytest.param(HEADER, 2, "TIMESTAMP", "no data rows", id="header-only"),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04.0000000,5\n",
            3,
            "GeneratedTokens",
            "expected 3 fields, got 2",
            id="too-few-fields",
        ),
        pytest.param(
            HEADER + ROW1 + "2023-11-16 18:17:04.0000000,5,1,9\n",
            3,
            "4",
            "expected 3 fields, got 4",
            id="too-many-fields",
        ),
    ],
)
def test_malformed_files_name_file_line_and_column(
    tmp_path: Path, text: str, line: int, column: str, reason: str
) -> None:
    path = write_trace(tmp_path, text, name="bad_trace.csv")
    with pytest.raises(TraceFormatError, match=reason) as info:
        LLMTrace.from_csv(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.line, error.column) == (line, column)
    assert str(error).startswith(f"bad_trace.csv line {line}, column {column}: ")


# --------------------------------------------------------------------------- slicing / scaling


def test_slice_by_count_preserves_counts_order_and_gaps(code_trace: LLMTrace) -> None:
    part = code_trace.slice_by_count(100, 250)
    assert len(part) == 250
    assert part.arrival_s[0] == 0.0
    np.testing.assert_array_equal(part.prompt_tokens, code_trace.prompt_tokens[100:350])
    np.testing.assert_array_equal(part.completion_tokens, code_trace.completion_tokens[100:350])
    np.testing.assert_allclose(
        np.diff(part.arrival_s), np.diff(code_trace.arrival_s[100:350]), atol=1e-9
    )
    assert part.source == code_trace.source


def test_slice_by_window(code_trace: LLMTrace) -> None:
    start_s, duration_s = 600.0, 120.0
    part = code_trace.slice_by_window(start_s, duration_s)
    arrivals = code_trace.arrival_s
    mask = (arrivals >= start_s) & (arrivals < start_s + duration_s)
    assert len(part) == int(mask.sum())
    assert part.arrival_s[0] == 0.0
    assert part.duration_s < duration_s
    np.testing.assert_array_equal(part.prompt_tokens, code_trace.prompt_tokens[mask])


def test_time_scaled_changes_gaps_only(code_trace: LLMTrace) -> None:
    fast = code_trace.time_scaled(0.5)
    assert len(fast) == len(code_trace)
    np.testing.assert_allclose(fast.arrival_s, code_trace.arrival_s * 0.5)
    np.testing.assert_array_equal(fast.prompt_tokens, code_trace.prompt_tokens)
    np.testing.assert_array_equal(fast.completion_tokens, code_trace.completion_tokens)
    assert fast.mean_rate_hz == pytest.approx(2.0 * code_trace.mean_rate_hz)


def test_scaled_to_rate(code_trace: LLMTrace) -> None:
    assert code_trace.mean_rate_hz == pytest.approx(8818 / 3435.948056)
    scaled = code_trace.slice_by_count(0, 500).scaled_to_rate(12.5)
    assert len(scaled) == 500
    assert scaled.mean_rate_hz == pytest.approx(12.5)


def test_episodes_by_count(code_trace: LLMTrace) -> None:
    episodes = list(code_trace.episodes_by_count(1000))
    assert [len(e) for e in episodes] == [1000] * 8
    assert all(e.arrival_s[0] == 0.0 for e in episodes)
    np.testing.assert_array_equal(
        np.concatenate([e.prompt_tokens for e in episodes]), code_trace.prompt_tokens[:8000]
    )
    with_tail = list(code_trace.episodes_by_count(1000, drop_remainder=False))
    assert [len(e) for e in with_tail] == [1000] * 8 + [819]
    assert sum(len(e) for e in code_trace.episodes_by_count(8819)) == 8819


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_slices_keep_order_property(code_trace: LLMTrace, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(code_trace) - 1))
    n = data.draw(st.integers(1, len(code_trace) - start))
    factor = data.draw(st.floats(0.01, 100.0))
    part = code_trace.slice_by_count(start, n).time_scaled(factor)
    assert len(part) == n
    assert part.arrival_s[0] == 0.0
    assert np.all(np.diff(part.arrival_s) >= 0.0)
    np.testing.assert_array_equal(part.prompt_tokens, code_trace.prompt_tokens[start : start + n])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.slice_by_count(-1, 5), r"start_index must be an integer in \[0, 8818\]"),
        (lambda t: t.slice_by_count(8819, 1), r"start_index must be an integer in \[0, 8818\]"),
        (lambda t: t.slice_by_count(8810, 10), r"n_tasks must be an integer in \[1, 9\]"),
        (lambda t: t.slice_by_count(0, 0), r"n_tasks must be an integer in \[1, 8819\]"),
        (lambda t: t.slice_by_count(0.5, 3), "start_index must be an integer"),
        (lambda t: t.slice_by_window(-1.0, 10.0), r"start_s must be a number in \[0, "),
        (lambda t: t.slice_by_window(5000.0, 10.0), r"start_s must be a number in \[0, "),
        (lambda t: t.slice_by_window(0.0, 0.0), "duration_s must be a finite number > 0"),
        (lambda t: t.slice_by_window(0.0, float("inf")), "duration_s must be a finite number"),
        (lambda t: t.time_scaled(0.0), "factor must be a finite number > 0"),
        (lambda t: t.time_scaled(float("nan")), "factor must be a finite number > 0"),
        (lambda t: t.scaled_to_rate(-2.0), "rate_hz must be a finite number > 0"),
        (lambda t: list(t.episodes_by_count(0)), r"n_tasks must be an integer in \[1, 8819\]"),
        (lambda t: list(t.episodes_by_count(9000)), r"n_tasks must be an integer in \[1, 8819\]"),
    ],
)
def test_bad_arguments_name_argument_and_range(code_trace: LLMTrace, call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(code_trace)


def test_empty_window_and_undefined_rate(tmp_path: Path) -> None:
    path = write_trace(tmp_path, HEADER + "2023-11-16 18:17:00,1,1\n2023-11-16 18:18:00,1,1\n")
    trace = LLMTrace.from_csv(path)
    with pytest.raises(ValueError, match="holds no request"):
        trace.slice_by_window(1.0, 10.0)
    single = trace.slice_by_count(0, 1)
    with pytest.raises(ValueError, match="at least 2 requests"):
        single.scaled_to_rate(1.0)


def test_constructor_checks_invariants() -> None:
    with pytest.raises(ValueError, match=r"start at 0\.0"):
        LLMTrace(np.array([1.0, 2.0]), np.array([1, 1]), np.array([1, 1]), "x")
    with pytest.raises(ValueError, match="non-decreasing"):
        LLMTrace(np.array([0.0, 2.0, 1.0]), np.ones(3), np.ones(3), "x")
    with pytest.raises(ValueError, match="equal length"):
        LLMTrace(np.array([0.0, 1.0]), np.ones(3), np.ones(2), "x")
    with pytest.raises(ValueError, match="at least one request"):
        LLMTrace(np.array([]), np.array([]), np.array([]), "x")


# --------------------------------------------------------------------------- bytes per token


def test_tokens_to_bytes() -> None:
    assert BYTES_PER_TOKEN == 4.0
    assert tokens_to_bytes(3) == 12
    assert isinstance(tokens_to_bytes(3), int)
    np.testing.assert_array_equal(tokens_to_bytes(np.array([0, 1, 2048])), [0, 4, 8192])
    assert tokens_to_bytes(3, bytes_per_token=3.5) == 11  # 10.5 rounded up
    with pytest.raises(ValueError, match="tokens must be finite numbers >= 0"):
        tokens_to_bytes(-1)
    with pytest.raises(ValueError, match="bytes_per_token must be a finite number > 0"):
        tokens_to_bytes(1, bytes_per_token=0.0)
