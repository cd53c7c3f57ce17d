"""The schema of a run's ``metrics.csv`` (and of the merged ``results/*.csv``): its columns,
their types, how rows are written and how a file is checked when read back.

One tidy row per episode. A file is valid only when its header is exactly :data:`COLUMNS`
and every row parses with the column's type; :func:`read_metrics` names the file, the line
and what is wrong otherwise.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.config import BenchError

METRICS = (
    "sum_reward",
    "completion_rate",
    "avg_latency_s",
    "avg_pass_at_100",
    "utility",
    "n_completed",
    "n_invalid_allocation",
    "n_out_of_memory",
    "n_deadline",
)
COLUMNS = (
    "experiment",
    "env",
    "agent",
    "eval_mode",
    "seed",
    "episode",
    "env_seed",
    "t_max_s",
    "n_tasks",
    *METRICS,
    "upper_bound",
    "run_key",
    "version",
    "git_commit",
)


def _text(value: str) -> str:
    if not value:
        raise ValueError("empty")
    return value


def _integer(value: str) -> int:
    number = int(value)  # "1.0" and "abc" are not integers here
    if number < 0:
        raise ValueError("negative")
    return number


def _number(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _number_or_empty(value: str) -> float:
    """A metric that is undefined for the episode (e.g. the mean latency when nothing
    completed, or a bound that was not computed) is written as an empty field."""
    return math.nan if value == "" else _number(value)


#: How each column is parsed (and what it must be) when a CSV is read back.
PARSERS: Mapping[str, Callable[[str], Any]] = {
    "experiment": _text,
    "env": _text,
    "agent": _text,
    "eval_mode": _text,
    "seed": _integer,
    "episode": _integer,
    "env_seed": _integer,
    "t_max_s": _number,
    "n_tasks": _integer,
    **{m: _number_or_empty for m in METRICS},
    "upper_bound": _number_or_empty,
    "run_key": _text,
    "version": _text,
    "git_commit": _text,
}
_KIND = {
    _text: "a non-empty string",
    _integer: "an integer >= 0",
    _number: "a finite number",
    _number_or_empty: "a finite number or empty",
}


class SchemaError(BenchError):
    """A CSV that does not match the schema; the message names file, line and problem."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        where = f"{path}: line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = path, line, problem


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """The CSV text of ``rows`` (header :data:`COLUMNS`; NaN written as an empty field)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row[k]) for k in COLUMNS})
    return buffer.getvalue()


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def parse_metrics(path: Path, text: str) -> list[dict[str, Any]]:
    """Parse and check the CSV ``text`` read from ``path``; return its typed rows.

    :raises SchemaError: naming ``path``, the line (1 = header) and what is wrong.
    """
    if not text.endswith("\n"):
        last = text.count("\n") + 1
        raise SchemaError(path, last, "the file ends mid-row (no final newline: truncated?)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as err:
        raise SchemaError(path, reader.line_num, f"malformed CSV: {err}") from None
    header = records[0] if records else None
    if header is None:
        raise SchemaError(path, 1, "empty file (no header)")
    if tuple(header) != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        extra = [c for c in header if c not in COLUMNS]
        raise SchemaError(
            path,
            1,
            f"header is not the schema's columns (missing {missing}, unexpected {extra}, "
            f"or another order)",
        )
    rows = []
    for line, fields in enumerate(records[1:], start=2):  # no quoted newlines in this schema
        if len(fields) != len(COLUMNS):
            raise SchemaError(path, line, f"{len(fields)} fields, expected {len(COLUMNS)}")
        row: dict[str, Any] = {}
        for column, value in zip(COLUMNS, fields, strict=True):
            parse = PARSERS[column]
            try:
                row[column] = parse(value)
            except ValueError:
                raise SchemaError(
                    path, line, f"column {column} = {value!r}: expected {_KIND[parse]}"
                ) from None
        rows.append(row)
    return rows


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Read ``path`` and :func:`parse_metrics` it (a binary or unreadable file is named too).

    :raises SchemaError: on any problem.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise SchemaError(path, None, f"not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise SchemaError(path, None, f"cannot be read: {err.strerror}") from None
    return parse_metrics(path, text)
