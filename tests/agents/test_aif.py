"""The active-inference agent: interface, rewardlessness, information gain, planner, persistence."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from agents.aif import AIFAgent, AIFConfig
from agents.aif.agent import Buffer, kept_routing
from agents.aif.info_gain import (
    bernoulli_information_gain,
    gaussian_information_gain,
    outcome_information_gain,
)
from agents.aif.model import (
    N_DYNAMIC,
    N_SHARE,
    TARGETS,
    EnsembleModel,
    dynamic_columns,
    dynamic_features,
)
from agents.aif.planner import (
    REFERENCE_LEVELS,
    CEMPlanner,
    PlannerConfig,
    fill_places,
    overflow_values,
    ranked_demand,
)
from agents.base import HyperparameterError, check_hyperparameters, evaluate_episode, make_agent
from cloudedge import CloudEdgeEnv
from cloudedge.config import load_scenario
from cloudedge.metrics import rewardless_guidance
from cloudedge.observation import ObservationLayout

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
    """From the start of an episode (``attach``), equal observations give equal actions
    whatever ``info`` says; the warm start makes later actions depend on the episode so far,
    and replaying the episode's observations replays its actions."""
    agent, env = trained_agent()
    obs_seq = observations(env, 4)
    runs = []
    for info in ({"action_mask": np.zeros(5, bool)}, {}):
        agent.attach(env)
        runs.append([agent.act(obs, info) for obs in obs_seq])
    for first, second in zip(*runs, strict=True):
        assert first["server"] == second["server"]
        np.testing.assert_array_equal(first["share"], second["share"])


def test_two_runs_from_the_same_seed_are_identical() -> None:
    rewards = []
    for _ in range(2):
        agent, env = trained_agent(seed=2)
        rewards.append((agent.last_fit["loss"], evaluate_episode(agent, env, seed=7)))
    assert rewards[0] == rewards[1]


def test_make_agent_builds_it_from_the_config_file_with_every_field() -> None:
    config = yaml.safe_load(CONF.read_text())
    assert config["_target_"] == "agents.aif.agent.AIFAgent"
    assert set(config) - {"_target_"} == AIFConfig.param_names()  # every one is in the file
    agent = make_agent(config, CloudEdgeEnv(n_tasks=5).scenario, seed=3)
    assert isinstance(agent, AIFAgent) and agent.seed == 3
    params = {k: v for k, v in config.items() if k != "_target_"}
    assert agent.config == AIFConfig.from_params(params)
    assert agent.config == AIFConfig.from_params()  # the file is the defaults' one source
    assert AIFConfig.from_params(agent.config.as_params()) == agent.config


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"horizon": 0}, "agent.horizon = 0: allowed an integer in [1, 1024]"),
        ({"n_members": 2.5}, "agent.n_members"),
        ({"init_share": 1.0}, "agent.init_share = 1.0: allowed a number in (0, 1)"),
        ({"learning_rate": -1e-3}, "agent.learning_rate"),
        ({"seed_actions": "normal"}, "agent.seed_actions = 'normal': allowed one of 'prior'"),
        ({"warm_start": 1}, "agent.warm_start"),
        ({"n_elites": 65, "n_candidates": 64}, "agent.n_elites = 65: allowed 1..n_candidates"),
        ({"min_logvar": 0.0, "max_logvar": -1.0}, "agent.min_logvar"),
    ],
)
def test_hyperparameters_out_of_range_fail_at_construction(
    params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        AIFAgent(small_env().scenario, seed=0, **params)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "params",
    [{"max_logvar": 10.0}, {"min_logvar": 1.0}, {"server_smoothing": 0.0},
     {"n_members": 101}, {"warm_logit_std": 0.0}, {"copy_consumption": "all"}],
)  # fmt: skip
def test_the_harness_and_the_constructor_reject_the_same_values(params: dict[str, Any]) -> None:
    """One declaration: what make_agent's check refuses, AIFConfig refuses too (and the
    reverse), with the same message."""
    with pytest.raises(HyperparameterError) as by_harness:
        check_hyperparameters(AIFAgent, params)
    with pytest.raises(HyperparameterError) as by_constructor:
        AIFAgent(small_env().scenario, seed=0, **params)
    assert str(by_harness.value) == str(by_constructor.value)


def test_every_default_is_declared_and_allowed() -> None:
    defaults = AIFConfig.from_params().as_params()
    assert set(defaults) == set(AIFAgent.hyperparameters)
    check_hyperparameters(AIFAgent, defaults)


def test_an_integer_given_as_a_whole_float_builds_the_same_agent() -> None:
    assert AIFConfig.from_params({"horizon": 8.0}) == AIFConfig.from_params({"horizon": 8})
    assert type(AIFConfig.from_params({"horizon": 8.0}).planner.horizon) is int


def test_planner_settings_reach_the_planner_by_their_flat_names() -> None:
    agent = AIFAgent(small_env().scenario, seed=0, n_members=2, n_hidden=8, horizon=4,
                     n_iterations=2)  # fmt: skip
    assert agent.planner.config.horizon == 4 and agent.planner.config.n_iterations == 2
    assert agent.planner.config.n_candidates == AIFConfig.from_params().planner.n_candidates


def test_unknown_hyperparameter_is_rejected() -> None:
    with pytest.raises(TypeError):
        AIFAgent(small_env().scenario, seed=0, n_memberz=3)


# -- rewardless --------------------------------------------------------------------------------
@pytest.mark.parametrize("trial_routing", ["none", "fill"])
def test_the_reward_never_matters(trial_routing: str) -> None:
    """Same seed, same environment seeds: identical actions whether the reward is real or
    noise, during training (seed and planned episodes, a routing trial included) and after it."""
    runs = []
    trial = {"trial_routing": trial_routing, "routing_trial_episodes": 1}
    for noisy in (False, True):
        env: gym.Env = small_env()
        if noisy:
            env = NoisyReward(env, seed=1)
        recorder = Recorder(env)
        agent = AIFAgent(small_env().scenario, seed=0, **SMALL, **trial)
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
    rng = np.random.default_rng(0)
    p = np.full((4, 7), 0.3)
    np.testing.assert_allclose(bernoulli_information_gain(p), np.zeros(7), atol=1e-9)
    mean = np.broadcast_to(rng.normal(size=(1, 3, 7)), (4, 3, 7))
    var = np.broadcast_to(rng.random((1, 3, 7)) + 0.1, (4, 3, 7))
    np.testing.assert_allclose(gaussian_information_gain(mean, var), np.zeros(7), atol=1e-9)
    full_mean = np.broadcast_to(rng.normal(size=(1, 6, 7)), (4, 6, 7))
    full_var = np.broadcast_to(rng.random((1, 6, 7)) + 0.1, (4, 6, 7))
    ig = outcome_information_gain(full_mean, full_var, p)
    np.testing.assert_allclose(ig, np.zeros(7), atol=1e-9)


def test_information_gain_grows_with_disagreement_and_matches_known_values() -> None:
    # Two members, certain and opposite: the outcome reveals the member, ln 2 nats.
    assert bernoulli_information_gain(np.array([[0.0], [1.0]]))[0] == pytest.approx(
        math.log(2.0), abs=1e-4
    )
    # N(-d, 1) and N(d, 1): moment-matched mixture variance 1 + d^2 -> 0.5 log(1 + d^2).
    gains = []
    for d in (0.0, 0.5, 1.0, 2.0):
        mean = np.array([-d, d]).reshape(2, 1, 1)
        gains.append(float(gaussian_information_gain(mean, np.ones((2, 1, 1)))[0]))
        assert gains[-1] == pytest.approx(0.5 * math.log(1.0 + d * d), abs=1e-9)
    assert gains == sorted(gains) and gains[0] == 0.0 and gains[-1] > 0.0
    # Same means, different variances still disagree.
    var = np.array([0.5, 2.0]).reshape(2, 1, 1)
    assert gaussian_information_gain(np.zeros((2, 1, 1)), var)[0] > 0.0
    # Gaussian outputs (observed on admission or completion) count as far as the task is
    # expected to complete.
    mean = np.zeros((2, 6, 1))
    mean[:, 3, 0] = [-1.0, 1.0]
    var = np.ones((2, 6, 1))
    never = outcome_information_gain(mean, var, np.zeros((2, 1)))
    always = outcome_information_gain(mean, var, np.ones((2, 1)))
    assert never[0] == pytest.approx(0.0, abs=1e-5)
    assert always[0] == pytest.approx(0.5 * math.log(2.0), abs=1e-5)


# -- planner -----------------------------------------------------------------------------------
LAYOUT = ObservationLayout(5)


