"""The one agent interface every agent (ours, library baselines, heuristics) implements.

The harness uses every agent the same way::

    agent = make_agent({"_target_": "agents.heuristics.RoundRobinAgent"}, scenario)
    agent.learn(env, n_episodes=200, seed=0, on_episode=print)   # no-op for heuristics
    metrics = evaluate_episode(agent, env, seed=123)
    agent.save(path); agent.load(path)

Adding an agent is one file (a subclass of :class:`Agent`) plus one config in ``conf/agent/``
whose ``_target_`` names the class (Hydra's convention; the other keys are its parameters).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from cloudedge.config import ScenarioConfig

#: Called after every training episode with (episode index, that episode's metrics).
EpisodeCallback = Callable[[int, dict[str, float]], None]

#: A raw action of :class:`cloudedge.env.CloudEdgeEnv`: ``{"server": int, "share": (3,)}``.
Action = dict[str, Any]


#: The action interfaces an agent can act through: the env's raw ``Dict`` action, or one of
#: the flat wrappers in :mod:`cloudedge.wrappers`.
ActionInterface = Literal["dict", "discrete", "box"]


@dataclass(frozen=True)
class Capabilities:
    """What an agent is, declared once on its class and read by every stage of the harness.

    :param learns: it trains (``learn`` changes its policy), so it has seeds that matter, a
        saved policy, training curves and noisy (not exact) regression bands.
    :param paper_baseline: it is one of the paper's agents (AIF, Rainbow DQN, PPO, SAC,
        GP-NFSP); the paper's claims are judged over these.
    :param action_interface: the action space it acts in (``"dict"``, ``"discrete"``, ``"box"``).
    :param privileged: it reads the true simulator state (what no deployable agent can see)
        through :meth:`Agent.attach_simulator`; its scores are references, not competitors.
    """

    learns: bool = False
    paper_baseline: bool = False
    action_interface: ActionInterface = "dict"
    privileged: bool = False


class Agent(ABC):
    """Base class of all agents.

    :param scenario: the scenario the agent is built for (server count, profiles, pass@100).
    :param seed: seed of the agent's own randomness (network initialisation, exploration).
    """

    #: Short name used in configs, logs and CSVs.
    name: str = "agent"
    #: What this agent is (see :class:`Capabilities`); subclasses override it.
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, scenario: ScenarioConfig, seed: int = 0) -> None:
        self.scenario = scenario
        self.n_servers = scenario.n_servers
        self.seed = seed

    def learn(
        self,
        env: gym.Env,
        n_episodes: int,
        seed: int,
        on_episode: EpisodeCallback | None = None,
    ) -> None:
        """Train on ``env`` for ``n_episodes`` episodes (seeded ``seed, seed+1, ...``).

        The default does not learn: it only plays the episodes so that ``on_episode`` still
        reports one metrics row per episode, comparable with learning agents' curves.
        """
        for episode in range(n_episodes):
            metrics = evaluate_episode(self, env, seed + episode)
            if on_episode is not None:
                on_episode(episode, metrics)

    @abstractmethod
    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        """The raw action for the current task (deterministic where the algorithm allows)."""

    def attach(self, env: gym.Env) -> None:  # noqa: B027 (an optional hook, empty by design)
        """Called before each episode the agent plays in ``env``. Only agents that may look at
        the simulator itself (the myopic oracle) use it."""

    def save(self, path: str | Path) -> None:  # noqa: B027
        """Write the agent's learned state to ``path`` (agents with none write nothing)."""

    def load(self, path: str | Path) -> None:  # noqa: B027
        """Restore the state written by :meth:`save`."""


def evaluate_episode(agent: Agent, env: gym.Env, seed: int) -> dict[str, float]:
    """Play one episode with ``agent.act`` and return its metrics (``info['episode']``)."""
    agent.attach(env)
    observation, info = env.reset(seed=seed)
    done = False
    while not done:
        observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
        done = terminated or truncated
    return dict(info["episode"])


def make_agent(config: Mapping[str, Any], scenario: ScenarioConfig, seed: int = 0) -> Agent:
    """Build the agent named by ``config['_target_']`` (``"package.module.Class"``).

    :raises ValueError: when ``_target_`` is missing, cannot be imported or is not an Agent.
    """
    params = dict(config)
    cls = agent_class(params.pop("_target_", None))
    params.pop("name", None)
    return cls(scenario, seed=seed, **params)


def agent_capabilities(config: Mapping[str, Any]) -> Capabilities:
    """The :class:`Capabilities` of the agent an agent config (with ``_target_``) builds."""
    return agent_class(config.get("_target_")).capabilities


def agent_class(target: object) -> type[Agent]:
    """The :class:`Agent` subclass a ``_target_`` (``"package.module.Class"``) names.

    :raises ValueError: when it is malformed, cannot be imported or is not an Agent.
    """
    if not isinstance(target, str) or "." not in target:
        raise ValueError(f"agent config needs '_target_: package.module.Class', got {target!r}")
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"agent _target_ {target!r} cannot be imported: {err}") from None
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise ValueError(f"agent _target_ {target!r} is not a subclass of agents.base.Agent")
    return cls
