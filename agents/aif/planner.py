"""The planner: cross-entropy method over hybrid actions, scored by r = r1 + r2 (Algorithm 1).

For each task (Algorithm 1, lines 6-13): start q(pi) afresh; for i in 1..I sample J candidate
actions from q(pi), score each by ``r = expl_scale * r1 + r2``, keep the k best (the elites)
and refit q(pi) to them. The elites of one iteration compete with the next one's candidates
(``keep_elites``, as iCEM does, Pinneri et al. 2020: the scores are deterministic, so the
best found so far is never lost and the refit tightens faster). As in the reference
(``pmbrl/control/planner.py``) q(pi) is reset for every decision (no warm start), so ``act``
is a function of the observation alone.

q(pi), a distribution over the hybrid action a = [j, c_j, w_j, m_j] (PAPER.md section 7):

- j ~ Categorical(p), refit to the elites' server frequencies with a pseudo-count
  ``server_smoothing`` per server (so no server's probability collapses to 0 after one bad
  iteration): ``p_j = (n_j + alpha) / (k + N alpha)``;
- shares ``(c, w, m) = sigmoid(z)``, ``z ~ N(mu_j, diag sigma_j^2)``, one logit-normal per
  server (the right shares differ between servers: what remains differs). Logit space keeps
  shares inside (0, 1) and gives relative resolution where it matters (a 2% margin on a 5%
  share). Refit per server to its elites (mean and population std, reference) when it has at
  least two of them, with ``sigma >= min_logit_std``; otherwise unchanged.

Scores, from the model's predictions (never from the environment's reward):

- r2, rewardless guidance (eq. 11) on the model's predictions, averaged over members as the
  reference averages its reward model: ``rg = mean_b p_b * (1 / L_b + P_b)``, p_b the member's
  completion probability, L_b and P_b its predicted latency and pass@100.
- r1, the expected information gain of the task's outcome (info_gain.py), weighted by
  ``expl_scale``.

Horizon (``horizon`` = H >= 1). A task's outcome is fixed at its admission, so eq. 11 of
the current task alone (H = 1) rewards grabbing: more compute is always a little faster, more
bandwidth and memory cost nothing, and the next tasks then find the server drained. With
H > 1 the candidate policy is imagined for the next H - 1 tasks too: they are copies of the
current task (same features: the next tasks are unknown) offloaded with the same action, and
each member rolls its imagined server state forward by its own predicted consumption,

    s_k = s + (k - 1) * min(dS_b(s, a), 0),    k = 2..H

(dS_b: member b's predicted change of server j's C, W, M when the task is admitted; the
copies arrive with the current task, so nothing is released in between). Copy k
completes with member b's probability ``p_b(s_k, a)``, which falls with k as the copies
deplete the server, so the number of copies member b expects to complete, ``n_b``, is found
by bisection on a real-valued k where ``p_b`` crosses 1/2, with ``ceil(log2 H) + 2`` model
calls (instead of H - 1) to a quarter of a copy, then interpolated: n_b is continuous.
A copy makes the same request as the current task, so it completes only if the current task
does, and then earns what the current task would (same server, same grant):

    r2 = mean_b p_b * (1 + n_b) * (1 / L_b + P_b)

so a share that fits n more times earns n more times, and the planner asks for what a
server can give to many tasks, not to one: with H above the number of tasks a server can
hold, compute and bandwidth come out proportional to the memory (c ~ C_j m / M_j) and the
memory close to the need. r1 is the current task's only: the copies are a device to price
resource use, not observations the agent will make.

The action taken is the best-scoring candidate over all iterations (the mode of q(pi) is
always among the candidates): with a hybrid action the mean of the elites is undefined over
servers, and the best candidate is one the model actually scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from agents.aif.info_gain import outcome_information_gain
from agents.aif.model import (
    COMPUTE,
    LATENCY,
    MEMORY,
    N_TARGETS,
    NEED,
    PASS,
    EnsembleModel,
    dynamic_features,
    static_features,
)

STATE_DIMS = slice(0, 3)  # change of the chosen server's remaining C, W, M


@dataclass(frozen=True)
class PlannerConfig:
    """CEM planner settings. The defaults are the agent's (AIFAgent takes them from here);
    conf/agent/aif.yaml gives each one's source and why it departs from the reference.

    :param n_iterations: I, optimisation iterations per decision.
    :param n_candidates: J, candidates sampled per iteration.
    :param n_elites: k, candidates kept to refit q(pi).
    :param keep_elites: the elites of an iteration compete with the next one's candidates.
    :param horizon: H, tasks imagined (the current one and H - 1 copies).
    :param expl_scale: weight of r1 (information gain) against r2.
    :param init_share: centre of q(pi)'s shares at the start of each decision.
    :param init_logit_std: their initial std in logit space.
    :param min_logit_std: floor of the refitted std in logit space.
    :param server_smoothing: pseudo-count per server when refitting p.
    :param min_latency_s: predicted latencies are floored here before 1/L.
    """

    n_iterations: int = 10
    n_candidates: int = 250
    n_elites: int = 25
    keep_elites: bool = True
    horizon: int = 32
    expl_scale: float = 0.1
    init_share: float = 0.1
    init_logit_std: float = 2.0
    min_logit_std: float = 0.01
    server_smoothing: float = 0.5
    min_latency_s: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.n_elites <= self.n_candidates:
            raise ValueError(f"need 0 < n_elites <= n_candidates, got {self.n_elites}")
        if self.n_iterations < 1 or self.horizon < 1:
            raise ValueError("n_iterations and horizon must be >= 1")
        if not 0.0 < self.init_share < 1.0:
            raise ValueError(f"init_share must be in (0, 1), got {self.init_share}")


@dataclass(frozen=True)
class _Snapshot:
    """Model tensors prepared once per decision (normalisation folded, weights split)."""

    w_static: Tensor
    w_dynamic: Tensor
    bias: Tensor
    target_mean: Tensor
    target_std: Tensor
    w_copy: Tensor
    b_copy: Tensor


class CEMPlanner:
    """Plans one action per task with the ensemble ``model``.

    :param model: the generative model (read, never trained, here).
    :param config: planner settings.
    :param seed: seeds the candidate draws; every decision restarts from it, so equal
        observations (and an equal model) give equal actions.
    """

    def __init__(self, model: EnsembleModel, config: PlannerConfig, seed: int = 0) -> None:
        self.model = model
        self.config = config
        self.seed = seed
        self.n_servers = model.n_servers
        self._generator = torch.Generator()
        # Bisection to a quarter of a copy: ceil(log2 H) steps reach one copy, two more 1/4.
        self.bisection_steps = math.ceil(math.log2(config.horizon)) + 2 if config.horizon > 1 else 0

    # -- scoring ----------------------------------------------------------------------------
    def _snapshot(self) -> _Snapshot:
        """The model's weights laid out for scoring, with the input normalisation folded into
        the first layer: ``W (x - mu) / sigma + b = (W / sigma) x + (b - W mu / sigma)``."""
        model, ds = self.model, self.model.n_static
        first = model.hidden[0]
        in_mean = model.input_norm.mean.to(torch.float32)
        in_std = model.input_norm.std
        weight = first.weight / in_std  # [B, H, D]
        bias = first.bias - torch.matmul(weight, in_mean.unsqueeze(1))
        logit_row = [2 * N_TARGETS]  # all an imagined copy needs: does it complete?
        return _Snapshot(
            w_static=weight[:, :, :ds].contiguous(),
            w_dynamic=weight[:, :, ds:].contiguous(),
            bias=bias,
            target_mean=model.target_norm.mean.to(torch.float32).view(1, -1, 1),
            target_std=model.target_norm.std.view(1, -1, 1),
            w_copy=model.head.weight[:, logit_row].contiguous(),
            b_copy=model.head.bias[:, logit_row].contiguous(),
        )

    @torch.no_grad()
    def score(
        self, obs: Tensor, server: Tensor, share: Tensor, snap: _Snapshot | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``r = expl_scale * r1 + r2`` of each candidate (see the module docstring).

        :param obs: ``[6N + 5]`` the current observation.
        :param server: ``[J]`` candidate servers.
        :param share: ``[J, 3]`` candidate shares.
        :param snap: the model's prepared weights (made here when not given).
        :return: (r ``[J]``, r1 ``[J]``, r2 ``[J]``).
        """
        model, n = self.model, self.n_servers
        snap = self._snapshot() if snap is None else snap
        b, j = model.n_members, server.shape[0]

        # First layer, split: W phi + b = (W_s phi_static + b) + W_d phi_dynamic.
        x_static = static_features(obs, server, share, n).T.contiguous().expand(b, -1, j)
        pre_static = torch.baddbmm(snap.bias, snap.w_static, x_static)  # [B, H, J]
        remaining = obs[COMPUTE * n : (MEMORY + 1) * n].view(3, n)[:, server].T  # [J, 3] C,W,M
        need = obs[NEED * n : (NEED + 1) * n][server]  # [J]
        x_dyn = dynamic_features(remaining, share, need, model.margin_scale)
        x_dyn = x_dyn.T.contiguous().expand(b, -1, j)
        h = model.trunk(torch.baddbmm(pre_static, snap.w_dynamic, x_dyn), inplace=True)
        out = model.head(h)
        mean = out[:, :N_TARGETS]  # [B, 5, J] normalised
        var = model.bound_logvar(out[:, N_TARGETS:-1]).exp()
        logit = out[:, -1]  # [B, J] completion logit of the current task
        p = torch.sigmoid(logit)
        raw = mean * snap.target_std + snap.target_mean  # de-normalised: dC, dW, dM, L (s), P

        r1 = outcome_information_gain(mean, var, p)
        gain = 1.0 / raw[:, LATENCY].clamp_min(self.config.min_latency_s) + raw[:, PASS]
        copies = self.completed_copies(snap, pre_static, remaining, share, need, raw, logit)
        r2 = (p * (1.0 + copies) * gain).mean(0)  # eq. 11 on the current task and its copies
        r = self.config.expl_scale * r1 + r2
        return torch.nan_to_num(r, nan=-math.inf), r1, r2

    def completed_copies(
        self,
        snap: _Snapshot,
        pre_static: Tensor,
        remaining: Tensor,
        share: Tensor,
        need: Tensor,
        raw: Tensor,
        logit: Tensor,
    ) -> Tensor:
        """``n_b``: how many of the H - 1 imagined copies member b predicts to complete.

        Bisection on the copy index k (completion falls with k): ``lo`` is the last copy known
        to complete (1 = the current task, taken as given), ``hi`` the first known to fail.
        k is real-valued (the state after 2.5 copies is ``s + 1.5 dS``) and the bisection
        runs two steps past integer resolution, then interpolates the logit linearly in the
        last quarter-copy: the count is continuous, so a slightly smaller request fits
        slightly more copies. With integer counts the planner was indifferent between all
        requests with the same count and wasted up to a task's worth of memory per server.

        :return: ``[B, J]`` counts in [0, H - 1].
        """
        model, horizon = self.model, self.config.horizon
        b, j = pre_static.shape[0], pre_static.shape[2]
        lo, hi = torch.ones(b, j), torch.full((b, j), float(horizon + 1))
        logit_lo, logit_hi = logit, torch.full((b, j), -1.0)  # hi = H + 1 is never evaluated
        # Copies arrive with the current task: only consumption (dS < 0) carries over.
        consumed = raw[:, STATE_DIMS].transpose(1, 2).clamp_max(0.0)  # [B, J, 3]
        for _ in range(self.bisection_steps):
            k = (lo + hi) / 2
            rem_k = (remaining + (k - 1).unsqueeze(-1) * consumed).clamp(0.0, 1.0)  # s_k
            x_k = dynamic_features(rem_k, share, need, model.margin_scale)
            x_k = x_k.transpose(1, 2).contiguous()
            h = model.trunk(torch.baddbmm(pre_static, snap.w_dynamic, x_k), inplace=True)
            logit_k = torch.baddbmm(snap.b_copy, snap.w_copy, h)[:, 0]
            completes = logit_k >= 0.0  # p_b(s_k, a) >= 1/2
            lo, logit_lo = torch.where(completes, k, lo), torch.where(completes, logit_k, logit_lo)
            hi, logit_hi = torch.where(completes, hi, k), torch.where(completes, logit_hi, logit_k)
        above = logit_lo.clamp_min(0.0)  # < 0 only when the current task itself fails: 0 copies
        crossing = lo + (hi - lo) * above / (above - logit_hi)  # logit_hi < 0: in [lo, hi)
        return (crossing - 1.0).clamp_max(horizon - 1.0)

    # -- CEM --------------------------------------------------------------------------------
    @torch.no_grad()
    def plan(self, observation: np.ndarray) -> tuple[int, np.ndarray, dict[str, float]]:
        """Algorithm 1, lines 6-13, for one task.

        :return: (server, shares ``(3,)`` float32, diagnostics of the chosen candidate).
        """
        cfg, n = self.config, self.n_servers
        gen = self._generator.manual_seed(self.seed)
        snap = self._snapshot()
        obs = torch.as_tensor(observation, dtype=torch.float32)
        probs = torch.full((n,), 1.0 / n)
        mu = torch.full((n, 3), math.log(cfg.init_share / (1.0 - cfg.init_share)))
        sigma = torch.full((n, 3), cfg.init_logit_std)
        # The elites so far (server, logit shares, r, r1, r2); empty before the first iteration.
        kept = (torch.zeros(0, dtype=torch.long), torch.zeros(0, 3), *[torch.zeros(0)] * 3)
        best = (-math.inf, 0, torch.zeros(3), 0.0, 0.0)
        for _ in range(cfg.n_iterations):
            # Sample J candidates from q(pi); candidate 0 is its mode.
            server = torch.multinomial(probs, cfg.n_candidates, replacement=True, generator=gen)
            noise = torch.randn(cfg.n_candidates, 3, generator=gen)
            server[0] = torch.argmax(probs)
            noise[0] = 0.0
            z = mu[server] + sigma[server] * noise
            r, r1, r2 = self.score(obs, server, torch.sigmoid(z), snap)
            if cfg.keep_elites:  # compete with the elites so far (scores are deterministic)
                server, z, r, r1, r2 = (
                    torch.cat(pair) for pair in zip(kept, (server, z, r, r1, r2), strict=True)
                )
            top = torch.topk(r, cfg.n_elites).indices
            kept = (server[top], z[top], r[top], r1[top], r2[top])
            # Refit q(pi) to the elites.
            elite_server, elite_z = kept[0], kept[1]
            counts = torch.bincount(elite_server, minlength=n).to(torch.float32)
            probs = (counts + cfg.server_smoothing) / (cfg.n_elites + n * cfg.server_smoothing)
            total = torch.zeros(n, 3).index_add_(0, elite_server, elite_z)
            total_sq = torch.zeros(n, 3).index_add_(0, elite_server, elite_z**2)
            enough = (counts >= 2).unsqueeze(1)
            mean = total / counts.clamp_min(1.0).unsqueeze(1)
            std = (total_sq / counts.clamp_min(1.0).unsqueeze(1) - mean**2).clamp_min(0.0).sqrt()
            mu = torch.where(enough, mean, mu)
            sigma = torch.where(enough, std.clamp_min(cfg.min_logit_std), sigma)
            i = int(top[0])
            if cfg.keep_elites or float(r[i]) > best[0]:
                best = (
                    float(r[i]),
                    int(server[i]),
                    torch.sigmoid(z[i]),
                    float(r1[i]),
                    float(r2[i]),
                )
        score, server_j, share_j, r1_j, r2_j = best
        shares = share_j.numpy().astype(np.float32)
        return server_j, shares, {"score": score, "r1": r1_j, "r2": r2_j}


__all__ = ["CEMPlanner", "PlannerConfig"]
