"""Claims judged from bootstrap intervals: the machinery behind ``scripts/summarize.py``'s table.

A :class:`Claim` is one declarative row: which cells of the summary (experiment, metric,
agents, grid points), how they are compared (``approx``, ``at_most``, ``above``, ``falls``,
...), the target and its tolerance, and where that tolerance comes from. :func:`judge` reads
every cell's interquartile mean and 95% bootstrap interval (``summary.csv``'s ``iqm``,
``ci_low``, ``ci_high``) and returns a three-valued verdict:

- ``holds``: every cell satisfies the claim with its whole interval;
- ``does not hold``: some cell violates it with its whole interval;
- ``inconclusive``: otherwise (an interval straddles the target, or two compared intervals
  overlap).

Agent sets are names separated by commas, or capability groups read from each agent's
``conf/agent/<name>.yaml`` class (``agents.base.Capabilities``): ``@paper`` (the paper's
baselines), ``@heuristic`` (does not learn and is not privileged), ``@all``; ``-name``
removes an agent (``@paper-aif``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
AGENT_CONF = ROOT / "conf" / "agent"

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
NOT_TESTED = "not tested (agent or experiment missing)"

#: Where tolerances come from (the rows name one of these).
HALF_DIGIT = "half the last digit of the paper's approximate value"
ORDERING = "an ordering: the two intervals must not overlap"
OURS_FLAT = "ours: the paper gives no number for 'flat'; read as a spread within 10% of the mean"
EXACT = "exact: the paper says nothing completes"

Verdict = bool | None  # True holds, False does not hold, None inconclusive
#: A verdict as the tables print it.
VERDICT_TEXT = {True: HOLDS, False: FAILS, None: INCONCLUSIVE}


@dataclass(frozen=True)
class Claim:
    """One claim, judged on the summary's cells.

    :param text: the claim as the paper states it.
    :param experiment: ``train``, ``tmax``, ``load``, ``dynamics`` or ``bound``.
    :param metric: the summary's metric (``sum_reward``, ``completion_rate``, ...).
    :param agents: the agents judged (see the module docstring for the syntax).
    :param comparison: a key of :data:`COMPARISONS`.
    :param target: a number, or for ``above`` / ``below`` an agent set compared against.
    :param tolerance: allowed distance from a numeric target (same unit as the metric).
    :param source: where ``tolerance`` comes from.
    :param t_max_s: the closed range of deadlines judged (``tmax`` and ``load`` cells).
    :param n_tasks: the closed range of task counts judged.
    :param only: for ``only_at_least``: the agent the claim says is the only one.
    """

    text: str
    experiment: str
    metric: str
    agents: str
    comparison: str
    target: float | str
    tolerance: float
    source: str
    t_max_s: tuple[float, float] = (-math.inf, math.inf)
    n_tasks: tuple[float, float] = (-math.inf, math.inf)
    only: str = ""


@dataclass(frozen=True)
class Cell:
    """One agent at one grid point: the IQM over seeds and its 95% bootstrap interval."""

    agent: str
    point: float
    iqm: float
    low: float
    high: float

    def __str__(self) -> str:
        if self.low == self.high:
            return f"{self.iqm:.3g}"
        return f"{self.iqm:.3g} [{self.low:.3g}, {self.high:.3g}]"


# -- agent sets ----------------------------------------------------------------------------------


@cache
def _capabilities(agent: str) -> tuple[bool, bool, bool] | None:
    """``(learns, paper_baseline, privileged)`` of ``conf/agent/<agent>.yaml``'s class."""
    from agents.base import agent_capabilities

    path = AGENT_CONF / f"{agent}.yaml"
    if not path.is_file():
        return None
    caps = agent_capabilities(yaml.safe_load(path.read_text()))
    return caps.learns, caps.paper_baseline, caps.privileged


GROUPS: dict[str, Callable[[tuple[bool, bool, bool]], bool]] = {
    "@all": lambda c: True,
    "@paper": lambda c: c[1],
    "@heuristic": lambda c: not c[0] and not c[2],
}


def agent_set(spec: str, present: Sequence[str]) -> list[str]:
    """The agents of ``present`` that ``spec`` names, in ``present``'s order."""
    chosen: set[str] = set()
    for i, part in enumerate(spec.replace(" ", "").split(",")):
        head, *removed = part.split("-")
        if head in GROUPS:
            group = GROUPS[head]
            chosen |= {a for a in present if (c := _capabilities(a)) is not None and group(c)}
        elif head:
            chosen.add(head)
        elif i == 0 and not removed:
            raise ValueError(f"agent set {spec!r}: empty")
        chosen -= set(removed)
    return [a for a in present if a in chosen] + sorted(chosen - set(present))


# -- cells ---------------------------------------------------------------------------------------


