"""The planner: cross-entropy method over hybrid actions, scored by r = r1 + r2 (Algorithm 1).

For each task (Algorithm 1, lines 6-13): start q(pi) afresh; for i in 1..I sample J candidate
actions from q(pi), score each by ``r = expl_scale * r1 + r2``, keep the k best (the elites)
and refit q(pi) to them. The elites of one iteration compete with the next one's candidates
(``keep_elites``, as iCEM does, Pinneri et al. 2020: the scores are deterministic, so the
best found so far is never lost and the refit tightens faster).

Warm start (ours; the reference, ``pmbrl/control/planner.py``, resets q(pi) for every
decision): the shares' q(pi) of a server starts where the previous decision of the episode
left it, its std floored at ``warm_logit_std`` so that it can still move; the server
probabilities restart uniform (what remains changes from task to task). Consecutive tasks
need similar shares, so a few iterations of few candidates refine rather than search. The
previous choice (its server, q(pi)'s mean shares) is the first candidate. ``reset``
(every episode start) forgets it, so an episode's actions depend on that episode's
observations only.

q(pi), a distribution over the hybrid action a = [j, c_j, w_j, m_j] (PAPER.md section 7):

- j ~ Categorical(p), refit to the elites' server frequencies with a pseudo-count
  ``server_smoothing`` per server: ``p_j = (n_j + alpha) / (k + N alpha)``;
- shares ``(c, w, m) = sigmoid(z)``, ``z ~ N(mu_j, diag sigma_j^2)``, one logit-normal per
  server, refit per server to its elites (mean and population std, reference) when it has at
  least two of them, with ``sigma >= min_logit_std``; otherwise unchanged. With
  ``memory_floor`` (ours, parity with the DRL baselines' wrappers, cloudedge/wrappers.py) the
  memory share is ``m = max(sigmoid(z_m), need_j)``, ``need_j`` the task's memory need on
  server j from the observation: less can only fail (out of memory), so no candidate asks
  for it, and the planner is left to choose how much *more* to grant. With
  ``grant_within_remaining`` (ours, the reference heuristics' rule, agents/heuristics.py) the
  compute and bandwidth shares are capped at what server j has left, ``min(sigmoid(z), R_j)``:
  a request above it is refused outright (invalid allocation), so the cap turns it into the
  largest grant possible. With ``refit_to_grants`` the cap acts on the logits, ``z <- min(z,
  logit R_j)``, so that q(pi) is refit to the grants made; without it q(pi) is refit to the
  requests, and above R_j all requests grant alike: a plateau its mean drifts up on, so that
  the next task, on a server with more left, is granted more (results/aif_variants/).
- ``feasible_candidates`` (ours): the first iteration also scores, per server, q(pi)'s mean
  shares lowered to at most ``R_j - feasible_margin``. Warm-started near the last grant,
  q(pi) otherwise samples almost only requests a nearly full server must refuse (scored 0),
  so the server is passed over although a grant it can make is worth more
  (``benchmarks/disagreements.py``), and a server's mean that no elite reaches is never
  refit (a server stranded at a grant it can no longer make). With ``feasible_scope``
  ``"stranded"`` only the servers none of whose sampled candidates fits get one.
- ``refuse_predicted_failure`` (ours, as the reference heuristics refuse): the chosen action
  becomes a refusal (all shares 0) when its completion probability, mean over members, is
  below 1/2: admitted, the task would hold its grant until its deadline.

Scores, from the model's predictions (never from the environment's reward):

- r2, rewardless guidance (eq. 11, :func:`cloudedge.metrics.rewardless_guidance`) on the
  model's predictions, averaged over members as the reference averages its reward model.
- r1, the expected information gain of the task's outcome (info_gain.py), weighted by
  ``expl_scale``.

Imagined future (``horizon`` = H). A task's outcome is fixed at its admission, so eq. 11 of
the current task alone rewards grabbing: the next tasks then find the server drained. So the
candidate is also imagined for the next H - 1 tasks: copies of the current task (the next
tasks are unknown) offloaded with the same action, arriving one every ``g`` seconds, ``g``
the mean time between arrivals the agent has seen in training. Each member b predicts what
one copy consumes (``dS_b``, its change of server j's C, W, M) and how long it holds it
(``hold_b``). Two quantities follow:

1. ``c_b``, how many copies server j can hold *at once*: copy k (k = 2..H) sees
   ``s_k = s + (k - 1) min(dS_b, 0)`` and completes with ``p_b(s_k, a)``, which falls with k;
   ``c_b`` is where it crosses 1/2, found by bisection on a real-valued k with
   ``ceil(log2 H) + 1`` evaluations (to half a copy) and interpolated, so it is
   continuous: a slightly smaller request fits slightly more copies.
2. Releases: a copy frees its grant ``hold_b`` after its arrival, so ``m_b = hold_b / g``
   copies are held at once in steady state. Over the horizon's ``(H - 1) g`` seconds the
   server turns its ``c_b`` places over ``(H - 1) g / hold_b`` times, so the copies that
   complete are

       n_b = min(H - 1, tasks left - 1, c_b * max(1, (H - 1) g / hold_b)).

   Under a burst (g ~ 0) nothing is released and ``n_b = c_b``; at a low rate every copy
   completes; in between a shorter hold (a larger compute share) buys throughput. With
   ``turnover_window: episode`` (ours) the window is every task left, ``(tasks left - 1) g``,
   and it caps the copies in place of H - 1: within the H - 1 copies' few seconds no hold
   ends, so a server that turns its places over faster would count no more than another. Resources
   held by earlier tasks are not imagined to come back (the observation does not say when):
   a conservative choice, unless ``held_release`` (ours): what earlier tasks hold,
   ``1 - R_j``, is room for ``(1 - R_j) / |dS_b|`` more copies, taken as released evenly
   over one hold, so ``c_b`` grows by that room times ``min(1, (H - 1) g / hold_b)``
   (:meth:`CEMPlanner.held_places`). Without it, a fast server that is nearly full (the
   cloud, whose grants come back in ~3 s) looks worse than an empty slow one.
   With ``whole_places`` (ours) the places, ``c_b`` with the held room, are counted in whole
   tasks, ``floor``, before they turn over: a larger grant that leaves their count unchanged
   costs nothing more.

What one copy takes, ``dS_b``, is the model's prediction (``copy_consumption: predicted``):
the change of the server's remaining C, W, M between the task's observation and the next.
Under a stream that change is net of the releases in between, so on a busy server it reads
small and the places come out too many (results/routing/README.md). ``copy_consumption:
granted`` (ours) takes the candidate's shares instead, what an admitted task reserves
(:meth:`CEMPlanner.per_copy`); it ignores limits that are not shares (a server's slots).
``copy_consumption: floored`` (ours) keeps the prediction but not below the grant less the
releases one arrival gap brings back, ``(1 - R_j) g / hold_b``: the model, trained near its
own grants, can predict a far larger grant to take little (a 44% cloud grant scored as if
16 more tasks fit), which no admitted task does.
``copy_consumption: net`` (ours) reads ``dS_b`` as exactly that net change, so the copies'
trajectory ``s_k`` is the stream's own and neither the turnover below nor ``held_release``
adds places (releases counted once): ``n_b = min(c_b, tasks left - 1)``.

With ``imagined_tasks: typical`` (the default) the imagined tasks are not copies of the current
one in memory: each needs the mean memory per server of the tasks seen in training (the same
compute and bandwidth request, the same memory over the need), and the current task's own
consumption comes off first (:meth:`CEMPlanner.typical_at_once`), so a large task displaces
typical ones where it goes. ``floor_at_seen`` floors each member's latency and hold at the
smallest seen on the server in training, and ``previous_grant_everywhere`` adds the previous
choice's shares on every other server to CEM's first iteration (:class:`PlannerConfig`).

A copy makes the same request as the current task, so it earns what the current task would:

    r2 = mean_b rg(p_b (1 + n_b), L_b, P_b)

and the planner asks for what a server can give to many tasks, not to one.

That is ``imagined_routing: own_server``. Its flaw: the copies that do not fit on the
candidate's server count for nothing, though the next tasks would go elsewhere, so a nearly
full server of high value (a fast cloud) is shunned for an empty one of low value.
``imagined_routing: fill`` (ours, after opportunity-cost pricing: the LP bound's dual) imagines
the tasks to come spread over every server instead (:func:`fill_places`): each server, at
its reference grant (``reference_grant``: q(pi)'s mean shares for it, or its best share
level), offers a value per task and a number of places (the same bisection); the tasks
arriving within the longest hold fill the places best value first, and the value of the last
place filled is the price of a place. A candidate then scores

    r2 = fill + mean_b [ v_b(a) - price_discount * price_b * rho_b(a) ],

``v_b(a)`` eq. 11 of the task itself and ``rho_b(a) = p_b c_ref / (c_b(a) + 1) *
hold_b(a) / hold_ref`` the reference tasks its grant displaces: its share of the server's
places times how long it holds them (``fill``, the same for every candidate, keeps r2 on the
scale of the tasks it counts). The best server wins while places are cheap, an over-sized
grant pays for what it displaces, and a task worth less than its places is refused.

``imagined_routing: relative`` (ours) keeps own_server's copies but divides each server's r2
by ``1 + n_b`` at that server's best reference level (of :data:`REFERENCE_LEVELS`, by
``mean_b v_b (1 + n_b)``): within a server the copies still price a grant's size, across
servers the candidates compete on the task's own value (a nearly full fast server against an
empty slow one).

``imagined_routing: overflow`` (ours) keeps own_server's copies on the candidate's server
and sends the tasks to come that it leaves over to the other servers, best value first, each
taking at most its copies at its best reference level (as ``relative`` counts them;
:func:`overflow_values`). What server j leaves over is ``W - max(n_b, n_ref_j)``, W the
copies in the turnover window and ``n_ref_j`` its own copies at its reference level:

    r2 = mean_b [ rg(p_b (1 + n_b), L_b, P_b) + F_b(j, W - max(n_b, n_ref_j)) ].

A nearly full server whose tasks are worth more is then not outranked by an empty one whose
tasks are worth less: the tasks it cannot take are not lost, they go to the next best server.
Below ``n_ref_j`` copies the term is the same for every candidate on server j, so a grant's
size is priced by its own copies as under own_server (crediting the tasks a larger grant
displaces at other servers' values priced grants as ``fill`` does, and over-granted); above
it the tasks sent elsewhere shrink as the copies grow, so none is counted twice.
Screened and not the default (results/aif_variants/overflow.md).

``imagined_routing: ranked`` (ours) keeps own_server's r2 and weights it by how many of the
tasks to come the candidate's server would take were they sent best value first: the W tasks
fill every server's copies at its best reference level, ``n_ref_k``, in order of eq. 11 of
one task there (:func:`ranked_demand`; a server worth nothing takes none); per member b,
server j takes ``D_j`` of them, and

    r2 = mean_b [ rg(p_b (1 + n_b), L_b, P_b) (1 + D_j) / (1 + n_ref_j) ].

While the tasks to come outnumber all places together (the paper's burst, early on) each
``D_j`` is ``n_ref_j`` and this is own_server; once places outnumber them, a server the
better ones leave little to weighs less, so a server's spare places no longer outrank
another's higher value per task. Within a server the weight is the same for every grant, so
a grant's size is priced by its own copies. Screened and not the default
(results/aif_variants/ranked.md).

Cost (``benchmarks/decision_latency.py``): all arithmetic is float64 numpy on the weights the
model exports once per refit; per decision the first layer's context part is computed once for
all N servers; per candidate the share part once; the bisection re-evaluates only the
dynamic part. The H - 1 copies cost ``ceil(log2 H) + 1`` evaluations, not H - 1, and the
noise of every iteration is drawn once when the planner is built (common random numbers).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from agents.aif.elementwise import exp, log, sigmoid, silu
from agents.aif.info_gain import outcome_information_gain
from agents.aif.model import (
    CONTEXT_BLOCKS,
    HOLD,
    LATENCY,
    N_TARGETS,
    PASS,
    STATE_DIMS,
    EnsembleModel,
    NumpyEnsemble,
    context_features,
    dynamic_columns,
    share_features,
)
from cloudedge.entities import SHARE_TOLERANCE
from cloudedge.observation import ObservationLayout
from cloudedge.wrappers import DEFAULT_SHARE_LEVELS

#: ``held_release``: a resource a copy is predicted to take less of than this (a fraction of
#: the server) does not bound how many copies the held resources make room for.
PER_COPY_FLOOR = 1e-6
#: ``whole_places``: a count this close below a whole number is that number.
WHOLE_PLACE_TOLERANCE = 1e-6
#: ``reference_grant: levels``: the share levels (compute = bandwidth = level, memory floored
#: at the need) at which each server's reference grant is chosen: 8 log-spaced levels over the
#: range of the DRL wrappers' share level (cloudedge/wrappers.py), twice as fine as the
#: Discrete wrapper's 4.
REFERENCE_LEVELS = np.geomspace(min(DEFAULT_SHARE_LEVELS), max(DEFAULT_SHARE_LEVELS), 8)
#: Their logits (q(pi)'s space), computed once rather than at every decision.
REFERENCE_LOGITS = log(REFERENCE_LEVELS / (1.0 - REFERENCE_LEVELS))


@dataclass(frozen=True)
class PlannerConfig:
    """Settings of the CEM planner (conf/agent/aif.yaml holds the values and their reasons).

    :param n_iterations: I, CEM iterations per decision.
    :param n_candidates: J, candidates per iteration.
    :param n_elites: k, elites refitted to.
    :param keep_elites: whether the elites so far compete with each iteration's candidates.
    :param horizon: H, tasks imagined (the current one and H - 1 copies).
    :param expl_scale: weight of r1 (information gain) against r2.
    :param init_share: centre of q(pi)'s shares at the start of each decision.
    :param init_logit_std: their initial std in logit space.
    :param min_logit_std: floor of the refitted std in logit space.
    :param server_smoothing: pseudo-count per server when refitting p.
    :param min_latency_s: predicted latencies and holding times are floored here (s).
    :param warm_start: start each decision's shares from the previous decision's q(pi).
    :param warm_logit_std: floor of the shares' std at a warm start (logit space).
    :param memory_floor: grant at least the task's memory need (``m = max(sigmoid(z_m),
        need_j)``, the DRL wrappers' rule, cloudedge/wrappers.py).
    :param bandwidth_follows_compute: grant the bandwidth share equal to the compute share
        (``w = c``, the DRL wrappers' rule; ``z_w`` is then drawn but unused).
    :param grant_within_remaining: cap the compute and bandwidth shares at what the chosen
        server has left (``min(share, R_j)``, the reference heuristics' rule,
        agents/heuristics.py).
    :param refit_to_grants: with ``grant_within_remaining``, cap the logits (q(pi) is refit
        to the grants made) rather than only the shares (q(pi) is refit to the requests).
    :param feasible_candidates: add, in the first iteration, one candidate per server: q(pi)'s
        mean shares there, each lowered to at most ``R_j - feasible_margin`` (then the grant
        rules, e.g. the memory floor at the task's need), so that a nearly full server is
        scored at a grant it can take even when q(pi) sits above what it has left; and, once
        such a candidate is among the elites, q(pi) is refit there instead of staying where
        no request of it can be granted.
    :param feasible_margin: how far below ``R_j`` (share units) those candidates' shares stay:
        a grant of exactly ``R_j`` sits on the model's learned completion boundary (margin
        0), where its completion probability is ambiguous.
    :param feasible_scope: the servers that get such a candidate: ``"all"``, or
        ``"stranded"``, only those none of whose sampled first-iteration candidates fits in
        what they have left (every request there would be refused), so that the search is
        rescued where it found nothing and left alone where it already found a grant.
    :param feasible_min_share: no such candidate on a server whose lowered compute or
        bandwidth share would be below this (share units): a grant smaller than any the
        model has been trained on is scored by extrapolation.
    :param value_pessimism: routing other than ``"fill"``: r2 is the members' mean minus this many
        of their standard deviations (0: the mean, as the reference averages its reward model), so
        that a candidate whose value only some members believe (far from the grants trained on) is
        not chosen for it.
    :param refuse_predicted_failure: refuse the task (all shares 0: it holds nothing) when
        the chosen candidate's completion probability, mean over members, is below 1/2 (the
        reference heuristics refuse a task they predict to miss its deadline).
    :param held_release: ``"own_server"`` routing: imagine the resources that earlier tasks
        hold on the candidate's server coming back within the horizon (module docstring).
    :param copy_consumption: what one imagined copy takes of its server's C, W, M:
        ``"predicted"`` (the model's state change ``dS_b``), ``"granted"`` (the candidate's
        shares, what an admitted task reserves), ``"floored"`` (``dS_b``, but at least the
        grant less the releases expected in one arrival gap) or ``"net"`` (``dS_b`` as the
        stream's net change: no turnover, no held room; module docstring).
    :param held_room: ``held_release``: what one copy takes of the room earlier tasks give
        back: ``"copy"`` (what it takes by ``copy_consumption``) or ``"grant"`` (its shares,
        what an admitted copy reserves) or ``"grant_unless_slots_full"`` (the grant, but
        ``"copy"`` on a server whose compute slots are all busy; :meth:`CEMPlanner.held_places`).
    :param imagined_routing: where the imagined future tasks go: ``"own_server"`` (the H - 1 copies
        all on the candidate's server), ``"relative"`` (the same, each server's r2 divided by its
        copies at its best reference level), ``"overflow"`` (the same, plus what the tasks to come
        that its copies leave over earn on the other servers, best value first), ``"ranked"``
        (the same r2, weighted by the share of its reference copies that the tasks to come,
        sent best value first, would fill) or ``"fill"`` (the
        tasks left fill every server in order of predicted value; module docstring).
    :param price_discount: ``"fill"`` routing: the marginal place's value is discounted by
        this factor when it prices a grant (the current task is certain, the tasks to come
        and their places are predictions).
    :param reference_grant: ``"fill"`` routing: the grant at which each server's places and
        value are counted: ``"q_mean"`` (q(pi)'s mean shares for that server) or ``"levels"``
        (of :data:`REFERENCE_LEVELS`, the one that maximises the server's predicted value
        times places, mean over members).
    :param imagined_tasks: what the H - 1 imagined tasks after the current one need of the
        candidate's server's memory: ``"copies"`` (the current task's need: they are its
        copies) or ``"typical"`` (the mean need of the tasks seen in training,
        :attr:`~agents.aif.model.EnsembleModel.mean_need`, with the same compute and
        bandwidth request and the same memory over the need; the current task's own need
        is taken first). With ``"copies"`` a large task counts as few copies everywhere, so
        which server it takes does not depend on its size; with ``"typical"`` it displaces
        typical tasks on the server it takes, so the tasks that fill a server of high value
        per task are the small ones (a burst's packing).
    :param check_admission: apply the simulator's admission rule (a request above what the
        server has left is refused: cloudedge/entities.py, ``Server.can_grant``) on top of
        the model: a candidate whose request exceeds what its server has left completes
        with probability 0, and the copies counted at once are at most those whose requests
        still fit after the current task's and the earlier copies' consumption
        (:meth:`CEMPlanner.admissible`). The model learns the rule only near the grants it
        was trained on; far from them (a 56% cloud grant in a burst) it can credit a grant
        with copies that the rule refuses.
    :param memory_admission: the memory part of that rule alone, for the current task: on a
        server whose remaining memory is below the task's need there (both read from the
        observation), no request is admitted when the memory share is floored at the need
        (``memory_floor``), so every candidate there completes with probability 0 and counts
        no copies. An exact fact of the observation, not a learned one: the model sees such
        refusals only when a nearly full server meets a large task, and can score them as a
        task that fits (dynamic_poisson: the cloud's refused tasks, results/aif_variants/
        README.md). Without ``memory_floor`` it does nothing.
    :param floor_at_seen: floor each member's predicted latency and hold on a server at the
        smallest seen there in training (:attr:`~agents.aif.model.EnsembleModel.seen_floor_s`):
        far from the grants trained on one member can predict a task ten times faster than
        any seen (0.11 s on a cloud whose fastest task took 1.9 s), and eq. 11's 1/L, averaged
        over members, then makes that grant the best by far.
    :param previous_grant_everywhere: with ``warm_start``, CEM's first iteration also scores
        the previous decision's chosen shares on every other server (the grant rules then
        raise the memory share to the task's need there): q(pi)'s mean for a server not
        chosen lately stays where an early refit left it, and its candidates (within
        ``warm_logit_std`` of it) can all miss the grant that the chosen server shows works.
    :param places_within_slots: routing other than ``"fill"``: a server's places (the copies it
        holds at once, with the held room) are at most its compute slots less the current task's,
        ``S_j - 1`` (the planner's ``slots``, from the scenario): shares alone can count more tasks
        at once than the server computes, and a larger grant, which frees its slot sooner, then
        looks as if it displaced tasks that could not have run anyway.
    :param own_demand_share: routing other than ``"fill"``: the share of the tasks to come that the
        candidate's server is expected to take (1: all of them, the reference's own_server). The
        copies it is credited with are ``min(n_b / share, copies to come)``: a server with places
        for its share of the stream is credited as serving it all, so servers compete on the task's
        value until their places run short.
    :param demand_share_scope: where ``own_demand_share`` applies: ``"copies"``, to each
        candidate's copies (as above; a larger grant then costs nothing while the server keeps
        places for its share), or ``"server"``, to each server's r2 as a factor ``min(1 /
        share, (1 + copies to come) / (1 + n_ref))``, ``n_ref`` its copies at its best
        reference level (as ``"relative"`` routing counts them): servers are lifted towards
        competing on the task's value, and a grant's size is still priced by its own copies.
    :param turnover_window: routing other than ``"fill"``: the time over which the copies'
        places turn over and earlier tasks' grants come back: ``"horizon"``, the H - 1 copies'
        arrivals, ``(H - 1) g``; ``"episode"``, the arrivals of every task left in the episode,
        ``(tasks left - 1) g``, the copies then capped by the tasks left, not by H - 1. Within
        ``(H - 1) g`` (3 s at 10 tasks/s) no hold of 4-12 s ends, so a server's hold does not
        count and a server with more places wins though a faster one turns its places over twice
        as often; over the episode a server is worth its throughput, places over hold. Under a
        burst both windows are about a second.
    :param whole_places: routing other than ``"fill"``: count a server's places (the copies it holds
        at once, with the held room) in whole tasks, ``floor``, before they turn over. Counted
        continuously, a compute grant of 5.0% holds 0.8 fewer tasks than one of 4.8% on a server
        whose memory grants hold 20 either way, so the planner trades the faster grant for places no
        admitted task can take (heterogeneous's cloud: 4.8% against greedy_latency's 5.0%). Whole
        places make every grant between two counts cost the same, and 1/L then picks the largest.
    """

    n_iterations: int
    n_candidates: int
    n_elites: int
    keep_elites: bool
    horizon: int
    expl_scale: float
    init_share: float
    init_logit_std: float
    min_logit_std: float
    server_smoothing: float
    min_latency_s: float
    warm_start: bool
    warm_logit_std: float
    memory_floor: bool
    bandwidth_follows_compute: bool
    grant_within_remaining: bool
    refit_to_grants: bool
    feasible_candidates: bool
    feasible_margin: float
    feasible_scope: str
    feasible_min_share: float
    value_pessimism: float
    refuse_predicted_failure: bool
    held_release: bool
    copy_consumption: str
    held_room: str
    imagined_routing: str
    price_discount: float
    reference_grant: str
    imagined_tasks: str
    check_admission: bool
    memory_admission: bool
    floor_at_seen: bool
    previous_grant_everywhere: bool
    places_within_slots: bool
    own_demand_share: float
    demand_share_scope: str
    turnover_window: str
    whole_places: bool

    @property
    def boosts_servers(self) -> bool:
        """``own_demand_share`` applied per server (at its reference level)."""
        return self.own_demand_share < 1.0 and self.demand_share_scope == "server"

    @property
    def lifts_copies(self) -> bool:
        """``own_demand_share`` applied to each candidate's copies."""
        return self.own_demand_share < 1.0 and self.demand_share_scope == "copies"

    def __post_init__(self) -> None:
        if self.n_elites > self.n_candidates:
            raise ValueError(
                f"agent.n_elites = {self.n_elites}: allowed 1..n_candidates ({self.n_candidates})"
            )


