"""Property-based invariants of the simulator over many seeds and actions (hypothesis).

- eq. 8: a served task's latency is the sum of its terms (upload, propagation, queue, compute,
  download);
- eq. 14: the step reward is ``1/L + P`` for a completed task and 0 otherwise, and a task
  completes exactly when its latency is within t_max;
- latency does not rise with the compute or the bandwidth granted, for every shipped compute
  profile (the clairvoyant bound's proof rests on it: agents/bound.py).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudedge.config import paper_scenario
from cloudedge.env import CloudEdgeEnv
from cloudedge.profiles import available_profiles
from cloudedge.sim import TaskStatus

SERVED = (TaskStatus.COMPLETED, TaskStatus.DEADLINE)
#: Every compute profile the package ships: the paper scenario's parametric curves and the
#: token profiles of cloudedge/data/profiles.
PROFILES = sorted(paper_scenario().compute_profiles) + available_profiles()
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
seeds = st.integers(0, 2**31 - 1)


def random_actions(rng: np.random.Generator, n_servers: int, n: int) -> list[dict]:
    """Shares mostly around a task's nominal 1/20, some large (refusals), some tiny."""
    shares = rng.choice([0.01, 0.05, 0.1, 0.3], size=(n, 3)) * rng.uniform(0.5, 1.5, (n, 3))
    return [{"server": int(j), "share": s.astype(np.float32)}
            for j, s in zip(rng.integers(0, n_servers, n), shares, strict=True)]  # fmt: skip


def scenario_on(profile: str, t_max_s: float = 15.0):
    """The paper scenario with every server on ``profile``."""
    base = paper_scenario(n_tasks=30, t_max_s=t_max_s)
    servers = tuple(dataclasses.replace(s, compute_profile=profile) for s in base.servers)
    return base.replace(servers=servers)


@SETTINGS
@given(seed=seeds, t_max_s=st.sampled_from([3.0, 10.0, 15.0]))
def test_latency_terms_sum_to_eq8_and_reward_is_eq14(seed: int, t_max_s: float) -> None:
    env = CloudEdgeEnv(scenario=paper_scenario(n_tasks=40, t_max_s=t_max_s))
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    done, served = False, 0
    for action in random_actions(rng, env.scenario.n_servers, 40):
        if done:
            break
        _, reward, done, _, info = env.step(action)
        o = info["outcome"]
        if o.status in SERVED and math.isfinite(o.latency_s):
            served += 1
            terms = o.upload_s + o.propagation_s + o.queue_s + o.compute_s + o.download_s
            assert math.isclose(o.latency_s, terms, rel_tol=1e-9, abs_tol=1e-9)
            assert min(o.upload_s, o.propagation_s, o.queue_s, o.compute_s, o.download_s) >= 0
        completed = o.status is TaskStatus.COMPLETED
        assert completed == (o.status in SERVED and o.latency_s <= t_max_s)
        server_pass = env.scenario.servers[o.server].pass_at_100
        expected = 1.0 / o.latency_s + server_pass if completed else 0.0
        assert reward == o.reward
        assert math.isclose(reward, expected, rel_tol=1e-12), (o.status, reward, expected)
        assert o.pass_at_100 == (server_pass if completed else 0.0)
    assert served > 0 or t_max_s < 15.0


@SETTINGS
@given(
    seed=seeds,
    profile=st.sampled_from(PROFILES),
    busy=st.integers(0, 15),
    low=st.tuples(st.floats(0.002, 0.2), st.floats(0.002, 0.2)),
    factor=st.tuples(st.floats(1.0, 4.0), st.floats(1.0, 4.0)),
)
def test_latency_does_not_rise_with_compute_or_bandwidth(
    seed: int, profile: str, busy: int, low: tuple[float, float], factor: tuple[float, float]
) -> None:
    env = CloudEdgeEnv(scenario=scenario_on(profile))
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for action in random_actions(rng, env.scenario.n_servers, busy):  # some queue and load
        env.step(action)
    sim = env.simulator
    c1, w1 = low
    c2, w2 = c1 * factor[0], w1 * factor[1]
    for server in range(env.scenario.n_servers):
        small = sim.preview(server, (c1, w1, 0.3))
        large = sim.preview(server, (c2, w2, 0.3))
        if small.status not in SERVED or large.status not in SERVED:
            continue  # refused (not enough left): no latency to compare
        assert large.latency_s <= small.latency_s * (1 + 1e-9), (profile, server, small, large)
        assert large.compute_s <= small.compute_s * (1 + 1e-12)
