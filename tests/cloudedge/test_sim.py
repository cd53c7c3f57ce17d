import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudedge.channel import SPEED_OF_LIGHT_MPS
from cloudedge.config import ScenarioConfig, ServerConfig, paper_scenario
from cloudedge.entities import Terminal
from cloudedge.metrics import TaskStatus
from cloudedge.sim import Simulator
from cloudedge.workload import kv_cache_bytes_per_token, memory_need_bytes


def one_server_scenario(t_max_s: float, slots: int = 1, n_tasks: int = 3) -> ScenarioConfig:
    """One server of 2 nominal tasks, tasks all arriving at t = 0 from one fixed terminal."""
    server = ServerConfig(
        name="only",
        kind="cloud",
        position_m=(1000.0, 1000.0, 30.0),
        resource_share=1.0,
        parallel_slots=slots,
        compute_profile="p",
        pass_at_100=0.2,
    )
    return paper_scenario(
        n_tasks=n_tasks,
        t_max_s=t_max_s,
        servers=[server],
        compute_profiles={"p": {"floor_s": 2.0, "scale_s": 1.0}},
        terminals={"n_fixed": 1, "n_mobile": 0, "n_uav": 0},
        channel={"shadowing_sigma_db": 0.0},
        workload={"burst_window_s": 0.0},
        resources={"reference_tasks": 2, "memory_demand_quantile_z": 10.0},
    )


def half_of_everything(sim: Simulator) -> tuple[float, float, float]:
    server = sim.servers[0]
    need = sim.current_memory_need_bytes() / server.capacity.memory_bytes
    return (0.5, 0.5, need)


def test_hand_worked_fifo_queue_and_deadline() -> None:
    sim = Simulator(one_server_scenario(t_max_s=5.5), np.random.default_rng(0))
    a = sim.admit(0, half_of_everything(sim))
    b = sim.admit(0, half_of_everything(sim))
    c = sim.admit(0, (0.1, 0.1, 0.1))

    # A: no wait; 1 unit of compute -> 2.0 + 1.0 * (1 / 1) = 3 s.
    assert a.status is TaskStatus.COMPLETED
    assert a.queue_s == 0.0
    assert a.compute_s == pytest.approx(3.0)
    finish_a = a.arrival_s + a.upload_s + a.d1_m / SPEED_OF_LIGHT_MPS + a.compute_s
    assert a.latency_s == pytest.approx(
        finish_a + a.download_s + a.d2_m / SPEED_OF_LIGHT_MPS - a.arrival_s
    )
    # B: the single slot is busy; it waits for A, the task in service that finishes first.
    at_server_b = b.arrival_s + b.upload_s + b.d1_m / SPEED_OF_LIGHT_MPS
    assert b.queue_s == pytest.approx(finish_a - at_server_b)
    assert b.queue_s == pytest.approx(3.0, abs=0.01)
    # Its result would arrive after ~6 s > t_max = 5.5 s: abandoned, held until the deadline.
    assert b.status is TaskStatus.DEADLINE
    assert b.latency_s == pytest.approx(6.0, abs=0.02)
    assert b.released_s == pytest.approx(b.arrival_s + 5.5)
    assert b.reward == 0.0 and b.pass_at_100 == 0.0
    # C: A and B hold all the compute; any compute share is above what remains.
    assert c.status is TaskStatus.INVALID_ALLOCATION
    assert math.isnan(c.latency_s)

    # Eq. 8: the components add up to the latency.
    for o in (a,):
        assert o.latency_s == pytest.approx(
            o.upload_s + o.download_s + o.propagation_s + o.queue_s + o.compute_s
        )
    assert a.reward == pytest.approx(1.0 / a.latency_s + 0.2)

    # Resources come back at delivery (A) and at the deadline (B).
    server = sim.servers[0]
    assert server.remaining.compute_units == pytest.approx(0.0)
    sim.advance_to(a.released_s)
    assert server.remaining.compute_units == pytest.approx(1.0)
    sim.drain()
    assert server.remaining.compute_units == pytest.approx(2.0)


def test_a_longer_deadline_lets_the_queued_task_complete() -> None:
    sim = Simulator(one_server_scenario(t_max_s=7.0), np.random.default_rng(0))
    sim.admit(0, half_of_everything(sim))
    b = sim.admit(0, half_of_everything(sim))
    assert b.status is TaskStatus.COMPLETED
    assert b.queue_s == pytest.approx(3.0, abs=0.01)


def test_with_two_slots_nobody_waits() -> None:
    sim = Simulator(one_server_scenario(t_max_s=7.0, slots=2), np.random.default_rng(0))
    sim.admit(0, half_of_everything(sim))
    b = sim.admit(0, half_of_everything(sim))
    assert b.queue_s == 0.0
    assert b.latency_s == pytest.approx(3.0, abs=0.01)


def test_less_memory_than_the_need_is_out_of_memory() -> None:
    sim = Simulator(one_server_scenario(t_max_s=7.0), np.random.default_rng(0))
    need_share = half_of_everything(sim)[2]
    outcome = sim.admit(0, (0.5, 0.5, need_share * 0.9))
    assert outcome.status is TaskStatus.OUT_OF_MEMORY
    assert sim.servers[0].remaining.memory_bytes == sim.servers[0].capacity.memory_bytes


