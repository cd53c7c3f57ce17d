"""The regression comparison on fixture CSVs, and a deliberate simulator change caught."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks.regress import Band, band_for, compare, load_bands, render
from cloudedge.config import scenario_path

ROOT = Path(__file__).resolve().parents[2]


def frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["agent", "metric", "value"])


REFERENCE = frame([
    ("edge_first", "train/sum_reward", 33.0),
    ("edge_first", "tmax@5/completion_rate", 0.2),
    ("aif", "train/sum_reward", 30.0),
])  # fmt: skip
BANDS = {("*", "*"): Band(0.0, 1e-9), ("aif", "sum_reward"): Band(0.5, 0.0)}


def verdicts(now: pd.DataFrame, agents: list[str] | None = None) -> dict[tuple[str, str], str]:
    table = compare(REFERENCE, now, BANDS, agents)
    return {(r.agent, r.metric): r.verdict for r in table.itertuples()}


def test_within_band_passes() -> None:
    now = frame([("edge_first", "train/sum_reward", 33.0),
                 ("edge_first", "tmax@5/completion_rate", 0.2),
                 ("aif", "train/sum_reward", 30.4)])  # fmt: skip
    assert set(verdicts(now).values()) == {"pass"}
    assert render(compare(REFERENCE, now, BANDS)).endswith("3 passed, 0 failed")


def test_out_of_band_fails() -> None:
    now = frame([("edge_first", "train/sum_reward", 33.0001),
                 ("edge_first", "tmax@5/completion_rate", 0.2),
                 ("aif", "train/sum_reward", 29.0)])  # fmt: skip
    v = verdicts(now)
    assert v[("edge_first", "train/sum_reward")] == "FAIL"  # exact band for heuristics
    assert v[("aif", "train/sum_reward")] == "FAIL"
    assert render(compare(REFERENCE, now, BANDS)).endswith("1 passed, 2 failed")


def test_missing_metric_missing_agent_and_extra_agent_are_verdicts() -> None:
    now = frame([("edge_first", "train/sum_reward", 33.0), ("new_agent", "train/x", 1.0)])
    v = verdicts(now)
    assert v[("edge_first", "tmax@5/completion_rate")] == "missing metric"
    assert v[("aif", "train/sum_reward")] == "missing agent"
    assert v[("new_agent", "*")] == "extra agent"
    text = render(compare(REFERENCE, now, BANDS))
    assert text.splitlines()[-1] == "1 passed, 3 failed"


def test_restricting_agents_skips_the_others() -> None:
    now = frame([("edge_first", "train/sum_reward", 33.0),
                 ("edge_first", "tmax@5/completion_rate", 0.2)])  # fmt: skip
    assert set(verdicts(now, ["edge_first"]).values()) == {"pass"}


def test_nan_equals_nan_and_band_lookup_order() -> None:
    assert Band(0.0, 0.0).allows(math.nan, math.nan)
    assert not Band(1.0, 0.0).allows(math.nan, 1.0)
    bands = {("*", "*"): Band(0, 0), ("*", "sum_reward"): Band(1, 0), ("aif", "*"): Band(2, 0)}
    assert band_for(bands, "aif", "train/sum_reward") == Band(2, 0)
    assert band_for(bands, "ppo", "train/sum_reward") == Band(1, 0)
    assert band_for(bands, "ppo", "load@150/completion_rate") == Band(0, 0)


def test_committed_tolerances_parse_and_cover_every_metric() -> None:
    bands = load_bands(ROOT / "results" / "reference" / "tolerances.csv")
    assert ("*", "*") in bands


def run_regress(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks.regress", "check", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_regress_passes_on_the_committed_simulator_for_heuristics() -> None:
    result = run_regress("--agents", "edge_first,round_robin")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].endswith(" 0 failed")


def test_a_deliberate_simulator_change_makes_regress_fail(tmp_path: Path) -> None:
    env = yaml.safe_load(scenario_path("paper").read_text())
    for server in env["servers"][1:]:
        server["pass_at_100"] = 0.25  # the edges' pass@100, changed in a copy of the config
    override = tmp_path / "changed.yaml"
    override.write_text(yaml.safe_dump({"servers": env["servers"]}))
    result = run_regress("--agents", "edge_first", "--env-override", str(override))
    assert result.returncode == 1
    assert "FAIL" in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last.endswith("failed") and not last.endswith(" 0 failed")


@pytest.mark.parametrize("bad", ["--agents=nope"])
def test_bad_agent_is_a_clear_error(bad: str) -> None:
    result = run_regress(bad)
    assert result.returncode == 2 and "unknown agent" in result.stderr