def cells(summary: pd.DataFrame, claim: Claim, agents: Sequence[str]) -> dict[str, list[Cell]]:
    """Per agent, its cells of ``claim`` ordered by the point that varies (t_max for
    ``tmax``, the task count otherwise); an agent with no cell maps to ``[]``."""
    rows = summary[
        (summary["experiment"] == claim.experiment) & (summary["metric"] == claim.metric)
    ]
    rows = rows[rows["t_max_s"].between(*claim.t_max_s) & rows["n_tasks"].between(*claim.n_tasks)]
    column = "t_max_s" if claim.experiment == "tmax" else "n_tasks"
    out: dict[str, list[Cell]] = {}
    for agent in agents:
        mine = rows[rows["agent"] == agent].sort_values(column)
        out[agent] = [Cell(agent, float(r[column]), float(r["iqm"]), float(r["ci_low"]),
                           float(r["ci_high"])) for _, r in mine.iterrows()
                      if math.isfinite(float(r["iqm"]))]  # fmt: skip
    return out


# -- three-valued logic --------------------------------------------------------------------------


def all_of(verdicts: Sequence[Verdict]) -> Verdict:
    """AND: False if any is False, True if all are True, else None."""
    if any(v is False for v in verdicts):
        return False
    return True if all(v is True for v in verdicts) else None


def any_of(verdicts: Sequence[Verdict]) -> Verdict:
    """OR: True if any is True, False if all are False, else None."""
    if any(v is True for v in verdicts):
        return True
    return False if all(v is False for v in verdicts) else None


def within(cell: Cell, low: float, high: float) -> Verdict:
    """Is the cell in [low, high]? True when its interval is, False when it is disjoint."""
    if low <= cell.low and cell.high <= high:
        return True
    return False if cell.high < low or cell.low > high else None


def at_least(low: float, high: float, target: float) -> str:
    """The verdict, as text, of "at least ``target``" for an interval ``[low, high]``: holds
    when the whole interval is >= target, does not hold when it is wholly below, inconclusive
    otherwise (:func:`within` with no upper end)."""
    return VERDICT_TEXT[within(Cell("", math.nan, math.nan, low, high), target, math.inf)]


def greater(a: Cell, b: Cell) -> Verdict:
    """Is ``a`` above ``b``? True when a's interval lies above b's, False when below or equal."""
    if a.low > b.high:
        return True
    return False if a.high <= b.low else None


# -- comparisons ---------------------------------------------------------------------------------


def _per_cell(test: Callable[[Cell, Claim], Verdict]) -> Callable:
    def compare(c: dict[str, list[Cell]], claim: Claim, _s: pd.DataFrame) -> Verdict:
        return all_of([test(cell, claim) for cells_ in c.values() for cell in cells_])

    return compare


def _target(claim: Claim) -> float:
    return float(claim.target)


def _approx(cell: Cell, claim: Claim) -> Verdict:
    return within(cell, _target(claim) - claim.tolerance, _target(claim) + claim.tolerance)


def _at_most(cell: Cell, claim: Claim) -> Verdict:
    return within(cell, -math.inf, _target(claim) + claim.tolerance)


def _at_least(cell: Cell, claim: Claim) -> Verdict:
    return within(cell, _target(claim) - claim.tolerance, math.inf)


def _max_approx(c: dict[str, list[Cell]], claim: Claim, _s: pd.DataFrame) -> Verdict:
    """The highest agent at each point is near the target: the interval of a maximum over
    agents is [max of lows, max of highs]."""
    by_point: dict[float, list[Cell]] = {}
    for cell in (cell for cells_ in c.values() for cell in cells_):
        by_point.setdefault(cell.point, []).append(cell)
    top = [Cell("max", p, max(x.iqm for x in cs), max(x.low for x in cs),
                max(x.high for x in cs)) for p, cs in by_point.items()]  # fmt: skip
    return all_of([_approx(cell, claim) for cell in top])


def _versus(sign: int) -> Callable:
    """``above`` (sign 1) / ``below`` (-1): every judged agent against every agent of the
    target set, at every shared point."""

    def compare(c: dict[str, list[Cell]], claim: Claim, summary: pd.DataFrame) -> Verdict:
        others = [a for a in agent_set(str(claim.target), _present(summary)) if a not in c]
        theirs = cells(summary, claim, others)
        verdicts = []
        for mine in c.values():
            for cell in mine:
                for other in (o for os in theirs.values() for o in os if o.point == cell.point):
                    verdicts.append(greater(cell, other) if sign > 0 else greater(other, cell))
        return all_of(verdicts) if verdicts else None

    return compare


def _trend(sign: int) -> Callable:
    """``rises`` (1) / ``falls`` (-1): the last point against the first, per agent."""

    def compare(c: dict[str, list[Cell]], claim: Claim, _s: pd.DataFrame) -> Verdict:
        verdicts = []
        for mine in c.values():
            if len(mine) < 2:
                return None
            first, last = mine[0], mine[-1]
            verdicts.append(greater(last, first) if sign > 0 else greater(first, last))
        return all_of(verdicts)

    return compare


