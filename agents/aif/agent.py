"""The active-inference agent: Algorithm 1 of the paper around the model and the planner.

```
for episode in 1..n_episodes:                          # Algorithm 1
    s = env.reset()
    for each task:
        a = random                if episode <= seed_episodes     (Tschantz et al.)
            CEM plan, r = r1 + r2  otherwise                     (lines 6-13, planner.py)
        s', _, info = env.step(a)   # the reward is discarded
        buffer += (s, a, L, P, completed, s')                    (line 19)
    fit the ensemble on the buffer                               (line 20, model.py)
```

Rewardless: the environment's reward is thrown away at ``env.step``; the model learns from
``info['outcome']`` (completed, latency, pass@100) and the next observation only, and the
planner scores with the model's predictions. ``info['action_mask']`` is not used either: the
agent must learn that asking for more than remains fails.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.aif.model import (
    COMPUTE,
    MEMORY,
    EnsembleModel,
    fit,
    make_optimizer,
)
from agents.aif.planner import CEMPlanner, PlannerConfig
from agents.base import (
    BOOLEAN,
    NON_NEGATIVE,
    POSITIVE,
    POSITIVE_INT,
    Action,
    Agent,
    Capabilities,
    EpisodeCallback,
    Range,
    ranges,
)
from cloudedge.config import ScenarioConfig
from cloudedge.metrics import TaskStatus


@dataclass(frozen=True)
class AIFConfig:
    """Every hyperparameter of the agent; conf/agent/aif.yaml gives each one's source.

    The planner's settings are a :class:`PlannerConfig` (its defaults are the agent's); the
    YAML file and the constructor take all of them as one flat set of names
    (:meth:`from_params`, :meth:`as_params`).
    """

    # Generative model.
    n_members: int = 5
    n_hidden: int = 64
    n_layers: int = 1
    min_logvar: float = -5.0
    max_logvar: float = -1.0
    margin_scale: float = 1e-3
    # Refit after every episode.
    learning_rate: float = 3e-3
    adam_eps: float = 1e-8
    batch_size: int = 256
    n_train_epochs: int = 1000
    max_train_steps: int = 400
    grad_clip: float = 1000.0
    reinit_each_episode: bool = False
    # Loop.
    seed_episodes: int = 3
    seed_actions: str = "prior"
    buffer_size: int = 100_000
    # Planner.
    planner: PlannerConfig = field(default_factory=PlannerConfig)

    def __post_init__(self) -> None:
        if self.seed_actions not in ("prior", "uniform"):
            raise ValueError(f"seed_actions must be 'prior' or 'uniform': {self.seed_actions!r}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AIFConfig:
        """The config from flat names (unknown names raise ``TypeError``)."""
        planner_names = {f.name for f in dataclasses.fields(PlannerConfig)}
        planner = PlannerConfig(**{k: v for k, v in params.items() if k in planner_names})
        rest = {k: v for k, v in params.items() if k not in planner_names}
        if "planner" in rest:
            raise TypeError("AIFConfig: give the planner's settings by name, not as 'planner'")
        return cls(**rest, planner=planner)

    def as_params(self) -> dict[str, Any]:
        """The flat names and values :meth:`from_params` reads back."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        flat.update(dataclasses.asdict(flat.pop("planner")))
        return flat

    @classmethod
    def param_names(cls) -> set[str]:
        """Every flat hyperparameter name."""
        return set(cls().as_params())


