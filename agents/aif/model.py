"""The generative model: an ensemble of probabilistic MLPs over (state, action) -> outcome.

Following Tschantz et al. 2020 (code ``alec-tschantz/rl-inference``, ``pmbrl/models/models.py``):
B members, each an MLP with swish hidden units and a Gaussian head whose log-variance is
soft-bounded by a sigmoid; Gaussian NLL loss; inputs and targets z-scored by running statistics.
What the paper's Algorithm 1 adds is *what* it predicts: besides the change of the server state,
the task's outcome (completion, latency L, pass@100 P), which eq. 11 scores. What we add is
*time*: how long an admitted task holds its grant (``hold_s``, from admission to release), so
that the planner can imagine resources coming back (planner.py).

Input encoding ``phi(s, a)`` (our choice; the paper leaves the network open). An allocation on
server j is judged against server j's state only, so the model sees the state *from the chosen
server*: its one-hot index, its row of the observation, the task, the three shares (and their
logarithms: latency ~ 1/c), and the differences the simulator compares (``C_j - c``,
``W_j - w``, ``M_j - m``, ``m - need_j``) and the smallest of them. The differences are linear
in (s, a) (no information is added); they are squashed by a symlog at scale ``margin_scale``
(DreamerV3's symlog) so that a 2% margin on a 5% share is 0.7 units instead of 0.001: the
completion boundary sits at margin 0 and must be learned sharply. Whether and how a margin
matters is learned from data; nothing here says "negative fails".

The features come in three groups, so that the planner evaluates the first layer cheaply:
*context* (server j's row and the task: fixed per server within a decision), *share* (the
candidate's shares: fixed per candidate) and *dynamic* (server j's remaining C, W, M and the
margins: what changes when the planner imagines later tasks consuming the server).

Outputs per member: a Gaussian over ``y = [dC_j, dW_j, dM_j, L, P, hold]`` and a Bernoulli
logit for completion. ``dC_j, dW_j, dM_j`` is the change of the chosen server's remaining
compute, bandwidth and memory fractions from s to s' *when the task is admitted* (a refused
task changes nothing, which needs no model); ``hold`` (s) is observed when it is admitted;
L (s) and P when it completes.

Numbers: the networks are float64 (tiny, so the cost is per-operation overhead, not
arithmetic; float64 makes the results less sensitive to the order in which a host's BLAS
sums). Every exp, log, sigmoid and swish goes through :mod:`agents.aif.elementwise`, whose
kernels round alike on AVX2 and AVX-512 hosts (NumPy's and torch's fused ones do not), so the
same seed gives the same run on both (``benchmarks/kernel_drift.py``). Training runs in torch
(autograd, Adam); planning runs on a numpy copy of the weights
(:meth:`EnsembleModel.export`), which has a fraction of torch's per-call overhead at these
sizes. Every observation is read through :class:`cloudedge.observation.ObservationLayout`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from agents.aif.elementwise import log, log1p, torch_sigmoid, torch_silu
from cloudedge.observation import ObservationLayout

#: Gaussian targets: change of the chosen server's (C, W, M), latency (s), pass@100, hold (s).
TARGETS = ("d_compute", "d_bandwidth", "d_memory", "latency_s", "pass_at_100", "hold_s")
N_TARGETS = len(TARGETS)
STATE_DIMS = slice(0, 3)
LATENCY, PASS, HOLD = 3, 4, 5
#: Per-server context entries (besides the one-hot index), by observation block name.
CONTEXT_BLOCKS = ("distance", "wait", "memory_need")
N_TASK_FEATURES = 5
#: Share features: the three shares and their logarithms.
N_SHARE = 6
#: Dynamic features: C, W, M of the chosen server, the four margins, the smallest margin.
N_DYNAMIC = 8
#: Shares are floored here before their logarithm (a 0 share gives an infinite latency).
LOG_SHARE_FLOOR = 1e-4
DTYPE = torch.float64


def n_context_features(n_servers: int) -> int:
    """one-hot(j) + (distance, wait, need) of j + the task's five entries."""
    return n_servers + len(CONTEXT_BLOCKS) + N_TASK_FEATURES


def context_features(layout: ObservationLayout, obs: np.ndarray, server: np.ndarray) -> np.ndarray:
    """Server j's context for each row: ``[n, N + 8]``.

    :param obs: ``[n, 6N + 5]`` observations, or one ``[6N + 5]`` shared by every row.
    :param server: ``[n]`` server indices.
    """
    obs = np.asarray(obs, np.float64)
    rows = np.arange(len(server)) if obs.ndim == 2 else slice(None)
    blocks = np.stack([layout.block(obs, name) for name in CONTEXT_BLOCKS], axis=-1)  # [.., N, 3]
    per_server = blocks[rows, server] if obs.ndim == 2 else blocks[server]
    task = np.broadcast_to(layout.task_features(obs), (len(server), N_TASK_FEATURES))
    one_hot = np.eye(layout.n_servers)[server]
    return np.concatenate([one_hot, per_server, task], axis=-1)


