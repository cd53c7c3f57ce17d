"""The generative model: an ensemble of probabilistic MLPs over (state, action) -> outcome.

Following Tschantz et al. 2020 (code ``alec-tschantz/rl-inference``, ``pmbrl/models/models.py``):
B members, each an MLP with swish hidden units and a Gaussian head whose log-variance is
soft-bounded by a sigmoid; Gaussian NLL loss; inputs and targets z-scored by running statistics.
What the paper's Algorithm 1 adds is *what* it predicts: besides the change of the server state,
the task's outcome (completion, latency L, pass@100 P), which eq. 11 scores.

Input encoding ``phi(s, a)`` (our choice; the paper leaves the network open). An allocation on
server j is judged against server j's state only, so the model sees the state *from the chosen
server*: its one-hot index, its row of the observation, the task, the three shares, and the
differences the simulator compares (``C_j - c``, ``W_j - w``, ``M_j - m``, ``m - need_j``) and
the smallest of them. The differences are linear in (s, a) (no information is added); they
are squashed by a symlog at scale ``margin_scale`` (DreamerV3's symlog) so that a 2% margin on
a 5% share is 0.7 units instead of 0.001: the completion boundary sits at margin 0 and must be
learned sharply. The smallest margin lets one hidden unit express "every margin is positive";
without it the learned memory-need boundary drifted with the remaining memory (offline probe
accuracy 0.73 -> 0.83). Whether and how a margin matters is learned from data; nothing here
says "negative fails".

Features are split into *static* ones (do not change when the planner imagines the server's
resources being consumed) and *dynamic* ones (the server's remaining C, W, M and the
margins), so that the planner can re-evaluate imagined future tasks cheaply (see planner.py).

Outputs per member: a Gaussian over ``y = [dC_j, dW_j, dM_j, L, P]`` and a Bernoulli logit
for completion. ``dC_j, dW_j, dM_j`` is the change of the chosen server's remaining compute,
bandwidth and memory fractions from s to s' *when the task is admitted* (a refused task
changes nothing, which needs no model); L (s) and P are observed when the task completes.
Conditioning the change on admission matters to the planner: it imagines copies of an
admitted task, and a single head for "change whatever happens" let a member that predicted
"completes" and "takes nothing" at once (a blend of its two heads off the data) promise an
endless supply of copies, which CEM found and exploited.

Layout: activations are feature-major, ``[B, features, n]``; ``torch.baddbmm(bias, W, x)`` with
``W: [B, out, in]`` scores every member on every candidate in one call (measured 4x faster
than sample-major on this CPU for the small output layer).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

#: Observation blocks of CloudEdgeEnv, in units of N (see its docstring).
DIST, COMPUTE, BANDWIDTH, MEMORY, WAIT, NEED = range(6)
N_TASK_FEATURES = 5
#: Gaussian targets: change of the chosen server's (C, W, M), latency (s), pass@100.
TARGETS = ("d_compute", "d_bandwidth", "d_memory", "latency_s", "pass_at_100")
N_TARGETS = len(TARGETS)
LATENCY, PASS = 3, 4
#: Dynamic features: C, W, M of the chosen server, the four margins, the smallest margin.
N_DYNAMIC = 8
#: Shares are floored here before their logarithm (a 0 share gives an infinite latency).
LOG_SHARE_FLOOR = 1e-4


def n_static_features(n_servers: int) -> int:
    """one-hot(j) + (distance, wait, need) of j + task + shares + log shares."""
    return n_servers + 3 + N_TASK_FEATURES + 3 + 3


def symlog(x: Tensor) -> Tensor:
    """``sign(x) * log(1 + |x|)``: linear near 0, logarithmic far away."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def server_rows(obs: Tensor, server: Tensor, n_servers: int) -> Tensor:
    """The six per-server observation entries of server ``server``: ``[..., 6]``.

    :param obs: ``[n, 6N + 5]`` observations (or ``[6N + 5]``, broadcast to every server).
    :param server: ``[n]`` server indices.
    """
    blocks = obs[..., : 6 * n_servers].reshape(*obs.shape[:-1], 6, n_servers)
    if blocks.dim() == 2:  # one observation, many candidates
        return blocks[:, server].T
    return blocks.gather(2, server.view(-1, 1, 1).expand(-1, 6, 1)).squeeze(2)


