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
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from cloudedge.config import ScenarioConfig

if TYPE_CHECKING:
    from cloudedge.sim import Simulator

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


@dataclass(frozen=True)
class Range:
    """The values a hyperparameter may take, declared on the agent class and checked by
    :func:`make_agent` before any training (a bad value is one line naming ``agent.<param>``).

    :param low: smallest allowed number (``None``: unbounded).
    :param high: largest allowed number (``None``: unbounded).
    :param low_open: ``low`` itself is not allowed.
    :param high_open: ``high`` itself is not allowed.
    :param integer: only integers (``True``/``False`` are not integers here).
    :param choices: the allowed values when the parameter is categorical (strings, booleans).
    :param each: the value is a non-empty list and the range applies to each element.
    :param also: extra literal values allowed besides the range (e.g. ``"auto"``, ``None``).
    :param schedule: a string ``lin_<x>`` (a linear schedule from ``x``) is allowed, with
        ``x`` in the range.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None
    each: bool = False
    also: tuple[Any, ...] = ()
    schedule: bool = False

    def describe(self) -> str:
        """The allowed values in words, e.g. ``an integer >= 1`` or ``a number in [0, 1)``."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        else:
            kind = "an integer" if self.integer else "a number"
            if self.low is not None and self.high is not None:
                left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
                text = f"{kind} in {left}{self.low:g}, {self.high:g}{right}"
            elif self.low is not None:
                text = f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
            elif self.high is not None:
                text = f"{kind} {'<' if self.high_open else '<='} {self.high:g}"
            else:
                text = kind
            if self.schedule:
                text += " (or 'lin_<x>' with x so)"
        if self.each:
            text = f"a non-empty list, each {text}"
        if self.also:
            text += " or " + " or ".join(repr(a) for a in self.also)
        return text

    def allows(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""
        if any(value is a or (type(value) is type(a) and value == a) for a in self.also):
            return True
        if self.each:
            if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
                return False
            return all(self._allows_one(v) for v in value)
        return self._allows_one(value)

    def _allows_one(self, value: Any) -> bool:
        if self.choices is not None:
            return any(value == c and type(value) is type(c) for c in self.choices)
        if self.schedule and isinstance(value, str) and value.startswith("lin_"):
            try:
                value = float(value[4:])
            except ValueError:
                return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not (isinstance(value, int) or float(value).is_integer()):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (
            self.high is not None and (value > self.high or (self.high_open and value == self.high))
        )


def ranges(**allowed: Range) -> Mapping[str, Range]:
    """A read-only ``name -> Range`` mapping for :attr:`Agent.hyperparameters`."""
    return MappingProxyType(allowed)


class HyperparameterError(ValueError):
    """A hyperparameter outside its declared :class:`Range` (one line, names ``agent.<p>``)."""


#: Ranges shared by several agents (probabilities, discounts, sizes, step sizes).
PROBABILITY = Range(0.0, 1.0)
POSITIVE = Range(0.0, low_open=True)
POSITIVE_INT = Range(1, integer=True)
NON_NEGATIVE = Range(0.0)
NON_NEGATIVE_INT = Range(0, integer=True)
SHARE_LEVELS = Range(0.0, 1.0, low_open=True, each=True)
BOOLEAN = Range(choices=(True, False))


class Agent(ABC):
    """Base class of all agents.

    :param scenario: the scenario the agent is built for (server count, profiles, pass@100).
    :param seed: seed of the agent's own randomness (network initialisation, exploration).
    """

    #: Short name used in configs, logs and CSVs.
    name: str = "agent"
    #: What this agent is (see :class:`Capabilities`); subclasses override it.
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: Allowed values of the constructor's hyperparameters (name -> :class:`Range`), checked
    #: by :func:`make_agent` before the agent is built; subclasses declare their own.
    hyperparameters: ClassVar[Mapping[str, Range]] = {}

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
        """Called before each episode the agent plays in ``env`` (reset per-episode state).

        ``env`` is given for its spaces and configuration only: the simulator state behind it
        is for privileged agents, through :meth:`attach_simulator`.
        """

    def attach_simulator(self, simulator: Simulator) -> None:
        """The one hook through which an agent sees the true simulator state (fading and motion
        to come, exact queues): called by :func:`start_episode` after every reset, and only for
        agents whose :class:`Capabilities` declare ``privileged=True``.

        :raises PermissionError: for an agent that does not declare it.
        """
        raise PermissionError(
            f"{type(self).__name__} is not privileged (capabilities.privileged is False): "
            "it may not read the simulator"
        )

    def save(self, path: str | Path) -> None:  # noqa: B027
        """Write the agent's learned state to ``path`` (agents with none write nothing)."""

    def load(self, path: str | Path) -> None:  # noqa: B027
        """Restore the state written by :meth:`save`."""


def start_episode(
    agent: Agent, env: gym.Env, seed: int | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Start an episode of ``env`` for ``agent``: its :meth:`~Agent.attach` hook, the reset, and,
    for a privileged agent only, the simulator through :meth:`~Agent.attach_simulator`.

    :returns: the reset's observation and info.
    """
    agent.attach(env)
    observation, info = env.reset(seed=seed)
    if agent.capabilities.privileged:
        agent.attach_simulator(env.unwrapped.simulator)
    return observation, info


def evaluate_episode(agent: Agent, env: gym.Env, seed: int) -> dict[str, float]:
    """Play one episode with ``agent.act`` and return its metrics (``info['episode']``)."""
    observation, info = start_episode(agent, env, seed)
    done = False
    while not done:
        observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
        done = terminated or truncated
    return dict(info["episode"])


def make_agent(config: Mapping[str, Any], scenario: ScenarioConfig, seed: int = 0) -> Agent:
    """Build the agent named by ``config['_target_']`` (``"package.module.Class"``).

    :raises ValueError: when ``_target_`` is missing, cannot be imported or is not an Agent,
        or a hyperparameter is outside its declared range (:class:`HyperparameterError`).
    """
    params = dict(config)
    cls = agent_class(params.pop("_target_", None))
    params.pop("name", None)
    check_hyperparameters(cls, params)
    return cls(scenario, seed=seed, **params)


def check_hyperparameters(cls: type[Agent], params: Mapping[str, Any]) -> None:
    """Check ``params`` against ``cls.hyperparameters`` (undeclared ones are left to the
    constructor, which rejects unknown names).

    :raises HyperparameterError: naming the first bad ``agent.<param>`` and its allowed range.
    """
    for key, value in params.items():
        allowed = cls.hyperparameters.get(key)
        if allowed is not None and not allowed.allows(value):
            raise HyperparameterError(f"agent.{key} = {value!r}: allowed {allowed.describe()}")


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
