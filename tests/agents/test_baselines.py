"""The DRL baselines (PPO, SAC, QR-DQN, Rainbow, GP-NFSP) behind the agent interface.

Each baseline is built from its ``conf/agent/<name>.yaml`` with small overrides that only make
the networks, batches and warm-ups fit a short budget; the algorithm and its other
hyperparameters are those of the config.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from tianshou.data import Batch, PrioritizedReplayBuffer

import cloudedge
from agents.base import Agent, evaluate_episode, make_agent
from agents.gpnfsp import ReservoirBuffer
from agents.rainbow import max_return_bound
from agents.sb3_agents import EpisodeSeedWrapper, PPOAgent, SACAgent
from cloudedge import CloudEdgeEnv, DiscreteActionWrapper
from cloudedge.config import ScenarioConfig, available_scenarios, load_scenario

CONF = Path(__file__).resolve().parents[2] / "conf" / "agent"
BASELINES = ("ppo", "sac", "qrdqn", "rainbow", "gpnfsp")

#: Overrides for the smoke test (300 steps): learning must start well within them.
SMOKE: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 2},
    "sac": {"learning_starts": 50, "batch_size": 32, "policy_kwargs": {"net_arch": [32, 32]}},
    "qrdqn": {"learning_starts": 50, "train_freq": 16, "gradient_steps": 4, "batch_size": 32},
    "rainbow": {
        "learning_starts": 50,
        "batch_size": 32,
        "torso_hidden_sizes": [32],
        "head_hidden_sizes": [32],
    },
    # eta = 1 so that the best response, the reservoir and the average policy all run.
    "gpnfsp": {"eta": 1.0, "rollout_steps": 64, "n_epochs": 2, "sl_batch_size": 32},
}

#: Overrides and episode budgets (20 tasks each) of the learning test.
LEARN: dict[str, tuple[dict[str, Any], int]] = {
    # Evaluated by sampling (as it trains): at 100 episodes its policy is still a mixture.
    "ppo": ({}, 200),
    "qrdqn": ({}, 100),
    # SB3's 256x256 SAC needs more steps than a test affords; smaller nets learn in ~250 eps.
    "sac": ({"batch_size": 64, "policy_kwargs": {"net_arch": [64, 64]}}, 250),
    "rainbow": ({"torso_hidden_sizes": [64], "head_hidden_sizes": [64]}, 100),
    "gpnfsp": ({}, 150),
}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Two threads on this shared 2-core machine run several times slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def load_config(name: str, **overrides: Any) -> dict[str, Any]:
    with open(CONF / f"{name}.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config.update(overrides)
    return config


def small_scenario() -> ScenarioConfig:
    return cloudedge.paper_scenario(n_tasks=20)


def two_server_scenario(good: int) -> ScenarioConfig:
    """Server ``good`` finishes in ~1.5 s; the other can never meet t_max (100 s floor).

    The good server holds 80% of resources sized for 25 tasks, so all 20 tasks fit on it.
    """
    names = ("fast", "hopeless")
    servers = []
    for index in range(2):
        is_good = index == good
        servers.append(
            {
                "name": f"server{index}",
                "kind": "edge",
                "position_m": [500.0 + 1000.0 * index, 500.0 + 1000.0 * index, 25.0],
                "resource_share": 0.8 if is_good else 0.2,
                "parallel_slots": 32,
                "compute_profile": names[0] if is_good else names[1],
                "pass_at_100": 0.19,
            }
        )
    return cloudedge.paper_scenario(
        servers=servers,
        compute_profiles={
            "fast": {"floor_s": 1.0, "scale_s": 0.5},
            "hopeless": {"floor_s": 100.0, "scale_s": 1.0},
        },
        t_max_s=15.0,
        n_tasks=20,
        resources={"reference_tasks": 25},
    )


def play(
    agent: Agent, scenario: ScenarioConfig, seeds: range
) -> tuple[list[np.ndarray], list[dict[str, Any]], list[float]]:
    """Episodes with ``agent.act``; every action must pass the env's validation."""
    env = CloudEdgeEnv(scenario)
    observations, actions, sums = [], [], []
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            action = agent.act(obs, info)
            env.unwrapped.validate_action(action)
            observations.append(obs)
            actions.append(action)
            obs, _, done, _, info = env.step(action)
        sums.append(info["episode"]["sum_reward"])
    return observations, actions, sums


def random_sum_reward(scenario: ScenarioConfig, seeds: range) -> float:
    """Mean episode sum reward of uniformly random raw actions."""
    env = CloudEdgeEnv(scenario)
    env.action_space.seed(0)
    sums = []
    for seed in seeds:
        env.reset(seed=seed)
        done, info = False, {}
        while not done:
            _, _, done, _, info = env.step(env.action_space.sample())
        sums.append(info["episode"]["sum_reward"])
    return float(np.mean(sums))


