"""scripts/suite_variant.py: a variant's per-scenario means beside the base and references."""

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.config import agent_configs
from scripts import suite_variant


def scores(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["scenario", "agent", "seed", "score"])


BASE = scores([
    ("paper", "aif", 0, 0.90), ("paper", "aif", 1, 0.80),
    ("paper", "round_robin", 0, 0.95), ("paper", "round_robin", 1, 0.95),
    ("paper", "fair_share", 0, 0.60), ("paper", "fair_share", 1, 0.70),
    ("paper", "sac", 0, 0.99), ("paper", "sac", 1, 0.99),  # a learner: not a reference
    ("paper", "one_step_preview", 0, 0.99),  # privileged: not a reference
    ("queueing", "aif", 0, 0.50), ("queueing", "fair_share", 0, 0.40),
])  # fmt: skip


def test_the_variant_is_set_beside_the_base_and_the_best_reference_on_its_seeds() -> None:
    variant = scores([("paper", "aif", 0, 0.97), ("queueing", "aif", 0, 0.45)])
    table = suite_variant.compare(BASE, variant, "aif").set_index("scenario")
    paper = table.loc["paper"]
    assert paper["seeds"] == "0" and paper["base"] == pytest.approx(0.90)
    assert paper["best_reference"] == "round_robin" and paper["reference"] == pytest.approx(0.95)
    assert paper["variant_minus_reference"] == pytest.approx(0.02)
    assert table.loc["queueing", "variant_minus_base"] == pytest.approx(-0.05)
    assert table.loc["mean", "variant"] == pytest.approx((0.97 + 0.45) / 2)
    markdown = suite_variant.markdown_table(table.reset_index())
    assert "| paper | 0 | 0.900 | 0.970 | round_robin | 0.950 |" in markdown


def test_a_seed_the_base_lacks_is_named() -> None:
    variant = scores([("queueing", "aif", 1, 0.45)])
    with pytest.raises(ValueError, match=r"--base lacks aif on queueing for seeds \[1\]"):
        suite_variant.compare(BASE, variant, "aif")


def test_base_bound_scores_everyone_by_the_base_s_bound() -> None:
    """A variant run without bounds: base and variant are both scored as sum reward over the
    base's bound of the scenario, so the ranking is on one scale."""
    base = BASE.assign(sum_reward=BASE.score * 40.0, upper_bound=40.0)
    base.loc[base.agent == "round_robin", "score"] = 0.0  # ignored: rescored from sum_reward
    variant = pd.DataFrame({"scenario": ["paper"], "agent": ["aif"], "seed": [0],
                            "score": [float("nan")], "sum_reward": [38.0],
                            "upper_bound": [float("nan")]})  # fmt: skip
    table = suite_variant.compare(base, variant, "aif", base_bound=True).set_index("scenario")
    assert table.loc["paper", "variant"] == pytest.approx(38.0 / 40.0)
    assert table.loc["paper", "reference"] == pytest.approx(0.95)
    assert table.loc["paper", "base"] == pytest.approx(0.90)
    two_bounds = base.assign(upper_bound=[40.0] * 10 + [41.0])
    two_bounds.loc[two_bounds.agent == "fair_share", "upper_bound"] = 39.0
    with pytest.raises(ValueError, match=r"2 distinct upper bounds on paper"):
        suite_variant.compare(two_bounds, variant, "aif", base_bound=True)


def test_without_the_suite_s_record_the_settings_come_from_the_runs(tmp_path: Path) -> None:
    """A variant stopped early has no suite.json: its title names the settings its runs recorded
    that differ from conf/agent/<agent>.yaml, and nothing when the runs disagree."""
    defaults = agent_configs()["aif"]

    def run(seed: int, horizon: int) -> None:
        folder = tmp_path / "paper" / "runs" / "paper-0" / "tmax" / "aif" / f"seed={seed}"
        folder.mkdir(parents=True)
        config = {**defaults, "horizon": horizon}
        (folder / "run.json").write_text(json.dumps({"agent_config": config}))

    assert suite_variant.settings_from_runs(tmp_path, "aif") == []
    run(0, 64)
    run(1, 64)
    assert suite_variant.settings_from_runs(tmp_path, "aif") == ["agent.horizon=64"]
    run(2, 16)
    assert suite_variant.settings_from_runs(tmp_path, "aif") == []


def test_label_names_a_variant_that_is_now_the_default(tmp_path: Path) -> None:
    """``--label`` titles the .md where the runs record no override (the variant became the
    default); without it the title falls back to what the runs recorded."""
    base, variant = tmp_path / "base.csv", tmp_path / "new" / "scores.csv"
    variant.parent.mkdir()
    BASE.to_csv(base, index=False)
    scores([("paper", "sac", 0, 0.97)]).to_csv(variant, index=False)
    out = tmp_path / "out" / "need.csv"
    argv = ["--variant", str(variant), "--base", str(base), "--agent", "sac", "--out", str(out)]
    suite_variant.main([*argv, "--label", "agent.memory_grant=need (the default)"])
    assert (
        out.with_suffix(".md")
        .read_text()
        .startswith("# sac with agent.memory_grant=need (the default)\n")
    )
    assert pd.read_csv(out).set_index("scenario").loc["paper", "variant_minus_base"] == (
        pytest.approx(-0.02)
    )
    suite_variant.main(argv)
    assert out.with_suffix(".md").read_text().startswith("# sac with (overrides not recorded)\n")


def test_the_header_names_the_base_file_and_quotes_the_command(tmp_path: Path) -> None:
    """A base other than the suite's own scores is named in the .md, and the command written
    there runs as printed (a label with spaces is quoted)."""
    base, variant = tmp_path / "base.csv", tmp_path / "new" / "scores.csv"
    variant.parent.mkdir()
    BASE.to_csv(base, index=False)
    scores([("paper", "sac", 0, 0.97)]).to_csv(variant, index=False)
    out = tmp_path / "out.csv"
    argv = ["--variant", str(variant), "--base", str(base), "--agent", "sac", "--out", str(out)]
    suite_variant.main([*argv, "--label", "two words"])
    text = out.with_suffix(".md").read_text()
    assert f"`base`: the agent's rows of `{base}`." in text
    assert "--label 'two words'" in text
