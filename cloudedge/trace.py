"""Reader for LLM inference request traces in the Azure LLM inference trace schema.

The schema is that of the Azure LLM Inference Trace 2023 (Patel et al., "Splitwise", ISCA 2024):
a CSV whose header is exactly ``TIMESTAMP,ContextTokens,GeneratedTokens``, one request per row,
timestamps like ``2023-11-16 18:17:03.9799600`` (up to 9 fractional digits accepted) sorted
ascending. The 2024 release of the trace (Stojkovic et al., "DynamoLLM", HPCA 2025) writes the
same columns with a UTC offset, ``2024-05-10 00:00:00.009930+00:00``; an offset (``Z`` or
``+HH:MM``) is accepted when every row has one, and such times are compared in UTC.
``ContextTokens`` is the prompt length and ``GeneratedTokens`` the completion length.

Arrival times are kept relative to the first request of a trace (or of a slice), so every
:class:`LLMTrace` starts at ``arrival_s[0] == 0.0``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = [
    "BYTES_PER_TOKEN",
    "TRACE_COLUMNS",
    "LLMTrace",
    "TraceFormatError",
    "default_azure_code_trace_path",
    "tokens_to_bytes",
]

#: Header of the Azure LLM inference trace, in this order.
TRACE_COLUMNS: tuple[str, str, str] = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")

#: Approximate size of one token of text, in bytes, used to turn token counts into payload sizes
#: for the transmission model. Basis: GPT-2/GPT-J byte-pair encoding averages roughly 4 characters
#: per token on English text, and OpenAI's tokenizer documentation gives the rule of thumb
#: "1 token ~= 4 chars in English"; with ASCII/UTF-8 text one character is one byte. Source code
#: tokenizes somewhat more densely (fewer characters per token), so for the coding trace this is an
#: approximation that errs on the large side.
BYTES_PER_TOKEN: float = 4.0

_NS_PER_S = 1_000_000_000
_SECONDS_PER_DAY = 86_400
# Strict shape check before datetime parsing: fromisoformat alone would also accept dates without
# a time, week dates and named time zones, none of which belong in this schema. The optional
# UTC offset is the 2024 release's (``+00:00``); groups: fraction, offset.
_TIMESTAMP_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?"
)
_UNSIGNED_INT_RE = re.compile(r"\d+")


class TraceFormatError(ValueError):
    """A trace file does not follow the schema; the message names file, line and column."""

    def __init__(self, path: str | Path, line: int, column: str, reason: str) -> None:
        """
        :param path: the trace file; only its name is shown in the message.
        :param line: 1-based physical line number in the file.
        :param column: name of the offending column (or a positional label for extra fields).
        :param reason: what is wrong.
        """
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = reason
        super().__init__(f"{Path(path).name} line {line}, column {column}: {reason}")


def default_azure_code_trace_path() -> Path:
    """Path of the shipped Azure LLM inference trace 2023 (coding assistant, 8,819 requests).

    :return: absolute path of ``cloudedge/data/azure_llm_2023/AzureLLMInferenceTrace_code.csv``.
    """
    return (
        Path(__file__).resolve().parent
        / "data"
        / "azure_llm_2023"
        / "AzureLLMInferenceTrace_code.csv"
    )


def tokens_to_bytes(
    tokens: int | npt.ArrayLike, bytes_per_token: float = BYTES_PER_TOKEN
) -> int | npt.NDArray[np.int64]:
    """Approximate payload size of a number of tokens, rounded up to whole bytes.

    :param tokens: token count (int) or array of token counts, each >= 0.
    :param bytes_per_token: bytes per token, > 0 (default :data:`BYTES_PER_TOKEN`).
    :return: an ``int`` for a scalar input, else an int64 array of the same shape.
    """
    if not (math.isfinite(bytes_per_token) and bytes_per_token > 0):
        raise ValueError(f"bytes_per_token must be a finite number > 0, got {bytes_per_token!r}")
    arr = np.asarray(tokens)
    if arr.dtype.kind not in "iuf" or np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"tokens must be finite numbers >= 0, got {tokens!r}")
    out = np.ceil(arr * bytes_per_token).astype(np.int64)
    if arr.ndim == 0:
        return int(out)
    return out


def _readonly(arr: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class LLMTrace:
    """A sequence of LLM requests: arrival time, prompt and completion length.

    Arrays are read-only. ``arrival_s`` is non-decreasing and starts at 0.0. A trace always holds
    at least one request.

    :param arrival_s: float64 arrival times in seconds since the first request.
    :param prompt_tokens: int64 prompt (context) lengths in tokens, >= 0.
    :param completion_tokens: int64 completion (generated) lengths in tokens, >= 0.
    :param source: path of the file the requests came from.
    """

    arrival_s: npt.NDArray[np.float64]
    prompt_tokens: npt.NDArray[np.int64]
    completion_tokens: npt.NDArray[np.int64]
    source: str

    def __post_init__(self) -> None:
        arrival = np.array(self.arrival_s, dtype=np.float64)
        prompt = np.array(self.prompt_tokens, dtype=np.int64)
        completion = np.array(self.completion_tokens, dtype=np.int64)
        if arrival.ndim != 1 or prompt.shape != arrival.shape or completion.shape != arrival.shape:
            raise ValueError(
                "arrival_s, prompt_tokens and completion_tokens must be 1-D arrays of equal "
                f"length, got shapes {arrival.shape}, {prompt.shape}, {completion.shape}"
            )
        if arrival.size == 0:
            raise ValueError("a trace must hold at least one request, got 0")
        if not np.all(np.isfinite(arrival)):
            raise ValueError("arrival_s must be finite")
        if arrival[0] != 0.0:
            raise ValueError(f"arrival_s must start at 0.0, got {arrival[0]!r}")
        if np.any(np.diff(arrival) < 0):
            raise ValueError("arrival_s must be non-decreasing")
        if np.any(prompt < 0) or np.any(completion < 0):
            raise ValueError("prompt_tokens and completion_tokens must be >= 0")
        object.__setattr__(self, "arrival_s", _readonly(arrival))
        object.__setattr__(self, "prompt_tokens", _readonly(prompt))
        object.__setattr__(self, "completion_tokens", _readonly(completion))
        object.__setattr__(self, "source", str(self.source))

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_csv(cls, path: str | Path) -> LLMTrace:
        """Read a trace CSV in the Azure LLM inference trace schema.

        :param path: the CSV file.
        :return: the trace, with arrivals relative to the first row.
        :raises TraceFormatError: on bytes that are not UTF-8 text, a wrong header, a row with
            the wrong number of fields, an unparsable or decreasing timestamp, timestamps with and
            without a UTC offset in one file, a token count that is not a non-negative integer,
            or a file without data rows.
        """
        path = Path(path)
        times_ns: list[int] = []
        prompts: list[int] = []
        completions: list[int] = []
        previous_text = ""
        with_offset = False  # whether the first row's timestamp has a UTC offset
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            line_start = raw.rfind(b"\n", 0, err.start) + 1
            field = raw.count(b",", line_start, err.start)
            column = TRACE_COLUMNS[field] if field < len(TRACE_COLUMNS) else str(field + 1)
            raise TraceFormatError(
                path, line, column, f"not UTF-8 text (byte {err.start}): a trace is a CSV file"
            ) from None
        with io.StringIO(text, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            _check_header(path, header)
            for row in reader:
                line = reader.line_num
                if not row:  # blank line (csv yields []); tolerated like a trailing newline
                    continue
                _check_field_count(path, line, row)
                stamp_text = row[0].strip()
                stamp_ns, has_offset = _parse_timestamp_ns(path, line, stamp_text)
                if not times_ns:
                    with_offset = has_offset
                elif has_offset != with_offset:
                    # A naive time beside a UTC one has no order: which zone is it in?
                    raise TraceFormatError(
                        path,
                        line,
                        TRACE_COLUMNS[0],
                        f"timestamp {stamp_text!r} "
                        + ("has a UTC offset" if has_offset else "has no UTC offset")
                        + " where the first row's "
                        + ("has none" if has_offset else "has one")
                        + ": every row must have one, or none",
                    )
                if times_ns and stamp_ns < times_ns[-1]:
                    raise TraceFormatError(
                        path,
                        line,
                        TRACE_COLUMNS[0],
                        "timestamps must not decrease "
                        f"({_short_time(stamp_text)} after {_short_time(previous_text)})",
                    )
                times_ns.append(stamp_ns)
                previous_text = stamp_text
                prompts.append(_parse_tokens(path, line, TRACE_COLUMNS[1], row[1]))
                completions.append(_parse_tokens(path, line, TRACE_COLUMNS[2], row[2]))
            if not times_ns:
                raise TraceFormatError(
                    path, max(reader.line_num, 1) + 1, TRACE_COLUMNS[0], "no data rows"
                )
        # Subtract as Python ints: nanoseconds since year 1 overflow int64.
        first_ns = times_ns[0]
        offsets_ns = np.asarray([t - first_ns for t in times_ns], dtype=np.int64)
        return cls(
            arrival_s=offsets_ns / _NS_PER_S,
            prompt_tokens=np.asarray(prompts, dtype=np.int64),
            completion_tokens=np.asarray(completions, dtype=np.int64),
            source=str(path),
        )

    # ------------------------------------------------------------------ properties

    def __len__(self) -> int:
        """Number of requests."""
        return int(self.arrival_s.size)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last arrival, in seconds."""
        return float(self.arrival_s[-1])

    @property
    def mean_rate_hz(self) -> float:
        """Mean arrival rate, ``(n - 1) / duration_s`` (inverse of the mean inter-arrival time).

        :raises ValueError: if the trace has fewer than 2 requests or zero duration.
        """
        if len(self) < 2 or self.duration_s <= 0.0:
            raise ValueError(
                "the mean arrival rate needs at least 2 requests spanning a positive duration, "
                f"got {len(self)} request(s) over {self.duration_s} s"
            )
        return (len(self) - 1) / self.duration_s

    # ------------------------------------------------------------------ slicing

    def _subset(self, start: int, stop: int) -> LLMTrace:
        arrival = self.arrival_s[start:stop]
        return LLMTrace(
            arrival_s=arrival - arrival[0],
            prompt_tokens=self.prompt_tokens[start:stop].copy(),
            completion_tokens=self.completion_tokens[start:stop].copy(),
            source=self.source,
        )

    def slice_by_count(self, start_index: int, n_tasks: int) -> LLMTrace:
        """The ``n_tasks`` consecutive requests starting at ``start_index``, re-based to 0.

        :param start_index: index of the first request, ``0 <= start_index < len(self)``.
        :param n_tasks: number of requests, ``1 <= n_tasks <= len(self) - start_index``.
        :return: the slice, arrivals starting at 0.0.
        """
        n = len(self)
        if not _is_int(start_index) or not 0 <= start_index < n:
            raise ValueError(f"start_index must be an integer in [0, {n - 1}], got {start_index!r}")
        if not _is_int(n_tasks) or not 1 <= n_tasks <= n - start_index:
            raise ValueError(
                f"n_tasks must be an integer in [1, {n - start_index}] "
                f"(requests left after start_index={start_index}), got {n_tasks!r}"
            )
        return self._subset(int(start_index), int(start_index) + int(n_tasks))

    def slice_by_window(self, start_s: float, duration_s: float) -> LLMTrace:
        """The requests arriving in ``[start_s, start_s + duration_s)``, re-based to 0.

        :param start_s: window start in seconds on this trace's clock, in ``[0, duration]``.
        :param duration_s: window length in seconds, finite and > 0.
        :return: the slice; its first arrival becomes 0.0.
        :raises ValueError: on bad arguments or a window that holds no request.
        """
        last_s = self.duration_s
        if not _is_real(start_s) or not 0.0 <= start_s <= last_s:
            raise ValueError(f"start_s must be a number in [0, {last_s}], got {start_s!r}")
        if not _is_real(duration_s) or not (math.isfinite(duration_s) and duration_s > 0.0):
            raise ValueError(f"duration_s must be a finite number > 0, got {duration_s!r}")
        start = int(np.searchsorted(self.arrival_s, start_s, side="left"))
        stop = int(np.searchsorted(self.arrival_s, start_s + duration_s, side="left"))
        if stop <= start:
            raise ValueError(
                f"the window [{start_s}, {start_s + duration_s}) s holds no request; "
                "choose a larger duration_s or another start_s"
            )
        return self._subset(start, stop)

    def episodes_by_count(self, n_tasks: int, *, drop_remainder: bool = True) -> Iterator[LLMTrace]:
        """Consecutive, non-overlapping slices of ``n_tasks`` requests each, in order.

        :param n_tasks: requests per episode, ``1 <= n_tasks <= len(self)``.
        :param drop_remainder: if True (default) the last ``len(self) % n_tasks`` requests,
            too few for a full episode, are left out so that all episodes have equal length.
        :return: an iterator of slices, each re-based to start at 0.0.
        """
        n = len(self)
        if not _is_int(n_tasks) or not 1 <= n_tasks <= n:
            raise ValueError(f"n_tasks must be an integer in [1, {n}], got {n_tasks!r}")
        step = int(n_tasks)
        for start in range(0, n, step):
            stop = min(start + step, n)
            if stop - start < step and drop_remainder:
                return
            yield self._subset(start, stop)

    # ------------------------------------------------------------------ scaling

    def time_scaled(self, factor: float) -> LLMTrace:
        """The same requests with every inter-arrival time multiplied by ``factor``.

        :param factor: finite and > 0; 0.5 makes requests arrive twice as fast.
        :return: the scaled trace (same order and counts).
        """
        if not _is_real(factor) or not (math.isfinite(factor) and factor > 0.0):
            raise ValueError(f"factor must be a finite number > 0, got {factor!r}")
        return LLMTrace(
            arrival_s=self.arrival_s * float(factor),
            prompt_tokens=self.prompt_tokens.copy(),
            completion_tokens=self.completion_tokens.copy(),
            source=self.source,
        )

    def scaled_to_rate(self, rate_hz: float) -> LLMTrace:
        """The same requests time-scaled so that :attr:`mean_rate_hz` equals ``rate_hz``.

        :param rate_hz: target mean arrival rate in requests per second, finite and > 0.
        :return: the scaled trace.
        :raises ValueError: on a bad rate, or a trace whose rate is undefined (see
            :attr:`mean_rate_hz`).
        """
        if not _is_real(rate_hz) or not (math.isfinite(rate_hz) and rate_hz > 0.0):
            raise ValueError(f"rate_hz must be a finite number > 0, got {rate_hz!r}")
        return self.time_scaled(self.mean_rate_hz / float(rate_hz))


