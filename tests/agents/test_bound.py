import itertools

import gymnasium as gym
import numpy as np
import pytest
import yaml

import cloudedge
from agents.base import evaluate_episode, make_agent
from agents.bound import (
    REFINE_TOLERANCE,
    Grid,
    NonMonotoneProfileError,
    check_profiles_monotone,
    compute_levels,
    episode_upper_bound,
)
from tests.agents.test_heuristics import HEURISTICS, ROOT


def test_compute_levels_are_a_geometric_grid_from_zero_to_capacity() -> None:
    levels = compute_levels(20.0, 3, 2.0)
    np.testing.assert_allclose(levels, [0.0, 5.0, 10.0, 20.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_bound_is_at_least_every_heuristic(seed: int) -> None:
    scenario = cloudedge.paper_scenario(n_tasks=60)
    bound = episode_upper_bound(scenario, seed, refine=False).upper_bound
    for name in HEURISTICS:
        config = yaml.safe_load((ROOT / "conf" / "agent" / f"{name}.yaml").read_text())
        agent = make_agent(config, scenario, seed=0)
        score = evaluate_episode(agent, cloudedge.CloudEdgeEnv(scenario), seed)["sum_reward"]
        assert bound >= score - 1e-9, name


def tiny_scenario() -> cloudedge.ScenarioConfig:
    """Two servers whose memory holds one task at a time, three tasks in a burst."""
    server = {
        "kind": "edge", "resource_share": 0.5, "parallel_slots": 4, "accelerated": False,
    }  # fmt: skip
    return cloudedge.paper_scenario(
        n_tasks=3,
        servers=[
            {
                **server,
                "name": "fast",
                "position_m": [600.0, 600.0, 25.0],
                "compute_profile": "fast",
                "pass_at_100": 0.1,
            },
            {
                **server,
                "name": "good",
                "position_m": [1400.0, 1400.0, 25.0],
                "compute_profile": "slow",
                "pass_at_100": 0.3,
            },
        ],
        compute_profiles={
            "fast": {"floor_s": 2.0, "scale_s": 0.5},
            "slow": {"floor_s": 3.0, "scale_s": 0.5},
        },
        terminals={"n_fixed": 2, "n_mobile": 0, "n_uav": 1},
        resources={"reference_tasks": 2, "memory_demand_quantile_z": 0.0},
    )


def brute_force_optimum(scenario: cloudedge.ScenarioConfig, seed: int) -> float:
    """Best sum reward over every assignment (server or skip) with whole-server grants."""
    env = gym.make(cloudedge.ENV_ID, scenario=scenario)
    best = 0.0
    for choice in itertools.product([None, 0, 1], repeat=scenario.n_tasks):
        env.reset(seed=seed)
        total = 0.0
        for server in choice:
            sim = env.unwrapped.simulator
            if server is None:  # skip: no memory at all fails the task, holding nothing
                action = {"server": 0, "share": np.zeros(3, np.float32)}
            else:
                need = sim.current_memory_need_bytes() / sim.servers[server].capacity.memory_bytes
                share = np.array([1.0, 1.0, min(need, 1.0)], np.float32)
                action = {"server": server, "share": share}
            total += env.step(action)[1]
        best = max(best, total)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_milp_bound_equals_brute_force_on_a_tiny_instance(seed: int) -> None:
    scenario = tiny_scenario()
    optimum = brute_force_optimum(scenario, seed)
    assert optimum > 0
    exact = episode_upper_bound(scenario, seed, integral=True).upper_bound
    relaxed = episode_upper_bound(scenario, seed).upper_bound
    assert exact == pytest.approx(optimum, rel=1e-9)
    assert relaxed >= exact - 1e-9


def test_refined_bound_moves_less_than_half_a_percent_and_brackets_a_feasible_schedule() -> None:
    scenario = cloudedge.paper_scenario(n_tasks=40)
    coarse = episode_upper_bound(scenario, 0, refine=False).upper_bound
    result = episode_upper_bound(scenario, 0, feasible=True)
    assert result.upper_bound <= coarse + 1e-9  # finer grids nest the coarser
    assert result.refinement_change < REFINE_TOLERANCE
    assert 0 < result.feasible <= result.upper_bound + 1e-9
    assert result.gap == pytest.approx(1 - result.feasible / result.upper_bound)


def test_refined_grid_contains_the_coarser_points_bit_for_bit() -> None:
    grid = Grid(4, 2.0)
    finer = grid.refined()
    assert finer.n_levels == 8 and finer.step_ratio == pytest.approx(2.0**0.5)
    coarse_levels = set(grid.compute_levels(20.0).tolist())
    fine_levels = set(finer.compute_levels(20.0).tolist())
    assert coarse_levels <= fine_levels
    assert min(fine_levels - {0.0}) < min(coarse_levels - {0.0})


def test_a_profile_whose_time_rises_with_the_grant_is_refused(tmp_path) -> None:
    csv = tmp_path / "noisy.csv"
    csv.write_text(
        "compute_share,prompt_tokens,completion_tokens,compute_time_s\n0.5,16,8,1.0\n1.0,16,8,1.5\n"
    )
    servers = cloudedge.paper_scenario().to_dict()["servers"]
    servers[2]["compute_profile"] = str(csv)
    scenario = cloudedge.paper_scenario(n_tasks=5, servers=servers)
    with pytest.raises(NonMonotoneProfileError, match=r"servers\[2\].*share 0.5 -> 1"):
        check_profiles_monotone(scenario)
    with pytest.raises(NonMonotoneProfileError):
        episode_upper_bound(scenario, 0)
    check_profiles_monotone(cloudedge.paper_scenario())  # the shipped ones hold
    check_profiles_monotone(cloudedge.env.make_scenario("azure_a100_3090"))
