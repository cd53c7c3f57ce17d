"""benchmarks.reproduce: where it writes, and which stages it runs (commands recorded, not run;
the whole quick pipeline runs in test_new_agent.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import benchmarks.reproduce as reproduce

ROOT = Path(__file__).resolve().parents[2]


def commands(monkeypatch: pytest.MonkeyPatch, *argv: str) -> list[list[str]]:
    seen: list[list[str]] = []
    monkeypatch.setattr(reproduce, "_run", lambda cmd, stage: seen.append(cmd) or 0.0)
    assert reproduce.main(list(argv)) == 0
    return seen


def _value(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


@pytest.mark.parametrize("quick", [[], ["--quick"]])
def test_tables_go_next_to_out_dir_never_into_the_committed_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, quick: list[str]
) -> None:
    out = tmp_path / "x"
    seen = commands(monkeypatch, *quick, "--out-dir", str(out), "--agents", "edge_first")
    sweeps = [c for c in seen if "benchmarks.run" in c]
    assert [c[-1] for c in sweeps] == [f"experiment={e}{'_quick' if quick else ''}"
                                       for e in ("train", "tmax", "load")]  # fmt: skip
    assert all(f"out_dir={out}" in c for c in sweeps)
    (collect,) = [c for c in seen if "scripts/collect.py" in c]
    assert _value(collect, "--dest") == str(out / "results")
    for cmd in seen:
        assert str(ROOT / "results") not in cmd and cmd[-1] != "results"


def test_the_committed_results_are_written_only_when_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = commands(monkeypatch, "--out-dir", str(tmp_path), "--results", str(tmp_path / "r"))
    (collect,) = [c for c in seen if "scripts/collect.py" in c]
    assert _value(collect, "--dest") == str(tmp_path / "r")
    assert "--results results" in (ROOT / "Makefile").read_text()  # make reproduce names it