@dataclass(frozen=True)
class Decision:
    """What one decision's scoring shares across candidates.

    :param context_term: ``[B, H, N]`` first-layer context part plus bias, per server.
    :param remaining: ``[N, 3]`` remaining compute, bandwidth, memory fractions.
    :param need: ``[N]`` the task's memory need as a share of each server.
    :param max_copies: copies that can still arrive this episode (tasks left - 1).
    :param slots_full: ``[N]`` whether every compute slot of the server is busy (the task
        would wait for one: the observation's ``wait`` block is above 0).
    :param server_places: ``[B, N]`` (``"fill"`` routing) how many tasks each server holds at
        once at its reference grant (``reference_grant``), per member.
    :param server_hold: ``[B, N]`` (``"fill"`` routing) how long each holds its grant, s.
    :param place_price: ``[B]`` (``"fill"`` routing) the value of the marginal place.
    :param fill_value: ``[B]`` (``"fill"`` routing) eq. 11 summed over the tasks to come.
    :param reference_throughput: ``[B, N]`` (``"relative"``, ``"overflow"`` and ``"ranked"``
        routing) ``1 + n_b`` at each server's best reference level: what its r2 is divided by
        (``"relative"``), what its copies there are (``"overflow"``, ``"ranked"``).
    :param reference_value: ``[B, N]`` (``"overflow"`` and ``"ranked"`` routing) eq. 11 of one
        task on each server at its reference level (with ``reference_throughput``, what the
        tasks a candidate's server leaves over earn elsewhere: :func:`overflow_values`).
    :param demand_weight: ``[B, N]`` (``"ranked"`` routing) ``(1 + D_j) / (1 + n_j)``, D_j the
        tasks to come that server j takes when they fill every server's reference copies
        ``n_j`` best value first (:func:`ranked_demand`).
    :param copy_need: ``[N]`` (``imagined_tasks: typical``) an imagined task's memory need
        on each server.
    :param copy_context_term: ``[B, H, N]`` (``imagined_tasks: typical``) the first layer's
        context part for an imagined task (its memory need in place of the current one's).
    """

    context_term: np.ndarray
    remaining: np.ndarray
    need: np.ndarray
    max_copies: float
    slots_full: np.ndarray
    server_places: np.ndarray | None = None
    server_hold: np.ndarray | None = None
    place_price: np.ndarray | None = None
    fill_value: np.ndarray | None = None
    reference_throughput: np.ndarray | None = None
    reference_value: np.ndarray | None = None
    demand_weight: np.ndarray | None = None
    copy_need: np.ndarray | None = None
    copy_context_term: np.ndarray | None = None