class Buffer:
    """Transitions ``(s, a, L, P, completed, s')`` (Algorithm 1, line 19), FIFO when full.

    :param obs_dim: observation size (6N + 5).
    :param capacity: most transitions kept.
    """

    def __init__(self, obs_dim: int, capacity: int) -> None:
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.server = np.zeros(capacity, np.int64)
        self.share = np.zeros((capacity, 3), np.float32)
        self.latency_s = np.full(capacity, np.nan, np.float32)
        self.pass_at_100 = np.zeros(capacity, np.float32)
        self.completed = np.zeros(capacity, bool)
        self.admitted = np.zeros(capacity, bool)  # granted (completed or missed its deadline)
        self.terminal = np.zeros(capacity, bool)  # s' is the env's terminal placeholder
        self.size = 0
        self.cursor = 0

    def add(
        self, obs: np.ndarray, action: Action, outcome: Any, next_obs: np.ndarray, terminal: bool
    ) -> None:
        i = self.cursor
        self.obs[i] = obs
        self.next_obs[i] = next_obs
        self.server[i] = int(action["server"])
        self.share[i] = action["share"]
        self.completed[i] = outcome.completed
        self.admitted[i] = outcome.status not in (
            TaskStatus.INVALID_ALLOCATION,
            TaskStatus.OUT_OF_MEMORY,
        )
        self.latency_s[i] = outcome.latency_s if outcome.completed else np.nan
        self.pass_at_100[i] = outcome.pass_at_100
        self.terminal[i] = terminal
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def rows_since(self, start: int) -> np.ndarray:
        """Indices of the transitions added since the cursor was at ``start``."""
        return (
            np.arange(start, self.cursor + (self.capacity if self.cursor <= start else 0))
            % self.capacity
        )

    def training_data(
        self, model: EnsembleModel, rows: np.ndarray | None = None
    ) -> dict[str, torch.Tensor]:
        """Model inputs and targets of the stored transitions (or of ``rows``)."""
        idx = np.arange(self.size) if rows is None else rows
        n = model.n_servers
        obs = torch.from_numpy(self.obs[idx])
        server = torch.from_numpy(self.server[idx])
        share = torch.from_numpy(self.share[idx])
        # Target 0-2: change of the chosen server's remaining (C, W, M) fractions.
        block = slice(COMPUTE * n, (MEMORY + 1) * n)
        before = obs[:, block].view(-1, 3, n).gather(2, server.view(-1, 1, 1).expand(-1, 3, 1))
        after = torch.from_numpy(self.next_obs[idx][:, block]).view(-1, 3, n)
        after = after.gather(2, server.view(-1, 1, 1).expand(-1, 3, 1))
        completed = torch.from_numpy(self.completed[idx])
        # The change is the grant of an admitted task (refused ones take nothing); the
        # terminal step's s' is a placeholder.
        valid = torch.from_numpy(self.admitted[idx] & ~self.terminal[idx])
        y = torch.cat(
            [
                (after - before).squeeze(2),
                torch.from_numpy(self.latency_s[idx]).unsqueeze(1),
                torch.from_numpy(self.pass_at_100[idx]).unsqueeze(1),
            ],
            dim=1,
        )
        y_mask = torch.cat(
            [valid.unsqueeze(1).expand(-1, 3), completed.unsqueeze(1).expand(-1, 2)], 1
        )
        return {
            "x": model.encode(obs, server, share),
            "y": y,
            "y_mask": y_mask,
            "completed": completed.to(torch.float32),
        }


