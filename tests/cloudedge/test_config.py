import math
from pathlib import Path

import pytest

from cloudedge.config import (
    ConfigError,
    ScenarioConfig,
    load_scenario_yaml,
    paper_scenario,
    scenario_from_dict,
)

ROOT = Path(__file__).resolve().parents[2]


def test_paper_yaml_mirrors_the_python_defaults() -> None:
    assert load_scenario_yaml(ROOT / "conf" / "env" / "paper.yaml") == paper_scenario()


def test_paper_scenario_has_one_cloud_four_edges_at_one_to_four() -> None:
    scenario = paper_scenario()
    kinds = [s.kind for s in scenario.servers]
    assert kinds == ["cloud", "edge", "edge", "edge", "edge"]
    cloud_share = scenario.servers[0].resource_share
    edge_share = sum(s.resource_share for s in scenario.servers[1:])
    assert edge_share / cloud_share == pytest.approx(4.0)
    assert [s.pass_at_100 for s in scenario.servers] == [0.1159] + [0.1892] * 4


def test_overrides_merge_nested_fields() -> None:
    scenario = paper_scenario(t_max_s=3.0, workload={"arrival": "poisson"})
    assert scenario.t_max_s == 3.0
    assert scenario.workload.arrival == "poisson"
    assert scenario.workload.burst_window_s == paper_scenario().workload.burst_window_s


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"t_max_s": 0.0}, "t_max_s"),
        ({"t_max_s": -1.0}, "t_max_s"),
        ({"t_max_s": math.nan}, "t_max_s"),
        ({"n_tasks": 0}, "n_tasks"),
        ({"n_tasks": -5}, "n_tasks"),
        ({"n_tasks": 2.5}, "n_tasks"),
        ({"servers": []}, "servers"),
        ({"area_m": [0.0, 100.0, 100.0]}, "area_m[0]"),
        ({"terminals": {"ground_height_m": 150.0}}, "terminals.ground_height_m"),
        ({"terminals": {"uav_height_range_m": [50.0, 120.0]}}, "terminals.uav_height_range_m[0]"),
        ({"terminals": {"uav_height_range_m": [120.0, 900.0]}}, "terminals.uav_height_range_m[1]"),
        (
            {"terminals": {"mobile_speed_range_mps": [-1.0, 3.0]}},
            "terminals.mobile_speed_range_mps[0]",
        ),
        ({"terminals": {"uav_speed_range_mps": [10.0, 5.0]}}, "terminals.uav_speed_range_mps"),
        ({"terminals": {"n_fixed": 0, "n_mobile": 0, "n_uav": 0}}, "terminals"),
        ({"channel": {"shadowing_sigma_db": -1.0}}, "channel.shadowing_sigma_db"),
        ({"channel": {"carrier_ghz": 0.0}}, "channel.carrier_ghz"),
        ({"workload": {"arrival": "uniform"}}, "workload.arrival"),
        ({"workload": {"poisson_rate_hz": 0.0}}, "workload.poisson_rate_hz"),
        ({"resources": {"nominal_bandwidth_hz": -1.0}}, "resources.nominal_bandwidth_hz"),
        (
            {"compute_profiles": {"a800_triton": {"floor_s": 0.0, "scale_s": 1.0}}},
            "compute_profiles.a800_triton.floor_s",
        ),
        ({"t_max": 3.0}, "'t_max'"),
        ({"channel": {"sigma": 3.0}}, "'channel.sigma'"),
    ],
)
def test_bad_values_name_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=r"" + field.replace("[", r"\[").replace("]", r"\]")):
        paper_scenario(**overrides)


def _servers_with(**change: object) -> list[dict]:
    servers = paper_scenario().to_dict()["servers"]
    servers[1] = {**servers[1], **change}
    return servers


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"resource_share": 0.5}, "must sum to 1"),
        ({"resource_share": 0.0}, r"servers\[1\].resource_share"),
        ({"compute_profile": "h100_magic"}, r"servers\[1\].compute_profile .* is unknown"),
        ({"parallel_slots": 0}, r"servers\[1\].parallel_slots"),
        ({"pass_at_100": 1.5}, r"servers\[1\].pass_at_100"),
        ({"position_m": [100.0, 100.0, 900.0]}, r"servers\[1\].position_m\[2\]"),
        ({"kind": "fog"}, r"servers\[1\].kind"),
        ({"name": "cloud"}, "names must be unique"),
    ],
)
def test_bad_servers_name_the_field(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        paper_scenario(servers=_servers_with(**change))


def test_errors_state_the_allowed_range() -> None:
    with pytest.raises(
        ConfigError, match=r"t_max_s = -2.0 is out of range: allowed \(0.0, 86400.0\]"
    ):
        paper_scenario(t_max_s=-2.0)


def test_round_trip_through_dict() -> None:
    scenario = paper_scenario(n_tasks=150)
    assert scenario_from_dict(scenario.to_dict()) == scenario
    assert isinstance(scenario, ScenarioConfig)