# ---------------------------------------------------------------------- parsing helpers


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _check_header(path: Path, header: list[str] | None) -> None:
    if header is None:
        raise TraceFormatError(
            path, 1, TRACE_COLUMNS[0], f"empty file, expected header {','.join(TRACE_COLUMNS)}"
        )
    names = [name.strip() for name in header]
    expected = ",".join(TRACE_COLUMNS)
    for position, column in enumerate(TRACE_COLUMNS):
        if column not in names:
            raise TraceFormatError(
                path, 1, column, f"missing column (header must be exactly {expected})"
            )
        if names.index(column) != position:
            raise TraceFormatError(
                path, 1, column, f"column out of order (header must be exactly {expected})"
            )
    if len(names) != len(TRACE_COLUMNS):
        raise TraceFormatError(
            path,
            1,
            names[len(TRACE_COLUMNS)] or str(len(TRACE_COLUMNS) + 1),
            f"unexpected column (header must be exactly {expected})",
        )


def _check_field_count(path: Path, line: int, row: list[str]) -> None:
    if len(row) == len(TRACE_COLUMNS):
        return
    if len(row) < len(TRACE_COLUMNS):
        column = TRACE_COLUMNS[len(row)]
    else:
        column = str(len(TRACE_COLUMNS) + 1)
    raise TraceFormatError(
        path, line, column, f"expected {len(TRACE_COLUMNS)} fields, got {len(row)}"
    )


