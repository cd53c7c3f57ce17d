"""GP-NFSP: GRU-enhanced PPO inside Neural Fictitious Self-Play (Hou et al., FGCS 141, 2023).

Decentralised offloading: every terminal (``info['terminal_id']``) is an independent agent
that decides only its own tasks, from what it observes when its task arrives. Each agent plays
Neural Fictitious Self-Play (NFSP, Heinrich & Silver 2016, arXiv 1603.01121) with

* a **best response** ``beta``: PPO (Schulman et al. 2017, clipped surrogate, GAE) whose
  policy and value read a GRU over that terminal's own observation history;
* an **average policy** ``Pi``: a classifier trained by supervised learning (cross-entropy) on
  the best response's past actions, kept in a reservoir buffer (a uniform sample of every
  best-response decision so far, so ``Pi`` approximates the time average of ``beta``);
* the **anticipatory parameter** ``eta``: at the start of each episode each terminal acts with
  ``beta`` with probability ``eta``, else with ``Pi`` (the NFSP mixture
  ``sigma = eta * beta + (1 - eta) * Pi``).

Actions are the discrete ones of :class:`~cloudedge.wrappers.DiscreteActionWrapper`
(server x share level), decoded in training and evaluation by the same
:class:`~cloudedge.wrappers.ActionDecoder` (:class:`~agents.torch_base.TorchAgent`).
The reward of a decision is that task's eq. 14 reward, as for every baseline.

**Rebuilt from the paper's description**: Hou et al. publish no code, and the paper's text was
not available to us beyond its abstract and summary (``/work/shared/PAPER.md``: decentralised
offloading, each device an independent agent, NFSP with a PPO best response and a GRU). Every
other detail is an assumption of ours:

1. **Observation**: the paper's devices observe local state only. Our terminals observe the
   env's observation at their own decisions (server load, distances, their task); partial
   observability comes from seeing the system only at those instants, which the GRU handles.
2. **Parameter sharing**: one best-response network and one average network shared by all
   terminals, each fed a learned terminal-id embedding (so policies can differ per terminal);
   every terminal keeps its own GRU hidden state and its own trajectory. Independent networks
   per terminal would see ~n_tasks / n_terminals decisions per episode each, too few to learn
   within the paper's episode budget.
3. **Best-response data and eta**: PPO is on-policy, so the best response trains only on the
   decisions of terminals that acted with ``beta`` in that episode (NFSP's DQN learns
   off-policy from all of them); those decisions are also the only ones in the reservoir. So
   ``eta`` is 0.5, not NFSP's 0.1: at 0.1 the best response got ~10 decisions per 100-task
   episode, 3 PPO updates in 100 episodes, and GP-NFSP stayed at a uniform policy's completion.
4. **Mode sampling**: per terminal per episode (as NFSP samples per episode).
5. **Recurrent PPO**: a terminal's trajectory is its decisions within one episode; its GRU
   starts from zeros each episode and is re-run over the whole trajectory at every update
   (exact back-propagation through time; trajectories are short). GAE runs over each
   trajectory with a zero value after its last decision (the episode ends there for it).
6. **Average-policy network**: a feed-forward classifier over (observation, terminal
   embedding), without a GRU, so the reservoir stores single decisions, not sequences; it takes
   ``sl_updates_per_episode`` supervised steps after every episode (NFSP: one per 64 steps).
7. **Evaluation policy**: ``act`` samples the average policy (``eval_mode: sampled``): NFSP's
   output policy is the average one, a mixed strategy by definition, and its argmax is another
   policy (``eval_mode: greedy`` plays it, for comparison). ``act_policy: best_response`` plays
   ``beta`` instead, with each terminal's GRU state carried over its decisions.
8. **Hyperparameters** (network sizes, learning rates, eta, buffer sizes, update schedule):
   not given; the PPO ones are our PPO baseline's (``conf/agent/ppo.yaml``), and
   ``conf/agent/gpnfsp.yaml`` names the source of each value.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

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
from agents.torch_base import Stateful, TorchAgent, sample_index
from cloudedge.config import ScenarioConfig
from cloudedge.wrappers import DEFAULT_SHARE_LEVELS, MemoryGrant


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    return nn.Sequential(*layers)


class BestResponseNet(nn.Module):
    """``beta``: terminal embedding + observation -> MLP -> GRU cell -> policy logits, value.

    :param obs_dim: observation size.
    :param n_terminals: number of terminals (size of the embedding table).
    :param n_actions: discrete actions.
    :param embed_dim: size of the terminal-id embedding.
    :param encoder_sizes: hidden sizes of the MLP before the GRU.
    :param gru_size: GRU hidden size.
    """

    def __init__(
        self,
        obs_dim: int,
        n_terminals: int,
        n_actions: int,
        embed_dim: int,
        encoder_sizes: Sequence[int],
        gru_size: int,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_terminals, embed_dim)
        self.encoder = _mlp([obs_dim + embed_dim, *encoder_sizes])
        self.gru = nn.GRUCell(([obs_dim + embed_dim, *encoder_sizes])[-1], gru_size)
        self.policy_head = nn.Linear(gru_size, n_actions)
        self.value_head = nn.Linear(gru_size, 1)
        self.gru_size = gru_size

    def step(
        self, obs: torch.Tensor, terminal: torch.Tensor, hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decision: ``h' = GRU(enc([o, e_id]), h)``; returns ``(logits, value, h')``."""
        x = self.encoder(torch.cat([obs, self.embed(terminal)], dim=-1))
        hidden = self.gru(x, hidden)
        return self.policy_head(hidden), self.value_head(hidden).squeeze(-1), hidden

    def sequences(
        self, obs: torch.Tensor, terminal: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run padded trajectories ``obs[S, T, D]`` from zero hidden states.

        Padding steps come after each trajectory's end, so they never feed its real steps.
        """
        n_seq, length, _ = obs.shape
        hidden = obs.new_zeros(n_seq, self.gru_size)
        logits, values = [], []
        for t in range(length):
            step_logits, step_value, hidden = self.step(obs[:, t], terminal, hidden)
            logits.append(step_logits)
            values.append(step_value)
        return torch.stack(logits, dim=1), torch.stack(values, dim=1)


class AveragePolicyNet(nn.Module):
    """``Pi``: terminal embedding + observation -> MLP -> action logits.

    :param obs_dim: observation size.
    :param n_terminals: number of terminals.
    :param n_actions: discrete actions.
    :param embed_dim: size of the terminal-id embedding.
    :param hidden_sizes: hidden layer sizes.
    """

    def __init__(
        self,
        obs_dim: int,
        n_terminals: int,
        n_actions: int,
        embed_dim: int,
        hidden_sizes: Sequence[int],
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_terminals, embed_dim)
        self.body = _mlp([obs_dim + embed_dim, *hidden_sizes])
        self.head = nn.Linear(([obs_dim + embed_dim, *hidden_sizes])[-1], n_actions)

    def forward(self, obs: torch.Tensor, terminal: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(torch.cat([obs, self.embed(terminal)], dim=-1)))


class ReservoirBuffer:
    """Reservoir sampling (Vitter's algorithm R) of ``(observation, terminal, action)``.

    After ``n`` offers each one is kept with probability ``capacity / n``: a uniform sample
    of the whole best-response history, which is what makes ``Pi`` an average policy.

    :param capacity: items kept.
    :param obs_dim: observation size.
    :param rng: generator of the replacement draws.
    """

    def __init__(self, capacity: int, obs_dim: int, rng: np.random.Generator) -> None:
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminal = np.zeros(capacity, dtype=np.int64)
        self.action = np.zeros(capacity, dtype=np.int64)
        self.n_seen = 0
        self.rng = rng

    def __len__(self) -> int:
        return min(self.n_seen, self.capacity)

    def add(self, obs: np.ndarray, terminal: int, action: int) -> None:
        if self.n_seen < self.capacity:
            slot = self.n_seen
        else:
            slot = int(self.rng.integers(self.n_seen + 1))
            if slot >= self.capacity:
                slot = -1
        self.n_seen += 1
        if slot >= 0:
            self.obs[slot], self.terminal[slot], self.action[slot] = obs, terminal, action

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = self.rng.integers(len(self), size=batch_size)
        return self.obs[idx], self.terminal[idx], self.action[idx]


@dataclass
class _Trajectory:
    """One terminal's best-response decisions within one episode."""

    terminal: int
    obs: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    log_probs: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)


class GPNFSPAgent(TorchAgent):
    """GP-NFSP: per-terminal NFSP with a GRU-PPO best response and a supervised average policy.

    :param scenario: the scenario (server and terminal counts fix the network sizes).
    :param seed: seed of initialisation, mode draws, action sampling and reservoir draws.
    :param share_levels: share levels of the discrete action wrapper.
    :param memory_grant: how the wrappers grant memory (:data:`~cloudedge.wrappers.MemoryGrant`).
    :param device: torch device; ``"auto"`` takes a GPU when one is present.
    :param eval_mode: ``"sampled"`` (default: NFSP's output policy is a mixed strategy) or
        ``"greedy"`` (the argmax of the evaluation policy, for comparison only).
    :param eta: anticipatory parameter: probability that a terminal plays ``beta`` in an episode.
    :param act_policy: ``"average"`` or ``"best_response"``: the policy ``act`` plays.
    :param embed_dim: terminal-embedding size (both networks).
    :param encoder_sizes: best response's MLP sizes before the GRU.
    :param gru_size: best response's GRU hidden size.
    :param average_hidden_sizes: average policy's hidden sizes.
    :param gamma: discount factor of the best response.
    :param gae_lambda: GAE lambda.
    :param clip_range: PPO ratio clip epsilon.
    :param ent_coef: entropy bonus weight.
    :param vf_coef: value-loss weight.
    :param max_grad_norm: gradient-norm clip of the PPO update.
    :param rl_learning_rate: Adam step size of the best response.
    :param rollout_steps: best-response decisions collected before a PPO update (the update
        waits for the episode's end so trajectories are whole).
    :param n_epochs: PPO epochs per update.
    :param minibatch_trajectories: trajectories per PPO minibatch.
    :param sl_learning_rate: Adam step size of the average policy.
    :param sl_batch_size: reservoir samples per supervised step.
    :param sl_updates_per_episode: supervised steps after each episode.
    :param reservoir_size: reservoir capacity (decisions).
    """

    name = "gpnfsp"
    capabilities = Capabilities(learns=True, paper_baseline=True, action_interface="discrete")
    eval_mode = "sampled"
    hyperparameters = ranges(
        share_levels=SHARE_LEVELS,
        eta=PROBABILITY,
        act_policy=Range(choices=("average", "best_response")),
        embed_dim=POSITIVE_INT,
        encoder_sizes=Range(1, integer=True, each=True),
        gru_size=POSITIVE_INT,
        average_hidden_sizes=Range(1, integer=True, each=True),
        gamma=PROBABILITY,
        gae_lambda=PROBABILITY,
        clip_range=POSITIVE,
        ent_coef=NON_NEGATIVE,
        vf_coef=NON_NEGATIVE,
        max_grad_norm=POSITIVE,
        rl_learning_rate=Range(0.0, 1.0),
        rollout_steps=POSITIVE_INT,
        n_epochs=POSITIVE_INT,
        minibatch_trajectories=POSITIVE_INT,
        sl_learning_rate=Range(0.0, 1.0),
        sl_batch_size=POSITIVE_INT,
        sl_updates_per_episode=NON_NEGATIVE_INT,
        reservoir_size=POSITIVE_INT,
    )

    def __init__(
        self,
        scenario: ScenarioConfig,
        seed: int = 0,
        *,
        share_levels: Sequence[float] = DEFAULT_SHARE_LEVELS,
        memory_grant: MemoryGrant = "need",
        device: str = "auto",
        eval_mode: str | None = None,
        eta: float = 0.5,
        act_policy: str = "average",
        embed_dim: int = 8,
        encoder_sizes: Sequence[int] = (64,),
        gru_size: int = 64,
        average_hidden_sizes: Sequence[int] = (64, 64),
        gamma: float = 0.98,
        gae_lambda: float = 0.8,
        clip_range: float = 0.2,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        rl_learning_rate: float = 1e-3,
        rollout_steps: int = 256,
        n_epochs: int = 20,
        minibatch_trajectories: int = 64,
        sl_learning_rate: float = 1e-3,
        sl_batch_size: int = 128,
        sl_updates_per_episode: int = 8,
        reservoir_size: int = 100_000,
    ) -> None:
        super().__init__(
            scenario,
            seed,
            action_interface="discrete",
            share_levels=share_levels,
            memory_grant=memory_grant,
            device=device,
            eval_mode=eval_mode,
        )
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta = {eta}: allowed [0, 1]")
        if act_policy not in ("average", "best_response"):
            raise ValueError(f"act_policy = {act_policy!r}: allowed 'average', 'best_response'")
        self.eta = float(eta)
        self.act_policy = act_policy
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.clip_range, self.ent_coef, self.vf_coef = float(clip_range), ent_coef, vf_coef
        self.max_grad_norm = float(max_grad_norm)
        self.rollout_steps, self.n_epochs = int(rollout_steps), int(n_epochs)
        self.minibatch_trajectories = int(minibatch_trajectories)
        self.sl_batch_size = int(sl_batch_size)
        self.sl_updates_per_episode = int(sl_updates_per_episode)

        self.obs_dim = self.layout.size
        self.n_actions = self.decoder.n_discrete
        self.n_terminals = scenario.terminals.n_terminals
        torch.manual_seed(seed)
        self.best_response = BestResponseNet(
            self.obs_dim, self.n_terminals, self.n_actions, embed_dim, encoder_sizes, gru_size
        ).to(self.device)
        self.average = AveragePolicyNet(
            self.obs_dim, self.n_terminals, self.n_actions, embed_dim, average_hidden_sizes
        ).to(self.device)
        self.rl_optimizer = torch.optim.Adam(self.best_response.parameters(), lr=rl_learning_rate)
        self.sl_optimizer = torch.optim.Adam(self.average.parameters(), lr=sl_learning_rate)
        self.rng = np.random.default_rng(seed)
        self.torch_rng = torch.Generator(device=self.device).manual_seed(seed)
        self.reservoir = ReservoirBuffer(reservoir_size, self.obs_dim, self.rng)
        self._pending: list[_Trajectory] = []  # best-response trajectories awaiting PPO
        self._act_hidden: dict[int, torch.Tensor] = {}  # per-terminal GRU state in act()

    # -- training ---------------------------------------------------------------------------
    def learn(
        self,
        env: gym.Env,
        n_episodes: int,
        seed: int,
        on_episode: EpisodeCallback | None = None,
    ) -> None:
        """Self-play ``n_episodes`` episodes seeded ``seed, seed+1, ...``."""
        wrapped = self.wrap(env)
        for episode in range(n_episodes):
            metrics = self._play_training_episode(wrapped, seed + episode)
            if on_episode is not None:
                on_episode(episode, metrics)
            if sum(len(t.actions) for t in self._pending) >= self.rollout_steps:
                self._ppo_update(self._pending)
                self._pending = []
            if len(self.reservoir) >= self.sl_batch_size:
                for _ in range(self.sl_updates_per_episode):
                    self._sl_update()

    def _play_training_episode(self, env: gym.Env, seed: int) -> dict[str, float]:
        obs, info = env.reset(seed=seed)
        # NFSP mixture: each terminal draws its policy for the whole episode.
        uses_best_response = self.rng.random(self.n_terminals) < self.eta
        hidden: dict[int, torch.Tensor] = {}
        trajectories: dict[int, _Trajectory] = {}
        done = False
        while not done:
            terminal = int(info["terminal_id"])
            obs_t = torch.as_tensor(obs, dtype=torch.float32, device=self.device)[None]
            term_t = torch.tensor([terminal], device=self.device)
            with torch.no_grad():
                if uses_best_response[terminal]:
                    h = hidden.get(terminal)
                    if h is None:
                        h = obs_t.new_zeros(1, self.best_response.gru_size)
                    logits, value, hidden[terminal] = self.best_response.step(obs_t, term_t, h)
                else:
                    logits, value = self.average(obs_t, term_t), None
                probs = torch.softmax(logits, dim=-1)
                action = int(torch.multinomial(probs, 1, generator=self.torch_rng).item())
            obs_next, reward, terminated, truncated, info = env.step(action)
            if value is not None:
                traj = trajectories.setdefault(terminal, _Trajectory(terminal))
                traj.obs.append(obs)
                traj.actions.append(action)
                traj.log_probs.append(float(torch.log(probs[0, action] + 1e-12)))
                traj.values.append(float(value.item()))
                traj.rewards.append(float(reward))
                self.reservoir.add(obs, terminal, action)  # M_SL gets beta's decisions only
            obs, done = obs_next, terminated or truncated
        self._pending.extend(trajectories.values())
        return dict(info["episode"])

    def _advantages(self, traj: _Trajectory) -> tuple[np.ndarray, np.ndarray]:
        """GAE over one trajectory, value 0 after its last decision.

        ``delta_t = r_t + gamma V(h_{t+1}) - V(h_t)``, ``A_t = delta_t + gamma lambda A_{t+1}``,
        returns ``R_t = A_t + V(h_t)``.
        """
        values = np.asarray([*traj.values, 0.0])
        rewards = np.asarray(traj.rewards)
        adv = np.zeros(len(rewards))
        running = 0.0
        for t in reversed(range(len(rewards))):
            delta = rewards[t] + self.gamma * values[t + 1] - values[t]
            running = delta + self.gamma * self.gae_lambda * running
            adv[t] = running
        return adv, adv + values[:-1]

    def _ppo_update(self, trajectories: list[_Trajectory]) -> None:
        """Clipped-surrogate PPO over whole trajectories (recurrent, exact BPTT).

        ``L = -E[min(rho A, clip(rho, 1-eps, 1+eps) A)] + c_v E[(V - R)^2] - c_e E[H(pi)]``
        with ``rho = pi_new(a|h) / pi_old(a|h)``; advantages normalised over the batch.
        """
        n_traj = len(trajectories)
        length = max(len(t.actions) for t in trajectories)
        obs = np.zeros((n_traj, length, self.obs_dim), dtype=np.float32)
        actions = np.zeros((n_traj, length), dtype=np.int64)
        old_logp = np.zeros((n_traj, length), dtype=np.float32)
        adv = np.zeros((n_traj, length), dtype=np.float32)
        returns = np.zeros((n_traj, length), dtype=np.float32)
        mask = np.zeros((n_traj, length), dtype=bool)
        for i, traj in enumerate(trajectories):
            k = len(traj.actions)
            obs[i, :k] = np.asarray(traj.obs)
            actions[i, :k] = traj.actions
            old_logp[i, :k] = traj.log_probs
            adv[i, :k], returns[i, :k] = self._advantages(traj)
            mask[i, :k] = True
        valid = adv[mask]
        adv[mask] = (valid - valid.mean()) / (valid.std() + 1e-8)
        dev = self.device
        tensors = {
            "obs": torch.as_tensor(obs, device=dev),
            "terminal": torch.as_tensor([t.terminal for t in trajectories], device=dev),
            "actions": torch.as_tensor(actions, device=dev),
            "old_logp": torch.as_tensor(old_logp, device=dev),
            "adv": torch.as_tensor(adv, device=dev),
            "returns": torch.as_tensor(returns, device=dev),
            "mask": torch.as_tensor(mask, device=dev),
        }
        for _ in range(self.n_epochs):
            order = self.rng.permutation(n_traj)
            for start in range(0, n_traj, self.minibatch_trajectories):
                idx = torch.as_tensor(order[start : start + self.minibatch_trajectories])
                self._ppo_minibatch({k: v[idx.to(dev)] for k, v in tensors.items()})

    def _ppo_minibatch(self, mb: dict[str, torch.Tensor]) -> None:
        logits, values = self.best_response.sequences(mb["obs"], mb["terminal"])
        log_probs = torch.log_softmax(logits, dim=-1)
        m = mb["mask"]
        new_logp = log_probs.gather(-1, mb["actions"].unsqueeze(-1)).squeeze(-1)[m]
        ratio = torch.exp(new_logp - mb["old_logp"][m])
        adv = mb["adv"][m]
        surrogate = torch.min(
            ratio * adv, torch.clamp(ratio, 1 - self.clip_range, 1 + self.clip_range) * adv
        )
        entropy = -(log_probs.exp() * log_probs).sum(-1)[m]
        loss = (
            -surrogate.mean()
            + self.vf_coef * F.mse_loss(values[m], mb["returns"][m])
            - self.ent_coef * entropy.mean()
        )
        self.rl_optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.best_response.parameters(), self.max_grad_norm)
        self.rl_optimizer.step()

    def _sl_update(self) -> None:
        """One cross-entropy step of ``Pi`` on reservoir samples: ``-E[log Pi(a_beta | o)]``."""
        obs, terminal, action = self.reservoir.sample(self.sl_batch_size)
        dev = self.device
        logits = self.average(
            torch.as_tensor(obs, device=dev), torch.as_tensor(terminal, device=dev)
        )
        loss = F.cross_entropy(logits, torch.as_tensor(action, device=dev))
        self.sl_optimizer.zero_grad()
        loss.backward()
        self.sl_optimizer.step()

    # -- acting -----------------------------------------------------------------------------
    def action_logits(self, observation: np.ndarray, info: Mapping[str, Any]) -> np.ndarray:
        """Logits of the evaluation policy for the current task's terminal.

        With the best response, each terminal's GRU state advances over its own decisions and
        restarts at an episode's first task (``info['task_index'] == 0``).
        """
        terminal = int(info["terminal_id"])
        obs_t = torch.as_tensor(observation, dtype=torch.float32, device=self.device)[None]
        term_t = torch.tensor([terminal], device=self.device)
        with torch.no_grad():
            if self.act_policy == "average":
                return self.average(obs_t, term_t)[0].cpu().numpy()
            if int(info.get("task_index", -1)) == 0:
                self._act_hidden = {}
            h = self._act_hidden.get(terminal)
            if h is None:
                h = obs_t.new_zeros(1, self.best_response.gru_size)
            logits, _, self._act_hidden[terminal] = self.best_response.step(obs_t, term_t, h)
            return logits[0].cpu().numpy()

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        """An action of the evaluation policy, decoded to a raw ``Dict`` action: drawn from it
        (``eval_mode: sampled``, NFSP's mixed strategy) or its argmax (``greedy``)."""
        logits = self.action_logits(observation, info)
        if self.sampled:
            probs = np.exp(logits - logits.max())
            index = sample_index(probs / probs.sum(), self.sampling_rng(observation, info))
        else:
            index = int(np.argmax(logits))
        return self.decode(index, observation)

    # -- persistence ------------------------------------------------------------------------
    def torch_state(self) -> dict[str, Stateful]:
        """Both networks and optimisers (the reservoir is not saved)."""
        return {
            "best_response": self.best_response,
            "average": self.average,
            "rl_optimizer": self.rl_optimizer,
            "sl_optimizer": self.sl_optimizer,
        }

    def after_load(self) -> None:
        """Forget the per-terminal GRU states of ``act``."""
        self._act_hidden = {}


__all__ = ["AveragePolicyNet", "BestResponseNet", "GPNFSPAgent", "ReservoirBuffer"]
