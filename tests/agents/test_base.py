"""agents.base: declared hyperparameter ranges."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.base import HyperparameterError, Range, agent_class, check_hyperparameters

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("allowed", "good", "bad"),
    [
        (Range(1, integer=True), [1, 7, 2.0], [0, 1.5, True, "3", float("nan")]),
        (Range(0.0, 1.0), [0.0, 0.5, 1], [-0.1, 1.01, float("inf"), None]),
        (Range(0.0, 1.0, low_open=True, high_open=True), [0.5], [0.0, 1.0]),
        (Range(choices=("a", "b")), ["a"], ["c", 1]),
        (Range(0.0, 1.0, low_open=True, each=True), [[0.1, 0.2], (1.0,)], [[], [0.0], "ab", 0.5]),
        (Range(0.0, 1.0, low_open=True, schedule=True), [0.1, "lin_0.001"], ["lin_2", "lin_x"]),
        (Range(0.0, also=("auto", None)), [1.0, "auto", None], ["other", -1.0]),
        (Range(choices=(True, False)), [True, False], [1, 0, "true"]),
    ],
)
def test_a_range_allows_what_it_says(allowed: Range, good: list, bad: list) -> None:
    assert all(allowed.allows(v) for v in good), allowed.describe()
    assert not any(allowed.allows(v) for v in bad), allowed.describe()


def test_the_error_names_the_parameter_and_the_range() -> None:
    cls = agent_class("agents.heuristics.GreedyLatencyAgent")
    with pytest.raises(HyperparameterError) as caught:
        check_hyperparameters(cls, {"expected_completion_tokens": 0})
    assert str(caught.value) == "agent.expected_completion_tokens = 0: allowed an integer >= 1"


@pytest.mark.parametrize("path", sorted((ROOT / "conf" / "agent").glob("*.yaml")), ids=str)
def test_every_shipped_agent_config_is_within_its_declared_ranges(path: Path) -> None:
    config = yaml.safe_load(path.read_text())
    cls = agent_class(config.pop("_target_"))
    check_hyperparameters(cls, config)
    assert set(cls.hyperparameters) <= set(config) | {"share_levels", "device"}