# -- training, acting, persistence -----------------------------------------------------------
_trained: dict[str, tuple[Agent, list[tuple[int, dict[str, float]]]]] = {}


def trained_smoke_agent(name: str) -> tuple[Agent, list[tuple[int, dict[str, float]]]]:
    """Train once per module (15 episodes x 20 tasks) and share with the tests below."""
    if name not in _trained:
        scenario = small_scenario()
        agent = make_agent(load_config(name, **SMOKE[name]), scenario, seed=3)
        reports: list[tuple[int, dict[str, float]]] = []
        agent.learn(
            CloudEdgeEnv(scenario), 15, seed=7, on_episode=lambda i, m: reports.append((i, m))
        )
        _trained[name] = (agent, reports)
    return _trained[name]


@pytest.mark.parametrize("name", BASELINES)
def test_trains_reports_every_episode_and_acts_validly(name: str) -> None:
    agent, reports = trained_smoke_agent(name)
    assert [i for i, _ in reports] == list(range(15))
    for _, metrics in reports:
        assert metrics["n_tasks"] == 20
        assert np.isfinite(metrics["sum_reward"]) and metrics["sum_reward"] >= 0.0
    _, actions, _ = play(agent, small_scenario(), range(100, 102))
    assert len(actions) == 40


@pytest.mark.parametrize("name", BASELINES)
def test_save_load_round_trip_gives_identical_actions(name: str, tmp_path: Path) -> None:
    agent, _ = trained_smoke_agent(name)
    scenario = small_scenario()
    observations, actions, _ = play(agent, scenario, range(200, 202))
    path = tmp_path / "policy"
    agent.save(path)
    assert path.is_file()  # written at exactly the given path
    fresh = make_agent(load_config(name, **SMOKE[name]), scenario, seed=99)
    fresh.load(path)
    _, reloaded, _ = play(fresh, scenario, range(200, 202))
    assert len(reloaded) == len(actions) == len(observations)
    for before, after in zip(actions, reloaded, strict=True):
        assert before["server"] == after["server"]
        np.testing.assert_array_equal(before["share"], after["share"])


def test_gpnfsp_best_response_round_trip(tmp_path: Path) -> None:
    agent, _ = trained_smoke_agent("gpnfsp")
    scenario = small_scenario()
    agent.act_policy = "best_response"  # GRU state per terminal, reset at each episode start
    try:
        _, actions, _ = play(agent, scenario, range(300, 302))
        agent.save(tmp_path / "p")
        fresh = make_agent(load_config("gpnfsp", act_policy="best_response"), scenario, seed=5)
        fresh.load(tmp_path / "p")
        _, reloaded, _ = play(fresh, scenario, range(300, 302))
    finally:
        agent.act_policy = "average"
    assert [a["server"] for a in actions] == [a["server"] for a in reloaded]


# -- learning ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", BASELINES)
def test_learns_to_prefer_the_good_server(name: str) -> None:
    """With a fixed seed and a short budget each learner sends clearly more tasks than random
    (1/2) to the server that can finish them, and earns clearly more reward than random.

    The good server's index is the one the untrained agent prefers less, so that an
    initialisation that happens to favour it cannot pass the test.
    """
    overrides, n_episodes = LEARN[name]
    config = load_config(name, **overrides)
    eval_seeds = range(1000, 1003)

    def good_fraction(agent: Agent, good: int) -> float:
        _, actions, _ = play(agent, two_server_scenario(good), eval_seeds)
        return float(np.mean([a["server"] == good for a in actions]))

    untrained = {
        good: good_fraction(make_agent(config, two_server_scenario(good), seed=0), good)
        for good in (0, 1)
    }
    good = min(untrained, key=untrained.get)
    scenario = two_server_scenario(good)
    agent = make_agent(config, scenario, seed=0)
    agent.learn(CloudEdgeEnv(scenario), n_episodes, seed=0)

    _, actions, sums = play(agent, scenario, eval_seeds)
    fraction = float(np.mean([a["server"] == good for a in actions]))
    random_reward = random_sum_reward(scenario, eval_seeds)
    assert fraction >= 0.8, f"{name}: {fraction:.2f} of tasks to the good server (random 0.5)"
    assert fraction >= untrained[good] + 0.2
    assert np.mean(sums) >= 1.5 * random_reward, (np.mean(sums), random_reward)


# -- pieces --------------------------------------------------------------------------------
def test_episode_seed_wrapper_seeds_consecutive_episodes() -> None:
    scenario = small_scenario()
    wrapped = EpisodeSeedWrapper(DiscreteActionWrapper(CloudEdgeEnv(scenario)), first_seed=11)
    reference = CloudEdgeEnv(scenario)
    for k in range(3):
        obs, _ = wrapped.reset(seed=12345)  # the caller's seed is replaced by 11 + k
        np.testing.assert_array_equal(obs, reference.reset(seed=11 + k)[0])


