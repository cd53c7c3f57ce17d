"""Workers die with their parent: a killed sweep (``kill -9``, Ctrl-C) leaves no run behind.

A Hydra launcher (joblib's loky workers, Ray, submitit) runs jobs in child processes. When the
parent is killed with ``SIGKILL`` nothing tells them, and an orphaned worker would go on
training and writing for minutes, racing a rerun. Each worker therefore calls
:func:`die_with_parent` before its job: on Linux the kernel sends it ``SIGKILL`` when the
parent exits (``prctl(PR_SET_PDEATHSIG)``), and everywhere a watchdog thread kills it once
its parent process is gone (re-parented), which also covers the case where ``prctl`` fires on
the exit of the parent's spawning *thread* only. ``benchmarks.reproduce`` asks the same of the
``cloudedge-bench`` sweeps it starts through :data:`DIE_WITH_PARENT_ENV`.

A run killed this way leaves no partial result (files are written atomically) and its lock
is released by the kernel, so the rerun resumes it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

#: Set to ``1`` in the environment of a ``cloudedge-bench`` process that must die with its
#: parent (``benchmarks.reproduce`` sets it for the sweeps it starts).
DIE_WITH_PARENT_ENV = "CLOUDEDGE_BENCH_DIE_WITH_PARENT"
#: The pid of the ``cloudedge-bench`` process that launched a sweep; a process running a job
#: with another pid is a launcher's worker.
LAUNCHER_PID_ENV = "CLOUDEDGE_BENCH_LAUNCHER_PID"
_PR_SET_PDEATHSIG = 1
#: How often the watchdog looks at its parent (seconds): how long an orphan may live.
WATCHDOG_PERIOD_S = 0.5

_installed = False


def die_with_parent() -> None:
    """Make this process die (``SIGKILL``) as soon as its parent process exits. Idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent or parent == 1:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_PERIOD_S)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def mark_launcher() -> None:
    """Record this process as the launcher of the jobs it (or its workers) will run."""
    os.environ[LAUNCHER_PID_ENV] = str(os.getpid())


def is_launcher_worker() -> bool:
    """Whether this process runs a job on behalf of a launcher in another process."""
    launcher = os.environ.get(LAUNCHER_PID_ENV)
    return launcher is not None and launcher != str(os.getpid())