def _parse_timestamp_ns(path: Path, line: int, text: str) -> tuple[int, bool]:
    """Nanoseconds since 0001-01-01 (UTC where the stamp has an offset), exact (no float rounding,
    all fractional digits kept), and whether the stamp has a UTC offset."""
    match = _TIMESTAMP_RE.fullmatch(text)
    try:
        if match is None:
            raise ValueError("wrong shape")
        stamp = datetime.fromisoformat(text[:19])
        offset_s = _offset_seconds(match.group(2))
    except ValueError:
        raise TraceFormatError(
            path,
            line,
            TRACE_COLUMNS[0],
            f"cannot parse timestamp {text!r} (expected YYYY-MM-DD HH:MM:SS.fffffff, "
            "optionally with a UTC offset such as +00:00)",
        ) from None
    fraction = match.group(1) or ""
    fraction_ns = int(fraction.ljust(9, "0")) if fraction else 0
    seconds = (
        stamp.toordinal() * _SECONDS_PER_DAY + stamp.hour * 3600 + stamp.minute * 60 + stamp.second
    )
    return (seconds - offset_s) * _NS_PER_S + fraction_ns, match.group(2) is not None


def _offset_seconds(offset: str | None) -> int:
    """Seconds east of UTC of ``Z``, ``+HH:MM`` or ``+HHMM`` (0 for no offset).

    :raises ValueError: on hours above 23 or minutes above 59.
    """
    if offset is None or offset == "Z":
        return 0
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    sign = -1 if offset[0] == "-" else 1
    return sign * (hours * 3600 + minutes * 60)


def _parse_tokens(path: Path, line: int, column: str, text: str) -> int:
    stripped = text.strip()
    if _UNSIGNED_INT_RE.fullmatch(stripped) is None:
        raise TraceFormatError(
            path, line, column, f"token count must be a non-negative integer, got {text!r}"
        )
    return int(stripped)


def _short_time(stamp_text: str) -> str:
    """``HH:MM:SS.ff`` part of a timestamp, for compact error messages."""
    time_part = stamp_text[11:]
    head, dot, fraction = time_part.partition(".")
    return f"{head}.{fraction[:2].ljust(2, '0')}" if dot else time_part