def test_sb3_metrics_survive_monitor_and_ppo_stops_at_n_episodes() -> None:
    """PPO's 64-step rollouts overshoot 3 x 20 steps; exactly 3 episodes are reported with the
    env's metrics, not SB3 Monitor's ``{r, l, t}``."""
    scenario = small_scenario()
    agent = PPOAgent(scenario, seed=0, n_steps=64, batch_size=64, n_epochs=1)
    reports: list[tuple[int, dict[str, float]]] = []
    agent.learn(CloudEdgeEnv(scenario), 3, seed=0, on_episode=lambda i, m: reports.append((i, m)))
    assert [i for i, _ in reports] == [0, 1, 2]
    assert all("completion_rate" in m for _, m in reports)


def test_action_space_choice_is_checked() -> None:
    with pytest.raises(ValueError, match="action_space"):
        SACAgent(small_scenario(), action_space="discrete")
    agent = PPOAgent(small_scenario(), action_space="box", n_steps=32, batch_size=32)
    _, actions, _ = play(agent, small_scenario(), range(1))
    assert len(actions) == 20


@pytest.mark.parametrize("name", ["sac", "qrdqn"])
def test_sb3_off_policy_learners_bootstrap_n_steps_ahead(name: str) -> None:
    """The configs' ``n_steps`` reaches the library: replayed targets are discounted by
    gamma^n (fewer steps only where the episode ends sooner)."""
    config = load_config(name, **SMOKE[name])
    assert config["n_steps"] == 3
    agent = make_agent(config, small_scenario(), seed=0)
    agent.learn(CloudEdgeEnv(small_scenario()), 3, seed=0)
    discounts = agent.model.replay_buffer.sample(256).discounts.numpy().ravel()
    gamma = config["gamma"]
    assert np.mean(np.isclose(discounts, gamma**3)) > 0.5
    assert all(
        np.isclose(discounts, gamma)
        | np.isclose(discounts, gamma**2)
        | np.isclose(discounts, gamma**3)
    )


def test_rainbow_target_distribution_is_taken_n_steps_ahead() -> None:
    """Tianshou's C51 pairs the n-step return with ``obs_next`` = s_{t+1}; ours uses s_{t+n}
    (or the episode's last ``obs_next`` when the episode ends sooner)."""
    agent = make_agent(load_config("rainbow", n_step=3), small_scenario(), seed=0)
    buffer = PrioritizedReplayBuffer(16, alpha=0.5, beta=0.4)
    dim = agent.observation_space.shape[0]
    for t in range(5):  # one 5-step episode; obs at step t is filled with t
        buffer.add(
            Batch(
                obs=np.full(dim, t, np.float32),
                act=0,
                rew=1.0,
                terminated=t == 4,
                truncated=False,
                obs_next=np.full(dim, t + 1, np.float32),
                info=Batch(),
            )
        )
    indices = np.arange(5)
    batch = agent.algorithm._preprocess_batch(buffer[indices], buffer, indices)
    np.testing.assert_array_equal(batch.obs_next[:, 0], [3, 4, 5, 5, 5])


def test_max_return_bound_of_the_paper_scenario() -> None:
    # 1/2.1 s + 0.1892 per task at most, over 100 tasks discounted at 0.99.
    bound = max_return_bound(cloudedge.paper_scenario(), 0.99)
    assert bound == pytest.approx((1 / 2.1 + 0.1892) * (1 - 0.99**100) / 0.01)


@pytest.mark.parametrize("name", available_scenarios())
def test_the_return_bound_holds_on_every_shipped_scenario(name: str) -> None:
    # Token-profile scenarios have no floor_s: the bound reads the profile's fastest time.
    scenario = load_scenario(name)
    bound = max_return_bound(scenario, 1.0)
    agent = make_agent({"_target_": "agents.heuristics.FairShareAgent"}, scenario)
    episode = evaluate_episode(agent, CloudEdgeEnv(scenario=scenario), seed=0)
    assert np.isfinite(bound) and 0.0 < episode["sum_reward"] <= bound


def test_reservoir_keeps_a_uniform_sample() -> None:
    buffer = ReservoirBuffer(200, obs_dim=1, rng=np.random.default_rng(0))
    for i in range(20000):
        buffer.add(np.array([i], np.float32), terminal=0, action=i)
    kept = buffer.action[: len(buffer)]
    assert len(buffer) == 200 and len(set(kept.tolist())) == 200
    # A uniform sample of 0..19999 has mean 10000 and standard error ~400.
    assert abs(kept.mean() - 10000) < 2000
