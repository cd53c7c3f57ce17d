"""How far another host moves the same runs: one results file made on two hosts, compared.

Usage: ``python -m benchmarks.host_drift --before OLD.csv --after NEW.csv --group scenario seed
[--order episode] [--value sum_reward] [--where agent=aif] [--common-only] [--before-host TEXT]
[--after-host TEXT] --out results/host_drift/NAME.csv``.

``benchmarks/kernel_drift.py`` emulates other hosts on one machine (narrower CPU kernels); this
compares what two real machines wrote for the same config, seed and code: typically a
committed results file (``--before REV:results/...``, read with ``git show``) and its rerun
on the machine at hand. Rows are matched by ``--group`` columns and, within a group, by
``--order`` (e.g. the episode); both files must hold the same groups and orders (with
``--common-only``, the rows both hold are compared). Per group the output gives the rows
compared, how many differ in ``--value`` (bit for bit, as the CSVs print them), the first
differing ``--order`` value, the largest absolute and relative differences and the mean of
each file, with both hosts and the command. Printed: how many groups are identical. Exit
status 0 either way (a drift is a measurement, not an error); 2 for files that do not match.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from benchmarks.store import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]


#: ``REV:PATH``: a file as commit ``REV`` of this checkout holds it.
COMMITTED = re.compile(r"^(?P<rev>[0-9a-fA-F]{7,40}|HEAD[~^0-9]*):(?P<path>.+)$")


def _read(path: Path, columns: list[str], where: dict[str, str]) -> pd.DataFrame:
    """The file's rows (as text, so that equal prints mean equal bits), ``where`` kept.

    :param path: a file, or ``REV:PATH`` for a committed version of one (``git show``).
    """
    committed = COMMITTED.match(str(path))
    if committed and not path.exists():
        shown = subprocess.run(
            ["git", "show", f"{committed['rev']}:{committed['path']}"],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        if shown.returncode != 0:
            raise ValueError(f"{path}: {shown.stderr.strip()}")
        frame = pd.read_csv(io.StringIO(shown.stdout), dtype=str)
    else:
        frame = pd.read_csv(path, dtype=str)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)} (has {', '.join(frame.columns)})")
    for column, value in where.items():
        if column not in frame.columns:
            raise ValueError(f"{path}: --where {column}={value}: no column {column}")
        frame = frame[frame[column] == value]
    return frame


def compare(
    before: pd.DataFrame, after: pd.DataFrame, group: list[str], order: str | None, value: str,
    common_only: bool = False,
) -> pd.DataFrame:  # fmt: skip
    """Per group: rows, differing rows, first differing order, largest differences, means.

    :param common_only: compare only the rows both frames hold (else all must match).
    :raises ValueError: when the two frames do not hold the same (group, order) rows once each
        (with ``common_only``: when they hold none in common).
    """
    keys = [*group, *([order] if order else [])]
    for name, frame in (("before", before), ("after", after)):
        duplicated = frame.duplicated(keys)
        if duplicated.any():
            row = frame[duplicated].iloc[0]
            raise ValueError(f"{name}: more than one row for {dict(row[keys])}")
    merged = before[[*keys, value]].merge(
        after[[*keys, value]], on=keys, how="outer", suffixes=("_before", "_after"),
        indicator=True,
    )  # fmt: skip
    unmatched = merged[merged["_merge"] != "both"]
    if common_only:
        merged = merged[merged["_merge"] == "both"]
        if merged.empty:
            raise ValueError("no rows in common")
    elif len(unmatched):
        row = unmatched.iloc[0]
        side = "before" if row["_merge"] == "left_only" else "after"
        raise ValueError(f"only in {side}: {dict(row[keys])} ({len(unmatched)} rows unmatched)")
    if order:
        merged["_order"] = pd.to_numeric(merged[order])
        merged = merged.sort_values([*group, "_order"])
    old = merged[f"{value}_before"]
    new = merged[f"{value}_after"]
    merged["_differs"] = old != new  # as printed: identical text is identical bits
    merged["_abs"] = (pd.to_numeric(new) - pd.to_numeric(old)).abs()
    merged["_rel"] = merged["_abs"] / pd.to_numeric(old).abs().where(lambda x: x > 0)
    rows = []
    for keys_value, frame in merged.groupby(group, sort=True):
        differing = frame[frame["_differs"]]
        rows.append({
            **dict(zip(group, keys_value if isinstance(keys_value, tuple) else (keys_value,),
                       strict=True)),
            "rows": len(frame),
            "rows_differing": len(differing),
            **({f"first_differing_{order}": differing[order].iloc[0] if len(differing) else None}
               if order else {}),
            "max_abs_difference": float(frame["_abs"].max()),
            "max_rel_difference": float(frame["_rel"].max()) if frame["_rel"].notna().any()
            else None,
            f"mean_{value}_before": float(pd.to_numeric(frame[f"{value}_before"]).mean()),
            f"mean_{value}_after": float(pd.to_numeric(frame[f"{value}_after"]).mean()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True,
                        help="the first host's file, or REV:PATH (committed)")  # fmt: skip
    parser.add_argument("--after", type=Path, required=True, help="the same runs' file here")
    parser.add_argument("--group", nargs="+", required=True, help="columns naming a run")
    parser.add_argument("--order", default=None, help="column ordering a run's rows")
    parser.add_argument("--value", default="sum_reward", help="the column compared")
    parser.add_argument("--where", nargs="*", default=[], metavar="COLUMN=VALUE",
                        help="keep only these rows of both files")  # fmt: skip
    parser.add_argument("--common-only", action="store_true",
                        help="compare the rows both files hold, leave out the others")  # fmt: skip
    parser.add_argument("--before-host", default="", help="the first host, in words")
    parser.add_argument("--after-host", default="", help="this host, in words")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    where = {}
    for pair in args.where:
        column, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"--where {pair!r}: allowed COLUMN=VALUE")
        where[column] = value
    columns = [*args.group, *([args.order] if args.order else []), args.value]
    try:
        before = _read(args.before, columns, where)
        after = _read(args.after, columns, where)
        table = compare(before, after, args.group, args.order, args.value, args.common_only)
    except ValueError as err:
        print(f"host_drift: error: {err}", file=sys.stderr)
        return 2
    command = "python -m benchmarks.host_drift " + " ".join(argv or sys.argv[1:])
    table["before_host"] = args.before_host
    table["after_host"] = args.after_host
    table["command"] = command.strip()
    atomic_write_text(args.out, table.to_csv(index=False))
    identical = int((table["rows_differing"] == 0).sum())
    print(f"{identical} of {len(table)} groups identical ({args.value}); wrote {args.out}")
    for _, row in table[table["rows_differing"] > 0].iterrows():
        name = ", ".join(f"{g}={row[g]}" for g in args.group)
        first = f" from {args.order} {row[f'first_differing_{args.order}']}" if args.order else ""
        print(
            f"  {name}: {row['rows_differing']} of {row['rows']} rows differ{first}, "
            f"max |difference| {row['max_abs_difference']:.4g}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