def share_features(share: np.ndarray) -> np.ndarray:
    """``[..., 3]`` shares -> ``[..., 6]``: the shares and their logarithms."""
    share = np.asarray(share, np.float64)
    return np.concatenate([share, log(np.maximum(share, LOG_SHARE_FLOOR))], axis=-1)


def dynamic_features(
    remaining: np.ndarray, share: np.ndarray, need: np.ndarray, margin_scale: float
) -> np.ndarray:
    """Server j's remaining (C, W, M), the four margins the simulator checks and the tightest
    of them: ``[n, 8]`` (:func:`dynamic_columns` by rows).

    :param remaining: ``[n, 3]`` remaining compute, bandwidth, memory fractions of j.
    :param share: ``[n, 3]`` requested shares (c, w, m).
    :param need: ``[n]`` the task's memory need as a share of j's memory.
    :param margin_scale: symlog scale of the margins (share units).
    """
    remaining, share = np.asarray(remaining, np.float64), np.asarray(share, np.float64)
    return dynamic_columns(remaining.T, share.T, need, margin_scale).T


def dynamic_columns(
    remaining: np.ndarray, share: np.ndarray, need: np.ndarray, margin_scale: float
) -> np.ndarray:
    """The dynamic features with the feature axis second to last: ``[..., 8, J]``, the layout
    the first layer multiplies (the planner's candidates are columns), written in place.

    Rows: the remaining C, W, M; ``symlog((R - s) / margin_scale)`` for C, W, M and
    ``symlog((m - need) / margin_scale)``; the smallest of those four margins.

    :param remaining: ``[..., 3, J]`` remaining compute, bandwidth, memory fractions.
    :param share: ``[..., 3, J]`` requested shares (c, w, m), broadcast against ``remaining``.
    :param need: ``[..., J]`` the task's memory need as a share of the server's memory.
    :param margin_scale: symlog scale of the margins (share units).
    """
    shape = np.broadcast_shapes(remaining.shape, share.shape)
    out = np.empty((*shape[:-2], N_DYNAMIC, shape[-1]))
    out[..., :3, :] = remaining
    margins = out[..., 3:7, :]
    np.subtract(remaining, share, out=margins[..., :3, :])
    np.subtract(share[..., 2, :], need, out=margins[..., 3, :])
    margins /= margin_scale
    # symlog: sign(x) * log(1 + |x|), linear near 0, logarithmic far away.
    np.multiply(np.sign(margins), log1p(np.abs(margins)), out=margins)
    # Pairwise minima: a reduction over an axis of 4 is slow in numpy.
    np.minimum(
        np.minimum(margins[..., 0, :], margins[..., 2, :]),
        np.minimum(margins[..., 1, :], margins[..., 3, :]),
        out=out[..., 7, :],
    )
    return out


def encode(
    layout: ObservationLayout,
    obs: np.ndarray,
    server: np.ndarray,
    share: np.ndarray,
    margin_scale: float,
) -> np.ndarray:
    """``phi(s, a)`` for a batch of transitions: ``[n, context + 6 + 8]`` (float64)."""
    obs = np.asarray(obs, np.float64)
    server = np.asarray(server, np.int64)
    share = np.asarray(share, np.float64)
    rows = np.arange(len(server))
    remaining = layout.remaining(obs)[rows, server]
    need = layout.block(obs, "memory_need")[rows, server]
    return np.concatenate(
        [
            context_features(layout, obs, server),
            share_features(share),
            dynamic_features(remaining, share, need, margin_scale),
        ],
        axis=-1,
    )


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
        self.register_buffer("count", torch.zeros(n_dims, dtype=DTYPE))
        self.register_buffer("mean", torch.zeros(n_dims, dtype=DTYPE))
        self.register_buffer("m2", torch.zeros(n_dims, dtype=DTYPE))

    def update(self, x: Tensor, mask: Tensor | None = None) -> None:
        """Merge a batch ``x: [n, d]`` (entries where ``mask`` is False are skipped)."""
        x = x.to(DTYPE)
        m = torch.ones_like(x) if mask is None else mask.to(DTYPE)
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
        return var.sqrt().clamp_min(self.min_std)

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def denormalize(self, x: Tensor) -> Tensor:
        return x * self.std + self.mean


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
        self.weight = nn.Parameter(torch.empty(n_members, n_out, n_in, dtype=DTYPE))
        self.bias = nn.Parameter(torch.zeros(n_members, n_out, 1, dtype=DTYPE))
        for w in self.weight:  # per member, so each starts from its own draw
            getattr(nn.init, f"{init}_")(w)

    def forward(self, x: Tensor) -> Tensor:
        """``x: [B, n_in, n]`` -> ``[B, n_out, n]``."""
        return torch.baddbmm(self.bias, self.weight, x)


