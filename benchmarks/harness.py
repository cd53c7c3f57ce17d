"""The benchmark harness, split by responsibility; this module gathers its public names.

- :mod:`benchmarks.config`: the typed configs (``ExperimentConfig``, ``BenchConfig``) and
  :class:`BenchError`;
- :mod:`benchmarks.schema`: the CSV columns, their types, writing and checking rows;
- :mod:`benchmarks.store`: keys and source hashes, atomic umask-honouring writes,
  completeness (checksum, schema, row count), per-run locks, writability checks;
- :mod:`benchmarks.protocol`: validate a run, then train or evaluate it (``execute``);
- :mod:`benchmarks.lifecycle`: workers die with their parent.

Importing from here keeps working for callers (``regress``, ``scripts/``); new code may import
from the module that owns a name.
"""

from __future__ import annotations

from benchmarks.config import BenchError, ExperimentConfig
from benchmarks.protocol import RunSpec, execute, git_commit, validate
from benchmarks.schema import COLUMNS, METRICS, SchemaError, read_metrics, rows_to_csv
from benchmarks.store import atomic_write_text, check_writable, run_status, verify_run

__all__ = [
    "COLUMNS",
    "METRICS",
    "BenchError",
    "ExperimentConfig",
    "RunSpec",
    "SchemaError",
    "atomic_write_text",
    "check_writable",
    "execute",
    "git_commit",
    "read_metrics",
    "rows_to_csv",
    "run_status",
    "validate",
    "verify_run",
]
