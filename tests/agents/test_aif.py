"""The active-inference agent: interface, rewardlessness, information gain, planner, persistence."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from agents.aif import AIFAgent, AIFConfig
from agents.aif.info_gain import (
    bernoulli_information_gain,
    gaussian_information_gain,
    outcome_information_gain,
)
from agents.aif.model import TARGETS, EnsembleModel
from agents.aif.planner import CEMPlanner, PlannerConfig
from agents.base import evaluate_episode, make_agent
from cloudedge import CloudEdgeEnv

CONF = Path(__file__).resolve().parents[2] / "conf" / "agent" / "aif.yaml"


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """Small tensors: one thread is faster, and the cores are shared with other tests."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: Small enough for this file to run in seconds.
SMALL: dict[str, Any] = {
    "n_members": 3,
    "n_hidden": 32,
    "n_candidates": 64,
    "n_elites": 8,
    "n_iterations": 2,
    "horizon": 8,
    "batch_size": 32,
    "max_train_steps": 20,
    "seed_episodes": 1,
}


def small_env() -> CloudEdgeEnv:
    return CloudEdgeEnv(n_tasks=20)


def trained_agent(seed: int = 0, episodes: int = 2) -> tuple[AIFAgent, CloudEdgeEnv]:
    env = small_env()
    agent = AIFAgent(env.scenario, seed=seed, **SMALL)
    agent.learn(env, episodes, seed=10)
    return agent, env


def observations(env: CloudEdgeEnv, n: int = 5) -> list[np.ndarray]:
    """A few real observations (cloud-first grants, so resources deplete)."""
    obs, _ = env.reset(seed=99)
    out = [obs]
    for _ in range(n - 1):
        obs, *_ = env.step({"server": 0, "share": np.full(3, 0.05, np.float32)})
        out.append(obs)
    return out


class NoisyReward(gym.Wrapper):
    """Replaces the environment's reward with random numbers."""

    def __init__(self, env: gym.Env, seed: int) -> None:
        super().__init__(env)
        self.rng = np.random.default_rng(seed)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, float(self.rng.normal(0.0, 100.0)), terminated, truncated, info


