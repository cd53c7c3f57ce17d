"""benchmarks/speed.py writes its figures with the machine; the README quotes that file (and
AIF's decision latency from results/decision_latency.csv)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from benchmarks.speed import EDGE_COUNTS, UNITS, main, readme_figures

ROOT = Path(__file__).resolve().parents[2]
MACHINE = ("cpu_model", "cores", "load_avg_1min", "python", "numpy", "gymnasium", "torch",
           "date_utc", "command")  # fmt: skip
#: Numbers the speed section may hold besides the file's figures: the edge counts and tasks
#: per server of the scaling run, the 0.25 throughput target, the action stream's shares
#: (0.1, 1/20), `nice -n 10`, and decision_latency's command and targets (300 decisions,
#: p50/p99, 10 ms).
CONSTANTS = {*(str(n) for n in EDGE_COUNTS), "20", "0.25", "0", "0.1", "1", "10", "300", "50",
             "99"}  # fmt: skip


def speed_section(readme: str) -> str:
    start = readme.index("## Speed\n")
    return readme[start : readme.index("\n## ", start + 1)]


def aif_latency_figures() -> dict[str, str]:
    """The README's AIF decision-latency figures, as results/decision_latency.csv has them."""
    frame = pd.read_csv(ROOT / "results" / "decision_latency.csv")
    aif = frame[frame["agent"].str.startswith("aif (conf/agent/aif.yaml)")].iloc[0]
    figures = {k: f"{aif[k]:.2f}" for k in ("wall_p99_ms", "cpu_p99_ms", "load_avg_1min")}
    figures["cartpole_steps_per_s"] = f"{aif['cartpole_steps_per_s']:,.0f}"  # the host's speed
    return figures


def test_a_short_run_writes_every_figure_with_the_machine(tmp_path: Path) -> None:
    out = tmp_path / "speed.csv"
    assert main(["--steps", "1000", "--block", "250", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame["measure"]) == list(UNITS)
    assert (frame["value"] > 0).all()
    assert set(MACHINE) <= set(frame.columns)
    assert frame[list(MACHINE)].notna().all().all()
    v = dict(zip(frame["measure"], frame["value"], strict=True))
    assert 0 < v["env_refused_fraction_mixed"] < 1  # the stated mix has both kinds of step
    assert abs(v["ratio_mixed"] - v["env_steps_per_s_mixed"] / v["cartpole_steps_per_s"]) < 1e-3


def test_bad_arguments_are_one_line_errors(capsys) -> None:
    assert main(["--steps", "10"]) == 2
    assert "--steps 10 (allowed >= 1000)" in capsys.readouterr().err


def test_readme_speed_figures_are_the_committed_file() -> None:
    frame = pd.read_csv(ROOT / "results" / "speed.csv")
    section = speed_section((ROOT / "README.md").read_text())
    figures = readme_figures(frame)
    for measure, text in figures.items():
        assert text in section, f"README speed section lacks {measure} = {text}"
    first = frame.iloc[0]
    latency = aif_latency_figures()
    for measure, text in latency.items():
        assert text in section, f"README speed section lacks AIF's {measure} = {text}"
    allowed = {*figures.values(), *latency.values(), str(first["cores"])}
    # The p99 of AIF's other rows (a --variant or the old design timed in the same run).
    timed = pd.read_csv(ROOT / "results" / "decision_latency.csv")
    aif_rows = timed[timed["agent"].str.startswith("aif")]
    allowed |= {f"{v:.2f}" for v in aif_rows[["wall_p99_ms", "cpu_p99_ms"]].to_numpy().ravel()}
    # The settings a --variant row was timed with, as its label in the file names them.
    allowed |= {n for label in aif_rows["agent"] for n in re.findall(r"=(\d+(?:\.\d+)?)", label)}
    allowed.add(f"{first['load_avg_1min']:.2f}")
    allowed |= {t.rstrip("%") for t in allowed} | CONSTANTS
    numbers = re.findall(r"(?<![\w.])\d(?:[\d,]*\d)?(?:\.\d+)?%?", section)
    stray = sorted({n for n in numbers if n not in allowed and n.rstrip("%") not in allowed})
    assert not stray, f"README speed figures in neither committed file: {stray}"