class Prediction(NamedTuple):
    """The model's predictions for the current task under J candidates (B members).

    :param mean: ``[B, T, J]`` normalised target means (dC, dW, dM, L, P, hold).
    :param variance: ``[B, T, J]`` their variances.
    :param p: ``[B, J]`` completion probability.
    :param raw: ``[B, T, J]`` the means in their units (shares, s, pass@100, s).
    :param at_once: ``[B, J]`` copies the server holds at once after the task.
    :param hold: ``[B, J]`` how long the task holds its grant, s (floored at
        ``min_latency_s``).
    :param logit: ``[B, J]`` completion logit.
    :param per_copy: ``[B, 3, J]`` what one imagined copy takes of the server's C, W, M
        (:meth:`CEMPlanner.per_copy`).
    """

    mean: np.ndarray
    variance: np.ndarray
    p: np.ndarray
    raw: np.ndarray
    at_once: np.ndarray
    hold: np.ndarray
    logit: np.ndarray
    per_copy: np.ndarray


def apply_grant_rules(
    config: PlannerConfig, share: np.ndarray, need: np.ndarray, remaining: np.ndarray
) -> np.ndarray:
    """The grant rules on shares ``[..., 3]``, in place: the DRL wrappers' (cloudedge/wrappers.py)
    bandwidth share set to the compute share when ``bandwidth_follows_compute`` and memory
    share floored at the task's need on the chosen server (``need``, ``[...]``) when
    ``memory_floor``; the reference heuristics' (agents/heuristics.py) compute and bandwidth
    shares capped at what the chosen server has left (``remaining``, ``[..., 3]``) when
    ``grant_within_remaining``. Used by the planner's candidates and the agent's seed actions
    alike."""
    if config.bandwidth_follows_compute:
        share[..., 1] = share[..., 0]
    if config.grant_within_remaining:
        share[..., :2] = np.minimum(share[..., :2], remaining[..., :2])
    if config.memory_floor:
        share[..., 2] = np.maximum(share[..., 2], np.minimum(need, 1.0))
    return share