def planner_config(**overrides: Any) -> PlannerConfig:
    """The planner's config with our settings off unless asked (these tests check the
    paper's mechanics; held_release, bandwidth_follows_compute, the copies' floored
    consumption, typical imagined tasks, the latency floor, the previous grant tried
    everywhere, the places within slots, the episode's turnover window and whole places have
    tests of their own): copies of the task take what the model predicts."""
    paper = {
        "held_release": False,
        "bandwidth_follows_compute": False,
        "copy_consumption": "predicted",
        "imagined_tasks": "copies",
        "floor_at_seen": False,
        "previous_grant_everywhere": False,
        "places_within_slots": False,
        "own_demand_share": 1.0,
        "demand_share_scope": "copies",
        "turnover_window": "horizon",
        "whole_places": False,
    }
    return AIFConfig.from_params({**paper, **overrides}).planner


def tiny_model(n_members: int = 3, n_hidden: int = 16) -> EnsembleModel:
    return EnsembleModel(5, n_members, n_hidden, 1, -5.0, -1.0, 1e-3)


class ToyPlanner(CEMPlanner):
    """CEM on a known score: best at server 2 with shares (0.2, 0.05, 0.6)."""

    target = np.array([0.2, 0.05, 0.6])

    def score(self, decision: Any, server: Any, share: Any) -> Any:
        r = -np.abs(share - self.target).sum(1) - (server != 2)
        return r, np.zeros_like(r), r


def test_cem_finds_the_known_best_hybrid_action() -> None:
    config = planner_config(
        n_iterations=6, n_candidates=300, n_elites=50, expl_scale=1.0, init_share=0.5
    )
    planner = ToyPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0)
    server, shares, info = planner.plan(np.zeros(LAYOUT.size, np.float32))
    assert server == 2
    np.testing.assert_allclose(shares, ToyPlanner.target, atol=0.02)
    assert info["score"] > -0.06


def test_warm_start_refines_from_the_previous_decision_and_reset_forgets_it() -> None:
    """With one iteration of few candidates, a cold start lands far from the best shares;
    warm-started decisions on the same task close in on them; reset starts cold again."""
    config = planner_config(n_iterations=1, n_candidates=40, n_elites=4, init_share=0.5)
    planner = ToyPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0)
    obs = np.zeros(LAYOUT.size, np.float32)
    errors = []
    for _ in range(8):
        server, shares, _ = planner.plan(obs)
        errors.append(np.abs(shares - ToyPlanner.target).sum() + (server != 2))
    assert errors[-1] < 0.8 * errors[0]
    planner.reset()
    server, shares, _ = planner.plan(obs)
    assert np.abs(shares - ToyPlanner.target).sum() + (server != 2) == errors[0]


def test_memory_floor_grants_at_least_the_need_on_the_chosen_server() -> None:
    """With ``memory_floor`` (the default, the DRL wrappers' rule) the planned memory share is
    ``max(sigmoid(z_m), need_j)``: a best share below the need is raised to it exactly; without
    it the planner returns the free share."""
    obs = np.zeros(LAYOUT.size, np.float32)
    need = np.full(5, 0.01)
    need[2] = 0.8  # above the toy's best memory share, 0.6
    obs[LAYOUT.block_slice("memory_need")] = need
    config = planner_config(
        n_iterations=6, n_candidates=300, n_elites=50, expl_scale=1.0, init_share=0.5
    )
    assert config.memory_floor
    server, shares, _ = ToyPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0).plan(obs)
    assert server == 2 and shares[2] == np.float32(0.8)
    free = dataclasses.replace(config, memory_floor=False)
    server, shares, _ = ToyPlanner(tiny_model(2, 8), free, n_tasks=100, seed=0).plan(obs)
    assert server == 2 and abs(shares[2] - 0.6) < 0.02


def test_grant_within_remaining_caps_compute_and_bandwidth_at_what_is_left() -> None:
    """The toy's best compute share is 0.2; with 0.1 of compute left on every server the
    capped planner grants exactly 0.1 (the bandwidth, 0.05, is below what is left and stays);
    uncapped it asks for 0.2. Seed actions are capped alike."""
    obs = np.zeros(LAYOUT.size, np.float32)
    obs[LAYOUT.block_slice("compute")] = 0.1
    obs[LAYOUT.block_slice("bandwidth")] = 1.0
    config = planner_config(
        n_iterations=6, n_candidates=300, n_elites=50, expl_scale=1.0, init_share=0.5
    )
    capped = dataclasses.replace(config, grant_within_remaining=True)
    server, shares, _ = ToyPlanner(tiny_model(2, 8), capped, n_tasks=100, seed=0).plan(obs)
    assert server == 2 and shares[0] == np.float32(0.1) and abs(shares[1] - 0.05) < 0.02
    _, shares, _ = ToyPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0).plan(obs)
    assert abs(shares[0] - 0.2) < 0.02
    # q(pi) after the plan: refit to the grants, its compute logit stays within what is left;
    # refit to the requests (all above 0.1 grant 0.1), it sits above.
    cap = math.log(0.1 / 0.9)
    for refit_to_grants in (True, False):
        planner = ToyPlanner(
            tiny_model(2, 8),
            dataclasses.replace(capped, refit_to_grants=refit_to_grants),
            n_tasks=100,
            seed=0,
        )
        planner.plan(obs)
        assert planner._warm is not None
        assert (planner._warm[0][2, 0] <= cap + 1e-9) == refit_to_grants
    env = small_env()
    agent = AIFAgent(env.scenario, seed=0, **SMALL, grant_within_remaining=True)
    rng = np.random.default_rng(0)
    for obs in observations(env):
        for _ in range(20):
            action = agent.random_action(rng, obs)
            left = LAYOUT.remaining(obs)[action["server"]]
            assert np.all(action["share"][:2] <= left[:2].astype(np.float32))


class FitPlanner(CEMPlanner):
    """CEM on a known score: the compute share granted if it fits what the server has left,
    -1 (refused) if it asks for more."""

    def score(self, decision: Any, server: Any, share: Any) -> Any:
        fits = share[:, 0] <= decision.remaining[server, 0]
        r = np.where(fits, share[:, 0], -1.0)
        return r, np.zeros_like(r), r


def test_feasible_candidates_find_a_grant_on_a_nearly_full_server() -> None:
    """q(pi) asks for about 0.5 of compute on every server, which has 0.04 left: every sampled
    candidate is refused. With ``feasible_candidates`` the first iteration also scores q(pi)'s
    mean lowered to what is left minus ``feasible_margin`` (memory too, 0.05 left; bandwidth
    has room and keeps q(pi)'s 0.5), and that grant is chosen."""
    obs = np.zeros(LAYOUT.size, np.float32)
    obs[LAYOUT.block_slice("compute")] = 0.04
    obs[LAYOUT.block_slice("bandwidth")] = 1.0
    obs[LAYOUT.block_slice("memory")] = 0.05
    config = planner_config(
        n_iterations=2, n_candidates=16, n_elites=4, init_share=0.5, init_logit_std=0.01
    )
    _, shares, info = FitPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0).plan(obs)
    assert info["score"] == -1.0 and shares[0] > 0.45
    feasible = dataclasses.replace(config, feasible_candidates=True, feasible_margin=0.002)
    _, shares, info = FitPlanner(tiny_model(2, 8), feasible, n_tasks=100, seed=0).plan(obs)
    np.testing.assert_allclose(shares, [0.038, 0.5, 0.048], atol=2e-3)
    assert shares[0] == pytest.approx(0.038, abs=1e-6)
    assert info["score"] == pytest.approx(0.038, abs=1e-6)


class RecordingFitPlanner(FitPlanner):
    """FitPlanner that keeps the servers of every batch of candidates it scores."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scored: list[np.ndarray] = []

    def score(self, decision: Any, server: Any, share: Any) -> Any:
        self.scored.append(np.array(server))
        return super().score(decision, server, share)


class RecordingToyPlanner(ToyPlanner):
    """ToyPlanner that keeps every batch of candidates it scores."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scored: list[tuple[np.ndarray, np.ndarray]] = []

    def score(self, decision: Any, server: Any, share: Any) -> Any:
        self.scored.append((np.array(server), np.array(share)))
        return super().score(decision, server, share)


def test_previous_grant_everywhere_scores_the_last_choice_on_every_other_server() -> None:
    """After a decision, the next one's first iteration also scores the chosen shares on each
    other server (once each, after the sampled candidates); later iterations and the first
    decision of an episode do not."""
    n_candidates = 12
    config = planner_config(
        n_iterations=2, n_candidates=n_candidates, n_elites=3, previous_grant_everywhere=True
    )
    planner = RecordingToyPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0)
    obs = np.zeros(LAYOUT.size, np.float32)
    chosen, shares, _ = planner.plan(obs)
    assert [len(server) for server, _ in planner.scored] == [n_candidates] * 2
    planner.scored.clear()
    planner.plan(obs)
    (first, first_shares), (second, _) = planner.scored
    assert first[n_candidates:].tolist() == [j for j in range(5) if j != chosen]
    np.testing.assert_allclose(first_shares[n_candidates:], np.tile(shares, (4, 1)), atol=1e-6)
    assert len(second) == n_candidates
    planner.reset()
    planner.scored.clear()
    planner.plan(obs)
    assert len(planner.scored[0][0]) == n_candidates