def static_features(obs: Tensor, server: Tensor, share: Tensor, n_servers: int) -> Tensor:
    """Features that stay fixed while imagined tasks consume server j: ``[n, n_static]``."""
    rows = server_rows(obs, server, n_servers)
    task = obs[..., 6 * n_servers :].expand(server.shape[0], N_TASK_FEATURES)
    return torch.cat(
        [
            F.one_hot(server, n_servers).to(share.dtype),
            rows[:, [DIST, WAIT, NEED]],
            task,
            share,
            torch.log(share.clamp_min(LOG_SHARE_FLOOR)),  # latency ~ 1/c: log c is its scale
        ],
        dim=-1,
    )


def dynamic_features(remaining: Tensor, share: Tensor, need: Tensor, margin_scale: float) -> Tensor:
    """Server j's remaining (C, W, M), the four margins the simulator checks and the tightest
    of them: ``[..., 8]``.

    :param remaining: ``[..., 3]`` remaining compute, bandwidth, memory fractions of j.
    :param share: ``[..., 3]`` requested shares (c, w, m).
    :param need: ``[...]`` the task's memory need as a share of j's memory.
    :param margin_scale: symlog scale of the margins (share units).
    """
    over_need = (share[..., 2] - need).unsqueeze(-1).expand(*remaining.shape[:-1], 1)
    margins = symlog(torch.cat([remaining - share, over_need], dim=-1) / margin_scale)
    tightest = margins.min(dim=-1, keepdim=True).values
    return torch.cat([remaining, margins, tightest], dim=-1)


def encode(
    obs: Tensor, server: Tensor, share: Tensor, n_servers: int, margin_scale: float
) -> Tensor:
    """``phi(s, a)`` for a batch of transitions: ``[n, n_static + 8]``."""
    rows = server_rows(obs, server, n_servers)
    static = static_features(obs, server, share, n_servers)
    remaining = rows[:, [COMPUTE, BANDWIDTH, MEMORY]]
    return torch.cat([static, dynamic_features(remaining, share, rows[:, NEED], margin_scale)], -1)


class RunningNormalizer(nn.Module):
    """Per-dimension running mean and population std (Welford / Chan merge), with a mask.

    As in the reference (``pmbrl/training/normalizer.py``) statistics cover every transition
    ever added; ``std`` is floored at ``min_std`` so that a feature that was constant in
    training (e.g. t_max) does not blow up when it changes.

    :param n_dims: dimensionality.
    :param min_std: floor of the std used to normalise.
    """

    def __init__(self, n_dims: int, min_std: float = 1e-2) -> None:
        super().__init__()
        self.min_std = min_std
        self.register_buffer("count", torch.zeros(n_dims, dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(n_dims, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(n_dims, dtype=torch.float64))

    def update(self, x: Tensor, mask: Tensor | None = None) -> None:
        """Merge a batch ``x: [n, d]`` (entries where ``mask`` is False are skipped)."""
        x = x.to(torch.float64)
        m = torch.ones_like(x) if mask is None else mask.to(torch.float64)
        x = torch.where(m > 0, x, 0.0)  # NaN latencies of failed tasks are masked out
        n_b = m.sum(0)
        mean_b = (x * m).sum(0) / n_b.clamp_min(1.0)
        m2_b = (((x - mean_b) ** 2) * m).sum(0)
        total = self.count + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / total.clamp_min(1.0)
        self.m2 += m2_b + delta**2 * self.count * n_b / total.clamp_min(1.0)
        self.count.copy_(total)

    @property
    def std(self) -> Tensor:
        var = self.m2 / self.count.clamp_min(1.0)
        return var.sqrt().clamp_min(self.min_std).to(torch.float32)

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.mean.to(x.dtype)) / self.std

    def denormalize(self, x: Tensor) -> Tensor:
        return x * self.std + self.mean.to(x.dtype)


class EnsembleLinear(nn.Module):
    """B independent linear layers applied at once: ``y[b] = W[b] @ x[b] + bias[b]``.

    :param n_members: B.
    :param n_in: input features.
    :param n_out: output features.
    :param init: ``"xavier_uniform"`` (hidden layers) or ``"xavier_normal"`` (output), as in
        the reference.
    """

    def __init__(self, n_members: int, n_in: int, n_out: int, init: str) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_members, n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_members, n_out, 1))
        for w in self.weight:  # per member, so each starts from its own draw
            getattr(nn.init, f"{init}_")(w)

    def forward(self, x: Tensor) -> Tensor:
        """``x: [B, n_in, n]`` (or ``[n_in, n]``, shared by every member) -> ``[B, n_out, n]``."""
        if x.dim() == 2:
            return torch.matmul(self.weight, x) + self.bias
        return torch.baddbmm(self.bias, self.weight, x)


