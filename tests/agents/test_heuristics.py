from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import cloudedge
from agents.base import Agent, agent_capabilities, evaluate_episode, make_agent, start_episode
from agents.heuristics import (
    KVAdmissionAgent,
    OneStepPreviewAgent,
    admission_threshold_bytes,
    nominal_shares,
)
from cloudedge.observation import ObservationLayout

ROOT = Path(__file__).resolve().parents[2]
STATIC = ["random", "round_robin", "greedy_latency", "edge_first"]
ADAPTIVE = ["fair_share", "best_server", "kv_admission"]
HEURISTICS = [*STATIC, *ADAPTIVE, "one_step_preview"]


def build(name: str, **overrides) -> tuple[Agent, gym.Env]:
    config = yaml.safe_load((ROOT / "conf" / "agent" / f"{name}.yaml").read_text())
    env = gym.make(cloudedge.ENV_ID, **overrides)
    return make_agent(config, env.unwrapped.scenario, seed=0), env


@pytest.mark.parametrize("name", HEURISTICS)
def test_every_heuristic_plays_valid_actions_through_the_interface(name: str, tmp_path) -> None:
    agent, env = build(name, n_tasks=30)
    obs, info = start_episode(agent, env, 0)
    for _ in range(30):
        action = agent.act(obs, info)
        env.unwrapped.validate_action(action)  # raises on anything outside the space
        obs, _, done, _, info = env.step(action)
    assert done
    seen = []
    agent.learn(env, n_episodes=2, seed=3, on_episode=lambda i, m: seen.append((i, m)))
    assert [i for i, _ in seen] == [0, 1] and "sum_reward" in seen[0][1]
    agent.save(tmp_path / "agent")
    agent.load(tmp_path / "agent")


def test_capacity_aware_heuristics_beat_random_by_far() -> None:
    scores = {}
    for name in HEURISTICS:
        agent, env = build(name)
        scores[name] = evaluate_episode(agent, env, seed=4)["sum_reward"]
    for name in ("round_robin", "greedy_latency", "edge_first"):
        assert scores[name] > 5 * scores["random"], scores
    assert scores["edge_first"] >= 30.0


def test_greedy_latency_prefers_the_cloud_when_it_is_free() -> None:
    agent, env = build("greedy_latency")
    obs, info = env.reset(seed=0)
    assert agent.act(obs, info)["server"] == 0  # 2.7 s on the cloud vs 9.5 s on an edge


def test_edge_first_sends_to_the_nearest_edge() -> None:
    agent, env = build("edge_first")
    obs, info = env.reset(seed=0)
    n = env.unwrapped.n_servers
    assert agent.act(obs, info)["server"] == 1 + int(np.argmin(obs[1:n]))


def test_nominal_share_is_one_task_of_a_full_load() -> None:
    assert nominal_shares(cloudedge.paper_scenario()) == pytest.approx([0.05] * 5)


def test_one_step_preview_takes_the_best_previewed_reward_and_changes_nothing() -> None:
    agent, env = build("one_step_preview")
    obs, info = start_episode(agent, env, 0)
    sim = env.unwrapped.simulator
    before = sim.server_table.copy()
    action = agent.act(obs, info)
    np.testing.assert_array_equal(sim.server_table, before)
    chosen = sim.preview(action["server"], tuple(action["share"].tolist())).reward
    for server in range(5):
        share = float(nominal_shares(env.unwrapped.scenario)[server])
        need = float(ObservationLayout(5).block(obs, "memory_need")[server])
        assert chosen >= sim.preview(server, (share, share, need)).reward
    _, reward, *_ = env.step(action)
    assert reward == pytest.approx(chosen)


def test_one_step_preview_needs_the_simulator() -> None:
    agent = OneStepPreviewAgent(cloudedge.paper_scenario())
    with pytest.raises(RuntimeError, match="attach_simulator"):
        agent.act(np.zeros(35, np.float32), {})


def test_only_privileged_agents_get_the_simulator() -> None:
    """The simulator reaches an agent only through start_episode, and only if it declares
    privileged access; a non-privileged agent that asks for it is refused."""
    for name in HEURISTICS:
        agent, env = build(name, n_tasks=5)
        if agent.capabilities.privileged:
            start_episode(agent, env, 0)
            assert agent._simulator is env.unwrapped.simulator
        else:
            with pytest.raises(PermissionError, match="not privileged"):
                agent.attach_simulator(env.unwrapped.simulator)


def test_make_agent_rejects_bad_targets() -> None:
    scenario = cloudedge.paper_scenario()
    with pytest.raises(ValueError, match="_target_"):
        make_agent({}, scenario)
    with pytest.raises(ValueError, match="cannot be imported"):
        make_agent({"_target_": "agents.heuristics.NoSuchAgent"}, scenario)
    with pytest.raises(ValueError, match="not a subclass"):
        make_agent({"_target_": "numpy.ndarray"}, scenario)


def test_every_reference_declares_its_capabilities() -> None:
    for name in HEURISTICS:
        config = yaml.safe_load((ROOT / "conf" / "agent" / f"{name}.yaml").read_text())
        capabilities = agent_capabilities(config)
        assert not capabilities.learns, name
        assert capabilities.privileged == (name == "one_step_preview"), name


def test_no_oracle_named_reference_remains() -> None:
    names = [p.stem for p in (ROOT / "conf" / "agent").glob("*.yaml")]
    assert not [n for n in names if "oracle" in n]


def test_adaptive_grants_follow_what_remains() -> None:
    """Fair share splits what remains over the tasks left; best-server grants most of it."""
    for name, expected in (("fair_share", 1 / 20), ("best_server", 0.75)):
        agent, env = build(name)
        obs, info = start_episode(agent, env, 0)
        action = agent.act(obs, info)
        # 100 tasks left, one fifth of them per server: 1/20 of a full server each.
        assert float(action["share"][0]) == pytest.approx(expected, rel=1e-6), name


def test_kv_admission_refuses_large_caches_only_under_overload() -> None:
    paper = cloudedge.paper_scenario()
    assert admission_threshold_bytes(paper, 100.0) == float("inf")  # sized for 100 tasks
    overload = cloudedge.paper_scenario(n_tasks=180)
    threshold = admission_threshold_bytes(overload, 180.0)
    assert 0 < threshold < float("inf")
    agent = KVAdmissionAgent(overload)
    assert agent.threshold_bytes == pytest.approx(threshold)
    env = cloudedge.CloudEdgeEnv(overload)
    obs, info = env.reset(seed=0)
    assert agent.admission_threshold_bytes(obs) == pytest.approx(threshold)
    refused = admitted = 0
    done = False
    while not done:
        action = agent.act(obs, info)
        if info["memory_need_bytes"] > agent.admission_threshold_bytes(obs):
            refused += 1
            assert not action["share"].any()
        obs, _, done, _, info = env.step(action)
        admitted += int(info["outcome"].completed)
    assert refused > 0 and admitted > 0