def two_nearly_full_servers() -> np.ndarray:
    """Servers 0 and 1 have 0.04 of compute left, servers 2-4 all of it; bandwidth and memory
    are free everywhere."""
    obs = np.zeros(LAYOUT.size, np.float32)
    obs[LAYOUT.block_slice("compute")] = [0.04, 0.04, 1.0, 1.0, 1.0]
    obs[LAYOUT.block_slice("bandwidth")] = 1.0
    obs[LAYOUT.block_slice("memory")] = 1.0
    return obs


@pytest.mark.parametrize("scope", ["all", "stranded"])
def test_feasible_scope_rescues_only_servers_where_no_request_fits(scope: str) -> None:
    """q(pi) asks for about 0.5 of compute; servers 0 and 1 have 0.04 left (every request
    there is refused), servers 2-4 have all. ``"all"`` adds a lowered candidate on every
    server, ``"stranded"`` only on servers 0 and 1; either way server 2-4's 0.5 wins."""
    obs = two_nearly_full_servers()
    n_candidates = 40
    config = planner_config(
        n_iterations=2,
        n_candidates=n_candidates,
        n_elites=4,
        init_share=0.5,
        init_logit_std=0.01,
        feasible_candidates=True,
        feasible_scope=scope,
    )
    planner = RecordingFitPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0)
    server, shares, _ = planner.plan(obs)
    first = planner.scored[0]
    assert np.all(np.bincount(first[:n_candidates], minlength=5) > 0)  # every server sampled
    expected = [0, 1, 2, 3, 4] if scope == "all" else [0, 1]
    assert first[n_candidates:].tolist() == expected
    assert len(planner.scored[1]) == n_candidates  # only the first iteration gets them
    assert server >= 2 and shares[0] == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(("min_share", "expected"), [(0.03, [0, 1]), (0.05, [])])
def test_feasible_min_share_skips_grants_below_it(min_share: float, expected: list[int]) -> None:
    """Servers 0 and 1 have 0.04 of compute left, so their lowered candidate would grant
    0.038: kept above a floor of 0.03, dropped below one of 0.05."""
    obs = two_nearly_full_servers()
    config = planner_config(
        n_iterations=1,
        n_candidates=40,
        n_elites=4,
        init_share=0.5,
        init_logit_std=0.01,
        feasible_candidates=True,
        feasible_scope="stranded",
        feasible_min_share=min_share,
    )
    planner = RecordingFitPlanner(tiny_model(2, 8), config, n_tasks=100, seed=0)
    planner.plan(obs)
    assert planner.scored[0][40:].tolist() == expected


def test_refuse_predicted_failure_grants_nothing_to_a_task_predicted_to_fail() -> None:
    """The memory model completes a task iff the memory left covers its request: with none left
    every candidate fails, so the planner refuses (all shares 0); with 0.95 left it grants."""
    config = planner_config(horizon=4, refuse_predicted_failure=True)
    planner = CEMPlanner(memory_model(4.0, 0.01), config, 100)
    obs = np.zeros(LAYOUT.size)
    obs[LAYOUT.task_index("tasks_left")] = 1.0
    _, shares, info = planner.plan(obs)
    assert np.all(shares == 0.0) and info["p"] < 0.5
    obs[LAYOUT.block_slice("memory")] = 0.95
    planner.reset()
    _, shares, info = planner.plan(obs)
    assert shares[2] > 0.0 and info["p"] >= 0.5


def test_planned_and_seed_actions_never_ask_for_less_memory_than_the_need() -> None:
    agent, env = trained_agent()
    rng = np.random.default_rng(0)
    for obs in observations(env):
        need = LAYOUT.block(obs, "memory_need")
        for action in (agent.act(obs, {}), agent.random_action(rng, obs)):
            assert action["share"][2] >= np.float32(min(need[action["server"]], 1.0))


def zero_model(latency_s: float, pass_at_100: float, hold_s: float = 4.0) -> EnsembleModel:
    """Every member predicts p = 1/2, no change, latency L, pass@100 P and hold: they agree."""
    model = tiny_model()
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        target = torch.tensor([[0.0, 0.0, 0.0, latency_s, pass_at_100, hold_s]])
        model.target_norm.update(target.double())
        model.input_norm.update(torch.zeros(1, model.n_inputs, dtype=torch.float64))
    return model


