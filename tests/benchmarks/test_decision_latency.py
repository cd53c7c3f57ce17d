"""benchmarks/decision_latency.py: an AIF variant is checked before anything is timed, and
its row is timed with the settings it names."""

from __future__ import annotations

import re

import pytest

from agents.base import make_agent
from benchmarks.decision_latency import agent_config, main, parse_variant, variant_name
from cloudedge import CloudEdgeEnv


def test_a_variant_is_parsed_as_yaml_values_and_named_by_its_settings() -> None:
    variant = parse_variant(["imagined_routing=fill", "price_discount=0.5"])
    assert variant == {"imagined_routing": "fill", "price_discount": 0.5}
    assert variant_name(variant) == "aif (imagined_routing=fill, price_discount=0.5)"


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("imagined_routing", "allowed KEY=VALUE"),
        ("horizonn=8", "--variant horizonn: not a setting"),
        ("price_discount=2", r"agent\.price_discount = 2: allowed"),
    ],
)
def test_a_bad_variant_is_a_one_line_error_before_any_timing(
    pair: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--variant", pair, "--decisions", "1"])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err.strip().splitlines()[-1])


def test_the_variant_row_builds_the_agent_with_its_settings() -> None:
    variant = parse_variant(["reference_grant=levels", "n_candidates=16"])
    agent = make_agent(agent_config("aif", **variant), CloudEdgeEnv().scenario, seed=0)
    assert agent.config.planner.reference_grant == "levels"
    assert agent.config.planner.n_candidates == 16
