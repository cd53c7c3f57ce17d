"""The torch agents' shared base: device, one action interface, evaluation as trained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import cloudedge
from agents.base import evaluate_episode
from agents.gpnfsp import GPNFSPAgent
from agents.rainbow import RainbowAgent
from agents.sb3_agents import PPOAgent, QRDQNAgent, SACAgent
from agents.torch_base import get_device
from cloudedge import CloudEdgeEnv
from cloudedge.wrappers import DEFAULT_SHARE_LEVELS


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_device_choice_follows_sb3() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device("auto").type == expected
    assert get_device("cuda").type == expected  # no GPU: falls back to the CPU
    assert get_device("cpu").type == "cpu"


def test_eval_modes_are_declared_and_checked() -> None:
    scenario = cloudedge.paper_scenario(n_tasks=20)
    assert PPOAgent.eval_mode == "sampled" and GPNFSPAgent.eval_mode == "sampled"
    assert SACAgent.eval_mode == QRDQNAgent.eval_mode == RainbowAgent.eval_mode == "greedy"
    assert PPOAgent(scenario, eval_mode="greedy", n_steps=32, batch_size=32).eval_mode == "greedy"
    with pytest.raises(ValueError, match="eval_mode"):
        QRDQNAgent(scenario, eval_mode="sampled")
    with pytest.raises(ValueError, match="eval_mode"):
        GPNFSPAgent(scenario, eval_mode="mode")


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (SACAgent, {"learning_starts": 10}),
        (PPOAgent, {"action_space": "box", "n_steps": 32, "batch_size": 32}),
    ],
)
def test_sampled_box_actions_are_valid_and_repeat_per_episode_seed(cls: type, kwargs: dict) -> None:
    scenario = cloudedge.paper_scenario(n_tasks=10)
    agent = cls(scenario, seed=0, eval_mode="sampled", **kwargs)
    env = CloudEdgeEnv(scenario)
    first, second = evaluate_episode(agent, env, 5), evaluate_episode(agent, env, 6)
    assert evaluate_episode(agent, env, 5) == first
    assert evaluate_episode(agent, env, 6) == second


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (PPOAgent, {"n_steps": 32, "batch_size": 32}),
        (QRDQNAgent, {}),
        (SACAgent, {"learning_starts": 10}),
        (RainbowAgent, {}),
        (GPNFSPAgent, {}),
    ],
)
def test_memory_grant_reaches_training_and_evaluation_alike(cls: type, kwargs: dict) -> None:
    """The memory rule is the agent's: its training wrapper and its ``act`` apply it. Checked
    with the non-default ``"level"``, so a subclass that dropped the argument would fail."""
    scenario = cloudedge.paper_scenario(n_tasks=10)
    agent = cls(scenario, seed=0, memory_grant="level", **kwargs)
    env = CloudEdgeEnv(scenario)
    wrapped = agent.wrap(CloudEdgeEnv(scenario))
    obs, info = env.reset(seed=0)
    wrapped.reset(seed=0)
    sim = env.unwrapped.simulator

    def need_share(server: int) -> float:
        return sim.current_memory_need_bytes() / sim.servers[server].capacity.memory_bytes

    action = agent.act(obs, info)
    level = float(action["share"][0])
    expected = min(1.0, max(level, need_share(action["server"])))
    assert action["share"][2] == pytest.approx(expected, rel=1e-5)
    assert wrapped.decoder.memory_grant == "level"
    # Server 0 at the top level (0.25, above the need): memory follows the level.
    top = max(DEFAULT_SHARE_LEVELS)
    if cls is SACAgent:
        flat = np.zeros(wrapped.action_space.shape[0], np.float32)
        flat[0], flat[-1] = 1.0, 1.0
    else:
        flat = len(DEFAULT_SHARE_LEVELS) - 1
    assert top > need_share(0)
    assert wrapped.action(flat)["share"][2] == pytest.approx(top, rel=1e-5)


def test_untrained_sac_grants_within_the_discrete_levels() -> None:
    """The Box level spans the discrete levels, so an untrained SAC (mean action ~0.5 per entry)
    grants their middle, not half a server as three free [0, 1] shares would."""
    scenario = cloudedge.paper_scenario(n_tasks=30)
    agent = SACAgent(scenario, seed=0, learning_starts=10)
    env = CloudEdgeEnv(scenario)
    grants = []
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            action = agent.act(obs, info)
            grants.append(action["share"][0])
            obs, _, done, _, info = env.step(action)
    assert min(DEFAULT_SHARE_LEVELS) <= np.mean(grants) <= max(DEFAULT_SHARE_LEVELS)
    assert min(grants) >= min(DEFAULT_SHARE_LEVELS) * (1 - 1e-6)
    assert max(grants) <= max(DEFAULT_SHARE_LEVELS) * (1 + 1e-6)


def test_ppo_sampled_evaluation_reproduces_its_training_completion() -> None:
    """At a short budget PPO's policy is still a mixture; sampled evaluation plays what it
    trained (its training completion, within noise), and repeats itself for the same seeds."""
    scenario = cloudedge.paper_scenario()
    agent = PPOAgent(scenario, seed=0, n_steps=256, batch_size=256, n_epochs=20, gamma=0.98,
                     gae_lambda=0.8, learning_rate=1e-3)  # fmt: skip
    completions: list[float] = []
    agent.learn(CloudEdgeEnv(scenario), 30, seed=0,
                on_episode=lambda _, m: completions.append(m["completion_rate"]))  # fmt: skip
    env = CloudEdgeEnv(scenario)
    sampled = [evaluate_episode(agent, env, 10_000 + k)["completion_rate"] for k in range(10)]
    again = [evaluate_episode(agent, env, 10_000 + k)["completion_rate"] for k in (1, 0)]
    assert again == [sampled[1], sampled[0]]  # seeded by the episode, not by what ran before
    assert abs(np.mean(sampled) - np.mean(completions[-10:])) < 0.12, (sampled, completions)


def test_gpnfsp_act_samples_from_the_average_policy() -> None:
    scenario = cloudedge.paper_scenario(n_tasks=20)
    agent = GPNFSPAgent(scenario, seed=0)
    env = CloudEdgeEnv(scenario)
    obs, info = env.reset(seed=4)
    info = {**info, "task_index": 1}  # not an episode start: the generator runs on
    logits = agent.action_logits(obs, info)
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    levels = len(DEFAULT_SHARE_LEVELS)
    counts = np.zeros(len(logits))
    n_draws = 4000
    for _ in range(n_draws):
        action = agent.act(obs, info)
        level = DEFAULT_SHARE_LEVELS.index(
            min(DEFAULT_SHARE_LEVELS, key=lambda x: abs(x - float(action["share"][0])))
        )
        counts[action["server"] * levels + level] += 1
    # 4000 draws: each frequency's standard error is below 0.008.
    np.testing.assert_allclose(counts / n_draws, probabilities, atol=0.03)
    assert (counts > 0).sum() > 1
    agent.eval_mode = "greedy"
    greedy = agent.act(obs, info)
    assert greedy["server"] * levels == int(np.argmax(logits)) // levels * levels


def test_load_rejects_a_file_without_the_agents_state(tmp_path: Path) -> None:
    scenario = cloudedge.paper_scenario(n_tasks=20)
    path = tmp_path / "other"
    torch.save({"algorithm": {}}, path)
    with pytest.raises(ValueError, match="no saved state"):
        GPNFSPAgent(scenario).load(path)
