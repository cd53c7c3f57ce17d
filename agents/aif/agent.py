"""The active-inference agent: Algorithm 1 of the paper around the model and the planner.

```
for episode in 1..n_episodes:                          # Algorithm 1
    s = env.reset()
    for each task:
        a = random                if episode <= seed_episodes     (Tschantz et al.)
            CEM plan, r = r1 + r2  otherwise                     (lines 6-13, planner.py)
        s', _, info = env.step(a)   # the reward is discarded
        buffer += (s, a, L, P, completed, hold, s')              (line 19)
    fit the ensemble on the buffer                               (line 20, model.py)
```

Rewardless: the environment's reward is thrown away at ``env.step``; the model learns from
``info['outcome']`` (completed, latency, pass@100, when the grant was released) and the next
observation only, and the planner scores with the model's predictions.
``info['action_mask']`` is not used either: the agent must learn that asking for more than
remains fails.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml

from agents.aif.elementwise import sigmoid
from agents.aif.model import DTYPE, EnsembleModel, fit, make_optimizer
from agents.aif.planner import CEMPlanner, PlannerConfig, apply_grant_rules
from agents.base import (
    BOOLEAN,
    NON_NEGATIVE,
    POSITIVE,
    Action,
    Agent,
    Capabilities,
    EpisodeCallback,
    HyperparameterError,
    Range,
    ranges,
)
from cloudedge.config import ScenarioConfig
from cloudedge.metrics import TaskStatus
from cloudedge.observation import ObservationLayout

#: The one source of the agent's defaults (values and the reason for each).
DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "conf" / "agent" / "aif.yaml"

#: Allowed values of every hyperparameter: the one declaration, read by the harness
#: (``AIFAgent.hyperparameters``, checked by ``make_agent`` before any work) and by
#: :meth:`AIFConfig.from_params` (checked at construction, whoever builds the agent).
HYPERPARAMETERS: Mapping[str, Range] = ranges(
    # Generative model.
    n_members=Range(1, 100, integer=True),
    n_hidden=Range(1, 4096, integer=True),
    n_layers=Range(1, 8, integer=True),
    min_logvar=Range(-20.0, 0.0),
    max_logvar=Range(-20.0, 5.0),
    margin_scale=Range(0.0, 1.0, low_open=True),
    # Refit after every episode.
    learning_rate=Range(0.0, 1.0, low_open=True),
    adam_eps=Range(0.0, 1.0, low_open=True),
    batch_size=Range(1, 1_000_000, integer=True),
    n_train_epochs=Range(1, 1_000_000, integer=True),
    max_train_steps=Range(1, 10_000_000, integer=True),
    grad_clip=POSITIVE,
    reinit_each_episode=BOOLEAN,
    # Loop.
    seed_episodes=Range(0, 1_000_000, integer=True),
    seed_actions=Range(choices=("prior", "uniform")),
    trial_routing=Range(choices=("none", "own_server", "fill", "relative", "overflow", "ranked")),
    routing_trial_episodes=Range(1, 1_000_000, integer=True),
    routing_trial_margin=Range(0.0),
    buffer_size=Range(1, 100_000_000, integer=True),
    # Planner (PlannerConfig).
    n_iterations=Range(1, 100, integer=True),
    n_candidates=Range(1, 100_000, integer=True),
    n_elites=Range(1, 100_000, integer=True),
    keep_elites=BOOLEAN,
    warm_start=BOOLEAN,
    warm_logit_std=Range(0.0, 100.0, low_open=True),
    memory_floor=BOOLEAN,
    bandwidth_follows_compute=BOOLEAN,
    grant_within_remaining=BOOLEAN,
    refit_to_grants=BOOLEAN,
    feasible_candidates=BOOLEAN,
    feasible_margin=Range(0.0, 1.0, high_open=True),
    feasible_scope=Range(choices=("all", "stranded")),
    feasible_min_share=Range(0.0, 1.0, high_open=True),
    value_pessimism=NON_NEGATIVE,
    refuse_predicted_failure=BOOLEAN,
    held_release=BOOLEAN,
    copy_consumption=Range(choices=("predicted", "granted", "floored", "net")),
    held_room=Range(choices=("copy", "grant", "grant_unless_slots_full")),
    imagined_tasks=Range(choices=("copies", "typical")),
    check_admission=BOOLEAN,
    memory_admission=BOOLEAN,
    floor_at_seen=BOOLEAN,
    previous_grant_everywhere=BOOLEAN,
    places_within_slots=BOOLEAN,
    own_demand_share=Range(0.0, 1.0, low_open=True),
    demand_share_scope=Range(choices=("copies", "server")),
    turnover_window=Range(choices=("horizon", "episode")),
    whole_places=BOOLEAN,
    imagined_routing=Range(choices=("own_server", "fill", "relative", "overflow", "ranked")),
    price_discount=Range(0.0, 1.0),
    reference_grant=Range(choices=("q_mean", "levels")),
    horizon=Range(1, 1024, integer=True),
    expl_scale=NON_NEGATIVE,
    init_share=Range(0.0, 1.0, low_open=True, high_open=True),
    init_logit_std=Range(0.0, 100.0, low_open=True),
    min_logit_std=Range(0.0, 100.0, low_open=True),
    server_smoothing=POSITIVE,
    min_latency_s=POSITIVE,
)


def check_param(name: str, value: Any) -> Any:
    """``value`` if :data:`HYPERPARAMETERS` allows it (an integer one as ``int``, so ``8.0``
    from a sweep builds the same agent as ``8``), else a one-line :class:`HyperparameterError`
    naming ``agent.<name>`` and its allowed values."""
    allowed = HYPERPARAMETERS[name]
    if not allowed.allows(value):
        raise HyperparameterError(f"agent.{name} = {value!r}: allowed {allowed.describe()}")
    return int(value) if allowed.integer else value


@cache
def default_params() -> dict[str, Any]:
    """The defaults, read from :data:`DEFAULTS_FILE` (``_target_`` dropped)."""
    params = yaml.safe_load(DEFAULTS_FILE.read_text())
    params.pop("_target_", None)
    return params


@dataclass(frozen=True)
class AIFConfig:
    """Every hyperparameter of the agent. Defaults live in conf/agent/aif.yaml only, with
    each one's source (:func:`default_params`); this class names, types and range-checks
    them. The planner's settings are a :class:`PlannerConfig`; the YAML file and the
    constructor take all of them as one flat set of names (:meth:`from_params`).
    """

    # Generative model.
    n_members: int
    n_hidden: int
    n_layers: int
    min_logvar: float
    max_logvar: float
    margin_scale: float
    # Refit after every episode.
    learning_rate: float
    adam_eps: float
    batch_size: int
    n_train_epochs: int
    max_train_steps: int
    grad_clip: float
    reinit_each_episode: bool
    # Loop.
    seed_episodes: int
    seed_actions: str
    buffer_size: int
    trial_routing: str
    routing_trial_episodes: int
    routing_trial_margin: float
    # Planner.
    planner: PlannerConfig

    def __post_init__(self) -> None:
        if self.min_logvar >= self.max_logvar:
            raise ValueError(
                f"agent.min_logvar = {self.min_logvar}: allowed below agent.max_logvar "
                f"({self.max_logvar})"
            )

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None = None) -> AIFConfig:
        """The defaults overridden by ``params`` (flat names; unknown names raise
        ``TypeError``, values outside their range ``ValueError``, before anything is built)."""
        merged = dict(default_params())
        unknown = set(params or {}) - set(merged)
        if unknown:
            raise TypeError(f"unknown AIF hyperparameter(s): {sorted(unknown)}")
        merged.update(params or {})
        merged = {name: check_param(name, value) for name, value in merged.items()}
        planner_names = {f.name for f in dataclasses.fields(PlannerConfig)}
        planner = PlannerConfig(**{k: v for k, v in merged.items() if k in planner_names})
        rest = {k: v for k, v in merged.items() if k not in planner_names}
        return cls(**rest, planner=planner)

    def as_params(self) -> dict[str, Any]:
        """The flat names and values :meth:`from_params` reads back."""
        flat = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        flat.update(dataclasses.asdict(flat.pop("planner")))
        return flat

    @classmethod
    def param_names(cls) -> set[str]:
        """Every flat hyperparameter name."""
        return set(cls.from_params().as_params())


class Buffer:
    """Transitions ``(s, a, L, P, completed, hold, s')`` (Algorithm 1, line 19), FIFO when full.

    :param layout: the observation layout (6N + 5 entries).
    :param capacity: most transitions kept.
    """

    def __init__(self, layout: ObservationLayout, capacity: int) -> None:
        self.layout = layout
        self.capacity = capacity
        obs_dim = layout.size
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.server = np.zeros(capacity, np.int64)
        self.share = np.zeros((capacity, 3), np.float32)
        self.latency_s = np.full(capacity, np.nan)
        self.pass_at_100 = np.zeros(capacity)
        self.hold_s = np.full(capacity, np.nan)  # admission to release
        self.arrival_s = np.zeros(capacity)
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
        self.hold_s[i] = outcome.released_s - outcome.arrival_s if self.admitted[i] else np.nan
        self.arrival_s[i] = outcome.arrival_s
        self.terminal[i] = terminal
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def rows_since(self, start: int) -> np.ndarray:
        """Indices of the transitions added since the cursor was at ``start``."""
        return (
            np.arange(start, self.cursor + (self.capacity if self.cursor <= start else 0))
            % self.capacity
        )

    def mean_gap_s(self, rows: np.ndarray) -> float | None:
        """Mean time between consecutive arrivals of one episode's ``rows`` (None if < 2)."""
        if len(rows) < 2:
            return None
        arrivals = self.arrival_s[rows]
        return float(arrivals[-1] - arrivals[0]) / (len(rows) - 1)

    def mean_need(self, rows: np.ndarray) -> np.ndarray:
        """Mean memory need per server ``[N]`` of the tasks of ``rows`` (one or more)."""
        return self.layout.block(self.obs[rows].astype(np.float64), "memory_need").mean(0)

    def preference(self, rows: np.ndarray) -> float:
        """Eq. 11 summed over ``rows``' observed outcomes, ``sum tc (1/L + P)``: how well the
        agent's own preferences were met (the environment's reward is not read)."""
        completed = self.completed[rows]
        latency = self.latency_s[rows][completed]
        return float(np.sum(1.0 / latency) + np.sum(self.pass_at_100[rows][completed]))

    def smallest_latency_hold(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per server, the smallest latency of a completed task and the smallest hold of an
        admitted one among ``rows`` (``[N]`` each, s; inf where there is none)."""
        n = self.layout.n_servers
        latency, hold = np.full(n, np.inf), np.full(n, np.inf)
        server = self.server[rows]
        for values, out in ((self.latency_s[rows], latency), (self.hold_s[rows], hold)):
            seen = np.isfinite(values)
            np.minimum.at(out, server[seen], values[seen])
        return latency, hold

    def training_data(
        self, model: EnsembleModel, rows: np.ndarray | None = None
    ) -> dict[str, torch.Tensor]:
        """Model inputs and targets of the stored transitions (or of ``rows``)."""
        idx = np.arange(self.size) if rows is None else rows
        layout = self.layout
        server = self.server[idx]
        pick = np.arange(len(idx))
        # Targets 0-2: change of the chosen server's remaining (C, W, M) fractions.
        before = layout.remaining(self.obs[idx].astype(np.float64))[pick, server]
        after = layout.remaining(self.next_obs[idx].astype(np.float64))[pick, server]
        # The change is the grant of an admitted task (refused ones take nothing); the
        # terminal step's s' is a placeholder.
        admitted = self.admitted[idx]
        valid = admitted & ~self.terminal[idx]
        completed = self.completed[idx]
        y = np.concatenate(
            [
                after - before,
                self.latency_s[idx, None],
                self.pass_at_100[idx, None],
                self.hold_s[idx, None],
            ],
            axis=1,
        )
        y_mask = np.concatenate(
            [
                np.repeat(valid[:, None], 3, 1),
                np.repeat(completed[:, None], 2, 1),
                admitted[:, None],
            ],
            axis=1,
        )
        return {
            "x": torch.from_numpy(model.encode(self.obs[idx], server, self.share[idx])),
            "y": torch.from_numpy(np.where(y_mask, y, 0.0)).to(DTYPE),
            "y_mask": torch.from_numpy(y_mask),
            "completed": torch.from_numpy(completed).to(DTYPE),
        }


def kept_routing(
    primary: str,
    trial: str,
    history: Mapping[str, list[float]],
    window: int,
    margin: float = 0.0,
) -> str:
    """Of two imagined routings, the one whose last ``window`` trial episodes met the agent's
    preferences better (mean of :meth:`Buffer.preference` per episode, ``history[routing]``);
    ``primary`` until both have been tried, on a tie, and unless ``trial``'s mean exceeds
    ``primary``'s by more than ``margin`` times its size (a lead within the episodes' own
    spread is not taken for a better routing).

    Only the latest episodes count: the model keeps learning, and a routing can be worse while
    the model is young and better once it has learned (seen on ``azure_a100_3090``, where the
    ``fill`` routing trails ``own_server`` over the first ten episodes and leads later).
    """
    if trial == "none" or not history.get(primary) or not history.get(trial):
        return primary
    recent = {name: float(np.mean(history[name][-window:])) for name in (primary, trial)}
    lead = recent[trial] - recent[primary]
    return trial if lead > margin * abs(recent[primary]) else primary


class AIFAgent(Agent):
    """Active inference offloading (He et al. 2024, Algorithm 1; Tschantz et al. 2020).

    :param scenario: the scenario (its server count, tasks per episode and servers' compute
        slots are used).
    :param seed: seeds the network initialisation, the seed episodes' random actions, the
        training shuffles and the planner's draws.
    :param params: hyperparameters by flat name (:meth:`AIFConfig.from_params`; unknown
        names raise ``TypeError``).
    """

    name = "aif"
    capabilities = Capabilities(learns=True, paper_baseline=True, action_interface="dict")
    hyperparameters = HYPERPARAMETERS

    def __init__(self, scenario: ScenarioConfig, seed: int = 0, **params: Any) -> None:
        super().__init__(scenario, seed)
        self.config = AIFConfig.from_params(params)
        self.layout = ObservationLayout(self.n_servers)
        self.buffer = Buffer(self.layout, self.config.buffer_size)
        self.episodes_trained = 0
        self.train_generator = torch.Generator().manual_seed(seed)
        self.last_fit: dict[str, Any] = {}
        #: Per routing tried, the preference met in each of its trial episodes.
        self.routing_trial: dict[str, list[float]] = {}
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
        self.planner = self._planner(self.kept_routing())

    def _planner(self, routing: str) -> CEMPlanner:
        """The planner of ``self.config`` imagining the tasks to come by ``routing``."""
        return CEMPlanner(
            self.model,
            dataclasses.replace(self.config.planner, imagined_routing=routing),
            n_tasks=self.scenario.n_tasks,
            seed=self.seed,
            slots=[server.parallel_slots for server in self.scenario.servers],
        )

    def trial_routing_of(self, planned_episode: int) -> str | None:
        """The routing the ``planned_episode``-th planned episode (0-based, after the seed
        episodes) plays with ``trial_routing`` set: ``imagined_routing`` on even ones,
        ``trial_routing`` on odd ones, for the whole of training; None without a trial."""
        cfg = self.config
        if cfg.trial_routing == "none" or planned_episode < 0:
            return None
        return cfg.planner.imagined_routing if planned_episode % 2 == 0 else cfg.trial_routing

    def kept_routing(self) -> str:
        """The routing played outside training: ``trial_routing`` if its last
        ``routing_trial_episodes`` episodes met the agent's preferences better than
        ``imagined_routing``'s by more than ``routing_trial_margin``, else ``imagined_routing``
        (:func:`kept_routing`)."""
        cfg = self.config
        return kept_routing(
            cfg.planner.imagined_routing,
            cfg.trial_routing,
            self.routing_trial,
            cfg.routing_trial_episodes,
            cfg.routing_trial_margin,
        )

    def use_routing(self, routing: str) -> None:
        """Plan with ``routing`` from now on (a new planner on the current weights), whatever
        the trial kept: to ask what the trained policy would score with the other routing."""
        self.planner = self._planner(routing)

    def use_kept_routing(self) -> None:
        """Plan with :meth:`kept_routing` from now on, as after training (a new planner on
        the current weights; without a trial that is ``imagined_routing``)."""
        self.planner = self._planner(self.kept_routing())

    # -- acting -----------------------------------------------------------------------------
    def attach(self, env: gym.Env) -> None:
        """A new episode: the planner forgets its warm start."""
        self.planner.reset()

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> Action:
        """Plan with CEM (deterministic: fixed draws, warm start from this episode only)."""
        server, share, _ = self.planner.plan(observation)
        return {"server": server, "share": share}

    def random_action(self, rng: np.random.Generator, observation: np.ndarray) -> Action:
        """Seed-episode action: a uniform server and shares drawn from the planner's initial
        q(pi) (``seed_actions="prior"``, logit-normal) or uniform on [0, 1] (``"uniform"``,
        the reference's ``action_space.sample()``); with ``bandwidth_follows_compute`` the
        bandwidth share is the compute share, with ``grant_within_remaining`` compute and
        bandwidth are capped at what the drawn server has left, and with ``memory_floor`` the
        memory share is raised to the task's need on the drawn server (all read from
        ``observation``), as the planner's candidates are."""
        cfg = self.config
        if cfg.seed_actions == "uniform":
            share = rng.uniform(0.0, 1.0, 3)
        else:
            prior = cfg.planner  # q(pi) at the start of a decision
            z = math.log(prior.init_share / (1.0 - prior.init_share)) + prior.init_logit_std * (
                rng.standard_normal(3)
            )
            share = sigmoid(z)
        server = int(rng.integers(self.n_servers))
        obs = np.asarray(observation, np.float64)
        need = self.layout.block(obs, "memory_need")[server]
        remaining = self.layout.remaining(obs)[server]
        share = apply_grant_rules(cfg.planner, share, need, remaining)  # the planner's rules
        return {"server": server, "share": share.astype(np.float32)}

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
            trial = self.trial_routing_of(self.episodes_trained - self.config.seed_episodes)
            if trial is not None:
                self.planner = self._planner(trial)
            start = self.buffer.cursor
            obs, info = env.reset(seed=seed + episode)
            self.planner.reset()
            done = False
            while not done:
                action = self.random_action(rng, obs) if random_episode else self.act(obs, info)
                next_obs, _reward, terminated, truncated, info = env.step(action)  # reward unused
                done = terminated or truncated
                self.buffer.add(obs, action, info["outcome"], next_obs, terminal=done)
                obs = next_obs
            self.episodes_trained += 1
            if on_episode is not None:
                on_episode(episode, dict(info["episode"]))
            rows = self.buffer.rows_since(start)
            if trial is not None:
                self.routing_trial.setdefault(trial, []).append(self.buffer.preference(rows))
            self.refit(new_rows=rows)
        if self.config.trial_routing != "none":
            self.use_kept_routing()

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
            gap = self.buffer.mean_gap_s(new_rows)
            if gap is not None:
                self.model.record_gap(gap)
            self.model.record_need(self.buffer.mean_need(new_rows))
            self.model.record_floor(*self.buffer.smallest_latency_hold(new_rows))
        if cfg.reinit_each_episode:
            norms = {
                k: v.clone()
                for k, v in self.model.state_dict().items()
                if "norm" in k or k in ("gap_stats", "need_stats", "seen_floor_s")
            }
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
        self.planner.refresh()
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
                "routing_trial": self.routing_trial,
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
        # Before _build, which plans with the routing the trial kept.
        self.routing_trial = {k: list(v) for k, v in state.get("routing_trial", {}).items()}
        self._build()
        model_state = dict(state["model"])
        # A policy saved before the model kept task needs and the fastest outcomes seen has
        # neither: imagined_tasks: typical then imagines copies and floor_at_seen floors
        # nothing until the next refit records some.
        model_state.setdefault("need_stats", self.model.need_stats.clone())
        model_state.setdefault("seen_floor_s", self.model.seen_floor_s.clone())
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(state["optimizer"])
        self.planner.refresh()
        self.train_generator.set_state(state["train_generator"])


__all__ = ["AIFAgent", "AIFConfig", "Buffer"]