class AIFAgent(Agent):
    """Active inference offloading (He et al. 2024, Algorithm 1; Tschantz et al. 2020).

    :param scenario: the scenario (only its server count is used).
    :param seed: seeds the network initialisation, the seed episodes' random actions, the
        training shuffles and the planner's draws.
    :param params: hyperparameters by flat name (:meth:`AIFConfig.from_params`; unknown
        names raise ``TypeError``).
    """

    name = "aif"
    capabilities = Capabilities(learns=True, paper_baseline=True, action_interface="dict")
    hyperparameters = ranges(
        n_members=POSITIVE_INT,
        n_hidden=POSITIVE_INT,
        n_layers=POSITIVE_INT,
        min_logvar=Range(-20.0, 0.0),
        max_logvar=Range(-20.0, 5.0),
        margin_scale=POSITIVE,
        learning_rate=Range(0.0, 1.0, low_open=True),
        adam_eps=POSITIVE,
        batch_size=POSITIVE_INT,
        n_train_epochs=POSITIVE_INT,
        max_train_steps=POSITIVE_INT,
        grad_clip=POSITIVE,
        reinit_each_episode=BOOLEAN,
        seed_episodes=Range(0, integer=True),
        seed_actions=Range(choices=("prior", "uniform")),
        buffer_size=POSITIVE_INT,
        n_iterations=POSITIVE_INT,
        n_candidates=POSITIVE_INT,
        n_elites=POSITIVE_INT,
        keep_elites=BOOLEAN,
        horizon=POSITIVE_INT,
        expl_scale=NON_NEGATIVE,
        init_share=Range(0.0, 1.0, low_open=True, high_open=True),
        init_logit_std=POSITIVE,
        min_logit_std=POSITIVE,
        server_smoothing=NON_NEGATIVE,
        min_latency_s=POSITIVE,
    )

    def __init__(self, scenario: ScenarioConfig, seed: int = 0, **params: Any) -> None:
        super().__init__(scenario, seed)
        self.config = AIFConfig.from_params(params)
        self.obs_dim = 6 * self.n_servers + 5
        self.buffer = Buffer(self.obs_dim, self.config.buffer_size)
        self.episodes_trained = 0
        self.train_generator = torch.Generator().manual_seed(seed)
        self.last_fit: dict[str, Any] = {}
        self._build()

    def _build(self) -> None:
        """(Re)create the model, its optimiser and the planner from ``self.config``."""
        cfg = self.config
        with torch.random.fork_rng():  # seeded init without touching the global generator
            torch.manual_seed(self.seed)
            self.model = EnsembleModel(
                self.n_servers,
                n_members=cfg.n_members,
                n_hidden=cfg.n_hidden,
                n_layers=cfg.n_layers,
                min_logvar=cfg.min_logvar,
                max_logvar=cfg.max_logvar,
                margin_scale=cfg.margin_scale,
            )
        self.model.eval()
        self.optimizer = make_optimizer(self.model, cfg.learning_rate, cfg.adam_eps)
        self.planner = CEMPlanner(self.model, cfg.planner, seed=self.seed)

    # -- acting -----------------------------------------------------------------------------
    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        """Plan with CEM (deterministic: the planner restarts from the agent's seed)."""
        server, share, _ = self.planner.plan(observation)
        return {"server": server, "share": share}

    def random_action(self, rng: np.random.Generator) -> Action:
        """Seed-episode action: a uniform server and shares drawn from the planner's initial
        q(pi) (``seed_actions="prior"``, logit-normal) or uniform on [0, 1] (``"uniform"``,
        the reference's ``action_space.sample()``)."""
        cfg = self.config
        if cfg.seed_actions == "uniform":
            share = rng.uniform(0.0, 1.0, 3)
        else:
            prior = cfg.planner  # q(pi) at the start of a decision
            z = math.log(prior.init_share / (1.0 - prior.init_share)) + prior.init_logit_std * (
                rng.standard_normal(3)
            )
            share = 1.0 / (1.0 + np.exp(-z))
        return {"server": int(rng.integers(self.n_servers)), "share": share.astype(np.float32)}

    # -- learning ---------------------------------------------------------------------------
    def learn(
        self,
        env: gym.Env,
        n_episodes: int,
        seed: int,
        on_episode: EpisodeCallback | None = None,
    ) -> None:
        """Algorithm 1: play, record, refit after every episode (episodes seeded ``seed + i``).

        The first ``seed_episodes`` episodes the agent has ever played use random actions.
        """
        rng = np.random.default_rng([self.seed, seed])
        for episode in range(n_episodes):
            random_episode = self.episodes_trained < self.config.seed_episodes
            start = self.buffer.cursor
            obs, info = env.reset(seed=seed + episode)
            done = False
            while not done:
                action = self.random_action(rng) if random_episode else self.act(obs, info)
                next_obs, _reward, terminated, truncated, info = env.step(action)  # reward unused
                done = terminated or truncated
                self.buffer.add(obs, action, info["outcome"], next_obs, terminal=done)
                obs = next_obs
            self.episodes_trained += 1
            if on_episode is not None:
                on_episode(episode, dict(info["episode"]))
            self.refit(new_rows=self.buffer.rows_since(start))

    def refit(self, new_rows: np.ndarray | None = None) -> dict[str, Any]:
        """Algorithm 1, line 20: update the normalisers with the new transitions, then train.

        With ``reinit_each_episode`` the networks restart from scratch first (the reference's
        final code); by default they continue from the last fit (see conf/agent/aif.yaml).
        """
        cfg = self.config
        if new_rows is not None and len(new_rows):
            new = self.buffer.training_data(self.model, new_rows)
            self.model.input_norm.update(new["x"])
            self.model.target_norm.update(new["y"], new["y_mask"])
        if cfg.reinit_each_episode:
            norms = {k: v.clone() for k, v in self.model.state_dict().items() if "norm" in k}
            with torch.random.fork_rng():
                torch.manual_seed(self.seed + self.episodes_trained)
                self._build()
            self.model.load_state_dict(norms, strict=False)
        start = time.perf_counter()
        data = self.buffer.training_data(self.model)
        result = fit(
            self.model,
            self.optimizer,
            data,
            n_epochs=cfg.n_train_epochs,
            batch_size=cfg.batch_size,
            max_steps=cfg.max_train_steps,
            grad_clip=cfg.grad_clip,
            generator=self.train_generator,
        )
        result["seconds"] = time.perf_counter() - start
        self.last_fit = result
        return result

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Model weights, normaliser statistics, optimiser state and config (not the buffer)."""
        torch.save(
            {
                "config": self.config.as_params(),
                "n_servers": self.n_servers,
                "seed": self.seed,
                "episodes_trained": self.episodes_trained,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "train_generator": self.train_generator.get_state(),
            },
            Path(path),
        )

    def load(self, path: str | Path) -> None:
        state = torch.load(Path(path), weights_only=True)
        if state["n_servers"] != self.n_servers:
            raise ValueError(
                f"{path} holds an agent for {state['n_servers']} servers, this scenario has "
                f"{self.n_servers}"
            )
        self.config = AIFConfig.from_params(state["config"])
        self.seed = int(state["seed"])
        self.episodes_trained = int(state["episodes_trained"])
        self._build()
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.train_generator.set_state(state["train_generator"])


__all__ = ["AIFAgent", "AIFConfig", "Buffer"]