def _flat(c: dict[str, list[Cell]], claim: Claim, _s: pd.DataFrame) -> Verdict:
    """Spread over points within ``tolerance`` x |mean IQM|: True when even the intervals'
    extremes are, False when even their closest values are not."""
    verdicts = []
    for mine in c.values():
        if len(mine) < 2:
            return None
        allowed = claim.tolerance * abs(sum(x.iqm for x in mine) / len(mine))
        widest = max(x.high for x in mine) - min(x.low for x in mine)
        narrowest = max(x.low for x in mine) - min(x.high for x in mine)
        verdicts.append(True if widest <= allowed else (False if narrowest > allowed else None))
    return all_of(verdicts)


def _only_at_least(c: dict[str, list[Cell]], claim: Claim, _s: pd.DataFrame) -> Verdict:
    """``only`` is at least target - tolerance at every point, and no other agent is."""
    if claim.only not in c:
        return None
    verdicts = [_at_least(cell, claim) for cell in c[claim.only]]
    for agent, mine in c.items():
        if agent != claim.only:
            verdicts += [not_(_at_least(cell, claim)) for cell in mine]
    return all_of(verdicts)


def not_(v: Verdict) -> Verdict:
    return None if v is None else not v


COMPARISONS: dict[str, Callable[[dict[str, list[Cell]], Claim, pd.DataFrame], Verdict]] = {
    "approx": _per_cell(_approx),
    "at_most": _per_cell(_at_most),
    "at_least": _per_cell(_at_least),
    "max_approx": _max_approx,
    "above": _versus(1),
    "below": _versus(-1),
    "rises": _trend(1),
    "falls": _trend(-1),
    "flat": _flat,
    "only_at_least": _only_at_least,
}


def _present(summary: pd.DataFrame) -> list[str]:
    return sorted(summary["agent"].unique()) if len(summary) else []


def describe(claim: Claim) -> str:
    """The row's rule in words: comparison, target, tolerance and its source, points."""
    if claim.comparison in ("above", "below"):
        rule = f"{claim.comparison} {claim.target}"
    elif claim.comparison in ("rises", "falls", "flat"):
        rule = claim.comparison + (
            f" (+/-{claim.tolerance:g})" if claim.comparison == "flat" else ""
        )
    else:
        rule = f"{claim.comparison} {claim.target:g} +/- {claim.tolerance:g}"
    if claim.only:
        rule = f"only {claim.only}: {rule}"
    points = []
    if claim.t_max_s != (-math.inf, math.inf):
        points.append(f"t_max {claim.t_max_s[0]:g}..{claim.t_max_s[1]:g} s")
    if claim.n_tasks != (-math.inf, math.inf):
        points.append(f"{claim.n_tasks[0]:g}..{claim.n_tasks[1]:g} tasks")
    where = f" at {', '.join(points)}" if points else ""
    return f"{claim.experiment}/{claim.metric}{where}: {rule} ({claim.source})"


def judge(claim: Claim, summary: pd.DataFrame) -> tuple[str, str]:
    """``(our numbers, verdict)`` of one claim; every judged agent appears in the numbers."""
    if claim.comparison not in COMPARISONS:
        raise ValueError(f"claim {claim.text!r}: comparison {claim.comparison!r}: allowed "
                         f"{sorted(COMPARISONS)}")  # fmt: skip
    present = _present(summary)
    agents = agent_set(claim.agents, present)
    if claim.only and claim.only not in agents:
        agents = [claim.only, *agents]
    judged = cells(summary, claim, agents)
    if claim.comparison in ("above", "below"):
        others = [a for a in agent_set(str(claim.target), present) if a not in judged]
        judged |= {a: v for a, v in cells(summary, claim, others).items()}
    missing = sorted(a for a, v in judged.items() if not v)
    text = "; ".join(f"{a} {_cells_text(v)}" for a, v in judged.items() if v)
    if missing:
        text += ("; " if text else "") + f"missing: {', '.join(missing)}"
    if missing or not judged:
        return text or "n/a", NOT_TESTED
    mine = {a: v for a, v in judged.items() if a in agents}
    verdict = COMPARISONS[claim.comparison](mine, claim, summary)
    return text, VERDICT_TEXT[verdict]


def _cells_text(cells_: Sequence[Cell]) -> str:
    """One cell as ``IQM [low, high]``; several as the first and the last (what trends
    compare) and the range every other one lies in."""
    if len(cells_) == 1:
        return str(cells_[0])
    first, last = cells_[0], cells_[-1]
    low, high = min(c.low for c in cells_), max(c.high for c in cells_)
    return (f"@{first.point:g} {first} .. @{last.point:g} {last} ({len(cells_)} points, "
            f"all within [{low:.3g}, {high:.3g}])")  # fmt: skip
