"""Steps per second of the cloud-edge env vs Gymnasium's CartPole-v1, and scaling with servers.

Run: ``.venv/bin/python -m benchmarks.env_throughput [--steps N]``. Actions are drawn up front
(uniform server, shares uniform in [0, 0.1] with the memory share at 1/20), so that only the
environments are timed. Both envs are built with ``gymnasium.make`` (same wrappers).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import cloudedge
from cloudedge.config import ServerConfig, paper_scenario


def steps_per_second(env: gym.Env, actions: list, seed: int = 0) -> float:
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return len(actions) / (time.perf_counter() - start)


def cloudedge_actions(n_servers: int, n_steps: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    servers = rng.integers(0, n_servers, size=n_steps)
    shares = rng.uniform(0.0, 0.1, size=(n_steps, 3)).astype(np.float32)
    shares[:, 2] = 0.05
    return [{"server": int(j), "share": s} for j, s in zip(servers, shares, strict=True)]


def scenario_with_edges(n_edges: int):
    share = 1.0 / (n_edges + 1)
    servers = [
        ServerConfig(
            name="cloud",
            kind="cloud",
            position_m=(1000.0, 1000.0, 30.0),
            resource_share=share,
            parallel_slots=32,
            compute_profile="a800_triton",
            pass_at_100=0.1159,
            accelerated=True,
        )
    ]
    rng = np.random.default_rng(0)
    for i in range(n_edges):
        x, y = rng.uniform(0.0, 2000.0, 2)
        servers.append(
            ServerConfig(
                name=f"edge{i}",
                kind="edge",
                position_m=(x, y, 25.0),
                resource_share=share,
                parallel_slots=32,
                compute_profile="rtx3090_plain",
                pass_at_100=0.1892,
            )
        )
    # the last share absorbs rounding so that shares sum to exactly 1
    servers[-1] = ServerConfig(**{**servers[-1].__dict__, "resource_share": 1.0 - share * n_edges})
    return paper_scenario(
        servers=servers,
        resources={"reference_tasks": 20 * (n_edges + 1)},
        n_tasks=20 * (n_edges + 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=50_000)
    args = parser.parse_args()

    cartpole = gym.make("CartPole-v1")
    cp_rate = steps_per_second(
        cartpole, [int(a) for a in np.random.default_rng(0).integers(0, 2, args.steps)]
    )
    ours = gym.make(cloudedge.ENV_ID)
    our_rate = steps_per_second(ours, cloudedge_actions(5, args.steps))
    print(f"CartPole-v1:              {cp_rate:>10,.0f} steps/s")
    print(f"cloudedge/LLMOffload-v1:  {our_rate:>10,.0f} steps/s")
    print(f"ratio (ours / CartPole):  {our_rate / cp_rate:>10.3f}   (target >= 0.25)")
    print()
    print("cost per step vs number of edge servers (paper scenario scaled, 20 tasks per server):")
    base = None
    for n_edges in (4, 16, 64):
        env = gym.make(cloudedge.ENV_ID, scenario=scenario_with_edges(n_edges))
        rate = steps_per_second(env, cloudedge_actions(n_edges + 1, args.steps // 2))
        us = 1e6 / rate
        base = base or us
        print(
            f"  {n_edges:>3} edges: {us:8.1f} us/step  ({us / base:5.2f} x the 4-edge cost, "
            f"servers x{(n_edges + 1) / 5:.1f})"
        )


if __name__ == "__main__":
    main()
