"""The base of the torch agents (Rainbow, GP-NFSP, the SB3 agents): what they share, once.

* **device**: :func:`get_device`, Stable-Baselines3's rule (``"auto"`` is the GPU when one is
  present, a GPU asked for without one falls back to the CPU).
* **action decoding**: every torch agent acts through one flat interface of
  :mod:`cloudedge.wrappers`; it trains on that wrapper (:meth:`TorchAgent.wrap`) and decodes its
  evaluation actions with the same :class:`~cloudedge.wrappers.ActionDecoder`
  (:meth:`TorchAgent.decode`), so training and evaluation grant the same shares for the same
  network output.
* **evaluation mode**: :attr:`TorchAgent.eval_mode` says how ``act`` picks an action:
  ``"sampled"`` (draws from the policy, as policy-gradient agents train) or ``"greedy"`` (the
  best action, as value-based agents are evaluated). The harness writes it into the CSVs.
  Sampling draws from :meth:`TorchAgent.sampling_rng`, re-seeded at each episode's first task
  from that task's observation and info (functions of the episode seed),
  so a sampled evaluation is the same for the same seeds.
* **save/load**: :meth:`TorchAgent.torch_state` names the objects with a ``state_dict``
  (networks, optimisers); :meth:`save` writes all of them with one ``torch.save`` at exactly
  the given path and :meth:`load` restores them.
"""

from __future__ import annotations

import zlib
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np
import torch

from agents.base import Action, Agent
from cloudedge.config import ScenarioConfig
from cloudedge.observation import ObservationLayout
from cloudedge.wrappers import (
    DEFAULT_SHARE_LEVELS,
    ActionDecoder,
    BoxActionWrapper,
    DiscreteActionWrapper,
    FlatInterface,
    MemoryGrant,
)

#: How an agent acts at evaluation (the harness's ``eval_mode`` CSV column).
EvalMode = Literal["sampled", "greedy"]
EVAL_MODES: tuple[str, ...] = ("sampled", "greedy")


class Stateful(Protocol):
    """Anything with torch's ``state_dict`` / ``load_state_dict`` (modules, optimisers)."""

    def state_dict(self) -> Mapping[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> Any: ...


class TensorState:
    """A bare tensor (e.g. SAC's log entropy coefficient) as a :class:`Stateful`.

    :param tensor: the tensor, restored in place.
    """

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"value": self.tensor.detach().clone()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        with torch.no_grad():
            self.tensor.copy_(state_dict["value"])


def get_device(device: torch.device | str = "auto") -> torch.device:
    """Stable-Baselines3's ``utils.get_device``: ``"auto"`` -> CUDA when available; CUDA
    asked for on a machine without it -> CPU."""
    resolved = torch.device("cuda" if device == "auto" else device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return resolved


def sample_index(probabilities: np.ndarray, rng: np.random.Generator) -> int:
    """Draw an index from a probability vector (renormalised against rounding)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return int(rng.choice(len(p), p=p / p.sum()))


class TorchAgent(Agent):
    """An agent with torch networks acting through a flat action interface.

    :param scenario: the scenario (server count fixes the action and observation sizes).
    :param seed: seed of the agent's randomness (initialisation, exploration, sampling).
    :param action_interface: ``"discrete"`` or ``"box"`` (:mod:`cloudedge.wrappers`).
    :param share_levels: the wrappers' share levels.
    :param memory_grant: how the wrappers grant memory (:data:`~cloudedge.wrappers.MemoryGrant`).
    :param device: torch device; ``"auto"`` takes a GPU when one is present.
    :param eval_mode: ``"sampled"`` or ``"greedy"``; None keeps the class's default (how the
        algorithm acts in training).
    """

    #: How ``act`` picks at evaluation unless the config says otherwise.
    eval_mode: str = "greedy"

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        *,
        action_interface: FlatInterface,
        share_levels: Sequence[float] = DEFAULT_SHARE_LEVELS,
        memory_grant: MemoryGrant = "need",
        device: str = "auto",
        eval_mode: str | None = None,
    ) -> None:
        super().__init__(scenario, seed)
        mode = type(self).eval_mode if eval_mode is None else eval_mode
        if mode not in EVAL_MODES:
            raise ValueError(f"eval_mode = {eval_mode!r}: allowed {list(EVAL_MODES)}")
        self.eval_mode = mode
        self.decoder = ActionDecoder(scenario.n_servers, tuple(share_levels), memory_grant)
        self.decoder.space(action_interface)  # rejects an unknown interface
        self.action_interface: FlatInterface = action_interface
        self.share_levels = self.decoder.share_levels
        self.layout = ObservationLayout(scenario.n_servers)
        self.device = get_device(device)
        self._sampling_rng = np.random.default_rng(seed)

    # -- actions ----------------------------------------------------------------------------
    def wrap(self, env: gym.Env) -> gym.Env:
        """``env`` behind the agent's flat action wrapper (for training)."""
        if self.action_interface == "discrete":
            return DiscreteActionWrapper(env, self.share_levels, self.decoder.memory_grant)
        return BoxActionWrapper(env, self.share_levels, self.decoder.memory_grant)

    def decode(self, action: Any, observation: np.ndarray) -> Action:
        """The raw action of flat ``action`` for ``observation`` (the wrappers' decoder)."""
        return self.decoder.decode(self.action_interface, action, observation)

    @property
    def sampled(self) -> bool:
        """Whether ``act`` samples (``eval_mode == "sampled"``)."""
        return self.eval_mode == "sampled"

    def sampling_rng(self, observation: np.ndarray, info: Mapping[str, Any]) -> np.random.Generator:
        """The generator of sampled actions, re-seeded at each episode's first task.

        The seed is made of the first task's observation, arrival time and terminal: all drawn
        from the episode's seed, so the same evaluation seed gives the same samples whatever ran
        before, without the harness passing the seed in. The agent's own seed is left out, so a
        policy reloaded into an agent built with another seed plays the same episodes alike
        (and agents compared on the same episodes share their random numbers).
        """
        if int(info.get("task_index", -1)) == 0:
            first = np.ascontiguousarray(observation, dtype=np.float32).tobytes()
            first += np.array([info.get("now_s", 0.0)], dtype=np.float64).tobytes()
            digest = zlib.crc32(first) ^ int(info.get("terminal_id", 0))
            self._sampling_rng = np.random.default_rng(digest)
        return self._sampling_rng

    # -- persistence ------------------------------------------------------------------------
    @abstractmethod
    def torch_state(self) -> dict[str, Stateful]:
        """The objects whose state :meth:`save` writes, by name (networks, optimisers)."""

    def save(self, path: str | Path) -> None:
        """``torch.save`` of every :meth:`torch_state` object's state dict, at exactly ``path``."""
        torch.save({name: obj.state_dict() for name, obj in self.torch_state().items()}, path)

    def load(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote (the agent must be built with the same config).

        :raises ValueError: when the file lacks a state this agent has.
        """
        state = torch.load(path, map_location=self.device, weights_only=True)
        objects = self.torch_state()
        missing = sorted(set(objects) - set(state))
        if missing:
            raise ValueError(f"{path}: no saved state for {missing} (saved: {sorted(state)})")
        for name, obj in objects.items():
            obj.load_state_dict(state[name])
        self.after_load()

    def after_load(self) -> None:
        """Called after :meth:`load` (e.g. to reset recurrent state)."""


__all__ = [
    "EVAL_MODES",
    "EvalMode",
    "Stateful",
    "TensorState",
    "TorchAgent",
    "get_device",
    "sample_index",
]
