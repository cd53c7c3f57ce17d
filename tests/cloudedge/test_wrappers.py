"""The flat action wrappers: two views of the same grants, decoded from the observation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cloudedge import BoxActionWrapper, CloudEdgeEnv, DiscreteActionWrapper
from cloudedge.wrappers import DEFAULT_SHARE_LEVELS, ActionDecoder


def box_vector(n_servers: int, server: int, level: float) -> np.ndarray:
    """The Box action choosing ``server`` at share ``level`` (inverse of the log scale)."""
    low, high = min(DEFAULT_SHARE_LEVELS), max(DEFAULT_SHARE_LEVELS)
    vector = np.zeros(n_servers + 1, np.float32)
    vector[server] = 1.0
    vector[-1] = math.log(level / low) / math.log(high / low)
    return vector


@pytest.mark.parametrize("seed", [0, 3])
def test_both_wrappers_grant_the_same_for_the_same_server_and_level(seed: int) -> None:
    discrete, box = DiscreteActionWrapper(CloudEdgeEnv()), BoxActionWrapper(CloudEdgeEnv())
    obs_d, _ = discrete.reset(seed=seed)
    obs_b, _ = box.reset(seed=seed)
    np.testing.assert_array_equal(obs_d, obs_b)
    n, n_levels = discrete.n_servers, len(DEFAULT_SHARE_LEVELS)
    sim = discrete.unwrapped.simulator
    for server in range(n):
        for k, level in enumerate(DEFAULT_SHARE_LEVELS):
            from_discrete = discrete.action(server * n_levels + k)
            from_box = box.action(box_vector(n, server, level))
            assert from_discrete["server"] == from_box["server"] == server
            np.testing.assert_allclose(from_discrete["share"], from_box["share"], rtol=1e-5)
            # The memory floor holds against the simulator's own need, not only the observation's.
            granted = from_box["share"][2] * sim.servers[server].capacity.memory_bytes
            assert granted >= sim.current_memory_need_bytes() * (1 - 1e-6)
            assert from_box["share"][0] == pytest.approx(level, rel=1e-5)


def test_box_level_is_log_scaled_over_the_discrete_range() -> None:
    decoder = ActionDecoder(5)
    assert decoder.box_level(0.0) == pytest.approx(0.025)
    assert decoder.box_level(1.0) == pytest.approx(0.25)
    assert decoder.box_level(0.5) == pytest.approx(math.sqrt(0.025 * 0.25))
    assert decoder.box_level(-3.0) == pytest.approx(0.025)  # clipped
    assert decoder.box_level(7.0) == pytest.approx(0.25)


def test_box_wrapper_takes_the_argmax_server_and_checks_its_input() -> None:
    env = BoxActionWrapper(CloudEdgeEnv())
    assert env.action_space.shape == (6,)
    with pytest.raises(RuntimeError, match="reset"):
        env.action(np.zeros(6))
    env.reset(seed=0)
    decoded = env.action(np.array([0.1, 0.9, 0.2, 0.3, 0.0, 1.0], np.float32))
    assert decoded["server"] == 1
    assert decoded["share"][0] == decoded["share"][1] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="6 finite numbers"):
        env.action(np.zeros(3))
    with pytest.raises(ValueError, match="6 finite numbers"):
        env.action(np.array([0, 0, 0, 0, 0, np.nan]))


def test_wrappers_decode_what_an_agent_decodes_from_the_same_observation() -> None:
    """Training (the wrapper) and evaluation (an agent's decoder) give the same raw action."""
    env = DiscreteActionWrapper(CloudEdgeEnv(n_tasks=30))
    decoder = ActionDecoder(env.n_servers)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=1)
    done = False
    while not done:
        k = int(rng.integers(env.action_space.n))
        expected = decoder.discrete(k, obs)
        decoded = env.action(k)
        assert decoded["server"] == expected["server"]
        np.testing.assert_array_equal(decoded["share"], expected["share"])
        obs, _, done, _, _ = env.step(k)


def test_discrete_wrapper_expands_the_mask_and_checks_levels() -> None:
    env = DiscreteActionWrapper(CloudEdgeEnv(), share_levels=(0.05, 0.1))
    _, info = env.reset(seed=0)
    assert info["action_mask"].shape == (10,)
    np.testing.assert_array_equal(info["action_mask"], np.repeat(info["server_mask"], 2))
    with pytest.raises(ValueError, match="out of range"):
        env.action(10)
    with pytest.raises(ValueError, match="share_levels"):
        DiscreteActionWrapper(CloudEdgeEnv(), share_levels=(0.0,))
    with pytest.raises(ValueError, match="action interface"):
        ActionDecoder(5).decode("dict", 0, np.zeros(35))


@pytest.mark.parametrize("wrapper", [DiscreteActionWrapper, BoxActionWrapper])
def test_memory_grant_need_grants_the_need_at_every_level(wrapper: type) -> None:
    """``memory_grant="need"``: the level sets compute and bandwidth; memory is the need."""
    by_need = wrapper(CloudEdgeEnv())  # the default
    by_level = wrapper(CloudEdgeEnv(), memory_grant="level")
    by_need.reset(seed=2)
    by_level.reset(seed=2)
    sim = by_need.unwrapped.simulator
    n, n_levels = by_need.n_servers, len(DEFAULT_SHARE_LEVELS)
    for server in range(n):
        need_share = sim.current_memory_need_bytes() / sim.servers[server].capacity.memory_bytes
        for k, level in enumerate(DEFAULT_SHARE_LEVELS):
            flat = (
                server * n_levels + k
                if wrapper is DiscreteActionWrapper
                else box_vector(n, server, level)
            )
            need, floor = by_need.action(flat)["share"], by_level.action(flat)["share"]
            np.testing.assert_allclose(need[:2], floor[:2])
            assert need[2] == pytest.approx(min(1.0, need_share), rel=1e-5)
            assert floor[2] == pytest.approx(min(1.0, max(level, need_share)), rel=1e-5)


def test_memory_grant_need_holds_less_memory_and_still_completes_the_task() -> None:
    """At the top level a "need" grant completes the task and leaves more memory free."""
    free_share = {}
    for rule in ("level", "need"):
        env = DiscreteActionWrapper(CloudEdgeEnv(), memory_grant=rule)  # type: ignore[arg-type]
        env.reset(seed=0)
        top = len(DEFAULT_SHARE_LEVELS) - 1  # server 0 at level 0.25
        _, _, _, _, info = env.step(top)
        assert info["outcome"].completed
        free_share[rule] = float(env.unwrapped.simulator.servers[0].table_row[2])
    assert free_share["level"] == pytest.approx(1.0 - DEFAULT_SHARE_LEVELS[-1], rel=1e-5)
    assert free_share["need"] > free_share["level"] + 0.1


def test_memory_grant_rejects_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="memory_grant = 'all': allowed \\['need', 'level'\\]"):
        ActionDecoder(5, memory_grant="all")  # type: ignore[arg-type]