class EnsembleModel(nn.Module):
    """The ensemble generative model p(y, tc | s, a; theta_b), b = 1..B.

    :param n_servers: N.
    :param n_members: B (reference: 10).
    :param n_hidden: hidden width (reference: 200).
    :param n_layers: hidden layers (reference: 3; see conf/agent/aif.yaml for ours).
    :param min_logvar: lower soft bound of the log-variance (normalised units; reference -5).
    :param max_logvar: upper soft bound (reference -1).
    :param margin_scale: symlog scale of the margin features (share units).
    """

    def __init__(
        self,
        n_servers: int,
        n_members: int = 10,
        n_hidden: int = 200,
        n_layers: int = 1,
        min_logvar: float = -5.0,
        max_logvar: float = -1.0,
        margin_scale: float = 1e-3,
    ) -> None:
        super().__init__()
        self.n_servers = n_servers
        self.n_members = n_members
        self.n_static = n_static_features(n_servers)
        self.n_inputs = self.n_static + N_DYNAMIC
        self.min_logvar, self.max_logvar = min_logvar, max_logvar
        self.margin_scale = margin_scale
        sizes = [self.n_inputs] + [n_hidden] * n_layers
        self.hidden = nn.ModuleList(
            EnsembleLinear(n_members, a, b, "xavier_uniform") for a, b in itertools.pairwise(sizes)
        )
        # Rows: N_TARGETS means, N_TARGETS raw log-variances, 1 completion logit.
        self.head = EnsembleLinear(n_members, n_hidden, 2 * N_TARGETS + 1, "xavier_normal")
        self.input_norm = RunningNormalizer(self.n_inputs)
        self.target_norm = RunningNormalizer(N_TARGETS)

    # -- encoding ---------------------------------------------------------------------------
    def encode(self, obs: Tensor, server: Tensor, share: Tensor) -> Tensor:
        return encode(obs, server, share, self.n_servers, self.margin_scale)

    def bound_logvar(self, raw: Tensor) -> Tensor:
        """Soft bound (reference): ``logvar = min + (max - min) * sigmoid(raw)``."""
        return self.min_logvar + (self.max_logvar - self.min_logvar) * torch.sigmoid(raw)

    # -- network ----------------------------------------------------------------------------
    def trunk(self, pre: Tensor, inplace: bool = False) -> Tensor:
        """Hidden features from the first layer's pre-activation ``[B, H, n]``.

        :param inplace: overwrite ``pre`` (planning only: autograd needs it kept).
        """
        h = F.silu(pre, inplace=inplace)  # swish: x * sigmoid(x)
        for layer in self.hidden[1:]:
            h = F.silu(layer(h), inplace=inplace)
        return h

    def forward(self, x_norm: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Normalised inputs ``[B, D, n]`` -> (normalised mean ``[B, 5, n]``, log-variance
        ``[B, 5, n]``, completion logit ``[B, n]``)."""
        out = self.head(self.trunk(self.hidden[0](x_norm)))
        mean, raw, logit = out[:, :N_TARGETS], out[:, N_TARGETS:-1], out[:, -1]
        return mean, self.bound_logvar(raw), logit

    # -- training ---------------------------------------------------------------------------
    def loss(self, x_norm: Tensor, y_norm: Tensor, y_mask: Tensor, completed: Tensor) -> Tensor:
        """Negative log-likelihood of a batch, summed over members (reference convention).

        Gaussian part (constants dropped): ``(mu - y)^2 / var + log var``, averaged over the
        observed entries of each target, then over targets; Bernoulli part: binary
        cross-entropy of the completion logit.

        :param x_norm: ``[B, D, n]`` normalised inputs (each member its own batch).
        :param y_norm: ``[B, 5, n]`` normalised targets (any finite value where unobserved).
        :param y_mask: ``[B, 5, n]`` 1.0 where a target is observed.
        :param completed: ``[B, n]`` 1.0 where the task completed.
        """
        mean, logvar, logit = self(x_norm)
        nll = (mean - y_norm) ** 2 * torch.exp(-logvar) + logvar  # Gaussian NLL x 2
        per_target = (nll * y_mask).sum(-1) / y_mask.sum(-1).clamp_min(1.0)  # [B, 5]
        bce = F.binary_cross_entropy_with_logits(logit, completed, reduction="none").mean(-1)
        return (per_target.mean(-1) + bce).sum()

    def training_table(self, data: Mapping[str, Tensor]) -> Tensor:
        """Normalise a data set once and pack it as rows ``[x_norm, y_norm, y_mask, tc]``."""
        y_mask = data["y_mask"]
        y_norm = torch.where(y_mask, self.target_norm.normalize(data["y"]), 0.0)
        return torch.cat(
            [
                self.input_norm.normalize(data["x"]),
                y_norm,
                y_mask.to(torch.float32),
                data["completed"].to(torch.float32).unsqueeze(1),
            ],
            dim=1,
        )

    # -- prediction -------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, obs: Tensor, server: Tensor, share: Tensor) -> dict[str, Tensor]:
        """Per-member predictions for a batch of (s, a) (used by tests and diagnostics).

        :return: ``mean`` ``[B, n, 5]`` in raw units, ``var_norm`` ``[B, n, 5]`` in
            normalised units, ``p_complete`` ``[B, n]``.
        """
        x = self.input_norm.normalize(self.encode(obs, server, share)).T
        mean, logvar, logit = self(x)
        mean_raw = self.target_norm.denormalize(mean.transpose(1, 2))
        return {
            "mean": mean_raw,
            "var_norm": logvar.exp().transpose(1, 2),
            "p_complete": torch.sigmoid(logit),
        }


def make_optimizer(model: EnsembleModel, lr: float, eps: float) -> torch.optim.Adam:
    """Adam over the network (not the normalisers), no weight decay (reference)."""
    params = [p for n, p in model.named_parameters() if "norm" not in n]
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)


def fit(
    model: EnsembleModel,
    optimizer: torch.optim.Optimizer,
    data: Mapping[str, Tensor],
    n_epochs: int,
    batch_size: int,
    max_steps: int,
    grad_clip: float,
    generator: torch.Generator,
) -> dict[str, Any]:
    """Train on the whole buffer: each member its own random permutation per epoch (the
    reference's per-member shuffles; diversity comes from them and from the initialisation).

    :param data: ``x [n, D]``, ``y [n, 5]``, ``y_mask [n, 5]``, ``completed [n]``.
    :param n_epochs: passes over the buffer (stops early at ``max_steps``).
    :param batch_size: rows per member per step.
    :param max_steps: cap on gradient steps per call (keeps the refit cost bounded).
    :param grad_clip: max global L2 norm of the gradient (reference: 1000).
    :return: ``{"steps": int, "loss": float}`` (mean loss per member over the last epoch).
    """
    table = model.training_table(data)  # [n, D + 11], normalised once per fit
    n, d = table.shape[0], model.n_inputs
    b = model.n_members
    batch = min(batch_size, n)
    steps_per_epoch = max(1, n // batch)  # the incomplete last batch is dropped (reference)
    steps, last = 0, math.nan
    params = [p for group in optimizer.param_groups for p in group["params"]]
    model.train()
    for _ in range(n_epochs):
        order = torch.argsort(torch.rand(b, n, generator=generator), dim=1)
        total = 0.0
        for i in range(steps_per_epoch):
            rows = table[order[:, i * batch : (i + 1) * batch]].transpose(1, 2)  # [B, ., batch]
            loss = model.loss(
                rows[:, :d],
                rows[:, d : d + N_TARGETS],
                rows[:, d + N_TARGETS : d + 2 * N_TARGETS],
                rows[:, -1],
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, grad_clip, foreach=True)
            optimizer.step()
            total += loss.item() / b
            steps += 1
            if steps >= max_steps:
                model.eval()
                return {"steps": steps, "loss": total / (i + 1)}
        last = total / steps_per_epoch
    model.eval()
    return {"steps": steps, "loss": last}
