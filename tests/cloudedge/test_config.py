import math
import shutil
from pathlib import Path

import gymnasium as gym
import pytest
import yaml

import cloudedge
from cloudedge.config import (
    SCENARIO_DIR,
    ConfigError,
    ScenarioConfig,
    available_scenarios,
    load_scenario,
    load_scenario_yaml,
    paper_scenario,
    scenario_from_dict,
)

PAPER_YAML = SCENARIO_DIR / "paper.yaml"


def paper_dict() -> dict:
    return yaml.safe_load(PAPER_YAML.read_text(encoding="utf-8"))


def test_every_shipped_scenario_builds_by_name_through_gym_make() -> None:
    names = available_scenarios()
    assert {"paper", "azure_a100_3090", "humaneval_a100_3090"} <= set(names)
    for name in names:
        env = gym.make(cloudedge.ENV_ID, scenario=name, n_tasks=3)
        assert env.unwrapped.scenario.name == name
        env.reset(seed=0)


def test_any_yaml_in_the_scenario_folder_is_a_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(PAPER_YAML, tmp_path / "paper.yaml")
    data = paper_dict()
    data.update(name="short_deadline", t_max_s=4.0)
    (tmp_path / "short_deadline.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setattr("cloudedge.config.SCENARIO_DIR", tmp_path)
    assert available_scenarios() == ["paper", "short_deadline"]
    assert load_scenario("short_deadline").t_max_s == 4.0
    with pytest.raises(ConfigError, match=r"scenario = 'nowhere' is unknown: allowed \['paper'"):
        load_scenario("nowhere")


def test_the_dataclasses_hold_no_scenario() -> None:
    # The YAML file is the only definition: nothing builds a scenario without it.
    with pytest.raises(TypeError):
        ScenarioConfig()  # type: ignore[call-arg]
    data = paper_dict()
    del data["t_max_s"]
    with pytest.raises(ConfigError, match="missing scenario field t_max_s"):
        scenario_from_dict(data)


def write_scenario(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _without(data: dict, *keys: str | int) -> dict:
    target = data
    for key in keys[:-1]:
        target = target[key]
    del target[keys[-1]]
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: _without(d, "t_max_s"), r"missing scenario field t_max_s"),
        (
            lambda d: _without(d, "workload", "trace_rate_hz"),
            r"missing scenario field workload.trace_rate_hz",
        ),
        (
            lambda d: _without(d, "servers", 2, "pass_at_100"),
            r"missing scenario field servers\[2\].pass_at_100",
        ),
        (lambda d: {**d, "t_max": 3.0}, r"unknown scenario field t_max: allowed \["),
        (
            lambda d: {**d, "channel": {**d["channel"], "sigma": 1}},
            r"unknown scenario field channel.sigma",
        ),
        (  # a key with a line break is quoted, so the error stays on one line
            lambda d: {**d, "resources": {**d["resources"], "\n": 1}},
            r"unknown scenario field resources.'\\n': allowed \[",
        ),
        (
            lambda d: {**d, "compute_profiles": {"a b\n": {"slope": 1}}},
            r"compute_profiles.'a b\\n'",
        ),
        (lambda d: {**d, "t_max_s": "abc"}, r"t_max_s = 'abc' is not a number: allowed \(0.0"),
        (lambda d: {**d, "n_tasks": "many"}, r"n_tasks = 'many' is not an integer"),
        (lambda d: {**d, "servers": 5}, r"servers must be a list"),
        (lambda d: [d], r"scenario must be a mapping of fields"),
    ],
)
def test_a_bad_scenario_file_names_the_file_and_the_field(
    tmp_path: Path, edit: object, message: str
) -> None:
    path = write_scenario(tmp_path, edit(paper_dict()))  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message) as caught:
        load_scenario_yaml(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("# only a comment\n", "empty file"),
        ("name: [paper\n", r"malformed YAML at line 2, column 1"),
        ("name: paper\n  t_max_s: 3\n", r"malformed YAML at line 2"),
    ],
)
def test_an_empty_or_malformed_scenario_file_is_named(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write_scenario(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_scenario_yaml(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_binary_scenario_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(b"name: \xff\xfe\x00paper\n")
    with pytest.raises(ConfigError, match=r"scenario.yaml: not a UTF-8 text file \(byte 6\)"):
        load_scenario_yaml(path)
    with pytest.raises(ConfigError, match=r"no.yaml: cannot read scenario file"):
        load_scenario(tmp_path / "no.yaml")


def test_an_edited_scenario_file_is_read_again(tmp_path: Path) -> None:
    data = paper_dict()
    path = write_scenario(tmp_path, data)
    assert load_scenario_yaml(path).t_max_s == 15.0
    data["t_max_s"] = 7.5
    path.write_text(yaml.safe_dump(data) + "\n# edited\n", encoding="utf-8")
    assert load_scenario_yaml(path).t_max_s == 7.5


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
        ({"t_max_s": "abc"}, "t_max_s = 'abc' is not a number"),
        ({"workload": {"reserved_completion_tokens": 2048}}, "workload.reserved_completion"),
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
