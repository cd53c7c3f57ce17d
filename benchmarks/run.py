"""``cloudedge-bench``: the Hydra app that runs one benchmark job, or a sweep of them.

Examples::

    cloudedge-bench agent=edge_first experiment=train seed=0
    cloudedge-bench -m agent=aif,ppo,sac,qrdqn,rainbow,gpnfsp seed=0,1,2,3,4 experiment=train
    cloudedge-bench -m agent=aif seed=0,1 experiment=tmax hydra/launcher=submitit_slurm

Also ``python -m benchmarks.run``. Bad input (unknown agent or key, wrong type, t_max <= 0,
n_tasks <= 0, missing trained policy, unwritable out_dir) is one line on stderr, exit 2.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from benchmarks.config import register_configs
from benchmarks.harness import BenchError, check_writable, execute, validate

CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")
log = logging.getLogger("cloudedge-bench")

register_configs()


def run_from_config(cfg: DictConfig, agent_name: str, log_fn: Any = log.info) -> Path:
    """Validate then execute one run described by a composed config."""
    import torch

    torch.set_num_threads(max(1, int(cfg.threads)))
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    spec = validate(
        experiment=container["experiment"],
        agent_name=agent_name,
        agent_config=container["agent"],
        env_config=container["env"],
        seed=container["seed"],
        out_dir=container["out_dir"],
    )
    return execute(spec, log=log_fn)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def app(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    agent_name = hydra_cfg.runtime.choices.get("agent", "agent")
    log_fn = log.info
    if hydra_cfg.mode == RunMode.MULTIRUN:  # Hydra lists the sweep's jobs as "#k : ..."
        job = hydra_cfg.job.num

        def log_fn(message: str) -> None:
            log.info(f"job #{job}: {message}")

    try:
        csv_path = run_from_config(cfg, agent_name, log_fn)
        if hydra_cfg.mode == RunMode.MULTIRUN:  # progress across the sweep (and earlier ones)
            experiment_dir = csv_path.parents[2]
            done = sum(1 for _ in experiment_dir.glob("*/seed=*/metrics.csv"))
            log_fn(f"{done} {cfg.experiment.name} runs complete in {experiment_dir}")
    except BenchError as err:
        print(f"cloudedge-bench: error: {err}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Console-script entry point."""
    # Hydra makes its log folder under out_dir before our code runs: check it first, so that
    # an unwritable out_dir is one line, not a traceback.
    for arg in sys.argv[1:]:
        if arg.startswith("out_dir="):
            try:
                check_writable(Path(arg.partition("=")[2]).resolve())
            except BenchError as err:
                print(f"cloudedge-bench: error: {err}", file=sys.stderr)
                sys.exit(2)
    app()


if __name__ == "__main__":
    main()