def test_zero_compute_never_finishes_and_holds_until_the_deadline() -> None:
    sim = Simulator(one_server_scenario(t_max_s=4.0), np.random.default_rng(0))
    need_share = half_of_everything(sim)[2]
    outcome = sim.admit(0, (0.0, 0.5, need_share))
    assert outcome.status is TaskStatus.DEADLINE
    assert outcome.latency_s == math.inf
    assert outcome.released_s == pytest.approx(outcome.arrival_s + 4.0)


def test_memory_need_is_gptj_kv_cache_plus_workspace() -> None:
    scenario = paper_scenario()
    assert kv_cache_bytes_per_token(2) == 2 * 28 * 4096 * 2
    need = memory_need_bytes(100, scenario.workload, scenario.resources)
    expected = (100 + 256) * 458_752 + 64 * 1024 * 1024
    assert float(need) == expected


def test_terminals_reflect_off_the_walls() -> None:
    terminal = Terminal(0, "mobile", (10.0, 10.0, 1.5), (5.0, 0.0), (100.0, 100.0, 500.0))
    assert terminal.position_m(4.0) == (30.0, 10.0, 1.5)
    assert terminal.position_m(20.0) == pytest.approx((90.0, 10.0, 1.5))  # 110 -> 90
    assert terminal.position_m(40.0) == pytest.approx((10.0, 10.0, 1.5))  # back where it began
    assert terminal.distance_m((10.0, 10.0, 1.5), 4.0) == pytest.approx(20.0)


def test_mobile_terminals_move_between_upload_and_download() -> None:
    scenario = paper_scenario(terminals={"n_fixed": 0, "n_mobile": 5, "n_uav": 0})
    sim = Simulator(scenario, np.random.default_rng(3))
    share = sim.current_memory_need_bytes() / sim.servers[1].capacity.memory_bytes
    outcome = sim.admit(1, (0.05, 0.05, share))
    assert outcome.d1_m != pytest.approx(outcome.d2_m, abs=1.0)


actions = st.lists(
    st.tuples(
        st.integers(0, 4),
        st.floats(0.0, 0.3),
        st.floats(0.0, 0.3),
        st.floats(0.0, 0.3),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(actions=actions, seed=st.integers(0, 2**16), t_max=st.sampled_from([3.0, 10.0, 15.0]))
def test_resources_are_conserved_and_never_negative(
    actions: list[tuple[int, float, float, float]], seed: int, t_max: float
) -> None:
    sim = Simulator(
        paper_scenario(n_tasks=len(actions), t_max_s=t_max), np.random.default_rng(seed)
    )
    granted = []
    for server, c, w, m in actions:
        outcome = sim.admit(server, (c, w, m))
        if outcome.status in (TaskStatus.COMPLETED, TaskStatus.DEADLINE):
            granted.append(outcome)
        for s in sim.servers:
            held = [o for o in granted if o.server == s.index and o.released_s > sim.now_s]
            for attr, hold in (
                ("compute_units", sum(o.compute_units for o in held)),
                ("bandwidth_hz", sum(o.bandwidth_hz for o in held)),
                ("memory_bytes", sum(o.memory_bytes for o in held)),
            ):
                cap = getattr(s.capacity, attr)
                rem = getattr(s.remaining, attr)
                assert -1e-9 <= rem <= cap * (1 + 1e-12)
                assert rem + hold == pytest.approx(cap, rel=1e-6)
    sim.drain()
    for s in sim.servers:
        assert s.remaining.memory_bytes == pytest.approx(s.capacity.memory_bytes)
        assert s.remaining.compute_units == pytest.approx(s.capacity.compute_units)


def test_preview_predicts_admit_and_changes_nothing() -> None:
    sim = Simulator(paper_scenario(n_tasks=5), np.random.default_rng(2))
    share = sim.current_memory_need_bytes() / sim.servers[0].capacity.memory_bytes
    table = sim.server_table.copy()
    previewed = sim.preview(0, (0.1, 0.1, share))
    np.testing.assert_array_equal(sim.server_table, table)
    assert sim.pending_events == 0 and sim.next_task == 0
    assert sim.admit(0, (0.1, 0.1, share)) == previewed


def test_a_clone_plays_its_own_future_and_leaves_the_original_as_it_was() -> None:
    scenario = paper_scenario(workload={"arrival": "poisson"}, n_tasks=30)
    sim = Simulator(scenario, np.random.default_rng(3))
    for k in range(10):
        sim.admit(k % sim.scenario.n_servers, (0.05, 0.05, 0.05))
    table, now, pending = sim.server_table.copy(), sim.now_s, sim.pending_events
    twin = sim.clone()
    np.testing.assert_array_equal(twin.server_table, table)
    while not twin.done:
        twin.admit(0, (0.05, 0.05, 0.05))
    twin.drain()
    # The original did not move; the copy's table follows its own servers.
    np.testing.assert_array_equal(sim.server_table, table)
    assert (sim.now_s, sim.pending_events, sim.next_task) == (now, pending, 10)
    assert twin.server_table[:, :3].tolist() == [[1.0, 1.0, 1.0]] * scenario.n_servers
    # The same future played on the original and on a fresh copy gives the same outcomes.
    again = sim.clone()
    assert [sim.admit(1, (0.05, 0.05, 0.05)) for _ in range(5)] == [
        again.admit(1, (0.05, 0.05, 0.05)) for _ in range(5)
    ]
