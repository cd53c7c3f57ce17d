"""Workload sources (humaneval, synthetic, azure_trace), token-based compute profiles in the
simulator, the real-hardware scenarios and prompts beyond GPT-J's context."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents.base import evaluate_episode
from agents.heuristics import (
    EdgeFirstAgent,
    GreedyLatencyAgent,
    OneStepPreviewAgent,
    RandomAgent,
    RoundRobinAgent,
)
from cloudedge.config import (
    ConfigError,
    ScenarioConfig,
    paper_scenario,
)
from cloudedge.entities import make_servers
from cloudedge.env import CloudEdgeEnv, make_scenario
from cloudedge.profiles import ComputeProfile, available_profiles, load_profile
from cloudedge.trace import LLMTrace, TraceFormatError, default_azure_code_trace_path
from cloudedge.workload import (
    kv_cache_bytes_per_token,
    load_trace,
    load_workload,
    memory_need_bytes,
    total_resources,
)

ROOT = Path(__file__).resolve().parents[2]
HEURISTICS = (RandomAgent, RoundRobinAgent, GreedyLatencyAgent, EdgeFirstAgent, OneStepPreviewAgent)
TRACE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def trace_on_paper_servers(
    workload: dict[str, object] | None = None, **overrides: object
) -> ScenarioConfig:
    """The paper scenario (calibrated Amdahl profiles) on a trace (default: the shipped one)."""
    return paper_scenario(workload={"source": "azure_trace", **(workload or {})}, **overrides)


def all_servers_on(scenario: ScenarioConfig, compute_profile: str) -> ScenarioConfig:
    servers = [{**s, "compute_profile": compute_profile} for s in scenario.to_dict()["servers"]]
    return scenario.replace(servers=servers)


def write_trace(path: Path, rows: list[str]) -> Path:
    path.write_text(TRACE_HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


# -- scenarios --------------------------------------------------------------------------------


def test_real_hardware_scenarios_keep_the_paper_topology_on_token_profiles() -> None:
    paper = paper_scenario()
    for name, source in (("azure_a100_3090", "azure_trace"), ("humaneval_a100_3090", "humaneval")):
        scenario = make_scenario(name)
        assert scenario.name == name
        assert scenario.workload.source == source
        assert [s.compute_profile for s in scenario.servers] == [
            "gptj6b_fp16_a800",
            *["gptj6b_fp16_rtx3090"] * 4,
        ]
        for real, ref in zip(scenario.servers, paper.servers, strict=True):
            assert (real.name, real.kind, real.position_m, real.resource_share) == (
                ref.name,
                ref.kind,
                ref.position_m,
                ref.resource_share,
            )
            assert real.pass_at_100 == ref.pass_at_100
    assert make_scenario("azure_a100_3090", t_max_s=5.0).t_max_s == 5.0


def test_paper_scenario_still_draws_humaneval_tasks() -> None:
    assert paper_scenario().workload.source == "humaneval"
    env = CloudEdgeEnv()
    env.reset(seed=0)
    assert env.simulator is not None
    assert env.simulator.tasks.trace_start_index is None


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_check_env_on_the_azure_scenario() -> None:
    check_env(CloudEdgeEnv("azure_a100_3090", n_tasks=20), skip_render_check=True)


# -- trace episodes ---------------------------------------------------------------------------


@pytest.mark.parametrize("agent_cls", HEURISTICS, ids=lambda c: c.name)
@pytest.mark.parametrize("scenario_name", ["paper_servers", "azure_a100_3090"])
def test_a_trace_episode_runs_with_every_heuristic(agent_cls: type, scenario_name: str) -> None:
    if scenario_name == "paper_servers":
        env = CloudEdgeEnv(trace_on_paper_servers(n_tasks=40))
    else:
        env = CloudEdgeEnv("azure_a100_3090", n_tasks=40)
    metrics = evaluate_episode(agent_cls(env.unwrapped.scenario, seed=0), env, seed=3)
    assert env.simulator is not None and env.simulator.done
    assert env.simulator.tasks.trace_start_index is not None
    assert 0.0 <= metrics["completion_rate"] <= 1.0
    assert math.isfinite(metrics["sum_reward"]) and metrics["sum_reward"] >= 0.0


def test_trace_episodes_are_deterministic_per_seed_and_differ_across_seeds() -> None:
    env = CloudEdgeEnv("azure_a100_3090")

    def tasks(seed: int):
        env.reset(seed=seed)
        assert env.simulator is not None
        return env.simulator.tasks

    first, again, other = tasks(7), tasks(7), tasks(8)
    assert first.trace_start_index == again.trace_start_index
    for field in ("arrival_s", "terminal_id", "prompt_tokens", "completion_tokens"):
        np.testing.assert_array_equal(getattr(first, field), getattr(again, field))
    assert first.trace_start_index != other.trace_start_index
    assert not np.array_equal(first.prompt_tokens, other.prompt_tokens)


def test_trace_episode_arrivals_and_sizes_are_the_trace_slice() -> None:
    scenario = make_scenario("azure_a100_3090", n_tasks=50)
    env = CloudEdgeEnv(scenario)
    trace = LLMTrace.from_csv(default_azure_code_trace_path())
    bytes_per_token = scenario.workload.bytes_per_token
    starts = set()
    for seed in range(3):
        env.reset(seed=seed)
        assert env.simulator is not None
        tasks = env.simulator.tasks
        start = tasks.trace_start_index
        assert start is not None and 0 <= start <= len(trace) - 50
        starts.add(start)
        expected = trace.slice_by_count(start, 50)
        raw = trace.arrival_s[start : start + 50]
        np.testing.assert_allclose(tasks.arrival_s, raw - raw[0], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(tasks.arrival_s, expected.arrival_s)
        assert tasks.arrival_s[0] == 0.0
        # Served prompts are truncated to GPT-J's context less the reserved completion tokens.
        served = np.minimum(expected.prompt_tokens, 2048 - 256)
        np.testing.assert_array_equal(tasks.prompt_tokens, served)
        assert tasks.n_truncated_prompts == int(np.sum(expected.prompt_tokens > 2048 - 256))
        np.testing.assert_array_equal(tasks.completion_tokens, expected.completion_tokens)
        np.testing.assert_array_equal(
            tasks.prompt_bytes, np.ceil(expected.prompt_tokens * bytes_per_token)
        )
        np.testing.assert_array_equal(
            tasks.completion_bytes, np.ceil(expected.completion_tokens * bytes_per_token)
        )
        assert tasks.terminal_id.min() >= 0
        assert tasks.terminal_id.max() < scenario.terminals.n_terminals
        # The env presents the tasks at their trace arrival times.
        assert env.simulator.now_s == 0.0
    assert len(starts) == 3


def test_trace_rate_scales_the_whole_trace_to_the_mean_rate() -> None:
    env = CloudEdgeEnv(trace_on_paper_servers(n_tasks=30, workload={"trace_rate_hz": 10.0}))
    trace = LLMTrace.from_csv(default_azure_code_trace_path())
    scaled = trace.scaled_to_rate(10.0)
    assert load_trace(None, 10.0).mean_rate_hz == pytest.approx(10.0)
    env.reset(seed=1)
    assert env.simulator is not None
    tasks = env.simulator.tasks
    start = tasks.trace_start_index
    assert start is not None
    np.testing.assert_array_equal(tasks.arrival_s, scaled.slice_by_count(start, 30).arrival_s)


def test_trace_file_is_read_once_per_file_version(tmp_path: Path) -> None:
    path = write_trace(
        tmp_path / "small.csv",
        [f"2023-11-16 18:00:{i:02d}.0000000,{10 + i},{5 + i}" for i in range(6)],
    )
    scenario = trace_on_paper_servers(n_tasks=4, workload={"trace_path": str(path)})
    first, second = load_workload(scenario), load_workload(scenario)
    assert first.trace is second.trace  # type: ignore[attr-defined]
    env = CloudEdgeEnv(scenario)
    env.reset(seed=0)
    assert env.simulator is not None
    start = env.simulator.tasks.trace_start_index
    assert start is not None and 0 <= start <= 2
    np.testing.assert_array_equal(env.simulator.tasks.arrival_s, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(env.simulator.tasks.prompt_tokens, 10 + start + np.arange(4))


@pytest.mark.parametrize(
    ("rows", "line", "column"),
    [
        pytest.param(
            ["2023-11-16 18:00:00.0,1,1", "not a time,1,2"], 3, "TIMESTAMP", id="timestamp"
        ),
        pytest.param(["2023-11-16 18:00:00.0,5,-1"], 2, "GeneratedTokens", id="negative"),
        pytest.param(
            ["2023-11-16 18:00:02.0,1,1", "2023-11-16 18:00:01.0,1,1"],
            3,
            "TIMESTAMP",
            id="decreasing",
        ),
        pytest.param([], 2, "TIMESTAMP", id="empty"),
    ],
)
def test_malformed_trace_fails_at_env_construction_naming_file_line_and_column(
    tmp_path: Path, rows: list[str], line: int, column: str
) -> None:
    path = write_trace(tmp_path / "broken_trace.csv", rows)
    with pytest.raises(TraceFormatError, match=rf"broken_trace\.csv line {line}, column {column}"):
        CloudEdgeEnv(trace_on_paper_servers(n_tasks=1, workload={"trace_path": str(path)}))


def test_missing_trace_and_too_short_trace_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        CloudEdgeEnv(trace_on_paper_servers(workload={"trace_path": str(tmp_path / "no.csv")}))
    path = write_trace(tmp_path / "three.csv", [f"2023-11-16 18:00:0{i}.0,1,1" for i in range(3)])
    with pytest.raises(ConfigError, match=r"n_tasks = 4 is out of range .*allowed \[1, 3\]"):
        CloudEdgeEnv(trace_on_paper_servers(n_tasks=4, workload={"trace_path": str(path)}))


@pytest.mark.parametrize(
    ("workload", "field"),
    [
        ({"source": "sharegpt"}, "workload.source"),
        ({"trace_rate_hz": 0.0}, "workload.trace_rate_hz"),
        ({"trace_path": ""}, "workload.trace_path"),
        ({"synthetic_prompt_tokens": 0}, "workload.synthetic_prompt_tokens"),
        ({"synthetic_completion_tokens": 2.5}, "workload.synthetic_completion_tokens"),
    ],
)
def test_bad_workload_values_name_the_field(workload: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        paper_scenario(workload=workload)


# -- memory sizing and the synthetic source ---------------------------------------------------


def test_synthetic_workload_sizes_as_configured() -> None:
    scenario = paper_scenario(
        n_tasks=25,
        workload={
            "source": "synthetic",
            "synthetic_prompt_tokens": 100,
            "synthetic_completion_tokens": 40,
            "bytes_per_token": 3.5,
        },
    )
    env = CloudEdgeEnv(scenario)
    env.reset(seed=0)
    assert env.simulator is not None
    tasks = env.simulator.tasks
    assert tasks.trace_start_index is None
    assert np.all(tasks.prompt_tokens == 100) and np.all(tasks.completion_tokens == 40)
    assert np.all(tasks.prompt_bytes == 350) and np.all(tasks.completion_bytes == 140)
    per_token = kv_cache_bytes_per_token(scenario.resources.kv_cache_bytes_per_value)
    need = (100 + 256) * per_token + 64 * 1024 * 1024
    np.testing.assert_array_equal(tasks.memory_need_bytes, need)
    # Every task needs the same memory: 100 tasks are exactly 100 needs (no spread).
    assert total_resources(scenario).memory_bytes == pytest.approx(100 * need)
    assert np.all(tasks.arrival_s <= scenario.workload.burst_window_s)


def test_memory_is_sized_from_the_trace_prompt_distribution() -> None:
    scenario = make_scenario("azure_a100_3090")
    trace = LLMTrace.from_csv(default_azure_code_trace_path())
    served = np.minimum(trace.prompt_tokens, 2048 - 256)  # GPT-J's context, less the reserve
    needs = memory_need_bytes(served, scenario.workload, scenario.resources)
    expected = 100 * needs.mean() + 2.326 * needs.std() * 10.0
    assert total_resources(scenario).memory_bytes == pytest.approx(expected)
    # Served trace prompts (mean 1,193 tokens after truncation) are far longer than HumanEval's
    # (about 150), so the memory is three times the paper's.
    assert (
        total_resources(scenario).memory_bytes > 3 * total_resources(paper_scenario()).memory_bytes
    )


# -- token-based compute profiles -------------------------------------------------------------


def test_token_profile_compute_time_is_the_profile_at_the_granted_share() -> None:
    scenario = make_scenario(
        "azure_a100_3090",
        workload={
            "source": "synthetic",
            "synthetic_prompt_tokens": 300,
            "synthetic_completion_tokens": 50,
        },
    )
    env = CloudEdgeEnv(scenario)
    env.reset(seed=0)
    sim = env.simulator
    assert sim is not None
    cloud, edge = sim.servers[0], sim.servers[1]
    # A task granted a quarter of the cloud: 300 prompt and 50 completion tokens at share 0.25.
    outcome = sim.preview(0, (0.25, 0.05, 1.0))
    expected = load_profile("gptj6b_fp16_a800").compute_time_s(0.25, 300, 50)
    assert outcome.compute_s == pytest.approx(expected, rel=1e-12)
    # By the profile's linear model: (300 prefill + 50 decode tokens) / share.
    assert outcome.compute_s == pytest.approx((300 * 5.845230e-05 + 50 * 9.009009e-03) / 0.25)
    assert cloud.compute_time_s(cloud.capacity.compute_units, 300, 50) == pytest.approx(
        expected / 4.0
    )
    assert edge.compute_time_s(0.5 * edge.capacity.compute_units, 300, 50) == pytest.approx(
        load_profile("gptj6b_fp16_rtx3090").compute_time_s(0.5, 300, 50)
    )
    with pytest.raises(ValueError, match="needs prompt_tokens and completion_tokens"):
        cloud.compute_time_s(1.0)


def test_trace_task_compute_time_uses_its_actual_tokens() -> None:
    env = CloudEdgeEnv("azure_a100_3090")
    _, info = env.reset(seed=4)
    sim = env.simulator
    assert sim is not None
    # Hand-pick the episode's longest completion and decide it on an edge at 10% of its compute.
    target = int(np.argmax(sim.tasks.completion_tokens))
    prompt, completion = sim.tasks.prompt_tokens[target], sim.tasks.completion_tokens[target]
    edge = sim.servers[2]
    timeline = sim.timeline(target, edge, 0.1 * edge.capacity.compute_units, 1.0e6)
    profile = load_profile("gptj6b_fp16_rtx3090")
    assert timeline.compute_s == pytest.approx(profile.compute_time_s(0.1, prompt, completion))
    # The same through the env: step the first task onto the edge.
    share = (0.1, 0.05, min(1.0, info["memory_need_bytes"] / edge.capacity.memory_bytes))
    _, _, _, _, info = env.step({"server": 2, "share": np.array(share, np.float32)})
    first = info["outcome"]
    assert first.compute_s == pytest.approx(
        profile.compute_time_s(
            float(np.float32(0.1)), sim.tasks.prompt_tokens[0], sim.tasks.completion_tokens[0]
        ),
        rel=1e-6,
    )


def test_paper_servers_keep_the_calibrated_profiles() -> None:
    scenario = paper_scenario()
    servers, _ = make_servers(scenario, total_resources(scenario))
    assert not any(s.uses_tokens for s in servers)
    assert servers[0].compute_time_s(1.0, 10_000, 10_000) == servers[0].compute_time_s(1.0)


def test_unknown_compute_profile_is_rejected_listing_the_allowed_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"servers\[0\]\.compute_profile = 'gptj6b_fp16_h100'"
    ) as err:
        all_servers_on(paper_scenario(), "gptj6b_fp16_h100")
    for name in ("a800_triton", "rtx3090_plain", *available_profiles()):
        assert name in str(err.value)
    with pytest.raises(ConfigError, match="no such profile CSV"):
        all_servers_on(paper_scenario(), "/nonexistent/profile.csv")


def test_a_profile_csv_path_drives_every_server(tmp_path: Path) -> None:
    # t = 0.1 s + 0.01 s per completion token at the whole device, 1/share below it.
    profile = ComputeProfile(
        name="measured",
        shares=(0.5, 1.0),
        prompt_tokens=(16, 64),
        completion_tokens=(8, 32),
        times_s=np.array(
            [[[0.36, 0.84], [0.36, 0.84]], [[0.18, 0.42], [0.18, 0.42]]], dtype=np.float64
        ),
    )
    path = tmp_path / "measured.csv"
    profile.to_csv(path)
    scenario = all_servers_on(
        paper_scenario(
            workload={
                "source": "synthetic",
                "synthetic_prompt_tokens": 16,
                "synthetic_completion_tokens": 20,
            }
        ),
        str(path),
    )
    env = CloudEdgeEnv(scenario)
    env.reset(seed=0)
    assert env.simulator is not None
    for server in range(scenario.n_servers):
        outcome = env.simulator.preview(server, (0.5, 0.05, 1.0))
        assert outcome.compute_s == pytest.approx(0.6)  # halfway between 0.36 and 0.84
    broken = tmp_path / "broken.csv"
    broken.write_text("compute_share,prompt_tokens,completion_tokens,compute_time_s\n1.0,8,4,-1\n")
    with pytest.raises(ValueError, match=r"broken\.csv line 2"):
        CloudEdgeEnv(all_servers_on(paper_scenario(), str(broken)))


# -- GPT-J's context --------------------------------------------------------------------------


def test_prompts_beyond_gptj_context_are_truncated_and_counted(tmp_path: Path) -> None:
    rows = [f"2023-11-16 18:17:0{i}.0000000,{tokens},10" for i, tokens in enumerate(
        [100, 1792, 1793, 5000, 300]
    )]  # fmt: skip
    path = write_trace(tmp_path / "long.csv", rows)
    env = CloudEdgeEnv(trace_on_paper_servers(n_tasks=5, workload={"trace_path": str(path)}))
    _, info = env.reset(seed=0)
    assert env.simulator is not None
    tasks = env.simulator.tasks
    # 2,048 context tokens less the 256 reserved for the completion: the longest prompt served.
    assert tasks.prompt_tokens.tolist() == [100, 1792, 1792, 1792, 300]
    assert tasks.n_truncated_prompts == 2 and info["truncated_prompts"] == 2
    assert tasks.prompt_bytes.tolist() == [300, 5376, 5379, 15000, 900]  # uploaded in full
    done = False
    while not done:
        _, _, done, _, info = env.step({"server": 0, "share": np.full(3, 0.05, np.float32)})
    assert info["episode"]["truncated_prompts"] == 2.0


def test_no_paper_prompt_is_truncated() -> None:
    env = CloudEdgeEnv()
    for seed in range(3):
        _, info = env.reset(seed=seed)
        assert info["truncated_prompts"] == 0
