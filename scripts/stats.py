"""Aggregate statistics over seeds: interquartile mean and bootstrap confidence intervals.

We use SciPy's ``scipy.stats.bootstrap`` (percentile method, fixed random state), not rliable:
with one task per table cell, rliable's stratified bootstrap reduces to resampling seeds, which
SciPy does, and SciPy is already a dependency. The IQM is the 25%-trimmed mean (Agarwal et
al., NeurIPS 2021).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

N_RESAMPLES = 2000
CONFIDENCE = 0.95


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% of ``values``."""
    return stats.trim_mean(values, 0.25, axis=axis)


def mean_ci(values: np.ndarray, statistic: str = "mean") -> tuple[float, float, float]:
    """``(point, low, high)`` of the statistic (``mean`` or ``iqm``) over ``values`` (seeds)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    func = iqm if statistic == "iqm" else np.mean
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    point = float(func(x))
    if x.size < 2 or np.ptp(x) == 0.0:
        return (point, point, point)
    result = stats.bootstrap(
        (x,),
        lambda s, axis: func(s, axis=axis),
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    return (point, float(result.confidence_interval.low), float(result.confidence_interval.high))


def difference_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """``(point, low, high)`` of ``mean(x) - mean(y)``, resampling the two independently
    (percentile bootstrap, as :func:`mean_ci`). A sample without spread (a deterministic
    reference: every seed scores alike) is a constant, not resampled."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return (np.nan, np.nan, np.nan)
    point = float(a.mean() - b.mean())
    a_fixed = a.size < 2 or np.ptp(a) == 0.0
    b_fixed = b.size < 2 or np.ptp(b) == 0.0
    if a_fixed and b_fixed:
        return (point, point, point)
    if b_fixed:
        _, low, high = mean_ci(a)
        return (point, low - float(b.mean()), high - float(b.mean()))
    if a_fixed:
        _, low, high = mean_ci(b)
        return (point, float(a.mean()) - high, float(a.mean()) - low)
    result = stats.bootstrap(
        (a, b),
        lambda s, t, axis: np.mean(s, axis=axis) - np.mean(t, axis=axis),
        n_resamples=N_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        paired=False,
        rng=np.random.default_rng(0),
    )
    return (point, float(result.confidence_interval.low), float(result.confidence_interval.high))


def band(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise mean and 95% percentile-bootstrap band over rows (seeds) of ``matrix``."""
    m = np.asarray(matrix, dtype=float)
    with warnings.catch_warnings():  # all-NaN columns (e.g. latency when nothing completes)
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(m, axis=0)
        if m.shape[0] < 2:
            return mean, mean, mean
        rng = np.random.default_rng(0)
        picks = rng.integers(0, m.shape[0], size=(N_RESAMPLES, m.shape[0]))
        resampled = np.nanmean(m[picks], axis=1)  # (resamples, columns)
        alpha = (1.0 - CONFIDENCE) / 2.0
        low, high = np.nanquantile(resampled, [alpha, 1.0 - alpha], axis=0)
    return mean, low, high