class Recorder(gym.Wrapper):
    """Keeps every action taken."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.actions: list[tuple[int, tuple[float, ...]]] = []

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self.actions.append((int(action["server"]), tuple(np.asarray(action["share"]).tolist())))
        return self.env.step(action)


# -- interface ---------------------------------------------------------------------------------
def test_learn_reports_every_episode_and_act_returns_valid_raw_actions() -> None:
    env = small_env()
    agent = AIFAgent(env.scenario, seed=0, **SMALL)
    seen: list[tuple[int, dict[str, float]]] = []
    agent.learn(env, 3, seed=0, on_episode=lambda i, m: seen.append((i, m)))
    assert [i for i, _ in seen] == [0, 1, 2]
    assert all(m["n_tasks"] == 20 and "sum_reward" in m for _, m in seen)
    assert agent.episodes_trained == 3 and agent.buffer.size == 60
    assert agent.last_fit["steps"] > 0 and math.isfinite(agent.last_fit["loss"])
    for obs in observations(env):
        action = agent.act(obs, {})
        server, shares = env.validate_action(action)  # raises on anything invalid
        assert isinstance(action["server"], int) and 0 <= server < env.n_servers
        assert action["share"].dtype == np.float32 and action["share"].shape == (3,)
        assert all(0.0 <= s <= 1.0 for s in shares)
    metrics = evaluate_episode(agent, env, seed=5)
    assert metrics["n_tasks"] == 20


def test_act_is_deterministic_and_ignores_info() -> None:
    agent, env = trained_agent()
    for obs in observations(env, 3):
        first = agent.act(obs, {"action_mask": np.zeros(5, bool)})
        second = agent.act(obs, {})
        assert first["server"] == second["server"]
        np.testing.assert_array_equal(first["share"], second["share"])


def test_make_agent_builds_it_from_the_config_file_with_every_field() -> None:
    config = yaml.safe_load(CONF.read_text())
    assert config["_target_"] == "agents.aif.agent.AIFAgent"
    assert set(config) - {"_target_"} == AIFConfig.param_names()  # every one is in the file
    agent = make_agent(config, CloudEdgeEnv(n_tasks=5).scenario, seed=3)
    assert isinstance(agent, AIFAgent) and agent.seed == 3
    params = {k: v for k, v in config.items() if k != "_target_"}
    assert agent.config == AIFConfig.from_params(params)
    assert agent.config == AIFConfig()  # the file holds the defaults
    assert AIFConfig.from_params(agent.config.as_params()) == agent.config


def test_planner_settings_reach_the_planner_by_their_flat_names() -> None:
    agent = AIFAgent(small_env().scenario, seed=0, n_members=2, n_hidden=8, horizon=4,
                     n_iterations=2)  # fmt: skip
    assert agent.planner.config.horizon == 4 and agent.planner.config.n_iterations == 2
    assert agent.planner.config.n_candidates == PlannerConfig().n_candidates


def test_unknown_hyperparameter_is_rejected() -> None:
    with pytest.raises(TypeError):
        AIFAgent(small_env().scenario, seed=0, n_memberz=3)


# -- rewardless --------------------------------------------------------------------------------
def test_the_reward_never_matters() -> None:
    """Same seed, same environment seeds: identical actions whether the reward is real or
    noise, during training (seed and planned episodes) and after it."""
    runs = []
    for noisy in (False, True):
        env: gym.Env = small_env()
        if noisy:
            env = NoisyReward(env, seed=1)
        recorder = Recorder(env)
        agent = AIFAgent(small_env().scenario, seed=0, **SMALL)
        agent.learn(recorder, 3, seed=20)
        after = [agent.act(obs, {}) for obs in observations(small_env(), 3)]
        runs.append((recorder.actions, after))
    (train_a, after_a), (train_b, after_b) = runs
    assert len(train_a) == 60 and train_a == train_b
    for a, b in zip(after_a, after_b, strict=True):
        assert a["server"] == b["server"]
        np.testing.assert_array_equal(a["share"], b["share"])


# -- information gain --------------------------------------------------------------------------
def test_information_gain_is_zero_for_identical_members() -> None:
    p = torch.full((4, 7), 0.3)
    assert torch.allclose(bernoulli_information_gain(p), torch.zeros(7), atol=1e-6)
    mean = torch.randn(1, 3, 7).expand(4, -1, -1)
    var = torch.rand(1, 3, 7).add(0.1).expand(4, -1, -1)
    assert torch.allclose(gaussian_information_gain(mean, var), torch.zeros(7), atol=1e-6)
    full_mean = torch.randn(1, 5, 7).expand(4, -1, -1)
    full_var = torch.rand(1, 5, 7).add(0.1).expand(4, -1, -1)
    ig = outcome_information_gain(full_mean, full_var, p)
    assert torch.allclose(ig, torch.zeros(7), atol=1e-5)


def test_information_gain_grows_with_disagreement_and_matches_known_values() -> None:
    # Two members, certain and opposite: the outcome reveals the member, ln 2 nats.
    assert bernoulli_information_gain(torch.tensor([[0.0], [1.0]])).item() == pytest.approx(
        math.log(2.0), abs=1e-4
    )
    # N(-d, 1) and N(d, 1): moment-matched mixture variance 1 + d^2 -> 0.5 log(1 + d^2).
    gains = []
    for d in (0.0, 0.5, 1.0, 2.0):
        mean = torch.tensor([-d, d]).view(2, 1, 1)
        gains.append(gaussian_information_gain(mean, torch.ones(2, 1, 1)).item())
        assert gains[-1] == pytest.approx(0.5 * math.log(1.0 + d * d), abs=1e-6)
    assert gains == sorted(gains) and gains[0] == 0.0 and gains[-1] > 0.0
    # Same means, different variances still disagree.
    var = torch.tensor([0.5, 2.0]).view(2, 1, 1)
    assert gaussian_information_gain(torch.zeros(2, 1, 1), var).item() > 0.0
    # Gaussian outputs (observed on admission or completion) count as far as the task is
    # expected to complete.
    mean = torch.zeros(2, 5, 1)
    mean[:, 3, 0] = torch.tensor([-1.0, 1.0])
    var = torch.ones(2, 5, 1)
    never = outcome_information_gain(mean, var, torch.zeros(2, 1))
    always = outcome_information_gain(mean, var, torch.ones(2, 1))
    assert never.item() == pytest.approx(0.0, abs=1e-5)
    assert always.item() == pytest.approx(0.5 * math.log(2.0), abs=1e-5)


# -- planner -----------------------------------------------------------------------------------
class ToyPlanner(CEMPlanner):
    """CEM on a known score: best at server 2 with shares (0.2, 0.05, 0.6)."""

    target = torch.tensor([0.2, 0.05, 0.6])

    def score(self, obs: Any, server: Any, share: Any, snap: Any = None) -> Any:
        r = -(share - self.target).abs().sum(1) - (server != 2).float()
        return r, torch.zeros_like(r), r


def test_cem_finds_the_known_best_hybrid_action() -> None:
    model = EnsembleModel(5, n_members=2, n_hidden=8)
    planner = ToyPlanner(
        model,
        PlannerConfig(
            n_iterations=6, n_candidates=300, n_elites=50, expl_scale=1.0, init_share=0.5
        ),
        seed=0,
    )
    server, shares, info = planner.plan(np.zeros(35, np.float32))
    assert server == 2
    np.testing.assert_allclose(shares, ToyPlanner.target.numpy(), atol=0.02)
    assert info["score"] > -0.06


def zero_model(latency_s: float, pass_at_100: float) -> EnsembleModel:
    """Every member predicts p = 1/2, no change, latency L and pass@100 P: they agree."""
    model = EnsembleModel(5, n_members=3, n_hidden=16)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        model.target_norm.update(torch.tensor([[0.0, 0.0, 0.0, latency_s, pass_at_100]]))
        model.input_norm.update(torch.zeros(1, model.n_inputs))
    return model


@pytest.mark.parametrize("horizon", [1, 4, 32])
def test_score_is_eq_11_on_the_predictions_for_the_task_and_its_copies(horizon: int) -> None:
    """p = 1/2 (logit 0, which counts as completing) and no predicted consumption: every
    copy completes, so r2 = p * H * (1/L + P); identical members give r1 = 0."""
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    planner = CEMPlanner(model, PlannerConfig(horizon=horizon, expl_scale=1.0), seed=0)
    obs = torch.full((35,), 0.5)
    r, r1, r2 = planner.score(obs, torch.tensor([0, 3]), torch.full((2, 3), 0.1))
    expected = 0.5 * horizon * (1.0 / 4.0 + 0.2)
    assert torch.allclose(r2, torch.full((2,), expected), atol=1e-5)
    assert torch.allclose(r1, torch.zeros(2), atol=1e-5)
    assert torch.allclose(r, r2, atol=1e-5)


def test_copies_stop_when_the_imagined_server_runs_out() -> None:
    """A model that completes a task iff the remaining memory covers the request and that
    predicts a consumption of 0.1 memory: with 0.35 left and m = 0.1 the current task and
    copies 2 and 3 fit, copy 4 does not, so r2 = (1 + n) g with 2 <= n < 3 (n interpolates
    the logit between copies 3 and 4)."""
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    n_static = model.n_static
    with torch.no_grad():
        model.input_norm.update(torch.ones(2, model.n_inputs) * torch.tensor([[-1.0], [1.0]]))
        # Dynamic feature 5 is symlog((M_j - m) / scale); the logit rises steeply with it.
        model.hidden[0].weight[:, 0, n_static + 5] = 1.0
        model.head.weight[:, -1, 0] = 20.0
        model.head.bias[:, -1, 0] = -1.0
        model.head.bias[:, 2, 0] = -0.1 / model.target_norm.std[2]  # dM = -0.1
    planner = CEMPlanner(model, PlannerConfig(horizon=16, expl_scale=0.0), seed=0)
    obs = torch.zeros(35)
    obs[15:20] = 0.35  # remaining memory of every server
    _, _, r2 = planner.score(obs, torch.tensor([1]), torch.tensor([[0.05, 0.05, 0.1]]))
    copies = r2.item() / (1.0 / 4.0 + 0.2) - 1.0  # p = 1 here
    assert 2.0 <= copies < 3.0
    # Asking for more than remains: the task fails and so do its copies.
    _, _, r2 = planner.score(obs, torch.tensor([1]), torch.tensor([[0.05, 0.05, 0.5]]))
    assert r2.item() < 0.5 * (1.0 / 4.0 + 0.2)


# -- persistence -------------------------------------------------------------------------------
def test_save_load_round_trip_gives_identical_actions(tmp_path: Path) -> None:
    agent, env = trained_agent(seed=4)
    path = tmp_path / "aif.pt"
    agent.save(path)
    other = AIFAgent(env.scenario, seed=123, n_members=2, n_hidden=8)  # overwritten by load
    other.load(path)
    assert other.config == agent.config and other.seed == agent.seed
    assert other.episodes_trained == agent.episodes_trained
    for obs in observations(env):
        a, b = agent.act(obs, {}), other.act(obs, {})
        assert a["server"] == b["server"]
        np.testing.assert_array_equal(a["share"], b["share"])


def test_load_refuses_a_different_server_count(tmp_path: Path) -> None:
    agent, _ = trained_agent(episodes=1)
    path = tmp_path / "aif.pt"
    agent.save(path)
    scenario = small_env().scenario
    servers = tuple(dataclasses.replace(s, resource_share=1 / 3) for s in scenario.servers[:3])
    fewer = scenario.replace(servers=servers)
    with pytest.raises(ValueError, match="servers"):
        AIFAgent(fewer, seed=0, **SMALL).load(path)


# -- model and buffer --------------------------------------------------------------------------
def test_buffer_targets_are_the_chosen_servers_change_and_the_outcome() -> None:
    env = small_env()
    agent = AIFAgent(env.scenario, seed=0, **SMALL)
    obs, _ = env.reset(seed=3)
    actions = [
        {"server": 2, "share": np.array([0.1, 0.2, 0.3], np.float32)},  # completes
        {"server": 2, "share": np.array([0.1, 0.9, 0.3], np.float32)},  # more than remains
    ]
    outcomes = []
    for action in actions:
        next_obs, _, done, _, info = env.step(action)
        agent.buffer.add(obs, action, info["outcome"], next_obs, terminal=done)
        outcomes.append(info["outcome"])
        obs = next_obs
    data = agent.buffer.training_data(agent.model)
    y = dict(zip(TARGETS, data["y"][0].tolist(), strict=True))
    assert outcomes[0].completed and data["completed"][0] == 1.0
    assert y["d_compute"] == pytest.approx(-0.1, abs=1e-6)
    assert y["d_bandwidth"] == pytest.approx(-0.2, abs=1e-6)
    assert y["d_memory"] == pytest.approx(-0.3, abs=1e-6)
    assert y["latency_s"] == pytest.approx(outcomes[0].latency_s, rel=1e-5)
    assert y["pass_at_100"] == pytest.approx(outcomes[0].pass_at_100, rel=1e-5)
    assert data["y_mask"][0].all()
    # A refused task: nothing observed but the failure itself.
    assert not outcomes[1].completed and data["completed"][1] == 0.0
    assert not data["y_mask"][1].any()
    assert data["x"].shape == (2, agent.model.n_inputs)


def test_the_ensemble_scores_every_candidate_and_member_in_one_call() -> None:
    model = EnsembleModel(5, n_members=10, n_hidden=200)
    x = torch.randn(10, model.n_inputs, 500)
    with torch.no_grad():
        mean, logvar, logit = model(x)
    assert mean.shape == (10, 5, 500) and logit.shape == (10, 500)
    assert float(logvar.min()) >= model.min_logvar and float(logvar.max()) <= model.max_logvar