@pytest.mark.parametrize("horizon", [1, 4, 32])
def test_score_is_eq_11_on_the_predictions_for_the_task_and_its_copies(horizon: int) -> None:
    """p = 1/2 (logit 0, which counts as completing) and no predicted consumption: every
    copy completes, so r2 = p * H * (1/L + P); identical members give r1 = 0."""
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    planner = CEMPlanner(model, planner_config(horizon=horizon, expl_scale=1.0), n_tasks=100)
    decision = planner.decision(np.full(LAYOUT.size, 0.5))  # 50 tasks left
    r, r1, r2 = planner.score(decision, np.array([0, 3]), np.full((2, 3), 0.1))
    expected = 0.5 * horizon * (1.0 / 4.0 + 0.2)
    np.testing.assert_allclose(r2, [expected, expected], atol=1e-9)
    np.testing.assert_allclose(r1, [0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(r, r2, atol=1e-9)
    # Near the episode's end only the tasks left are imagined: 3 left, the task and 2 copies.
    obs = np.full(LAYOUT.size, 0.5)
    obs[LAYOUT.task_index("tasks_left")] = 0.03
    _, _, r2 = planner.score(planner.decision(obs), np.array([0]), np.full((1, 3), 0.1))
    assert r2[0] == pytest.approx(0.5 * min(horizon, 3) * (1.0 / 4.0 + 0.2))


def test_value_pessimism_lowers_the_score_where_members_disagree() -> None:
    """Member 0 predicts pass@100 0.3, the other two 0.2: r2 is the members' mean of
    p * H * (1/L + P_b), less ``value_pessimism`` times its spread; agreeing members lose
    nothing."""
    config = planner_config(horizon=4, expl_scale=0.0, value_pessimism=1.0)
    agree = CEMPlanner(zero_model(latency_s=4.0, pass_at_100=0.2), config, n_tasks=100)
    obs = np.full(LAYOUT.size, 0.5)
    _, _, r2 = agree.score(agree.decision(obs), np.array([0]), np.full((1, 3), 0.1))
    assert r2[0] == pytest.approx(0.5 * 4 * (0.25 + 0.2))
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    with torch.no_grad():
        model.head.bias[0, 4] = 10.0  # normalised: + 10 target stds (0.01) of pass@100
    per_member = 0.5 * 4 * (0.25 + np.array([0.3, 0.2, 0.2]))
    for pessimism, expected in [
        (0.0, per_member.mean()),
        (1.0, per_member.mean() - per_member.std()),
    ]:
        planner = CEMPlanner(model, dataclasses.replace(config, value_pessimism=pessimism), 100)
        _, _, r2 = planner.score(planner.decision(obs), np.array([0]), np.full((1, 3), 0.1))
        assert r2[0] == pytest.approx(expected)


def memory_model(hold_s: float, mean_gap_s: float) -> EnsembleModel:
    """Completes a task iff the remaining memory covers the request; predicts a consumption
    of 0.1 memory and a hold of ``hold_s``; has seen arrivals ``mean_gap_s`` apart."""
    model = zero_model(latency_s=4.0, pass_at_100=0.2, hold_s=hold_s)
    first = model.n_context + N_SHARE  # dynamic features start here
    assert N_DYNAMIC == 8
    with torch.no_grad():
        ones = torch.ones(2, model.n_inputs, dtype=torch.float64)
        model.input_norm.update(ones * torch.tensor([[-1.0], [1.0]], dtype=torch.float64))
        # Dynamic feature 5 is symlog((M_j - m) / scale); the logit rises steeply with it.
        model.hidden[0].weight[:, 0, first + 5] = 1.0
        model.head.weight[:, -1, 0] = 20.0
        model.head.bias[:, -1, 0] = -1.0
        model.head.bias[:, 2, 0] = -0.1 / model.target_norm.std[2]  # dM = -0.1
    model.record_gap(mean_gap_s)
    return model


def copies_of(
    planner: CEMPlanner, memory_share: float, wait: float = 0.0, need: float = 0.0
) -> float:
    obs = np.zeros(LAYOUT.size)
    obs[LAYOUT.block_slice("memory")] = 0.35  # remaining memory of every server
    obs[LAYOUT.block_slice("wait")] = wait  # > 0: every compute slot busy
    obs[LAYOUT.block_slice("memory_need")] = need  # the task's need on every server
    obs[LAYOUT.task_index("tasks_left")] = 1.0
    share = np.array([[0.05, 0.05, memory_share]])
    _, _, r2 = planner.score(planner.decision(obs), np.array([1]), share)
    return r2[0] / (1.0 / 4.0 + 0.2) - 1.0  # p = 1 here


def test_copies_stop_when_the_imagined_server_runs_out() -> None:
    """A burst (arrivals 0.01 s apart, holds of 4 s): nothing comes back within the horizon.
    With 0.35 left and m = 0.1 the task and copies 2 and 3 fit, copy 4 does not, so
    r2 = (1 + n) g with 2 <= n < 3 (n interpolates the logit between copies 3 and 4)."""
    planner = CEMPlanner(memory_model(4.0, 0.01), planner_config(horizon=16, expl_scale=0.0), 100)
    assert 2.0 <= copies_of(planner, 0.1) < 3.0
    # Asking for more than remains: the task fails and so do its copies.
    assert copies_of(planner, 0.5) < 0.5 - 1.0


def test_imagined_releases_let_more_copies_complete_at_a_lower_arrival_rate() -> None:
    """Arrivals 1 s apart, holds of 4 s: over the 15 s the 15 copies span, each of the ~2.5
    places on the server turns over 15 / 4 times: about 2.5 * 3.75 copies complete; with
    holds of 0.5 s every copy does."""
    config = planner_config(horizon=16, expl_scale=0.0)
    burst = copies_of(CEMPlanner(memory_model(4.0, 0.01), config, 100), 0.1)
    slow = copies_of(CEMPlanner(memory_model(4.0, 1.0), config, 100), 0.1)
    assert slow == pytest.approx(burst * 15 / 4.0, rel=1e-6)
    assert copies_of(CEMPlanner(memory_model(0.5, 1.0), config, 100), 0.1) == pytest.approx(15)


def test_places_within_slots_caps_the_places_before_they_turn_over() -> None:
    """Arrivals 1 s apart, holds of 4 s, ~2.5 places by memory (as above). With 2 compute
    slots a server holds the task and one more at once: 1 place, turned over 15 / 4 times;
    with 4 slots the ~2.5 places fit and the count is unchanged; off, slots are ignored."""
    config = planner_config(horizon=16, expl_scale=0.0)
    capped = dataclasses.replace(config, places_within_slots=True)
    model = memory_model(4.0, 1.0)
    free = copies_of(CEMPlanner(model, config, 100), 0.1)
    two = [2] * LAYOUT.n_servers
    assert copies_of(CEMPlanner(model, capped, 100, slots=two), 0.1) == pytest.approx(15 / 4.0)
    four = [4] * LAYOUT.n_servers
    assert copies_of(CEMPlanner(model, capped, 100, slots=four), 0.1) == pytest.approx(free)
    assert copies_of(CEMPlanner(model, config, 100, slots=two), 0.1) == pytest.approx(free)
    with pytest.raises(ValueError, match="slots"):
        CEMPlanner(model, capped, 100, slots=[2])


def test_floored_consumption_counts_at_least_the_grant_less_the_releases_in_a_gap() -> None:
    """The model predicts that a task takes 0.1 of memory whatever it asks. Under a burst
    (nothing released between arrivals) a request of 0.2 with 0.35 left takes its 0.2: copy
    2 does not fit (by the prediction it does; counts below 1 are the logit interpolated
    towards the failing copy); a request of 0.05 keeps the prediction's 0.1.
    At arrivals 1 s apart with holds of 4 s, what the server holds (0.65) gives back about
    0.16 a gap, so 0.2 counts at the prediction's 0.1 again."""
    config = planner_config(horizon=16, expl_scale=0.0)
    floored = dataclasses.replace(config, copy_consumption="floored")
    burst = memory_model(4.0, 0.01)
    assert 1.0 <= copies_of(CEMPlanner(burst, config, 100), 0.2) < 2.0
    assert copies_of(CEMPlanner(burst, floored, 100), 0.2) < 1.0  # copy 2 fails
    assert copies_of(CEMPlanner(burst, floored, 100), 0.05) == pytest.approx(
        copies_of(CEMPlanner(burst, config, 100), 0.05), rel=1e-9
    )
    stream = memory_model(4.0, 1.0)
    assert copies_of(CEMPlanner(stream, floored, 100), 0.2) == pytest.approx(
        copies_of(CEMPlanner(stream, config, 100), 0.2), rel=1e-9
    )


def test_granted_consumption_counts_the_copies_by_the_shares_they_ask_for() -> None:
    """The model predicts that a task takes 0.1 of memory whatever it asks. Asking for 0.05
    with 0.35 left: by the prediction the task and copies 2 and 3 fit (copy 4 would leave 0.05,
    no margin); by the grant (``copy_consumption: granted``) copies 2 to 6 do. Asking for the
    0.1 the model predicts, both count alike."""
    config = planner_config(horizon=16, expl_scale=0.0)
    granted = dataclasses.replace(config, copy_consumption="granted")
    model = memory_model(4.0, 0.01)  # a burst: nothing comes back within the horizon
    assert 2.0 <= copies_of(CEMPlanner(model, config, 100), 0.05) < 3.0
    assert 5.0 <= copies_of(CEMPlanner(model, granted, 100), 0.05) < 6.0
    assert copies_of(CEMPlanner(model, granted, 100), 0.1) == pytest.approx(
        copies_of(CEMPlanner(model, config, 100), 0.1), rel=1e-9
    )


@pytest.mark.parametrize("gap_s", [0.01, 1.0])
def test_net_consumption_counts_releases_only_in_the_predicted_change(gap_s: float) -> None:
    """``copy_consumption: net`` reads the model's 0.1 a task as the stream's net change
    between arrivals, releases included: with 0.35 left the task and copies 2 and 3 fit at any
    arrival rate, and neither the turnover nor the held room adds places (releases counted
    once). ``predicted`` at g = 1 s counts them again (the turnover's 15 / 4)."""
    config = planner_config(horizon=16, expl_scale=0.0)
    net = dataclasses.replace(config, copy_consumption="net")
    model = memory_model(4.0, gap_s)
    copies = copies_of(CEMPlanner(model, net, 100), 0.1)
    assert 2.0 <= copies < 3.0
    held = dataclasses.replace(net, held_release=True)
    assert copies_of(CEMPlanner(model, held, 100), 0.1) == copies
    predicted = copies_of(CEMPlanner(model, config, 100), 0.1)
    assert predicted == pytest.approx(copies * max(1.0, 15 * gap_s / 4.0), rel=1e-6)


def test_an_episode_turnover_window_counts_a_shorter_hold_as_more_copies() -> None:
    """Arrivals 0.1 s apart: the 15 copies of a 16-task horizon span 1.5 s, within which
    neither a 2 s nor a 4 s hold ends, so both count the ~2.5 places by memory alone. Over the
    episode's 99 tasks left (9.9 s) the places turn over 9.9 / hold times: the 2 s hold counts
    twice the copies of the 4 s one. A 0.05 s hold serves every task: H - 1 = 15 in the
    horizon's window, the 99 left in the episode's. Under a burst (0.01 s apart) both windows
    end before any hold, and the counts agree."""
    horizon = planner_config(horizon=16, expl_scale=0.0)
    episode = dataclasses.replace(horizon, turnover_window="episode")
    slow, fast = memory_model(4.0, 0.1), memory_model(2.0, 0.1)
    places = copies_of(CEMPlanner(slow, horizon, 100), 0.1)
    assert 2.0 <= places < 3.0
    assert copies_of(CEMPlanner(fast, horizon, 100), 0.1) == pytest.approx(places, rel=1e-9)
    assert copies_of(CEMPlanner(slow, episode, 100), 0.1) == pytest.approx(places * 9.9 / 4.0)
    assert copies_of(CEMPlanner(fast, episode, 100), 0.1) == pytest.approx(places * 9.9 / 2.0)
    instant = memory_model(0.05, 0.1)
    assert copies_of(CEMPlanner(instant, horizon, 100), 0.1) == pytest.approx(15.0)
    assert copies_of(CEMPlanner(instant, episode, 100), 0.1) == pytest.approx(99.0)
    burst = memory_model(4.0, 0.01)
    assert copies_of(CEMPlanner(burst, episode, 100), 0.1) == pytest.approx(
        copies_of(CEMPlanner(burst, horizon, 100), 0.1), rel=1e-9
    )


@pytest.mark.parametrize("gap_s", [0.01, 0.1, 1.0])
def test_held_release_adds_the_room_earlier_tasks_free_within_the_horizon(gap_s: float) -> None:
    """0.35 of memory remains, so earlier tasks hold 0.65: room for 6.5 copies of m = 0.1
    (compute and bandwidth are predicted unconsumed, so they bound nothing). Released evenly
    over the 4 s hold, min(1, 15 g / 4) of it is back within the 15 copies' span: under a burst
    almost none, at g = 1 s all. The copies' own turnover (15 g / 4 at g = 1 s) multiplies
    every place alike, and the copies stay capped at H - 1 = 15."""
    config = planner_config(horizon=16, expl_scale=0.0)
    held = dataclasses.replace(config, held_release=True)
    model = memory_model(4.0, gap_s)
    without = copies_of(CEMPlanner(model, config, 100), 0.1)
    with_held = copies_of(CEMPlanner(model, held, 100), 0.1)
    turnover = max(1.0, 15 * gap_s / 4.0)
    expected = without + 6.5 * min(1.0, 15 * gap_s / 4.0) * turnover
    assert with_held == pytest.approx(min(expected, 15.0), rel=1e-6)
    assert with_held > without


def test_held_room_by_grant_counts_the_room_in_the_shares_a_copy_reserves() -> None:
    """Earlier tasks hold 0.65 of memory (and all of compute and bandwidth); at arrivals 0.1 s
    apart with holds of 4 s, 1.5 / 4 of it is back within the 15 copies' span. A request of
    0.2 memory: ``held_room: copy`` makes room for 0.65 / 0.1 copies (the model's 0.1 a task),
    ``grant`` for 0.65 / 0.2 (what each copy reserves; compute at 0.05 binds later, 1 / 0.05).
    A request of the 0.1 the model predicts counts alike."""
    config = planner_config(horizon=16, expl_scale=0.0)
    by_copy = dataclasses.replace(config, held_release=True)
    by_grant = dataclasses.replace(by_copy, held_room="grant")
    model = memory_model(4.0, 0.1)
    without = copies_of(CEMPlanner(model, config, 100), 0.2)
    back = 1.5 / 4.0
    assert copies_of(CEMPlanner(model, by_copy, 100), 0.2) == pytest.approx(
        without + 0.65 / 0.1 * back, rel=1e-6
    )
    assert copies_of(CEMPlanner(model, by_grant, 100), 0.2) == pytest.approx(
        without + 0.65 / 0.2 * back, rel=1e-6
    )
    assert copies_of(CEMPlanner(model, by_grant, 100), 0.1) == pytest.approx(
        copies_of(CEMPlanner(model, by_copy, 100), 0.1), rel=1e-9
    )


def test_held_room_by_grant_unless_slots_full_counts_by_the_copy_where_a_task_would_wait() -> None:
    """``grant_unless_slots_full`` counts the held room by the grant on a server with a free
    compute slot (the observation's wait is 0) and by the copy's consumption where every slot
    is busy (wait > 0: slots, not shares, bind there)."""
    config = planner_config(horizon=16, expl_scale=0.0, held_release=True)
    model = memory_model(4.0, 0.1)
    copies = {}
    for room in ("copy", "grant", "grant_unless_slots_full"):
        planner = CEMPlanner(model, dataclasses.replace(config, held_room=room), 100)
        for wait in (0.0, 0.2):
            copies[room, wait] = copies_of(planner, 0.2, wait)
    assert copies["copy", 0.0] > copies["grant", 0.0]
    assert copies["copy", 0.2] > copies["grant", 0.2]
    assert copies["grant_unless_slots_full", 0.0] == copies["grant", 0.0]
    assert copies["grant_unless_slots_full", 0.2] == copies["copy", 0.2]


def test_typical_imagined_tasks_need_the_mean_need_seen_in_training() -> None:
    """A burst, 0.35 of memory left and a task that needs (and asks for) 0.2. As copies of it
    (``imagined_tasks: copies``), each taking its 0.2 (the floored consumption), copy 2 finds
    0.15 and does not fit. As typical tasks of the 0.05 seen in training (``typical``), each
    asking for 0.05 and taking it (the model's 0.1 scaled by 0.05 / 0.2, floored at the
    grant), copies 2, 3 and 4 fit after the task's own 0.2 and copy 5 does not. A task of the
    typical need counts alike either way."""
    config = planner_config(horizon=16, expl_scale=0.0, copy_consumption="floored")
    typical = dataclasses.replace(config, imagined_tasks="typical")
    model = memory_model(4.0, 0.01)
    model.record_need(np.full(LAYOUT.n_servers, 0.05))
    assert copies_of(CEMPlanner(model, config, 100), 0.2, need=0.2) < 1.0
    assert 3.0 <= copies_of(CEMPlanner(model, typical, 100), 0.2, need=0.2) < 4.0
    assert copies_of(CEMPlanner(model, typical, 100), 0.05, need=0.05) == pytest.approx(
        copies_of(CEMPlanner(model, config, 100), 0.05, need=0.05), rel=1e-9
    )
    # Before any training episode there is no typical need: the copies are the task's own.
    untrained = memory_model(4.0, 0.01)
    assert copies_of(CEMPlanner(untrained, typical, 100), 0.2, need=0.2) == copies_of(
        CEMPlanner(untrained, config, 100), 0.2, need=0.2
    )


def room_observation(memory_left: float) -> np.ndarray:
    """Every server with all its compute and bandwidth and ``memory_left`` of its memory."""
    obs = np.zeros(LAYOUT.size)
    obs[LAYOUT.block_slice("compute")] = 1.0
    obs[LAYOUT.block_slice("bandwidth")] = 1.0
    obs[LAYOUT.block_slice("memory")] = memory_left
    obs[LAYOUT.task_index("tasks_left")] = 1.0
    return obs


def test_admission_rule_refuses_what_does_not_fit_and_caps_the_copies() -> None:
    """Every member predicts completion (p = 1/2) and no consumption whatever is asked, so by
    the model alone a request of 0.5 memory with 0.35 left completes with its 15 copies. With
    ``check_admission`` it completes with probability 0, and a request of 0.1 (each copy
    taking its 0.1: floored consumption under a burst) counts the copies that still fit after
    it: x = (0.35 - 0.1 - 0.1) / 0.1 = 1.5, counted continuously as 2.5."""
    config = planner_config(horizon=16, expl_scale=0.0, copy_consumption="floored")
    checked = dataclasses.replace(config, check_admission=True)
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    per_task = 0.5 * (1.0 / 4.0 + 0.2)
    obs = room_observation(0.35)
    for share, unchecked_r2, checked_r2 in [
        (0.5, per_task * 16, 0.0),
        (0.1, per_task * 16, per_task * (1.0 + 2.5)),
    ]:
        grant = np.array([[0.05, 0.05, share]])
        for cfg, expected in [(config, unchecked_r2), (checked, checked_r2)]:
            planner = CEMPlanner(model, cfg, 100)
            _, _, r2 = planner.score(planner.decision(obs), np.array([1]), grant)
            assert r2[0] == pytest.approx(expected, rel=1e-5)  # the rule's 1e-6 tolerance


def test_memory_admission_drops_a_server_whose_memory_left_is_below_the_need() -> None:
    """As in the admission test, every member predicts completion whatever is asked. With
    0.35 of memory left, a task needing 0.4 there cannot be admitted at any grant (the memory
    share is floored at the need), so under ``memory_admission`` every candidate scores 0; a
    task needing 0.3 scores as without the rule, also with compute asked above what is left
    (that part of the rule is ``check_admission``'s)."""
    config = planner_config(horizon=16, expl_scale=0.0, copy_consumption="floored")
    assert config.memory_floor
    checked = dataclasses.replace(config, memory_admission=True)
    unfloored = dataclasses.replace(checked, memory_floor=False)
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    grant = np.array([[0.05, 0.05, 0.1], [0.5, 0.05, 0.1], [0.05, 0.05, 0.45]])
    server = np.array([1, 1, 1])
    for need in (0.4, 0.3):
        obs = room_observation(0.35)
        obs[LAYOUT.block_slice("compute")] = 0.3
        obs[LAYOUT.block_slice("memory_need")] = need
        plain = CEMPlanner(model, config, 100)
        _, _, expected = plain.score(plain.decision(obs), server, grant)
        assert (expected > 0.0).all()
        for cfg, zero in [(checked, need > 0.35), (unfloored, False)]:
            planner = CEMPlanner(model, cfg, 100)
            _, _, r2 = planner.score(planner.decision(obs), server, grant)
            np.testing.assert_allclose(r2, 0.0 if zero else expected, rtol=1e-12)


def test_whole_places_count_the_copies_a_server_holds_in_whole_tasks() -> None:
    """As in the admission test, 0.35 of memory left: after the task's own request, 0.25
    holds 2.5 copies of a request of 0.1 counted continuously, and 0.24 holds 2.18 of one of
    0.11. Whole places count 2 copies for both, so the larger grant costs nothing more."""
    config = planner_config(
        horizon=16, expl_scale=0.0, copy_consumption="floored", check_admission=True
    )
    whole = dataclasses.replace(config, whole_places=True)
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    per_task = 0.5 * (1.0 / 4.0 + 0.2)
    obs = room_observation(0.35)
    grant = np.array([[0.05, 0.05, 0.1], [0.05, 0.05, 0.11]])
    server = np.array([1, 1])
    for cfg, copies in [(config, [2.5, 1.0 + 0.13 / 0.11]), (whole, [2.0, 2.0])]:
        planner = CEMPlanner(model, cfg, 100)
        _, _, r2 = planner.score(planner.decision(obs), server, grant)
        np.testing.assert_allclose(r2, per_task * (1.0 + np.array(copies)), rtol=1e-5)


def test_floor_at_seen_keeps_predicted_latency_and_hold_at_the_fastest_seen() -> None:
    """Every member predicts a latency of 0.2 s and a hold of 0.3 s; the fastest task seen on
    each server took 2 s and held its grant 2.5 s. ``floor_at_seen`` scores eq. 11 with 1/2 s
    and holds 2.5 s; a server on which nothing was seen keeps the prediction."""
    config = planner_config(horizon=1, expl_scale=0.0)
    floored = dataclasses.replace(config, floor_at_seen=True)
    model = zero_model(latency_s=0.2, pass_at_100=0.2, hold_s=0.3)
    seen = np.full(LAYOUT.n_servers, 2.0)
    seen[4] = np.inf  # nothing completed there
    model.record_floor(seen, np.where(np.isfinite(seen), 2.5, np.inf))
    later = np.where(np.isfinite(seen), 3.0, np.inf)
    model.record_floor(later, later)  # slower than already seen: the smallest is kept
    obs = room_observation(1.0)
    grant = np.full((2, 3), 0.1)
    server = np.array([1, 4])
    for cfg, latency, hold in [(config, [0.2, 0.2], [0.3, 0.3]), (floored, [2.0, 0.2], [2.5, 0.3])]:
        planner = CEMPlanner(model, cfg, 100)
        decision = planner.decision(obs)
        _, _, r2 = planner.score(decision, server, grant)
        np.testing.assert_allclose(r2, 0.5 * (1.0 / np.array(latency) + 0.2), rtol=1e-6)
        predicted_hold = planner.predict(decision, server, grant).hold[0]
        np.testing.assert_allclose(predicted_hold, hold, rtol=1e-6)


def nearly_full_and_empty_scores(routings: tuple[str, ...]) -> dict[str, np.ndarray]:
    """r2 under each routing of three candidates: the smallest reference level on server 0
    (0.15 of memory left) and on server 1 (0.95 left, as every other server), and a 0.1
    grant on server 1; the servers are of equal value (eq. 11: 1/4 s + 0.2), horizon 16."""
    obs = np.zeros(LAYOUT.size)
    obs[LAYOUT.block_slice("memory")] = [0.15, 0.95] + [0.95] * (LAYOUT.n_servers - 2)
    obs[LAYOUT.task_index("tasks_left")] = 1.0
    level = REFERENCE_LEVELS[0]
    share = np.array([[level, level, level]] * 2 + [[0.1, 0.1, 0.1]])
    server = np.array([0, 1, 1])
    model = memory_model(4.0, 0.01)
    scores = {}
    for routing in routings:
        planner = CEMPlanner(model, planner_config(horizon=16, imagined_routing=routing), 100)
        scores[routing] = planner.score(planner.decision(obs), server, share)[2]
    return scores


def test_relative_routing_compares_servers_by_the_task_and_prices_grants_within_one() -> None:
    """Two servers of equal value, one nearly full, one empty. ``own_server`` prefers the
    empty one (its copies fit); ``relative`` divides each server's r2 by its copies at its
    best reference level, so at that level (the smallest: every level is worth the same per
    task and the smallest fits the most copies) both score the task's own value, and a
    larger grant on the empty server scores less."""
    scores = nearly_full_and_empty_scores(("own_server", "relative"))
    assert scores["own_server"][1] > 2.0 * scores["own_server"][0]
    assert scores["relative"][:2] == pytest.approx([1.0 / 4.0 + 0.2] * 2, rel=1e-6)
    assert scores["relative"][2] < scores["relative"][1]


def test_overflow_routing_credits_the_tasks_a_full_server_leaves_to_the_others() -> None:
    """The same two servers. ``own_server`` counts the copies that do not fit on the nearly
    full server as lost; ``overflow`` sends them to the other servers (every one of equal
    value, with room for more), so at the reference level both servers score the task and
    its 15 copies. A larger grant on the empty one scores less: the tasks it displaces there
    are not credited elsewhere."""
    scores = nearly_full_and_empty_scores(("own_server", "overflow"))
    assert scores["own_server"][0] < 0.5 * scores["own_server"][1]
    assert scores["overflow"][:2] == pytest.approx([16 * (1.0 / 4.0 + 0.2)] * 2, rel=1e-6)
    assert scores["overflow"][2] < scores["overflow"][1]


def test_overflow_values_fill_the_other_servers_best_value_first() -> None:
    """Three servers worth 0.5, 0.4 and 0.3 a task, each taking 10 of the tasks to come.
    What server 0 leaves over (5) goes to server 1, what the others leave to server 0; 15
    fill the best other server, then the next; none left over earns nothing. A server worth
    less than nothing takes nothing."""
    value = np.array([[0.5, 0.4, 0.3]])
    copies = np.full((1, 3), 10.0)
    servers = np.array([0, 1, 2])
    for left_over, expected in [(5.0, [2.0, 2.5, 2.5]), (15.0, [5.5, 6.5, 7.0]), (0.0, [0, 0, 0])]:
        got = overflow_values(value, copies, servers, np.full((1, 3), left_over))
        np.testing.assert_allclose(got, [expected])
    negative = np.array([[0.5, -0.4, 0.3]])
    got = overflow_values(negative, copies, servers, np.full((1, 3), 15.0))
    np.testing.assert_allclose(got, [[3.0, 6.5, 5.0]])


def test_ranked_demand_sends_the_tasks_to_come_to_the_best_servers_first() -> None:
    """Three servers worth 0.4, 0.5 and 0.3 a task with room for 10, 4 and 10 of the tasks to
    come: 12 fill server 1, then server 0, and leave server 2 none; 30 overflow every place.
    A server worth less than nothing takes none, even with tasks left over. The counts come
    back in server order whatever the order of value, and equal values fill in server
    order."""
    value = np.array([[0.4, 0.5, 0.3]])
    copies = np.array([[10.0, 4.0, 10.0]])
    np.testing.assert_allclose(ranked_demand(value, copies, 12.0), [[8.0, 4.0, 0.0]])
    np.testing.assert_allclose(ranked_demand(value, copies, 30.0), copies)
    negative = np.array([[0.4, 0.5, -0.3]])
    np.testing.assert_allclose(ranked_demand(negative, copies, 30.0), [[10.0, 4.0, 0.0]])
    rotated = np.array([[0.3, 0.5, 0.4]])
    np.testing.assert_allclose(
        ranked_demand(rotated, np.array([[3.0, 4.0, 5.0]]), 6.0), [[0, 4, 2]]
    )
    tied = np.array([[0.5, 0.5, 0.2]])
    np.testing.assert_allclose(ranked_demand(tied, np.full((1, 3), 2.0), 3.0), [[2, 1, 0]])


def test_ranked_routing_is_own_server_while_the_tasks_to_come_exceed_every_place() -> None:
    """Every server nearly full (0.15 of memory left): the 15 tasks to come fill each one's
    places, so none is outranked and ``ranked`` scores every candidate as ``own_server``
    does. With room everywhere (0.95 left) and few tasks to come (4), the first server in
    value order (here all equal, so server 0) takes them all, and the others, expected to
    take none, score less."""
    share = np.array([[0.05, 0.05, 0.1]] * LAYOUT.n_servers)
    server = np.arange(LAYOUT.n_servers)
    for memory, tasks_left, equal in [(0.15, 1.0, True), (0.95, 0.05, False)]:
        obs = np.zeros(LAYOUT.size)
        obs[LAYOUT.block_slice("memory")] = memory
        obs[LAYOUT.task_index("tasks_left")] = tasks_left
        scores = {}
        for routing in ("own_server", "ranked"):
            planner = CEMPlanner(
                memory_model(4.0, 0.01), planner_config(horizon=16, imagined_routing=routing), 100
            )
            scores[routing] = planner.score(planner.decision(obs), server, share)[2]
        if equal:
            np.testing.assert_allclose(scores["ranked"], scores["own_server"], rtol=1e-9)
        else:
            assert scores["ranked"][0] == pytest.approx(scores["own_server"][0], rel=1e-9)
            assert (scores["ranked"][1:] < 0.9 * scores["own_server"][1:]).all()


def test_bandwidth_follows_compute_in_planned_and_seed_actions() -> None:
    env = small_env()
    agent = AIFAgent(env.scenario, seed=0, **SMALL, bandwidth_follows_compute=True)
    agent.learn(env, 2, seed=10)
    rng = np.random.default_rng(0)
    for obs in observations(env):
        for action in (agent.act(obs, {}), agent.random_action(rng, obs)):
            assert action["share"][1] == action["share"][0]
    free = AIFAgent(env.scenario, seed=0, **SMALL, bandwidth_follows_compute=False)
    free.learn(env, 2, seed=10)  # the paper's three free shares
    shares = [free.act(obs, {})["share"] for obs in observations(env)]
    assert any(share[1] != share[0] for share in shares)


def test_the_planner_predicts_what_the_trained_model_predicts() -> None:
    """The numpy copy of the weights (planning) and the torch model (training) agree."""
    agent, env = trained_agent()
    obs = observations(env, 2)[1]
    server = np.array([0, 1, 2, 3, 4, 1])
    share = np.random.default_rng(0).uniform(0.01, 0.3, (6, 3))
    expected = agent.model.predict(np.broadcast_to(obs, (6, len(obs))), server, share)
    planner = agent.planner
    _, _, r2 = planner.score(planner.decision(obs), server, share)
    p = expected["p_complete"].numpy()
    mean = expected["mean"].numpy()
    gain = 1.0 / np.maximum(mean[:, :, 3], planner.config.min_latency_s) + mean[:, :, 4]
    assert np.all(r2 >= (p * gain).mean(0) - 1e-9)  # the task itself, plus its copies
    horizon_one = CEMPlanner(agent.model, planner_config(**{**SMALL, "horizon": 1}), 20)
    _, _, r2_one = horizon_one.score(horizon_one.decision(obs), server, share)
    np.testing.assert_allclose(r2_one, (p * gain).mean(0), rtol=1e-9)


# -- "fill" routing ----------------------------------------------------------------------------
VALUES = np.array([[0.5, 0.4, 0.3, 0.3, 0.3]])  # one member, five servers
TEN_PLACES, HOLD_4S = np.full((1, 5), 10.0), np.full((1, 5), 4.0)


def test_the_tasks_to_come_fill_the_best_servers_first() -> None:
    """15 tasks in a burst, 10 places per server: 10 on the best (0.5), 5 on the next (0.4),
    whose value is then the marginal place's; 99 tasks overflow all 50 places (price: the
    cheapest server); none to come costs nothing."""
    price, total = fill_places(VALUES, TEN_PLACES, HOLD_4S, 15.0, 0.01)
    assert price[0] == pytest.approx(0.4) and total[0] == pytest.approx(10 * 0.5 + 5 * 0.4)
    price, total = fill_places(VALUES, TEN_PLACES, HOLD_4S, 99.0, 0.01)
    assert price[0] == pytest.approx(0.3) and total[0] == pytest.approx(10 * 1.8)
    price, total = fill_places(VALUES, TEN_PLACES, HOLD_4S, 0.0, 0.01)
    assert price[0] == 0.0 and total[0] == 0.0


def test_places_turn_over_only_while_tasks_arrive() -> None:
    """Holds of 4 s. Arrivals 1 s apart: 4 tasks within a hold, all on the best server.
    0.1 s apart: 40 arrive over the 4 s, so no place turns over. A server 0 holding 1 s: its
    10 places turn over 4 times in those 4 s and take all 40."""
    price, total = fill_places(VALUES, TEN_PLACES, HOLD_4S, 99.0, 1.0)
    assert price[0] == pytest.approx(0.5) and total[0] == pytest.approx(4 * 0.5)
    price, total = fill_places(VALUES, TEN_PLACES, HOLD_4S, 99.0, 0.1)
    assert price[0] == pytest.approx(0.3) and total[0] == pytest.approx(10 * 1.5)
    fast = HOLD_4S.copy()
    fast[0, 0] = 1.0
    price, total = fill_places(VALUES, TEN_PLACES, fast, 99.0, 0.1)
    assert price[0] == pytest.approx(0.5) and total[0] == pytest.approx(40 * 0.5)


def test_a_grant_costs_the_reference_tasks_it_displaces_at_the_marginal_price() -> None:
    """A task that fails displaces nothing; one asking what the reference asks (10 places at
    once, so 9 after it) displaces one; twice as much (4 after it) two; holding its grant
    twice as long, two as well."""
    model = zero_model(latency_s=4.0, pass_at_100=0.2)
    config = planner_config(imagined_routing="fill", price_discount=1.0)
    planner = CEMPlanner(model, config, n_tasks=100)
    decision = dataclasses.replace(
        planner.decision(np.zeros(LAYOUT.size)),
        server_places=TEN_PLACES,
        server_hold=HOLD_4S,
        place_price=np.array([0.3]),
    )

    def cost(p: float, at_once: float, hold_s: float = 4.0) -> float:
        one = np.ones((1, 1))
        server = np.array([2])
        return float(
            planner.opportunity_cost(decision, server, at_once * one, hold_s * one, p * one)[0, 0]
        )

    assert cost(0.0, 0.0) == 0.0
    assert cost(1.0, 9.0) == pytest.approx(0.3)
    assert cost(1.0, 4.0) == pytest.approx(0.6)
    assert cost(1.0, 9.0, hold_s=8.0) == pytest.approx(0.6)


def test_the_levels_reference_counts_what_a_server_offers_at_its_best_level() -> None:
    """0.35 of memory left, each task consuming 0.1. At q(pi)'s mean (0.5 of memory) a
    reference task fails everywhere, so ``q_mean`` sees no place and no price; ``levels``
    finds the smallest level (0.025), where the task and 3 copies fit, and prices it."""
    obs = np.zeros(LAYOUT.size)
    obs[LAYOUT.block_slice("memory")] = 0.35
    obs[LAYOUT.task_index("tasks_left")] = 1.0
    half = np.zeros((5, 3))  # logit 0: shares of 0.5
    places = {}
    for reference in ("q_mean", "levels"):
        config = planner_config(imagined_routing="fill", reference_grant=reference, horizon=16)
        decision = CEMPlanner(memory_model(4.0, 0.01), config, 100).decision(obs, half)
        assert decision.server_places is not None and decision.place_price is not None
        places[reference] = decision.server_places
        assert (decision.place_price > 0.0).all() == (reference == "levels")
    assert (places["q_mean"] == 0.0).all()
    assert (places["levels"] >= 4.0).all() and (places["levels"] < 5.0).all()
    with pytest.raises(ValueError, match=r"agent\.reference_grant = 'best': allowed"):
        planner_config(reference_grant="best")


def test_an_agent_with_fill_routing_trains_and_plans_valid_actions() -> None:
    env = small_env()
    agent = AIFAgent(env.scenario, seed=0, imagined_routing="fill", **SMALL)
    agent.learn(env, 2, seed=10)
    for obs in observations(env):
        action = agent.act(obs, {})
        assert 0 <= action["server"] < 5 and np.all((action["share"] >= 0) & (action["share"] <= 1))
    with pytest.raises(ValueError, match=r"agent\.imagined_routing = 'both': allowed"):
        AIFAgent(env.scenario, imagined_routing="both")


# -- persistence -------------------------------------------------------------------------------
def test_save_load_round_trip_gives_identical_actions(tmp_path: Path) -> None:
    agent, env = trained_agent(seed=4)
    path = tmp_path / "aif.pt"
    agent.save(path)
    other = AIFAgent(env.scenario, seed=123, n_members=2, n_hidden=8)  # overwritten by load
    other.load(path)
    assert other.config == agent.config and other.seed == agent.seed
    assert other.episodes_trained == agent.episodes_trained
    agent.attach(env)
    other.attach(env)
    for obs in observations(env):
        a, b = agent.act(obs, {}), other.act(obs, {})
        assert a["server"] == b["server"]
        np.testing.assert_array_equal(a["share"], b["share"])


def test_a_policy_saved_without_task_statistics_loads_without_them(tmp_path: Path) -> None:
    """A policy saved before the model kept the tasks' needs and the fastest latencies seen
    loads with none (``imagined_tasks: typical`` then imagines copies, ``floor_at_seen``
    floors nothing) and acts as the same policy with its statistics cleared."""
    agent, env = trained_agent(episodes=1)
    assert agent.model.mean_need is not None
    assert np.isfinite(agent.model.seen_floor_s.numpy()).any()
    path = tmp_path / "aif.pt"
    agent.save(path)
    state = torch.load(path, weights_only=True)
    del state["model"]["need_stats"], state["model"]["seen_floor_s"]
    torch.save(state, path)
    other = AIFAgent(env.scenario, seed=0, **SMALL)
    other.load(path)
    assert other.model.mean_need is None
    assert np.isinf(other.model.seen_floor_s.numpy()).all()


def test_buffer_statistics_are_the_mean_need_and_the_fastest_outcomes_per_server() -> None:
    buffer = Buffer(LAYOUT, 8)
    buffer.obs[:3, LAYOUT.block_slice("memory_need")] = [[0.1] * 5, [0.3] * 5, [0.2] * 5]
    buffer.server[:3] = [1, 1, 3]
    buffer.latency_s[:3] = [5.0, 4.0, np.nan]  # the third did not complete
    buffer.hold_s[:3] = [5.5, 4.5, 9.0]
    np.testing.assert_allclose(buffer.mean_need(np.arange(3)), np.full(5, 0.2), rtol=1e-6)
    latency, hold = buffer.smallest_latency_hold(np.arange(3))
    np.testing.assert_array_equal(latency, [np.inf, 4.0, np.inf, np.inf, np.inf])
    np.testing.assert_array_equal(hold, [np.inf, 4.5, np.inf, 9.0, np.inf])


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
def test_dynamic_features_read_the_margins_the_simulator_checks_in_either_layout() -> None:
    scale = 0.01
    remaining = np.array([[0.30, 0.20, 0.50], [0.05, 0.40, 0.10]])
    share = np.array([[0.10, 0.10, 0.20], [0.10, 0.10, 0.10]])
    need = np.array([0.15, 0.12])
    rows = dynamic_features(remaining, share, need, scale)  # [n, 8]: training's layout
    assert rows.shape == (2, N_DYNAMIC)
    np.testing.assert_array_equal(rows[:, :3], remaining)
    margins = np.concatenate([remaining - share, (share[:, 2] - need)[:, None]], axis=1)
    np.testing.assert_allclose(rows[:, 3:7], np.sign(margins) * np.log1p(np.abs(margins) / scale))
    # The tightest margin (row 1: its compute shortfall, below its memory shortfall).
    np.testing.assert_allclose(rows[:, 7], rows[:, 3:7].min(1))
    assert rows[1, 7] == rows[1, 3] < 0.0
    # The planner's layout (features by rows, candidates by columns, a leading member axis)
    # gives the same numbers bit for bit, so planning sees what training saw.
    members = np.stack([remaining.T, remaining.T * 0.5])  # [2, 3, n]
    columns = dynamic_columns(members, share.T, need, scale)  # [2, 8, n]
    np.testing.assert_array_equal(columns[0], rows.T)
    halved = dynamic_features(remaining * 0.5, share, need, scale)
    np.testing.assert_array_equal(columns[1], halved.T)


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
    hold = outcomes[0].released_s - outcomes[0].arrival_s
    assert y["hold_s"] == pytest.approx(hold, rel=1e-9) and hold >= outcomes[0].latency_s
    assert data["y_mask"][0].all()
    # A refused task: nothing observed but the failure itself.
    assert not outcomes[1].completed and data["completed"][1] == 0.0
    assert not data["y_mask"][1].any()
    assert data["x"].shape == (2, agent.model.n_inputs)


def test_the_ensemble_scores_every_candidate_and_member_in_one_call() -> None:
    model = EnsembleModel(5, 10, 200, 1, -5.0, -1.0, 1e-3)
    x = torch.randn(10, model.n_inputs, 500, dtype=torch.float64)
    with torch.no_grad():
        mean, logvar, logit = model(x)
    assert mean.shape == (10, len(TARGETS), 500) and logit.shape == (10, 500)
    assert float(logvar.min()) >= model.min_logvar and float(logvar.max()) <= model.max_logvar


def test_the_vectorised_task_value_is_eq_11_exactly() -> None:
    """``task_value`` is :func:`rewardless_guidance` elementwise, bit for bit, including the
    floor on latency and no latency term for a non-finite one."""
    planner = CEMPlanner(tiny_model(), planner_config(), n_tasks=100)
    rng = np.random.default_rng(0)
    p = rng.random((3, 7))
    raw = rng.normal(2.0, 3.0, (3, 6, 7))
    raw[0, 3, 0] = np.inf
    floor = planner.config.min_latency_s
    expected = np.vectorize(rewardless_guidance)(p, np.maximum(raw[:, 3], floor), raw[:, 4])
    np.testing.assert_array_equal(planner.task_value(p, raw), expected)


def test_the_agent_counts_places_within_each_servers_slots_from_its_scenario() -> None:
    """The planner gets each server's compute slots from the scenario: queueing's 8 slots
    leave 7 places beside the current task; the paper's 32 leave 31."""
    for name, places in (("queueing", 7.0), ("paper", 31.0)):
        agent = AIFAgent(load_scenario(name), seed=0, n_members=2, n_hidden=8)
        assert agent.planner.max_places is not None
        assert agent.planner.max_places.tolist() == [places] * agent.n_servers


def test_own_demand_share_on_the_copies_credits_a_server_with_places_for_its_share() -> None:
    """Arrivals 1 s apart, holds of 4 s: about 9.4 of the 15 copies complete (as above). A
    server expected to take half of them (``own_demand_share`` 0.5, on the copies) has places
    for that half, so it is credited with all 15; at 0.8 it serves 9.4 of the 12 asked, so
    9.4 / 0.8; at 1 (own_server) the count is unchanged."""
    config = planner_config(horizon=16, expl_scale=0.0)
    model = memory_model(4.0, 1.0)
    base = copies_of(CEMPlanner(model, config, 100), 0.1)
    assert 9.0 < base < 10.0
    for share, expected in [(0.5, 15.0), (0.8, base / 0.8), (1.0, base)]:
        shared = dataclasses.replace(config, own_demand_share=share)
        assert copies_of(CEMPlanner(model, shared, 100), 0.1) == pytest.approx(expected)


def test_own_demand_share_per_server_lifts_a_short_server_by_at_most_one_over_the_share() -> None:
    """Per server (``demand_share_scope: server``) r2 is multiplied by (1 + 15 copies to come)
    over 1 + the server's copies at its best reference level, at most 1 / share. Under a
    burst the server holds only a few copies at any level, so the factor is the cap (2 at a
    share of 0.5); where every copy completes (holds of 0.5 s, arrivals 1 s apart) it is 1."""
    config = planner_config(horizon=16, expl_scale=0.0)
    per_server = dataclasses.replace(config, own_demand_share=0.5, demand_share_scope="server")
    for hold_s, gap_s, factor in [(4.0, 0.01, 2.0), (0.5, 1.0, 1.0)]:
        model = memory_model(hold_s, gap_s)
        own = 1.0 + copies_of(CEMPlanner(model, config, 100), 0.1)
        lifted = 1.0 + copies_of(CEMPlanner(model, per_server, 100), 0.1)
        assert lifted == pytest.approx(factor * own)


# -- routing trial -----------------------------------------------------------------------------
def test_kept_routing_compares_the_latest_trial_episodes() -> None:
    history = {"own_server": [5.0, 1.0, 1.0], "fill": [0.0, 2.0, 2.0]}
    assert kept_routing("own_server", "fill", history, window=2) == "fill"
    assert kept_routing("own_server", "fill", history, window=3) == "own_server"  # 7/3 > 4/3
    assert kept_routing("own_server", "fill", {"own_server": [1.0]}, window=2) == "own_server"
    assert kept_routing("own_server", "fill", {"own_server": [1.0], "fill": [1.0]}, 2) == (
        "own_server"
    )  # a tie keeps the primary
    assert kept_routing("own_server", "none", history, window=2) == "own_server"


def test_a_trial_routing_must_lead_by_more_than_the_margin_to_be_kept() -> None:
    """fill's latest mean 103 against own_server's 100: a lead of 3%, kept at a margin of 2%,
    not at 5%; a lead of exactly the margin keeps the primary."""
    history = {"own_server": [100.0, 100.0], "fill": [103.0, 103.0]}
    assert kept_routing("own_server", "fill", history, window=2, margin=0.02) == "fill"
    assert kept_routing("own_server", "fill", history, window=2, margin=0.05) == "own_server"
    assert kept_routing("own_server", "fill", history, window=2, margin=0.03) == "own_server"


def test_the_routing_trial_alternates_and_plays_the_routing_that_met_the_preferences_best(
    tmp_path: Path,
) -> None:
    """After the seed episode own_server and fill alternate; each trial episode's value is
    eq. 11 summed over its outcomes (recomputed here from the buffer); outside training, and
    in a saved policy, the agent plays the routing :func:`kept_routing` picks."""
    env = small_env()
    agent = AIFAgent(env.scenario, seed=0, **SMALL, trial_routing="fill", routing_trial_episodes=2)
    assert [agent.trial_routing_of(k) for k in range(-1, 4)] == [
        None, "own_server", "fill", "own_server", "fill",
    ]  # fmt: skip
    agent.learn(env, 3, seed=10)
    agent.learn(env, 3, seed=20)  # training goes on alternating across calls
    trial = agent.routing_trial
    assert {k: len(v) for k, v in trial.items()} == {"own_server": 3, "fill": 2}
    for routing, episodes in (("own_server", [1, 3, 5]), ("fill", [2, 4])):
        expected = [
            sum(
                rewardless_guidance(1.0, agent.buffer.latency_s[i], agent.buffer.pass_at_100[i])
                for i in range(20 * k, 20 * k + 20)
                if agent.buffer.completed[i]
            )
            for k in episodes
        ]
        assert trial[routing] == pytest.approx(expected)
    kept = kept_routing("own_server", "fill", trial, 2)
    assert agent.kept_routing() == agent.planner.config.imagined_routing == kept
    assert agent.config.planner.imagined_routing == "own_server"  # the config is unchanged
    agent.save(tmp_path / "policy.pt")
    loaded = AIFAgent(env.scenario, seed=5, **SMALL)
    loaded.load(tmp_path / "policy.pt")
    assert loaded.planner.config.imagined_routing == kept and loaded.routing_trial == trial
