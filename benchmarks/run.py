"""``cloudedge-bench``: the Hydra app that runs one benchmark job, or a sweep of them.

Examples::

    cloudedge-bench agent=edge_first experiment=train seed=0
    cloudedge-bench -m agent=aif,ppo,sac,qrdqn,rainbow,gpnfsp seed=0,1,2,3,4 experiment=train
    cloudedge-bench -m agent=aif seed=0,1 experiment=tmax hydra/launcher=submitit_slurm

Also ``python -m benchmarks.run``; ``cloudedge-bench --help`` lists every option. Bad input
(unknown agent or key, wrong type, a value out of range, missing trained policy, a folder it
cannot write, a result of another key in ``out_dir``) is one line on stderr, exit 2, before
any work and without writing anything.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from benchmarks import lifecycle
from benchmarks.config import CONFIG_DIR as _CONFIG_PATH
from benchmarks.config import BenchConfig, BenchError, register_configs
from benchmarks.protocol import execute, validate
from benchmarks.store import check_writable

CONFIG_DIR = str(_CONFIG_PATH)
log = logging.getLogger("cloudedge-bench")

register_configs()


def run_from_config(
    cfg: DictConfig,
    agent_name: str,
    log_fn: Any = log.info,
    experiment_choice: str | None = None,
    overrides: tuple[str, ...] = (),
) -> Path:
    """Validate then execute one run described by a composed config."""
    bench = OmegaConf.to_object(cfg)
    assert isinstance(bench, BenchConfig)
    bench.check()
    import torch

    torch.set_num_threads(bench.threads)
    spec = validate(
        bench.experiment,
        agent_name,
        bench.agent,
        bench.env,
        bench.seed,
        bench.out_dir,
        replace=bench.replace,
        experiment_choice=experiment_choice,
        overrides=overrides,
    )
    return execute(spec, log=log_fn)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def app(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    if lifecycle.is_launcher_worker():  # a launcher's worker process: never outlive it
        lifecycle.die_with_parent()
    choices = hydra_cfg.runtime.choices
    agent_name = choices.get("agent", "agent")
    log_fn = log.info
    if hydra_cfg.mode == RunMode.MULTIRUN:  # Hydra lists the sweep's jobs as "#k : ..."
        job = hydra_cfg.job.num

        def log_fn(message: str) -> None:
            log.info(f"job #{job}: {message}")

    try:
        csv_path = run_from_config(
            cfg,
            agent_name,
            log_fn,
            experiment_choice=choices.get("experiment"),
            overrides=tuple(hydra_cfg.overrides.task),
        )
        if hydra_cfg.mode == RunMode.MULTIRUN:  # progress across the sweep (and earlier ones)
            # .../<experiment>/<agent>/seed=<s>/metrics.csv; an agent name may hold "/"
            experiment_dir = csv_path.parents[2 + agent_name.count("/")]
            done = sum(1 for _ in experiment_dir.glob("**/seed=*/metrics.csv"))
            log_fn(f"{done} {cfg.experiment.name} runs complete in {experiment_dir}")
    except BenchError as err:
        print(f"cloudedge-bench: error: {err}", file=sys.stderr)
        _remove_what_this_run_made(Path(str(cfg.out_dir)))
        sys.exit(2)


#: ``out_dir`` did not exist when this process started (set by :func:`main`): on bad input
#: everything in it (Hydra's log folder, made before the config is checked) is this
#: process's, and is removed so that bad input leaves nothing behind.
_NEW_OUT_DIR: list[Path] = []
#: The folders under an existing ``out_dir`` when this process started (set by :func:`main`):
#: on bad input the log folders Hydra made since are removed, and only those.
_EXISTING_DIRS: set[Path] = set()


def _remove_what_this_run_made(out_dir: Path) -> None:
    """On bad input, remove what Hydra created for this (single) run before the check."""
    if HydraConfig.get().mode != RunMode.RUN:
        return
    logging.shutdown()  # close Hydra's run.log before its folder goes
    top = out_dir.resolve()
    if top in _NEW_OUT_DIR:
        shutil.rmtree(top, ignore_errors=True)
        return
    made = Path(HydraConfig.get().runtime.output_dir).resolve()
    while made != top and top in made.parents and made not in _EXISTING_DIRS:
        shutil.rmtree(made, ignore_errors=True)
        made = made.parent


def main() -> None:
    """Console-script entry point."""
    if os.environ.get(lifecycle.DIE_WITH_PARENT_ENV) == "1":
        lifecycle.die_with_parent()  # started by benchmarks.reproduce: die with it
    lifecycle.mark_launcher()
    # Hydra makes its log folder under out_dir before our code runs: check it first, so that
    # an unwritable out_dir is one line, not a traceback.
    out_dir = Path("outputs")  # conf/config.yaml's, unless given
    for arg in sys.argv[1:]:
        if arg.startswith("out_dir="):
            out_dir = Path(arg.partition("=")[2])
            try:
                check_writable([out_dir.resolve()])
            except BenchError as err:
                print(f"cloudedge-bench: error: {err}", file=sys.stderr)
                sys.exit(2)
    if not out_dir.exists():
        _NEW_OUT_DIR.append(out_dir.resolve())
    else:  # its folders now, so that bad input can remove the log folders made after
        _EXISTING_DIRS.update(p.resolve() for p in out_dir.rglob("*") if p.is_dir())
    app()


if __name__ == "__main__":
    main()
