"""Compare a variant of one agent (a suite run with ``--override``) with the suite's own runs.

Usage: ``python -m scripts.suite_variant --variant outputs/suite_fill/scores.csv
[--base outputs/suite/scores.csv] [--agent aif] [--label NAME] --out
results/aif_variants/fill.csv`` (also writes the table as Markdown beside it, ``fill.md``,
headed by the command and the variant's overrides as its runs recorded them in
``suite.json``, or by ``--label``).

Per scenario, on the seeds the variant ran (the base must have them): the agent's mean score
(fraction of the bound) in the base suite and in the variant, and the best deployable
reference's (neither learning nor privileged, :func:`scripts.suite_stats.references`) on the
same seeds; a final row ``mean`` averages the scenarios. Means only: a screen on few seeds,
not a verdict (the suite's statistics are ``scripts/suite_stats.py``'s).

``--base-bound``: for a variant run without bounds (``--override experiment.eval_bound=false``,
which spares computing them again: ~40 CPU-minutes for the suite's held-out episodes), every
agent, in the base and the variant, is scored as its mean sum reward over the held-out
episodes divided by the base's mean upper bound on them (the same episodes for every agent and
seed). A ratio of means, not the suite's mean of ratios, so its numbers differ slightly from
``scores.csv``'s (by 0.2% of a score on azure_a100_3090); the ranking is on one scale.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import pandas as pd

from benchmarks.config import agent_configs
from benchmarks.store import atomic_write_text
from scripts.suite_stats import references, scenario_bound

#: The suite's own scores, what a variant is compared with unless ``--base`` names another.
DEFAULT_BASE = Path("outputs/suite/scores.csv")


def rescore_by_base_bound(base: pd.DataFrame, variant: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """``--base-bound``: both tables with ``score = sum_reward / bound``, ``bound`` the base's
    mean upper bound of the scenario (module docstring).

    :raises ValueError: naming the scenario when the base has no bound for it or several.
    """
    bounds = {
        scenario: scenario_bound(base, scenario, "--base-bound: the base")
        for scenario in sorted(variant.scenario.unique())
    }

    def rescored(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[frame.scenario.isin(bounds)]
        return frame.assign(score=frame.sum_reward / frame.scenario.map(bounds))

    return rescored(base), rescored(variant)


def compare(
    base: pd.DataFrame, variant: pd.DataFrame, agent: str, base_bound: bool = False
) -> pd.DataFrame:
    """The comparison table (see the module docstring).

    :param base: the suite's scores (``scenario, agent, seed, score``), every agent.
    :param variant: the variant's scores: ``agent``'s runs only.
    :param base_bound: score both by the base's bound (:func:`rescore_by_base_bound`).
    :raises ValueError: naming what is missing when the base lacks a variant's unit.
    """
    variant = variant[variant.agent == agent]
    if variant.empty:
        raise ValueError(f"--variant has no runs of agent {agent!r}")
    if base_bound:
        base, variant = rescore_by_base_bound(base, variant)
    rows = []
    for scenario, runs in variant.groupby("scenario", sort=True):
        seeds = sorted(int(seed) for seed in runs.seed.unique())
        here = base[(base.scenario == scenario) & base.seed.isin(seeds)]
        own = here[here.agent == agent]
        has = sorted(int(seed) for seed in own.seed.unique())
        if has != seeds:
            raise ValueError(f"--base lacks {agent} on {scenario} for seeds {seeds} (has {has})")
        refs = here[here.agent.isin(references(sorted(here.agent.unique())))]
        means = refs.groupby("agent").score.mean()
        if means.empty:
            raise ValueError(f"--base has no deployable reference on {scenario}, seeds {seeds}")
        rows.append(
            {"scenario": scenario, "seeds": " ".join(map(str, seeds)),
             "base": own.score.mean(), "variant": runs.score.mean(),
             "best_reference": means.idxmax(), "reference": means.max()}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    table["variant_minus_base"] = table.variant - table.base
    table["variant_minus_reference"] = table.variant - table.reference
    table["base_minus_reference"] = table.base - table.reference
    mean = table.select_dtypes("number").mean().to_dict()
    return pd.concat([table, pd.DataFrame([{"scenario": "mean", **mean}])], ignore_index=True)


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown table, numbers to 3 decimals, missing cells empty."""

    def cell(x: object) -> str:
        if isinstance(x, float):
            return "" if pd.isna(x) else f"{x:.3f}"
        return str(x)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines) + "\n"


def settings_from_runs(folder: Path, agent: str) -> list[str]:
    """``agent.<name>=<value>`` for every setting the variant's runs under ``folder`` recorded
    (their ``run.json``) that differs from, or is absent in, ``conf/agent/<agent>.yaml``; empty
    when no run is found or the runs disagree."""
    configs = [
        json.loads(path.read_text())["agent_config"]
        for path in sorted(folder.glob(f"*/runs/*/tmax/{agent}/seed=*/run.json"))
    ]
    if not configs or any(config != configs[0] for config in configs):
        return []
    defaults = agent_configs().get(agent, {})
    return [
        f"agent.{name}={value}"
        for name, value in sorted(configs[0].items())
        if name not in defaults or defaults[name] != value
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", type=Path, required=True)
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    parser.add_argument("--agent", default="aif")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--label",
        help="the variant's name in the .md title (default: the overrides its runs recorded), "
        "e.g. for a variant that is now the default",
    )
    parser.add_argument("--base-bound", action="store_true",
                        help="score by the base bound (a variant run without bounds)")  # fmt: skip
    args = parser.parse_args(argv)
    for path in (args.variant, args.base):
        if not path.is_file():
            parser.error(f"{path}: no such file (a suite's scores.csv)")
    try:
        table = compare(
            pd.read_csv(args.base), pd.read_csv(args.variant), args.agent, args.base_bound
        )
    except ValueError as err:
        parser.error(str(err))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, table.to_csv(index=False, float_format="%.4f"))
    record = args.variant.parent / "suite.json"
    overrides = json.loads(record.read_text()).get("overrides", []) if record.is_file() else []
    if args.label:
        overrides = [args.label]
    elif not overrides:  # e.g. a suite stopped early and scored by --collect-only
        overrides = settings_from_runs(args.variant.parent, args.agent)
    command = shlex.join(["python", "-m", "scripts.suite_variant", *(argv or sys.argv[1:])])
    base = (
        "the suite's own runs of the agent"
        if args.base == DEFAULT_BASE
        else f"the agent's rows of `{args.base}`"
    )
    markdown = (
        f"# {args.agent} with {' '.join(overrides) or '(overrides not recorded)'}\n\n"
        f"Generated by `{command}`; do not edit by hand. Scores: fraction of the bound, mean "
        f"over the seeds listed; `base`: {base}."
        + (
            " Every score is mean sum reward / the base's mean bound (`--base-bound`)."
            if args.base_bound
            else ""
        )
        + "\n\n"
        + markdown_table(table)
    )
    atomic_write_text(args.out.with_suffix(".md"), markdown)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
