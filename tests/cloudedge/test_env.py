import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import cloudedge
from cloudedge import BoxActionWrapper, CloudEdgeEnv, DiscreteActionWrapper, TaskStatus
from tests.cloudedge.policies import cloud_first, random_policy


def rollout(env: gym.Env, seed: int, actions_seed: int = 0) -> list:
    rng = np.random.default_rng(actions_seed)
    obs, info = env.reset(seed=seed)
    trace = [obs.copy()]
    done = False
    while not done:
        action = (
            env.action_space.sample()
            if actions_seed < 0
            else {
                "server": int(rng.integers(env.unwrapped.n_servers)),
                "share": rng.uniform(0.0, 0.2, 3).astype(np.float32),
            }
        )
        obs, reward, done, _, info = env.step(action)
        trace.append((obs.copy(), reward, info["outcome"].status))
    return trace


@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
def test_check_env_on_the_raw_env_and_both_wrappers() -> None:
    check_env(CloudEdgeEnv(n_tasks=20), skip_render_check=True)
    check_env(DiscreteActionWrapper(CloudEdgeEnv(n_tasks=20)), skip_render_check=True)
    check_env(BoxActionWrapper(CloudEdgeEnv(n_tasks=20)), skip_render_check=True)


def test_make_with_overrides() -> None:
    env = gym.make(cloudedge.ENV_ID, t_max_s=3.0, n_tasks=7, workload={"arrival": "poisson"})
    scenario = env.unwrapped.scenario
    assert (scenario.t_max_s, scenario.n_tasks, scenario.workload.arrival) == (3.0, 7, "poisson")


def test_same_seed_same_trajectory_and_different_seed_differs() -> None:
    env = CloudEdgeEnv(n_tasks=30)
    first, second = rollout(env, seed=5), rollout(env, seed=5)
    assert len(first) == len(second) == 31
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1:], second[1:], strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    other = rollout(env, seed=6)
    assert not np.array_equal(first[0], other[0])


def test_episode_ends_after_n_tasks_and_drains() -> None:
    env = CloudEdgeEnv(n_tasks=10)
    obs, info = env.reset(seed=0)
    for step in range(10):
        obs, _reward, terminated, truncated, info = env.step(cloud_first(env, obs, info))
        assert terminated == (step == 9) and not truncated
    episode = info["episode"]
    assert episode["n_tasks"] == 10
    sim = env.simulator
    assert sim.pending_events == 0
    for server in sim.servers:
        assert server.remaining.memory_bytes == pytest.approx(server.capacity.memory_bytes)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"server": 0, "share": np.zeros(3, np.float32)})


def test_observation_holds_distances_and_remaining_resources() -> None:
    env = CloudEdgeEnv()
    obs, _info = env.reset(seed=0)
    n = env.n_servers
    assert obs.shape == (6 * n + 5,)
    assert np.all(obs[n : 4 * n] == 1.0)  # nothing granted yet
    terminal = env.simulator.current_terminal()
    d0 = terminal.distance_m(env.scenario.servers[0].position_m, env.simulator.now_s)
    assert obs[0] == pytest.approx(d0 / np.linalg.norm(env.scenario.area_m), rel=1e-6)
    obs, *_ = env.step({"server": 2, "share": np.array([0.1, 0.2, 0.3], np.float32)})
    assert obs[n + 2] == pytest.approx(0.9, abs=1e-6)
    assert obs[2 * n + 2] == pytest.approx(0.8, abs=1e-6)
    assert obs[3 * n + 2] == pytest.approx(0.7, abs=1e-6)


def test_info_names_the_terminal_and_the_outcome() -> None:
    env = CloudEdgeEnv()
    _, info = env.reset(seed=0)
    assert info["terminal_kind"] in ("fixed", "mobile", "uav")
    assert info["action_mask"].dtype == bool and info["action_mask"].shape == (5,)
    _, reward, _, _, info = env.step({"server": 0, "share": np.array([1, 1, 1], np.float32)})
    outcome = info["outcome"]
    assert outcome.status is TaskStatus.COMPLETED
    assert reward == pytest.approx(1 / outcome.latency_s + 0.1159)
    # The cloud is now fully held: the mask says so.
    assert not info["action_mask"][0]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"server": 5, "share": [0.1, 0.1, 0.1]}, r"server'\] = 5 is out of range"),
        ({"server": -1, "share": [0.1, 0.1, 0.1]}, "out of range"),
        ({"server": 1.5, "share": [0.1, 0.1, 0.1]}, "one integer"),
        ({"server": 0, "share": [float("nan"), 0.1, 0.1]}, "finite number in"),
        ({"server": 0, "share": [-0.1, 0.1, 0.1]}, "out of range"),
        ({"server": 0, "share": [0.1, 0.1]}, "3 entries"),
        ({"share": [0.1, 0.1, 0.1]}, "keys 'server'"),
        (
            {"server": 0, "share": [0.1, 0.1, 0.1], "priority": 1},
            r"unknown key\(s\) \['priority'\]",
        ),
        ([0, [0.1, 0.1, 0.1]], "must be a mapping"),
    ],
)
def test_bad_actions_raise_and_change_nothing(action: dict, message: str) -> None:
    env = CloudEdgeEnv()
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert env.simulator.next_task == 0
    np.testing.assert_array_equal(env._observation(), obs)


def test_discrete_wrapper_decodes_server_and_level() -> None:
    env = DiscreteActionWrapper(CloudEdgeEnv(), share_levels=(0.05, 0.1))
    assert env.action_space.n == 10
    env.reset(seed=0)
    decoded = env.action(7)
    assert decoded["server"] == 3
    assert decoded["share"][0] == pytest.approx(0.1)
    need = env.unwrapped.simulator.current_memory_need_bytes()
    granted = decoded["share"][2] * env.unwrapped.simulator.servers[3].capacity.memory_bytes
    assert granted >= need * (1 - 1e-6)
    _, info = env.reset(seed=0)
    assert info["action_mask"].shape == (10,)
    with pytest.raises(ValueError, match="share_levels"):
        DiscreteActionWrapper(CloudEdgeEnv(), share_levels=(0.0,))


def test_random_actions_keep_the_env_consistent() -> None:
    env = CloudEdgeEnv(n_tasks=50)
    policy = random_policy(0)
    obs, info = env.reset(seed=1)
    done = False
    while not done:
        assert env.observation_space.contains(obs)
        obs, _, done, _, info = env.step(policy(env, obs, info))
    summary = info["episode"]
    assert sum(summary[f"n_{s.value}"] for s in TaskStatus) == 50
