"""cloudedge: a discrete-event simulator of LLM inference offloading in cloud-edge computing.

``gymnasium.make("cloudedge/LLMOffload-v1", scenario="paper", t_max_s=3.0)`` builds a shipped
scenario (``cloudedge/scenarios/env/*.yaml``) with overrides; see
:class:`cloudedge.env.CloudEdgeEnv` for the spaces. Needs numpy, scipy, gymnasium and pyyaml
only; the GPT-J profiler (:mod:`cloudedge.profiling`) is an optional extra.
"""

from gymnasium.envs.registration import register, registry

from cloudedge.config import (
    ConfigError,
    ScenarioConfig,
    available_scenarios,
    load_scenario,
    paper_scenario,
)
from cloudedge.env import CloudEdgeEnv, make_scenario
from cloudedge.metrics import TaskStatus
from cloudedge.wrappers import BoxActionWrapper, DiscreteActionWrapper

__version__ = "0.1.0"
ENV_ID = "cloudedge/LLMOffload-v1"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="cloudedge.env:CloudEdgeEnv")

__all__ = [
    "ENV_ID",
    "BoxActionWrapper",
    "CloudEdgeEnv",
    "ConfigError",
    "DiscreteActionWrapper",
    "ScenarioConfig",
    "TaskStatus",
    "available_scenarios",
    "load_scenario",
    "make_scenario",
    "paper_scenario",
]
