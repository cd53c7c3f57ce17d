"""agents/aif/elementwise.py: the functions AIF evaluates, against their definitions."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch

from agents.aif import elementwise as ew

X = np.concatenate([np.linspace(-40.0, 40.0, 4001), [-800.0, -1e-300, 0.0, 1e-300, 800.0]])


def test_the_numpy_functions_equal_their_definitions() -> None:
    finite = X[np.abs(X) < 700]
    np.testing.assert_allclose(ew.exp(finite), np.exp(finite), rtol=1e-15)
    positive = np.abs(finite) + 1e-3
    np.testing.assert_allclose(ew.log(positive), np.log(positive), rtol=1e-15)
    np.testing.assert_allclose(ew.log1p(positive), np.log1p(positive), rtol=1e-15)
    np.testing.assert_allclose(ew.sigmoid(finite), 1.0 / (1.0 + np.exp(-finite)), rtol=1e-15)
    np.testing.assert_allclose(ew.silu(finite), finite / (1.0 + np.exp(-finite)), rtol=1e-15)


def test_sigmoid_and_swish_reach_their_limits_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, w = ew.sigmoid(np.array([-800.0, 800.0])), ew.silu(np.array([-800.0, 800.0]))
    assert s.tolist() == [0.0, 1.0]
    assert w.tolist() == [0.0, 800.0] and np.signbit(w[0])


def test_the_torch_versions_equal_torchs_own_and_keep_finite_gradients() -> None:
    t = torch.from_numpy(X.copy()).requires_grad_(True)
    torch.testing.assert_close(ew.torch_sigmoid(t), torch.sigmoid(t), rtol=1e-15, atol=1e-300)
    y = ew.torch_silu(t)
    torch.testing.assert_close(y, torch.nn.functional.silu(t), rtol=1e-14, atol=1e-300)
    (grad,) = torch.autograd.grad(y.sum(), t)
    s = torch.sigmoid(t.detach())
    expected = s * (1 + t.detach() * (1 - s))  # d/dx x sigmoid(x)
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [ew.exp, ew.log1p, ew.sigmoid, ew.silu])
def test_shapes_and_inputs_numpy_would_take(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    assert fn(np.float64(0.5)).shape == ()
    read_only = np.full((3, 4), 0.25)
    read_only.flags.writeable = False
    strided = np.full((6, 8), 0.25)[::2, ::3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in (read_only, strided, np.full((2, 3), 1, np.float32)):
            out = fn(x)
            assert out.dtype == np.float64 and out.shape == x.shape
            np.testing.assert_array_equal(out, fn(np.array(x, np.float64)))
    assert read_only.tolist() == np.full((3, 4), 0.25).tolist()  # inputs are not written
