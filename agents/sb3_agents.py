"""DRL baselines from Stable-Baselines3 (PPO, SAC) and sb3-contrib (QR-DQN).

Each class wraps one library algorithm behind :class:`agents.torch_base.TorchAgent` (device,
action decoding, save/load):

* :class:`PPOAgent`: PPO on :class:`~cloudedge.wrappers.DiscreteActionWrapper` by default.
  The paper's action ``[j, c_j, w_j, m_j]`` is hybrid, and its server choice ``j`` is
  categorical; with discrete share levels the whole action becomes one categorical choice, so
  PPO's categorical policy represents it exactly (a Gaussian over a Box would have to encode
  the server as an argmax of scores, which its log-likelihood does not see). ``action_space:
  box`` selects :class:`~cloudedge.wrappers.BoxActionWrapper` instead. Evaluated by sampling
  (``eval_mode: sampled``), as it trains: at a short budget the policy is still a mixture and
  its mode is not what earned its training reward.
* :class:`SACAgent`: SAC on :class:`~cloudedge.wrappers.BoxActionWrapper` (SAC needs a Box),
  the continuous counterpart of the discrete set (server scores + one log-scaled share
  level with the same memory rule). Evaluated greedily (the mean action), SAC's usual
  evaluation: its entropy-regularised critic learns the value of the greedy mean too.
* :class:`QRDQNAgent`: QR-DQN on :class:`~cloudedge.wrappers.DiscreteActionWrapper`,
  evaluated greedily (value-based).

Training (``learn``) runs ``n_episodes * n_tasks`` environment steps (one step is one task)
and reports each finished episode's ``info['episode']`` through ``on_episode``; it stops after
exactly ``n_episodes`` episodes even where the algorithm's rollout length would overshoot
(PPO then skips the update of that last partial rollout).

Seeding: the model gets the agent's ``seed`` (network initialisation, exploration; SB3 seeds
Python, NumPy and torch with it). The environment's episodes are seeded ``seed, seed+1, ...``
(``seed`` of ``learn``) by :class:`EpisodeSeedWrapper`, which calls ``reset(seed=seed + k)``
on the k-th reset whatever seed SB3's vectorised env passes (SB3 seeds only the first reset and
then continues the env's generator), so training episodes match those that
:meth:`agents.base.Agent.learn` and :func:`agents.base.evaluate_episode` would play.

``save``/``load`` (:class:`~agents.torch_base.TorchAgent`) write the state dicts of what SB3
itself saves (policy with target networks, optimisers, SAC's entropy coefficient) with one
``torch.save`` at exactly the given path. Hyperparameters come from
``conf/agent/{ppo,sac,qrdqn}.yaml``; any keyword the library's constructor accepts may be given
(``lin_<x>`` strings are linear schedules from ``x`` to 0, as in the RL Zoo).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import QRDQN
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution
from stable_baselines3.common.save_util import recursive_getattr
from stable_baselines3.common.utils import LinearSchedule, set_random_seed

from agents.base import (
    BOOLEAN,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    SHARE_LEVELS,
    Action,
    Capabilities,
    EpisodeCallback,
    Range,
    ranges,
)
from agents.torch_base import Stateful, TensorState, TorchAgent, sample_index
from cloudedge.config import ScenarioConfig
from cloudedge.env import CloudEdgeEnv
from cloudedge.wrappers import DEFAULT_SHARE_LEVELS, MemoryGrant

#: Where :class:`EpisodeSeedWrapper` keeps the env's episode metrics: SB3's ``Monitor``
#: wrapper overwrites ``info['episode']`` with its own ``{r, l, t}`` summary.
METRICS_KEY = "cloudedge_episode"

_ACTIVATIONS: dict[str, type[torch.nn.Module]] = {
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "elu": torch.nn.ELU,
    "leaky_relu": torch.nn.LeakyReLU,
}


class EpisodeSeedWrapper(gym.Wrapper):
    """Seed the k-th episode with ``first_seed + k`` and keep the env's episode metrics.

    :param env: the (action-wrapped) environment.
    :param first_seed: seed of the first episode.
    """

    def __init__(self, env: gym.Env, first_seed: int) -> None:
        super().__init__(env)
        self.first_seed = int(first_seed)
        self.n_resets = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        kwargs["seed"] = self.first_seed + self.n_resets
        self.n_resets += 1
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        if "episode" in info:
            info[METRICS_KEY] = dict(info["episode"])
        return obs, reward, terminated, truncated, info


class EpisodeMetricsCallback(BaseCallback):
    """Call ``on_episode(i, metrics)`` per finished training episode; stop after ``n_episodes``.

    :param n_episodes: episodes to train for.
    :param on_episode: the harness's callback (may be None).
    """

    def __init__(self, n_episodes: int, on_episode: EpisodeCallback | None) -> None:
        super().__init__(verbose=0)
        self.n_episodes = n_episodes
        self.on_episode = on_episode
        self.n_finished = 0

    def _on_step(self) -> bool:
        for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
            if done and METRICS_KEY in info:
                if self.on_episode is not None:
                    self.on_episode(self.n_finished, dict(info[METRICS_KEY]))
                self.n_finished += 1
        # Returning False ends model.learn(): never train on more episodes than asked.
        return self.n_finished < self.n_episodes


def _schedule(value: Any) -> Any:
    """``"lin_<x>"`` (the RL Zoo's notation) becomes a linear schedule from x to 0."""
    if isinstance(value, str) and value.startswith("lin_"):
        return LinearSchedule(start=float(value[4:]), end=0.0, end_fraction=1.0)
    return value


def _policy_kwargs(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Config-friendly ``policy_kwargs``: ``activation_fn`` may be a name (``"tanh"``)."""
    kwargs = dict(config or {})
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"policy_kwargs.activation_fn = {activation!r}: allowed {sorted(_ACTIVATIONS)}"
            )
        kwargs["activation_fn"] = _ACTIVATIONS[activation]
    return kwargs


class SB3Agent(TorchAgent):
    """An SB3 algorithm behind the agent interface (subclasses fix the algorithm).

    :param scenario: the scenario (server count fixes the action and observation sizes).
    :param seed: seed of the model (network initialisation, exploration).
    :param action_space: ``"discrete"`` (:class:`DiscreteActionWrapper`) or ``"box"``
        (:class:`BoxActionWrapper`); restricted by the algorithm.
    :param share_levels: share levels of the wrappers (the Box level's range too).
    :param memory_grant: how the wrappers grant memory (:data:`~cloudedge.wrappers.MemoryGrant`).
    :param device: torch device; ``"auto"`` takes a GPU when one is present.
    :param eval_mode: ``"sampled"`` or ``"greedy"`` (SB3's ``deterministic=True``); None keeps
        the algorithm's default (how it acts in training, see the subclasses).
    :param policy: SB3 policy name.
    :param policy_kwargs: SB3 ``policy_kwargs`` (``net_arch``, ``activation_fn`` by name...).
    :param hyperparameters: any other keyword of the algorithm's constructor.
    """

    algorithm: ClassVar[type[BaseAlgorithm]]
    allowed_action_spaces: ClassVar[tuple[str, ...]] = ("discrete",)
    allowed_eval_modes: ClassVar[tuple[str, ...]] = ("greedy",)

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        *,
        action_space: str | None = None,
        share_levels: Sequence[float] = DEFAULT_SHARE_LEVELS,
        memory_grant: MemoryGrant = "need",
        device: str = "auto",
        eval_mode: str | None = None,
        policy: str = "MlpPolicy",
        policy_kwargs: Mapping[str, Any] | None = None,
        **hyperparameters: Any,
    ) -> None:
        kind = action_space or self.allowed_action_spaces[0]
        if kind not in self.allowed_action_spaces:
            raise ValueError(
                f"action_space = {action_space!r} for {self.name}: "
                f"allowed {list(self.allowed_action_spaces)}"
            )
        if eval_mode is not None and eval_mode not in self.allowed_eval_modes:
            raise ValueError(
                f"eval_mode = {eval_mode!r} for {self.name}: "
                f"allowed {list(self.allowed_eval_modes)}"
            )
        super().__init__(
            scenario,
            seed,
            action_interface=kind,  # type: ignore[arg-type]
            share_levels=share_levels,
            memory_grant=memory_grant,
            device=device,
            eval_mode=eval_mode,
        )
        params = {key: _schedule(value) for key, value in hyperparameters.items()}
        # A model exists from the start (built on an env of the same scenario), so that an
        # untrained agent can act and load() has something to restore into.
        self.model: BaseAlgorithm = self.algorithm(
            policy,
            self.wrap(CloudEdgeEnv(scenario)),
            seed=seed,
            device=self.device,
            policy_kwargs=_policy_kwargs(policy_kwargs),
            verbose=0,
            **params,
        )

    def learn(
        self,
        env: gym.Env,
        n_episodes: int,
        seed: int,
        on_episode: EpisodeCallback | None = None,
    ) -> None:
        """Train ``n_episodes`` episodes (``n_episodes * n_tasks`` steps), seeded ``seed, ...``."""
        if n_episodes < 1:
            return
        n_tasks = env.unwrapped.scenario.n_tasks
        self.model.set_env(EpisodeSeedWrapper(self.wrap(env), seed))
        # Re-seed the global generators so that training does not depend on what ran between
        # construction and now.
        set_random_seed(self.seed, using_cuda=self.model.device.type == "cuda")
        self.model.action_space.seed(self.seed)
        self.model.learn(
            total_timesteps=n_episodes * n_tasks,
            callback=EpisodeMetricsCallback(n_episodes, on_episode),
        )

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        """The model's action (sampled or greedy, :attr:`eval_mode`), decoded to a raw action."""
        if self.sampled:
            action = self._sample(observation, self.sampling_rng(observation, info))
        else:
            action, _ = self.model.predict(observation, deterministic=True)
        return self.decode(action, observation)

    def _sample(self, observation: np.ndarray, rng: np.random.Generator) -> Any:
        """A draw from the policy's action distribution with ``rng`` (what SB3's
        ``predict(deterministic=False)`` draws with torch's global generator)."""
        policy = self.model.policy
        obs_t, _ = policy.obs_to_tensor(observation)
        with torch.no_grad():
            if hasattr(policy, "get_distribution"):  # actor-critic policies (PPO)
                dist = policy.get_distribution(obs_t)
            else:  # SAC: the actor holds the distribution
                mean, log_std, _ = policy.actor.get_action_dist_params(obs_t)
                dist = policy.actor.action_dist.proba_distribution(mean, log_std)
        inner = dist.distribution
        if isinstance(inner, torch.distributions.Categorical):
            return sample_index(inner.probs[0].cpu().numpy(), rng)
        if isinstance(inner, torch.distributions.Normal):
            draw = rng.normal(inner.loc[0].cpu().numpy(), inner.scale[0].cpu().numpy())
            if isinstance(dist, SquashedDiagGaussianDistribution):
                draw = np.tanh(draw)
            if policy.squash_output:
                return policy.unscale_action(draw)
            space = self.model.action_space
            return np.clip(draw, space.low, space.high)
        raise TypeError(f"{self.name}: cannot sample from {type(inner).__name__}")

    def torch_state(self) -> dict[str, Stateful]:
        """SB3's own list of what it saves (``_get_torch_save_params``): the policy (with its
        target networks), the optimisers and loose tensors such as SAC's entropy coefficient."""
        modules, tensors = self.model._get_torch_save_params()
        state: dict[str, Stateful] = {name: recursive_getattr(self.model, name) for name in modules}
        for name in tensors:
            state[name] = TensorState(recursive_getattr(self.model, name))
        return state


class PPOAgent(SB3Agent):
    """PPO (Schulman et al. 2017) from Stable-Baselines3; discrete actions by default,
    evaluated by sampling (as it trains)."""

    name = "ppo"
    capabilities = Capabilities(learns=True, paper_baseline=True, action_interface="discrete")
    eval_mode = "sampled"
    hyperparameters = ranges(
        share_levels=SHARE_LEVELS,
        n_steps=Range(2, integer=True),
        batch_size=Range(2, integer=True),
        n_epochs=POSITIVE_INT,
        gamma=PROBABILITY,
        gae_lambda=PROBABILITY,
        learning_rate=Range(0.0, 1.0, schedule=True),
        clip_range=Range(0.0, low_open=True, schedule=True),
        ent_coef=NON_NEGATIVE,
        vf_coef=NON_NEGATIVE,
        max_grad_norm=POSITIVE,
        normalize_advantage=BOOLEAN,
    )
    algorithm = PPO
    allowed_action_spaces = ("discrete", "box")
    allowed_eval_modes = ("sampled", "greedy")


class SACAgent(SB3Agent):
    """SAC (Haarnoja et al. 2018) from Stable-Baselines3, on the Box action wrapper, evaluated
    greedily (the mean action)."""

    name = "sac"
    capabilities = Capabilities(learns=True, paper_baseline=True, action_interface="box")
    hyperparameters = ranges(
        share_levels=SHARE_LEVELS,
        learning_rate=Range(0.0, 1.0, schedule=True),
        buffer_size=POSITIVE_INT,
        learning_starts=NON_NEGATIVE_INT,
        batch_size=POSITIVE_INT,
        tau=Range(0.0, 1.0, low_open=True),
        gamma=PROBABILITY,
        n_steps=POSITIVE_INT,
        train_freq=POSITIVE_INT,
        gradient_steps=Range(-1, integer=True, also=()),
        ent_coef=Range(0.0, also=("auto",)),
        target_entropy=Range(also=("auto",)),
    )
    algorithm = SAC
    allowed_action_spaces = ("box",)
    allowed_eval_modes = ("greedy", "sampled")


class QRDQNAgent(SB3Agent):
    """QR-DQN (Dabney et al. 2018) from sb3-contrib, on the discrete action wrapper, evaluated
    greedily (value-based: no policy to sample)."""

    name = "qrdqn"
    capabilities = Capabilities(learns=True, action_interface="discrete")
    hyperparameters = ranges(
        share_levels=SHARE_LEVELS,
        learning_rate=Range(0.0, 1.0, schedule=True),
        batch_size=POSITIVE_INT,
        buffer_size=POSITIVE_INT,
        learning_starts=NON_NEGATIVE_INT,
        gamma=PROBABILITY,
        n_steps=POSITIVE_INT,
        target_update_interval=POSITIVE_INT,
        train_freq=POSITIVE_INT,
        gradient_steps=Range(-1, integer=True),
        exploration_fraction=PROBABILITY,
        exploration_initial_eps=PROBABILITY,
        exploration_final_eps=PROBABILITY,
        tau=Range(0.0, 1.0, low_open=True),
        max_grad_norm=Range(0.0, low_open=True, also=(None,)),
    )
    algorithm = QRDQN
    allowed_action_spaces = ("discrete",)


__all__ = [
    "METRICS_KEY",
    "EpisodeMetricsCallback",
    "EpisodeSeedWrapper",
    "PPOAgent",
    "QRDQNAgent",
    "SACAgent",
    "SB3Agent",
]