@dataclass(frozen=True)
class NumpyEnsemble:
    """The model's weights as float64 numpy arrays for planning, input normalisation folded
    into the first layer (``W (x - mu) / sigma + b = (W / sigma) x + (b - W mu / sigma)``) and
    the first layer split by feature group.

    Shapes: ``w_context [B, H, N + 8]``, ``w_share [B, H, 6]``, ``w_dynamic [B, H, 8]``,
    ``bias [B, H, 1]``; ``hidden``: later layers' ``(W [B, H, H], b [B, H, 1])``;
    ``w_head [B, 2T + 1, H]``, ``b_head [B, 2T + 1, 1]``; ``target_mean``, ``target_std``
    ``[1, T, 1]``.
    """

    w_context: np.ndarray
    w_share: np.ndarray
    w_dynamic: np.ndarray
    bias: np.ndarray
    hidden: tuple[tuple[np.ndarray, np.ndarray], ...]
    w_head: np.ndarray
    b_head: np.ndarray
    target_mean: np.ndarray
    target_std: np.ndarray
    min_logvar: float
    max_logvar: float
    margin_scale: float
    mean_gap_s: float
    mean_need: np.ndarray | None
    latency_floor_s: np.ndarray
    hold_floor_s: np.ndarray


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
        n_members: int,
        n_hidden: int,
        n_layers: int,
        min_logvar: float,
        max_logvar: float,
        margin_scale: float,
    ) -> None:
        super().__init__()
        self.layout = ObservationLayout(n_servers)
        self.n_servers = n_servers
        self.n_members = n_members
        self.n_context = n_context_features(n_servers)
        self.n_inputs = self.n_context + N_SHARE + N_DYNAMIC
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
        # Arrival gaps seen in training: (sum of episode mean gaps (s), number of episodes).
        self.register_buffer("gap_stats", torch.zeros(2, dtype=DTYPE))
        # Tasks' memory needs seen in training: (sum of episode mean needs per server, episodes).
        self.register_buffer("need_stats", torch.zeros(n_servers + 1, dtype=DTYPE))
        # Smallest latency (row 0) and hold (row 1) seen per server in training, s (inf: none).
        self.register_buffer("seen_floor_s", torch.full((2, n_servers), math.inf, dtype=DTYPE))

    # -- encoding ---------------------------------------------------------------------------
    def encode(self, obs: np.ndarray, server: np.ndarray, share: np.ndarray) -> np.ndarray:
        return encode(self.layout, obs, server, share, self.margin_scale)

    def bound_logvar(self, raw: Tensor) -> Tensor:
        """Soft bound (reference): ``logvar = min + (max - min) * sigmoid(raw)``."""
        return self.min_logvar + (self.max_logvar - self.min_logvar) * torch_sigmoid(raw)

    def record_gap(self, mean_gap_s: float) -> None:
        """Merge one episode's mean time between arrivals (s)."""
        self.gap_stats += torch.tensor([mean_gap_s, 1.0], dtype=DTYPE)

    def record_need(self, mean_need: np.ndarray) -> None:
        """Merge one episode's mean memory need per server (``[N]``, shares of each server)."""
        row = np.append(np.asarray(mean_need, np.float64), 1.0)
        self.need_stats += torch.from_numpy(row)

    def record_floor(self, latency_s: np.ndarray, hold_s: np.ndarray) -> None:
        """Merge one episode's smallest latency and hold per server (``[N]`` each, s; inf
        where a server completed or held nothing)."""
        new = torch.from_numpy(np.stack([latency_s, hold_s]).astype(np.float64))
        self.seen_floor_s.copy_(torch.minimum(self.seen_floor_s, new))

    @property
    def mean_need(self) -> np.ndarray | None:
        """Mean memory need of a task per server ``[N]`` over the training episodes (None
        before any)."""
        count = float(self.need_stats[-1])
        return self.need_stats[:-1].numpy() / count if count else None

    @property
    def mean_gap_s(self) -> float:
        """Mean time between arrivals over the training episodes (0 before any)."""
        total, count = self.gap_stats.tolist()
        return total / count if count else 0.0

    # -- network ----------------------------------------------------------------------------
    def forward(self, x_norm: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Normalised inputs ``[B, D, n]`` -> (normalised mean ``[B, T, n]``, log-variance
        ``[B, T, n]``, completion logit ``[B, n]``)."""
        h = x_norm
        for layer in self.hidden:
            h = torch_silu(layer(h))  # swish: x * sigmoid(x)
        out = self.head(h)
        mean, raw, logit = out[:, :N_TARGETS], out[:, N_TARGETS:-1], out[:, -1]
        return mean, self.bound_logvar(raw), logit

    # -- training ---------------------------------------------------------------------------
    def loss(self, x_norm: Tensor, y_norm: Tensor, y_mask: Tensor, completed: Tensor) -> Tensor:
        """Negative log-likelihood of a batch, summed over members (reference convention).

        Gaussian part (constants dropped): ``(mu - y)^2 / var + log var``, averaged over the
        observed entries of each target, then over targets; Bernoulli part: binary
        cross-entropy of the completion logit.

        :param x_norm: ``[B, D, n]`` normalised inputs (each member its own batch).
        :param y_norm: ``[B, T, n]`` normalised targets (any finite value where unobserved).
        :param y_mask: ``[B, T, n]`` 1.0 where a target is observed.
        :param completed: ``[B, n]`` 1.0 where the task completed.
        """
        mean, logvar, logit = self(x_norm)
        nll = (mean - y_norm) ** 2 * torch.exp(-logvar) + logvar  # Gaussian NLL x 2
        per_target = (nll * y_mask).sum(-1) / y_mask.sum(-1).clamp_min(1.0)  # [B, T]
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
                y_mask.to(DTYPE),
                data["completed"].to(DTYPE).unsqueeze(1),
            ],
            dim=1,
        )

    # -- prediction -------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, obs: np.ndarray, server: np.ndarray, share: np.ndarray) -> dict[str, Tensor]:
        """Per-member predictions for a batch of (s, a) (used by tests and diagnostics).

        :return: ``mean`` ``[B, n, T]`` in raw units, ``var_norm`` ``[B, n, T]`` in
            normalised units, ``p_complete`` ``[B, n]``.
        """
        x = self.input_norm.normalize(torch.from_numpy(self.encode(obs, server, share))).T
        mean, logvar, logit = self(x.expand(self.n_members, -1, -1).contiguous())
        mean_raw = self.target_norm.denormalize(mean.transpose(1, 2))
        return {
            "mean": mean_raw,
            "var_norm": logvar.exp().transpose(1, 2),
            "p_complete": torch_sigmoid(logit),
        }

    @torch.no_grad()
    def export(self) -> NumpyEnsemble:
        """The weights for planning (see :class:`NumpyEnsemble`)."""
        first = self.hidden[0]
        weight = first.weight / self.input_norm.std  # [B, H, D]
        bias = first.bias - torch.matmul(weight, self.input_norm.mean.unsqueeze(1))
        w = weight.numpy().copy()
        c, s = self.n_context, self.n_context + N_SHARE
        return NumpyEnsemble(
            w_context=np.ascontiguousarray(w[:, :, :c]),
            w_share=np.ascontiguousarray(w[:, :, c:s]),
            w_dynamic=np.ascontiguousarray(w[:, :, s:]),
            bias=bias.numpy().copy(),
            hidden=tuple(
                (layer.weight.numpy().copy(), layer.bias.numpy().copy())
                for layer in self.hidden[1:]
            ),
            w_head=self.head.weight.numpy().copy(),
            b_head=self.head.bias.numpy().copy(),
            target_mean=self.target_norm.mean.numpy().reshape(1, -1, 1).copy(),
            target_std=self.target_norm.std.numpy().reshape(1, -1, 1).copy(),
            min_logvar=self.min_logvar,
            max_logvar=self.max_logvar,
            margin_scale=self.margin_scale,
            mean_gap_s=self.mean_gap_s,
            mean_need=self.mean_need,  # a new array (the division), not a view
            latency_floor_s=np.nan_to_num(self.seen_floor_s[0].numpy(), posinf=0.0),
            hold_floor_s=np.nan_to_num(self.seen_floor_s[1].numpy(), posinf=0.0),
        )


def make_optimizer(model: EnsembleModel, lr: float, eps: float) -> torch.optim.Adam:
    """Adam over the network (not the normalisers), no weight decay (reference)."""
    params = [p for n, p in model.named_parameters() if "norm" not in n]
    return torch.optim.Adam(params, lr=lr, eps=eps, foreach=True)


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

    :param data: ``x [n, D]``, ``y [n, T]``, ``y_mask [n, T]``, ``completed [n]``.
    :param n_epochs: passes over the buffer (stops early at ``max_steps``).
    :param batch_size: rows per member per step.
    :param max_steps: cap on gradient steps per call (keeps the refit cost bounded).
    :param grad_clip: max global L2 norm of the gradient (reference: 1000).
    :return: ``{"steps": int, "loss": float}`` (mean loss per member over the last epoch).
    """
    table = model.training_table(data)  # [n, D + 2T + 1], normalised once per fit
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
