"""The scenario suite (cloudedge/scenarios/env/*.yaml): each builds, each exercises what it
claims, and the bound holds on each."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import cloudedge
from agents.base import make_agent, start_episode
from agents.bound import episode_upper_bound
from benchmarks.config import register_configs
from benchmarks.scenario_table import REFERENCES as SCENARIO_TABLE_REFERENCES
from benchmarks.scenario_table import play
from benchmarks.suite import SUITE_SCENARIOS
from cloudedge.config import SCENARIO_DIR, ScenarioConfig, load_scenario_yaml, scenario_from_dict
from cloudedge.metrics import TaskStatus

ROOT = Path(__file__).resolve().parents[2]
ENV_DIR = SCENARIO_DIR
SUITE = list(SUITE_SCENARIOS)
REFERENCES = list(SCENARIO_TABLE_REFERENCES)


def hydra_env(overrides: list[str]) -> ScenarioConfig:
    """The scenario the harness's composed config holds (``env=<name>`` and overrides)."""
    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose(config_name="config", overrides=overrides)
    return scenario_from_dict(OmegaConf.to_container(cfg.env, resolve=True))


def scenario(name: str, **overrides) -> ScenarioConfig:
    loaded = load_scenario_yaml(ENV_DIR / f"{name}.yaml")
    return loaded.replace(**overrides) if overrides else loaded


def test_every_suite_scenario_has_a_yaml_that_says_why_it_is_hard() -> None:
    for name in SUITE:
        text = (ENV_DIR / f"{name}.yaml").read_text()
        assert text.startswith("#"), name
        assert scenario(name).name == name


@pytest.mark.parametrize("name", SUITE)
def test_scenario_builds_from_its_yaml_through_hydra_and_the_env(name: str) -> None:
    from_hydra = hydra_env([f"env={name}"])
    assert from_hydra == scenario(name)
    env = cloudedge.CloudEdgeEnv(from_hydra)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs) and info["action_mask"].any()


@pytest.mark.parametrize("name", SUITE)
def test_bound_is_at_least_every_reference_on_three_seeds(name: str) -> None:
    small = scenario(name, n_tasks=25)
    for seed in range(3):
        # The unrefined grid: a valid (looser) bound, and fast.
        bound = episode_upper_bound(small, seed, refine=False).upper_bound
        for agent in REFERENCES:
            metrics, _ = play(agent, small, seed)
            assert bound >= metrics["sum_reward"] - 1e-9, (name, seed, agent)


def outcomes(name: str, agent: str, seed: int = 0, **overrides) -> list:
    config = yaml.safe_load((ROOT / "conf" / "agent" / f"{agent}.yaml").read_text())
    sc = scenario(name, **overrides)
    policy = make_agent(config, sc)
    env = cloudedge.CloudEdgeEnv(sc)
    obs, info = start_episode(policy, env, seed)
    seen, done = [], False
    while not done:
        obs, _, done, _, info = env.step(policy.act(obs, info))
        seen.append(info["outcome"])
    return seen


def test_queueing_scenario_makes_tasks_wait_and_the_wait_observation_move() -> None:
    sc = scenario("queueing", n_tasks=60)
    env = cloudedge.CloudEdgeEnv(sc)
    policy = make_agent({"_target_": "agents.heuristics.RoundRobinAgent"}, sc)
    obs, info = env.reset(seed=0)
    waits, queues, done = [], [], False
    while not done:
        waits.append(env.layout.wait_s(obs).max())
        obs, _, done, _, info = env.step(policy.act(obs, info))
        if info["outcome"].completed:
            queues.append(info["outcome"].queue_s)
    assert max(queues) > 0.5 and max(waits) > 0.5


@pytest.mark.parametrize("name", ["dynamic_poisson", "dynamic_trace"])
def test_dynamic_scenarios_release_resources_mid_episode_for_reuse(name: str) -> None:
    seen = outcomes(name, "greedy_latency", n_tasks=120)
    held = [o for o in seen if o.status in (TaskStatus.COMPLETED, TaskStatus.DEADLINE)]
    released = [o.released_s for o in held]
    arrivals = [o.arrival_s for o in seen]
    # Resources come back while tasks are still arriving, and later tasks take them again.
    reused = sum(1 for r in released if r < arrivals[-1])
    assert reused >= 10
    first_release = min(released)
    admitted_after = [o for o in held if o.arrival_s > first_release]
    assert len(admitted_after) >= 10


def test_tight_deadline_completion_depends_on_the_server_and_grant() -> None:
    sc = scenario("tight_deadline")
    env = cloudedge.CloudEdgeEnv(sc)
    env.reset(seed=0)
    sim = env.simulator
    need = [sim.current_memory_need_bytes() / s.capacity.memory_bytes for s in sim.servers]
    nominal = 0.05
    status = {j: sim.preview(j, (nominal, nominal, min(1.0, need[j]))).status for j in range(5)}
    assert status[0] is TaskStatus.COMPLETED  # the cloud: 2.7 s
    assert all(status[j] is TaskStatus.DEADLINE for j in range(1, 5))  # edges: 9.5 s > 9.4 s
    bigger = sim.preview(1, (4 * nominal, 4 * nominal, min(1.0, need[1]))).status
    assert bigger is TaskStatus.COMPLETED  # 9.2 s: a larger grant makes the edge feasible


def test_bandwidth_bound_transmission_is_a_real_share_of_latency() -> None:
    seen = outcomes("bandwidth_bound", "greedy_latency", n_tasks=40)
    shares = [(o.upload_s + o.download_s) / o.latency_s for o in seen if o.completed]
    paper = outcomes("paper", "greedy_latency", n_tasks=40)
    paper_shares = [(o.upload_s + o.download_s) / o.latency_s for o in paper if o.completed]
    assert np.median(shares) > 0.05
    assert np.median(shares) > 10 * np.median(paper_shares)


def test_trace_scenarios_run_any_trace_in_the_azure_schema_by_one_override(tmp_path) -> None:
    rng = np.random.default_rng(0)
    lines = ["TIMESTAMP,ContextTokens,GeneratedTokens"]
    for k in range(300):
        stamp = f"2031-01-01 00:{k // 60:02d}:{k % 60:02d}.{rng.integers(0, 999999):06d}0"
        lines.append(f"{stamp},{rng.integers(50, 3000)},{rng.integers(5, 400)}")
    trace = tmp_path / "unseen_trace.csv"
    trace.write_text("\n".join(lines) + "\n")
    for name in ("dynamic_trace", "azure_a100_3090"):
        sc = hydra_env([f"env={name}", f"env.workload.trace_path={trace}"])
        assert sc.workload.trace_path == str(trace)
        small = sc.replace(n_tasks=30)
        metrics, _ = play("fair_share", small, 0)
        assert metrics["n_tasks"] == 30
        assert episode_upper_bound(small, 0, refine=False).upper_bound >= metrics["sum_reward"]
