"""The run store: what names a result (keys), how files reach disk (atomic, umask-honouring
writes), when a run counts as complete, and who may write it (one process per run).

A run folder holds ``run.json`` (config, keys, code version, expected row count and the
SHA-256 of its CSV) and ``metrics.csv``. The run is complete only when both exist, the CSV
parses fully with the schema (:mod:`benchmarks.schema`), has the expected number of rows,
carries the run key in every row, and its checksum matches ``run.json``. Anything else is
incomplete: the harness reruns it (and says why) and ``scripts/collect.py`` refuses it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cloudedge
from benchmarks.config import BenchError
from benchmarks.schema import SchemaError, read_metrics

METRICS_FILE = "metrics.csv"
META_FILE = "run.json"
LOCK_FILE = ".lock"
#: Folders under a hashed source tree that are not source (caches, build output).
_IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Read once at import (``os.umask`` can only be read by setting it).
UMASK = _current_umask()


def digest(payload: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-able mapping (keys sorted)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_sha256(text: str) -> str:
    """SHA-256 of ``text`` as written (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.cache
def tree_sha256(root: Path) -> str:
    """SHA-256 over every file of a source file or folder (relative names and bytes), so that
    any edit to the code or its data changes it. Cached per process."""
    hasher = hashlib.sha256()
    files = [root] if root.is_file() else sorted(
        p for p in root.rglob("*")
        if p.is_file() and not _IGNORED_DIRS.intersection(p.relative_to(root).parts)
        and p.suffix not in (".pyc", ".pyo")
    )  # fmt: skip
    for path in files:
        hasher.update(str(path.relative_to(root.parent)).encode() + b"\0")
        hasher.update(path.read_bytes() + b"\0")
    return hasher.hexdigest()[:16]


def simulator_source_hash() -> str:
    """Hash of the simulator package ``cloudedge/`` (code and shipped data)."""
    return tree_sha256(Path(cloudedge.__file__).resolve().parent)


def agent_sources(cls: type) -> list[Path]:
    """The source an agent class's behaviour depends on: its module (or its whole
    subpackage, e.g. ``agents/aif/``), the modules of its own top-level package that the
    module imports from, and ``agents/base.py``."""
    import importlib
    import sys

    module = sys.modules[cls.__module__]
    top = cls.__module__.split(".")[0]
    paths: set[Path] = set()

    def source_of(mod: Any) -> Path | None:
        file = getattr(mod, "__file__", None)
        if file is None:
            return None
        path = Path(file).resolve()
        package = mod.__name__.rpartition(".")[0] if path.name != "__init__.py" else mod.__name__
        if package.count(".") >= 1:  # a subpackage (agents.aif): the whole folder
            return Path(importlib.import_module(package).__file__ or path).resolve().parent
        return path

    own = source_of(module)
    if own is not None:
        paths.add(own)
    # The base class runs every agent's episodes (evaluate_episode), wherever the agent lives.
    from agents import base

    paths.add(Path(base.__file__).resolve())
    for value in vars(module).values():
        name = (
            value.__name__
            if isinstance(value, type(module))
            else getattr(value, "__module__", None)
        )
        if isinstance(name, str) and name.split(".")[0] == top and name in sys.modules:
            source = source_of(sys.modules[name])
            if source is not None:
                paths.add(source)
    return sorted(paths)


def agent_source_hash(cls: type) -> str:
    """Hash of :func:`agent_sources` of ``cls``."""
    hasher = hashlib.sha256()
    for path in agent_sources(cls):
        hasher.update(tree_sha256(path).encode())
    return hasher.hexdigest()[:16]


def _chmod_default(path: Path, directory: bool) -> None:
    """Give what ``mkstemp``/``mkdtemp`` created (0600/0700) the umask's usual mode."""
    os.chmod(path, (0o777 if directory else 0o666) & ~UMASK)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one;
    the file gets the umask's mode (0644 with the default umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _chmod_default(Path(tmp), directory=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``final``; on success it replaces ``final`` whole
    (a kill leaves the old folder or the new one, never half of one)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    _chmod_default(tmp, directory=True)
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def first_existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(folders: Iterable[Path]) -> None:
    """Check that each folder exists as a writable folder or can be created; writes nothing
    (a probe file is created and removed in the nearest existing folder).

    :raises BenchError: naming the folder that cannot be written.
    """
    for folder in folders:
        existing = first_existing(folder)
        if not existing.is_dir():
            raise BenchError(f"{existing} is not a folder: cannot write {folder}")
        try:
            with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-probe."):
                pass
        except OSError as err:
            raise BenchError(
                f"{existing} is not writable ({err.strerror}): needed for {folder}"
            ) from None


def read_meta(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``run.json``, or ``None`` when missing or unreadable."""
    try:
        meta = json.loads((run_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def verify_run(run_dir: Path, run_key: str | None = None) -> list[dict[str, Any]]:
    """The typed rows of a complete run; raise :class:`SchemaError` naming the file, line and
    problem otherwise.

    :param run_key: the key the run must carry (``None``: the one ``run.json`` records).
    """
    csv_path, meta_path = run_dir / METRICS_FILE, run_dir / META_FILE
    if not csv_path.exists():
        raise SchemaError(csv_path, None, "missing (the run was killed or is still running)")
    meta = read_meta(run_dir)
    if meta is None:
        raise SchemaError(meta_path, None, "missing or not valid JSON: the run is incomplete")
    for field in ("run_key", "n_rows", "metrics_sha256", "experiment", "agent", "seed"):
        if field not in meta:
            raise SchemaError(meta_path, None, f"has no {field!r}: written by an older harness")
    key = meta["run_key"] if run_key is None else run_key
    if meta["run_key"] != key:
        raise SchemaError(meta_path, None, f"run key {meta['run_key']}, expected {key}")
    rows = read_metrics(csv_path)
    if len(rows) != meta["n_rows"]:
        raise SchemaError(csv_path, None, f"{len(rows)} rows, expected {meta['n_rows']}")
    identity = {"experiment": meta["experiment"], "agent": meta["agent"], "seed": meta["seed"]}
    for line, row in enumerate(rows, start=2):
        if row["run_key"] != key:
            raise SchemaError(csv_path, line, f"run_key {row['run_key']}, expected {key}")
        for column, value in identity.items():
            if row[column] != value:
                raise SchemaError(
                    csv_path, line, f"{column} = {row[column]!r}, but {META_FILE} says {value!r}"
                )
    if file_sha256(csv_path) != meta["metrics_sha256"]:
        raise SchemaError(csv_path, None, f"checksum differs from the one in {META_FILE}")
    return rows


def run_status(run_dir: Path, run_key: str) -> str | None:
    """``None`` when the run is complete with ``run_key``, else why it is not."""
    try:
        verify_run(run_dir, run_key)
    except SchemaError as err:
        return str(err)
    return None


@contextmanager
def run_lock(run_dir: Path, on_wait: Any = None) -> Iterator[None]:
    """Hold the run's lock file (``run_dir/.lock``) so that two processes never run the same
    job at once; the lock dies with its holder (``flock``), so a killed run never leaves a
    stale one.

    :param on_wait: called once with the lock path when another process holds it.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(path)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