def best_first(
    value: np.ndarray, caps: np.ndarray, demand: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place ``demand`` tasks on the servers (last axis) best value first, each server taking
    at most its ``caps``; the one greedy fill behind :func:`fill_places` and
    :func:`overflow_values`.

    :param value: ``[..., N]`` eq. 11 of one task on each server (a negative value counts as
        0); broadcast against ``caps``.
    :param caps: ``[..., N]`` how many tasks each server can take.
    :param demand: ``[...]`` how many tasks to place (a negative count places none).
    :return: (the order filled, server indices ``[..., N]`` (equal values in server order);
        the values in that order, floored at 0; the tasks each server in that order takes).
    """
    order = np.argsort(-value, axis=-1, kind="stable")
    sorted_value = np.maximum(np.take_along_axis(value, order, -1), 0.0)
    sorted_caps = np.take_along_axis(caps, order, -1)
    before = np.cumsum(sorted_caps, axis=-1) - sorted_caps
    taken = np.clip(np.maximum(demand, 0.0)[..., None] - before, 0.0, sorted_caps)
    return order, sorted_value, taken


def fill_places(
    value: np.ndarray, places: np.ndarray, hold_s: np.ndarray, tasks_left: float, mean_gap_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the servers' places with the tasks to come, best value first (per member).

    The tasks that arrive within a window of W seconds (the longest hold among servers with a
    place: what a grant made now can block; at most ``tasks_left``) go to the server of
    highest value with a place; a server's places turn over ``span / hold_j`` times, ``span``
    the time those arrivals take (a burst: no turnover).

    :param value: ``[B, N]`` eq. 11 of one task on each server.
    :param places: ``[B, N]`` tasks each server holds at once.
    :param hold_s: ``[B, N]`` how long each holds its grant, s.
    :param tasks_left: tasks still to come this episode.
    :param mean_gap_s: mean time between arrivals, s.
    :return: (the value of the last place used ``[B]``: the marginal one, the cheapest server
        when places run short, 0 with no task to come; the fill's total value ``[B]``).
    """
    n_members, n_servers = value.shape
    window = np.where(places >= 1.0, hold_s, 0.0).max(1)
    window = np.where(window > 0.0, window, hold_s.max(1))
    gap = max(mean_gap_s, 1e-9)
    demand = np.minimum(tasks_left, window / gap)
    span = np.minimum(window, demand * gap)
    caps = places * np.maximum(1.0, span[:, None] / hold_s)
    _, sorted_value, taken = best_first(value, caps, demand)
    used = taken > 0.0
    last = n_servers - 1 - np.argmax(used[:, ::-1], 1)
    price = np.where(used.any(1), sorted_value[np.arange(n_members), last], 0.0)
    return price, (taken * sorted_value).sum(1)


def overflow_values(
    value: np.ndarray, copies: np.ndarray, server: np.ndarray, left_over: np.ndarray
) -> np.ndarray:
    """``"overflow"`` routing: per member and candidate, eq. 11 summed over the tasks to come
    that the candidate's server does not take, filled into the other servers best value first
    (:func:`best_first`).

    :param value: ``[B, N]`` eq. 11 of one task on each server at its reference level (a
        negative value counts as 0: such a server takes nothing).
    :param copies: ``[B, N]`` the tasks to come each server takes at that level (its copies).
    :param server: ``[J]`` the candidates' servers (their own copies are not available).
    :param left_over: ``[B, J]`` the tasks to come that each candidate's server leaves over.
    :return: ``[B, J]``: ``sum_k taken_k value_k`` over the servers ``k`` other than the
        candidate's, in order of value, ``taken_k`` at most ``copies_k``, in all at most
        ``left_over``.
    """
    own = np.arange(value.shape[1]) == server[:, None]  # [J, N]
    caps = np.where(own[None], 0.0, copies[:, None, :])  # [B, J, N]
    # One sort per member: value [B, 1, N] broadcasts over the candidates.
    _, sorted_value, taken = best_first(value[:, None, :], caps, left_over)
    return (taken * sorted_value).sum(-1)


def ranked_demand(value: np.ndarray, copies: np.ndarray, to_come: float) -> np.ndarray:
    """``"ranked"`` routing: the tasks to come ``[B, N]`` that each server takes when they fill
    every server's ``copies`` best value first (:func:`best_first`; equal values in server
    order), in server order. A server whose value is not above 0 takes none (unlike
    :func:`best_first`, which fills it last).

    :param value: ``[B, N]`` eq. 11 of one task on each server at its reference level.
    :param copies: ``[B, N]`` the tasks to come each server takes at that level.
    :param to_come: how many tasks are still to come.
    """
    order, sorted_value, taken = best_first(value, copies, np.full(value.shape[:-1], to_come))
    taken = np.where(sorted_value > 0.0, taken, 0.0)
    demand = np.empty_like(taken)
    np.put_along_axis(demand, order, taken, -1)
    return demand


class CEMPlanner:
    """Plans one action per task with the ensemble ``model``.

    :param model: the generative model (read, never trained, here).
    :param config: planner settings.
    :param n_tasks: tasks per episode (caps the imagined copies by the tasks left).
    :param seed: seeds the candidate draws, drawn once: equal observations (and an equal
        model) give equal actions.
    :param slots: ``[N]`` each server's compute slots (the scenario's ``parallel_slots``),
        read with ``places_within_slots``; ``None``: unbounded.
    """

    def __init__(
        self,
        model: EnsembleModel,
        config: PlannerConfig,
        n_tasks: int,
        seed: int = 0,
        slots: Sequence[int] | None = None,
    ) -> None:
        self.model = model
        self.config = config
        self.n_tasks = n_tasks
        self.seed = seed
        self.n_servers = model.n_servers
        if slots is not None and len(slots) != model.n_servers:
            raise ValueError(
                f"slots: {len(slots)} entries, allowed {model.n_servers} (one per server)"
            )
        # The places a server can hold besides the current task (its slots less that task's).
        self.max_places = (
            None if slots is None else np.maximum(np.asarray(slots, np.float64) - 1.0, 0.0)
        )
        self.layout = ObservationLayout(model.n_servers)
        rng = np.random.default_rng(seed)
        self._uniform = rng.random((config.n_iterations, config.n_candidates))
        self._noise = rng.standard_normal((config.n_iterations, config.n_candidates, 3))
        self._noise[:, 0] = 0.0  # candidate 0 of each iteration is the mode of q(pi)
        h = config.horizon
        # Bisection to half a copy: ceil(log2 H) steps reach one copy, one more 1/2.
        self.bisection_steps = math.ceil(math.log2(h)) + 1 if h > 1 else 0
        self.net: NumpyEnsemble = model.export()
        # (mu, sigma, server, z) of the last plan of this episode: q(pi)'s shares, the chosen
        # server and the chosen shares' logits.
        self._warm: tuple[np.ndarray, np.ndarray, int, np.ndarray] | None = None

    def reset(self) -> None:
        """Forget the warm start (at the start of every episode)."""
        self._warm = None

    def refresh(self) -> None:
        """Re-export the model's weights (after a refit or a load)."""
        self.net = self.model.export()

    # -- scoring ----------------------------------------------------------------------------
    def decision(self, observation: np.ndarray, mu: np.ndarray | None = None) -> Decision:
        """Prepare the scoring of one observation (``mu``: q(pi)'s share logits ``[N, 3]``,
        the servers' reference shares of ``"fill"`` routing; default: ``init_share``)."""
        layout, net = self.layout, self.net
        obs = np.asarray(observation, np.float64)
        context = context_features(layout, obs, np.arange(self.n_servers))  # [N, C]
        tasks_left = round(float(layout.task(obs, "tasks_left")) * self.n_tasks)
        decision = Decision(
            context_term=net.w_context @ context.T + net.bias,
            remaining=layout.remaining(obs),
            need=layout.block(obs, "memory_need"),
            max_copies=float(max(tasks_left - 1, 0)),
            slots_full=layout.block(obs, "wait") > 0.0,
        )
        if self.config.imagined_tasks == "typical" and net.mean_need is not None:
            # The imagined tasks' context: the current one's, with the typical memory need.
            typical = context.copy()
            typical[:, self.n_servers + CONTEXT_BLOCKS.index("memory_need")] = net.mean_need
            decision = dataclasses.replace(
                decision,
                copy_need=net.mean_need,
                copy_context_term=net.w_context @ typical.T + net.bias,
            )
        if (
            self.config.imagined_routing in ("relative", "overflow", "ranked")
            or self.config.boosts_servers
        ):
            return self.with_reference_throughput(decision)
        if self.config.imagined_routing != "fill":
            return decision
        return self.with_server_values(decision, self.initial_mu() if mu is None else mu)

    def initial_mu(self) -> np.ndarray:
        """q(pi)'s share logits ``[N, 3]`` at the start of an episode: ``init_share``."""
        init = self.config.init_share
        return np.full((self.n_servers, 3), math.log(init / (1.0 - init)))

    def trunk(self, pre: np.ndarray) -> np.ndarray:
        """Hidden features ``[B, H, J]`` from the first layer's pre-activation."""
        h = silu(pre)
        for weight, bias in self.net.hidden:
            h = silu(weight @ h + bias)
        return h

    def predict(self, decision: Decision, server: np.ndarray, share: np.ndarray) -> Prediction:
        """The model's predictions for the current task under each candidate."""
        net, cfg = self.net, self.config
        fixed = net.w_share @ np.ascontiguousarray(share_features(share).T)
        fixed += decision.context_term[:, :, server]
        remaining, need = decision.remaining[server], decision.need[server]
        x_dyn = dynamic_columns(remaining.T, share.T, need, net.margin_scale)  # [8, J]
        pre = net.w_dynamic @ x_dyn
        pre += fixed
        out = net.w_head @ self.trunk(pre) + net.b_head
        mean = out[:, :N_TARGETS]  # [B, T, J] normalised
        logvar = net.min_logvar + (net.max_logvar - net.min_logvar) * sigmoid(out[:, N_TARGETS:-1])
        logit = out[:, -1]  # [B, J] completion logit of the current task
        p = sigmoid(logit)
        raw = mean * net.target_std + net.target_mean
        hold = np.maximum(raw[:, HOLD], cfg.min_latency_s)
        if cfg.floor_at_seen:
            raw[:, LATENCY] = np.maximum(raw[:, LATENCY], net.latency_floor_s[server])
            hold = np.maximum(hold, net.hold_floor_s[server])
        per_copy = first = self.per_copy(share, raw, hold, remaining)
        copy_share = share
        if decision.copy_need is None:
            at_once = self.copies_at_once(fixed, remaining, share, need, per_copy, logit)
        else:
            at_once, per_copy, copy_share = self.typical_at_once(
                decision, server, share, raw, hold, per_copy, logit
            )
        if cfg.check_admission:
            p, at_once = self.admissible(remaining, share, first, copy_share, per_copy, p, at_once)
        if cfg.memory_admission and cfg.memory_floor:
            fits = need <= remaining[:, 2] + SHARE_TOLERANCE  # [J]
            p, at_once = np.where(fits, p, 0.0), np.where(fits, at_once, 0.0)
        return Prediction(mean, exp(logvar), p, raw, at_once, hold, logit, per_copy)

    def typical_at_once(
        self,
        decision: Decision,
        server: np.ndarray,
        share: np.ndarray,
        raw: np.ndarray,
        hold: np.ndarray,
        first: np.ndarray,
        logit: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``imagined_tasks: typical``: how many typical tasks ``[B, J]`` the candidate's
        server holds at once after the current task, what one takes ``[B, 3, J]`` and what
        one asks for ``[J, 3]``.

        An imagined task asks for the candidate's compute and bandwidth and for its own need
        of memory plus the candidate's memory over the current need (the grant rules'
        surplus); what it takes is the model's prediction for the current task with the
        memory change scaled by the two memory grants (floored as :meth:`per_copy` floors).
        The current task's own consumption ``first`` comes off first.
        """
        assert decision.copy_need is not None and decision.copy_context_term is not None
        net = self.net
        need, copy_need = decision.need[server], decision.copy_need[server]
        remaining = decision.remaining[server]
        copy_share = share.copy()
        if self.config.memory_floor:
            surplus = np.maximum(share[:, 2] - need, 0.0)
            copy_share[:, 2] = np.minimum(copy_need + surplus, 1.0)
        ratio = copy_share[:, 2] / np.maximum(share[:, 2], PER_COPY_FLOOR)
        copy_raw = raw.copy()
        copy_raw[:, 2] *= ratio  # d_memory of an imagined task
        per_copy = self.per_copy(copy_share, copy_raw, hold, remaining)
        fixed = net.w_share @ np.ascontiguousarray(share_features(copy_share).T)
        fixed += decision.copy_context_term[:, :, server]
        at_once = self.copies_at_once(
            fixed, remaining, copy_share, copy_need, per_copy, logit, first=first
        )
        return at_once, per_copy, copy_share

    @staticmethod
    def admissible(
        remaining: np.ndarray,
        share: np.ndarray,
        first: np.ndarray,
        copy_share: np.ndarray,
        per_copy: np.ndarray,
        p: np.ndarray,
        at_once: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``check_admission``: the completion probability ``[B, J]`` and copies at once
        ``[B, J]`` under the simulator's admission rule.

        The current task's request ``share`` ``[J, 3]`` must fit in ``remaining``
        ``[J, 3]`` (else p = 0, no copies). Copy k >= 2 is admitted while its request
        ``copy_share`` fits in what is left after the current task (``first``, ``[B, 3, J]``)
        and k - 2 copies (``per_copy`` each): ``x = min_r (R_r - first_r - s_r) / d_r``,
        counted continuously as ``max(x + 1, 0)`` copies (a resource a copy takes nothing
        of bounds nothing, unless the request already exceeds what is left).
        """
        fits = (share <= remaining + SHARE_TOLERANCE).all(1)  # [J]
        left = (remaining - copy_share).T[None] - first + SHARE_TOLERANCE  # [B, 3, J]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                per_copy > PER_COPY_FLOOR,
                left / per_copy,
                np.where(left >= 0.0, np.inf, -np.inf),
            )
        by_rule = np.maximum(ratio.min(1) + 1.0, 0.0)
        return np.where(fits, p, 0.0), np.where(fits, np.minimum(at_once, by_rule), 0.0)

    def task_value(self, p: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Eq. 11 per member ``[B, J]`` of ``p`` expected completions at the predicted latency
        and pass@100, vectorised :func:`cloudedge.metrics.rewardless_guidance` (no latency
        term for a non-finite latency)."""
        latency = np.maximum(raw[:, LATENCY], self.config.min_latency_s)
        inverse = np.divide(1.0, latency, out=np.zeros_like(latency), where=np.isfinite(latency))
        return p * (inverse + raw[:, PASS])

    def score(
        self, decision: Decision, server: np.ndarray, share: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``r = expl_scale * r1 + r2`` of each candidate (see the module docstring).

        :param decision: :meth:`decision` of the observation (with :meth:`with_server_values`
            for ``"fill"`` routing).
        :param server: ``[J]`` candidate servers.
        :param share: ``[J, 3]`` candidate shares.
        :return: (r ``[J]``, r1 ``[J]``, r2 ``[J]``).
        """
        cfg = self.config
        pred = self.predict(decision, server, share)
        p, raw = pred.p, pred.raw
        r1 = outcome_information_gain(pred.mean, pred.variance, p)
        if cfg.imagined_routing != "fill":
            copies = self.own_copies(decision, server, share, pred)
            throughput = self.task_value(p * (1.0 + copies), raw)  # [B, J]
            if cfg.imagined_routing == "relative":
                assert decision.reference_throughput is not None
                throughput = throughput / decision.reference_throughput[:, server]
            elif cfg.imagined_routing == "overflow":
                # The tasks to come that this server does not take go to the others.
                assert decision.reference_throughput is not None
                assert decision.reference_value is not None
                # At least the copies its reference level takes stay on the server: a grant
                # that takes more places does not make its displaced tasks earn elsewhere
                # (that priced grants by other servers' values and over-granted, like fill).
                to_come = self.tasks_to_come(decision)
                reference_copies = decision.reference_throughput - 1.0
                taken_here = np.maximum(copies, reference_copies[:, server])
                throughput = throughput + overflow_values(
                    decision.reference_value, reference_copies, server, to_come - taken_here
                )
            elif cfg.imagined_routing == "ranked":
                # A server is expected to take only the tasks to come that it would take
                # were they sent best value first: one the others outrank counts for less.
                assert decision.demand_weight is not None
                throughput = throughput * decision.demand_weight[:, server]
            elif cfg.boosts_servers:
                # The server is expected to take only its share of the tasks to come: one
                # whose places at its reference level fall short of all of them is lifted
                # towards serving them all, by at most 1 / share (the grant's size is still
                # priced by its own copies).
                assert decision.reference_throughput is not None
                to_come = 1.0 + min(cfg.horizon - 1.0, decision.max_copies)
                boost = to_come / decision.reference_throughput[:, server]
                throughput = throughput * np.minimum(boost, 1.0 / cfg.own_demand_share)
            r2 = throughput.mean(0)
            if cfg.value_pessimism > 0.0:
                # Where the members disagree (a grant unlike those trained on), trust less.
                r2 = r2 - cfg.value_pessimism * throughput.std(0)
        else:
            cost = self.opportunity_cost(decision, server, pred.at_once, pred.hold, p)
            assert decision.fill_value is not None
            value = self.task_value(p, raw)
            r2 = (decision.fill_value[:, None] + value - cost).mean(0)
        r = cfg.expl_scale * r1 + r2
        return np.nan_to_num(r, nan=-math.inf), r1, r2

    def own_copies(
        self, decision: Decision, server: np.ndarray, share: np.ndarray, pred: Prediction
    ) -> np.ndarray:
        """``n_b`` ``[B, J]``: how many of the H - 1 copies complete on the candidate's server
        (module docstring; routing other than ``"fill"``)."""
        cfg, horizon = self.config, self.config.horizon
        at_once, hold = pred.at_once, pred.hold
        if cfg.copy_consumption == "net":
            # dS_b is net of the releases between arrivals: the copies' trajectory is the
            # stream's own, so releases are counted there and only there.
            return np.minimum(at_once, decision.max_copies)
        window = self.window_copies(decision)
        # A place turns over every hold_b seconds.
        turnover = np.maximum(1.0, window * self.net.mean_gap_s / hold)
        places = at_once
        if cfg.held_release:
            places = at_once + self.held_places(decision, server, share, pred)
        if cfg.places_within_slots and self.max_places is not None:
            places = np.minimum(places, self.max_places[server])
        if cfg.whole_places:
            # A server holds whole tasks (the tolerance keeps 1 / 0.05 from reading 19).
            places = np.floor(places + WHOLE_PLACE_TOLERANCE)
        copies = np.minimum(places * turnover, self.tasks_to_come(decision))
        if cfg.lifts_copies:
            # Only this share of the tasks to come is expected here: a server with places for
            # them serves all it is asked, one with fewer loses in proportion.
            to_come = min(horizon - 1.0, decision.max_copies)
            copies = np.minimum(copies / cfg.own_demand_share, to_come)
        return copies

    def window_copies(self, decision: Decision) -> float:
        """The imagined arrivals after the current task that span the turnover window
        (``turnover_window``): H - 1, or the tasks left in the episode less the current one."""
        if self.config.turnover_window == "episode":
            return decision.max_copies
        return self.config.horizon - 1.0

    def tasks_to_come(self, decision: Decision) -> float:
        """The imagined arrivals in the turnover window that can still come this episode: the
        most copies one server is credited with, and what ``"overflow"`` and ``"ranked"``
        routing share out among the servers."""
        return min(self.window_copies(decision), decision.max_copies)

    def with_reference_throughput(self, decision: Decision) -> Decision:
        """``"relative"``, ``"overflow"`` and ``"ranked"`` routing: add each server's ``1 + n_b``
        ``[B, N]`` at its reference level, the one of :data:`REFERENCE_LEVELS` (compute =
        bandwidth = level, memory floored at the need) that maximises ``mean_b(v_b (1 + n_b))``
        there; for ``"overflow"`` and ``"ranked"`` eq. 11 of one task there, ``[B, N]``; for
        ``"ranked"`` each server's weight (:attr:`Decision.demand_weight`). N x 8 more
        predictions a decision."""
        n, n_levels = self.n_servers, len(REFERENCE_LEVELS)
        servers = np.repeat(np.arange(n), n_levels)
        share = self.shares(decision, servers, np.tile(REFERENCE_LOGITS[:, None], (n, 3)))
        pred = self.predict(decision, servers, share)
        copies = self.own_copies(decision, servers, share, pred)
        throughput = self.task_value(pred.p * (1.0 + copies), pred.raw)
        best = throughput.mean(0).reshape(n, n_levels).argmax(1) + np.arange(n) * n_levels
        value = weight = None
        if self.config.imagined_routing in ("overflow", "ranked"):
            value = self.task_value(pred.p, pred.raw)[:, best]
        if self.config.imagined_routing == "ranked":
            assert value is not None
            to_come = self.tasks_to_come(decision)
            demand = ranked_demand(value, copies[:, best], to_come)
            weight = (1.0 + demand) / (1.0 + copies[:, best])
        return dataclasses.replace(
            decision,
            reference_throughput=1.0 + copies[:, best],
            reference_value=value,
            demand_weight=weight,
        )

    def held_places(
        self, decision: Decision, server: np.ndarray, share: np.ndarray, pred: Prediction
    ) -> np.ndarray:
        """``held_release``: the places ``[B, J]`` that earlier tasks' grants on the
        candidate's server give back within the horizon.

        What they hold, ``1 - R_j`` per resource, is room for ``(1 - R_j) / |dS_b|`` copies
        of the candidate's request (the resource that binds first; ``held_room: copy``, ``dS_b``
        as :meth:`per_copy` counts it) or for ``(1 - R_j) / share`` (``held_room: grant``:
        what an admitted copy reserves; the releases are counted here, so not netted again;
        ``grant_unless_slots_full``: by the grant, but as ``copy`` on a server whose compute
        slots are all busy, where slots bind rather than shares).
        Their release times are unknown: taken as spread evenly over one hold (their ages
        uniform, as in a steady stream), so a fraction ``min(1, (H - 1) g / hold_b)`` comes
        back within the horizon (little under a burst: the paper's 100 tasks in 1 s give
        0.3 s against holds of ~9 s).
        """
        window_s = self.window_copies(decision) * self.net.mean_gap_s
        back = np.minimum(1.0, window_s / pred.hold)  # [B, J]
        held = (1.0 - decision.remaining[server]).T  # [3, J]
        per_copy = pred.per_copy  # [B, 3, J]
        if self.config.held_room != "copy":
            by_grant: bool | np.ndarray = True
            if self.config.held_room == "grant_unless_slots_full":
                by_grant = ~decision.slots_full[server][None, None, :]  # [1, 1, J]
            per_copy = np.where(by_grant, share.T[None], per_copy)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0: masked out below
            room = np.where(per_copy > PER_COPY_FLOOR, held / per_copy, np.inf).min(1)
        return back * np.where(np.isfinite(room), room, 0.0)

    def opportunity_cost(
        self,
        decision: Decision,
        server: np.ndarray,
        at_once: np.ndarray,
        hold: np.ndarray,
        p: np.ndarray,
    ) -> np.ndarray:
        """``"fill"`` routing: what the candidate's grant costs the tasks to come,
        ``price_b * rho_b`` ``[B, J]``: ``rho``, the reference tasks its grant displaces (its
        share of the server's places, ``c_ref / (c_a + 1)``, times its hold over theirs; 0
        for a task that fails), at the price of the marginal place (:meth:`with_server_values`).
        """
        assert decision.server_places is not None and decision.server_hold is not None
        assert decision.place_price is not None
        places_ref, hold_ref = decision.server_places[:, server], decision.server_hold[:, server]
        rho = p * places_ref / (at_once + 1.0) * np.clip(hold / hold_ref, 0.25, 4.0)
        return self.config.price_discount * decision.place_price[:, None] * rho

    def with_server_values(self, decision: Decision, mu: np.ndarray) -> Decision:
        """Add, per member, each server's value, places and hold at its reference grant, and
        the fill of the tasks to come.

        The reference grant (``reference_grant``) is q(pi)'s mean shares ``sigmoid(mu_j)``
        (``"q_mean"``), or the level of :data:`REFERENCE_LEVELS` that maximises
        ``mean_b(value_b * places_b)`` on that server (``"levels"``: what a server gives the
        tasks to come at its best, whatever q(pi) has explored; N x 8 more predictions).
        ``place_price`` and ``fill_value`` are :func:`fill_places`'s (the total is a constant
        per decision that keeps r2 on the scale of the tasks it counts).
        """
        n = self.n_servers
        if self.config.reference_grant == "levels":
            n_levels = len(REFERENCE_LEVELS)
            servers = np.repeat(np.arange(n), n_levels)
            z = np.tile(REFERENCE_LOGITS[:, None], (n, 3))  # [N * L, 3]: the same level for C, W, M
        else:
            n_levels, servers, z = 1, np.arange(n), mu
        share = self.shares(decision, servers, z)
        pred = self.predict(decision, servers, share)
        value, hold = self.task_value(pred.p, pred.raw), pred.hold
        places = pred.at_once + (pred.logit >= 0.0)  # the reference task's own place counts
        if n_levels > 1:
            best = (value * places).mean(0).reshape(n, n_levels).argmax(1)
            pick = best + np.arange(n) * n_levels
            value, places, hold = value[:, pick], places[:, pick], hold[:, pick]
        price, fill_value = fill_places(
            value, places, hold, decision.max_copies, self.net.mean_gap_s
        )
        return dataclasses.replace(
            decision,
            server_places=places,
            server_hold=hold,
            place_price=price,
            fill_value=fill_value,
        )

    def per_copy(
        self, share: np.ndarray, raw: np.ndarray, hold: np.ndarray, remaining: np.ndarray
    ) -> np.ndarray:
        """What one imagined copy takes of its server's C, W, M, ``[B, 3, J]`` (>= 0):
        ``copy_consumption`` ``"predicted"``, the model's state change ``-min(dS_b, 0)``;
        ``"granted"``, the candidate's shares ``share`` ``[J, 3]`` (every member alike);
        ``"floored"``, the prediction but at least the grant less what the server's held
        resources ``1 - R_j`` (``remaining`` ``[J, 3]``) give back in one arrival gap,
        ``(1 - R_j) g / hold_b`` (``hold`` ``[B, J]`` s, floored): an admitted task reserves
        its whole grant, so between two arrivals the server can lose less only by releases
        (under a burst, none)."""
        mode = self.config.copy_consumption
        if mode == "granted":
            return np.broadcast_to(share.T[None], raw[:, STATE_DIMS].shape)
        predicted = -np.minimum(raw[:, STATE_DIMS], 0.0)
        if mode == "floored":
            released = (1.0 - remaining).T[None] * (self.net.mean_gap_s / hold)[:, None, :]
            predicted = np.maximum(predicted, share.T[None] - released)
        return predicted

    def copies_at_once(
        self,
        fixed: np.ndarray,
        remaining: np.ndarray,
        share: np.ndarray,
        need: np.ndarray,
        per_copy: np.ndarray,
        logit: np.ndarray,
        first: np.ndarray | None = None,
    ) -> np.ndarray:
        """``c_b``: how many copies of the candidate's request member b predicts its server
        to hold at once after the current task (at most H - 1).

        Bisection on the copy index k (completion falls with k): ``lo`` is the last copy known
        to complete (1 = the current task, taken as given), ``hi`` the first known to fail;
        then the logit is interpolated linearly in the last half-copy (module docstring).

        :param first: ``[B, 3, J]`` what the current task itself takes, when its copies
            (``fixed``, ``share``, ``need``, ``per_copy``: theirs) differ from it
            (``imagined_tasks: typical``); default: the same as a copy.
        :return: ``[B, J]`` counts in [0, H - 1].
        """
        net, horizon = self.net, self.config.horizon
        b, j = logit.shape
        lo, hi = np.ones((b, j)), np.full((b, j), float(horizon + 1))
        logit_lo, logit_hi = logit.copy(), np.full((b, j), -1.0)  # hi = H + 1 never evaluated
        # Resources by rows ([.., 3, J]), the layout the first layer multiplies.
        left, copy_share = remaining.T, share.T  # [3, J]
        consumed = -per_copy  # [B, 3, J], <= 0 (:meth:`per_copy`)
        consumed_first = None if first is None else -first
        w_logit, b_logit = net.w_head[:, -1:], net.b_head[:, -1]  # [B, 1, H], [B, 1]
        for _ in range(self.bisection_steps):
            k = (lo + hi) / 2
            if consumed_first is None:
                rem_k = left + (k - 1.0)[:, None] * consumed  # s_k
            else:  # the current task, then k - 2 imagined ones
                taken = np.minimum(k - 1.0, 1.0)[:, None] * consumed_first
                taken += np.maximum(k - 2.0, 0.0)[:, None] * consumed
                rem_k = left + taken
            np.clip(rem_k, 0.0, 1.0, out=rem_k)
            x_k = dynamic_columns(rem_k, copy_share, need, net.margin_scale)  # [B, 8, J]
            pre = net.w_dynamic @ x_k
            pre += fixed
            h = self.trunk(pre)
            logit_k = (w_logit @ h)[:, 0] + b_logit
            completes = logit_k >= 0.0  # p_b(s_k, a) >= 1/2
            np.copyto(lo, k, where=completes)
            np.copyto(logit_lo, logit_k, where=completes)
            fails = ~completes
            np.copyto(hi, k, where=fails)
            np.copyto(logit_hi, logit_k, where=fails)
        above = np.maximum(logit_lo, 0.0)  # < 0 only when the current task fails: 0 copies
        crossing = lo + (hi - lo) * above / (above - logit_hi)  # logit_hi < 0: in [lo, hi)
        return np.minimum(crossing - 1.0, horizon - 1.0)

    def shares(self, decision: Decision, server: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Candidate shares ``[J, 3]`` from logits ``z`` ``[J, 3]``: ``sigmoid(z)``, the
        bandwidth share set to the compute share when ``bandwidth_follows_compute``, compute
        and bandwidth capped at what the candidate's server has left when
        ``grant_within_remaining`` and the memory share floored at the task's need there when
        ``memory_floor`` (:func:`apply_grant_rules`)."""
        return apply_grant_rules(
            self.config,
            sigmoid(z),
            decision.need[server],
            decision.remaining[server],
        )

    # -- CEM --------------------------------------------------------------------------------
    def plan(self, observation: np.ndarray) -> tuple[int, np.ndarray, dict[str, float]]:
        """Algorithm 1, lines 6-13, for one task.

        :return: (server, shares ``(3,)`` float32, diagnostics of the chosen candidate:
            ``score``, ``r1``, ``r2``, and with ``refuse_predicted_failure`` its completion
            probability ``p``).
        """
        cfg, n = self.config, self.n_servers
        with np.errstate(over="ignore"):
            probs = np.full(n, 1.0 / n)
            if self._warm is None:
                mu = self.initial_mu()
                sigma = np.full((n, 3), cfg.init_logit_std)
                mode = int(np.argmax(probs))
                previous_z = None
            else:
                mu, sigma = self._warm[0], np.maximum(self._warm[1], cfg.warm_logit_std)
                mode = self._warm[2]  # the previous choice: its server, q(pi)'s mean shares
                previous_z = self._warm[3]  # the previous choice's shares (logits)
            decision = self.decision(observation, mu)
            cap_logits = cfg.grant_within_remaining and cfg.refit_to_grants
            if cap_logits:
                left = np.clip(decision.remaining[:, :2], 1e-9, 1.0 - 1e-9)
                cap_logit = log(left / (1.0 - left))  # [N, 2] compute, bandwidth
            if cfg.feasible_candidates:
                # q(pi)'s mean per server, lowered into what it can grant (the grant rules
                # then raise the memory share to the task's need).
                room = np.clip(decision.remaining - cfg.feasible_margin, 1e-9, 1.0 - 1e-9)
                feasible_logit = log(room / (1.0 - room))
                room_ok = (room[:, :2] >= cfg.feasible_min_share).all(1)
            kept: tuple[np.ndarray, ...] = (
                np.zeros(0, np.int64),
                np.zeros((0, 3)),
                *[np.zeros(0)] * 3,
            )
            for it in range(cfg.n_iterations):
                # Sample J candidates from q(pi); candidate 0 is its mode.
                cdf = np.cumsum(probs)
                server = np.minimum(np.searchsorted(cdf, self._uniform[it] * cdf[-1]), n - 1)
                server[0] = mode if it == 0 else int(np.argmax(probs))
                z = mu[server] + sigma[server] * self._noise[it]
                if cap_logits:
                    # The cap acts on the logits, so q(pi) is refit to the grants made and
                    # does not drift over requests above what remains (all granted alike).
                    z[:, :2] = np.minimum(z[:, :2], cap_logit[server])
                if it == 0 and cfg.feasible_candidates:
                    rescued = np.arange(n)
                    if cfg.feasible_scope == "stranded":
                        # Only servers where no sampled request fits (all would be refused).
                        fits = self.shares(decision, server, z) <= decision.remaining[server]
                        found = np.bincount(server[fits.all(1)], minlength=n)
                        rescued = rescued[found == 0]
                    rescued = rescued[room_ok[rescued]]
                    server = np.concatenate([server, rescued])
                    z = np.concatenate([z, np.minimum(mu, feasible_logit)[rescued]])
                if it == 0 and cfg.previous_grant_everywhere and previous_z is not None:
                    others = np.delete(np.arange(n), mode)
                    server = np.concatenate([server, others])
                    z = np.concatenate([z, np.tile(previous_z, (len(others), 1))])
                r, r1, r2 = self.score(decision, server, self.shares(decision, server, z))
                fresh = (server, z, r, r1, r2)
                if cfg.keep_elites:  # compete with the elites so far (scores are deterministic)
                    fresh = tuple(np.concatenate(pair) for pair in zip(kept, fresh, strict=True))
                top = np.argsort(-fresh[2], kind="stable")[: cfg.n_elites]
                kept = tuple(x[top] for x in fresh)
                # Refit q(pi) to the elites.
                elite_server, elite_z = kept[0], kept[1]
                counts = np.bincount(elite_server, minlength=n).astype(np.float64)
                probs = (counts + cfg.server_smoothing) / (cfg.n_elites + n * cfg.server_smoothing)
                safe = np.maximum(counts, 1.0)[:, None]
                mean = np.stack([np.bincount(elite_server, elite_z[:, d], n) for d in range(3)], 1)
                square = np.stack(
                    [np.bincount(elite_server, elite_z[:, d] ** 2, n) for d in range(3)], 1
                )
                mean, square = mean / safe, square / safe
                std = np.sqrt(np.maximum(square - mean**2, 0.0))
                enough = (counts >= 2)[:, None]
                mu = np.where(enough, mean, mu)
                sigma = np.where(enough, np.maximum(std, cfg.min_logit_std), sigma)
        best_server, best_z, score, r1, r2 = (x[0] for x in kept)
        if cfg.warm_start:
            self._warm = (mu, sigma, int(best_server), best_z.copy())
        best_z = np.clip(best_z, -50.0, 50.0)[None]
        chosen = np.array([best_server])
        shares = self.shares(decision, chosen, best_z)
        diagnostics = {"score": float(score), "r1": float(r1), "r2": float(r2)}
        if cfg.refuse_predicted_failure:
            # A task admitted to fail holds its grant until its deadline; refused, it holds
            # nothing (the reference heuristics' rule, agents/heuristics.py).
            p = float(self.predict(decision, chosen, shares).p.mean())
            diagnostics["p"] = p
            if p < 0.5:
                shares = np.zeros_like(shares)
        return int(best_server), shares[0].astype(np.float32), diagnostics


__all__ = [
    "CEMPlanner",
    "Decision",
    "PlannerConfig",
    "Prediction",
    "fill_places",
    "overflow_values",
    "ranked_demand",
]
