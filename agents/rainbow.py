"""Rainbow DQN (Hessel et al., AAAI 2018) from Tianshou 2.0.1, on the discrete action wrapper.

All six parts come from Tianshou; this module only assembles them and runs the loop:

1. **double Q**: ``C51._target_dist`` picks ``argmax_a Q_online(s', a)`` and takes that
   action's distribution from the target network (``target_update_freq`` > 0 is required).
2. **prioritised replay**: :class:`tianshou.data.PrioritizedReplayBuffer` (priorities
   ``p_i^alpha`` from the per-sample cross-entropy, importance weights ``(p_i/p_min)^-beta``
   with beta annealed linearly from ``beta`` to ``beta_final`` over the run).
3. **dueling heads**: :class:`tianshou.utils.net.common.Net` with ``dueling_param``:
   ``Z(s, a) = softmax(V(s) + A(s, a) - mean_a A(s, a))`` per atom.
4. **n-step returns**: ``Algorithm.compute_nstep_return`` gives
   ``R_t^(n) = sum_{k<n} gamma^k r_{t+k}`` plus ``gamma^n z`` on the support.
5. **distributional C51**: :class:`tianshou.algorithm.C51Policy` (``num_atoms`` atoms on
   ``[v_min, v_max]``) and the categorical projection of ``C51._target_dist``.
6. **noisy nets**: :class:`tianshou.utils.net.discrete.NoisyLinear` (factorised Gaussian
   noise, initial std ``noisy_std``) in both dueling streams; ``RainbowDQN`` resamples the
   noise of the online and target networks before each update.

Two things in Tianshou 2.0.1 would make this a weaker Rainbow, so we work around them:

* ``C51._target_dist`` takes the next-state distribution at ``batch.obs_next``, i.e.
  ``s_{t+1}``, while the n-step return it is paired with bootstraps from ``s_{t+n}``. For
  ``n_step > 1`` that mixes two states. :class:`_NStepRainbowDQN` sets ``obs_next`` of the
  sampled batch to the observation ``n`` steps ahead (truncated at the episode end, exactly
  the index ``compute_nstep_return`` bootstraps from) before the library computes the target.
* Tianshou's ``Collector`` switches the policy to ``eval()`` while it collects, and
  ``NoisyLinear`` uses its mean weights in eval mode, so noisy nets would never explore. We
  therefore collect with our own loop: the online network acts in train mode with a fresh
  noise sample per decision (NoisyNet paper, Fortunato et al. 2018: "an independent sample
  for the online network, acting greedily"), plus optional epsilon-greedy (``eps_training``,
  0 in Rainbow). The loop also gives exact per-episode seeding (``seed, seed+1, ...``) and
  the env's ``info['episode']`` to ``on_episode``.

Evaluation (:meth:`RainbowAgent.act`) is greedy on the mean weights (eval mode, no noise;
``eval_mode`` ``"greedy"``: value-based). ``save``/``load``
(:class:`~agents.torch_base.TorchAgent`) use ``torch.save`` of the algorithm's ``state_dict``
(networks, target network and optimiser state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from tianshou.algorithm import RainbowDQN
from tianshou.algorithm.modelfree.c51 import C51Policy
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Batch, PrioritizedReplayBuffer, ReplayBuffer
from tianshou.data.types import RolloutBatchProtocol
from tianshou.utils.net.common import Net
from tianshou.utils.net.discrete import NoisyLinear
from tianshou.utils.torch_utils import policy_within_training_step, torch_train_mode

from agents.base import (
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
from agents.torch_base import Stateful, TorchAgent
from cloudedge.config import ScenarioConfig
from cloudedge.entities import resolve_compute_profile
from cloudedge.profiles import ComputeProfile
from cloudedge.wrappers import DEFAULT_SHARE_LEVELS, MemoryGrant


def _fastest_compute_s(scenario: ScenarioConfig, profile_name: str) -> float:
    """The smallest compute time (s) a server with this ``compute_profile`` can reach."""
    profile = resolve_compute_profile(scenario, profile_name)
    if isinstance(profile, ComputeProfile):  # token profile: tabulated times
        return float(np.min(profile.times_s))
    return float(profile.floor_s)


def max_return_bound(scenario: ScenarioConfig, gamma: float) -> float:
    """An upper bound of the discounted return of one episode of ``scenario``.

    A completed task earns ``1/L + P`` (eq. 14) with ``L`` at least the smallest compute time
    any of the scenario's servers can reach (a calibrated profile's ``floor_s``; a token
    profile's smallest tabulated time, which its interpolation never goes below) and ``P`` at
    most the largest pass@100; at most ``n_tasks`` tasks follow any state, so the return is
    below ``r_max * sum_{k<n_tasks} gamma^k``.
    """
    floors = [_fastest_compute_s(scenario, s.compute_profile) for s in scenario.servers]
    r_max = 1.0 / min(floors) + max(s.pass_at_100 for s in scenario.servers)
    n = scenario.n_tasks
    horizon = float(n) if gamma >= 1.0 else (1.0 - gamma**n) / (1.0 - gamma)
    return r_max * horizon


class _NStepRainbowDQN(RainbowDQN):
    """Tianshou's :class:`RainbowDQN` whose target distribution is taken ``n`` steps ahead.

    ``compute_nstep_return`` bootstraps from the transition at ``next^(n-1)(i)`` (``buffer.next``
    stops at the episode's last transition), so the matching next state is that transition's
    ``obs_next``: ``s_{t+n}``, or the terminal observation, whose value the library masks.
    """

    def _preprocess_batch(
        self, batch: RolloutBatchProtocol, buffer: ReplayBuffer, indices: np.ndarray
    ) -> RolloutBatchProtocol:
        batch = super()._preprocess_batch(batch, buffer, indices)
        ahead = indices
        for _ in range(self.n_step - 1):
            ahead = buffer.next(ahead)
        batch.obs_next = buffer[ahead].obs_next
        return batch


class RainbowAgent(TorchAgent):
    """Rainbow DQN (all six components, Tianshou 2.0.1) on ``Discrete(N * L)``.

    :param scenario: the scenario (server count fixes the network's input and output sizes).
    :param seed: seed of network initialisation, noise, replay sampling and exploration.
    :param share_levels: share levels of :class:`~cloudedge.wrappers.DiscreteActionWrapper`.
    :param memory_grant: how the wrappers grant memory (:data:`~cloudedge.wrappers.MemoryGrant`).
    :param device: torch device; ``"auto"`` takes a GPU when one is present.
    :param gamma: discount factor.
    :param n_step: n of the multi-step return.
    :param num_atoms: atoms of the C51 support.
    :param v_min: lowest atom.
    :param v_max: highest atom; ``"auto"`` uses :func:`max_return_bound` of the scenario.
    :param noisy_std: initial std (sigma_0) of the factorised noisy layers.
    :param torso_hidden_sizes: plain linear layers shared by both streams (the Atari
        network's convolutional torso, here an MLP).
    :param head_hidden_sizes: hidden noisy layers of each dueling stream (value, advantage).
    :param learning_rate: Adam step size.
    :param adam_eps: Adam epsilon.
    :param batch_size: transitions per update.
    :param buffer_size: replay capacity (transitions).
    :param learning_starts: environment steps before the first update.
    :param update_per_step: gradient updates per environment step (0.25: one every 4 steps).
    :param target_update_freq: updates between two copies of the online into the target net.
    :param alpha: prioritisation exponent.
    :param beta: initial importance-sampling exponent.
    :param beta_final: importance-sampling exponent at the end of ``learn``.
    :param eps_training: epsilon-greedy on top of the noise while training (0: noise only).
    """

    name = "rainbow"
    capabilities = Capabilities(learns=True, paper_baseline=True, action_interface="discrete")
    hyperparameters = ranges(
        share_levels=SHARE_LEVELS,
        gamma=PROBABILITY,
        n_step=POSITIVE_INT,
        num_atoms=Range(2, integer=True),
        v_min=Range(),
        v_max=Range(also=("auto",)),
        noisy_std=NON_NEGATIVE,
        torso_hidden_sizes=Range(1, integer=True, each=True),
        head_hidden_sizes=Range(1, integer=True, each=True),
        learning_rate=Range(0.0, 1.0),
        adam_eps=POSITIVE,
        batch_size=POSITIVE_INT,
        buffer_size=POSITIVE_INT,
        learning_starts=NON_NEGATIVE_INT,
        update_per_step=Range(0.0, 64.0, low_open=True),
        target_update_freq=POSITIVE_INT,
        alpha=NON_NEGATIVE,
        beta=PROBABILITY,
        beta_final=PROBABILITY,
        eps_training=PROBABILITY,
    )

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        *,
        share_levels: Sequence[float] = DEFAULT_SHARE_LEVELS,
        memory_grant: MemoryGrant = "need",
        device: str = "auto",
        gamma: float = 0.99,
        n_step: int = 3,
        num_atoms: int = 51,
        v_min: float = 0.0,
        v_max: float | str = "auto",
        noisy_std: float = 0.5,
        torso_hidden_sizes: Sequence[int] = (128,),
        head_hidden_sizes: Sequence[int] = (128,),
        learning_rate: float = 1e-3,
        adam_eps: float = 1.5e-4,
        batch_size: int = 64,
        buffer_size: int = 100_000,
        learning_starts: int = 500,
        update_per_step: float = 0.25,
        target_update_freq: int = 320,
        alpha: float = 0.5,
        beta: float = 0.4,
        beta_final: float = 1.0,
        eps_training: float = 0.0,
    ) -> None:
        super().__init__(
            scenario,
            seed,
            action_interface="discrete",
            share_levels=share_levels,
            memory_grant=memory_grant,
            device=device,
            eval_mode="greedy",
        )
        if target_update_freq < 1:
            raise ValueError(
                f"target_update_freq = {target_update_freq}: allowed >= 1 (double Q needs a "
                "target network)"
            )
        if n_step < 1:
            raise ValueError(f"n_step = {n_step}: allowed >= 1")
        if not 0.0 < update_per_step <= 64.0:
            raise ValueError(f"update_per_step = {update_per_step}: allowed (0, 64]")
        self.gamma = float(gamma)
        self.v_max = max_return_bound(scenario, gamma) if v_max == "auto" else float(v_max)
        self.batch_size = int(batch_size)
        self.buffer_size = int(buffer_size)
        self.learning_starts = int(learning_starts)
        self.update_per_step = float(update_per_step)
        self.alpha, self.beta, self.beta_final = float(alpha), float(beta), float(beta_final)

        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.layout.size,), dtype=np.float32)
        self.action_space = self.decoder.space("discrete")
        torch.manual_seed(seed)

        def noisy_linear(n_in: int, n_out: int) -> NoisyLinear:
            return NoisyLinear(n_in, n_out, noisy_std)

        stream = {"hidden_sizes": list(head_hidden_sizes), "linear_layer": noisy_linear}
        net = Net(
            state_shape=self.observation_space.shape,
            action_shape=int(self.action_space.n),
            hidden_sizes=list(torso_hidden_sizes),
            softmax=True,  # the C51 policy expects per-action probabilities over the atoms
            num_atoms=num_atoms,
            dueling_param=(stream, dict(stream)),
        )
        policy = C51Policy(
            model=net,
            action_space=self.action_space,
            observation_space=self.observation_space,
            num_atoms=num_atoms,
            v_min=v_min,
            v_max=self.v_max,
            eps_training=eps_training,
            eps_inference=0.0,
        )
        self.algorithm = _NStepRainbowDQN(
            policy=policy,
            optim=AdamOptimizerFactory(lr=learning_rate, eps=adam_eps),
            gamma=gamma,
            n_step_return_horizon=n_step,
            target_update_freq=target_update_freq,
        ).to(self.device)
        self.policy = policy
        # Replay memory and step count persist across learn() calls (continued training).
        self.buffer = PrioritizedReplayBuffer(self.buffer_size, alpha=self.alpha, beta=self.beta)
        self.env_steps = 0

    # -- training ---------------------------------------------------------------------------
    def learn(
        self,
        env: gym.Env,
        n_episodes: int,
        seed: int,
        on_episode: EpisodeCallback | None = None,
    ) -> None:
        """Train for ``n_episodes`` episodes seeded ``seed, seed+1, ...``.

        Global NumPy and torch generators are seeded with the agent's seed: Tianshou's
        prioritised sampling, epsilon-greedy and noise draw from them. The replay buffer and
        the step count (for ``learning_starts``) carry over to a later call.
        """
        if n_episodes < 1:
            return
        wrapped = self.wrap(env)
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        buffer = self.buffer
        total_steps = n_episodes * env.unwrapped.scenario.n_tasks
        step, owed_updates = 0, 0.0
        for episode in range(n_episodes):
            obs, info = wrapped.reset(seed=seed + episode)
            done = False
            while not done:
                action = self._explore(obs)
                obs_next, reward, terminated, truncated, info = wrapped.step(action)
                buffer.add(
                    Batch(
                        obs=obs,
                        act=action,
                        rew=float(reward),
                        terminated=bool(terminated),
                        truncated=bool(truncated),
                        obs_next=obs_next,
                        info=Batch(),
                    )
                )
                obs, done = obs_next, terminated or truncated
                step += 1
                self.env_steps += 1
                if self.env_steps >= self.learning_starts:
                    owed_updates += self.update_per_step
                    progress = step / total_steps
                    buffer.set_beta(self.beta + (self.beta_final - self.beta) * progress)
                    while owed_updates >= 1.0:
                        with policy_within_training_step(self.policy):
                            self.algorithm.update(buffer=buffer, sample_size=self.batch_size)
                        owed_updates -= 1.0
            if on_episode is not None:
                on_episode(episode, dict(info["episode"]))

    def _explore(self, obs: np.ndarray) -> int:
        """Greedy action of the online net under a fresh noise sample, then epsilon-greedy."""
        batch = Batch(obs=obs[None], info=Batch())
        with (
            torch.no_grad(),
            torch_train_mode(self.policy, True),
            policy_within_training_step(self.policy),
        ):
            RainbowDQN._sample_noise(self.policy.model)
            act = self.policy(batch).act
            act = self.policy.add_exploration_noise(np.asarray(act), batch)
        return int(act[0])

    # -- acting -----------------------------------------------------------------------------
    def q_values(self, observation: np.ndarray) -> np.ndarray:
        """Expected return of each discrete action (mean weights, no noise)."""
        batch = Batch(obs=np.asarray(observation, dtype=np.float32)[None], info=Batch())
        with torch.no_grad(), torch_train_mode(self.policy, False):
            probs = self.policy(batch).logits
            q = (probs * self.policy.support).sum(-1)
        return q[0].cpu().numpy()

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        """Greedy action on the mean weights, decoded to a raw ``Dict`` action."""
        return self.decode(int(np.argmax(self.q_values(observation))), observation)

    # -- persistence ------------------------------------------------------------------------
    def torch_state(self) -> dict[str, Stateful]:
        """The algorithm (networks, target network, optimiser state)."""
        return {"algorithm": self.algorithm}


__all__ = ["RainbowAgent", "max_return_bound"]
