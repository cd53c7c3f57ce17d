"""Expected information gain of an action about the model parameters (r1 of Algorithm 1).

Eq. 12-13 of the paper (Tschantz et al.'s expected free energy) split off an epistemic term:
the mutual information between the next outcome o and the parameters theta,

    IG(s, a) = I(o; theta | s, a) = H[ p(o | s, a) ] - E_theta H[ p(o | s, a, theta) ],

with the ensemble standing in for p(theta) (one member = one equally likely theta). The
first entropy is that of the *mixture* of the members' predictions, the second the mean of
the members' own entropies. Identical members give exactly zero; members that disagree
give more.

Estimator (our choice; the reference, ``pmbrl/control/measures.py``, uses a k-NN estimate of
the mixture entropy from one sample per member):

- Completion tc (Bernoulli): exact. The mixture of Bernoullis is the Bernoulli of the mean,
  ``IG_tc = h(mean_b p_b) - mean_b h(p_b)``, h the binary entropy (nats).
- Gaussian outputs: the mixture's entropy is replaced by that of the Gaussian with the same
  moments (per dimension: ``var_mix = mean_b var_b + var_b(mu_b)``), an upper bound on it, so
  ``IG_gauss = 1/2 sum_d [log var_mix_d - mean_b log var_b,d]``; zero for identical members,
  positive when means or variances differ.
  Why not k-NN: with B = 10 members a k-NN entropy from one sample each is very noisy, and
  noise in the score makes CEM chase lucky draws and makes ``act`` depend on sampling; the
  moment-matched form is deterministic, costs O(B) per candidate and has the two properties
  the estimator needs (zero iff members agree, growing with disagreement).
- The Gaussian outputs are only observed when the task is admitted (the server-state
  change) or completes (latency, pass@100), so by the chain rule their gain is weighted by
  the predicted completion probability (admission is at least as likely; we use one
  probability for both): ``IG = IG_tc + mean_b(p_b) * IG_gauss(dS, L, P)``.

All quantities are in the model's normalised target units (as the reference renormalises),
so every output dimension counts on the same scale. Arrays are numpy (float64), as the planner's.
"""

from __future__ import annotations

import numpy as np

from agents.aif.elementwise import log, log1p

#: Probabilities are clamped this far from 0 and 1 before their logarithms.
_EPS = 1e-6


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """``h(p) = -p log p - (1 - p) log(1 - p)`` in nats."""
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return -(p * log(p) + (1.0 - p) * log1p(-p))


def bernoulli_information_gain(p: np.ndarray) -> np.ndarray:
    """Mutual information between a Bernoulli outcome and the member index.

    :param p: ``[B, n]`` each member's probability of the outcome.
    :return: ``[n]`` ``h(mean_b p_b) - mean_b h(p_b)`` (>= 0 by concavity of h).
    """
    return binary_entropy(p.mean(0)) - binary_entropy(p).mean(0)


def gaussian_information_gain(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Moment-matched information gain of a diagonal Gaussian ensemble.

    :param mean: ``[B, D, n]`` member means.
    :param var: ``[B, D, n]`` member variances (> 0).
    :return: ``[n]`` ``1/2 sum_d [log(mean_b var_b + var_b mu_b) - mean_b log var_b]``.
    """
    spread = ((mean - mean.mean(0)) ** 2).mean(0)  # variance of the means
    var_mix = var.mean(0) + spread  # law of total variance
    return 0.5 * (log(var_mix) - log(var).mean(0)).sum(0)


def outcome_information_gain(
    mean: np.ndarray, var: np.ndarray, p_complete: np.ndarray
) -> np.ndarray:
    """The planner's r1: ``IG_tc + mean_b(p_b) * IG_gauss(y)``.

    :param mean: ``[B, D, n]`` normalised member means of the Gaussian outputs.
    :param var: ``[B, D, n]`` normalised member variances.
    :param p_complete: ``[B, n]`` member completion probabilities.
    """
    return bernoulli_information_gain(p_complete) + p_complete.mean(0) * gaussian_information_gain(
        mean, var
    )
