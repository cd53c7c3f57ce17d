"""The paper's environment facts (PAPER.md section 10), checked with simple policies."""

import numpy as np
import pytest

from cloudedge.config import paper_scenario
from cloudedge.entities import make_servers
from cloudedge.sim import Simulator
from cloudedge.workload import total_resources
from tests.cloudedge.policies import (
    cloud_first,
    edge_first,
    random_policy,
    random_small_share_policy,
    run_episode,
)

SEEDS = (0, 1, 2)


def policies():
    return {
        "cloud_first": cloud_first,
        "edge_first": edge_first,
        "random": random_policy(0),
        "random_small": random_small_share_policy(0),
    }


def test_compute_times_and_pass_at_100() -> None:
    scenario = paper_scenario()
    servers, _ = make_servers(scenario, total_resources(scenario))
    cloud, edges = servers[0], servers[1:]
    assert cloud.compute_time_s(cloud.capacity.compute_units) > 2.0
    for edge in edges:
        assert edge.compute_time_s(edge.capacity.compute_units) > 9.0
        assert edge.compute_time_s(scenario.resources.nominal_compute_units) < 10.0
        assert edge.config.pass_at_100 == 0.1892
    assert cloud.config.pass_at_100 == 0.1159


def test_total_resources_equal_the_demand_of_100_tasks() -> None:
    scenario = paper_scenario()
    totals = total_resources(scenario)
    assert totals.compute_units == 100 * scenario.resources.nominal_compute_units
    assert totals.bandwidth_hz == 100 * scenario.resources.nominal_bandwidth_hz
    # Memory: within a few percent of 100 mean needs (the 99th percentile of their sum).
    sim = Simulator(scenario, np.random.default_rng(0))
    mean_need = float(np.mean(sim.tasks.memory_need_bytes))
    assert 0.9 < totals.memory_bytes / (100 * mean_need) < 1.15


@pytest.mark.parametrize("t_max", [1.0, 2.0])
def test_nothing_completes_at_t_max_up_to_2(t_max: float) -> None:
    for name, policy in policies().items():
        for seed in SEEDS:
            assert run_episode(policy, seed, t_max_s=t_max)["completion_rate"] == 0.0, name


def cloud_memory_cap(seed: int) -> float:
    """Most tasks of the episode the cloud's memory can hold at once (smallest first)."""
    sim = Simulator(paper_scenario(), np.random.default_rng(seed))
    needs = np.sort(sim.tasks.memory_need_bytes)
    fits = np.cumsum(needs) <= sim.servers[0].capacity.memory_bytes
    return int(fits.sum()) / len(needs)


@pytest.mark.parametrize("t_max", [3.0, 5.0, 9.0])
def test_only_the_cloud_finishes_between_3_and_9(t_max: float) -> None:
    for seed in SEEDS:
        cap = cloud_memory_cap(seed)
        assert cap <= 0.3  # "about 20%": the cloud's share of the resources
        for name, policy in policies().items():
            result = run_episode(policy, seed, t_max_s=t_max)
            assert result["completion_rate"] <= cap, name
            if result["completion_rate"] > 0:
                assert result["avg_pass_at_100"] == pytest.approx(
                    0.1159 * result["completion_rate"]
                )  # every completed task ran on the cloud
        assert run_episode(cloud_first, seed, t_max_s=t_max)["completion_rate"] >= 0.18


def test_a_capacity_aware_greedy_completes_95_percent_at_t_max_15() -> None:
    for seed in SEEDS:
        assert run_episode(edge_first, seed, t_max_s=15.0)["completion_rate"] >= 0.95


def test_edges_become_usable_at_t_max_10() -> None:
    result = run_episode(edge_first, 0, t_max_s=10.0)
    assert result["completion_rate"] >= 0.9


def test_load_200_percent_halves_what_fits() -> None:
    result = run_episode(edge_first, 0, t_max_s=15.0, n_tasks=200)
    assert 0.4 <= result["completion_rate"] <= 0.6
