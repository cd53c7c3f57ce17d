"""Token-based compute-time profiles of LLM inference on a given hardware.

A profile is a full grid of measured or modelled inference times over three axes: the fraction
of the device allocated to a request (``compute_share``), the prompt length and the completion
length in tokens. It is stored as a CSV file::

    # free-form comment lines: hardware, model, source of every anchor number, ...
    compute_share,prompt_tokens,completion_tokens,compute_time_s
    0.5,16,8,0.0123
    ...

Rules of the file format (checked by :meth:`ComputeProfile.from_csv`):

* comment lines start with ``#`` and may appear anywhere; blank lines are ignored;
* the first other line is exactly the header above;
* ``0 < compute_share <= 1``, token counts are integers ``>= 0``, ``compute_time_s > 0``;
* data rows are sorted by ``compute_share``, then ``prompt_tokens``, then ``completion_tokens``,
  strictly ascending (so no duplicates);
* every combination of the listed axis values is present (a full grid).

Interpolation (:meth:`ComputeProfile.compute_time_s`):

* **tokens** (both axes): linear between grid points; beyond the largest grid value, linear
  extrapolation along the last grid segment (decode time grows linearly with the number of
  generated tokens, prefill time about linearly with the prompt length); below the smallest grid
  value, the time at the smallest value (clamped: no extrapolation towards zero work). An axis
  with a single value carries no slope, so the time is constant along it.
* **compute share**: linear in ``1 / share`` between grid shares. This is exact for a time that
  scales as ``1/share`` and for Amdahl's law ``t = t_serial + t_parallel / share``, the two shapes
  expected from a device slice or a number of CPU threads. Below the smallest grid share the time
  scales as ``1/share`` from the smallest share; above the largest grid share it stays at the
  value of the largest share (no speed-up is assumed that was not measured).
* the result never falls below the smallest of the grid values it is computed from, so a noisy
  measured grid cannot extrapolate to a zero or negative time.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = [
    "ComputeProfile",
    "ProfileFormatError",
    "available_profiles",
    "load_profile",
    "profiles_dir",
]

#: Header of a profile CSV, in this order.
PROFILE_COLUMNS: tuple[str, str, str, str] = (
    "compute_share",
    "prompt_tokens",
    "completion_tokens",
    "compute_time_s",
)


class ProfileFormatError(ValueError):
    """A profile CSV is malformed; the message names the file and, where one applies, the line."""

    def __init__(self, path: str | Path, line: int | None, reason: str) -> None:
        """
        :param path: the profile file; only its name is shown in the message.
        :param line: 1-based line number, or None for whole-file problems (e.g. a missing point).
        :param reason: what is wrong.
        """
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = Path(path).name if line is None else f"{Path(path).name} line {line}"
        super().__init__(f"{where}: {reason}")


def profiles_dir() -> Path:
    """Folder of the shipped profile CSVs (``cloudedge/data/profiles``)."""
    return Path(__file__).resolve().parent / "data" / "profiles"


def available_profiles() -> list[str]:
    """Names of the shipped profiles (file names without ``.csv``), sorted."""
    return sorted(path.stem for path in profiles_dir().glob("*.csv"))


def load_profile(name: str) -> ComputeProfile:
    """Load a shipped profile by name.

    :param name: one of :func:`available_profiles`.
    :raises ValueError: if the name is unknown; the message lists the known names.
    """
    known = available_profiles()
    if name not in known:
        raise ValueError(f"unknown compute profile {name!r}; known profiles: {', '.join(known)}")
    return ComputeProfile.from_csv(profiles_dir() / f"{name}.csv")


def _axis_tuple(values: Sequence[float], label: str, *, integer: bool) -> tuple[float, ...]:
    axis = tuple(int(v) if integer else float(v) for v in values)
    if not axis:
        raise ValueError(f"{label} axis must hold at least one value")
    if any(b <= a for a, b in itertools.pairwise(axis)):
        raise ValueError(f"{label} axis must be strictly increasing, got {axis}")
    return axis


def _token_weights(grid: tuple[int, ...], x: float) -> list[tuple[int, float]]:
    """Interpolation weights on a token axis (see module docstring for the rules)."""
    last = len(grid) - 1
    if last == 0 or x <= grid[0]:
        return [(0, 1.0)]
    if x >= grid[last]:
        # Linear extrapolation along the last segment (weight 1 + f on the last point).
        f = (x - grid[last]) / (grid[last] - grid[last - 1])
        return [(last - 1, -f), (last, 1.0 + f)] if f > 0.0 else [(last, 1.0)]
    hi = bisect_right(grid, x)
    lo = hi - 1
    f = (x - grid[lo]) / (grid[hi] - grid[lo])
    return [(lo, 1.0 - f), (hi, f)]


@dataclass(frozen=True, eq=False)
class ComputeProfile:
    """Inference time over a full grid of (compute share, prompt tokens, completion tokens).

    :param name: profile name (the file name without ``.csv`` for loaded files).
    :param shares: compute-share axis, strictly increasing, each in (0, 1].
    :param prompt_tokens: prompt-length axis in tokens, strictly increasing integers >= 0.
    :param completion_tokens: completion-length axis in tokens, strictly increasing integers >= 0.
    :param times_s: compute times in seconds, shape ``(len(shares), len(prompt_tokens),
        len(completion_tokens))``, all finite and > 0; stored read-only.
    :param header_lines: comment lines (without the leading ``#``) describing the profile.
    """

    name: str
    shares: tuple[float, ...]
    prompt_tokens: tuple[int, ...]
    completion_tokens: tuple[int, ...]
    times_s: npt.NDArray[np.float64]
    header_lines: tuple[str, ...] = ()
    _table: list[list[list[float]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shares = _axis_tuple(self.shares, "compute_share", integer=False)
        prompts = _axis_tuple(self.prompt_tokens, "prompt_tokens", integer=True)
        completions = _axis_tuple(self.completion_tokens, "completion_tokens", integer=True)
        if not all(0.0 < s <= 1.0 for s in shares):
            raise ValueError(f"compute_share values must be in (0, 1], got {shares}")
        if prompts[0] < 0 or completions[0] < 0:
            raise ValueError("token axes must hold integers >= 0")
        times = np.array(self.times_s, dtype=np.float64)
        shape = (len(shares), len(prompts), len(completions))
        if times.shape != shape:
            raise ValueError(f"times_s must have shape {shape} (the grid), got {times.shape}")
        if not np.all(np.isfinite(times)) or np.any(times <= 0.0):
            raise ValueError("times_s must be finite and > 0")
        times.setflags(write=False)
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "prompt_tokens", prompts)
        object.__setattr__(self, "completion_tokens", completions)
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "header_lines", tuple(str(h) for h in self.header_lines))
        # Nested Python lists: scalar look-ups are several times faster than numpy indexing.
        object.__setattr__(self, "_table", times.tolist())

    # ------------------------------------------------------------------ evaluation

    def compute_time_s(
        self, compute_share: float, prompt_tokens: float, completion_tokens: float
    ) -> float:
        """Inference time of one request, interpolated on the grid (rules in the module doc).

        :param compute_share: fraction of the device allocated, in (0, 1].
        :param prompt_tokens: prompt length in tokens, >= 0.
        :param completion_tokens: number of generated tokens, >= 0.
        :return: compute time in seconds (> 0).
        """
        share = float(compute_share)
        if not (math.isfinite(share) and 0.0 < share <= 1.0):
            raise ValueError(f"compute_share must be in (0, 1], got {compute_share!r}")
        prompt = float(prompt_tokens)
        completion = float(completion_tokens)
        if not (math.isfinite(prompt) and prompt >= 0.0):
            raise ValueError(f"prompt_tokens must be a finite number >= 0, got {prompt_tokens!r}")
        if not (math.isfinite(completion) and completion >= 0.0):
            raise ValueError(
                f"completion_tokens must be a finite number >= 0, got {completion_tokens!r}"
            )
        p_weights = _token_weights(self.prompt_tokens, prompt)
        c_weights = _token_weights(self.completion_tokens, completion)

        shares = self.shares
        if share <= shares[0]:
            return self._at_share(0, p_weights, c_weights) * shares[0] / share
        if share >= shares[-1]:
            return self._at_share(len(shares) - 1, p_weights, c_weights)
        hi = bisect_right(shares, share)
        lo = hi - 1
        if shares[lo] == share:
            return self._at_share(lo, p_weights, c_weights)
        # Linear in 1/share: exact for t = a + b / share.
        f = (1.0 / shares[lo] - 1.0 / share) / (1.0 / shares[lo] - 1.0 / shares[hi])
        t_lo = self._at_share(lo, p_weights, c_weights)
        t_hi = self._at_share(hi, p_weights, c_weights)
        return (1.0 - f) * t_lo + f * t_hi

    def _at_share(
        self,
        share_index: int,
        p_weights: list[tuple[int, float]],
        c_weights: list[tuple[int, float]],
    ) -> float:
        plane = self._table[share_index]
        total = 0.0
        floor = math.inf
        for p_index, p_weight in p_weights:
            row = plane[p_index]
            for c_index, c_weight in c_weights:
                value = row[c_index]
                total += p_weight * c_weight * value
                floor = min(floor, value)
        return max(total, floor)

    # ------------------------------------------------------------------ I/O

    @classmethod
    def from_csv(cls, path: str | Path, name: str | None = None) -> ComputeProfile:
        """Read and validate a profile CSV.

        :param path: the CSV file.
        :param name: profile name; defaults to the file name without extension.
        :raises ProfileFormatError: on bytes that are not UTF-8 text, a wrong header, a bad
            value, unsorted or duplicate rows, a missing grid point or an empty grid; the
            message names the file and line.
        """
        path = Path(path)
        comments: list[str] = []
        header_seen = False
        rows: list[tuple[float, int, int, float]] = []
        row_lines: list[int] = []
        raw = path.read_bytes()
        try:
            text_lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            raise ProfileFormatError(
                path, line, f"not UTF-8 text (byte {err.start}): a profile is a CSV file"
            ) from None
        for line_number, raw in enumerate(text_lines, start=1):
            stripped = raw.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                comment = stripped[1:]
                comments.append(comment[1:] if comment.startswith(" ") else comment)
                continue
            fields = [f.strip() for f in next(csv.reader([stripped]))]
            if not header_seen:
                if tuple(fields) != PROFILE_COLUMNS:
                    raise ProfileFormatError(
                        path,
                        line_number,
                        f"header must be exactly {','.join(PROFILE_COLUMNS)}, got {stripped!r}",
                    )
                header_seen = True
                continue
            row = _parse_profile_row(path, line_number, fields)
            if rows and row[:3] <= rows[-1][:3]:
                raise ProfileFormatError(
                    path,
                    line_number,
                    "rows must be sorted by compute_share, then prompt_tokens, then "
                    "completion_tokens, strictly ascending (no duplicates); "
                    f"{row[:3]} follows {rows[-1][:3]}",
                )
            rows.append(row)
            row_lines.append(line_number)
        if not header_seen:
            raise ProfileFormatError(
                path, len(text_lines) or 1, f"no header line {','.join(PROFILE_COLUMNS)}"
            )
        if not rows:
            raise ProfileFormatError(path, len(text_lines) + 1, "no data rows")

        shares = sorted({r[0] for r in rows})
        prompts = sorted({r[1] for r in rows})
        completions = sorted({r[2] for r in rows})
        index = {r[:3]: r[3] for r in rows}
        times = np.empty((len(shares), len(prompts), len(completions)), dtype=np.float64)
        for i, s in enumerate(shares):
            for j, p in enumerate(prompts):
                for k, c in enumerate(completions):
                    value = index.get((s, p, c))
                    if value is None:
                        raise ProfileFormatError(
                            path,
                            None,
                            f"grid point compute_share={s}, prompt_tokens={p}, "
                            f"completion_tokens={c} is missing (rows at lines "
                            f"{row_lines[0]}-{row_lines[-1]} must cover every combination of "
                            f"shares {shares}, prompt_tokens {prompts} and completion_tokens "
                            f"{completions})",
                        )
                    times[i, j, k] = value
        return cls(
            name=path.stem if name is None else name,
            shares=tuple(shares),
            prompt_tokens=tuple(prompts),
            completion_tokens=tuple(completions),
            times_s=times,
            header_lines=tuple(comments),
        )

    def to_csv_text(self, header_lines: Sequence[str] | None = None) -> str:
        """The profile in CSV form (see :meth:`to_csv`)."""
        lines = self.header_lines if header_lines is None else tuple(header_lines)
        out = io.StringIO()
        for comment in lines:
            for part in str(comment).splitlines() or [""]:
                out.write(f"# {part}".rstrip() + "\n")
        out.write(",".join(PROFILE_COLUMNS) + "\n")
        for i, share in enumerate(self.shares):
            for j, prompt in enumerate(self.prompt_tokens):
                for k, completion in enumerate(self.completion_tokens):
                    # 10 significant digits: sub-nanosecond resolution at the times profiled.
                    time_s = f"{self.times_s[i, j, k]:.10g}"
                    out.write(f"{share!r},{prompt},{completion},{time_s}\n")
        return out.getvalue()

    def to_csv(self, path: str | Path, header_lines: Sequence[str] | None = None) -> None:
        """Write the profile as a CSV that :meth:`from_csv` reads back unchanged.

        :param path: output file (parent folders must exist).
        :param header_lines: comment lines, written with a ``# `` prefix; defaults to
            :attr:`header_lines`.
        """
        Path(path).write_text(self.to_csv_text(header_lines), encoding="utf-8")


def _parse_profile_row(path: Path, line: int, fields: list[str]) -> tuple[float, int, int, float]:
    if len(fields) != len(PROFILE_COLUMNS):
        raise ProfileFormatError(
            path, line, f"expected {len(PROFILE_COLUMNS)} fields, got {len(fields)}"
        )
    share_text, prompt_text, completion_text, time_text = fields
    share = _parse_float(path, line, PROFILE_COLUMNS[0], share_text)
    if not 0.0 < share <= 1.0:
        raise ProfileFormatError(path, line, f"compute_share must be in (0, 1], got {share_text}")
    prompt = _parse_count(path, line, PROFILE_COLUMNS[1], prompt_text)
    completion = _parse_count(path, line, PROFILE_COLUMNS[2], completion_text)
    time_s = _parse_float(path, line, PROFILE_COLUMNS[3], time_text)
    if time_s <= 0.0:
        raise ProfileFormatError(path, line, f"compute_time_s must be > 0, got {time_text}")
    return share, prompt, completion, time_s


def _parse_float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ProfileFormatError(path, line, f"{column} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ProfileFormatError(path, line, f"{column} must be finite, got {text!r}")
    return value


def _parse_count(path: Path, line: int, column: str, text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ProfileFormatError(
            path, line, f"{column} must be a non-negative integer, got {text!r}"
        )
    return int(text)
