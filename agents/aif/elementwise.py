"""Elementwise exp, log, sigmoid and swish that round the same on every AVX2 or AVX-512 host.

Why (issue 17, item 5; measured by ``benchmarks/kernel_drift.py``): the same seed gave
different AIF runs on hosts with and without AVX-512. Two kernel families round differently
by instruction set, and both sat in AIF's arithmetic:

- NumPy's float64 ``exp`` and ``log`` take AVX-512-only SIMD paths; on an AVX2 host the same
  call rounds some elements differently (the planner, the information gain, the features);
- torch's fused ``silu`` and ``sigmoid`` kernels differ between its AVX2 and AVX-512 builds
  (the networks' activations and the bounded log-variance, in training).

torch's ``exp``, ``log`` and ``log1p`` give the same bits under both builds (checked over
sizes 1-100,003, scales 0.1-300 and strided views), and ``+ - * /`` are IEEE-exact
everywhere. So every transcendental function AIF evaluates goes through those three, and
sigmoid and swish are composed from them: ``e = exp(-|x|)``, ``sigmoid(x) = 1 / (1 + e)`` for
``x >= 0`` and ``e / (1 + e)`` below (no overflow, finite gradients everywhere). Hosts without
AVX2 (torch's ``default`` kernels) and other library versions can still differ.

NumPy arrays are float64 and reach torch without a copy where they can (``torch.from_numpy``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def exp(x: np.ndarray | float) -> np.ndarray:
    """``e ** x`` (float64; ``inf`` past the range, no warning)."""
    return torch.exp(_tensor(x)).numpy()


def log(x: np.ndarray | float) -> np.ndarray:
    """Natural logarithm (float64)."""
    return torch.log(_tensor(x)).numpy()


def log1p(x: np.ndarray | float) -> np.ndarray:
    """``log(1 + x)`` (float64), accurate for small ``x``."""
    return torch.log1p(_tensor(x)).numpy()


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` (float64; ``exp`` overflowing to ``inf`` gives the limit 0)."""
    t = _exp_negative(x)
    t += 1.0
    return np.divide(1.0, t, out=t)


def silu(x: np.ndarray) -> np.ndarray:
    """Swish ``x / (1 + exp(-x))`` (float64; the limit -0 for ``x << 0``). One temporary,
    written in place: the planner calls it on every candidate batch."""
    t = _exp_negative(x)
    t += 1.0
    return np.divide(x, t, out=t)


def torch_sigmoid(t: Tensor) -> Tensor:
    """Sigmoid of a tensor from ``exp(-|t|)``: never overflows, finite gradients (training)."""
    e = torch.exp(-torch.abs(t))
    return torch.where(t >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def torch_silu(t: Tensor) -> Tensor:
    """Swish ``t * sigmoid(t)`` of a tensor (training), by :func:`torch_sigmoid`."""
    return t * torch_sigmoid(t)


def _tensor(x: np.ndarray | float) -> Tensor:
    """``x`` as a float64 tensor sharing its memory where it can (a copy of a read-only or
    non-contiguous array; a 0-d array stays 0-d)."""
    a = np.asarray(x, dtype=np.float64)
    return torch.from_numpy(a if a.flags.c_contiguous and a.flags.writeable else a.copy())


def _exp_negative(x: np.ndarray) -> np.ndarray:
    """``exp(-x)`` in a new float64 array."""
    a = np.asarray(x, dtype=np.float64)
    t = np.negative(a, out=np.empty_like(a))  # a new array, 0-d stays an array
    torch.exp(torch.from_numpy(t), out=torch.from_numpy(t))
    return t
