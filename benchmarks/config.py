"""Typed configs of the benchmark harness, registered in Hydra's ConfigStore.

The values live in YAML only (``conf/config.yaml`` and ``conf/experiment/*.yaml``): these
dataclasses give the keys and their types (OmegaConf rejects a typo in a key or a value of
the wrong type before any run starts) and :meth:`ExperimentConfig.check` the allowed ranges.
No field has a default here, so an experiment file that forgets a key fails to compose
instead of silently taking a second copy of a default. ``env`` and ``agent`` are free-form
here and checked by their own code (the scenario's dataclasses, the agent's declared
hyperparameter ranges) before any work starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

if TYPE_CHECKING:
    from agents.base import Capabilities

EXPERIMENTS = ("train", "tmax", "load")
CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


class BenchError(Exception):
    """A problem with the request, reported as one line before any work starts (exit 2)."""


@dataclass
class ExperimentConfig:
    """What one run does (values in ``conf/experiment/*.yaml``).

    :param name: ``train`` (Fig. 3), ``tmax`` (Fig. 4) or ``load`` (Fig. 5).
    :param train_episodes: training episodes (also names the policy the tests load).
    :param train_t_max_s: deadline during training (null: the env's).
    :param train_n_tasks: tasks per training episode (null: the env's).
    :param bound_every: compute the clairvoyant bound of every k-th training episode
        (k >= 1; null: none).
    :param eval_episodes: evaluation episodes per grid point (tmax, load).
    :param eval_seed_base: evaluation episodes use seeds ``eval_seed_base + k`` for every agent
        and training seed, so all agents face the same episodes.
    :param t_max_values_s: the deadlines to evaluate at.
    :param n_tasks_values: the task counts to evaluate at.
    :param eval_bound: compute the bound of every evaluation episode.
    :param train_env_steps: the scenario suite's budget: every learner trains this many
        environment steps per scenario (``benchmarks/suite.py`` sets ``train_episodes`` from
        it per scenario; references play one episode); null outside the suite.
    """

    name: str = MISSING
    train_episodes: int = MISSING
    train_t_max_s: float | None = MISSING
    train_n_tasks: int | None = MISSING
    bound_every: int | None = MISSING
    eval_episodes: int = MISSING
    eval_seed_base: int = MISSING
    t_max_values_s: list[float] = MISSING
    n_tasks_values: list[int] = MISSING
    eval_bound: bool = MISSING
    train_env_steps: int | None = MISSING

    def check(self) -> None:
        """Raise :class:`BenchError` naming the first field outside its allowed range."""
        if self.name not in EXPERIMENTS:
            raise BenchError(f"experiment.name = {self.name!r}: allowed 'train', 'tmax' or 'load'")
        for key, low in (("train_episodes", 1), ("eval_episodes", 1), ("eval_seed_base", 0)):
            if getattr(self, key) < low:
                raise BenchError(f"experiment.{key} = {getattr(self, key)!r}: allowed >= {low}")
        if self.train_env_steps is not None and self.train_env_steps < 1:
            raise BenchError(
                f"experiment.train_env_steps = {self.train_env_steps!r}: allowed >= 1, or "
                "null outside the suite"
            )
        if self.train_n_tasks is not None and self.train_n_tasks < 1:
            raise BenchError(
                f"experiment.train_n_tasks = {self.train_n_tasks!r}: allowed >= 1, or null "
                "for the env's"
            )
        if self.bound_every is not None and self.bound_every < 1:
            raise BenchError(
                f"experiment.bound_every = {self.bound_every!r}: allowed an integer >= 1, or "
                "null for no bound"
            )
        if self.train_t_max_s is not None and not self.train_t_max_s > 0:
            raise BenchError(
                f"experiment.train_t_max_s = {self.train_t_max_s!r}: allowed > 0, or null "
                "for the env's"
            )
        if not self.t_max_values_s or any(not t > 0 for t in self.t_max_values_s):
            raise BenchError(
                f"experiment.t_max_values_s = {list(self.t_max_values_s)}: a non-empty list, "
                "each allowed > 0"
            )
        if not self.n_tasks_values or any(n < 1 for n in self.n_tasks_values):
            raise BenchError(
                f"experiment.n_tasks_values = {list(self.n_tasks_values)}: a non-empty list, "
                "each allowed >= 1"
            )

    @property
    def train_settings(self) -> dict[str, Any]:
        """The settings that determine the trained policy."""
        return {
            "train_episodes": self.train_episodes,
            "train_t_max_s": self.train_t_max_s,
            "train_n_tasks": self.train_n_tasks,
        }

    @property
    def n_rows(self) -> int:
        """Rows a complete run of this experiment writes (one per episode)."""
        if self.name == "train":
            return self.train_episodes
        return len(self.t_max_values_s) * len(self.n_tasks_values) * self.eval_episodes

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for run.json and keys)."""
        container = OmegaConf.to_container(OmegaConf.structured(self))
        assert isinstance(container, dict)
        return {str(k): v for k, v in container.items()}


def experiment_from_mapping(values: Mapping[str, Any] | ExperimentConfig) -> ExperimentConfig:
    """The typed, range-checked :class:`ExperimentConfig` of ``values``.

    :raises BenchError: naming the key on a missing key, a wrong type or a bad range.
    """
    if isinstance(values, ExperimentConfig):
        config = values
    else:
        try:
            merged = OmegaConf.merge(OmegaConf.structured(ExperimentConfig), dict(values))
            config = OmegaConf.to_object(merged)  # type: ignore[assignment]
        except OmegaConfBaseException as err:
            problem = str(err).splitlines()[0]
            key = getattr(err, "full_key", None)
            raise BenchError(
                f"experiment.{key}: {problem}" if key else f"experiment: {problem}"
            ) from None
    assert isinstance(config, ExperimentConfig)
    config.check()
    return config


@dataclass
class BenchConfig:
    """The whole configuration of one run (values in ``conf/config.yaml``).

    :param seed: the training seed (agent initialisation; training episodes use seeds
        ``1000 * seed + e``).
    :param out_dir: where runs, policies, the bound cache and logs go.
    :param threads: torch threads per run (>= 1).
    :param replace: replace a run or policy in ``out_dir`` that another config or code
        version wrote (otherwise the run refuses and says so).
    """

    seed: int = MISSING
    out_dir: str = MISSING
    threads: int = MISSING
    replace: bool = MISSING
    env: Any = MISSING
    agent: Any = MISSING
    experiment: ExperimentConfig = MISSING

    def check(self) -> None:
        """Raise :class:`BenchError` naming the first harness field outside its range."""
        if self.seed < 0:
            raise BenchError(f"seed = {self.seed!r}: allowed an integer >= 0")
        if self.threads < 1:
            raise BenchError(f"threads = {self.threads!r}: allowed an integer >= 1")
        if not self.out_dir:
            raise BenchError("out_dir = '': allowed a folder path")


def register_configs() -> None:
    """Register :class:`BenchConfig` as ``bench_schema`` (idempotent)."""
    ConfigStore.instance().store(name="bench_schema", node=BenchConfig)


def experiment_config(name: str, overrides: list[str] | None = None) -> ExperimentConfig:
    """The experiment ``conf/experiment/<name>.yaml`` composed as Hydra composes it (its
    ``defaults`` list applied), typed and range-checked.

    :param name: an experiment file name, e.g. ``train_quick`` or ``regress_tmax``.
    :param overrides: further Hydra overrides (``experiment.eval_episodes=1``).
    :raises BenchError: when the file does not exist or a value is not allowed.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    register_configs()
    if not (CONFIG_DIR / "experiment" / f"{name}.yaml").exists():
        known = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
        raise BenchError(f"experiment {name!r}: no conf/experiment/{name}.yaml; known {known}")
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("config", overrides=[f"experiment={name}", *(overrides or [])])
    except (HydraException, OmegaConfBaseException) as err:
        raise BenchError(f"experiment {name}: {str(err).splitlines()[0]}") from None
    experiment = OmegaConf.to_object(cfg.experiment)
    assert isinstance(experiment, ExperimentConfig)
    experiment.check()
    return experiment


def regress_protocol() -> dict[str, ExperimentConfig]:
    """The reduced protocol of ``benchmarks.regress`` (``conf/experiment/regress_*.yaml``),
    one :class:`ExperimentConfig` per experiment (``train``, ``tmax``, ``load``)."""
    return {name: experiment_config(f"regress_{name}") for name in EXPERIMENTS}


def agent_configs(extra_config_dirs: Sequence[Path] = ()) -> dict[str, dict[str, Any]]:
    """Every agent config (``conf/agent/*.yaml``, then each extra folder's ``agent/``), by
    name; a later folder's file of the same name wins, as in Hydra's search path."""
    import yaml

    configs: dict[str, dict[str, Any]] = {}
    for folder in (CONFIG_DIR, *extra_config_dirs):
        for path in sorted((Path(folder) / "agent").glob("*.yaml")):
            configs[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return configs


def agent_names(
    where: Callable[[Capabilities], bool] = lambda _c: True,
    extra_config_dirs: Sequence[Path] = (),
) -> list[str]:
    """The names of the agent configs whose class's :class:`~agents.base.Capabilities`
    satisfy ``where``: learners first (they take longest), then by name. Stages select agents
    this way instead of keeping lists of names."""
    from agents.base import agent_capabilities

    configs = agent_configs(extra_config_dirs)
    capabilities = {name: agent_capabilities(config) for name, config in configs.items()}
    chosen = [name for name in configs if where(capabilities[name])]
    return sorted(chosen, key=lambda name: (not capabilities[name].learns, name))
