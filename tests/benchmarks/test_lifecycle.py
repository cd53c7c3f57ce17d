"""benchmarks.lifecycle: a process that asked to die with its parent does, even on kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.lifecycle import DIE_WITH_PARENT_ENV

ROOT = Path(__file__).resolve().parents[2]
CHILD = "from benchmarks.lifecycle import die_with_parent; import time; {}; time.sleep(120)"
PARENT = (
    "import subprocess, sys; child = subprocess.Popen([sys.executable, '-c', sys.argv[1]]); "
    "print(child.pid, flush=True); child.wait()"
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
@pytest.mark.parametrize("asks", [True, False])
def test_a_child_that_asks_dies_with_its_killed_parent(asks: bool) -> None:
    child_code = CHILD.format("die_with_parent()" if asks else "pass")
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, child_code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not Path(f"/proc/{child}/cmdline").exists():
            time.sleep(0.05)
        time.sleep(3)  # let the child import and arm itself
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.1)
        assert _alive(child) is not asks  # without asking, an orphan lives on (the bug)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_reproduce_asks_the_sweeps_it_starts_to_die_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import benchmarks.reproduce as reproduce

    seen: list[dict[str, str]] = []

    def fake_run(cmd: list[str], cwd: Path, check: bool, env: dict[str, str]) -> object:
        seen.append(env)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(reproduce.subprocess, "run", fake_run)
    reproduce._run([sys.executable, "-m", "benchmarks.run"], "train")
    assert seen[0][DIE_WITH_PARENT_ENV] == "1"
